"""The SQL of taking a month of stock movements out of the ledger (app/inventory/archive.py
says when and why)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from app.platform.partition_repository import MonthPartition, Partitions
from app.platform.uow import Repository

_SUM_PARTITION = """
CREATE TEMPORARY TABLE archived_sums ON COMMIT DROP AS
SELECT location_id, sku_id,
       sum(on_hand_delta) AS on_hand_delta, sum(reserved_delta) AS reserved_delta,
       sum(safety_stock_delta) AS safety_stock_delta, sum(incoming_delta) AS incoming_delta,
       count(*) AS movements, max(id) AS last_movement_id
FROM {partition}
GROUP BY location_id, sku_id
"""

_ADD_TO_TOTALS = """
INSERT INTO movement_archive_totals AS t
    (location_id, sku_id, on_hand_delta, reserved_delta, safety_stock_delta, incoming_delta,
     movements, last_movement_id, archived_through)
SELECT location_id, sku_id, on_hand_delta, reserved_delta, safety_stock_delta, incoming_delta,
       movements, last_movement_id, :through
FROM archived_sums
ON CONFLICT (location_id, sku_id) DO UPDATE SET
    on_hand_delta = t.on_hand_delta + excluded.on_hand_delta,
    reserved_delta = t.reserved_delta + excluded.reserved_delta,
    safety_stock_delta = t.safety_stock_delta + excluded.safety_stock_delta,
    incoming_delta = t.incoming_delta + excluded.incoming_delta,
    movements = t.movements + excluded.movements,
    last_movement_id = greatest(t.last_movement_id, excluded.last_movement_id),
    archived_through = greatest(t.archived_through, excluded.archived_through)
"""


class LedgerArchive(Repository):
    """PostgreSQL only."""

    async def take_out(self, partition: MonthPartition, schema: str) -> None:
        """Sum the month per level with writes to it (only) locked out, detach it, add its
        sums to `movement_archive_totals` and move it to `schema`: the parent's exclusive lock
        lasts for the detach and an upsert of one row per level."""
        session = self.session
        await session.execute(text(f"LOCK TABLE {partition.name} IN SHARE MODE"))
        await session.execute(text(_SUM_PARTITION.format(partition=partition.name)))
        await Partitions.of(self._uow).detach(partition)
        await session.execute(text(_ADD_TO_TOTALS), {"through": partition.upper})
        await session.execute(text(f"ALTER TABLE {partition.name} SET SCHEMA {schema}"))

    async def copy_out(self, name: str, schema: str, out: Callable[[bytes], Any]) -> None:
        """The table as CSV with a header (COPY through the driver), chunk by chunk to `out`."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None

        async def write(chunk: bytes) -> None:
            out(chunk)

        await driver.copy_from_table(
            name, schema_name=schema, output=write, format="csv", header=True
        )
