"""A real local Stripe emulator (the `localstripe` package) for the tests, plus the signed
events localstripe never sends itself (it emits no payment_intent.amount_capturable_updated
and no payment_intent.canceled)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import stripe

API_KEY = "sk_test_omnistock_tests"
WEBHOOK_SECRET = "whsec_omnistock_tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_localstripe() -> Iterator[str]:
    """Start localstripe on a free port with its own temp dir (it pickles its state to a
    fixed file name in the temp directory), yield its base URL, stop it afterwards."""
    port = _free_port()
    scratch = tempfile.mkdtemp(prefix="localstripe-")
    executable = shutil.which("localstripe", path=str(Path(sys.executable).parent)) or "localstripe"
    process = subprocess.Popen(
        [executable, "--port", str(port), "--from-scratch"],
        env={**os.environ, "TMPDIR": scratch},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("localstripe did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(scratch, ignore_errors=True)


class Customer:
    """What the shopper's browser does with Stripe.js: attach a card and confirm."""

    def __init__(self, base_url: str) -> None:
        self.client = stripe.StripeClient(API_KEY, base_addresses={"api": base_url})

    def pays(self, intent_id: str, card: str = "pm_card_visa") -> str:
        self.client.v1.payment_intents.update(intent_id, params={"payment_method": card})
        return str(self.client.v1.payment_intents.confirm(intent_id).status)

    def status(self, intent_id: str) -> str:
        return str(self.client.v1.payment_intents.retrieve(intent_id).status)


def signed_event(
    event_type: str, intent_id: str, event_id: str | None = None, created: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A Stripe event body and its Stripe-Signature header, as Stripe would send it."""
    created = created or int(time.time())
    payload = json.dumps(
        {
            "id": event_id or f"evt_{intent_id}_{event_type.rsplit('.', 1)[-1]}",
            "object": "event",
            "type": event_type,
            "created": created,
            "livemode": False,
            "api_version": "2026-10-28.endive",
            "data": {"object": {"id": intent_id, "object": "payment_intent"}},
        }
    ).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), WEBHOOK_SECRET, timestamp=created
    )
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}
