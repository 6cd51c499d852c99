"""A local emulator of the Shopify Admin GraphQL API (inventory subset) for tests and demos.

Start it with `RunningEmulator()` (a context manager) or `main()`; drive it through
`EmulatorState`/`ShopState` methods or the JSON control API under `/_emulator/`.
"""

from app.integrations.shopify.emulator.clock import ManualClock, SystemClock
from app.integrations.shopify.emulator.server import RunningEmulator, create_app, main
from app.integrations.shopify.emulator.state import (
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
from app.integrations.shopify.emulator.webhooks import shopify_hmac

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
