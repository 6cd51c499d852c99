"""The ledger: the only writer of stock levels and movements."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, tuple_, update

from app.inventory.changes import Change
from app.inventory.ledger_sql import RESERVE_ON_POSTGRESQL, create_levels
from app.inventory.rules import (
    Guard,
    LevelKey,
    Quantities,
    check_guard,
    refuse_if_short,
)
from app.inventory.stock_events import level_events
from app.inventory.tables import StockLevel, StockMovement
from app.platform import metrics
from app.platform.errors import InsufficientStock
from app.platform.prepared import Prepared, pair_arrays, pairs_in, unnest_array
from app.platform.tables import table_of, utcnow
from app.platform.uow import Repository, UnitOfWork

_KNOWN_LEVELS: set[LevelKey] = set()
"""Levels this process has seen exist. Levels are never deleted, so a hit saves a query."""

_KNOWN_LEVELS_LIMIT = 1_000_000

_LEVELS = table_of(StockLevel)

_UPDATE_LEVEL = Prepared(
    update(_LEVELS)
    .where(_LEVELS.c.location_id == bindparam("k_location"), _LEVELS.c.sku_id == bindparam("k_sku"))
    .values(
        on_hand=bindparam("v_on_hand"),
        reserved=bindparam("v_reserved"),
        safety_stock=bindparam("v_safety_stock"),
        incoming=bindparam("v_incoming"),
        version=_LEVELS.c.version + 1,
        updated_at=bindparam("v_updated_at"),
    )
)
"""One prepared UPDATE for every level change (executemany when a change touches several)."""


def _levels_by_key(*, lock: bool) -> Prepared:
    """The levels of a list of (location, SKU) `pairs`; locked in that order with `lock`."""
    portable, on_postgresql = (
        select(
            _LEVELS.c.location_id,
            _LEVELS.c.sku_id,
            _LEVELS.c.on_hand,
            _LEVELS.c.reserved,
            _LEVELS.c.safety_stock,
            _LEVELS.c.incoming,
            _LEVELS.c.version,
        ).where(condition)
        for condition in pairs_in(_LEVELS.c.location_id, _LEVELS.c.sku_id)
    )
    if lock:
        portable, on_postgresql = (
            query.order_by(_LEVELS.c.location_id, _LEVELS.c.sku_id).with_for_update()
            for query in (portable, on_postgresql)
        )
    return Prepared(portable, postgresql=on_postgresql, postgresql_params=pair_arrays)


_LOCK_LEVELS = _levels_by_key(lock=True)

_READ_LEVELS = _levels_by_key(lock=False)
"""Levels as last committed (as the transaction has left them, once it wrote them)."""


_MOVEMENTS = table_of(StockMovement)

_MOVEMENT_VALUES = [column.name for column in _MOVEMENTS.columns if column.name != "id"]

_INSERT_MOVEMENTS = Prepared(
    insert(_MOVEMENTS).returning(_MOVEMENTS.c.id, sort_by_parameter_order=True),
    # PostgreSQL: one array per column; identities are drawn in row order, so the ids
    # returned, sorted, are in parameter order.
    postgresql=insert(_MOVEMENTS)
    .from_select(
        _MOVEMENT_VALUES,
        select(*(unnest_array(name, _MOVEMENTS.c[name].type) for name in _MOVEMENT_VALUES)),
    )
    .returning(_MOVEMENTS.c.id),
    postgresql_params=lambda rows: {name: [row[name] for row in rows] for name in _MOVEMENT_VALUES},
)


def forget_known_levels() -> None:
    """For tests that empty the tables between cases."""
    _KNOWN_LEVELS.clear()


@dataclass(frozen=True, slots=True)
class RecordedMovement:
    id: int
    change: Change
    level_after: Quantities
    created_at: datetime


AVAILABLE_CHANGED = "available_changed"
"""Told, in the transaction of the change, which levels' `available` moved and when: the
storefront outbox listens (see app/bootstrap.py)."""


class Ledger(Repository):
    """The only writer of stock levels and movements: lock, let the rules check, write."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        self._started = time.perf_counter()
        self._locked: dict[LevelKey, Quantities] = {}
        self._found: dict[LevelKey, Quantities] = {}
        """Each changed level as this transaction found it, for its events at the commit."""
        self._versions: dict[LevelKey, int] = {}
        """Each locked level's version as this transaction leaves it."""

    async def lock(
        self,
        keys: Iterable[LevelKey],
        *,
        actor: str = "system",
        channel: str = "system",
        create_missing: bool = True,
    ) -> dict[LevelKey, Quantities]:
        """Lock the levels for `keys` for the rest of the transaction and return them.

        A level that does not exist yet is created first, starting with its location's
        default safety stock (itself written to the ledger as a movement), so that every lock
        is then taken in (location, SKU) order; taking them in any other order lets two
        writers deadlock. Callers that only take stock away (a reservation cannot succeed
        where there is no level) pass `create_missing=False`: missing levels then come back
        empty, are not locked, and locking is a single round trip.
        """
        keys = list(keys)
        wanted = sorted(set(keys) - self._locked.keys())
        if wanted and not create_missing:
            found = await self._select_for_update(wanted)
            self._locked.update(found)
            _remember_levels(found)
            return {key: self._locked.get(key, Quantities()) for key in keys}
        if wanted:
            unknown = [key for key in wanted if key not in _KNOWN_LEVELS]
            if unknown:
                await self._ensure_levels_exist(unknown, actor=actor, channel=channel)
            found = await self._select_for_update(wanted)
            if len(found) != len(wanted):
                # Levels are never deleted, except by a test emptying the tables; recover,
                # though the late lock may then be out of order.
                _KNOWN_LEVELS.difference_update(wanted)
                await self._ensure_levels_exist(wanted, actor=actor, channel=channel)
                found = await self._select_for_update(wanted)
            self._locked.update(found)
        return {key: self._locked[key] for key in keys}

    async def peek(self, keys: Iterable[LevelKey]) -> dict[LevelKey, Quantities]:
        """The levels as last committed, without locking them (missing ones empty): enough
        to refuse a change that cannot succeed without queueing for a busy level's lock.
        Only `lock` may decide that a change can go ahead."""
        keys = list(keys)
        rows = await self.statements.rows(
            _READ_LEVELS, {"pairs": [(k.location_id, k.sku_id) for k in keys]}
        )
        found = {LevelKey(*row[:2]): Quantities(*row[2:6]) for row in rows}
        return {key: found.get(key, Quantities()) for key in keys}

    async def reserve(self, changes: list[Change]) -> None:
        """Reserve (`Change.reserve`/`Change.hold`) every change or raise `InsufficientStock`
        (then roll back: on PostgreSQL the levels that had enough were written already).
        On PostgreSQL, changes of distinct levels this transaction has not touched yet, by one
        actor for one reference, take one statement; anything else goes the generic way
        (peek, lock, check, write)."""
        if not changes:
            return
        first = changes[0]
        keys = [c.key for c in changes]
        if (
            self._uow.is_sqlite
            or len(set(keys)) != len(keys)
            or any(key in self._found or key in self._locked for key in keys)
            or any(
                c.guard is not Guard.AVAILABLE
                or c.delta.on_hand
                or c.delta.safety_stock
                or c.delta.incoming
                or c.delta.reserved <= 0
                or (c.kind, c.channel, c.actor, c.reference, c.reason)
                != (first.kind, first.channel, first.actor, first.reference, first.reason)
                for c in changes
            )
        ):
            refuse_if_short(changes, await self.peek(keys))
            refuse_if_short(changes, await self.lock(keys, create_missing=False))
            await self.apply(changes)
            return
        now = utcnow()
        rows = await self.statements.rows(
            RESERVE_ON_POSTGRESQL,
            {
                "locations": [k.location_id for k in keys],
                "skus": [k.sku_id for k in keys],
                "quantities": [c.delta.reserved for c in changes],
                "now": now,
                "kind": first.kind,
                "channel": first.channel,
                "reference": first.reference,
                "reason": first.reason,
                "actor": first.actor,
                "count": len(changes),
            },
        )
        by_key = {c.key: c for c in changes}
        if len(rows) < len(changes):
            # Say which lines were short, from the levels as they are now, less what this
            # statement has just reserved on the others (rolled back with the refusal).
            levels = await self.peek(keys)
            for location_id, sku_id, on_hand, reserved, safety_stock, incoming, _ in rows:
                key = LevelKey(location_id, sku_id)
                levels[key] = Quantities(
                    on_hand, reserved - by_key[key].delta.reserved, safety_stock, incoming
                )
            refuse_if_short(changes, levels)
            raise InsufficientStock(
                "not enough stock for this order",
                {"short": [{"sku": c.sku, "location": c.location} for c in changes]},
            )
        for location_id, sku_id, on_hand, reserved, safety_stock, incoming, version in rows:
            key = LevelKey(location_id, sku_id)
            after = Quantities(on_hand, reserved, safety_stock, incoming)
            self._found[key] = Quantities(
                on_hand, reserved - by_key[key].delta.reserved, safety_stock, incoming
            )
            self._locked[key] = after
            self._versions[key] = version
        _remember_levels(keys)
        self._uow.before_commit(self._emit_stock_events)
        self._count_at_commit(changes)
        await self._uow.notify(AVAILABLE_CHANGED, sorted(keys), now)

    def forget_locks(self) -> None:
        """After rolling back to a savepoint: its row locks are gone, so forget them too."""
        self._locked.clear()
        self._versions.clear()

    async def apply(self, changes: list[Change]) -> list[RecordedMovement]:
        """Check and write `changes` (see the verbs of `Change`) in order; raises
        `InsufficientStock` before writing any of them if one breaks its guard."""
        if not changes:
            return []
        await self.lock(
            [c.key for c in changes], actor=changes[0].actor, channel=changes[0].channel
        )
        running = dict(self._locked)
        afters: list[Quantities] = []
        for change in changes:
            check_guard(
                change.sku, change.location, running[change.key], change.delta, change.guard
            )
            running[change.key] = running[change.key].after(change.delta)
            afters.append(running[change.key])
        now = utcnow()
        touched = {c.key for c in changes}
        for key in touched:
            self._found.setdefault(key, self._locked[key])
        self._uow.before_commit(self._emit_stock_events)
        await self._update_levels(touched, running, now)
        ids = await self._insert_movements(changes, now)
        sellable = sorted(
            key for key in touched if running[key].available != self._locked[key].available
        )
        if sellable:
            await self._uow.notify(AVAILABLE_CHANGED, sellable, now)
        self._locked.update({key: running[key] for key in touched})
        for key in touched:
            self._versions[key] += 1
        self._count_at_commit(changes)
        return [
            RecordedMovement(id=i, change=c, level_after=a, created_at=now)
            for i, c, a in zip(ids, changes, afters, strict=True)
        ]

    def _count_at_commit(self, changes: list[Change]) -> None:
        """Count the movements written, once the transaction has committed."""
        kinds = [c.kind for c in changes]
        started = self._started
        self._uow.after_commit(
            lambda: metrics.record_movements(kinds, time.perf_counter() - started)
        )

    async def _emit_stock_events(self) -> None:
        """The net events of each changed level: one set per level and transaction. The
        locked levels are known as this transaction leaves them; one read covers those whose
        locks a rolled-back savepoint let go."""
        now = utcnow()
        final = {key: (self._locked[key], self._versions[key]) for key in self._versions}
        unknown = sorted(self._found.keys() - final.keys())
        if unknown:
            rows = await self.statements.rows(
                _READ_LEVELS, {"pairs": [(k.location_id, k.sku_id) for k in unknown]}
            )
            for location_id, sku_id, on_hand, reserved, safety_stock, incoming, version in rows:
                final[LevelKey(location_id, sku_id)] = (
                    Quantities(on_hand, reserved, safety_stock, incoming),
                    version,
                )
        for key in sorted(self._found):
            after, version = final[key]
            for event in level_events(key, self._found[key], after, version, now):
                self._uow.emit(event)

    async def _select_for_update(self, keys: list[LevelKey]) -> dict[LevelKey, Quantities]:
        rows = await self.statements.rows(
            _LOCK_LEVELS, {"pairs": [(k.location_id, k.sku_id) for k in keys]}
        )
        found = {}
        for location_id, sku_id, on_hand, reserved, safety_stock, incoming, version in rows:
            key = LevelKey(location_id, sku_id)
            found[key] = Quantities(
                on_hand=on_hand, reserved=reserved, safety_stock=safety_stock, incoming=incoming
            )
            self._versions[key] = version
        return found

    async def _ensure_levels_exist(self, keys: list[LevelKey], *, actor: str, channel: str) -> None:
        """Create missing levels. On PostgreSQL in a transaction of their own, committed at
        once, so this transaction locks nothing out of order; SQLite runs one writer at a
        time, so there it happens inline."""
        result = await self.session.execute(
            select(StockLevel.location_id, StockLevel.sku_id).where(
                tuple_(StockLevel.location_id, StockLevel.sku_id).in_(
                    [(k.location_id, k.sku_id) for k in keys]
                )
            )
        )
        existing = {LevelKey(row.location_id, row.sku_id) for row in result}
        missing = [key for key in keys if key not in existing]
        if missing:
            if self.session.get_bind().dialect.name == "sqlite":
                await create_levels(self.session, missing, actor=actor, channel=channel)
            else:
                async with self._uow.side_sessions() as side, side.begin():
                    await create_levels(side, missing, actor=actor, channel=channel)
        _remember_levels(keys)

    async def _update_levels(
        self, keys: set[LevelKey], running: dict[LevelKey, Quantities], now: datetime
    ) -> None:
        await self.statements.execute_many(
            _UPDATE_LEVEL,
            [
                {
                    "k_location": key.location_id,
                    "k_sku": key.sku_id,
                    "v_on_hand": running[key].on_hand,
                    "v_reserved": running[key].reserved,
                    "v_safety_stock": running[key].safety_stock,
                    "v_incoming": running[key].incoming,
                    "v_updated_at": now,
                }
                for key in sorted(keys)
            ],
        )

    async def _insert_movements(self, changes: list[Change], now: datetime) -> list[int]:
        rows = await self.statements.rows(
            _INSERT_MOVEMENTS,
            [
                {
                    "sku_id": c.key.sku_id,
                    "location_id": c.key.location_id,
                    "kind": c.kind,
                    "on_hand_delta": c.delta.on_hand,
                    "reserved_delta": c.delta.reserved,
                    "safety_stock_delta": c.delta.safety_stock,
                    "incoming_delta": c.delta.incoming,
                    "channel": c.channel,
                    "reference": c.reference,
                    "reason": c.reason,
                    "actor": c.actor,
                    "created_at": now,
                }
                for c in changes
            ],
        )
        return sorted(row[0] for row in rows)


def _remember_levels(keys: Iterable[LevelKey]) -> None:
    if len(_KNOWN_LEVELS) > _KNOWN_LEVELS_LIMIT:
        _KNOWN_LEVELS.clear()
    _KNOWN_LEVELS.update(keys)
