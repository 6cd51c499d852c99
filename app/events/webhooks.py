"""Webhook endpoints: an admin registers a URL for the events it wants, reads how delivery
goes, replays from a mark, and removes it. Delivering is `webhook_delivery.py`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from app.events.model import EVENT_TYPES
from app.events.ports import WebhookCallFailed
from app.events.webhook_config import WebhookConfig, WebhookContext
from app.events.webhook_repository import WebhookRepository
from app.events.webhook_rules import new_secret, refusals, target_of
from app.events.webhook_tables import WebhookDelivery, WebhookEndpoint
from app.platform.access import Permission, Principal
from app.platform.errors import BusinessRuleViolation, NotFound
from app.platform.secrets import seal


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    url: str
    types: list[str]
    locations: list[str] | None = None


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: uuid.UUID
    url: str
    types: list[str]
    locations: list[str] | None
    enabled: bool
    delivered_through: int
    attempts: int
    failing_since: datetime | None
    next_attempt_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: EndpointView
    secret: str
    """Shown once, at creation: it signs every delivery."""


@dataclass(frozen=True, slots=True)
class DeliveryView:
    seq: int
    webhook_id: uuid.UUID
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


def endpoint_view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        id=row.id,
        url=row.url,
        types=list(row.types),
        locations=list(row.locations) if row.locations is not None else None,
        enabled=row.disabled_at is None,
        delivered_through=row.delivered_through,
        attempts=row.attempts,
        failing_since=row.failing_since,
        next_attempt_at=row.next_attempt_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
    )


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        seq=row.seq,
        webhook_id=row.event_id,
        attempt=row.attempt,
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
        at=row.at,
    )


async def check_destination(config: WebhookConfig, url: str) -> list[str]:
    """The addresses `url`'s host resolves to, once each is allowed (SSRF guard); raises
    `BusinessRuleViolation` saying why not."""
    try:
        target = target_of(url)
    except ValueError as error:
        raise BusinessRuleViolation(str(error), {"url": url}) from None
    try:
        addresses = await config.transport.resolve(target.host, target.port)
    except WebhookCallFailed as error:
        raise BusinessRuleViolation(error.message, {"url": url}) from None
    refused = [] if config.allow_private else refusals(addresses)
    if refused:
        raise BusinessRuleViolation(
            f"webhooks may not go to private, loopback or reserved addresses: {refused[0]}",
            {"url": url, "host": target.host},
        )
    return addresses


async def create_endpoint(
    ctx: WebhookContext, principal: Principal, new: NewEndpoint
) -> CreatedEndpoint:
    principal.require(Permission.MANAGE_CATALOGUE)
    unknown = sorted(set(new.types) - EVENT_TYPES)
    if unknown or not new.types:
        raise BusinessRuleViolation(
            f"unknown event types: {', '.join(unknown) or '(none given)'}",
            {"known": sorted(EVENT_TYPES)},
        )
    await check_destination(ctx.webhooks, new.url)  # outside the transaction: DNS
    secret = new_secret(secrets.token_bytes(32))
    async with ctx.uow() as uow:
        repo = WebhookRepository.of(uow)
        if new.locations is not None:
            missing = sorted(set(new.locations) - await repo.known_locations(new.locations))
            if missing:
                raise BusinessRuleViolation(
                    f"unknown locations: {', '.join(missing)}", {"locations": missing}
                )
        row = WebhookEndpoint(
            id=uuid.uuid4(),
            url=new.url,
            types=sorted(set(new.types)),
            locations=sorted(set(new.locations)) if new.locations is not None else None,
            secret_encrypted=seal(ctx.webhooks.secrets, secret),
            delivered_through=await repo.head(),
            attempts=0,
        )
        await repo.add(row)
        view = endpoint_view(row)
        await uow.commit()
    return CreatedEndpoint(view, secret)


async def list_endpoints(ctx: WebhookContext, principal: Principal) -> list[EndpointView]:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow(readonly=True) as uow:
        return [endpoint_view(row) for row in await WebhookRepository.of(uow).all()]


async def get_endpoint(
    ctx: WebhookContext, principal: Principal, endpoint_id: uuid.UUID
) -> EndpointView:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow(readonly=True) as uow:
        return endpoint_view(await _endpoint(WebhookRepository.of(uow), endpoint_id))


async def delete_endpoint(
    ctx: WebhookContext, principal: Principal, endpoint_id: uuid.UUID
) -> EndpointView:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        repo = WebhookRepository.of(uow)
        view = endpoint_view(await _endpoint(repo, endpoint_id))
        await repo.remove(endpoint_id)
        await uow.commit()
    return view


async def list_deliveries(
    ctx: WebhookContext, principal: Principal, endpoint_id: uuid.UUID, limit: int
) -> list[DeliveryView]:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow(readonly=True) as uow:
        repo = WebhookRepository.of(uow)
        await _endpoint(repo, endpoint_id)
        return [delivery_view(row) for row in await repo.deliveries(endpoint_id, limit)]


async def replay_endpoint(
    ctx: WebhookContext, principal: Principal, endpoint_id: uuid.UUID, after: int
) -> EndpointView:
    """Deliver every wanted event after `after` again, in order, each with its
    `webhook-id` (the event's id, as the first time); a disabled endpoint is enabled again."""
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        repo = WebhookRepository.of(uow)
        await _endpoint(repo, endpoint_id)
        head = await repo.head()
        if after > head:
            raise BusinessRuleViolation(
                f"after={after} is beyond the last event ({head})", {"head": head}
            )
        await repo.replay(endpoint_id, after)
        view = endpoint_view(await _endpoint(repo, endpoint_id))
        await uow.commit()
    return view


async def _endpoint(repo: WebhookRepository, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    row = await repo.get(endpoint_id)
    if row is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return row
