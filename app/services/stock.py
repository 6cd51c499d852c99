"""Use cases that read and move stock: movements, counts, safety stock, transfers, lookups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.db.ledger import Change, LevelKey, RecordedMovement
from app.db.models import Transfer, TransferLine, utcnow
from app.db.session import UnitOfWork
from app.db.stock_queries import LevelRow, MovementRow, StockQueries
from app.domain import geo, stock
from app.domain.access import Permission, Principal
from app.domain.errors import BusinessRuleViolation, InvalidTransition
from app.domain.stock import Guard, MovementKind, Quantities


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


@dataclass(frozen=True, slots=True)
class TransferView:
    id: uuid.UUID
    from_location: str
    to_location: str
    status: str
    lines: list[tuple[str, int]]
    created_by: str
    created_at: datetime
    received_at: datetime | None


IN_TRANSIT = "in_transit"
RECEIVED = "received"


async def record_movement(
    uow: UnitOfWork,
    principal: Principal,
    *,
    location: str,
    sku: str,
    kind: MovementKind,
    quantity: int,
    reason: str | None = None,
    reference: str | None = None,
) -> RecordedMovement:
    """A receipt, adjustment, damage or count posted by staff at one location."""
    principal.require(Permission.MOVE_STOCK, at_location=location)
    async with uow:
        loc = await uow.catalogue.location(location)
        item = await uow.catalogue.sku(sku)
        key = LevelKey(loc.id, item.id)
        current = (await uow.ledger.lock([key], actor=principal.actor, channel=principal.channel))[
            key
        ]
        delta = stock.manual_movement(kind, quantity, current)
        [movement] = await uow.ledger.apply(
            [
                Change(
                    key=key,
                    delta=delta,
                    kind=kind.value,
                    guard=Guard.ON_HAND,
                    channel=principal.channel,
                    actor=principal.actor,
                    sku=sku,
                    location=location,
                    reference=reference,
                    reason=reason,
                )
            ]
        )
        await uow.commit()
        return movement


async def record_counts(
    uow: UnitOfWork,
    principal: Principal,
    *,
    location: str,
    counts: list[tuple[str, int]],
    reference: str | None = None,
) -> list[RecordedMovement]:
    """A stock count of several SKUs at one location: one count movement per line, all or none."""
    principal.require(Permission.MOVE_STOCK, at_location=location)
    codes = [code for code, _ in counts]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the count")
    async with uow:
        loc = await uow.catalogue.location(location)
        skus = await uow.catalogue.skus_by_code(codes)
        keys = {code: LevelKey(loc.id, skus[code].id) for code in codes}
        current = await uow.ledger.lock(
            keys.values(), actor=principal.actor, channel=principal.channel
        )
        changes = [
            Change(
                key=keys[code],
                delta=stock.manual_movement(MovementKind.COUNT, counted, current[keys[code]]),
                kind=MovementKind.COUNT.value,
                guard=Guard.ON_HAND,
                channel=principal.channel,
                actor=principal.actor,
                sku=code,
                location=location,
                reference=reference,
            )
            for code, counted in sorted(counts, key=lambda c: keys[c[0]])
        ]
        movements = await uow.ledger.apply(changes)
        await uow.commit()
        order = {code: i for i, code in enumerate(codes)}
        return sorted(movements, key=lambda m: order[m.change.sku])


async def set_safety_stock(
    uow: UnitOfWork, principal: Principal, *, sku: str, location: str, safety_stock: int
) -> Quantities:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with uow:
        loc = await uow.catalogue.location(location)
        item = await uow.catalogue.sku(sku)
        key = LevelKey(loc.id, item.id)
        current = (await uow.ledger.lock([key], actor=principal.actor, channel=principal.channel))[
            key
        ]
        delta = stock.safety_stock_change(safety_stock, current)
        if delta.is_zero:
            return current
        [movement] = await uow.ledger.apply(
            [
                Change(
                    key=key,
                    delta=delta,
                    kind=MovementKind.SAFETY_STOCK.value,
                    guard=Guard.NONE,
                    channel=principal.channel,
                    actor=principal.actor,
                    sku=sku,
                    location=location,
                )
            ]
        )
        await uow.commit()
        return movement.level_after


async def create_transfer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    from_location: str,
    to_location: str,
    lines: list[tuple[str, int]],
) -> TransferView:
    """Send stock from one location to another: it leaves `from` now and waits as `incoming`
    at `to` until received. Units reserved for orders cannot be sent away."""
    principal.require(Permission.MANAGE_CATALOGUE)
    if from_location == to_location:
        raise BusinessRuleViolation("a transfer needs two different locations")
    codes = [code for code, _ in lines]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the transfer")
    async with uow:
        source = await uow.catalogue.location(from_location)
        target = await uow.catalogue.location(to_location)
        skus = await uow.catalogue.skus_by_code(codes)
        transfer = Transfer(
            id=uuid.uuid4(),
            from_location_id=source.id,
            to_location_id=target.id,
            status=IN_TRANSIT,
            created_by=principal.actor,
            created_at=utcnow(),
        )
        reference = f"transfer:{transfer.id}"
        changes: list[Change] = []
        for code, quantity in lines:
            out, incoming = stock.transfer_dispatch(quantity)
            common = {
                "channel": principal.channel,
                "actor": principal.actor,
                "sku": code,
                "reference": reference,
            }
            changes.append(
                Change(
                    key=LevelKey(source.id, skus[code].id),
                    delta=out,
                    kind=MovementKind.TRANSFER_OUT.value,
                    guard=Guard.FREE,
                    location=from_location,
                    **common,
                )
            )
            changes.append(
                Change(
                    key=LevelKey(target.id, skus[code].id),
                    delta=incoming,
                    kind=MovementKind.TRANSFER_IN_TRANSIT.value,
                    guard=Guard.NONE,
                    location=to_location,
                    **common,
                )
            )
        await uow.ledger.lock(
            [c.key for c in changes], actor=principal.actor, channel=principal.channel
        )
        await uow.ledger.apply(changes)
        await uow.catalogue.add_transfer(
            transfer,
            [
                TransferLine(transfer_id=transfer.id, sku_id=skus[code].id, quantity=quantity)
                for code, quantity in lines
            ],
        )
        await uow.commit()
        return TransferView(
            transfer.id,
            from_location,
            to_location,
            transfer.status,
            list(lines),
            transfer.created_by,
            transfer.created_at,
            None,
        )


async def receive_transfer(
    uow: UnitOfWork, principal: Principal, transfer_id: uuid.UUID
) -> TransferView:
    """The transfer arrived: its units move from incoming to on hand at the destination."""
    async with uow:
        transfer = await uow.catalogue.transfer(transfer_id, for_update=True)
        locations = await uow.catalogue.locations_by_id(
            [transfer.from_location_id, transfer.to_location_id]
        )
        target = locations[transfer.to_location_id]
        principal.require(Permission.MOVE_STOCK, at_location=target.code)
        if transfer.status != IN_TRANSIT:
            raise InvalidTransition(
                f"transfer {transfer_id} is already {transfer.status}", {"status": transfer.status}
            )
        lines = await uow.catalogue.transfer_lines(transfer_id)
        skus = await uow.catalogue.skus_by_id([line.sku_id for line in lines])
        reference = f"transfer:{transfer.id}"
        await uow.ledger.apply(
            [
                Change(
                    key=LevelKey(target.id, line.sku_id),
                    delta=stock.transfer_receipt(line.quantity),
                    kind=MovementKind.TRANSFER_RECEIPT.value,
                    guard=Guard.NONE,
                    channel=principal.channel,
                    actor=principal.actor,
                    sku=skus[line.sku_id].sku,
                    location=target.code,
                    reference=reference,
                )
                for line in lines
            ]
        )
        transfer.status = RECEIVED
        transfer.received_at = utcnow()
        await uow.commit()
        return TransferView(
            transfer.id,
            locations[transfer.from_location_id].code,
            target.code,
            transfer.status,
            [(skus[line.sku_id].sku, line.quantity) for line in lines],
            transfer.created_by,
            transfer.created_at,
            transfer.received_at,
        )


async def get_transfer(uow: UnitOfWork, transfer_id: uuid.UUID) -> TransferView:
    async with uow:
        transfer = await uow.catalogue.transfer(transfer_id)
        locations = await uow.catalogue.locations_by_id(
            [transfer.from_location_id, transfer.to_location_id]
        )
        lines = await uow.catalogue.transfer_lines(transfer_id)
        skus = await uow.catalogue.skus_by_id([line.sku_id for line in lines])
        return TransferView(
            transfer.id,
            locations[transfer.from_location_id].code,
            locations[transfer.to_location_id].code,
            transfer.status,
            [(skus[line.sku_id].sku, line.quantity) for line in lines],
            transfer.created_by,
            transfer.created_at,
            transfer.received_at,
        )


async def stock_of_sku(uow: UnitOfWork, sku: str) -> SkuStock:
    async with uow:
        item = await uow.catalogue.sku(sku)
        return SkuStock(sku, await StockQueries(uow).levels_of_sku(item.id))


async def stock_level(uow: UnitOfWork, sku: str, location: str) -> Quantities:
    async with uow:
        item = await uow.catalogue.sku(sku)
        loc = await uow.catalogue.location(location)
        return await StockQueries(uow).level(item.id, loc.id)


async def movements(
    uow: UnitOfWork,
    *,
    sku: str | None,
    location: str | None,
    since: datetime | None,
    after_id: int,
    limit: int,
) -> list[MovementRow]:
    async with uow:
        sku_id = (await uow.catalogue.sku(sku)).id if sku else None
        location_id = (await uow.catalogue.location(location)).id if location else None
        return await StockQueries(uow).movements(
            sku_id=sku_id, location_id=location_id, since=since, after_id=after_id, limit=limit
        )


async def stores_near(
    uow: UnitOfWork,
    *,
    skus: list[str],
    latitude: float,
    longitude: float,
    radius_km: float,
    quantity: int,
) -> list[NearbyStore]:
    """Stores within `radius_km` that can fill `quantity` of every SKU for pickup, nearest first.

    `available` in the answer is the smallest availability across the SKUs asked for.
    """
    async with uow:
        candidates = await StockQueries(uow).pickup_candidates(
            skus, quantity, geo.bounding_box(latitude, longitude, radius_km)
        )
    nearby = []
    for c in candidates:
        distance = geo.distance_km(latitude, longitude, c.latitude, c.longitude)
        if distance <= radius_km:
            nearby.append(
                NearbyStore(
                    c.location,
                    c.name,
                    round(distance, 3),
                    min(c.available.values()),
                    c.pickup_enabled,
                )
            )
    nearby.sort(key=lambda store: (store.distance_km, store.location))
    return nearby
