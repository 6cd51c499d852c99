"""A local emulator of the Shopify Admin GraphQL API (inventory subset) for tests and demos.

Start it with `RunningEmulator()` (a context manager) or `main()`; drive it through
`EmulatorState`/`ShopState` methods or the JSON control API under `/_emulator/`.
"""

from shopify_emulator.clock import ManualClock, SystemClock
from shopify_emulator.server import RunningEmulator, create_app, main
from shopify_emulator.state import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP_DOMAIN,
    EmulatorInputError,
    EmulatorNotFoundError,
    EmulatorSettings,
    EmulatorState,
    ShopState,
)
from shopify_emulator.webhooks import shopify_hmac

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SHOP_DOMAIN",
    "EmulatorInputError",
    "EmulatorNotFoundError",
    "EmulatorSettings",
    "EmulatorState",
    "ManualClock",
    "RunningEmulator",
    "ShopState",
    "SystemClock",
    "create_app",
    "main",
    "shopify_hmac",
]
