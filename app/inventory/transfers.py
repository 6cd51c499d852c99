"""Use cases of transfers between locations: create (as a draft, or shipped at once), ship,
cancel and read them. Receiving is `transfer_receipts.py`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey, TransferLineState, TransferStatus, check_transfer_action
from app.inventory.tables import Transfer, TransferLine
from app.inventory.transfer_repository import TransferRepository
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation, Forbidden
from app.platform.events import OutgoingEvent
from app.platform.idempotency import store
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class TransferLineView:
    sku: str
    quantity: int  # sent (or to be sent, on a draft)
    received: int
    lost: int
    returned: int
    in_transit: int
    over_received: int


@dataclass(frozen=True, slots=True)
class TransferView:
    id: uuid.UUID
    from_location: str
    to_location: str
    status: str
    lines: list[TransferLineView]
    created_by: str
    created_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None


IN_TRANSIT = TransferStatus.IN_TRANSIT.value


def transfer_event(view: TransferView, kind: str) -> OutgoingEvent:
    """`transfer.<kind>` (shipped, received, cancelled) as the transfer stands after it."""
    return OutgoingEvent(
        type=f"transfer.{kind}",
        occurred_at=utcnow(),
        data={
            "transfer_id": str(view.id),
            "from_location": view.from_location,
            "to_location": view.to_location,
            "status": view.status,
            "lines": [
                {"sku": line.sku, "quantity": line.quantity, "received": line.received}
                for line in view.lines
            ],
        },
        location=view.from_location,
        other_location=view.to_location,
    )


RECEIVED = TransferStatus.RECEIVED.value


def line_state(line: TransferLine) -> TransferLineState:
    return TransferLineState(line.quantity, line.received, line.lost, line.returned)


def transfer_view(
    transfer: Transfer,
    lines: list[TransferLine],
    locations: dict[int, str],
    skus: dict[int, str],
) -> TransferView:
    views = []
    for line in lines:
        state = line_state(line)
        views.append(
            TransferLineView(
                skus[line.sku_id],
                line.quantity,
                line.received,
                line.lost,
                line.returned,
                state.in_transit,
                state.over_received,
            )
        )
    return TransferView(
        transfer.id,
        locations[transfer.from_location_id],
        locations[transfer.to_location_id],
        transfer.status,
        views,
        transfer.created_by,
        transfer.created_at,
        transfer.shipped_at,
        transfer.received_at,
        transfer.cancelled_at,
    )


async def view_of(uow: UnitOfWork, transfer: Transfer, lines: list[TransferLine]) -> TransferView:
    repository = TransferRepository.of(uow)
    locations = await repository.location_codes(
        [transfer.from_location_id, transfer.to_location_id]
    )
    skus = await repository.sku_codes([line.sku_id for line in lines])
    return transfer_view(transfer, lines, locations, skus)


def require_at_source(principal: Principal, source: str) -> None:
    """Admin ships and cancels any transfer; a till or a person of the source store may too."""
    if principal.is_store_bound:
        principal.require(Permission.MOVE_STOCK, at_location=source)
    else:
        principal.require(Permission.MANAGE_CATALOGUE)


def dispatches(
    transfer: Transfer,
    lines: list[TransferLine],
    locations: dict[int, str],
    skus: dict[int, str],
    principal: Principal,
) -> list[Change]:
    """The ledger changes of shipping: out of the source's unreserved units, incoming at the
    destination."""
    return [
        change
        for line in lines
        for change in Change.dispatch(
            LevelKey(transfer.from_location_id, line.sku_id),
            LevelKey(transfer.to_location_id, line.sku_id),
            line.quantity,
            principal,
            sku=skus[line.sku_id],
            from_location=locations[transfer.from_location_id],
            to_location=locations[transfer.to_location_id],
            reference=f"transfer:{transfer.id}",
        )
    ]


async def create_transfer(
    ctx: Context,
    principal: Principal,
    *,
    from_location: str,
    to_location: str,
    lines: list[tuple[str, int]],
    draft: bool = False,
) -> TransferView:
    """Send stock from one location to another: it leaves `from` now and waits as `incoming`
    at `to` until received. Units reserved for orders cannot be sent away. A draft moves
    nothing until it is shipped."""
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
        now = utcnow()
        transfer = Transfer(
            id=uuid.uuid4(),
            from_location_id=source.id,
            to_location_id=target.id,
            status=TransferStatus.DRAFT.value if draft else IN_TRANSIT,
            created_by=principal.actor,
            created_at=now,
            shipped_at=None if draft else now,
        )
        rows = [
            TransferLine(
                transfer_id=transfer.id,
                sku_id=skus[code].id,
                quantity=quantity,
                received=0,
                lost=0,
                returned=0,
            )
            for code, quantity in lines
        ]
        locations = {source.id: from_location, target.id: to_location}
        sku_codes = {ref.id: code for code, ref in skus.items()}
        if not draft:
            await Ledger.of(uow).apply(dispatches(transfer, rows, locations, sku_codes, principal))
        await CatalogueRepository.of(uow).add_transfer(transfer, rows)
        view = transfer_view(transfer, rows, locations, sku_codes)
        if not draft:
            uow.emit(transfer_event(view, "shipped"))
        await store.answer_in(uow, view)  # a retry's answer commits with the transfer
        await uow.commit()
    return view


async def ship_transfer(ctx: Context, principal: Principal, transfer_id: uuid.UUID) -> TransferView:
    """A draft leaves: its units come off the source's unreserved stock (409 if short)."""
    async with ctx.uow() as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id, for_update=True)
        lines = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        repository = TransferRepository.of(uow)
        locations = await repository.location_codes(
            [transfer.from_location_id, transfer.to_location_id]
        )
        skus = await repository.sku_codes([line.sku_id for line in lines])
        require_at_source(principal, locations[transfer.from_location_id])
        check_transfer_action(transfer.status, "ship")
        await Ledger.of(uow).apply(dispatches(transfer, lines, locations, skus, principal))
        transfer.status = IN_TRANSIT
        transfer.shipped_at = utcnow()
        view = transfer_view(transfer, lines, locations, skus)
        uow.emit(transfer_event(view, "shipped"))
        await uow.commit()
    return view


