"""Delivering the event log to webhook endpoints, per endpoint in `seq` order.

One worker at a time holds an endpoint (a lease in its row, renewed at every attempt). It
reads the wanted events after the endpoint's cursor and posts them one by one; the cursor
moves past an event only once the receiver answered 2xx, so a failing event holds back the
ones after it. A failure schedules the next attempt (exponential backoff, full jitter) until
the retry window has passed since that event first failed, then disables the endpoint. A
worker that dies mid-delivery leaves its lease to expire; the next one posts the same event
again with the same `webhook-id`, which is the only kind of duplicate a receiver sees.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from app.events.log_repository import EventView
from app.events.ports import WebhookCallFailed, WebhookPost
from app.events.webhook_config import WebhookConfig, WebhookContext
from app.events.webhook_repository import DeliveryRecord, WebhookRepository
from app.events.webhook_rules import after_failure, refusals, signature, target_of
from app.platform.maintenance import purge_in_batches
from app.platform.secrets import unseal
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.webhooks")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a worker needs of an endpoint, read when it took the lease."""

    id: uuid.UUID
    url: str
    types: list[str]
    locations: list[str] | None
    secret: str
    delivered_through: int
    attempts: int
    failing_since: datetime | None


@dataclass
class DeliveryReport:
    claimed: bool = True
    delivered: int = 0
    failed: int = 0
    error: str | None = None


async def endpoints_due(ctx: WebhookContext) -> list[uuid.UUID]:
    """Endpoints with events to deliver, no retry pending and no worker on them now."""
    async with ctx.uow(readonly=True) as uow:
        return await WebhookRepository.of(uow).due(utcnow())


async def deliver_endpoint(ctx: WebhookContext, endpoint_id: uuid.UUID) -> DeliveryReport:
    """Deliver what is due to one endpoint, in order, for up to `max_run_seconds`."""
    config = ctx.webhooks
    owner = uuid.uuid4().hex
    async with ctx.uow() as uow:
        repo = WebhookRepository.of(uow)
        if not await repo.claim(endpoint_id, owner, utcnow(), config.lease):
            return DeliveryReport(claimed=False)
        row = await repo.get(endpoint_id)
        if row is None:
            return DeliveryReport(claimed=False)
        endpoint = Endpoint(
            id=row.id,
            url=row.url,
            types=list(row.types),
            locations=list(row.locations) if row.locations is not None else None,
            secret=unseal(config.secrets, row.secret_encrypted),
            delivered_through=row.delivered_through,
            attempts=row.attempts,
            failing_since=row.failing_since,
        )
        await uow.commit()
    report = DeliveryReport()
    try:
        await _deliver_in_order(ctx, endpoint, owner, report)
    finally:
        async with ctx.uow() as uow:
            await WebhookRepository.of(uow).release(endpoint_id, owner)
            await uow.commit()
    return report


async def _deliver_in_order(
    ctx: WebhookContext, endpoint: Endpoint, owner: str, report: DeliveryReport
) -> None:
    config = ctx.webhooks
    started = time.monotonic()
    cursor = endpoint.delivered_through
    addresses: list[str] | None = None
    while time.monotonic() - started < config.max_run_seconds:
        async with ctx.uow(readonly=True) as uow:
            repo = WebhookRepository.of(uow)
            head = await repo.head()
            events = await repo.wanted_events(
                types=endpoint.types,
                locations=endpoint.locations,
                after=cursor,
                upto=head,
                limit=config.batch,
            )
        for event in events:
            if addresses is None:  # resolved and checked once per run, then pinned
                addresses, refused = await _destination(config, endpoint.url)
                if refused is not None:
                    await _attempt_refused(ctx, endpoint, owner, event, refused, report)
                    return
            if not await _attempt(ctx, endpoint, owner, event, addresses, report):
                return
            endpoint = _succeeded(endpoint, event.seq)
            cursor = event.seq
        if len(events) < config.batch:
            if head > cursor:  # nothing wanted up to the head: skip the rest
                async with ctx.uow() as uow:
                    await WebhookRepository.of(uow).advance(
                        endpoint.id, owner, head, utcnow() + config.lease
                    )
                    await uow.commit()
            return


def _succeeded(endpoint: Endpoint, seq: int) -> Endpoint:
    return Endpoint(
        id=endpoint.id,
        url=endpoint.url,
        types=endpoint.types,
        locations=endpoint.locations,
        secret=endpoint.secret,
        delivered_through=seq,
        attempts=0,
        failing_since=None,
    )


