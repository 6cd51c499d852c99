"""The lease-based flush: push pending levels to Shopify, then acknowledge."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from app.platform.tables import utcnow
from app.storefronts.cause_repository import CauseRepository
from app.storefronts.config import StorefrontContext
from app.storefronts.metrics import _publish_gauges
from app.storefronts.ports import GatewayError, QuantityToSet, ShopifyGateway, UserError
from app.storefronts.push_reasons import Cause, batch_uri, group_by_reason, reason_for
from app.storefronts.pushed_repository import PushedRepository
from app.storefronts.repository import StorefrontRepository, error_entry
from app.storefronts.rules import (
    MAX_QUANTITIES_PER_CALL,
    LevelPush,
    idempotency_key,
    plan_pushes,
)
from app.storefronts.tables import Storefront

log = structlog.get_logger("omnistock.storefronts")

READ_BATCH = 2000

MAX_ROUNDS = 20

MAX_FLUSH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Why:
    """Why one call's quantities changed: one reason, the levels' last movements."""

    reason: str
    causes: list[Cause | None]


@dataclass
class FlushReport:
    claimed: bool = True
    pushed: int = 0
    calls: int = 0
    throttled: int = 0
    errors: list[str] = field(default_factory=list)


# ---- the flush ---------------------------------------------------------------------------
async def storefronts_due(ctx: StorefrontContext) -> list[uuid.UUID]:
    """Storefronts with levels to push and no worker pushing them right now."""
    async with ctx.uow(readonly=True) as uow:
        return await StorefrontRepository.of(uow).with_pending(utcnow())


async def all_storefront_ids(ctx: StorefrontContext) -> list[uuid.UUID]:
    async with ctx.uow(readonly=True) as uow:
        return [s.id for s in await StorefrontRepository.of(uow).all()]


async def push_pending_levels(
    ctx: StorefrontContext, storefront_id: uuid.UUID, *, coalesce_seconds: float = 0.0
) -> FlushReport:
    """Push the latest `available` of every pending level of one storefront, 250 to a call,
    and acknowledge each call's levels unless they changed meanwhile.

    Only one flusher per storefront at a time (a lease); a flusher that dies leaves its
    levels pending and its lease to expire, and the next flush pushes them again under the
    same idempotency key.

    With `coalesce_seconds` (the workers' flush interval) a storefront that pushed less than
    that long ago is left alone (claimed False), and after its first round a flush pushes
    only full calls of 250: during a long burst about one push per storefront per
    interval, whatever the number of workers and queued flush messages."""
    owner = uuid.uuid4().hex
    lease = timedelta(seconds=ctx.sync.lease_seconds)
    now = utcnow()
    quiet_since = now - timedelta(seconds=coalesce_seconds) if coalesce_seconds > 0 else None
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        if not await repo.claim(storefront_id, owner, now, lease, synced_before=quiet_since):
            return FlushReport(claimed=False)
        storefront = await repo.get(storefront_id)
        await uow.commit()
    report = FlushReport()
    client: ShopifyGateway | None = None
    try:
        client = ctx.sync.client_factory(ctx.sync.connection(storefront))
        await _push_rounds(
            ctx, storefront, client, owner, lease, report, full_only_after=coalesce_seconds > 0
        )
    except GatewayError as error:  # e.g. the token endpoint refused us
        report.errors.append(str(error))
        await _record(ctx, storefront_id, client, report, errors=[str(error)], synced=False)
    except Exception as error:
        await _release(ctx, storefront_id, owner)
        log.exception("storefront flush failed", storefront=str(storefront_id))
        report.errors.append(f"unexpected: {error}")
        return report
    await _release(ctx, storefront_id, owner)
    await _publish_gauges(ctx, storefront_id)
    return report


async def _push_rounds(
    ctx: StorefrontContext,
    storefront: Storefront,
    client: ShopifyGateway,
    owner: str,
    lease: timedelta,
    report: FlushReport,
    *,
    full_only_after: bool = False,
) -> None:
    """Rounds of pending levels until none are left; with `full_only_after`, rounds after
    the first push only full calls (what changed meanwhile waits for the next flush)."""
    started = asyncio.get_running_loop().time()
    for round_number in range(MAX_ROUNDS):
        if asyncio.get_running_loop().time() - started > MAX_FLUSH_SECONDS:
            return
        async with ctx.uow(readonly=True) as uow:
            pending = await StorefrontRepository.of(uow).pending_levels(storefront.id, READ_BATCH)
        if not pending:
            return
        unmapped = [p for p in pending if not (p.external_item_id and p.external_location_id)]
        if unmapped:  # the mapping went away: nothing to tell the storefront
            async with ctx.uow() as uow:
                await StorefrontRepository.of(uow).acknowledge(
                    storefront.id, [(p.sku_id, p.location_id, p.generation) for p in unmapped]
                )
                await uow.commit()
        mapped = [p for p in pending if p.external_item_id and p.external_location_id]
        async with ctx.uow(readonly=True) as uow:
            causes = await CauseRepository.of(uow).last_movements(
                [(p.sku_id, p.location_id) for p in mapped]
            )
        reasons = [reason_for(causes.get((p.sku_id, p.location_id))) for p in mapped]
        calls = group_by_reason(mapped, reasons, MAX_QUANTITIES_PER_CALL)
        if full_only_after and round_number > 0:
            calls = [(r, x) for r, x in calls if len(x) >= MAX_QUANTITIES_PER_CALL]
            if not calls:
                return
        for reason, levels in calls:
            for batch in plan_pushes(levels, storefront.buffer):
                why = _Why(
                    reason, [causes.get((p.level.sku_id, p.level.location_id)) for p in batch]
                )
                if not await _push_batch(ctx, storefront, client, owner, lease, report, batch, why):
                    return


async def _push_batch(
    ctx: StorefrontContext,
    storefront: Storefront,
    client: ShopifyGateway,
    owner: str,
    lease: timedelta,
    report: FlushReport,
    batch: list[LevelPush],
    why: _Why,
) -> bool:
    """One `inventorySetQuantities` call and its acknowledgement; False to stop the flush."""
    async with ctx.uow() as uow:  # renew the lease; stop if another worker has it
        held = await StorefrontRepository.of(uow).claim(storefront.id, owner, utcnow(), lease)
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
            reason=why.reason,
            reference_document_uri=batch_uri(why.causes, f"gid://omnistock/StorefrontSync/{key}"),
        )
    except GatewayError as error:
        message = f"push of {len(batch)} levels failed: {error}"
        report.errors.append(message)
        report.calls += client.calls - calls_before
        report.throttled += client.throttled - throttled_before
        await _record_calls(
            ctx,
            storefront.id,
            client.calls - calls_before,
            client.throttled - throttled_before,
            errors=[message],
            synced=False,
        )
        log.warning("storefront push failed", storefront=str(storefront.id), error=str(error))
        return False
    if ctx.sync.after_push is not None:
        ctx.sync.after_push(batch)
    calls, throttled = client.calls - calls_before, client.throttled - throttled_before
    report.calls += calls
    report.throttled += throttled
    if user_errors:
        return await _handle_user_errors(
            ctx, storefront, batch, user_errors, calls, throttled, report
        )
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        await repo.acknowledge(
            storefront.id,
            [(p.level.sku_id, p.level.location_id, p.level.generation) for p in batch],
        )
        await PushedRepository.of(uow).record_pushed(
            storefront.id,
            [(p.level.sku_id, p.level.location_id, p.quantity) for p in batch],
            utcnow(),
        )
        await repo.record_calls(storefront.id, calls=calls, throttled=throttled, synced_at=utcnow())
        await uow.commit()
    report.pushed += len(batch)
    return True


async def _handle_user_errors(
    ctx: StorefrontContext,
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
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
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
            errors=[error_entry(m) for m in messages],
        )
        await uow.commit()
    return len(rejected) > 0


async def _record_calls(
    ctx: StorefrontContext,
    storefront_id: uuid.UUID,
    calls: int,
    throttled: int,
    *,
    errors: list[str],
    synced: bool,
) -> None:
    async with ctx.uow() as uow:
        await StorefrontRepository.of(uow).record_calls(
            storefront_id,
            calls=calls,
            throttled=throttled,
            synced_at=utcnow() if synced else None,
            errors=[error_entry(e) for e in errors],
        )
        await uow.commit()


async def _record(
    ctx: StorefrontContext,
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
    await _record_calls(ctx, storefront_id, calls, throttled, errors=errors, synced=synced)


async def _release(ctx: StorefrontContext, storefront_id: uuid.UUID, owner: str) -> None:
    async with ctx.uow() as uow:
        await StorefrontRepository.of(uow).release(storefront_id, owner)
        await uow.commit()