async def cancel_transfer(
    ctx: Context, principal: Principal, transfer_id: uuid.UUID
) -> TransferView:
    """Call a transfer off. A draft moved nothing; what is still in transit goes back on hand
    at the source (what was received already stays received)."""
    async with ctx.uow() as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id, for_update=True)
        lines = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        repository = TransferRepository.of(uow)
        locations = await repository.location_codes(
            [transfer.from_location_id, transfer.to_location_id]
        )
        skus = await repository.sku_codes([line.sku_id for line in lines])
        require_at_source(principal, locations[transfer.from_location_id])
        check_transfer_action(transfer.status, "cancel")
        if transfer.status != TransferStatus.DRAFT:
            changes: list[Change] = []
            for line in lines:
                back = line_state(line).in_transit
                if back:
                    changes += Change.recall(
                        LevelKey(transfer.from_location_id, line.sku_id),
                        LevelKey(transfer.to_location_id, line.sku_id),
                        back,
                        principal,
                        sku=skus[line.sku_id],
                        from_location=locations[transfer.from_location_id],
                        to_location=locations[transfer.to_location_id],
                        reference=f"transfer:{transfer.id}",
                    )
                    line.returned += back
            await Ledger.of(uow).apply(changes)
        transfer.status = TransferStatus.CANCELLED.value
        transfer.cancelled_at = utcnow()
        view = transfer_view(transfer, lines, locations, skus)
        uow.emit(transfer_event(view, "cancelled"))
        await uow.commit()
    return view


async def get_transfer(ctx: Context, transfer_id: uuid.UUID) -> TransferView:
    async with ctx.uow(readonly=True, replica=True) as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id)
        lines = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        return await view_of(uow, transfer, lines)


async def list_transfers(
    ctx: Context,
    principal: Principal,
    *,
    location: str | None,
    status: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[TransferView]:
    """Oldest first. `location` matches either end; a till or a person of the staff sees the
    transfers from or to their own stores only."""
    principal.require(Permission.READ)
    if location is not None and not principal.acts_at(location):
        raise Forbidden(
            f"you see transfers of {', '.join(sorted(principal.store_codes))} only",
            {"stores": sorted(principal.store_codes), "requested_location": location},
        )
    codes = {location} if location else principal.store_codes if principal.is_store_bound else None
    async with ctx.uow(readonly=True, replica=True) as uow:
        repository = TransferRepository.of(uow)
        location_ids = (
            None if codes is None else list((await repository.location_ids(codes)).values())
        )
        if location is not None and not location_ids:
            await CatalogueRepository.of(uow).location(location)  # 404 naming it
        found = await repository.list_transfers(
            location_ids=location_ids, status=status, after=after, limit=limit
        )
        lines = await repository.lines_of([t.id for t in found])
        by_transfer: dict[uuid.UUID, list[TransferLine]] = defaultdict(list)
        for line in lines:
            by_transfer[line.transfer_id].append(line)
        locations = await repository.location_codes(
            {t.from_location_id for t in found} | {t.to_location_id for t in found}
        )
        skus = await repository.sku_codes({line.sku_id for line in lines})
        return [transfer_view(t, by_transfer[t.id], locations, skus) for t in found]
