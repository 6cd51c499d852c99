"""Monthly range partitions of PostgreSQL tables (migration 0014 partitions `stock_movements`
and `event_log` so): the months a table has, creating the months ahead, detaching old ones,
and the DEFAULT partition that catches rows no month takes.

A month's partition is named `<table>_pYYYY_MM` and holds [first of the month, first of the
next) in UTC; the DEFAULT partition is `<table>_default`. The names are what this module
reads: partition bounds as PostgreSQL prints them depend on the session's time zone.

Why plain DETACH and not DETACH ... CONCURRENTLY: CONCURRENTLY is refused while the table has
a DEFAULT partition, and the DEFAULT partition is the safety net that keeps a row with an
unexpected date from failing a checkout. A plain DETACH changes only the catalog, but takes
an ACCESS EXCLUSIVE lock on the parent; it runs under a short `lock_timeout`, so if the table
is busy the job gives up and tries again at its next run instead of queueing writers behind
it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import text

from app.platform.uow import Repository

DEFAULT_PARTITION_ROWS = Gauge(
    "omnistock_default_partition_rows",
    "Rows in a partitioned table's DEFAULT partition (should be 0: no month took them).",
    ["table"],
)

DETACH_LOCK_TIMEOUT = "5s"

_COUNT_CAP = 100_000
"""Counting rows in DEFAULT stops here: the figure is an alarm, not an inventory."""


_PARTITION_NAME = re.compile(r"[a-z_]+_(p\d{4}_\d{2}|default)")


def is_partition(name: str) -> bool:
    """Whether `name` is a month or DEFAULT partition's (its parent is what the models map)."""
    return _PARTITION_NAME.fullmatch(name) is not None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: autogenerate compares the partitioned tables, not
    their partitions (nor the partitions' copies of the parent's indexes)."""
    return not (type_ == "table" and name is not None and is_partition(name))


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def add_months(month: datetime, months: int) -> datetime:
    index = month.year * 12 + (month.month - 1) + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


@dataclass(frozen=True, slots=True)
class MonthPartition:
    table: str
    name: str
    month: datetime
    """The first instant of the month (UTC); the partition holds up to `upper`, excluded."""

    @property
    def upper(self) -> datetime:
        return add_months(self.month, 1)


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


class Partitions(Repository):
    """PostgreSQL only: callers check `uow.is_sqlite` first."""

    async def months(self, table: str) -> list[MonthPartition]:
        """The month partitions attached to `table`, oldest first."""
        rows = await self.session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = CAST(:table AS regclass)"
            ),
            {"table": _identifier(table)},
        )
        pattern = re.compile(rf"{re.escape(table)}_p(\d{{4}})_(\d{{2}})")
        found = []
        for (name,) in rows:
            matched = pattern.fullmatch(name)
            if matched:
                month = datetime(int(matched[1]), int(matched[2]), 1, tzinfo=UTC)
                found.append(MonthPartition(table, name, month))
        return sorted(found, key=lambda p: p.month)

    async def create_ahead(self, table: str, now: datetime, months_ahead: int) -> list[str]:
        """Create the partitions of this month and the `months_ahead` next ones that are
        missing; returns the names created. Fails (loudly) if DEFAULT holds rows of such a
        month: PostgreSQL refuses the new partition then, and someone must move them."""
        existing = {p.name for p in await self.months(table)}
        created = []
        current = month_start(now)
        for offset in range(months_ahead + 1):
            month = add_months(current, offset)
            name = partition_name(table, month)
            if name in existing:
                continue
            await self.session.execute(
                text(
                    f"CREATE TABLE {_identifier(name)} PARTITION OF {_identifier(table)} "
                    f"FOR VALUES FROM ('{month.isoformat()}') "
                    f"TO ('{add_months(month, 1).isoformat()}')"
                )
            )
            created.append(name)
        return created

    async def default_rows(self, table: str) -> int:
        """How many rows the DEFAULT partition holds (capped), also set as a gauge."""
        name = _identifier(f"{table}_default")
        exists = await self.session.scalar(text("SELECT to_regclass(:name)"), {"name": name})
        if exists is None:
            return 0
        count = int(
            await self.session.scalar(
                text(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT {_COUNT_CAP}) AS r")
            )
            or 0
        )
        DEFAULT_PARTITION_ROWS.labels(table=table).set(count)
        return count

    async def detach(self, partition: MonthPartition) -> None:
        """Detach `partition` from its table in this transaction (see the module's note on
        the lock); the table stays, now on its own."""
        await self.session.execute(text(f"SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT}'"))
        await self.session.execute(
            text(
                f"ALTER TABLE {_identifier(partition.table)} "
                f"DETACH PARTITION {_identifier(partition.name)}"
            )
        )

    async def drop(self, name: str, schema: str = "public") -> None:
        await self.session.execute(
            text(f"DROP TABLE IF EXISTS {_identifier(schema)}.{_identifier(name)}")
        )

    async def row_count(self, name: str, schema: str = "public") -> int:
        return int(
            await self.session.scalar(
                text(f"SELECT count(*) FROM {_identifier(schema)}.{_identifier(name)}")
            )
            or 0
        )

    async def tables_in(self, schema: str, prefix: str) -> list[str]:
        """The tables of `schema` whose name starts with `prefix`, sorted."""
        rows = await self.session.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                "AND starts_with(tablename, :prefix) ORDER BY tablename"
            ),
            {"schema": schema, "prefix": prefix},
        )
        return [name for (name,) in rows]
