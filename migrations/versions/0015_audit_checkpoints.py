"""the audit's checkpoints and findings

The audit's own tables (its checkpoints, each level's audited balance, its findings), what a
storefront was last pushed, and an index on cart lines by SKU (a level's cart holds). No index
on stock_levels.updated_at: it would make every level update non-HOT (measured: a hot row's
updates/s fell by 30-60 %); the audit selects changed levels by their movements instead.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:20:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=False),
        sa.Column("snapshot_at", _utc(), nullable=False),
        sa.Column("event_head", sa.BigInteger(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("levels_examined", sa.Integer(), nullable=False),
        sa.Column("movements_read", sa.Integer(), nullable=False),
        sa.Column("events_read", sa.Integer(), nullable=False),
        sa.Column("findings_open", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_findings",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("storefront_id", sa.String(length=36), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("expected", sa.JSON(), nullable=False),
        sa.Column("found", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("first_checkpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_audit_findings_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_audit_findings_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_findings")),
    )
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_findings_open", ["resolved_at", "location_id", "sku_id"], unique=False
        )
    op.create_table(
        "audited_levels",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("incoming", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("last_movement_id", sa.BigInteger(), nullable=False),
        sa.Column("audited_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_audited_levels_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_audited_levels_sku_id_skus")),
        sa.PrimaryKeyConstraint("location_id", "sku_id", name=op.f("pk_audited_levels")),
    )
    op.create_table(
        "storefront_pushed",
        sa.Column("storefront_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("pushed_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_storefront_pushed_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_storefront_pushed_sku_id_skus")
        ),
        sa.ForeignKeyConstraint(
            ["storefront_id"],
            ["storefronts.id"],
            name=op.f("fk_storefront_pushed_storefront_id_storefronts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "storefront_id", "sku_id", "location_id", name=op.f("pk_storefront_pushed")
        ),
    )
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.create_index("ix_cart_lines_sku_id", ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_cart_lines_sku_id")
    op.drop_table("storefront_pushed")
    op.drop_table("audited_levels")
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_findings_open")
    op.drop_table("audit_findings")
    op.drop_table("audit_checkpoints")
