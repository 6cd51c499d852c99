"""`python -m shopify_emulator [--port N] [--no-demo]`: run the emulator (dev only)."""

import argparse

from shopify_emulator.server import main

parser = argparse.ArgumentParser(prog="python -m shopify_emulator", description=__doc__)
parser.add_argument("--port", type=int, default=8899)
parser.add_argument("--no-demo", action="store_true", help="start with an empty shop")
args = parser.parse_args()
main(port=args.port, seed_demo=not args.no_demo)
