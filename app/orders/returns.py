"""Returns: restock (or write off what came back damaged) and refund."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum
from typing import NamedTuple

from app.inventory.changes import By, Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import Guard, LevelKey, MovementKind, Quantities
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import OrderStatus, merge_lines, returnable
from app.orders.outbox_repository import OutboxRepository
from app.orders.payment_actions import run_payment_actions
from app.orders.repository import OrderRepository
from app.orders.tables import Order, OrderReturn, order_event
from app.orders.views import OrderView, get_order
from app.platform.access import Permission, Principal
from app.platform.errors import BusinessRuleViolation, InvalidTransition
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


class Disposition(StrEnum):
    """What becomes of returned units."""

    RESTOCK = "restock"  # back on the shelf, on sale again
    DAMAGED = "damaged"  # taken back, then written off: never on sale again


class ReturnedLine(NamedTuple):
    sku: str
    quantity: int
    disposition: str = Disposition.RESTOCK


def damaged_units(lines: Sequence[ReturnedLine]) -> list[tuple[str, int]]:
    """(sku, quantity) of what came back damaged, one per SKU; `Disposition` checks each."""
    return merge_lines(
        [(x.sku, x.quantity) for x in lines if Disposition(x.disposition) is Disposition.DAMAGED]
    )


def write_off_damaged(
    key: LevelKey, quantity: int, by: By, *, sku: str, location: str, reference: str
) -> Change:
    """Units taken back damaged leave stock again at once: a damage movement after the return
    that brought them in, so the ledger tells both. Unguarded like the return itself: the
    units are in the store's hands whatever its count says."""
    damage = Change.by_hand(
        key,
        MovementKind.DAMAGE,
        quantity,
        Quantities(),
        by,
        sku=sku,
        location=location,
        reference=reference,
        reason="returned damaged",
    )
    return replace(damage, guard=Guard.NONE)


# Returns ------------------------------------------------------------------------------------
async def return_order(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    location: str,
    returned: Sequence[tuple[str, int] | tuple[str, int, str]],
) -> OrderView:
    """Any store takes back any order: restock where returned (what is damaged is written off
    there instead), refund what came back."""
    principal.require(Permission.SELL_AT_COUNTER, at_location=location)
    parts = [ReturnedLine(*x) for x in returned]
    lines, damaged = merge_lines([(x.sku, x.quantity) for x in parts]), damaged_units(parts)
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        loc = await CatalogueRepository.of(uow).location(location)
        refund, sku_ids = await take_back(uow, order, lines)
        reference = f"order:{order_id}"
        changes = [
            Change.restock(
                LevelKey(loc.id, sku_ids[sku]),
                quantity,
                principal,
                sku=sku,
                location=loc.code,
                reference=reference,
            )
            for sku, quantity in lines
        ] + [
            write_off_damaged(
                LevelKey(loc.id, sku_ids[sku]),
                quantity,
                principal,
                sku=sku,
                location=loc.code,
                reference=reference,
            )
            for sku, quantity in damaged
        ]
        await Ledger.of(uow).apply(sorted(changes, key=lambda c: c.key))
        written_off = dict(damaged)
        OrderRepository.of(uow).add_return(
            OrderReturn(
                id=uuid.uuid4(),
                order_id=order_id,
                location_id=loc.id,
                actor=principal.actor,
                lines=[
                    {"sku": s, "quantity": q, "damaged": written_off.get(s, 0)} for s, q in lines
                ],
                refund_minor=refund,
                created_at=utcnow(),
            )
        )
        damaged_note = f" ({sum(written_off.values())} damaged)" if written_off else ""
        OrderRepository.of(uow).add_event(
            event="returned",
            channel=principal.channel.value,
            actor=principal.actor,
            order_id=order_id,
            customer_id=order.customer_id,
            location_id=loc.id,
            summary=f"{sum(q for _, q in lines)} item(s) returned at "
            f"{loc.name}{damaged_note}; refund {refund} {order.currency}",
        )
        uow.emit(order_event(order, "returned", utcnow()))
        customer = await CustomerRepository.of(uow).customer(order.customer_id)
        OrderRepository.of(uow).add_notification(
            order_id=order_id,
            kind="refunded",
            to=customer.email,
            subject=f"Refund for order {order.number}",
            body=f"We received your return at {loc.name} and refunded {refund / 100:.2f} "
            f"{order.currency}.",
        )
        order.touch(utcnow())
        await uow.commit()
    await run_payment_actions(ctx, order_id)
    return await get_order(ctx, principal, order_id)


async def take_back(
    uow: UnitOfWork, order: Order, lines: list[tuple[str, int]]
) -> tuple[int, dict[str, int]]:
    """Record units of a collected or shipped order as returned and owe the customer their
    price: (refund in minor units, sku -> sku id). The caller restocks where returned."""
    if order.status not in (OrderStatus.PICKED_UP, OrderStatus.SHIPPED):
        raise InvalidTransition(
            f"only picked up or shipped orders can be returned (this one is {order.status})",
            {"status": order.status},
        )
    ordered = {line.sku: line for line in await OrderRepository.of(uow).lines(order.id)}
    refund = 0
    for sku, quantity in lines:
        line = ordered.get(sku)
        if line is None:
            raise BusinessRuleViolation(f"{sku} is not part of order {order.number}")
        returnable(line.quantity, line.returned_quantity, quantity, sku)
        await OrderRepository.of(uow).set_returned(
            order.id, line.sku_id, line.returned_quantity + quantity
        )
        refund += quantity * line.unit_price_minor
    if order.payment_intent_id and refund:
        OutboxRepository.of(uow).add_payment_action(
            order_id=order.id, action="refund", amount_minor=refund
        )
    return refund, {sku: line.sku_id for sku, line in ordered.items()}
