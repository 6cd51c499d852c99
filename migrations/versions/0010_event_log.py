"""the event log and its sequence

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column(
            "occurred_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.Column("other_location", sa.String(length=64), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_log")),
        sa.UniqueConstraint("id", name=op.f("uq_event_log_id")),
    )
    op.create_index("ix_event_log_occurred_at", "event_log", ["occurred_at"], unique=False)
    sequence = op.create_table(
        "event_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_sequence")),
    )
    op.bulk_insert(sequence, [{"id": 1, "last_seq": 0}])


def downgrade() -> None:
    op.drop_table("event_sequence")
    op.drop_index("ix_event_log_occurred_at", table_name="event_log")
    op.drop_table("event_log")
