"""Use cases that read stock: a SKU's levels, one level, the movements, stores near a point."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.inventory import geo, hours
from app.inventory.queries import LevelRow, MovementRow, PickupHours, StockQueries
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import Quantities
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation
from app.platform.tables import utcnow

CUSTOMER_ORIGIN = "customer_origin"
"""Asked with (customer id, a list to fill): where a customer's preferred store is, as
(latitude, longitude). Customers are the orders context's; it listens (app/bootstrap.py)."""


@dataclass(frozen=True, slots=True)
class SkuStock:
    sku: str
    levels: list[LevelRow]

    @property
    def total_available(self) -> int:
        return sum(level.quantities.available for level in self.levels)


@dataclass(frozen=True, slots=True)
class NearbyStore:
    location: str
    name: str
    distance_km: float
    available: int
    pickup_enabled: bool
    pickup_status: hours.PickupStatus
    pickup_ready_by: datetime | None


async def stock_of_sku(ctx: Context, sku: str) -> SkuStock:
    async with ctx.uow(readonly=True, replica=True) as uow:
        item = await CatalogueRepository.of(uow).sku(sku)
        return SkuStock(sku, await StockQueries.of(uow).levels_of_sku(item.id))


async def stock_level(ctx: Context, sku: str, location: str) -> Quantities:
    async with ctx.uow(readonly=True, replica=True) as uow:
        item = await CatalogueRepository.of(uow).sku(sku)
        loc = await CatalogueRepository.of(uow).location(location)
        return await StockQueries.of(uow).level(item.id, loc.id)


async def movements(
    ctx: Context,
    principal: Principal,
    *,
    sku: str | None,
    location: str | None,
    since: datetime | None,
    after_id: int,
    limit: int,
) -> list[MovementRow]:
    """The ledger names who moved what and references tills and other channels' orders: for
    staff and operations (a POS key at its own location), not for storefront or app keys."""
    principal.require(Permission.READ_LEDGER, at_location=location)
    async with ctx.uow(readonly=True, replica=True) as uow:
        sku_id = (await CatalogueRepository.of(uow).sku(sku)).id if sku else None
        location_id = (
            (await CatalogueRepository.of(uow).location(location)).id if location else None
        )
        return await StockQueries.of(uow).movements(
            sku_id=sku_id, location_id=location_id, since=since, after_id=after_id, limit=limit
        )


async def stores_near(
    ctx: Context,
    *,
    skus: list[str],
    latitude: float,
    longitude: float,
    radius_km: float,
    quantity: int,
    include_out_of_stock: bool = False,
    now: datetime | None = None,
) -> list[NearbyStore]:
    """Stores within `radius_km` that can fill `quantity` of every SKU for pickup, nearest
    first (with `include_out_of_stock`, every store within it, whatever it has), each with
    when an order placed at `now` can be ready there.

    `available` in the answer is the smallest availability across the SKUs asked for.
    """
    now = now or utcnow()
    box = geo.bounding_box(latitude, longitude, radius_km)
    async with ctx.uow(readonly=True, replica=True) as uow:
        queries = StockQueries.of(uow)
        if include_out_of_stock:
            candidates = await queries.stores_in_box(skus, box)
        else:
            candidates = await queries.pickup_candidates(skus, quantity, box)
    nearby_ones = [
        (c, distance)
        for c in candidates
        if (distance := geo.distance_km(latitude, longitude, c.latitude, c.longitude)) <= radius_km
    ]
    nearby = []
    for c, distance in nearby_ones:
        status, ready_by = pickup_promise(c.pickup_hours(), now)
        nearby.append(
            NearbyStore(
                c.location,
                c.name,
                round(distance, 3),
                min(c.available.values()),
                c.pickup_enabled,
                status,
                ready_by,
            )
        )
    nearby.sort(key=lambda store: (store.distance_km, store.location))
    return nearby


async def origin(
    ctx: Context, latitude: float | None, longitude: float | None, customer_id: uuid.UUID | None
) -> tuple[float, float]:
    """Where availability is measured from: the coordinates given, else the customer's
    preferred store."""
    if latitude is not None and longitude is not None:
        return latitude, longitude
    if customer_id is None or (latitude, longitude) != (None, None):
        raise BusinessRuleViolation("give latitude and longitude, or a customer_id")
    found: list[tuple[float, float]] = []
    async with ctx.uow(readonly=True, replica=True) as uow:
        await uow.notify(CUSTOMER_ORIGIN, customer_id, found)
    if not found:
        raise BusinessRuleViolation(
            "give latitude and longitude: this customer has no preferred store",
            {"customer_id": str(customer_id)},
        )
    return found[0]


def pickup_promise(store: PickupHours, now: datetime) -> tuple[hours.PickupStatus, datetime | None]:
    """What a shopper is told of pickup at a store: its status and its ready time."""
    if not store.pickup_enabled:
        return hours.PickupStatus.NOT_OFFERED, None
    promised = hours.promise(now, store.hours, store.lead_minutes, store.paused)
    return promised.status, promised.ready_by