async def _destination(config: WebhookConfig, url: str) -> tuple[list[str], str | None]:
    """The addresses to connect to, or why none may be (the SSRF guard at delivery time:
    DNS may have changed since the endpoint was registered)."""
    target = target_of(url)
    try:
        addresses = await config.transport.resolve(target.host, target.port)
    except WebhookCallFailed as error:
        return [], error.message
    refused = [] if config.allow_private else refusals(addresses)
    if refused:
        return [], f"refused: {refused[0]}"
    if not addresses:
        return [], f"{target.host} resolves to no address"
    return addresses, None


def request_of(
    endpoint: Endpoint, event: EventView, addresses: list[str], timestamp: int, timeout: float
) -> WebhookPost:
    """The Standard Webhooks request for one event."""
    body = json.dumps(event.as_json(), separators=(",", ":"), ensure_ascii=False).encode()
    message_id = str(event.id)
    return WebhookPost(
        target=target_of(endpoint.url),
        addresses=tuple(addresses),
        headers={
            "content-type": "application/json",
            "user-agent": "Omnistock-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(endpoint.secret, message_id, timestamp, body),
        },
        body=body,
        timeout_seconds=timeout,
    )


async def _attempt(
    ctx: WebhookContext,
    endpoint: Endpoint,
    owner: str,
    event: EventView,
    addresses: list[str],
    report: DeliveryReport,
) -> bool:
    """Post one event and record what came of it; True when it was delivered."""
    config = ctx.webhooks
    request = request_of(endpoint, event, addresses, int(time.time()), config.timeout_seconds)
    began = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        status = await asyncio.wait_for(
            config.transport.post(request), timeout=config.timeout_seconds + 1.0
        )
    except WebhookCallFailed as failure:
        error = failure.message
    except TimeoutError:
        error = f"no answer within {config.timeout_seconds:g} s"
    record = DeliveryRecord(
        seq=event.seq,
        event_id=event.id,
        attempt=endpoint.attempts + 1,
        status_code=status,
        error=error[:500] if error else None,
        duration_ms=int((time.monotonic() - began) * 1000),
        at=utcnow(),
    )
    if status is not None and 200 <= status < 300:
        async with ctx.uow() as uow:
            held = await WebhookRepository.of(uow).delivered(
                endpoint.id, owner, record, utcnow() + config.lease
            )
            await uow.commit()
        report.delivered += int(held)
        return held
    reason = error or f"HTTP {status}"
    await _record_failure(ctx, endpoint, owner, record, reason, report)
    return False


async def _attempt_refused(
    ctx: WebhookContext,
    endpoint: Endpoint,
    owner: str,
    event: EventView,
    reason: str,
    report: DeliveryReport,
) -> None:
    record = DeliveryRecord(
        seq=event.seq,
        event_id=event.id,
        attempt=endpoint.attempts + 1,
        status_code=None,
        error=reason[:500],
        duration_ms=0,
        at=utcnow(),
    )
    await _record_failure(ctx, endpoint, owner, record, reason, report)


async def _record_failure(
    ctx: WebhookContext,
    endpoint: Endpoint,
    owner: str,
    record: DeliveryRecord,
    reason: str,
    report: DeliveryReport,
) -> None:
    config = ctx.webhooks
    plan = after_failure(
        now=record.at,
        failing_since=endpoint.failing_since,
        attempt=record.attempt,
        window=config.retry_window,
        base=config.retry_base_seconds,
        cap=config.retry_max_seconds,
        draw=config.draw,
    )
    disabled = (
        f"event {record.seq} not delivered within {config.retry_window} of its first "
        f"failure; last: {reason}"[:500]
        if plan.disable
        else None
    )
    async with ctx.uow() as uow:
        await WebhookRepository.of(uow).failed(
            endpoint.id,
            owner,
            record,
            failing_since=plan.failing_since,
            next_attempt_at=plan.next_attempt_at,
            disabled_reason=disabled,
        )
        await uow.commit()
    report.failed += 1
    report.error = reason
    if disabled:
        log.warning("webhook endpoint disabled", endpoint=str(endpoint.id), reason=disabled)


async def purge_deliveries(ctx: WebhookContext, keep_days: int) -> int:
    """Delete delivery records older than `keep_days` (the event log's retention), in
    batches; returns how many went."""
    before = utcnow() - timedelta(days=keep_days)
    return await purge_in_batches(
        ctx, lambda uow: WebhookRepository.of(uow).purge_deliveries(before)
    )
