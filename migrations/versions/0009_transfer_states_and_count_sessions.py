"""draft, partial and cancelled transfers; count sessions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("shipped_at", _utc(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", _utc(), nullable=True))
        batch_op.create_index(
            "ix_transfers_from_location_id", ["from_location_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_transfers_to_location_id", ["to_location_id", "created_at"], unique=False
        )
    # Every transfer made so far shipped as it was created.
    op.execute(sa.text("UPDATE transfers SET shipped_at = created_at"))

    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        for name in ("received", "lost", "returned"):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
    op.execute(
        sa.text(
            "UPDATE transfer_lines SET received = quantity WHERE transfer_id IN "
            "(SELECT id FROM transfers WHERE status = 'received')"
        )
    )

    op.create_table(
        "count_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'approved', 'cancelled')", name=op.f("ck_count_sessions_status")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_count_sessions_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_sessions")),
    )
    with op.batch_alter_table("count_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_count_sessions_location_id", ["location_id", "created_at"], unique=False
        )

    op.create_table(
        "count_lines",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("counted_by", sa.String(length=200), nullable=True),
        sa.Column("counted_at", _utc(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("moved_since", sa.Integer(), nullable=True),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_count_lines_counted")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["count_sessions.id"],
            name=op.f("fk_count_lines_session_id_count_sessions"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_count_lines_sku_id_skus")),
        sa.PrimaryKeyConstraint("session_id", "sku_id", name=op.f("pk_count_lines")),
    )


def downgrade() -> None:
    op.drop_table("count_lines")
    with op.batch_alter_table("count_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_count_sessions_location_id")
    op.drop_table("count_sessions")

    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        for name in ("returned", "lost", "received"):
            batch_op.drop_column(name)

    # Before this revision there are no drafts (they never left: drop them) and status holds
    # 16 characters: a transfer received in part is left as "partial", which nothing receives.
    op.execute(
        sa.text(
            "DELETE FROM transfer_lines WHERE transfer_id IN "
            "(SELECT id FROM transfers WHERE status = 'draft')"
        )
    )
    op.execute(sa.text("DELETE FROM transfers WHERE status = 'draft'"))
    op.execute(
        sa.text("UPDATE transfers SET status = 'partial' WHERE status = 'partially_received'")
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_to_location_id")
        batch_op.drop_index("ix_transfers_from_location_id")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("shipped_at")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
