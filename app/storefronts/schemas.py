"""Request and response bodies of storefronts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta, Struct

from app.platform.http.schemas import Code, Name, NonNegative

ShopDomain = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}(\.[A-Za-z0-9-]{1,63}){1,4}$",
        max_length=255,
        description="e.g. my-shop.myshopify.com",
    ),
]

ApiVersion = Annotated[str, Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]

Secret = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[\x21-\x7e]+$")]

ExternalId = Annotated[
    str,
    Meta(
        pattern=r"^(gid://shopify/[A-Za-z]+/)?[0-9]{1,20}$",
        description="Shopify gid (gid://shopify/Type/123) or numeric id",
    ),
]

BaseUrl = Annotated[
    str,
    Meta(
        pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+(/[\x21-\x7e]*)?$",
        max_length=500,
        description="overrides https://{shop_domain}, e.g. http://127.0.0.1:8899",
    ),
]


class StorefrontLocationIn(Struct, forbid_unknown_fields=True):
    location: Code
    external_location_id: ExternalId


class StorefrontIn(Struct, forbid_unknown_fields=True):
    kind: Literal["shopify"]
    name: Name
    shop_domain: ShopDomain
    webhook_secret: Secret
    locations: Annotated[list[StorefrontLocationIn], Meta(min_length=1, max_length=250)]
    api_version: ApiVersion | None = None
    access_token: Secret | None = None
    client_id: Secret | None = None
    client_secret: Secret | None = None
    buffer: NonNegative = 0
    api_base_url: BaseUrl | None = None


class StorefrontLocationOut(Struct):
    location: str
    external_location_id: str


class StorefrontOut(Struct):
    id: UUID
    kind: str
    name: str
    shop_domain: str
    api_version: str
    api_base_url: str | None
    buffer: int
    auth: str
    locations: list[StorefrontLocationOut]
    mapped_skus: int
    created_at: datetime


class StorefrontList(Struct):
    items: list[StorefrontOut]


class MappingIn(Struct, forbid_unknown_fields=True):
    sku: Code
    external_inventory_item_id: ExternalId


class MappingsIn(Struct, forbid_unknown_fields=True):
    items: Annotated[list[MappingIn], Meta(min_length=1, max_length=1000)]


class MappingsOut(Struct):
    storefront_id: UUID
    mapped: int


class SyncErrorOut(Struct):
    at: str
    message: str


class SyncOut(Struct):
    storefront_id: UUID
    pending: int
    last_synced_at: datetime | None
    lag_seconds: float
    errors: list[SyncErrorOut]
    calls_made: int
    throttled: int


class ResyncOut(Struct):
    storefront_id: UUID
    pushed: int
    calls: int
    throttled: int
    errors: list[str]
    sync: SyncOut


class DriftOut(Struct):
    sku: str
    location: str
    ours: int
    theirs: int | None


class ReconcileOut(Struct):
    checked: int
    drifted: list[DriftOut]
    repaired: int
