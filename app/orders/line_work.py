"""The store works an order line by line (PRODUCT.md rule 8): units ready, units rejected
(`rejections`). A part-ready order stays `confirmed` (the pickup queue shows each line's
`ready_quantity`) until every unit left is ready; then the code goes out. Units that leave an
order are not charged, the customer is told which, and an order left with nothing is
cancelled.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from app.inventory.repository import CatalogueRepository
from app.orders.closing import _release_all
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import (
    Fulfilment,
    LineState,
    LineWork,
    Rejection,
    check_workable,
    hash_pickup_code,
    new_pickup_code,
    next_status,
    plan_line_work,
    status_after_line_work,
)
from app.orders.payment_actions import run_payment_actions
from app.orders.rejections import REASON_WORDS, At, Outcome, reject_units
from app.orders.repository import AllocationRow, LineRow, OrderRepository
from app.orders.tables import Order
from app.orders.transitions import _record_transition
from app.orders.views import OrderView, _view
from app.platform.access import Permission, Principal
from app.platform.errors import BusinessRuleViolation
from app.platform.secrets import seal
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


async def work_lines(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    ready: Sequence[tuple[str, int]] | None,
    rejected: Sequence[Rejection],
    location: str | None = None,
) -> OrderView:
    """Mark units ready (None: every unit not rejected) and reject others, at the pickup
    store, or, for a ship order (rejections only), at `location` (else the one location that
    holds the rejected SKUs and where the caller works)."""
    async with ctx.uow() as uow:
        orders = OrderRepository.of(uow)
        order = await orders.order(order_id, for_update=True)
        if ready is None and not rejected:
            next_status("ready", order.status, order.fulfilment_type)  # as before: all ready
        check_workable(order.status, order.fulfilment_type)
        lines = await orders.lines(order_id)
        allocations = await orders.allocations(order_id)
        if order.fulfilment_type == Fulfilment.SHIP and ready:
            raise BusinessRuleViolation(
                "a ship order's lines are not marked ready; reject units with `rejected`"
            )
        at = await _where(uow, principal, order, allocations, rejected, location)
        work = plan_line_work(
            [LineState(line.sku, line.quantity, line.ready_quantity) for line in lines],
            ready if order.fulfilment_type == Fulfilment.PICKUP else [],
            rejected,
        )
        _check_held_at(at, allocations, rejected)
        outcome = await reject_units(ctx, uow, principal, order, lines, allocations, at, rejected)
        after = await _record_lines(uow, order, lines, work, outcome)
        await _record_work(ctx, uow, principal, order, work, outcome, at, after)
        cancelled = status_after_line_work(order.status, after) == "cancel"
        view = await _view(uow, order, False)
        await uow.commit()
    if cancelled:
        await run_payment_actions(ctx, order_id)
    return view


# Where ---------------------------------------------------------------------------------------
async def _where(
    uow: UnitOfWork,
    principal: Principal,
    order: Order,
    allocations: list[AllocationRow],
    rejected: Sequence[Rejection],
    location: str | None,
) -> At:
    catalogue = CatalogueRepository.of(uow)
    if order.fulfilment_type == Fulfilment.PICKUP:
        assert order.pickup_location_id is not None
        pickup = (await catalogue.locations_by_id([order.pickup_location_id]))[
            order.pickup_location_id
        ]
        if location not in (None, pickup.code):
            raise BusinessRuleViolation(
                f"a pickup order's units are worked at its store, {pickup.code}",
                {"location": location, "pickup_location": pickup.code},
            )
        principal.require(Permission.WORK_PICKUPS, at_location=pickup.code)
        return At(pickup.id, pickup.code, pickup.name)
    if location is None:
        skus = {r.sku for r in rejected}
        held = sorted({a.location for a in allocations if a.sku in skus})
        mine = [code for code in held if principal.acts_at(code)]
        if len(mine) == 1 or len(held) == 1:
            location = (mine or held)[0]
        else:
            raise BusinessRuleViolation(
                "say at which `location` the units were rejected", {"locations": held}
            )
    principal.require(Permission.WORK_PICKUPS, at_location=location)
    found = await catalogue.location(location)
    return At(found.id, found.code, found.name)


def _check_held_at(at: At, allocations: list[AllocationRow], rejected: Sequence[Rejection]) -> None:
    """Units can be rejected only where the order holds them."""
    asked: dict[str, int] = defaultdict(int)
    for r in rejected:
        asked[r.sku] += r.quantity
    held = {a.sku: a.quantity for a in allocations if a.location_id == at.location_id}
    problems = [
        {"sku": sku, "problem": "not_held_here", "held": held.get(sku, 0), "asked": quantity}
        for sku, quantity in asked.items()
        if quantity > held.get(sku, 0)
    ]
    if problems:
        raise BusinessRuleViolation(
            f"the order does not hold these units at {at.code}", {"lines": problems}
        )


# Recording ---------------------------------------------------------------------------------------
async def _record_lines(
    uow: UnitOfWork, order: Order, lines: list[LineRow], work: list[LineWork], outcome: Outcome
) -> list[LineState]:
    """Write each worked line; the order's total loses the units that left it."""
    planned = {w.sku: w for w in work}
    after: list[LineState] = []
    dropped = 0
    orders = OrderRepository.of(uow)
    for line in lines:
        gone = outcome.left.get(line.sku, 0)
        quantity = line.quantity - gone
        worked = planned.get(line.sku)
        ready = min(worked.after.ready if worked else line.ready_quantity, quantity)
        if order.fulfilment_type == Fulfilment.SHIP:
            ready = 0
        after.append(LineState(line.sku, quantity, ready))
        if (quantity, ready) != (line.quantity, line.ready_quantity):
            await orders.set_line_work(
                order.id,
                line.sku_id,
                quantity=quantity,
                ready=ready,
                rejected=line.rejected_quantity + gone,
                handed_over=line.handed_over_quantity,
            )
        dropped += gone * line.unit_price_minor
    if dropped:
        order.drop_units(dropped, utcnow())
    return after


