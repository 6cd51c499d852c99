"""Webhook endpoints, their cursors and leases, and the delivery log in the database.

Every write a delivering worker makes is conditional on still holding the endpoint's lease,
so a worker that lost it (it stalled past the lease, the endpoint was replayed or deleted)
changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from app.events.log_repository import EventView
from app.events.tables import EventSequence, LoggedEvent
from app.events.webhook_tables import WebhookDelivery, WebhookEndpoint
from app.inventory.tables import Location
from app.platform.uow import Repository


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    seq: int
    event_id: uuid.UUID
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


class WebhookRepository(Repository):
    async def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)
        await self.session.flush()

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        """As the database has it now (after this repository's own UPDATEs too)."""
        return await self.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)

    async def all(self) -> list[WebhookEndpoint]:
        result = await self.session.execute(
            select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        return list(result.scalars())

    async def remove(self, endpoint_id: uuid.UUID) -> bool:
        await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        result = await self.session.execute(
            delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def known_locations(self, codes: Sequence[str]) -> set[str]:
        result = await self.session.execute(select(Location.code).where(Location.code.in_(codes)))
        return set(result.scalars())

    async def head(self) -> int:
        found = await self.session.scalar(
            select(EventSequence.last_seq).where(EventSequence.id == 1)
        )
        return int(found or 0)

    # ---- delivering ----------------------------------------------------------------------
    async def due(self, now: datetime) -> list[uuid.UUID]:
        """Enabled endpoints behind the log's head, not waiting for a retry, with no live
        worker on them."""
        head = select(EventSequence.last_seq).where(EventSequence.id == 1).scalar_subquery()
        result = await self.session.execute(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.disabled_at.is_(None),
                WebhookEndpoint.delivered_through < head,
                or_(
                    WebhookEndpoint.next_attempt_at.is_(None),
                    WebhookEndpoint.next_attempt_at <= now,
                ),
                or_(
                    WebhookEndpoint.lease_expires_at.is_(None),
                    WebhookEndpoint.lease_expires_at < now,
                ),
            )
        )
        return list(result.scalars())

    async def claim(
        self, endpoint_id: uuid.UUID, owner: str, now: datetime, lease: timedelta
    ) -> bool:
        """Take the endpoint's lease; False while another worker holds it, or when it is
        disabled or waiting for its next retry."""
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == endpoint_id,
                WebhookEndpoint.disabled_at.is_(None),
                or_(
                    WebhookEndpoint.next_attempt_at.is_(None),
                    WebhookEndpoint.next_attempt_at <= now,
                ),
                or_(
                    WebhookEndpoint.lease_expires_at.is_(None),
                    WebhookEndpoint.lease_expires_at < now,
                    WebhookEndpoint.lease_owner == owner,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def release(self, endpoint_id: uuid.UUID, owner: str) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )

    async def wanted_events(
        self,
        *,
        types: Sequence[str],
        locations: Sequence[str] | None,
        after: int,
        upto: int,
        limit: int,
    ) -> list[EventView]:
        """The events after `after` (up to `upto`) of the types and locations asked for."""
        query = (
            select(LoggedEvent)
            .where(
                LoggedEvent.seq > after,
                LoggedEvent.seq <= upto,
                LoggedEvent.type.in_(sorted(types)),
            )
            .order_by(LoggedEvent.seq)
            .limit(limit)
        )
        if locations is not None:
            query = query.where(
                or_(
                    LoggedEvent.location.in_(sorted(locations)),
                    LoggedEvent.other_location.in_(sorted(locations)),
                )
            )
        rows = (await self.session.execute(query)).scalars().all()
        return [
            EventView(seq=r.seq, id=r.id, type=r.type, occurred_at=r.occurred_at, data=r.data)
            for r in rows
        ]

    async def _held(self, endpoint_id: uuid.UUID, owner: str, **values: Any) -> bool:
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def advance(
        self, endpoint_id: uuid.UUID, owner: str, through: int, lease_until: datetime
    ) -> bool:
        """Move the cursor to `through` (nothing wanted was skipped) and renew the lease."""
        return await self._held(
            endpoint_id, owner, delivered_through=through, lease_expires_at=lease_until
        )

    async def delivered(
        self, endpoint_id: uuid.UUID, owner: str, record: DeliveryRecord, lease_until: datetime
    ) -> bool:
        """A 2xx: log it, move the cursor past the event, renew the lease."""
        held = await self._held(
            endpoint_id,
            owner,
            delivered_through=record.seq,
            attempts=0,
            failing_since=None,
            next_attempt_at=None,
            lease_expires_at=lease_until,
        )
        if held:
            await self._log(endpoint_id, record)
        return held

    async def failed(
        self,
        endpoint_id: uuid.UUID,
        owner: str,
        record: DeliveryRecord,
        *,
        failing_since: datetime,
        next_attempt_at: datetime | None,
        disabled_reason: str | None,
    ) -> bool:
        """Not delivered: log it and wait for the next attempt, or disable the endpoint.
        The lease is given back either way."""
        held = await self._held(
            endpoint_id,
            owner,
            attempts=record.attempt,
            failing_since=failing_since,
            next_attempt_at=next_attempt_at,
            disabled_at=record.at if disabled_reason else None,
            disabled_reason=disabled_reason,
            lease_owner=None,
            lease_expires_at=None,
        )
        if held:
            await self._log(endpoint_id, record)
        return held

    async def _log(self, endpoint_id: uuid.UUID, record: DeliveryRecord) -> None:
        await self.session.execute(
            insert(WebhookDelivery).values(
                endpoint_id=endpoint_id,
                seq=record.seq,
                event_id=record.event_id,
                attempt=record.attempt,
                status_code=record.status_code,
                error=record.error,
                duration_ms=record.duration_ms,
                at=record.at,
            )
        )

    async def replay(self, endpoint_id: uuid.UUID, after: int) -> None:
        """Deliver again from `after`: the cursor goes back, failures are forgotten, the
        endpoint is enabled, and a worker delivering now loses its lease (its writes then
        change nothing)."""
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(
                delivered_through=after,
                attempts=0,
                failing_since=None,
                next_attempt_at=None,
                disabled_at=None,
                disabled_reason=None,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def deliveries(self, endpoint_id: uuid.UUID, limit: int) -> list[WebhookDelivery]:
        """The newest attempts first."""
        result = await self.session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        return list(result.scalars())

    async def purge_deliveries(self, before: datetime, batch: int = 5_000) -> int:
        """Delete up to `batch` delivery records made before `before`, oldest first."""
        oldest = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.at < before)
            .order_by(WebhookDelivery.id)
            .limit(batch)
            .scalar_subquery()
        )
        result = await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.id.in_(oldest))
        )
        return int(getattr(result, "rowcount", 0) or 0)
