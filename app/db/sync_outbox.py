"""The storefront sync outbox: written in the same transaction as every ledger change that
moves a level's `available`, so no change can be committed without the record that it must
be pushed to the storefronts (see `Ledger.apply`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from app.db.ledger import LevelKey


async def record_available_changes(
    session: AsyncSession, keys: Sequence[LevelKey], changed_at: datetime
) -> None:
    """Mark `keys` as needing a push to every storefront that maps them."""
    # Filled in by the storefront sync (issue: storefront sync); no storefront exists yet.
    del session, keys, changed_at
