"""Which events a level's change makes: pure, no I/O (see `Ledger` for when it runs)."""

from __future__ import annotations

from datetime import datetime

from app.inventory.rules import LevelKey, Quantities
from app.platform.events import OutgoingEvent

STOCK_CHANGED = "stock.changed"
OUT_OF_STOCK = "stock.out_of_stock"
BACK_IN_STOCK = "stock.back_in_stock"


def level_events(
    key: LevelKey, before: Quantities, after: Quantities, version: int, at: datetime
) -> list[OutgoingEvent]:
    """A transaction's net change of one level: `stock.changed` with the level as committed,
    and `stock.out_of_stock` / `stock.back_in_stock` when remote channels' `available` crosses
    zero at that location. Nothing when the transaction left the level as it found it."""
    if before == after:
        return []
    data = {
        "sku": None,
        "location": None,
        "on_hand": after.on_hand,
        "reserved": after.reserved,
        "safety_stock": after.safety_stock,
        "available": after.available,
        "version": version,
    }
    types = [STOCK_CHANGED]
    if before.available > 0 and after.available == 0:
        types.append(OUT_OF_STOCK)
    elif before.available == 0 and after.available > 0:
        types.append(BACK_IN_STOCK)
    return [
        OutgoingEvent(
            type=kind,
            occurred_at=at,
            data=data,
            location_id=key.location_id,
            sku_id=key.sku_id,
        )
        for kind in types
    ]
