"""locations' time zone, opening hours, closed dates, pickup lead time and pause; orders' due_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing locations: UTC, always open, no closed dates, an hour's lead, not paused
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(
            sa.Column("opening_hours", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(
            sa.Column("closed_dates", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("pickup_lead_minutes", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(
            sa.Column("pickup_paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_check_constraint(
            op.f("ck_locations_pickup_lead_minutes"),
            "pickup_lead_minutes >= 0 AND pickup_lead_minutes <= 10080",
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("due_at")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_locations_pickup_lead_minutes"), type_="check")
        batch_op.drop_column("pickup_paused")
        batch_op.drop_column("pickup_lead_minutes")
        batch_op.drop_column("closed_dates")
        batch_op.drop_column("opening_hours")
        batch_op.drop_column("timezone")
