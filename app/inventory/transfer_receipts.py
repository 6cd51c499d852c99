"""Receiving a transfer, all at once or in parts, with its over-receipts and its shortfall."""

from __future__ import annotations

import uuid

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import (
    LevelKey,
    TransferStatus,
    check_transfer_action,
    status_after_receipt,
)
from app.inventory.transfer_repository import TransferRepository
from app.inventory.transfers import TransferView, line_state, transfer_event, transfer_view
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation
from app.platform.tables import utcnow


async def receive_transfer(
    ctx: Context,
    principal: Principal,
    transfer_id: uuid.UUID,
    *,
    lines: list[tuple[str, int]] | None = None,
    close: bool = False,
) -> TransferView:
    """Units arrived at the destination: they move from incoming to on hand.

    Without `lines`, everything still in transit arrives. With them, only what they say
    (status `partially_received` until nothing is in transit); units beyond what was sent are
    an over-receipt, on hand but never taken from incoming. `close` ends the transfer: what
    has still not arrived is written off as lost in transit.
    """
    async with ctx.uow() as uow:
        transfer = await CatalogueRepository.of(uow).transfer(transfer_id, for_update=True)
        rows = await CatalogueRepository.of(uow).transfer_lines(transfer_id)
        repository = TransferRepository.of(uow)
        locations = await repository.location_codes(
            [transfer.from_location_id, transfer.to_location_id]
        )
        skus = await repository.sku_codes([line.sku_id for line in rows])
        target = locations[transfer.to_location_id]
        principal.require(Permission.MOVE_STOCK, at_location=target)
        check_transfer_action(transfer.status, "receive")
        by_code = {skus[row.sku_id]: row for row in rows}
        if lines is None:
            arrived = {code: line_state(row).in_transit for code, row in by_code.items()}
        else:
            arrived = _arrivals(lines)
            if extra := sorted(arrived.keys() - by_code.keys()):
                await CatalogueRepository.of(uow).skus_by_code(extra)  # 404 naming unknown ones
                raise BusinessRuleViolation(
                    f"not on this transfer: {', '.join(extra)}", {"skus": extra}
                )
            if not arrived and not close:
                raise BusinessRuleViolation("nothing to receive: name a line, or close it")
        reference = f"transfer:{transfer.id}"
        changes: list[Change] = []
        for code, units in arrived.items():
            row = by_code[code]
            if units <= 0:
                continue
            from_transit, over = line_state(row).receipt(units)
            key = LevelKey(transfer.to_location_id, row.sku_id)
            if from_transit:
                changes.append(
                    Change.receive_transfer(
                        key, from_transit, principal, sku=code, location=target, reference=reference
                    )
                )
            if over:
                changes.append(
                    Change.receive_over(
                        key, over, principal, sku=code, location=target, reference=reference
                    )
                )
            row.received += units
        if close:
            for code, row in by_code.items():
                short = line_state(row).in_transit
                if short:
                    changes.append(
                        Change.lose_in_transit(
                            LevelKey(transfer.to_location_id, row.sku_id),
                            short,
                            principal,
                            sku=code,
                            location=target,
                            reference=reference,
                            reason="closed short: lost in transit",
                        )
                    )
                    row.lost += short
        await Ledger.of(uow).apply(changes)
        transfer.status = status_after_receipt([line_state(row) for row in rows]).value
        if transfer.status == TransferStatus.RECEIVED:
            transfer.received_at = utcnow()
        view = transfer_view(transfer, rows, locations, skus)
        uow.emit(transfer_event(view, "received"))
        await uow.commit()
    return view


def _arrivals(lines: list[tuple[str, int]]) -> dict[str, int]:
    codes = [code for code, _ in lines]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the receipt")
    return dict(lines)
