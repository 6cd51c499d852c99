"""Storefronts kept in step with the ledger (Shopify): connect, map SKUs, sync health,
resync and reconcile. Tokens and secrets go in and are never sent back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import FromPath, JSONBody
from msgspec import Meta, Struct

from app.api.dependencies import CallerDep, UnitOfWorkDep
from app.api.schemas import Code, Name, NonNegative
from app.services import storefronts
from app.services.storefronts import (
    NewStorefront,
    ShopifyUnreachable,
    StorefrontView,
    SyncConfig,
)

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


def storefront_out(view: StorefrontView) -> StorefrontOut:
    return StorefrontOut(
        id=view.id,
        kind=view.kind,
        name=view.name,
        shop_domain=view.shop_domain,
        api_version=view.api_version,
        api_base_url=view.api_base_url,
        buffer=view.buffer,
        auth=view.auth,
        locations=[
            StorefrontLocationOut(location=code, external_location_id=gid)
            for code, gid in view.locations
        ],
        mapped_skus=view.mapped_skus,
        created_at=view.created_at,
    )


def sync_out(status: storefronts.SyncStatus) -> SyncOut:
    return SyncOut(
        storefront_id=status.storefront_id,
        pending=status.pending,
        last_synced_at=status.last_synced_at,
        lag_seconds=status.lag_seconds,
        errors=[
            SyncErrorOut(at=str(e.get("at", "")), message=str(e.get("message", "")))
            for e in status.errors
        ],
        calls_made=status.calls_made,
        throttled=status.throttled,
    )


def _config(state: State) -> SyncConfig:
    return SyncConfig.from_settings(state.settings)


class StorefrontController(Controller):
    path = "/v1/storefronts"
    tags = ["storefronts"]

    @post("/", summary="Connect a Shopify storefront (tokens are stored encrypted)")
    async def connect(
        self, data: JSONBody[StorefrontIn], uow: UnitOfWorkDep, principal: CallerDep, state: State
    ) -> StorefrontOut:
        has_token = data.access_token is not None
        has_client = data.client_id is not None and data.client_secret is not None
        half_client = (data.client_id is None) != (data.client_secret is None)
        if has_token == has_client or half_client:
            raise ValidationException(
                "give either access_token or both client_id and client_secret"
            )
        view = await storefronts.connect_storefront(
            uow,
            principal,
            NewStorefront(
                kind=data.kind,
                name=data.name,
                shop_domain=data.shop_domain,
                webhook_secret=data.webhook_secret,
                locations=[(loc.location, loc.external_location_id) for loc in data.locations],
                api_version=data.api_version,
                access_token=data.access_token,
                client_id=data.client_id,
                client_secret=data.client_secret,
                buffer=data.buffer,
                api_base_url=data.api_base_url,
            ),
            _config(state),
        )
        return storefront_out(view)

    @get("/", summary="Every storefront")
    async def list_all(self, uow: UnitOfWorkDep, principal: CallerDep) -> StorefrontList:
        views = await storefronts.list_storefronts(uow, principal)
        return StorefrontList(items=[storefront_out(v) for v in views])

    @get("/{storefront_id:uuid}", summary="One storefront")
    async def get_one(
        self, storefront_id: FromPath[UUID], uow: UnitOfWorkDep, principal: CallerDep
    ) -> StorefrontOut:
        return storefront_out(await storefronts.get_storefront(uow, principal, storefront_id))

    @put("/{storefront_id:uuid}/mappings", summary="Map SKUs to Shopify inventory items")
    async def map_skus(
        self,
        storefront_id: FromPath[UUID],
        data: JSONBody[MappingsIn],
        uow: UnitOfWorkDep,
        principal: CallerDep,
    ) -> MappingsOut:
        mapped = await storefronts.map_skus(
            uow,
            principal,
            storefront_id,
            [(item.sku, item.external_inventory_item_id) for item in data.items],
        )
        return MappingsOut(storefront_id=storefront_id, mapped=mapped)

    @get("/{storefront_id:uuid}/sync", summary="Sync health: pending levels, lag, errors")
    async def sync(
        self, storefront_id: FromPath[UUID], uow: UnitOfWorkDep, principal: CallerDep
    ) -> SyncOut:
        return sync_out(await storefronts.sync_status(uow, principal, storefront_id))

    @post(
        "/{storefront_id:uuid}/resync",
        summary="Mark every mapped level pending and push now",
        status_code=200,
    )
    async def resync(
        self,
        storefront_id: FromPath[UUID],
        uow: UnitOfWorkDep,
        principal: CallerDep,
        state: State,
    ) -> ResyncOut:
        report = await storefronts.resync_storefront(
            state.db, principal, storefront_id, _config(state)
        )
        status = await storefronts.sync_status(uow, principal, storefront_id)
        return ResyncOut(
            storefront_id=storefront_id,
            pushed=report.pushed,
            calls=report.calls,
            throttled=report.throttled,
            errors=report.errors,
            sync=sync_out(status),
        )

    @post(
        "/{storefront_id:uuid}/reconcile",
        summary="Compare Shopify's levels with ours, report drift and repair it",
        status_code=200,
    )
    async def reconcile(
        self, storefront_id: FromPath[UUID], principal: CallerDep, state: State
    ) -> ReconcileOut:
        try:
            report = await storefronts.reconcile_storefront(
                state.db, principal, storefront_id, _config(state)
            )
        except ShopifyUnreachable as error:
            raise ServiceUnavailableException(error.message) from None
        return ReconcileOut(
            checked=report.checked,
            drifted=[
                DriftOut(sku=d.sku, location=d.location, ours=d.ours, theirs=d.theirs)
                for d in report.drifted
            ],
            repaired=report.repaired,
        )
