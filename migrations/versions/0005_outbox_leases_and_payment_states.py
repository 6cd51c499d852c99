"""notifications are claimed for a while instead of locked while sent; payment states are the
provider-neutral words of app/orders/ports.py instead of Stripe's

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:20:00
"""

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stripe PaymentIntent status -> the port's payment state
STATES = {
    "requires_payment_method": "awaiting_payment",
    "requires_confirmation": "awaiting_payment",
    "requires_action": "awaiting_payment",
    "processing": "awaiting_payment",
    "requires_capture": "authorised",
    "succeeded": "captured",
}


def _rename(pairs: dict[str, str]) -> None:
    for old, new in pairs.items():
        op.execute(
            sa.text("UPDATE orders SET payment_status = :new WHERE payment_status = :old").bindparams(
                new=new, old=old
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "claimed_until",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
    _rename(STATES)


def downgrade() -> None:
    _rename({"awaiting_payment": "requires_payment_method", "authorised": "requires_capture",
             "captured": "succeeded"})
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
