"""The storefront outbox: levels whose available changed, written with the change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.platform.prepared import Prepared, Statements, pair_arrays, pairs_in
from app.platform.uow import UnitOfWork
from app.storefronts.tables import StorefrontItem, StorefrontLocation, StorefrontPending

if TYPE_CHECKING:
    from app.inventory.rules import LevelKey


async def record_available_changes(
    statements: Statements, keys: Sequence[LevelKey], changed_at: datetime
) -> None:
    """Mark `keys` as needing a push to every storefront that maps them."""
    if not keys:
        return
    await statements.execute(
        _RECORD_CHANGES,
        {
            "pairs": [(key.location_id, key.sku_id) for key in keys],
            "generation": first_generation(changed_at),
            "changed_at": changed_at,
        },
    )


async def publish_available_changes(
    uow: UnitOfWork, keys: Sequence[LevelKey], changed_at: datetime
) -> None:
    """The ledger's AVAILABLE_CHANGED listener (wired in app/bootstrap.py)."""
    await record_available_changes(uow.statements, keys, changed_at)


def first_generation(changed_at: datetime) -> int:
    """A new pending row starts from the time in microseconds rather than 1, so a row
    deleted and marked again never repeats a generation an earlier push acknowledged."""
    return int(changed_at.timestamp() * 1_000_000)


async def mark_pending(
    session: AsyncSession,
    changed_at: datetime,
    condition: ColumnElement[bool] | None = None,
    storefront_id: uuid.UUID | None = None,
) -> None:
    """One INSERT ... SELECT over every mapped (storefront, SKU, location) that matches
    `condition`; a level already pending gets a new generation, so changes coalesce."""
    where: list[ColumnElement[bool]] = [true() if condition is None else condition]
    if storefront_id is not None:
        where.append(StorefrontItem.storefront_id == storefront_id)
    statement = _upsert_pending(
        session.get_bind().dialect.name,
        and_(*where),
        literal(first_generation(changed_at), StorefrontPending.generation.type),
        literal(changed_at, StorefrontPending.changed_at.type),
    )
    await session.execute(statement)


def _upsert_pending(
    dialect: str, where: ColumnElement[bool], generation: Any, changed_at: Any
) -> Any:
    """INSERT ... SELECT over every mapped (storefront, SKU, location) matching `where`; a
    level already pending gets a new generation, so changes coalesce."""
    source = (
        select(
            StorefrontItem.storefront_id,
            StorefrontItem.sku_id,
            StorefrontLocation.location_id,
            generation,
            changed_at,
        )
        .join(
            StorefrontLocation,
            StorefrontLocation.storefront_id == StorefrontItem.storefront_id,
        )
        .where(where)  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    )
    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StorefrontPending)
    stmt = stmt.from_select(
        ["storefront_id", "sku_id", "location_id", "generation", "changed_at"], source
    )
    return stmt.on_conflict_do_update(
        index_elements=["storefront_id", "sku_id", "location_id"],
        set_={
            "generation": StorefrontPending.generation + 1,
            "changed_at": stmt.excluded.changed_at,
        },
    )


def _record_changes(dialect: str, pairs: ColumnElement[bool]) -> Any:
    return _upsert_pending(
        dialect,
        pairs,
        bindparam("generation", type_=StorefrontPending.generation.type),
        bindparam("changed_at", type_=StorefrontPending.changed_at.type),
    )


_portable_pairs, _postgresql_pairs = pairs_in(StorefrontLocation.location_id, StorefrontItem.sku_id)

_RECORD_CHANGES = Prepared(
    _record_changes("sqlite", _portable_pairs),
    postgresql=_record_changes("postgresql", _postgresql_pairs),
    postgresql_params=pair_arrays,
)
"""Built once: it runs in every stock transaction that changes what can be sold."""
