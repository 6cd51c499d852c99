"""Locations, SKUs and transfers in the database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.inventory.tables import Location, Sku, Transfer, TransferLine
from app.platform.errors import AlreadyExists, NotFound
from app.platform.prepared import Prepared, where_in
from app.platform.tables import table_of, utcnow
from app.platform.uow import Repository


@dataclass(frozen=True, slots=True)
class SkuRef:
    id: int
    sku: str
    name: str
    price_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class LocationRef:
    id: int
    code: str
    kind: str
    pickup_enabled: bool
    latitude: float
    longitude: float


_SKU_TABLE = table_of(Sku)

_SKU_COLUMNS = select(
    _SKU_TABLE.c.id,
    _SKU_TABLE.c.sku,
    _SKU_TABLE.c.name,
    _SKU_TABLE.c.price_minor,
    _SKU_TABLE.c.currency,
)

_SKUS_BY_CODE = where_in(_SKU_COLUMNS, _SKU_TABLE.c.sku, "codes")

_LOCATION_TABLE = table_of(Location)

_LOCATION_BY_CODE = Prepared(
    select(
        _LOCATION_TABLE.c.id,
        _LOCATION_TABLE.c.code,
        _LOCATION_TABLE.c.kind,
        _LOCATION_TABLE.c.pickup_enabled,
        _LOCATION_TABLE.c.latitude,
        _LOCATION_TABLE.c.longitude,
    ).where(_LOCATION_TABLE.c.code == bindparam("code"))
)


def require_known_skus(wanted: AbstractSet[str], known: AbstractSet[str]) -> None:
    """Raises `NotFound` listing every code in `wanted` that is not in `known`."""
    if missing := sorted(wanted - known):
        raise NotFound(f"unknown sku(s): {', '.join(missing)}", {"skus": missing})


class CatalogueRepository(Repository):
    # locations ---------------------------------------------------------------------------
    async def add_location(self, **values: Any) -> Location:
        location = Location(**values)
        self.session.add(location)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise AlreadyExists(f"location {values['code']} already exists") from None
        return location

    async def location(self, code: str) -> Location:
        result = await self.session.execute(select(Location).where(Location.code == code))
        location = result.scalar_one_or_none()
        if location is None:
            raise NotFound(f"location {code} not found", {"location": code})
        return location

    async def location_ref(self, code: str) -> LocationRef:
        """A location as a plain row, for use cases that only read it (every pickup order)."""
        rows = await self.statements.rows(_LOCATION_BY_CODE, {"code": code})
        if not rows:
            raise NotFound(f"location {code} not found", {"location": code})
        return LocationRef(*rows[0])

    async def locations_by_id(self, ids: Sequence[int]) -> dict[int, Location]:
        if not ids:
            return {}
        result = await self.session.execute(select(Location).where(Location.id.in_(set(ids))))
        return {loc.id: loc for loc in result.scalars()}

    async def all_locations(self) -> list[Location]:
        result = await self.session.execute(select(Location).order_by(Location.code))
        return list(result.scalars())

    # skus --------------------------------------------------------------------------------
    async def add_sku(self, **values: Any) -> Sku:
        sku = Sku(**values)
        self.session.add(sku)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise AlreadyExists(
                f"sku {values['sku']} (or its barcode) already exists", {"sku": values["sku"]}
            ) from None
        return sku

    async def sku(self, code: str) -> Sku:
        result = await self.session.execute(select(Sku).where(Sku.sku == code))
        sku = result.scalar_one_or_none()
        if sku is None:
            raise NotFound(f"sku {code} not found", {"sku": code})
        return sku

    async def skus_by_code(self, codes: Sequence[str]) -> dict[str, SkuRef]:
        """The SKUs named, as plain rows (no ORM bookkeeping: this is on every order and
        sale); raises `NotFound` listing every unknown code."""
        wanted = set(codes)
        if not wanted:
            return {}
        rows = await self.statements.rows(_SKUS_BY_CODE, {"codes": list(wanted)})
        found = {row[1]: SkuRef(*row) for row in rows}
        require_known_skus(wanted, found.keys())
        return found

    async def existing_skus(self, codes: Sequence[str]) -> set[str]:
        result = await self.session.execute(select(Sku.sku).where(Sku.sku.in_(set(codes))))
        return set(result.scalars())

    async def skus_by_id(self, ids: Sequence[int]) -> dict[int, Sku]:
        if not ids:
            return {}
        result = await self.session.execute(select(Sku).where(Sku.id.in_(set(ids))))
        return {sku.id: sku for sku in result.scalars()}

    async def list_skus(self, after_id: int, limit: int) -> list[Sku]:
        result = await self.session.execute(
            select(Sku).where(Sku.id > after_id).order_by(Sku.id).limit(limit)
        )
        return list(result.scalars())

    async def upsert_skus(self, rows: list[dict[str, Any]]) -> None:
        """Insert or update SKUs by code in one statement."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        now = utcnow()
        values = [{**row, "created_at": now, "updated_at": now} for row in rows]
        stmt: Any
        if dialect == "postgresql":
            stmt = postgresql.insert(Sku).values(values)
        else:
            stmt = sqlite.insert(Sku).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Sku.sku],
            set_={
                "name": stmt.excluded.name,
                "price_minor": stmt.excluded.price_minor,
                "currency": stmt.excluded.currency,
                "barcode": stmt.excluded.barcode,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        try:
            async with self.session.begin_nested():
                await self.session.execute(stmt)
        except IntegrityError:
            raise AlreadyExists("a barcode in the batch belongs to another sku") from None

    # transfers ---------------------------------------------------------------------------
    async def add_transfer(self, transfer: Transfer, lines: list[TransferLine]) -> None:
        self.session.add(transfer)
        await self.session.flush()
        self.session.add_all(lines)
        await self.session.flush()

    async def transfer(self, transfer_id: uuid.UUID, *, for_update: bool = False) -> Transfer:
        stmt = select(Transfer).where(Transfer.id == transfer_id)
        if for_update:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt)
        transfer = result.scalar_one_or_none()
        if transfer is None:
            raise NotFound(f"transfer {transfer_id} not found")
        return transfer

    async def transfer_lines(self, transfer_id: uuid.UUID) -> list[TransferLine]:
        result = await self.session.execute(
            select(TransferLine)
            .where(TransferLine.transfer_id == transfer_id)
            .order_by(TransferLine.sku_id)
        )
        return list(result.scalars())
