"""A cart is completed once: as an order (checkout from the app or the web store, through the
same use case as `POST /v1/orders`) or as a sale at a counter. Either way the held units pass
to the order or the sale in the same transaction, so they are never free in between, and the
cart's row lock decides which of several channels racing to complete it wins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.carts import rules
from app.carts.holding import release_hold
from app.carts.repository import CartRepository
from app.carts.views import record_step
from app.inventory.changes import Actor, Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.orders import placing
from app.orders.commands import NewOrder, ShipAddress
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import Fulfilment
from app.orders.repository import OrderRepository
from app.orders.views import OrderView
from app.platform.access import Permission, Principal
from app.platform.errors import BusinessRuleViolation, InvalidTransition
from app.platform.idempotency import store
from app.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Checkout:
    fulfilment: Fulfilment
    pickup_location: str | None = None  # a pickup at the store holding the cart by default
    address: ShipAddress | None = None
    name: str | None = None
    phone: str | None = None
    notes: str | None = None


async def check_out(
    ctx: OrderContext, principal: Principal, cart_id: uuid.UUID, checkout: Checkout
) -> OrderView:
    """The cart becomes an order, by the rules of any order; its held units become the order's
    reservation in the order's own transaction."""
    principal.require(Permission.PLACE_ORDERS)
    async with ctx.uow(readonly=True) as uow:
        carts = CartRepository.of(uow)
        cart = await carts.cart(cart_id)
        lines = await carts.lines(cart.id)
        email = (await CustomerRepository.of(uow).customer(cart.customer_id)).email
        held_at = await carts.location_code(cart.hold_location_id)
    if store.resuming() is None:  # a retry of a checkout that went through answers with it
        rules.check_open(cart.status, cart.code)
    if not lines:
        raise BusinessRuleViolation(f"cart {cart.code} is empty")
    wanted = [(line.sku, line.quantity) for line in lines]
    pickup = checkout.pickup_location or held_at
    if checkout.fulfilment is Fulfilment.PICKUP and pickup is None:
        raise BusinessRuleViolation("a pickup needs a location: the cart is held nowhere")

    async def hand_over_hold(uow: UnitOfWork, order_id: uuid.UUID) -> None:
        carts = CartRepository.of(uow)
        cart = await carts.cart(cart_id, for_update=True)
        rules.check_open(cart.status, cart.code)
        now_lines = await carts.lines(cart.id)
        if [(line.sku, line.quantity) for line in now_lines] != wanted:
            raise InvalidTransition(
                f"cart {cart.code} changed while checking out; check out again",
                {"code": cart.code},
            )
        await release_hold(uow, Actor.of(principal), cart, now_lines)
        cart.status = rules.CartStatus.ORDERED.value
        cart.order_id = order_id
        record_step(cart, "cart_ordered", principal.channel.value, principal.actor)
        OrderRepository.of(uow).add_event(
            event="cart_ordered",
            channel=principal.channel.value,
            actor=principal.actor,
            customer_id=cart.customer_id,
            summary=f"cart {cart.code}: checked out as an order for {checkout.fulfilment.value}",
        )

    return await placing.place_order(
        ctx,
        principal,
        NewOrder(
            email=email,
            lines=wanted,
            fulfilment=checkout.fulfilment,
            pickup_location=pickup if checkout.fulfilment is Fulfilment.PICKUP else None,
            address=checkout.address,
            name=checkout.name,
            phone=checkout.phone,
            notes=checkout.notes,
        ),
        first=hand_over_hold,
    )


@dataclass(frozen=True, slots=True)
class CounterLine:
    sku: str
    quantity: int
    unit_price_minor: int


async def lines_for_counter(
    ctx: OrderContext, cart_id: uuid.UUID, location: str
) -> tuple[list[CounterLine], list[str]]:
    """What the counter rings up for a cart: every held unit, and the other lines when the
    store has them on hand and unpromised; (lines, SKUs left out)."""
    async with ctx.uow(readonly=True) as uow:
        location_id = (await CatalogueRepository.of(uow).location(location)).id
        carts = CartRepository.of(uow)
        cart = await carts.cart(cart_id)
        lines = await carts.lines(cart.id)
        here = cart.hold_location_id == location_id
        levels = await Ledger.of(uow).peek([LevelKey(location_id, line.sku_id) for line in lines])
    sold: list[CounterLine] = []
    left_out: list[str] = []
    if cart.status != rules.CartStatus.OPEN:  # a till's retry, or a refusal to come
        return [CounterLine(x.sku, x.quantity, x.unit_price_minor) for x in lines], []
    for line in lines:
        held = line.held if here else 0
        free = levels[LevelKey(location_id, line.sku_id)].free
        if held >= line.quantity or free >= line.quantity - held:
            sold.append(CounterLine(line.sku, line.quantity, line.unit_price_minor))
        else:
            left_out.append(line.sku)
    return sold, left_out


@dataclass(frozen=True, slots=True)
class CounterTake:
    """What completing a cart at the counter adds to the sale's transaction."""

    changes: list[Change]  # the hold given back, just before the sale takes the units
    customer_id: uuid.UUID
    code: str


async def take_at_counter(
    uow: UnitOfWork,
    principal: Principal,
    cart_id: uuid.UUID,
    location_id: int,
    location: str,
    client_txn_id: str,
) -> CounterTake:
    """Inside the sale's transaction: the cart is completed here, its hold passes to the sale."""
    carts = CartRepository.of(uow)
    cart = await carts.cart(cart_id, for_update=True)
    rules.check_open(cart.status, cart.code)
    lines = await carts.lines(cart.id)
    if cart.hold_location_id not in (None, location_id) and any(line.held for line in lines):
        held_at = await carts.location_code(cart.hold_location_id)
        raise InvalidTransition(
            f"cart {cart.code} is held at {held_at}; complete it there",
            {"code": cart.code, "held_at": held_at},
        )
    changes = [
        Change.release_hold(
            LevelKey(location_id, line.sku_id),
            line.held,
            principal,
            sku=line.sku,
            location=location,
            reference=f"cart:{cart.id}",
        )
        for line in lines
        if line.held
    ]
    await carts.replace_lines(cart.id, [(line.sku_id, line.quantity, 0) for line in lines])
    cart.hold_location_id = None
    cart.held_until = None
    cart.status = rules.CartStatus.SOLD.value
    record_step(cart, "cart_sold", principal.channel.value, principal.actor)
    OrderRepository.of(uow).add_event(
        event="cart_sold",
        channel=principal.channel.value,
        actor=principal.actor,
        customer_id=cart.customer_id,
        location_id=location_id,
        summary=f"cart {cart.code}: completed at the counter ({client_txn_id})",
    )
    return CounterTake(changes, cart.customer_id, cart.code)
