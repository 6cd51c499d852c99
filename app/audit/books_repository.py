"""The books as one snapshot shows them: levels, movements, holders, events, mappings."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.rules import Audited, Holder, LevelNow, Mapping, Moved, StockEvent
from app.audit.stored_repository import (
    ARCHIVE_TOTALS,
    OPEN_STATUS_VALUES,
    Checkpoint,
    LoggedChange,
    StoredFinding,
    chunks,
    keys_of_codes,
    last_checkpoint,
    level_codes,
    open_findings,
    pairs_of,
)
from app.audit.tables import AuditedLevel, AuditFinding
from app.carts.tables import Cart, CartLine
from app.events.tables import EventSequence, LoggedEvent
from app.inventory.rules import Delta, LevelKey, Quantities
from app.inventory.tables import StockLevel, StockMovement
from app.orders.tables import Allocation, Order
from app.storefronts.tables import (
    Storefront,
    StorefrontItem,
    StorefrontLocation,
    StorefrontPending,
    StorefrontPushed,
)


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
        return await last_checkpoint(self._c)

    async def all_levels(self) -> list[LevelNow]:
        return [_level(row) for row in await self._c.execute(_LEVEL_COLUMNS)]

    async def levels(self, keys: Sequence[LevelKey]) -> list[LevelNow]:
        found = []
        for chunk in chunks(keys):
            rows = await self._c.execute(
                _LEVEL_COLUMNS.where(
                    tuple_(StockLevel.location_id, StockLevel.sku_id).in_(pairs_of(chunk))
                )
            )
            found += [_level(row) for row in rows]
        return found

    async def levels_moved_after(self, since: datetime) -> set[LevelKey]:
        """Levels with movements written since (index-backed, ix_stock_movements_created_at).
        The ledger writes a level and its movements in one transaction, with one time."""
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
        for chunk in chunks(keys):
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
                ).where(tuple_(AuditedLevel.location_id, AuditedLevel.sku_id).in_(pairs_of(chunk)))
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
        for chunk in chunks(keys):
            pairs = pairs_of(chunk)
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
                    Order.status.in_(OPEN_STATUS_VALUES),
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
            codes.update(await keys_of_codes(self._c, wanted))
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

    async def levels_of_orders(self, order_ids: set[str]) -> set[LevelKey]:
        keys: set[LevelKey] = set()
        ids = sorted(uuid.UUID(i) for i in order_ids)
        for chunk in chunks(ids):
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
        for chunk in chunks(keys):
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
                    tuple_(StorefrontLocation.location_id, StorefrontItem.sku_id).in_(
                        pairs_of(chunk)
                    )
                )
            )
            for location_id, sku_id, storefront_id, buffer, generation, pushed in rows:
                found[LevelKey(location_id, sku_id)].append(
                    Mapping(str(storefront_id), buffer, generation is not None, pushed)
                )
        return found

    async def open_findings(self) -> list[StoredFinding]:
        return await open_findings(self._c)

    async def codes(self, keys: Iterable[LevelKey]) -> dict[LevelKey, tuple[str, str]]:
        return await level_codes(self._c, keys)


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
