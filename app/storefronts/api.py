"""Storefronts over HTTP."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import FromPath, JSONBody, SkipValidation

from app.platform.http.deps import CallerDep
from app.storefronts import discover as discovery
from app.storefronts import reconcile, setup, subscriptions
from app.storefronts.config import StorefrontContext
from app.storefronts.discover import DiscoveryReport
from app.storefronts.ports import ShopifyUnreachable
from app.storefronts.schemas import (
    DiscoveredLocationOut,
    DiscoveryOut,
    DriftOut,
    MappingsIn,
    MappingsOut,
    ReconcileOut,
    ResyncOut,
    StorefrontDeletedOut,
    StorefrontIn,
    StorefrontList,
    StorefrontLocationOut,
    StorefrontOut,
    SyncErrorOut,
    SyncOut,
    UnmatchedItemOut,
)
from app.storefronts.setup import NewStorefront, StorefrontView


def discovery_out(report: DiscoveryReport) -> DiscoveryOut:
    return DiscoveryOut(
        locations=[
            DiscoveredLocationOut(
                external_location_id=m.location.id, name=m.location.name, matched=m.matched
            )
            for m in report.locations
        ],
        mapped=report.mapped,
        newly_mapped=report.newly_mapped,
        unmatched_ours=report.unmatched_ours,
        unmatched_theirs=[
            UnmatchedItemOut(
                external_inventory_item_id=v.inventory_item_id, sku=v.sku, barcode=v.barcode
            )
            for v in report.unmatched_theirs
        ],
    )


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
        discovery=discovery_out(view.discovery) if view.discovery else None,
    )


def sync_out(status: setup.SyncStatus) -> SyncOut:
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


StorefrontContextDep = SkipValidation[StorefrontContext]


class StorefrontController(Controller):
    path = "/v1/storefronts"
    tags = ["storefronts"]

    @post("/", summary="Connect a Shopify storefront (tokens are stored encrypted)")
    async def connect(
        self, data: JSONBody[StorefrontIn], ctx: StorefrontContextDep, principal: CallerDep
    ) -> StorefrontOut:
        has_token = data.access_token is not None
        has_client = data.client_id is not None and data.client_secret is not None
        half_client = (data.client_id is None) != (data.client_secret is None)
        if has_token == has_client or half_client:
            raise ValidationException(
                "give either access_token or both client_id and client_secret"
            )
        new = NewStorefront(
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
            auto_map=data.auto_map,
        )
        try:
            view = await setup.connect_storefront(ctx, principal, new)
        except ShopifyUnreachable as error:
            raise ServiceUnavailableException(error.message) from None
        return storefront_out(view)

    @get("/", summary="Every storefront")
    async def list_all(self, ctx: StorefrontContextDep, principal: CallerDep) -> StorefrontList:
        views = await setup.list_storefronts(ctx, principal)
        return StorefrontList(items=[storefront_out(v) for v in views])

    @get("/{storefront_id:uuid}", summary="One storefront")
    async def get_one(
        self, storefront_id: FromPath[UUID], ctx: StorefrontContextDep, principal: CallerDep
    ) -> StorefrontOut:
        return storefront_out(await setup.get_storefront(ctx, principal, storefront_id))

    @post(
        "/{storefront_id:uuid}/discover",
        summary="Read the shop's locations and variants; map ours by SKU, else barcode",
        status_code=200,
    )
    async def discover(
        self, storefront_id: FromPath[UUID], ctx: StorefrontContextDep, principal: CallerDep
    ) -> DiscoveryOut:
        try:
            report = await discovery.discover(ctx, principal, storefront_id)
        except ShopifyUnreachable as error:
            raise ServiceUnavailableException(error.message) from None
        return discovery_out(report)

    @delete(
        "/{storefront_id:uuid}",
        summary="Delete a storefront and its webhook subscriptions in the shop",
        status_code=200,
    )
    async def delete_one(
        self, storefront_id: FromPath[UUID], ctx: StorefrontContextDep, principal: CallerDep
    ) -> StorefrontDeletedOut:
        removed = await subscriptions.delete_storefront(ctx, principal, storefront_id)
        return StorefrontDeletedOut(id=storefront_id, deleted=True, unsubscribed=removed)

    @put("/{storefront_id:uuid}/mappings", summary="Map SKUs to Shopify inventory items")
    async def map_skus(
        self,
        storefront_id: FromPath[UUID],
        data: JSONBody[MappingsIn],
        ctx: StorefrontContextDep,
        principal: CallerDep,
    ) -> MappingsOut:
        mapped = await setup.map_skus(
            ctx,
            principal,
            storefront_id,
            [(item.sku, item.external_inventory_item_id) for item in data.items],
        )
        return MappingsOut(storefront_id=storefront_id, mapped=mapped)

    @get("/{storefront_id:uuid}/sync", summary="Sync health: pending levels, lag, errors")
    async def sync(
        self, storefront_id: FromPath[UUID], ctx: StorefrontContextDep, principal: CallerDep
    ) -> SyncOut:
        return sync_out(await setup.sync_status(ctx, principal, storefront_id))

    @post(
        "/{storefront_id:uuid}/resync",
        summary="Mark every mapped level pending and push now",
        status_code=200,
    )
    async def resync(
        self,
        storefront_id: FromPath[UUID],
        ctx: StorefrontContextDep,
        principal: CallerDep,
    ) -> ResyncOut:
        report = await setup.resync_storefront(ctx, principal, storefront_id)
        status = await setup.sync_status(ctx, principal, storefront_id)
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
        self, storefront_id: FromPath[UUID], ctx: StorefrontContextDep, principal: CallerDep
    ) -> ReconcileOut:
        try:
            report = await reconcile.reconcile_storefront(ctx, principal, storefront_id)
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
