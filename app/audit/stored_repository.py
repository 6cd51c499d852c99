"""Reads of the audit's own records, on any connection: checkpoints, open findings, codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.rules import Finding, StockEvent
from app.audit.tables import AuditCheckpoint, AuditFinding
from app.inventory.rules import LevelKey
from app.inventory.tables import Location, Sku
from app.orders.model import OPEN_STATUSES

CHUNK = 500
"""Keys per statement: bounded parameter lists on both databases."""

ARCHIVE_TOTALS = "movement_archive_totals"
"""Per-level sums of archived (detached) movement partitions, when the ledger is archived."""

OPEN_STATUS_VALUES = sorted(s.value for s in OPEN_STATUSES)


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


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def pairs_of(keys: Sequence[LevelKey]) -> list[tuple[int, int]]:
    return [(k.location_id, k.sku_id) for k in keys]


async def last_checkpoint(connection: AsyncConnection) -> Checkpoint | None:
    columns = [getattr(AuditCheckpoint, name) for name in Checkpoint.__slots__]
    row = (
        await connection.execute(select(*columns).order_by(AuditCheckpoint.id.desc()).limit(1))
    ).first()
    return None if row is None else Checkpoint(*row)


async def open_findings(connection: AsyncConnection) -> list[StoredFinding]:
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


async def level_codes(
    connection: AsyncConnection, keys: Iterable[LevelKey]
) -> dict[LevelKey, tuple[str, str]]:
    keys = sorted(set(keys))
    locations: dict[int, str] = {}
    skus: dict[int, str] = {}
    for chunk in chunks(keys):
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


async def keys_of_codes(
    connection: AsyncConnection, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], LevelKey | None]:
    if not pairs:
        return {}
    locations = dict(
        (
            await connection.execute(
                select(Location.code, Location.id).where(
                    Location.code.in_(sorted({p[0] for p in pairs}))
                )
            )
        ).all()
    )
    skus = dict(
        (
            await connection.execute(
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
