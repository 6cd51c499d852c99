"""Shopify discovery, webhook subscriptions and the order sweep

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("storefronts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "orders_swept_at",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
    op.create_table(
        "shopify_refunds_applied",
        sa.Column("storefront_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.String(length=100), nullable=False),
        sa.Column(
            "applied_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["storefront_id"],
            ["storefronts.id"],
            name=op.f("fk_shopify_refunds_applied_storefront_id_storefronts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "storefront_id", "refund_id", name=op.f("pk_shopify_refunds_applied")
        ),
    )
    op.create_table(
        "storefront_webhook_subscriptions",
        sa.Column("storefront_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["storefront_id"],
            ["storefronts.id"],
            name=op.f("fk_storefront_webhook_subscriptions_storefront_id_storefronts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "storefront_id", "topic", name=op.f("pk_storefront_webhook_subscriptions")
        ),
    )


def downgrade() -> None:
    op.drop_table("storefront_webhook_subscriptions")
    op.drop_table("shopify_refunds_applied")
    with op.batch_alter_table("storefronts", schema=None) as batch_op:
        batch_op.drop_column("orders_swept_at")
