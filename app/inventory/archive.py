"""Keeping the ledger's size bounded (PostgreSQL): the months of `stock_movements` ahead are
created, and the months older than MOVEMENT_ARCHIVE_MONTHS leave it, with their sums per
level kept in `movement_archive_totals` so the books still add up:

    level = totals (0 when no row) + fold(movements still in stock_movements)

A month leaves in one transaction: its partition is locked against writes, summed per level,
detached, its sums added to the totals, and it is moved to the `archive` schema. With
LEDGER_ARCHIVE=file it is then written to ARCHIVE_DIR as `<partition>.csv.gz` (COPY, CSV
with a header) and dropped; with LEDGER_ARCHIVE=schema (the default) it stays in `archive`,
out of every query on the ledger, for someone to dump or drop.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from app.inventory.archive_repository import LedgerArchive
from app.platform.context import Context
from app.platform.partition_repository import MonthPartition, Partitions, add_months, month_start
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.archive")

MOVEMENTS = "stock_movements"
ARCHIVE_SCHEMA = "archive"
MONTHS_AHEAD = 3
ARCHIVE_MODES = ("schema", "file")


class ArchiveMisconfigured(RuntimeError):
    """The archive settings cannot work; nothing was archived."""


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    keep_months: int
    mode: str = "schema"
    directory: Path | None = None

    def check(self) -> None:
        """Refuse settings that cannot work before anything leaves the ledger."""
        if self.keep_months < 1:
            raise ArchiveMisconfigured(f"MOVEMENT_ARCHIVE_MONTHS={self.keep_months}: at least 1")
        if self.mode not in ARCHIVE_MODES:
            raise ArchiveMisconfigured(
                f"LEDGER_ARCHIVE={self.mode!r} is not one of {', '.join(ARCHIVE_MODES)}"
            )
        if self.mode == "file":
            if self.directory is None:
                raise ArchiveMisconfigured("LEDGER_ARCHIVE=file needs ARCHIVE_DIR")
            if not self.directory.is_dir() or not os.access(self.directory, os.W_OK):
                raise ArchiveMisconfigured(
                    f"ARCHIVE_DIR={self.directory} is not a writable directory"
                )


@dataclass(slots=True)
class LedgerUpkeep:
    created: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    """Partitions taken out of the ledger (their totals recorded)."""
    written: list[str] = field(default_factory=list)
    """Files written under ARCHIVE_DIR (LEDGER_ARCHIVE=file)."""
    default_rows: int = 0


async def keep_ledger_bounded(
    ctx: Context, plan: ArchivePlan, now: datetime | None = None
) -> LedgerUpkeep:
    """Create the months ahead, archive the months past `plan.keep_months`, write archived
    partitions to files (LEDGER_ARCHIVE=file), and report rows in DEFAULT. A no-op on SQLite."""
    plan.check()
    now = now or utcnow()
    upkeep = LedgerUpkeep()
    async with ctx.uow() as uow:
        if uow.is_sqlite:
            return upkeep
        upkeep.created = await Partitions.of(uow).create_ahead(MOVEMENTS, now, MONTHS_AHEAD)
        months = await Partitions.of(uow).months(MOVEMENTS)
        await uow.commit()
    cutoff = add_months(month_start(now), -plan.keep_months)
    for partition in months:
        if partition.upper <= cutoff:
            await _archive(ctx, partition)
            upkeep.archived.append(partition.name)
            log.info("movements archived", partition=partition.name)
    if plan.mode == "file":
        assert plan.directory is not None
        upkeep.written = await _write_out(ctx, plan.directory)
    async with ctx.uow() as uow:
        upkeep.default_rows = await Partitions.of(uow).default_rows(MOVEMENTS)
    if upkeep.default_rows:
        log.error(
            "stock movements in the DEFAULT partition: no month partition took them",
            rows=upkeep.default_rows,
            table=MOVEMENTS,
        )
    return upkeep


async def _archive(ctx: Context, partition: MonthPartition) -> None:
    """One month out of the ledger and into the totals, in one transaction."""
    async with ctx.uow() as uow:
        await LedgerArchive.of(uow).take_out(partition, ARCHIVE_SCHEMA)
        await uow.commit()


async def _write_out(ctx: Context, directory: Path) -> list[str]:
    """Each archived movement partition in the `archive` schema to a gzip CSV, then dropped.
    The file is written under a temporary name and renamed when complete, and the table
    dropped only after: a crash in between writes it again at the next run."""
    written = []
    async with ctx.uow() as uow:
        names = await Partitions.of(uow).tables_in(ARCHIVE_SCHEMA, f"{MOVEMENTS}_p")
    for name in names:
        target = directory / f"{name}.csv.gz"
        partial = directory / f"{name}.csv.gz.partial"
        async with ctx.uow() as uow:
            with gzip.open(partial, "wb") as out:
                await LedgerArchive.of(uow).copy_out(name, ARCHIVE_SCHEMA, out.write)
            with partial.open("rb") as done:
                os.fsync(done.fileno())
            partial.replace(target)
            await Partitions.of(uow).drop(name, schema=ARCHIVE_SCHEMA)
            await uow.commit()
        written.append(str(target))
        log.info("archived movements written", partition=name, file=target.name)
    return written
