"""Read-only queries over levels and movements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Location, Sku, StockLevel, StockMovement
from app.domain.stock import Quantities


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
class PickupCandidate:
    location: str
    name: str
    latitude: float
    longitude: float
    pickup_enabled: bool
    available: dict[str, int]  # sku code -> available


AVAILABLE = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
"""Mirrors `Quantities.available`, repeated here only so the database can filter large
catalogues without shipping rows to Python (negative values are clamped by the caller)."""

_PICKUP_CANDIDATES = (
    select(
        Location.id,
        Location.code,
        Location.name,
        Location.latitude,
        Location.longitude,
        Location.pickup_enabled,
        Sku.sku,
        AVAILABLE,
    )
    .join(StockLevel, StockLevel.location_id == Location.id)
    .join(Sku, Sku.id == StockLevel.sku_id)
    .where(
        Sku.sku.in_(bindparam("codes", expanding=True)),
        AVAILABLE >= bindparam("quantity"),
        Location.kind == "store",
        Location.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
        Location.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
    )
)


class StockQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

        One prepared statement, SKUs matched by code, so a lookup is a single round trip.
        """
        min_lat, max_lat, min_lon, max_lon = box
        stmt = _PICKUP_CANDIDATES.params(
            codes=skus,
            quantity=quantity,
            min_lat=min_lat,
            max_lat=max_lat,
            min_lon=min_lon,
            max_lon=max_lon,
        )
        rows = (await self.session.execute(stmt)).all()
        by_location: dict[int, PickupCandidate] = {}
        for row in rows:
            candidate = by_location.get(row.id)
            if candidate is None:
                candidate = by_location[row.id] = PickupCandidate(
                    row.code, row.name, row.latitude, row.longitude, row.pickup_enabled, {}
                )
            candidate.available[row.sku] = max(0, int(row[7]))
        wanted = len(set(skus))
        return [c for c in by_location.values() if len(c.available) == wanted]

    async def short_levels(self) -> list[tuple[int, int]]:
        result = await self.session.execute(
            select(StockLevel.location_id, StockLevel.sku_id).where(
                StockLevel.on_hand < StockLevel.reserved
            )
        )
        return [(row[0], row[1]) for row in result]
