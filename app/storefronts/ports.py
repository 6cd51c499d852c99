"""What the sync needs from a storefront's Admin API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app.platform.errors import DomainError
from app.platform.secrets import Secrets

__all__ = ["Secrets"]

DEFAULT_API_VERSION = "2026-10"


@dataclass(frozen=True, slots=True)
class QuantityToSet:
    inventory_item_id: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ShopLocation:
    id: str  # gid://shopify/Location/N
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class ShopVariant:
    inventory_item_id: str  # gid://shopify/InventoryItem/N
    sku: str | None
    barcode: str | None


@dataclass(frozen=True, slots=True)
class UserError:
    index: int | None  # which quantity in the call, when Shopify says
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ShopifyConnection:
    """Where a storefront's Admin API is and how to authenticate to it (secrets in clear)."""

    shop_domain: str
    api_version: str = DEFAULT_API_VERSION
    api_base_url: str | None = None
    access_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    timeout_seconds: float = 10.0

    @property
    def base_url(self) -> str:
        return (self.api_base_url or f"https://{self.shop_domain}").rstrip("/")

    @property
    def site(self) -> str:
        return f"{self.base_url}/admin/api/{self.api_version}"

    @property
    def supports_idempotency(self) -> bool:
        return self.api_version >= "2026-01"


class GatewayError(Exception):
    """A call to the storefront's API did not succeed (the gateway's errors derive from it)."""


class WebhookSignatureInvalid(DomainError):
    """The body is not signed with the storefront's webhook secret (HTTP 401)."""

    code = "unauthorized"


class ShopifyGateway(Protocol):
    """What the sync needs from Shopify; `ShopifyClient` in production, wrappers in tests."""

    calls: int
    throttled: int

    def set_available(
        self,
        quantities: list[QuantityToSet],
        *,
        idempotency_key: str,
        reference_document_uri: str | None = None,
        reason: str = "correction",
    ) -> list[UserError]: ...

    def read_available(
        self, levels: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int | None]: ...

    def read_locations(self) -> list[ShopLocation]: ...

    def read_variants(self) -> list[ShopVariant]: ...

    def read_orders(self, updated_since: datetime) -> list[dict[str, Any]]: ...

    def subscribe_webhooks(self, topics: Sequence[str], uri: str) -> dict[str, str]: ...

    def unsubscribe_webhook(self, subscription_id: str) -> bool: ...


GatewayFactory = Callable[[ShopifyConnection], ShopifyGateway]


class ShopifyUnreachable(DomainError):
    """Shopify could not be asked (a reconcile needs an answer now)."""

    code = "unavailable"
