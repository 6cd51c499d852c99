"""Reads of levels, movements and pickup candidates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, select

from app.inventory.hours import StoreHours
from app.inventory.repository import require_known_skus
from app.inventory.rules import Quantities
from app.inventory.tables import AVAILABLE, Location, Sku, StockLevel, StockMovement
from app.platform.prepared import Prepared, where_in
from app.platform.tables import table_of
from app.platform.uow import Repository


@dataclass(frozen=True, slots=True)
class LevelRow:
    location: str
    quantities: Quantities


@dataclass(frozen=True, slots=True)
class MovementRow:
    id: int
    sku: str
    location: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    safety_stock_delta: int
    incoming_delta: int
    channel: str
    reference: str | None
    reason: str | None
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PickupHours:
    """What a store's pickup promise is made from (app/inventory/hours.py)."""

    hours: StoreHours
    lead_minutes: int
    paused: bool
    pickup_enabled: bool


@dataclass(frozen=True, slots=True)
class PickupCandidate:
    location_id: int
    location: str
    name: str
    latitude: float
    longitude: float
    pickup_enabled: bool
    available: dict[str, int]  # sku code -> available
    pickup_fields: tuple[str, str, str, int, bool]
    """The store's pickup columns as read (timezone, opening hours and closed dates as JSON
    text, lead minutes, paused): parsed by `pickup_hours` only for the stores answered."""

    def pickup_hours(self) -> PickupHours:
        return _pickup_hours(*self.pickup_fields, self.pickup_enabled)


_levels, _locations, _skus = table_of(StockLevel), table_of(Location), table_of(Sku)
_PICKUP_FIELDS = (
    _locations.c.timezone,
    cast(_locations.c.opening_hours, Text),
    cast(_locations.c.closed_dates, Text),
    _locations.c.pickup_lead_minutes,
    _locations.c.pickup_paused,
)
"""What a store's pickup promise is made from, read with the stock of a lookup: one round
trip answers it (a second statement for them cost a fifth of a lookup's time)."""
"""Mirrors `Quantities.available`, repeated here only so the database can filter large
catalogues without shipping rows to Python (negative values are clamped by the caller)."""

_CANDIDATE_ROWS = select(
    _skus.c.sku,
    _locations.c.id,
    _locations.c.code,
    _locations.c.name,
    _locations.c.latitude,
    _locations.c.longitude,
    _locations.c.pickup_enabled,
    AVAILABLE.label("available"),
    *_PICKUP_FIELDS,
).select_from(
    _skus.outerjoin(
        _levels.join(
            _locations,
            and_(
                _locations.c.id == _levels.c.location_id,
                _locations.c.kind == "store",
                _locations.c.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
                _locations.c.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
            ),
        ),
        and_(
            _levels.c.sku_id == _skus.c.id,
            AVAILABLE >= bindparam("quantity"),
        ),
    )
)

_PICKUP_CANDIDATES = where_in(_CANDIDATE_ROWS, _skus.c.sku, "codes")
"""Every SKU asked for, joined to the stores in the box that hold enough of it: a SKU with no
such store still comes back (with no location), so one round trip also tells unknown SKUs
apart. Built on the tables, not the mapped classes: the hot read skips the ORM's per-statement
work."""