async def _record_work(
    ctx: OrderContext,
    uow: UnitOfWork,
    principal: Principal,
    order: Order,
    work: list[LineWork],
    outcome: Outcome,
    at: At,
    after: list[LineState],
) -> None:
    """The order's events (who did what, where), the status it moves to, and the customer's
    messages."""
    orders = OrderRepository.of(uow)
    channel, actor = principal.channel.value, principal.actor

    def event(name: str, summary: str) -> None:
        orders.add_event(
            event=name,
            channel=channel,
            actor=actor,
            order_id=order.id,
            customer_id=order.customer_id,
            location_id=at.location_id,
            summary=f"{order.number}: {summary}"[:500],
        )

    next_step = status_after_line_work(order.status, after)
    marked = [f"{w.marked_ready} x {w.sku}" for w in work if w.marked_ready]
    if marked and next_step is None:  # else the status change's event says it
        event("lines_ready", f"ready at {at.name}: {', '.join(marked)}")
    if outcome.rejected:
        said = ", ".join(
            f"{r.quantity} x {r.sku} ({REASON_WORDS[r.reason]})" for r in outcome.rejected
        )
        event("lines_rejected", f"rejected at {at.name} and written off: {said}")
    for moved in outcome.resourced:
        event("resourced", f"re-sourced {moved}")
    customer = await CustomerRepository.of(uow).customer(order.customer_id)
    if outcome.left:
        gone = ", ".join(f"{qty} x {sku}" for sku, qty in outcome.left.items())
        everything = all(line.quantity == 0 for line in after)
        orders.add_notification(
            order_id=order.id,
            kind="lines_rejected",
            to=customer.email,
            subject=f"Order {order.number}: some items are not available",
            body=f"We are sorry: {gone} of your order {order.number} could not be supplied "
            + (
                "and the order has been cancelled. Nothing has been charged."
                if everything
                else "and have been removed from it. You will not be charged for them; the "
                f"rest of your order goes on ({order.total_minor / 100:.2f} {order.currency})."
            ),
        )
    if next_step == "cancel":
        await _release_all(uow, order, "cancel", channel, actor, "no unit left: all rejected")
    elif next_step == "ready" and order.fulfilment_type == Fulfilment.PICKUP:
        code = new_pickup_code()
        order.mark_ready(hash_pickup_code(code), utcnow())
        _record_transition(
            uow, order, channel, actor, f"ready for pickup at {at.name}", at.location_id
        )
        orders.add_notification(
            order_id=order.id,
            kind="ready_for_pickup",
            to=customer.email,
            subject=f"Order {order.number} is ready for pickup",
            body=seal(
                ctx.secrets,
                f"Your order {order.number} is ready at {at.name}. "
                f"Show this pickup code at the counter: {code}",
            ),
        )
