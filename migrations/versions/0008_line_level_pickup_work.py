"""order lines ready, rejected and handed over in part

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("ready_quantity", "rejected_quantity", "handed_over_quantity")


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    # Orders already ready were ready whole; orders already collected or shipped, whole too.
    op.execute(
        "UPDATE order_lines SET ready_quantity = quantity WHERE order_id IN "
        "(SELECT id FROM orders WHERE status IN ('ready_for_pickup', 'picked_up'))"
    )
    op.execute(
        "UPDATE order_lines SET handed_over_quantity = quantity WHERE order_id IN "
        "(SELECT id FROM orders WHERE status IN ('picked_up', 'shipped'))"
    )
    with op.batch_alter_table("order_lines") as batch:
        for name in COLUMNS:
            batch.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
