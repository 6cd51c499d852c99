"""The audit's reads (one snapshot of the books) and its own tables."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, or_, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.rules import Audited, Finding, Holder, LevelNow, Mapping, Moved, StockEvent
from app.audit.tables import AuditCheckpoint, AuditedLevel, AuditFinding
from app.carts.tables import Cart, CartLine
from app.events.tables import EventSequence, LoggedEvent
from app.inventory.rules import Delta, LevelKey, Quantities
from app.inventory.tables import Location, Sku, StockLevel, StockMovement
from app.orders.model import OPEN_STATUSES
from app.orders.tables import Allocation, Order
from app.platform.tables import utcnow
from app.platform.uow import Repository
from app.storefronts.tables import (
    Storefront,
    StorefrontItem,
    StorefrontLocation,
    StorefrontPending,
    StorefrontPushed,
)

CHUNK = 500
"""Keys per statement: bounded parameter lists on both databases."""

ARCHIVE_TOTALS = "movement_archive_totals"
"""Per-level sums of archived (detached) movement partitions, when the ledger is archived."""

_OPEN = sorted(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: int
    started_at: datetime
    finished_at: datetime
    snapshot_at: datetime
    event_head: int
    full: bool
    levels_examined: int
    movements_read: int
    events_read: int
    findings_open: int
    actor: str


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """The events since a mark that matter to the audit."""

    stock: dict[LevelKey, list[StockEvent]]
    order_ids: set[str]
    read: int


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int
    finding: Finding
    first_seen_at: datetime
    last_seen_at: datetime


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _pairs(keys: Sequence[LevelKey]) -> list[tuple[int, int]]:
    return [(k.location_id, k.sku_id) for k in keys]


class Books:
    """Reads of the books inside one snapshot (see `AuditRepository.snapshot`)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection
        self.is_sqlite = connection.dialect.name == "sqlite"

    async def oldest_in_flight(self) -> datetime | None:
        """When the oldest other transaction on this database began (PostgreSQL; SQLite
        has one writer at a time and the margin covers it)."""
        if self.is_sqlite:
            return None
        found = await self._c.scalar(
            text(
                "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        )
        return found if isinstance(found, datetime) else None

    async def event_head(self) -> int:
        found = await self._c.scalar(select(EventSequence.last_seq).where(EventSequence.id == 1))
        return int(found or 0)

    async def last_checkpoint(self) -> Checkpoint | None:
        return await _last_checkpoint(self._c)

    async def levels_changed_after(self, since: datetime) -> list[LevelNow]:
        """Index-backed (ix_stock_levels_updated_at)."""
        rows = await self._c.execute(_LEVEL_COLUMNS.where(StockLevel.updated_at >= since))
        return [_level(row) for row in rows]

    async def all_levels(self) -> list[LevelNow]:
        return [_level(row) for row in await self._c.execute(_LEVEL_COLUMNS)]

    async def levels(self, keys: Sequence[LevelKey]) -> list[LevelNow]:
        found = []
        for chunk in _chunks(keys):
            rows = await self._c.execute(
                _LEVEL_COLUMNS.where(
                    tuple_(StockLevel.location_id, StockLevel.sku_id).in_(_pairs(chunk))
                )
            )
            found += [_level(row) for row in rows]
        return found

    async def levels_moved_after(self, since: datetime) -> set[LevelKey]:
        """Levels with movements written since (index-backed, ix_stock_movements_created_at):
        a movement written without its level is still looked at."""
        rows = await self._c.execute(
            select(StockMovement.location_id, StockMovement.sku_id)
            .where(StockMovement.created_at >= since)
            .distinct()
        )
        return {LevelKey(*row) for row in rows}

    async def levels_with_open_findings(self) -> set[LevelKey]:
        rows = await self._c.execute(
            select(AuditFinding.location_id, AuditFinding.sku_id)
            .where(AuditFinding.resolved_at.is_(None))
            .distinct()
        )
        return {LevelKey(*row) for row in rows}

    async def audited(self, keys: Sequence[LevelKey]) -> dict[LevelKey, Audited]:
        found: dict[LevelKey, Audited] = {}
        for chunk in _chunks(keys):
            rows = await self._c.execute(
                select(
                    AuditedLevel.location_id,
                    AuditedLevel.sku_id,
                    AuditedLevel.on_hand,
                    AuditedLevel.reserved,
                    AuditedLevel.safety_stock,
                    AuditedLevel.incoming,
                    AuditedLevel.version,
                    AuditedLevel.last_movement_id,
                ).where(tuple_(AuditedLevel.location_id, AuditedLevel.sku_id).in_(_pairs(chunk)))
            )
            for row in rows:
                found[LevelKey(row[0], row[1])] = Audited(Quantities(*row[2:6]), row[6], row[7])
        return found

    async def moved_since(
        self, audited: dict[LevelKey, Audited], keys: Sequence[LevelKey]
    ) -> dict[LevelKey, Moved]:
        """Each level's movements after its audited point, through the per-level index
        (sku_id, location_id, id)."""
        moved: dict[LevelKey, Moved] = {}
        for key in keys:
            after = audited[key].last_movement_id if key in audited else 0
            rows = (
                await self._c.execute(
                    select(
                        StockMovement.id,
                        StockMovement.on_hand_delta,
                        StockMovement.reserved_delta,
                        StockMovement.safety_stock_delta,
                        StockMovement.incoming_delta,
                    )
                    .where(
                        StockMovement.sku_id == key.sku_id,
                        StockMovement.location_id == key.location_id,
                        StockMovement.id > after,
                    )
                    .order_by(StockMovement.id)
                )
            ).all()
            if rows:
                moved[key] = Moved(
                    delta=Delta(
                        sum(r[1] for r in rows),
                        sum(r[2] for r in rows),
                        sum(r[3] for r in rows),
                        sum(r[4] for r in rows),
                    ),
                    count=len(rows),
                    ids=tuple(r[0] for r in rows),
                    last_id=rows[-1][0],
                )
        return moved

    async def all_moved(self) -> dict[LevelKey, Moved]:
        """The whole ledger per level, archived partitions' totals included (`--full`)."""
        rows = await self._c.execute(
            select(
                StockMovement.location_id,
                StockMovement.sku_id,
                func.sum(StockMovement.on_hand_delta),
                func.sum(StockMovement.reserved_delta),
                func.sum(StockMovement.safety_stock_delta),
                func.sum(StockMovement.incoming_delta),
                func.count(),
                func.max(StockMovement.id),
            ).group_by(StockMovement.location_id, StockMovement.sku_id)
        )
        moved = {
            LevelKey(row[0], row[1]): Moved(
                Delta(int(row[2]), int(row[3]), int(row[4]), int(row[5])),
                count=int(row[6]),
                last_id=int(row[7]),
            )
            for row in rows
        }
        for key, archived in (await self._archived_totals()).items():
            now = moved.get(key, Moved())
            moved[key] = Moved(
                Delta(
                    now.delta.on_hand + archived.on_hand,
                    now.delta.reserved + archived.reserved,
                    now.delta.safety_stock + archived.safety_stock,
                    now.delta.incoming + archived.incoming,
                ),
                count=now.count,
                last_id=now.last_id,
            )
        return moved

    async def _has_table(self, name: str) -> bool:
        return bool(await self._c.run_sync(lambda sync: inspect(sync).has_table(name)))

    async def _archived_totals(self) -> dict[LevelKey, Delta]:
        if not await self._has_table(ARCHIVE_TOTALS):
            return {}
        rows = await self._c.execute(
            text(
                "SELECT location_id, sku_id, sum(on_hand_delta), sum(reserved_delta),"
                " sum(safety_stock_delta), sum(incoming_delta) FROM movement_archive_totals"
                " GROUP BY location_id, sku_id"
            )
        )
        return {
            LevelKey(row[0], row[1]): Delta(int(row[2]), int(row[3]), int(row[4]), int(row[5]))
            for row in rows
        }

    async def archived_since(self, since: datetime) -> bool:
        """Whether movements were archived through a time after `since`: the incremental
        fold would then miss movements it has not audited yet, so the run must be full."""
        if not await self._has_table(ARCHIVE_TOTALS):
            return False
        latest = await self._c.scalar(
            text("SELECT max(archived_through) FROM movement_archive_totals")
        )
        if latest is None:
            return False
        if isinstance(latest, str):
            latest = datetime.fromisoformat(latest)
        if latest.tzinfo is None:
            latest = latest.replace(tzinfo=since.tzinfo)
        return bool(latest > since)

    async def holders(self, keys: Sequence[LevelKey]) -> dict[LevelKey, list[Holder]]:
        """Open orders' allocations and live cart holds at each level."""
        found: dict[LevelKey, list[Holder]] = defaultdict(list)
        for chunk in _chunks(keys):
            pairs = _pairs(chunk)
            orders = await self._c.execute(
                select(
                    Allocation.location_id,
                    Allocation.sku_id,
                    Allocation.order_id,
                    Allocation.quantity,
                )
                .join(Order, Order.id == Allocation.order_id)
                .where(
                    tuple_(Allocation.location_id, Allocation.sku_id).in_(pairs),
                    Order.status.in_(_OPEN),
                )
            )
            for location_id, sku_id, order_id, quantity in orders:
                found[LevelKey(location_id, sku_id)].append(
                    Holder("order", str(order_id), quantity)
                )
            carts = await self._c.execute(
                select(Cart.hold_location_id, CartLine.sku_id, Cart.id, CartLine.held)
                .join(Cart, Cart.id == CartLine.cart_id)
                .where(
                    CartLine.sku_id.in_(sorted({k.sku_id for k in chunk})),
                    CartLine.held > 0,
                    tuple_(Cart.hold_location_id, CartLine.sku_id).in_(pairs),
                )
            )
            for hold_location_id, line_sku_id, cart_id, held in carts:
                if hold_location_id is not None:
                    found[LevelKey(hold_location_id, line_sku_id)].append(
                        Holder("cart", str(cart_id), held)
                    )
        return found

    async def events_after(self, after: int, upto: int) -> LoggedChange:
        """The stock.changed events and the orders with order events in (after, upto]: seq
        is given at commit, so nothing committed later has a number in that range."""
        stock: dict[LevelKey, list[StockEvent]] = defaultdict(list)
        orders: set[str] = set()
        read = 0
        codes: dict[tuple[str, str], LevelKey | None] = {}
        start = after
        while start < upto:
            rows = (
                await self._c.execute(
                    select(
                        LoggedEvent.seq,
                        LoggedEvent.type,
                        LoggedEvent.location,
                        LoggedEvent.sku,
                        LoggedEvent.data,
                    )
                    .where(
                        LoggedEvent.seq > start,
                        LoggedEvent.seq <= upto,
                        or_(LoggedEvent.type == "stock.changed", LoggedEvent.type.like("order.%")),
                    )
                    .order_by(LoggedEvent.seq)
                    .limit(10_000)
                )
            ).all()
            if not rows:
                break
            start = rows[-1][0]
            read += len(rows)
            wanted = {(r[2], r[3]) for r in rows if r[1] == "stock.changed"} - codes.keys()
            codes.update(await self._keys_of_codes(wanted))
            for seq, kind, location, sku, raw in rows:
                data = json.loads(raw) if isinstance(raw, str) else raw
                if kind == "stock.changed":
                    key = codes.get((location, sku))
                    if key is not None:
                        stock[key].append(
                            StockEvent(
                                seq,
                                int(data.get("version", -1)),
                                int(data.get("on_hand", 0)),
                                int(data.get("reserved", 0)),
                                int(data.get("safety_stock", 0)),
                            )
                        )
                elif data.get("order_id"):
                    orders.add(str(data["order_id"]))
        return LoggedChange(dict(stock), orders, read)

    async def _keys_of_codes(
        self, pairs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], LevelKey | None]:
        if not pairs:
            return {}
        locations = dict(
            (
                await self._c.execute(
                    select(Location.code, Location.id).where(
                        Location.code.in_(sorted({p[0] for p in pairs}))
                    )
                )
            ).all()
        )
        skus = dict(
            (
                await self._c.execute(
                    select(Sku.sku, Sku.id).where(Sku.sku.in_(sorted({p[1] for p in pairs})))
                )
            ).all()
        )
        return {
            (location, sku): LevelKey(locations[location], skus[sku])
            if location in locations and sku in skus
            else None
            for location, sku in pairs
        }

    async def levels_of_orders(self, order_ids: set[str]) -> set[LevelKey]:
        keys: set[LevelKey] = set()
        ids = sorted(uuid.UUID(i) for i in order_ids)
        for chunk in _chunks(ids):
            rows = await self._c.execute(
                select(Allocation.location_id, Allocation.sku_id).where(
                    Allocation.order_id.in_(chunk)
                )
            )
            keys |= {LevelKey(*row) for row in rows}
        return keys

    async def mappings(self, keys: Sequence[LevelKey]) -> dict[LevelKey, list[Mapping]]:
        """Each storefront that maps a level (its SKU mapped, its location linked), with
        whether it is pending and what it was last pushed."""
        found: dict[LevelKey, list[Mapping]] = defaultdict(list)
        for chunk in _chunks(keys):
            rows = await self._c.execute(
                select(
                    StorefrontLocation.location_id,
                    StorefrontItem.sku_id,
                    Storefront.id,
                    Storefront.buffer,
                    StorefrontPending.generation,
                    StorefrontPushed.quantity,
                )
                .select_from(StorefrontItem)
                .join(
                    StorefrontLocation,
                    StorefrontLocation.storefront_id == StorefrontItem.storefront_id,
                )
                .join(Storefront, Storefront.id == StorefrontItem.storefront_id)
                .outerjoin(
                    StorefrontPending,
                    (StorefrontPending.storefront_id == StorefrontItem.storefront_id)
                    & (StorefrontPending.sku_id == StorefrontItem.sku_id)
                    & (StorefrontPending.location_id == StorefrontLocation.location_id),
                )
                .outerjoin(
                    StorefrontPushed,
                    (StorefrontPushed.storefront_id == StorefrontItem.storefront_id)
                    & (StorefrontPushed.sku_id == StorefrontItem.sku_id)
                    & (StorefrontPushed.location_id == StorefrontLocation.location_id),
                )
                .where(
                    tuple_(StorefrontLocation.location_id, StorefrontItem.sku_id).in_(_pairs(chunk))
                )
            )
            for location_id, sku_id, storefront_id, buffer, generation, pushed in rows:
                found[LevelKey(location_id, sku_id)].append(
                    Mapping(str(storefront_id), buffer, generation is not None, pushed)
                )
        return found

    async def open_findings(self) -> list[StoredFinding]:
        return await _open_findings(self._c)

    async def codes(self, keys: Iterable[LevelKey]) -> dict[LevelKey, tuple[str, str]]:
        return await _codes(self._c, keys)


_LEVEL_COLUMNS = select(
    StockLevel.location_id,
    StockLevel.sku_id,
    StockLevel.on_hand,
    StockLevel.reserved,
    StockLevel.safety_stock,
    StockLevel.incoming,
    StockLevel.version,
    StockLevel.updated_at,
)


def _level(row: Any) -> LevelNow:
    return LevelNow(LevelKey(row[0], row[1]), Quantities(*row[2:6]), row[6], row[7])


async def _last_checkpoint(connection: AsyncConnection) -> Checkpoint | None:
    columns = [getattr(AuditCheckpoint, name) for name in Checkpoint.__slots__]
    row = (
        await connection.execute(select(*columns).order_by(AuditCheckpoint.id.desc()).limit(1))
    ).first()
    return None if row is None else Checkpoint(*row)


async def _open_findings(connection: AsyncConnection) -> list[StoredFinding]:
    rows = await connection.execute(
        select(
            AuditFinding.id,
            AuditFinding.kind,
            AuditFinding.location_id,
            AuditFinding.sku_id,
            AuditFinding.storefront_id,
            AuditFinding.summary,
            AuditFinding.expected,
            AuditFinding.found,
            AuditFinding.rows,
            AuditFinding.first_seen_at,
            AuditFinding.last_seen_at,
        )
        .where(AuditFinding.resolved_at.is_(None))
        .order_by(AuditFinding.id)
    )
    return [
        StoredFinding(
            id=row[0],
            finding=Finding(
                kind=row[1],
                key=LevelKey(row[2], row[3]),
                summary=row[5],
                expected=row[6],
                found=row[7],
                rows=row[8],
                storefront_id=row[4],
            ),
            first_seen_at=row[9],
            last_seen_at=row[10],
        )
        for row in rows
    ]


async def _codes(
    connection: AsyncConnection, keys: Iterable[LevelKey]
) -> dict[LevelKey, tuple[str, str]]:
    keys = sorted(set(keys))
    locations: dict[int, str] = {}
    skus: dict[int, str] = {}
    for chunk in _chunks(keys):
        locations.update(
            (
                await connection.execute(
                    select(Location.id, Location.code).where(
                        Location.id.in_({k.location_id for k in chunk})
                    )
                )
            ).all()
        )
        skus.update(
            (
                await connection.execute(
                    select(Sku.id, Sku.sku).where(Sku.id.in_({k.sku_id for k in chunk}))
                )
            ).all()
        )
    return {
        k: (locations.get(k.location_id, str(k.location_id)), skus.get(k.sku_id, str(k.sku_id)))
        for k in keys
    }


class AuditRepository(Repository):
    async def codes(self, keys: Iterable[LevelKey]) -> dict[LevelKey, tuple[str, str]]:
        """(location code, SKU) of each level, for people to read."""
        return await _codes(await self.session.connection(), keys)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Books]:
        """One consistent view of every table for the whole run: REPEATABLE READ on
        PostgreSQL, a read transaction (one WAL snapshot) on SQLite. Nothing is written."""
        options: dict[str, Any] = (
            {"omnistock_readonly": True}
            if self._uow.is_sqlite
            else {"isolation_level": "REPEATABLE READ"}
        )
        async with self._uow.side_sessions() as session:
            connection = await session.connection(execution_options=options)
            try:
                yield Books(connection)
            finally:
                await session.rollback()

    async def last_checkpoint(self) -> Checkpoint | None:
        return await _last_checkpoint(await self.session.connection())

    async def lock_last_checkpoint(self) -> int | None:
        """The newest checkpoint's id, its row locked: two runs cannot both advance it."""
        query = select(AuditCheckpoint.id).order_by(AuditCheckpoint.id.desc()).limit(1)
        if not self._uow.is_sqlite:
            query = query.with_for_update()
        found = await self.session.scalar(query)
        return int(found) if found is not None else None

    async def open_findings(self) -> list[StoredFinding]:
        return await _open_findings(await self.session.connection())

    async def save_audited(self, audited: dict[LevelKey, Audited], at: datetime) -> None:
        if not audited:
            return
        rows = [
            {
                "location_id": key.location_id,
                "sku_id": key.sku_id,
                "on_hand": a.balance.on_hand,
                "reserved": a.balance.reserved,
                "safety_stock": a.balance.safety_stock,
                "incoming": a.balance.incoming,
                "version": a.version,
                "last_movement_id": a.last_movement_id,
                "audited_at": at,
            }
            for key, a in sorted(audited.items())
        ]
        insert = sqlite.insert if self._uow.is_sqlite else postgresql.insert
        for chunk in _chunks(rows):
            stmt: Any = insert(AuditedLevel).values(list(chunk))
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["location_id", "sku_id"],
                    set_={
                        name: stmt.excluded[name]
                        for name in (
                            "on_hand",
                            "reserved",
                            "safety_stock",
                            "incoming",
                            "version",
                            "last_movement_id",
                            "audited_at",
                        )
                    },
                )
            )

    async def record_findings(
        self,
        examined: set[LevelKey],
        findings: list[Finding],
        checkpoint_id: int,
        at: datetime,
        *,
        everything: bool,
    ) -> None:
        """Open the new findings, refresh those still there, and resolve the open ones of
        examined levels (every level, when `everything`) that this run did not find again."""
        still = {f.identity: f for f in findings}
        for stored in await self.open_findings():
            identity = stored.finding.identity
            if identity in still:
                finding = still.pop(identity)
                await self.session.execute(
                    update(AuditFinding)
                    .where(AuditFinding.id == stored.id)
                    .values(
                        summary=finding.summary,
                        expected=finding.expected,
                        found=finding.found,
                        rows=finding.rows,
                        last_seen_at=at,
                    )
                )
            elif everything or stored.finding.key in examined:
                await self.session.execute(
                    update(AuditFinding).where(AuditFinding.id == stored.id).values(resolved_at=at)
                )
        for finding in still.values():
            self.session.add(
                AuditFinding(
                    kind=finding.kind,
                    location_id=finding.key.location_id,
                    sku_id=finding.key.sku_id,
                    storefront_id=finding.storefront_id,
                    summary=finding.summary[:500],
                    expected=finding.expected,
                    found=finding.found,
                    rows=finding.rows,
                    first_seen_at=at,
                    last_seen_at=at,
                    first_checkpoint_id=checkpoint_id,
                )
            )
        await self.session.flush()

    async def add_checkpoint(self, checkpoint: Checkpoint) -> int:
        row = AuditCheckpoint(
            started_at=checkpoint.started_at,
            finished_at=checkpoint.finished_at,
            snapshot_at=checkpoint.snapshot_at,
            event_head=checkpoint.event_head,
            full=checkpoint.full,
            levels_examined=checkpoint.levels_examined,
            movements_read=checkpoint.movements_read,
            events_read=checkpoint.events_read,
            findings_open=checkpoint.findings_open,
            actor=checkpoint.actor,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def set_findings_open(self, checkpoint_id: int) -> int:
        count = int(
            await self.session.scalar(
                select(func.count())
                .select_from(AuditFinding)
                .where(AuditFinding.resolved_at.is_(None))
            )
            or 0
        )
        await self.session.execute(
            update(AuditCheckpoint)
            .where(AuditCheckpoint.id == checkpoint_id)
            .values(findings_open=count, finished_at=utcnow())
        )
        return count
