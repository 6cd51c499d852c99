"""Storefronts, mappings, leases, pending levels and webhooks in the database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.inventory.rules import Quantities
from app.inventory.tables import Location, Sku, StockLevel
from app.platform.errors import AlreadyExists, NotFound
from app.platform.tables import utcnow
from app.platform.uow import Repository
from app.storefronts import outbox
from app.storefronts.rules import PendingLevel
from app.storefronts.tables import (
    Storefront,
    StorefrontItem,
    StorefrontLocation,
    StorefrontPending,
)

MAX_RECENT_ERRORS = 20


@dataclass(frozen=True, slots=True)
class MappedLevel:
    """A (SKU, location) both mapped for a storefront, with our current quantities."""

    sku_id: int
    location_id: int
    sku: str
    location: str
    quantities: Quantities
    external_item_id: str
    external_location_id: str


@dataclass(frozen=True, slots=True)
class SyncFigures:
    pending: int
    oldest_pending: datetime | None
    last_synced_at: datetime | None
    calls_made: int
    throttled: int
    errors: list[dict[str, Any]]


class StorefrontRepository(Repository):
    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # ---- storefronts ---------------------------------------------------------------------
    async def add(self, storefront: Storefront, locations: list[StorefrontLocation]) -> None:
        self.session.add(storefront)
        await self.session.flush()
        self.session.add_all(locations)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise AlreadyExists("a location or Shopify location is listed twice") from None

    async def get(self, storefront_id: uuid.UUID) -> Storefront:
        storefront = await self.session.get(Storefront, storefront_id)
        if storefront is None:
            raise NotFound(
                f"storefront {storefront_id} not found", {"storefront_id": str(storefront_id)}
            )
        return storefront

    async def all(self) -> list[Storefront]:
        result = await self.session.execute(select(Storefront).order_by(Storefront.created_at))
        return list(result.scalars())

    async def locations(self, storefront_id: uuid.UUID) -> list[tuple[str, str]]:
        """(our location code, Shopify location gid), by code."""
        result = await self.session.execute(
            select(Location.code, StorefrontLocation.external_location_id)
            .join(Location, Location.id == StorefrontLocation.location_id)
            .where(StorefrontLocation.storefront_id == storefront_id)
            .order_by(Location.code)
        )
        return [(row[0], row[1]) for row in result]

    async def mapped_sku_count(self, storefront_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count()).where(StorefrontItem.storefront_id == storefront_id)
        )
        return int(result.scalar_one())

    async def with_pending(self, now: datetime) -> list[uuid.UUID]:
        """Storefronts that have levels to push and no live flusher."""
        result = await self.session.execute(
            select(Storefront.id).where(
                select(StorefrontPending.storefront_id)
                .where(StorefrontPending.storefront_id == Storefront.id)
                .exists(),
                or_(Storefront.lease_expires_at.is_(None), Storefront.lease_expires_at < now),
            )
        )
        return list(result.scalars())

    # ---- mappings ------------------------------------------------------------------------
    async def map_items(self, storefront_id: uuid.UUID, items: dict[int, str]) -> None:
        """Upsert SKU → Shopify inventory item mappings."""
        if not items:
            return
        rows = [
            {"storefront_id": storefront_id, "sku_id": sku_id, "external_inventory_item_id": gid}
            for sku_id, gid in items.items()
        ]
        stmt: Any = (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(
            StorefrontItem
        ).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["storefront_id", "sku_id"],
            set_={"external_inventory_item_id": stmt.excluded.external_inventory_item_id},
        )
        try:
            async with self.session.begin_nested():
                await self.session.execute(stmt)
        except IntegrityError:
            raise AlreadyExists(
                "a Shopify inventory item is already mapped to another sku of this storefront"
            ) from None

    async def mark_skus_pending(
        self, storefront_id: uuid.UUID, sku_ids: Sequence[int], now: datetime
    ) -> None:
        await outbox.mark_pending(
            self.session, now, StorefrontItem.sku_id.in_(list(sku_ids)), storefront_id
        )

    async def mark_levels_pending(
        self, storefront_id: uuid.UUID, levels: Sequence[tuple[int, int]], now: datetime
    ) -> None:
        """`levels` are (sku_id, location_id)."""
        if levels:
            await outbox.mark_pending(
                self.session,
                now,
                tuple_(StorefrontItem.sku_id, StorefrontLocation.location_id).in_(list(levels)),
                storefront_id,
            )

    async def mark_all_pending(self, storefront_id: uuid.UUID, now: datetime) -> None:
        await outbox.mark_pending(self.session, now, None, storefront_id)

    async def mapped_levels(self, storefront_id: uuid.UUID) -> list[MappedLevel]:
        """Every mapped SKU at every mapped location, with our quantities (zero where we
        have never had stock)."""
        levels = await self._mapped_where(storefront_id)
        return sorted(levels, key=lambda level: (level.sku, level.location))

    async def level_by_external_ids(
        self, storefront_id: uuid.UUID, item_gid: str, location_gid: str
    ) -> MappedLevel | None:
        levels = await self._mapped_where(
            storefront_id,
            StorefrontItem.external_inventory_item_id == item_gid,
            StorefrontLocation.external_location_id == location_gid,
        )
        return levels[0] if levels else None

    async def _mapped_where(self, storefront_id: uuid.UUID, *conditions: Any) -> list[MappedLevel]:
        result = await self.session.execute(
            select(
                StorefrontItem.sku_id,
                StorefrontLocation.location_id,
                Sku.sku,
                Location.code,
                StockLevel.on_hand,
                StockLevel.reserved,
                StockLevel.safety_stock,
                StockLevel.incoming,
                StorefrontItem.external_inventory_item_id,
                StorefrontLocation.external_location_id,
            )
            .join(
                StorefrontLocation,
                StorefrontLocation.storefront_id == StorefrontItem.storefront_id,
            )
            .join(Sku, Sku.id == StorefrontItem.sku_id)
            .join(Location, Location.id == StorefrontLocation.location_id)
            .outerjoin(
                StockLevel,
                (StockLevel.sku_id == StorefrontItem.sku_id)
                & (StockLevel.location_id == StorefrontLocation.location_id),
            )
            .where(StorefrontItem.storefront_id == storefront_id, *conditions)
        )
        return [
            MappedLevel(
                sku_id=row[0],
                location_id=row[1],
                sku=row[2],
                location=row[3],
                quantities=_quantities(row, 4),
                external_item_id=row[8],
                external_location_id=row[9],
            )
            for row in result
        ]

    # ---- the flush -----------------------------------------------------------------------
    async def claim(
        self,
        storefront_id: uuid.UUID,
        owner: str,
        now: datetime,
        lease: timedelta,
        synced_before: datetime | None = None,
    ) -> bool:
        """Take (or extend) the storefront's flush lease; False while another worker holds
        it, or (with `synced_before`) when it last pushed at or after that moment. A
        conditional UPDATE, so it works the same on PostgreSQL and SQLite."""
        quiet = (
            or_(Storefront.last_synced_at.is_(None), Storefront.last_synced_at < synced_before)
            if synced_before is not None
            else true()
        )
        result = await self.session.execute(
            update(Storefront)
            .where(
                Storefront.id == storefront_id,
                or_(
                    Storefront.lease_expires_at.is_(None),
                    Storefront.lease_expires_at < now,
                    Storefront.lease_owner == owner,
                ),
                quiet,
            )
            .values(lease_owner=owner, lease_expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def release(self, storefront_id: uuid.UUID, owner: str) -> None:
        await self.session.execute(
            update(Storefront)
            .where(Storefront.id == storefront_id, Storefront.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )

    async def pending_levels(self, storefront_id: uuid.UUID, limit: int) -> list[PendingLevel]:
        """The oldest pending levels with their current quantities, in one statement, so
        each quantity is at least as new as its generation."""
        result = await self.session.execute(
            select(
                StorefrontPending.sku_id,
                StorefrontPending.location_id,
                StorefrontPending.generation,
                StorefrontPending.changed_at,
                Sku.sku,
                Location.code,
                StockLevel.on_hand,
                StockLevel.reserved,
                StockLevel.safety_stock,
                StockLevel.incoming,
                StorefrontItem.external_inventory_item_id,
                StorefrontLocation.external_location_id,
            )
            .join(Sku, Sku.id == StorefrontPending.sku_id)
            .join(Location, Location.id == StorefrontPending.location_id)
            .outerjoin(
                StockLevel,
                (StockLevel.sku_id == StorefrontPending.sku_id)
                & (StockLevel.location_id == StorefrontPending.location_id),
            )
            .outerjoin(
                StorefrontItem,
                (StorefrontItem.storefront_id == StorefrontPending.storefront_id)
                & (StorefrontItem.sku_id == StorefrontPending.sku_id),
            )
            .outerjoin(
                StorefrontLocation,
                (StorefrontLocation.storefront_id == StorefrontPending.storefront_id)
                & (StorefrontLocation.location_id == StorefrontPending.location_id),
            )
            .where(StorefrontPending.storefront_id == storefront_id)
            .order_by(
                StorefrontPending.changed_at,
                StorefrontPending.sku_id,
                StorefrontPending.location_id,
            )
            .limit(limit)
        )
        return [
            PendingLevel(
                sku_id=row[0],
                location_id=row[1],
                generation=row[2],
                changed_at=row[3],
                sku=row[4],
                location=row[5],
                quantities=_quantities(row, 6),
                external_item_id=row[10] or "",
                external_location_id=row[11] or "",
            )
            for row in result
        ]

    async def acknowledge(
        self, storefront_id: uuid.UUID, sent: Sequence[tuple[int, int, int]]
    ) -> None:
        """Forget pending levels that were pushed: (sku_id, location_id, generation). A level
        changed since it was read has a new generation and stays pending. Rows a stock
        change holds right now are skipped, not waited for: that change gives them a new
        generation anyway, and waiting on them while holding others deadlocks with it."""
        if sent:
            lockable = (
                select(
                    StorefrontPending.storefront_id,
                    StorefrontPending.sku_id,
                    StorefrontPending.location_id,
                )
                .where(
                    StorefrontPending.storefront_id == storefront_id,
                    tuple_(
                        StorefrontPending.sku_id,
                        StorefrontPending.location_id,
                        StorefrontPending.generation,
                    ).in_(list(sent)),
                )
                .with_for_update(skip_locked=True)
            )
            await self.session.execute(
                delete(StorefrontPending)
                .where(
                    tuple_(
                        StorefrontPending.storefront_id,
                        StorefrontPending.sku_id,
                        StorefrontPending.location_id,
                    ).in_(lockable)
                )
                .execution_options(synchronize_session=False)
            )

    async def record_calls(
        self,
        storefront_id: uuid.UUID,
        *,
        calls: int,
        throttled: int,
        synced_at: datetime | None,
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        values: dict[str, Any] = {
            "calls_made": Storefront.calls_made + calls,
            "throttled": Storefront.throttled + throttled,
        }
        if synced_at is not None:
            values["last_synced_at"] = synced_at
        if errors:
            storefront = await self.get(storefront_id)
            values["recent_errors"] = ([*errors, *(storefront.recent_errors or [])])[
                :MAX_RECENT_ERRORS
            ]
        await self.session.execute(
            update(Storefront)
            .where(Storefront.id == storefront_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def sync_figures(self, storefront_id: uuid.UUID) -> SyncFigures:
        storefront = await self.get(storefront_id)
        result = await self.session.execute(
            select(func.count(), func.min(StorefrontPending.changed_at)).where(
                StorefrontPending.storefront_id == storefront_id
            )
        )
        count, oldest = result.one()
        return SyncFigures(
            pending=int(count),
            oldest_pending=oldest,
            last_synced_at=storefront.last_synced_at,
            calls_made=storefront.calls_made,
            throttled=storefront.throttled,
            errors=list(storefront.recent_errors or []),
        )


def _quantities(row: Any, first: int) -> Quantities:
    """on_hand, reserved, safety_stock, incoming from four columns starting at `first`; a
    mapped level with no stock row yet (outer join) is all zeros."""
    on_hand, reserved, safety_stock, incoming = (row[first + i] or 0 for i in range(4))
    return Quantities(
        on_hand=on_hand, reserved=reserved, safety_stock=safety_stock, incoming=incoming
    )


def error_entry(message: str) -> dict[str, Any]:
    """A sync error as the storefront row keeps it (newest MAX_RECENT_ERRORS)."""
    return {"at": utcnow().isoformat(), "message": message[:500]}
