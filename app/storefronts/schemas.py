"""Request and response bodies of storefronts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from msgspec import Meta, Struct

from app.platform.http.schemas import Code, Name, NonNegative, RequestExample

ShopDomain = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}(\.[A-Za-z0-9-]{1,63}){1,4}\Z",
        max_length=255,
        description="e.g. my-shop.myshopify.com",
    ),
]

ApiVersion = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])\Z", description="YYYY-MM")]

Secret = Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[\x21-\x7e]+\Z")]

ExternalId = Annotated[
    str,
    Meta(
        pattern=r"^(gid://shopify/[A-Za-z]+/)?[0-9]{1,20}\Z",
        description="Shopify gid (gid://shopify/Type/123) or numeric id",
    ),
]

BaseUrl = Annotated[
    str,
    Meta(
        pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+(/[\x21-\x7e]*)?\Z",
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
    auto_map: bool = False
    """Read the shop's locations and variants on connect and map ours onto them."""

    schema_rules: ClassVar[RequestExample] = {
        "description": "Give either access_token, or client_id and client_secret (400 otherwise)",
        "anyOf": [
            {
                "required": ["access_token"],
                "properties": {
                    "access_token": {"type": "string"},
                    "client_id": {"type": "null"},
                    "client_secret": {"type": "null"},
                },
            },
            {
                "required": ["client_id", "client_secret"],
                "properties": {
                    "access_token": {"type": "null"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            },
        ],
    }
    """What one field's type cannot say: the OpenAPI document adds it to this body's schema."""

    example: ClassVar[RequestExample] = {
        "kind": "shopify",
        "name": "UK web shop",
        "shop_domain": "omnistock-uk.myshopify.com",
        "api_version": "2025-01",
        "webhook_secret": "shopify-webhook-signing-secret",
        "access_token": "shpat_0123456789abcdef",
        "locations": [
            {"location": "LDN-OXF", "external_location_id": "gid://shopify/Location/1001"}
        ],
        "buffer": 1,
    }


class StorefrontLocationOut(Struct):
    location: str
    external_location_id: str


class DiscoveredLocationOut(Struct):
    external_location_id: str
    name: str
    matched: str | None  # our location code


class UnmatchedItemOut(Struct):
    external_inventory_item_id: str
    sku: str | None
    barcode: str | None


class DiscoveryOut(Struct):
    locations: list[DiscoveredLocationOut]
    mapped: int
    newly_mapped: int
    unmatched_ours: list[str]
    unmatched_theirs: list[UnmatchedItemOut]


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
    discovery: DiscoveryOut | None = None  # with auto_map on connect


class StorefrontDeletedOut(Struct):
    id: UUID
    deleted: bool
    unsubscribed: int  # webhook subscriptions removed from the shop


class StorefrontList(Struct):
    items: list[StorefrontOut]


class MappingIn(Struct, forbid_unknown_fields=True):
    sku: Code
    external_inventory_item_id: ExternalId


class MappingsIn(Struct, forbid_unknown_fields=True):
    items: Annotated[list[MappingIn], Meta(min_length=1, max_length=1000)]

    example: ClassVar[RequestExample] = {
        "items": [
            {"sku": "TEE-BLK-M", "external_inventory_item_id": "gid://shopify/InventoryItem/2001"}
        ]
    }


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