class StockQueries(Repository):
    """Reads of levels and movements for one unit of work; its ORM session is only made
    for the reads that need it (a lookup needs none)."""

    async def levels_of_sku(self, sku_id: int) -> list[LevelRow]:
        result = await self.session.execute(
            select(
                Location.code,
                StockLevel.on_hand,
                StockLevel.reserved,
                StockLevel.safety_stock,
                StockLevel.incoming,
            )
            .join(Location, Location.id == StockLevel.location_id)
            .where(StockLevel.sku_id == sku_id)
            .order_by(Location.code)
        )
        return [
            LevelRow(
                row.code, Quantities(row.on_hand, row.reserved, row.safety_stock, row.incoming)
            )
            for row in result
        ]

    async def level(self, sku_id: int, location_id: int) -> Quantities:
        result = await self.session.execute(
            select(
                StockLevel.on_hand,
                StockLevel.reserved,
                StockLevel.safety_stock,
                StockLevel.incoming,
            ).where(StockLevel.sku_id == sku_id, StockLevel.location_id == location_id)
        )
        row = result.one_or_none()
        return Quantities() if row is None else Quantities(*row)

    async def movements(
        self,
        *,
        sku_id: int | None,
        location_id: int | None,
        since: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[MovementRow]:
        conditions = [StockMovement.id > after_id]
        if sku_id is not None:
            conditions.append(StockMovement.sku_id == sku_id)
        if location_id is not None:
            conditions.append(StockMovement.location_id == location_id)
        if since is not None:
            conditions.append(StockMovement.created_at >= since)
        result = await self.session.execute(
            select(StockMovement, Sku.sku, Location.code)
            .join(Sku, Sku.id == StockMovement.sku_id)
            .join(Location, Location.id == StockMovement.location_id)
            .where(and_(*conditions))
            .order_by(StockMovement.id)
            .limit(limit)
        )
        return [
            MovementRow(
                id=m.id,
                sku=sku,
                location=loc,
                kind=m.kind,
                on_hand_delta=m.on_hand_delta,
                reserved_delta=m.reserved_delta,
                safety_stock_delta=m.safety_stock_delta,
                incoming_delta=m.incoming_delta,
                channel=m.channel,
                reference=m.reference,
                reason=m.reason,
                actor=m.actor,
                created_at=m.created_at,
            )
            for m, sku, loc in result
        ]

    async def pickup_candidates(
        self,
        skus: list[str],
        quantity: int,
        box: tuple[float, float, float, float],
    ) -> list[PickupCandidate]:
        """Stores inside `box` where every SKU has at least `quantity` available.

        A single round trip; raises `NotFound` naming every SKU that does not exist.
        """
        by_location = await self._stock_in_box(_PICKUP_CANDIDATES, skus, box, quantity=quantity)
        wanted = len(set(skus))
        return [c for c in by_location if len(c.available) == wanted]

    async def stores_in_box(
        self, skus: list[str], box: tuple[float, float, float, float]
    ) -> list[PickupCandidate]:
        """Every store inside `box` with what it has of each SKU, 0 where it has none or
        less than none; raises `NotFound` naming every SKU that does not exist."""
        return await self._stock_in_box(_STORES_IN_BOX, skus, box)

    async def _stock_in_box(
        self,
        statement: Prepared,
        skus: list[str],
        box: tuple[float, float, float, float],
        **params: int,
    ) -> list[PickupCandidate]:
        """The stores `statement` finds inside `box`, each with what it has of each SKU (never
        below 0); raises `NotFound` naming every SKU that does not exist."""
        min_lat, max_lat, min_lon, max_lon = box
        rows = await self.statements.rows(
            statement,
            {
                "codes": skus,
                "min_lat": min_lat,
                "max_lat": max_lat,
                "min_lon": min_lon,
                "max_lon": max_lon,
                **params,
            },
        )
        known: set[str] = set()
        by_location: dict[int, PickupCandidate] = {}
        for sku, location_id, code, name, latitude, longitude, pickup, available, *hours in rows:
            known.add(sku)
            if location_id is None:
                continue
            candidate = by_location.get(location_id)
            if candidate is None:
                candidate = by_location[location_id] = PickupCandidate(
                    location_id, code, name, latitude, longitude, pickup, {}, tuple(hours)
                )
            candidate.available[sku] = max(0, available or 0)
        require_known_skus(set(skus), known)
        return list(by_location.values())

    async def pickup_hours(self, location_ids: list[int]) -> dict[int, PickupHours]:
        """The pickup fields of these locations, read without the ORM (a pickup order reads
        them for its store)."""
        if not location_ids:
            return {}
        rows = await self.statements.rows(_PICKUP_HOURS, {"ids": location_ids})
        return {row[0]: _pickup_hours(*row[1:]) for row in rows}

    async def short_levels(self) -> list[tuple[int, int]]:
        result = await self.session.execute(
            select(StockLevel.location_id, StockLevel.sku_id).where(
                StockLevel.on_hand < StockLevel.reserved
            )
        )
        return [(row[0], row[1]) for row in result]


def _pickup_hours(
    timezone: str, hours: str, closed: str, lead: int, paused: bool, pickup: bool
) -> PickupHours:
    """From the row: the JSON columns come as text on every dialect and driver."""
    opening_hours: dict[str, Any] = json.loads(hours) if hours else {}
    closed_dates: list[str] = json.loads(closed) if closed else []
    return PickupHours(
        StoreHours.parse(timezone, opening_hours, closed_dates), lead, bool(paused), bool(pickup)
    )


_PICKUP_HOURS = where_in(
    select(
        _locations.c.id,
        _locations.c.timezone,
        cast(_locations.c.opening_hours, Text),
        cast(_locations.c.closed_dates, Text),
        _locations.c.pickup_lead_minutes,
        _locations.c.pickup_paused,
        _locations.c.pickup_enabled,
    ),
    _locations.c.id,
    "ids",
)

_STORES_IN_BOX = where_in(
    select(
        _skus.c.sku,
        _locations.c.id,
        _locations.c.code,
        _locations.c.name,
        _locations.c.latitude,
        _locations.c.longitude,
        _locations.c.pickup_enabled,
        AVAILABLE.label("available"),
        *_PICKUP_FIELDS,
    ).select_from(
        _skus.outerjoin(
            _locations,
            and_(
                _locations.c.kind == "store",
                _locations.c.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
                _locations.c.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
            ),
        ).outerjoin(
            _levels,
            and_(_levels.c.sku_id == _skus.c.id, _levels.c.location_id == _locations.c.id),
        )
    ),
    _skus.c.sku,
    "codes",
)
"""Every SKU asked for against every store in the box, with its level if it has one (for
`include_out_of_stock`: a store that never had the SKU is listed with 0)."""


@dataclass(frozen=True, slots=True)
class StockAt:
    location_id: int
    location: str
    kind: str
    latitude: float
    longitude: float
    sku_id: int
    available: int


@cache
def _stock_at(ship_enabled: bool, pickup_stores: bool) -> Prepared:
    """Availability of some SKUs at every location (shipping ones, or pickup stores)."""
    query = select(
        Location.id,
        Location.code,
        Location.kind,
        Location.latitude,
        Location.longitude,
        StockLevel.sku_id,
        AVAILABLE,
    ).join(StockLevel, StockLevel.location_id == Location.id)
    if ship_enabled:
        query = query.where(Location.ship_enabled.is_(True))
    if pickup_stores:
        query = query.where(
            Location.kind == "store",
            Location.pickup_enabled.is_(True),
            Location.pickup_paused.is_(False),
        )
    return where_in(query, table_of(StockLevel).c.sku_id, "sku_ids")
