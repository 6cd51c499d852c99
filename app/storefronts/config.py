"""What the storefront use cases are given: the order context plus how the sync reaches Shopify."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.orders.context import OrderContext
from app.storefronts.ports import GatewayFactory, Secrets, ShopifyConnection
from app.storefronts.rules import LevelPush
from app.storefronts.tables import Storefront


@dataclass(frozen=True, kw_only=True)
class SyncConfig:
    """How the sync reaches Shopify; built from the settings by app/bootstrap.py."""

    client_factory: GatewayFactory
    secrets: Secrets
    timeout_seconds: float = 10.0
    default_api_version: str = "2026-10"
    lease_seconds: float = 30.0
    allowed_api_base_urls: tuple[str, ...] = ()
    """Prefixes an admin may give as a storefront's `api_base_url` (a proxy, the emulator):
    the service calls that URL, so it must not be any address an admin types."""
    flush_interval_seconds: float = 0.0
    """STOREFRONT_FLUSH_SECONDS: the workers' flushes push a storefront at most about once
    in this long (`push_pending_levels(coalesce_seconds=...)`); 0 in direct calls."""
    public_base_url: str | None = None
    """PUBLIC_BASE_URL: where Shopify reaches this service; set, storefronts subscribe to
    their webhooks at `{public_base_url}/webhooks/shopify/{storefront id}`."""
    after_push: Callable[[list[LevelPush]], None] | None = None
    """Called after Shopify accepted a batch and before it is acknowledged (tests use it
    to kill a worker at the worst moment)."""

    def connection(self, storefront: Storefront) -> ShopifyConnection:
        """The storefront's Admin API with its credentials decrypted."""
        return ShopifyConnection(
            shop_domain=storefront.shop_domain,
            api_version=storefront.api_version,
            api_base_url=storefront.api_base_url,
            access_token=self._open(storefront.access_token_encrypted),
            client_id=storefront.client_id,
            client_secret=self._open(storefront.client_secret_encrypted),
            timeout_seconds=self.timeout_seconds,
        )

    def _open(self, sealed: str | None) -> str | None:
        return self.secrets.open(sealed) if sealed else None


@dataclass(frozen=True, kw_only=True)
class StorefrontContext(OrderContext):
    """Storefront webhooks hand orders to the order use cases, so this is an order context too."""

    sync: SyncConfig
