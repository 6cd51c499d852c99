"""Use cases of the storefront sync: connect a Shopify storefront, map SKUs, push pending
levels, resync, reconcile drift, take in Shopify's webhooks.

Pushing never holds a database transaction open over a network call: read the pending
levels (one transaction), call Shopify (none), acknowledge what was sent (another).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from prometheus_client import Gauge

from app.config import Settings
from app.db.models import utcnow
from app.db.session import Database, UnitOfWork
from app.db.storefront_models import Storefront, StorefrontLocation
from app.db.storefronts import StorefrontRepository
from app.domain.access import Permission, Principal, Role
from app.domain.errors import BusinessRuleViolation, DomainError, Forbidden
from app.domain.storefront import (
    Drift,
    LevelPush,
    find_drift,
    idempotency_key,
    plan_pushes,
    quantity_to_publish,
    shopify_gid,
    sync_lag_seconds,
    webhook_delivery_key,
    webhook_signature_valid,
)
from app.integrations.shopify.client import (
    QuantityToSet,
    ShopifyClient,
    ShopifyConnection,
    ShopifyError,
    UserError,
)
from app.integrations.shopify.credentials import secret_box

log = structlog.get_logger("omnistock.storefronts")

READ_BATCH = 2000
"""Pending levels read per round; pushed 250 to a call, each call acknowledged on its own."""
MAX_ROUNDS = 20
MAX_FLUSH_SECONDS = 60.0
WEBHOOK_TOPICS = frozenset({"orders/create", "orders/cancelled", "inventory_levels/update"})

SYNC_LAG = Gauge(
    "omnistock_storefront_sync_lag_seconds",
    "Age of the oldest stock change not yet on the storefront (0 when in step).",
    ["storefront"],
)
PENDING = Gauge(
    "omnistock_storefront_pending",
    "Levels waiting to be pushed to the storefront.",
    ["storefront"],
)


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
    ) -> list[UserError]: ...

    def read_available(
        self, levels: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int | None]: ...


@dataclass(frozen=True)
class SyncConfig:
    """How the sync reaches Shopify, from the settings; tests swap the client factory."""

    secret_key: str | None = None
    timeout_seconds: float = 10.0
    default_api_version: str = "2026-10"
    lease_seconds: float = 30.0
    client_factory: Callable[[ShopifyConnection], ShopifyGateway] = ShopifyClient
    after_push: Callable[[list[LevelPush]], None] | None = None
    """Called after Shopify accepted a batch and before it is acknowledged (tests use it
    to kill a worker at the worst moment)."""
    settings: Settings | None = None  # to build the order service's context for webhooks

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncConfig:
        return cls(
            secret_key=settings.secret_key,
            timeout_seconds=settings.shopify_timeout_seconds,
            default_api_version=settings.shopify_api_version,
            settings=settings,
        )


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


@dataclass(frozen=True, slots=True)
class SyncStatus:
    storefront_id: uuid.UUID
    pending: int
    last_synced_at: datetime | None
    lag_seconds: float
    errors: list[dict[str, Any]]
    calls_made: int
    throttled: int


@dataclass
class FlushReport:
    claimed: bool = True
    pushed: int = 0
    calls: int = 0
    throttled: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    checked: int
    drifted: list[Drift]
    repaired: int


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    duplicate: bool
    webhook_id: int | None
    outcome: str | None


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


def _require_admin(principal: Principal) -> None:
    principal.require(Permission.MANAGE_CATALOGUE)


def _require_operations_reader(principal: Principal) -> None:
    """Storefront settings and sync health are for operations: admin and readonly keys."""
    if principal.role not in (Role.ADMIN, Role.READONLY):
        raise Forbidden(f"role {principal.role} may not read storefront settings")


# ---- storefronts and mappings ------------------------------------------------------------
async def connect_storefront(
    uow: UnitOfWork, principal: Principal, new: NewStorefront, config: SyncConfig
) -> StorefrontView:
    """Register a Shopify storefront; its token or client secret is stored encrypted."""
    _require_admin(principal)
    has_token = bool(new.access_token)
    has_client = bool(new.client_id and new.client_secret)
    if has_token == has_client:
        raise BusinessRuleViolation("give either access_token or both client_id and client_secret")
    gids: list[tuple[str, str]] = []
    for code, external in new.locations:
        gid = shopify_gid(external, "Location")
        if gid is None:
            raise BusinessRuleViolation(
                f"{external!r} is not a Shopify location id", {"location": code}
            )
        gids.append((code, gid))
    box = secret_box(config.secret_key)
    async with uow:
        repo = StorefrontRepository(uow.session)
        location_ids = {code: (await uow.catalogue.location(code)).id for code, _ in gids}
        storefront = Storefront(
            id=uuid.uuid4(),
            kind=new.kind,
            name=new.name,
            shop_domain=new.shop_domain.lower(),
            api_version=new.api_version or config.default_api_version,
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
        view = await _view(repo, storefront)
        await uow.commit()
        return view


async def list_storefronts(uow: UnitOfWork, principal: Principal) -> list[StorefrontView]:
    _require_operations_reader(principal)
    async with uow:
        repo = StorefrontRepository(uow.session)
        return [await _view(repo, s) for s in await repo.all()]


async def get_storefront(
    uow: UnitOfWork, principal: Principal, storefront_id: uuid.UUID
) -> StorefrontView:
    _require_operations_reader(principal)
    async with uow:
        repo = StorefrontRepository(uow.session)
        return await _view(repo, await repo.get(storefront_id))


async def map_skus(
    uow: UnitOfWork,
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
    async with uow:
        repo = StorefrontRepository(uow.session)
        await repo.get(storefront_id)
        skus = await uow.catalogue.skus_by_code(codes)
        by_id = {skus[code].id: gid for code, gid in gids.items()}
        await repo.map_items(storefront_id, by_id)
        await repo.mark_skus_pending(storefront_id, list(by_id), utcnow())
        await uow.commit()
    return len(by_id)


async def sync_status(
    uow: UnitOfWork, principal: Principal, storefront_id: uuid.UUID
) -> SyncStatus:
    _require_operations_reader(principal)
    async with uow:
        figures = await StorefrontRepository(uow.session).sync_figures(storefront_id)
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
    db: Database, principal: Principal, storefront_id: uuid.UUID, config: SyncConfig
) -> FlushReport:
    """Push every mapped level again, now (after a mapping fix or a restore in Shopify)."""
    _require_admin(principal)
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        await repo.get(storefront_id)
        await repo.mark_all_pending(storefront_id, utcnow())
        await uow.commit()
    return await push_pending_levels(db, storefront_id, config)


async def reconcile_storefront(
    db: Database, principal: Principal | None, storefront_id: uuid.UUID, config: SyncConfig
) -> ReconcileReport:
    """Read what Shopify shows for every mapped level, report where it differs from ours,
    and repair it by pushing ours. `principal` is None for the scheduled job."""
    if principal is not None:
        _require_admin(principal)
    async with db.unit_of_work(readonly=True) as uow:
        repo = StorefrontRepository(uow.session)
        storefront = await repo.get(storefront_id)
        levels = await repo.mapped_levels(storefront_id)
    client = config.client_factory(_connection(storefront, config))
    targets = [(level.external_item_id, level.external_location_id) for level in levels]
    try:
        theirs_by_target = await asyncio.to_thread(client.read_available, targets)
    except ShopifyError as error:
        async with db.unit_of_work() as uow:
            await StorefrontRepository(uow.session).record_calls(
                storefront_id,
                calls=client.calls,
                throttled=client.throttled,
                synced_at=None,
                errors=[_error_entry(f"reconcile: {error}")],
            )
            await uow.commit()
        raise ShopifyUnreachable(f"could not read the storefront's levels: {error}") from None
    ours: dict[tuple[str, str], int] = {}
    theirs: dict[tuple[str, str], int | None] = {}
    ids: dict[tuple[str, str], tuple[int, int]] = {}
    for level in levels:
        key = (level.sku, level.location)
        ours[key] = quantity_to_publish(level.quantities, storefront.buffer)
        theirs[key] = theirs_by_target.get((level.external_item_id, level.external_location_id))
        ids[key] = (level.sku_id, level.location_id)
    drifted = find_drift(ours, theirs)
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        await repo.record_calls(
            storefront_id, calls=client.calls, throttled=client.throttled, synced_at=None
        )
        await repo.mark_levels_pending(
            storefront_id, [ids[(d.sku, d.location)] for d in drifted], utcnow()
        )
        await uow.commit()
    if drifted:
        log.warning("storefront drift found", storefront=str(storefront_id), levels=len(drifted))
        report = await push_pending_levels(db, storefront_id, config)
        repaired = len(drifted) if not report.errors and report.claimed else 0
    else:
        repaired = 0
    return ReconcileReport(checked=len(levels), drifted=drifted, repaired=repaired)


class ShopifyUnreachable(DomainError):
    """Shopify could not be asked (a reconcile needs an answer now)."""

    code = "unavailable"


# ---- the flush ---------------------------------------------------------------------------
async def storefronts_due(db: Database) -> list[uuid.UUID]:
    """Storefronts with levels to push and no worker pushing them right now."""
    async with db.unit_of_work(readonly=True) as uow:
        return await StorefrontRepository(uow.session).with_pending(utcnow())


async def all_storefront_ids(db: Database) -> list[uuid.UUID]:
    async with db.unit_of_work(readonly=True) as uow:
        return [s.id for s in await StorefrontRepository(uow.session).all()]


async def push_pending_levels(
    db: Database, storefront_id: uuid.UUID, config: SyncConfig
) -> FlushReport:
    """Push the latest `available` of every pending level of one storefront, 250 to a call,
    and acknowledge each call's levels unless they changed meanwhile.

    Only one flusher per storefront at a time (a lease); a flusher that dies leaves its
    levels pending and its lease to expire, and the next flush pushes them again under the
    same idempotency key."""
    owner = uuid.uuid4().hex
    lease = timedelta(seconds=config.lease_seconds)
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        if not await repo.claim(storefront_id, owner, utcnow(), lease):
            return FlushReport(claimed=False)
        storefront = await repo.get(storefront_id)
        await uow.commit()
    report = FlushReport()
    client: ShopifyGateway | None = None
    try:
        client = config.client_factory(_connection(storefront, config))
        await _push_rounds(db, storefront, client, owner, lease, config, report)
    except ShopifyError as error:  # e.g. the token endpoint refused us
        report.errors.append(str(error))
        await _record(db, storefront_id, client, report, errors=[str(error)], synced=False)
    except Exception as error:
        await _release(db, storefront_id, owner)
        log.exception("storefront flush failed", storefront=str(storefront_id))
        report.errors.append(f"unexpected: {error}")
        return report
    await _release(db, storefront_id, owner)
    await _publish_gauges(db, storefront_id)
    return report


async def _push_rounds(
    db: Database,
    storefront: Storefront,
    client: ShopifyGateway,
    owner: str,
    lease: timedelta,
    config: SyncConfig,
    report: FlushReport,
) -> None:
    started = asyncio.get_running_loop().time()
    for _ in range(MAX_ROUNDS):
        if asyncio.get_running_loop().time() - started > MAX_FLUSH_SECONDS:
            return
        async with db.unit_of_work(readonly=True) as uow:
            pending = await StorefrontRepository(uow.session).pending_levels(
                storefront.id, READ_BATCH
            )
        if not pending:
            return
        unmapped = [p for p in pending if not (p.external_item_id and p.external_location_id)]
        if unmapped:  # the mapping went away: nothing to tell the storefront
            async with db.unit_of_work() as uow:
                await StorefrontRepository(uow.session).acknowledge(
                    storefront.id, [(p.sku_id, p.location_id, p.generation) for p in unmapped]
                )
                await uow.commit()
        mapped = [p for p in pending if p.external_item_id and p.external_location_id]
        for batch in plan_pushes(mapped, storefront.buffer):
            if not await _push_batch(db, storefront, client, owner, lease, config, report, batch):
                return


async def _push_batch(
    db: Database,
    storefront: Storefront,
    client: ShopifyGateway,
    owner: str,
    lease: timedelta,
    config: SyncConfig,
    report: FlushReport,
    batch: list[LevelPush],
) -> bool:
    """One `inventorySetQuantities` call and its acknowledgement; False to stop the flush."""
    async with db.unit_of_work() as uow:  # renew the lease; stop if another worker has it
        held = await StorefrontRepository(uow.session).claim(storefront.id, owner, utcnow(), lease)
        await uow.commit()
    if not held:
        report.errors.append("lease lost to another worker")
        return False
    key = idempotency_key(str(storefront.id), batch)
    calls_before, throttled_before = client.calls, client.throttled
    try:
        user_errors = await asyncio.to_thread(
            client.set_available,
            [
                QuantityToSet(p.level.external_item_id, p.level.external_location_id, p.quantity)
                for p in batch
            ],
            idempotency_key=key,
            reference_document_uri=f"gid://omnistock/StorefrontSync/{key}",
        )
    except ShopifyError as error:
        message = f"push of {len(batch)} levels failed: {error}"
        report.errors.append(message)
        report.calls += client.calls - calls_before
        report.throttled += client.throttled - throttled_before
        await _record_calls(
            db,
            storefront.id,
            client.calls - calls_before,
            client.throttled - throttled_before,
            errors=[message],
            synced=False,
        )
        log.warning("storefront push failed", storefront=str(storefront.id), error=str(error))
        return False
    if config.after_push is not None:
        config.after_push(batch)
    calls, throttled = client.calls - calls_before, client.throttled - throttled_before
    report.calls += calls
    report.throttled += throttled
    if user_errors:
        return await _handle_user_errors(
            db, storefront, batch, user_errors, calls, throttled, report
        )
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        await repo.acknowledge(
            storefront.id,
            [(p.level.sku_id, p.level.location_id, p.level.generation) for p in batch],
        )
        await repo.record_calls(storefront.id, calls=calls, throttled=throttled, synced_at=utcnow())
        await uow.commit()
    report.pushed += len(batch)
    return True


async def _handle_user_errors(
    db: Database,
    storefront: Storefront,
    batch: list[LevelPush],
    user_errors: list[UserError],
    calls: int,
    throttled: int,
    report: FlushReport,
) -> bool:
    """Shopify applied nothing. Levels it named are dropped from the outbox with an error
    (pushing them again cannot succeed until their mapping is fixed); the rest stay
    pending for the next round. An error naming no level stops the flush."""
    rejected = {e.index for e in user_errors if e.index is not None and e.index < len(batch)}
    messages = [
        f"{batch[e.index].level.sku} at {batch[e.index].level.location}: {e.code}: {e.message}"
        if e.index is not None and e.index < len(batch)
        else f"{e.code}: {e.message}"
        for e in user_errors
    ]
    report.errors += messages
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        await repo.acknowledge(
            storefront.id,
            [
                (batch[i].level.sku_id, batch[i].level.location_id, batch[i].level.generation)
                for i in sorted(rejected)
            ],
        )
        await repo.record_calls(
            storefront.id,
            calls=calls,
            throttled=throttled,
            synced_at=None,
            errors=[_error_entry(m) for m in messages],
        )
        await uow.commit()
    return len(rejected) > 0


async def _record_calls(
    db: Database,
    storefront_id: uuid.UUID,
    calls: int,
    throttled: int,
    *,
    errors: list[str],
    synced: bool,
) -> None:
    async with db.unit_of_work() as uow:
        await StorefrontRepository(uow.session).record_calls(
            storefront_id,
            calls=calls,
            throttled=throttled,
            synced_at=utcnow() if synced else None,
            errors=[_error_entry(e) for e in errors],
        )
        await uow.commit()


async def _record(
    db: Database,
    storefront_id: uuid.UUID,
    client: ShopifyGateway | None,
    report: FlushReport,
    *,
    errors: list[str],
    synced: bool,
) -> None:
    calls = (client.calls if client else 0) - report.calls
    throttled = (client.throttled if client else 0) - report.throttled
    report.calls += calls
    report.throttled += throttled
    await _record_calls(db, storefront_id, calls, throttled, errors=errors, synced=synced)


async def _release(db: Database, storefront_id: uuid.UUID, owner: str) -> None:
    async with db.unit_of_work() as uow:
        await StorefrontRepository(uow.session).release(storefront_id, owner)
        await uow.commit()


async def _publish_gauges(db: Database, storefront_id: uuid.UUID) -> None:
    async with db.unit_of_work(readonly=True) as uow:
        figures = await StorefrontRepository(uow.session).sync_figures(storefront_id)
    PENDING.labels(storefront=str(storefront_id)).set(figures.pending)
    SYNC_LAG.labels(storefront=str(storefront_id)).set(
        sync_lag_seconds(figures.oldest_pending, utcnow())
    )


def _error_entry(message: str) -> dict[str, Any]:
    return {"at": utcnow().isoformat(), "message": message[:500]}


def _connection(storefront: Storefront, config: SyncConfig) -> ShopifyConnection:
    box = secret_box(config.secret_key)
    return ShopifyConnection(
        shop_domain=storefront.shop_domain,
        api_version=storefront.api_version,
        api_base_url=storefront.api_base_url,
        access_token=(
            box.open(storefront.access_token_encrypted)
            if storefront.access_token_encrypted
            else None
        ),
        client_id=storefront.client_id,
        client_secret=(
            box.open(storefront.client_secret_encrypted)
            if storefront.client_secret_encrypted
            else None
        ),
        timeout_seconds=config.timeout_seconds,
    )


async def _view(repo: StorefrontRepository, storefront: Storefront) -> StorefrontView:
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
    )


# ---- webhooks in -------------------------------------------------------------------------
async def receive_shopify_webhook(
    db: Database,
    storefront_id: uuid.UUID,
    *,
    body: bytes,
    topic: str,
    signature: str | None,
    event_id: str | None,
    webhook_id: str | None,
    config: SyncConfig,
) -> WebhookReceipt:
    """Verify, store once per event, then act on a webhook. Storing comes first and in its
    own transaction, so a delivery whose handling fails is kept and retried by the worker
    rather than lost; a redelivery of a stored event changes nothing."""
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        storefront = await repo.get(storefront_id)
        secret = secret_box(config.secret_key).open(storefront.webhook_secret_encrypted)
        if not webhook_signature_valid(secret, body, signature):
            raise WebhookSignatureInvalid("the webhook signature does not match")
        key = webhook_delivery_key(event_id, webhook_id) or (
            "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
        )
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = {"unparsed_body": body.decode(errors="replace")[:100_000]}
        stored = await repo.store_webhook(storefront_id, key, topic[:100], payload, utcnow())
        await uow.commit()
    if stored is None:
        return WebhookReceipt(duplicate=True, webhook_id=None, outcome=None)
    outcome = await process_webhook(db, stored, config)
    return WebhookReceipt(duplicate=False, webhook_id=stored, outcome=outcome)


async def process_pending_webhooks(db: Database, config: SyncConfig, limit: int = 100) -> int:
    """Act on stored webhooks not yet processed (the process died between storing and
    acting). Returns how many were processed now."""
    async with db.unit_of_work(readonly=True) as uow:
        ids = await StorefrontRepository(uow.session).unprocessed_webhooks(limit)
    for webhook_id in ids:
        await process_webhook(db, webhook_id, config)
    return len(ids)


async def process_webhook(db: Database, webhook_id: int, config: SyncConfig) -> str:
    """Act on one stored webhook and record the outcome. Inventory updates are handled in
    the transaction that records them; orders go through the order service's own use case
    (idempotent by the Shopify order id), then the outcome is recorded."""
    async with db.unit_of_work() as uow:
        repo = StorefrontRepository(uow.session)
        webhook = await repo.webhook(webhook_id)
        if webhook.processed_at is not None:
            return webhook.outcome or "processed"
        storefront = await repo.get(webhook.storefront_id)
        payload = webhook.payload if isinstance(webhook.payload, dict) else {}
        order_call: Callable[[], Awaitable[str]] | None = None
        if webhook.topic == "inventory_levels/update":
            outcome = await _note_inventory_update(repo, storefront, payload)
        elif webhook.topic in ("orders/create", "orders/cancelled"):
            locations = {gid: code for code, gid in await repo.locations(storefront.id)}
            order_call = _order_service_call(db, config, webhook.topic, payload, locations)
            outcome = "handing to orders"
        else:
            outcome = f"ignored: topic {webhook.topic} is not used"
        if order_call is None:
            webhook.outcome = outcome[:500]
            webhook.processed_at = utcnow()
            await uow.commit()
            return outcome
    try:
        outcome = await order_call()
    except DomainError as error:  # e.g. an unknown sku: keep it, visible, not retried
        outcome = f"refused by the order service: {error.code}: {error.message}"
    async with db.unit_of_work() as uow:
        webhook = await StorefrontRepository(uow.session).webhook(webhook_id)
        webhook.outcome = outcome[:500]
        webhook.processed_at = utcnow()
        await uow.commit()
    return outcome


async def _note_inventory_update(
    repo: StorefrontRepository, storefront: Storefront, payload: dict[str, Any]
) -> str:
    """Shopify's level changed (a manual edit, an order, or the echo of our own push): if
    it is not what we publish, mark the level so the next push corrects it."""
    item = shopify_gid(str(payload.get("inventory_item_id", "")), "InventoryItem")
    location = shopify_gid(str(payload.get("location_id", "")), "Location")
    if item is None or location is None:
        return "ignored: no inventory_item_id or location_id"
    level = await repo.level_by_external_ids(storefront.id, item, location)
    if level is None:
        return "ignored: level not mapped"
    ours = quantity_to_publish(level.quantities, storefront.buffer)
    theirs = payload.get("available")
    if theirs == ours:
        return "in step"
    await repo.mark_levels_pending(storefront.id, [(level.sku_id, level.location_id)], utcnow())
    log.info(
        "storefront drift noted",
        storefront=str(storefront.id),
        sku=level.sku,
        location=level.location,
        ours=ours,
        theirs=theirs,
    )
    return f"drift: {level.sku} at {level.location} ours {ours} theirs {theirs}; push pending"


def _order_service_call(
    db: Database,
    config: SyncConfig,
    topic: str,
    payload: dict[str, Any],
    locations: dict[str, str],
) -> Callable[[], Awaitable[str]]:
    """A Shopify order becomes a `shopify` channel order that reserves stock; its
    cancellation releases it. Both are idempotent by the Shopify order id."""
    from app.services import orders
    from app.wiring import order_context

    external_id = str(payload.get("admin_graphql_api_id") or payload.get("id") or "")
    context = order_context(db, config.settings or Settings.from_env())

    async def cancel() -> str:
        await orders.cancel_external_order(
            context, channel="shopify", external_id=external_id, reason=payload.get("cancel_reason")
        )
        return f"cancelled order {external_id}"

    async def record() -> str:
        customer = payload.get("customer") or {}
        location_gid = shopify_gid(str(payload.get("location_id") or ""), "Location")
        name = " ".join(
            str(part) for part in (customer.get("first_name"), customer.get("last_name")) if part
        )
        view = await orders.record_external_order(
            context,
            channel="shopify",
            external_id=external_id,
            location=locations.get(location_gid or ""),
            lines=[
                (str(line["sku"]), int(line.get("quantity") or 0))
                for line in payload.get("line_items") or []
                if isinstance(line, dict) and line.get("sku") and int(line.get("quantity") or 0)
            ],
            customer_email=payload.get("email") or customer.get("email"),
            customer_name=name or None,
            currency=payload.get("currency"),
        )
        risk = " (at risk: short or unknown stock)" if view.order.at_risk else ""
        return f"recorded order {view.order.number} for {external_id}{risk}"

    return cancel if topic == "orders/cancelled" else record
