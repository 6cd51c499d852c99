"""Use cases that connect and inspect storefronts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.inventory.repository import CatalogueRepository
from app.platform.access import Permission, Principal, Role
from app.platform.errors import BusinessRuleViolation, Forbidden
from app.platform.tables import utcnow
from app.storefronts.config import StorefrontContext
from app.storefronts.discover import DiscoveryReport, ShopCatalogue, apply_discovery, read_shop
from app.storefronts.metrics import PENDING, SYNC_LAG
from app.storefronts.ports import GatewayError, ShopifyConnection, ShopifyUnreachable
from app.storefronts.push import FlushReport, push_pending_levels
from app.storefronts.repository import StorefrontRepository
from app.storefronts.rules import (
    sync_lag_seconds,
)
from app.storefronts.shopify_formats import shopify_gid
from app.storefronts.subscriptions import register_webhooks
from app.storefronts.tables import Storefront, StorefrontLocation

"""Pending levels read per round; pushed 250 to a call, each call acknowledged on its own."""


# ---- views -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StorefrontView:
    id: uuid.UUID
    kind: str
    name: str
    shop_domain: str
    api_version: str
    api_base_url: str | None
    buffer: int
    auth: str  # "access_token" | "client_credentials"
    locations: list[tuple[str, str]]
    mapped_skus: int
    created_at: datetime
    discovery: DiscoveryReport | None = None


@dataclass(frozen=True, slots=True)
class SyncStatus:
    storefront_id: uuid.UUID
    pending: int
    last_synced_at: datetime | None
    lag_seconds: float
    errors: list[dict[str, Any]]
    calls_made: int
    throttled: int


@dataclass(frozen=True, slots=True)
class NewStorefront:
    name: str
    shop_domain: str
    webhook_secret: str
    locations: list[tuple[str, str]]  # (our location code, Shopify location id or gid)
    api_version: str | None = None
    access_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    buffer: int = 0
    api_base_url: str | None = None
    kind: str = "shopify"
    auto_map: bool = False


def _require_admin(principal: Principal) -> None:
    principal.require(Permission.MANAGE_CATALOGUE)


def _require_operations_reader(principal: Principal) -> None:
    """Storefront settings and sync health are for operations: admin and readonly keys."""
    if principal.role not in (Role.ADMIN, Role.READONLY):
        raise Forbidden(f"role {principal.role} may not read storefront settings")


# ---- storefronts and mappings ------------------------------------------------------------
async def connect_storefront(
    ctx: StorefrontContext, principal: Principal, new: NewStorefront
) -> StorefrontView:
    """Register a Shopify storefront; its token or client secret is stored encrypted."""
    _require_admin(principal)
    has_token = bool(new.access_token)
    has_client = bool(new.client_id and new.client_secret)
    if has_token == has_client:
        raise BusinessRuleViolation("give either access_token or both client_id and client_secret")
    if new.api_base_url and not new.api_base_url.startswith(ctx.sync.allowed_api_base_urls):
        raise BusinessRuleViolation(
            "api_base_url is not one this service may call (SHOPIFY_API_BASE_URLS)",
            {"allowed": list(ctx.sync.allowed_api_base_urls)},
        )
    gids: list[tuple[str, str]] = []
    for code, external in new.locations:
        gid = shopify_gid(external, "Location")
        if gid is None:
            raise BusinessRuleViolation(
                f"{external!r} is not a Shopify location id", {"location": code}
            )
        gids.append((code, gid))
    shop = await _read_new_shop(ctx, new) if new.auto_map else None
    box = ctx.sync.secrets
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        location_ids = {
            code: (await CatalogueRepository.of(uow).location(code)).id for code, _ in gids
        }
        storefront = Storefront(
            id=uuid.uuid4(),
            kind=new.kind,
            name=new.name,
            shop_domain=new.shop_domain.lower(),
            api_version=new.api_version or ctx.sync.default_api_version,
            api_base_url=new.api_base_url.rstrip("/") if new.api_base_url else None,
            buffer=new.buffer,
            webhook_secret_encrypted=box.seal(new.webhook_secret),
            access_token_encrypted=box.seal(new.access_token) if new.access_token else None,
            client_id=new.client_id if has_client else None,
            client_secret_encrypted=(
                box.seal(new.client_secret) if has_client and new.client_secret else None
            ),
            recent_errors=[],
            calls_made=0,
            throttled=0,
            created_at=utcnow(),
        )
        await repo.add(
            storefront,
            [
                StorefrontLocation(
                    storefront_id=storefront.id,
                    location_id=location_ids[code],
                    external_location_id=gid,
                )
                for code, gid in gids
            ],
        )
        report = await apply_discovery(uow, storefront.id, shop) if shop else None
        view = await _view(repo, storefront, report)
        await uow.commit()
    await register_webhooks(ctx, view.id)
    return view


async def _read_new_shop(ctx: StorefrontContext, new: NewStorefront) -> ShopCatalogue:
    """Discovery on connect reads the shop before anything is stored, so a shop that cannot
    be read leaves no half-connected storefront behind."""
    client = ctx.sync.client_factory(
        ShopifyConnection(
            shop_domain=new.shop_domain.lower(),
            api_version=new.api_version or ctx.sync.default_api_version,
            api_base_url=new.api_base_url.rstrip("/") if new.api_base_url else None,
            access_token=new.access_token,
            client_id=new.client_id,
            client_secret=new.client_secret,
            timeout_seconds=ctx.sync.timeout_seconds,
        )
    )
    try:
        return await read_shop(client)
    except GatewayError as error:
        raise ShopifyUnreachable(f"could not read the shop: {error}") from None


async def list_storefronts(ctx: StorefrontContext, principal: Principal) -> list[StorefrontView]:
    _require_operations_reader(principal)
    async with ctx.uow(readonly=True) as uow:
        repo = StorefrontRepository.of(uow)
        return [await _view(repo, s) for s in await repo.all()]


async def get_storefront(
    ctx: StorefrontContext, principal: Principal, storefront_id: uuid.UUID
) -> StorefrontView:
    _require_operations_reader(principal)
    async with ctx.uow(readonly=True) as uow:
        repo = StorefrontRepository.of(uow)
        return await _view(repo, await repo.get(storefront_id))


async def map_skus(
    ctx: StorefrontContext,
    principal: Principal,
    storefront_id: uuid.UUID,
    items: list[tuple[str, str]],
) -> int:
    """Map SKUs to Shopify inventory items; their levels at every mapped location become
    pending, so the storefront learns them on the next flush. Returns how many mapped."""
    _require_admin(principal)
    codes = [code for code, _ in items]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the mappings")
    gids: dict[str, str] = {}
    for code, external in items:
        gid = shopify_gid(external, "InventoryItem")
        if gid is None:
            raise BusinessRuleViolation(
                f"{external!r} is not a Shopify inventory item id", {"sku": code}
            )
        gids[code] = gid
    if len(set(gids.values())) != len(gids):
        raise BusinessRuleViolation("an inventory item appears twice in the mappings")
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        await repo.get(storefront_id)
        skus = await CatalogueRepository.of(uow).skus_by_code(codes)
        by_id = {skus[code].id: gid for code, gid in gids.items()}
        await repo.map_items(storefront_id, by_id)
        await repo.mark_skus_pending(storefront_id, list(by_id), utcnow())
        await uow.commit()
    return len(by_id)


async def sync_status(
    ctx: StorefrontContext, principal: Principal, storefront_id: uuid.UUID
) -> SyncStatus:
    _require_operations_reader(principal)
    async with ctx.uow(readonly=True) as uow:
        figures = await StorefrontRepository.of(uow).sync_figures(storefront_id)
    lag = sync_lag_seconds(figures.oldest_pending, utcnow())
    PENDING.labels(storefront=str(storefront_id)).set(figures.pending)
    SYNC_LAG.labels(storefront=str(storefront_id)).set(lag)
    return SyncStatus(
        storefront_id=storefront_id,
        pending=figures.pending,
        last_synced_at=figures.last_synced_at,
        lag_seconds=round(lag, 3),
        errors=figures.errors,
        calls_made=figures.calls_made,
        throttled=figures.throttled,
    )


async def resync_storefront(
    ctx: StorefrontContext, principal: Principal, storefront_id: uuid.UUID
) -> FlushReport:
    """Push every mapped level again, now (after a mapping fix or a restore in Shopify)."""
    _require_admin(principal)
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        await repo.get(storefront_id)
        await repo.mark_all_pending(storefront_id, utcnow())
        await uow.commit()
    return await push_pending_levels(ctx, storefront_id)


async def _view(
    repo: StorefrontRepository, storefront: Storefront, discovery: DiscoveryReport | None = None
) -> StorefrontView:
    return StorefrontView(
        id=storefront.id,
        kind=storefront.kind,
        name=storefront.name,
        shop_domain=storefront.shop_domain,
        api_version=storefront.api_version,
        api_base_url=storefront.api_base_url,
        buffer=storefront.buffer,
        auth="access_token" if storefront.access_token_encrypted else "client_credentials",
        locations=await repo.locations(storefront.id),
        mapped_skus=await repo.mapped_sku_count(storefront.id),
        created_at=storefront.created_at,
        discovery=discovery,
    )
