"""Use cases of transfers between locations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.tables import Transfer, TransferLine
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation, InvalidTransition
from app.platform.tables import utcnow


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


async def create_transfer(
    ctx: Context,
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
    async with ctx.uow() as uow:
        source = await CatalogueRepository.of(uow).location(from_location)
        target = await CatalogueRepository.of(uow).location(to_location)
        skus = await CatalogueRepository.of(uow).skus_by_code(codes)
        transfer = Transfer(
            id=uuid.uuid4(),
            from_location_id=source.id,
            to_location_id=target.id,
            status=IN_TRANSIT,
            created_by=principal.actor,
            created_at=utcnow(),
        )
        reference = f"transfer:{transfer.id}"
        changes = [
            change
            for code, quantity in lines
            for change in Change.dispatch(
                LevelKey(source.id, skus[code].id),
                LevelKey(target.id, skus[code].id),
                quantity,
                principal,
                sku=code,
                from_location=from_location,
                to_location=to_location,
                reference=reference,
            )
        ]
        await Ledger.of(uow).apply(changes)
        await CatalogueRepository.of(uow).add_transfer(
            transfer,
            [
                TransferLine(transfer_id=transfer.id, sku_id=skus[code].id, quantity=quantity)
                for code, quantity in lines
            ],
        )
        view = TransferView(
            transfer.id,
            from_location,
            to_location,
            transfer.status,
            list(lines),
            transfer.created_by,
            transfer.created_at,
            None,
        )
        await uow.commit()
    return view


async def receive_transfer(
    ctx: Context, principal: Principal, transfer_id: uuid.UUID
) -> TransferView:
    """The transfer arrived: its units move from incoming to on hand at the destination."""
    async with ctx.uow() as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id, for_update=True)
        locations = await CatalogueRepository.of(uow).locations_by_id(
            [transfer.from_location_id, transfer.to_location_id]
        )
        target = locations[transfer.to_location_id]
        principal.require(Permission.MOVE_STOCK, at_location=target.code)
        if transfer.status != IN_TRANSIT:
            raise InvalidTransition(
                f"transfer {transfer_id} is already {transfer.status}", {"status": transfer.status}
            )
        lines = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        skus = await CatalogueRepository.of(uow).skus_by_id([line.sku_id for line in lines])
        reference = f"transfer:{transfer.id}"
        await Ledger.of(uow).apply(
            [
                Change.receive_transfer(
                    LevelKey(target.id, line.sku_id),
                    line.quantity,
                    principal,
                    sku=skus[line.sku_id].sku,
                    location=target.code,
                    reference=reference,
                )
                for line in lines
            ]
        )
        transfer.status = RECEIVED
        transfer.received_at = utcnow()
        view = TransferView(
            transfer.id,
            locations[transfer.from_location_id].code,
            target.code,
            transfer.status,
            [(skus[line.sku_id].sku, line.quantity) for line in lines],
            transfer.created_by,
            transfer.created_at,
            transfer.received_at,
        )
        await uow.commit()
    return view


async def get_transfer(ctx: Context, transfer_id: uuid.UUID) -> TransferView:
    async with ctx.uow(readonly=True) as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id)
        locations = await CatalogueRepository.of(uow).locations_by_id(
            [transfer.from_location_id, transfer.to_location_id]
        )
        lines = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        skus = await CatalogueRepository.of(uow).skus_by_id([line.sku_id for line in lines])
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
