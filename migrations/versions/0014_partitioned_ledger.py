"""stock movements and the event log partitioned by month (PostgreSQL)

On PostgreSQL `stock_movements` (by `created_at`) and `event_log` (by `occurred_at`) become
tables partitioned by range, one partition a month, from the month of the oldest row to three
months ahead, plus a DEFAULT partition that catches a row no month takes (the maintenance job
creates the months ahead and reports rows in DEFAULT). The rows are kept: a new partitioned
table is created, filled from the old one, and takes its name, indexes, constraints and
sequence. SQLite keeps plain tables.

A partitioned table's unique constraints must contain the partition key, so the primary keys
become (id, created_at) and (seq, occurred_at), and the event's unique `id` becomes unique
(id, occurred_at) on both databases: an event written twice has the same id and the same
occurred_at, so that duplicate is still refused (nothing looks events up by id; webhook
deliveries copy it as the `webhook-id`).

Also `movement_archive_totals` (both databases): per level, the sums of the movements the
archive job took out of `stock_movements`, so that a level is still its totals plus the fold of
the movements left (see app/inventory/archive.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:20:00
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3


@dataclass(frozen=True)
class _Ledger:
    name: str
    key: str
    identity: str
    columns: tuple[str, ...]
    uniques: dict[str, tuple[str, ...]]
    """Unique constraints as partitioned (each holds the key); the primary key first."""
    plain_uniques: dict[str, tuple[str, ...]]
    """The same before partitioning."""
    indexes: dict[str, tuple[str, ...]]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)


_MOVEMENT_COLUMNS = (
    "id",
    "sku_id",
    "location_id",
    "kind",
    "on_hand_delta",
    "reserved_delta",
    "safety_stock_delta",
    "incoming_delta",
    "channel",
    "reference",
    "reason",
    "actor",
    "created_at",
)
_EVENT_COLUMNS = (
    "seq",
    "id",
    "type",
    "occurred_at",
    "location",
    "other_location",
    "sku",
    "channel",
    "data",
)

LEDGERS = (
    _Ledger(
        name="stock_movements",
        key="created_at",
        identity="id",
        columns=_MOVEMENT_COLUMNS,
        uniques={"pk_stock_movements": ("id", "created_at")},
        plain_uniques={"pk_stock_movements": ("id",)},
        indexes={
            "ix_stock_movements_sku_location_id": ("sku_id", "location_id", "id"),
            "ix_stock_movements_location_id": ("location_id", "id"),
            "ix_stock_movements_created_at": ("created_at",),
        },
        foreign_keys={
            "fk_stock_movements_location_id_locations": ("location_id", "locations"),
            "fk_stock_movements_sku_id_skus": ("sku_id", "skus"),
        },
    ),
    _Ledger(
        name="event_log",
        key="occurred_at",
        identity="seq",
        columns=_EVENT_COLUMNS,
        uniques={
            "pk_event_log": ("seq", "occurred_at"),
            "uq_event_log_id_occurred_at": ("id", "occurred_at"),
        },
        plain_uniques={"pk_event_log": ("seq",), "uq_event_log_id": ("id",)},
        indexes={"ix_event_log_occurred_at": ("occurred_at",)},
    ),
)


def _month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _next_month(at: datetime) -> datetime:
    return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)


def _partition_name(table: str, month: datetime) -> str:
    """The name the maintenance job recognises (app/platform/partition_repository.py)."""
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def _create_month(table: str, month: datetime) -> None:
    upper = _next_month(month)
    op.execute(
        f"CREATE TABLE {_partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
    )


def _constraint_sql(table: str, name: str, columns: tuple[str, ...], primary: bool) -> str:
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    return f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} ({', '.join(columns)})"


def _add_keys_and_indexes(
    ledger: _Ledger, uniques: dict[str, tuple[str, ...]], table: str | None = None
) -> None:
    table = table or ledger.name
    for position, (name, columns) in enumerate(uniques.items()):
        op.execute(_constraint_sql(table, name, columns, primary=position == 0))
    for name, (column, referred) in ledger.foreign_keys.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({column}) REFERENCES {referred} (id)"
        )
    for name, columns in ledger.indexes.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")


def _drop_keys_and_indexes(ledger: _Ledger, table: str, uniques: dict[str, tuple[str, ...]]) -> None:
    for name in ledger.indexes:
        op.execute(f"DROP INDEX {name}")
    for name in ledger.foreign_keys:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name in reversed(list(uniques)):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


def _owned_sequence(table: str, column: str) -> str | None:
    """The sequence behind a serial or identity column, if any."""
    found = (
        op.get_bind()
        .execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column})
        .scalar()
    )
    return str(found) if found else None


def _is_identity(table: str, column: str) -> bool:
    found = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT attidentity <> '' FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attname = :c"
            ),
            {"t": table, "c": column},
        )
        .scalar()
    )
    return bool(found)


def _move_identity(ledger: _Ledger, old: str) -> None:
    """Give the new table the old one's numbering: a serial's sequence changes owner, an
    identity starts after the old table's last value."""
    column = ledger.identity
    if _is_identity(old, column):
        last = op.get_bind().execute(sa.text(f"SELECT max({column}) FROM {old}")).scalar() or 0
        op.execute(
            f"ALTER TABLE {ledger.name} ALTER COLUMN {column} ADD GENERATED BY DEFAULT AS "
            f"IDENTITY (START WITH {int(last) + 1})"
        )
        return
    sequence = _owned_sequence(old, column)
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {ledger.name}.{column}")


