"""The ledger's longer statements: a reservation in one statement, creating missing levels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.rules import LevelKey, MovementKind
from app.inventory.tables import Location, StockLevel, StockMovement
from app.platform.prepared import Prepared
from app.platform.tables import utcnow

RESERVE_ON_POSTGRESQL = Prepared(
    text(
        """
    WITH wanted AS (
        SELECT * FROM unnest(
            CAST(:locations AS integer[]), CAST(:skus AS integer[]), CAST(:quantities AS integer[])
        ) AS w(location_id, sku_id, quantity)
    ), locked AS (
        SELECT s.location_id, s.sku_id, w.quantity
        FROM stock_levels s
        JOIN wanted w ON s.location_id = w.location_id AND s.sku_id = w.sku_id
        WHERE s.on_hand - s.reserved - s.safety_stock >= w.quantity
        ORDER BY s.location_id, s.sku_id
        FOR UPDATE OF s
    ), taken AS (
        UPDATE stock_levels s
        SET reserved = s.reserved + l.quantity, version = s.version + 1,
            updated_at = CAST(:now AS timestamptz)
        FROM locked l
        WHERE s.location_id = l.location_id AND s.sku_id = l.sku_id
          AND s.on_hand - s.reserved - s.safety_stock >= l.quantity
        RETURNING s.location_id, s.sku_id, s.on_hand, s.reserved, s.safety_stock, s.incoming,
                  s.version, l.quantity
    ), moved AS (
        INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, reserved_delta,
            safety_stock_delta, incoming_delta, channel, reference, reason, actor, created_at)
        SELECT t.sku_id, t.location_id, CAST(:kind AS varchar), 0, t.quantity, 0, 0,
               CAST(:channel AS varchar), CAST(:reference AS varchar),
               CAST(:reason AS varchar), CAST(:actor AS varchar), CAST(:now AS timestamptz)
        FROM taken t
        WHERE (SELECT count(*) FROM taken) = CAST(:count AS bigint)
        ORDER BY t.location_id, t.sku_id
    )
    SELECT location_id, sku_id, on_hand, reserved, safety_stock, incoming, version FROM taken
    """
    )
)
"""A reservation in one statement: levels locked in (location, SKU) order only if they have
the units (a sold-out one is refused on what is committed, not queued for), reserved, and the
movements appended if all had enough. Fewer rows back than asked: a short line, rolled back."""


async def create_levels(
    session: AsyncSession, keys: list[LevelKey], *, actor: str, channel: str
) -> None:
    result = await session.execute(
        select(Location.id, Location.default_safety_stock).where(
            Location.id.in_({k.location_id for k in keys})
        )
    )
    defaults: dict[int, int] = {row.id: row.default_safety_stock for row in result}
    now = utcnow()
    rows = [
        {
            "sku_id": k.sku_id,
            "location_id": k.location_id,
            "on_hand": 0,
            "reserved": 0,
            "safety_stock": defaults.get(k.location_id, 0),
            "incoming": 0,
            "version": 0,
            "updated_at": now,
        }
        for k in keys
    ]
    stmt: Any = (
        postgresql.insert(StockLevel)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(StockLevel)
    )
    stmt = (
        stmt.values(rows)
        .on_conflict_do_nothing()
        .returning(StockLevel.location_id, StockLevel.sku_id, StockLevel.safety_stock)
    )
    created = (await session.execute(stmt)).all()
    opening = [
        {
            "sku_id": row.sku_id,
            "location_id": row.location_id,
            "kind": MovementKind.SAFETY_STOCK.value,
            "on_hand_delta": 0,
            "reserved_delta": 0,
            "safety_stock_delta": row.safety_stock,
            "incoming_delta": 0,
            "channel": channel,
            "reference": None,
            "reason": "location default safety stock",
            "actor": actor,
            "created_at": now,
        }
        for row in created
        if row.safety_stock
    ]
    if opening:
        await session.execute(insert(StockMovement), opening)
