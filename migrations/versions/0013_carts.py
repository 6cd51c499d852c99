"""carts that travel between channels, and holds

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_location_id", sa.Integer(), nullable=True),
        sa.Column("held_until", _utc(), nullable=True),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'ordered', 'sold')", name=op.f("ck_carts_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_carts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["hold_location_id"],
            ["locations.id"],
            name=op.f("fk_carts_hold_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("code", name=op.f("uq_carts_code")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index("ix_carts_customer_id", ["customer_id", "status"], unique=False)
        batch_op.create_index("ix_carts_held_until", ["held_until"], unique=False)

    op.create_table(
        "cart_lines",
        sa.Column("cart_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity")),
        sa.CheckConstraint("held >= 0 AND held <= quantity", name=op.f("ck_cart_lines_held")),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_cart_lines_sku_id_skus")),
        sa.PrimaryKeyConstraint("cart_id", "sku_id", name=op.f("pk_cart_lines")),
    )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_location_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_preferred_location_id_locations"),
            "locations",
            ["preferred_location_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customers_preferred_location_id_locations"), type_="foreignkey"
        )
        batch_op.drop_column("preferred_location_id")
    op.drop_table("cart_lines")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index("ix_carts_held_until")
        batch_op.drop_index("ix_carts_customer_id")
    op.drop_table("carts")