def _copy(ledger: _Ledger, source: str, target: str) -> None:
    columns = ", ".join(ledger.columns)
    op.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}")


def _partition_postgresql(ledger: _Ledger) -> None:
    old = f"{ledger.name}_unpartitioned"
    op.execute(f"ALTER TABLE {ledger.name} RENAME TO {old}")
    _drop_keys_and_indexes(ledger, old, ledger.plain_uniques)
    op.execute(
        f"CREATE TABLE {ledger.name} (LIKE {old} INCLUDING DEFAULTS) "
        f"PARTITION BY RANGE ({ledger.key})"
    )
    oldest = op.get_bind().execute(sa.text(f"SELECT min({ledger.key}) FROM {old}")).scalar()
    now = datetime.now(UTC)
    month = _month_start(min(oldest, now) if oldest is not None else now)
    last = _month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    while month <= last:
        _create_month(ledger.name, month)
        month = _next_month(month)
    op.execute(f"CREATE TABLE {ledger.name}_default PARTITION OF {ledger.name} DEFAULT")
    _copy(ledger, old, ledger.name)
    _add_keys_and_indexes(ledger, ledger.uniques)
    _move_identity(ledger, old)
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ANALYZE {ledger.name}")


def _unpartition_postgresql(ledger: _Ledger) -> None:
    partitioned = f"{ledger.name}_partitioned"
    op.execute(f"ALTER TABLE {ledger.name} RENAME TO {partitioned}")
    _drop_keys_and_indexes(ledger, partitioned, ledger.uniques)
    op.execute(f"CREATE TABLE {ledger.name} (LIKE {partitioned} INCLUDING DEFAULTS)")
    _copy(ledger, partitioned, ledger.name)
    _add_keys_and_indexes(ledger, ledger.plain_uniques)
    _move_identity(ledger, partitioned)
    op.execute(f"DROP TABLE {partitioned} CASCADE")


def _refuse_if_archived() -> None:
    archived = (
        op.get_bind().execute(sa.text("SELECT count(*) FROM movement_archive_totals")).scalar()
    )
    if archived:
        raise RuntimeError(
            "movements have been archived (movement_archive_totals has rows): the ledger "
            "before 0014 has no place for their totals; restore the archived partitions first"
        )


def upgrade() -> None:
    op.create_table(
        "movement_archive_totals",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("safety_stock_delta", sa.BigInteger(), nullable=False),
        sa.Column("incoming_delta", sa.BigInteger(), nullable=False),
        sa.Column("movements", sa.BigInteger(), nullable=False),
        sa.Column("last_movement_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "archived_through",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_movement_archive_totals_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_movement_archive_totals_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("location_id", "sku_id", name=op.f("pk_movement_archive_totals")),
    )
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("event_log") as batch:
            batch.drop_constraint("uq_event_log_id", type_="unique")
            batch.create_unique_constraint("uq_event_log_id_occurred_at", ["id", "occurred_at"])
        return
    op.execute("CREATE SCHEMA IF NOT EXISTS archive")
    for ledger in LEDGERS:
        _partition_postgresql(ledger)


def downgrade() -> None:
    _refuse_if_archived()
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("event_log") as batch:
            batch.drop_constraint("uq_event_log_id_occurred_at", type_="unique")
            batch.create_unique_constraint("uq_event_log_id", ["id"])
    else:
        for ledger in LEDGERS:
            _unpartition_postgresql(ledger)
        op.execute("DROP SCHEMA IF EXISTS archive")  # refuses if a table is left in it
    op.drop_table("movement_archive_totals")
