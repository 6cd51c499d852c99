"""Count sessions: staff count a store's shelves, a manager approves the variances.

A counted figure is the shelf at a point in the ledger (the SKU's latest movement when it was
entered, taken under the level's lock); movements after that point move the expectation and
the count alike, so a sale during the count makes no false variance. The v1 one-shot count is
`movements.record_counts`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.inventory.changes import Change
from app.inventory.counts_repository import CountRepository
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import CountFigures, LevelKey
from app.inventory.tables import CountLine, CountSession
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation, Forbidden, InvalidTransition
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

OPEN, APPROVED, CANCELLED = "open", "approved", "cancelled"


@dataclass(frozen=True, slots=True)
class CountLineView:
    sku: str
    figures: CountFigures
    as_of: int
    counted_by: str | None
    counted_at: datetime | None


@dataclass(frozen=True, slots=True)
class CountView:
    id: uuid.UUID
    location: str
    status: str
    as_of: int
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    lines: list[CountLineView]


def _no_twice(codes: list[str]) -> None:
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the count")


def _require_open(session: CountSession) -> None:
    if session.status != OPEN:
        raise InvalidTransition(f"the count is {session.status}", {"status": session.status})


async def open_count(
    ctx: Context, principal: Principal, *, location: str, skus: list[str] | None = None
) -> CountView:
    """Start counting at `location`: the listed SKUs (lines may be added as they are counted)."""
    principal.require(Permission.MOVE_STOCK, at_location=location)
    codes = skus or []
    _no_twice(codes)
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        refs = await CatalogueRepository.of(uow).skus_by_code(codes)
        counts = CountRepository.of(uow)
        session = CountSession(
            id=uuid.uuid4(),
            location_id=loc.id,
            status=OPEN,
            as_of=await counts.last_movement_id(loc.id),
            created_by=principal.actor,
            created_at=utcnow(),
        )
        lines = [
            CountLine(session_id=session.id, sku_id=refs[code].id, as_of=session.as_of)
            for code in codes
        ]
        await counts.add_session(session, lines)
        view = await _view(uow, session, location)
        await uow.commit()
    return view


async def record_counted(
    ctx: Context, principal: Principal, count_id: uuid.UUID, lines: list[tuple[str, int]]
) -> CountView:
    """Enter (or correct) counted figures; several people may fill one count in."""
    _no_twice([code for code, _ in lines])
    async with ctx.uow() as uow:
        counts = CountRepository.of(uow)
        session = await counts.count_session(count_id, for_update=True)
        location = (await counts.location_codes([session.location_id]))[session.location_id]
        principal.require(Permission.MOVE_STOCK, at_location=location)
        _require_open(session)
        refs = await CatalogueRepository.of(uow).skus_by_code([code for code, _ in lines])
        keys = [LevelKey(session.location_id, refs[code].id) for code, _ in lines]
        # Under the levels' locks no movement of them is in flight: the positions are exact.
        await Ledger.of(uow).lock(keys, actor=principal.actor, channel=principal.channel.value)
        positions = await counts.last_movement_ids(session.location_id, [k.sku_id for k in keys])
        existing = {line.sku_id: line for line in await counts.lines(count_id)}
        now, added = utcnow(), []
        for code, counted in lines:
            sku_id = refs[code].id
            line = existing.get(sku_id)
            if line is None:
                line = CountLine(session_id=count_id, sku_id=sku_id)
                added.append(line)
            line.counted, line.as_of = counted, positions[sku_id]
            line.counted_by, line.counted_at = principal.actor, now
        await counts.add_lines(added)
        view = await _view(uow, session, location)
        await uow.commit()
    return view


async def approve_count(ctx: Context, principal: Principal, count_id: uuid.UUID) -> CountView:
    """A manager of the store (or an admin) accepts the count: a `count` movement for every
    counted line with a variance, referenced `count:<id>`."""
    async with ctx.uow() as uow:
        counts = CountRepository.of(uow)
        session = await counts.count_session(count_id, for_update=True)
        location = (await counts.location_codes([session.location_id]))[session.location_id]
        principal.require(Permission.MANAGE_STORE, at_location=location)
        _require_open(session)
        counted = [line for line in await counts.lines(count_id) if line.counted is not None]
        if not counted:
            raise BusinessRuleViolation("nothing has been counted yet")
        codes = await counts.sku_codes([line.sku_id for line in counted])
        keys = {line.sku_id: LevelKey(session.location_id, line.sku_id) for line in counted}
        current = await Ledger.of(uow).lock(
            keys.values(), actor=principal.actor, channel=principal.channel.value
        )
        moved = await counts.moved_since(count_id, session.location_id)
        changes = []
        for line in counted:
            level = current[keys[line.sku_id]]
            figures = CountFigures(level.on_hand, moved.get(line.sku_id, 0), line.counted)
            line.expected, line.moved_since = figures.expected, figures.moved_since
            if figures.variance:
                changes.append(
                    Change.count(
                        keys[line.sku_id],
                        figures.counted_now(codes[line.sku_id]),
                        level,
                        principal,
                        sku=codes[line.sku_id],
                        location=location,
                        reference=f"count:{count_id}",
                    )
                )
        await Ledger.of(uow).apply(changes)
        session.status, session.closed_by, session.closed_at = APPROVED, principal.actor, utcnow()
        view = await _view(uow, session, location)
        await uow.commit()
    return view


async def cancel_count(ctx: Context, principal: Principal, count_id: uuid.UUID) -> CountView:
    """Abandon an open count; nothing is written to the ledger."""
    async with ctx.uow() as uow:
        counts = CountRepository.of(uow)
        session = await counts.count_session(count_id, for_update=True)
        location = (await counts.location_codes([session.location_id]))[session.location_id]
        principal.require(Permission.MOVE_STOCK, at_location=location)
        _require_open(session)
        session.status, session.closed_by, session.closed_at = CANCELLED, principal.actor, utcnow()
        view = await _view(uow, session, location)
        await uow.commit()
    return view


async def get_count(ctx: Context, principal: Principal, count_id: uuid.UUID) -> CountView:
    async with ctx.uow(readonly=True, replica=True) as uow:
        counts = CountRepository.of(uow)
        session = await counts.count_session(count_id)
        location = (await counts.location_codes([session.location_id]))[session.location_id]
        principal.require(Permission.READ_LEDGER, at_location=location)
        return await _view(uow, session, location)


async def list_counts(
    ctx: Context,
    principal: Principal,
    *,
    location: str | None,
    status: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[CountView]:
    """Oldest first, without their lines; a till or a person sees their own stores' only."""
    principal.require_role(Permission.READ_LEDGER)
    if location is not None and not principal.acts_at(location):
        raise Forbidden(
            f"you see counts of {', '.join(sorted(principal.store_codes))} only",
            {"stores": sorted(principal.store_codes), "requested_location": location},
        )
    codes = {location} if location else principal.store_codes if principal.is_store_bound else None
    async with ctx.uow(readonly=True, replica=True) as uow:
        counts = CountRepository.of(uow)
        location_ids = None if codes is None else await counts.location_ids(codes)
        if location is not None and not location_ids:
            await CatalogueRepository.of(uow).location(location)  # 404 naming it
        found = await counts.list_sessions(
            location_ids=location_ids, status=status, after=after, limit=limit
        )
        names = await counts.location_codes({s.location_id for s in found})
        return [_session_view(s, names[s.location_id], []) for s in found]


def _session_view(session: CountSession, location: str, lines: list[CountLineView]) -> CountView:
    return CountView(
        session.id,
        location,
        session.status,
        session.as_of,
        session.created_by,
        session.created_at,
        session.closed_by,
        session.closed_at,
        lines,
    )


async def _view(uow: UnitOfWork, session: CountSession, location: str) -> CountView:
    """The lines against the ledger now; an approved count shows what it approved."""
    counts = CountRepository.of(uow)
    lines = await counts.lines(session.id)
    sku_ids = [line.sku_id for line in lines]
    codes = await counts.sku_codes(sku_ids)
    on_hand = await counts.on_hand(session.location_id, sku_ids) if lines else {}
    moved = await counts.moved_since(session.id, session.location_id) if lines else {}
    views = []
    for line in lines:
        if line.expected is not None and line.moved_since is not None:
            figures = CountFigures(line.expected, line.moved_since, line.counted)
        else:
            figures = CountFigures(on_hand[line.sku_id], moved.get(line.sku_id, 0), line.counted)
        views.append(
            CountLineView(codes[line.sku_id], figures, line.as_of, line.counted_by, line.counted_at)
        )
    views.sort(key=lambda v: v.sku)
    return _session_view(session, location, views)
