"""Starting a cart, changing its lines, holding them at a store, extending and releasing the
hold: each one transaction, the hold written by the ledger's one writer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.carts import rules
from app.carts.repository import CartRepository, LineRow
from app.carts.tables import Cart
from app.carts.views import CartView, cart_view, record_step
from app.inventory.changes import SYSTEM, Actor, Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository, LocationRef, SkuRef
from app.inventory.rules import LevelKey, refuse_if_short
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import Fulfilment, merge_lines
from app.orders.repository import OrderRepository
from app.orders.reserving import _with_alternatives
from app.platform.access import ROLE_PERMISSIONS, Channel, Permission, Principal
from app.platform.errors import BusinessRuleViolation, Forbidden, InsufficientStock, NotFound
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

CODE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CartChange:
    """What a caller asks of a cart's lines: `hold_at` a store (None keeps the current one)."""

    lines: list[tuple[str, int]]
    hold_at: str | None = None


def require_cart_writer(principal: Principal) -> None:
    """The web store, the app and the counter (and admins) work carts; read-only keys do not."""
    may = ROLE_PERMISSIONS[principal.role]
    if Permission.PLACE_ORDERS not in may and Permission.SELL_AT_COUNTER not in may:
        raise Forbidden(f"role {principal.role} may not change carts")


async def start_cart(
    ctx: OrderContext, principal: Principal, email: str, change: CartChange
) -> CartView:
    """A new cart for the customer of `email`, from any channel; with `hold_at`, its lines are
    held there at once (or nothing is written: 409 with alternatives)."""
    require_cart_writer(principal)
    lines = merge_lines(change.lines)
    for _ in range(CODE_ATTEMPTS):
        try:
            async with ctx.uow() as uow:
                cart_id = uuid.uuid4()
                now = utcnow()
                cart = Cart(
                    id=cart_id,
                    code=rules.new_code(),
                    status=rules.CartStatus.OPEN.value,
                    extended=False,
                    history=[],
                    created_at=now,
                    updated_at=now,
                )
                # stock first, then the customer: the order in which an order takes its locks
                held = await _hold_lines(ctx, uow, principal, cart, [], lines, change.hold_at)
                customer = await CustomerRepository.of(uow).customer_for_email(email)
                cart.customer_id = customer.id
                await _check_cap(ctx, uow, cart, held)
                if not await CartRepository.of(uow).add(cart):
                    continue  # the code was taken: draw another
                await _write_lines(uow, cart, lines)
                _step(uow, principal, cart, "cart_started", f"started with {_units(lines)} item(s)")
                if held:
                    await _held_step(uow, principal, cart)
                view = await cart_view(uow, cart)
                await uow.commit()
            return view
        except InsufficientStock as short:
            raise await _alternatives(ctx, email, lines, change.hold_at, short) from None
    raise BusinessRuleViolation("could not draw a free cart code; try again")


async def change_lines(
    ctx: OrderContext, principal: Principal, cart_id: uuid.UUID, change: CartChange
) -> CartView:
    """Replace the cart's lines; a hold follows them (more held, or some released)."""
    require_cart_writer(principal)
    lines = merge_lines(change.lines)
    email, hold_code = "", change.hold_at
    try:
        async with ctx.uow() as uow:
            cart = await CartRepository.of(uow).cart(cart_id, for_update=True)
            rules.check_open(cart.status, cart.code)
            email = (await CustomerRepository.of(uow).customer(cart.customer_id)).email
            hold_code = hold_code or await CartRepository.of(uow).location_code(
                cart.hold_location_id
            )
            before = await CartRepository.of(uow).lines(cart.id)
            held_before = sum(line.held for line in before)
            held = await _hold_lines(ctx, uow, principal, cart, before, lines, change.hold_at)
            await _check_cap(ctx, uow, cart, held)
            await _write_lines(uow, cart, lines)
            _step(uow, principal, cart, "cart_changed", f"now {_units(lines)} item(s)")
            if held and (held != held_before or change.hold_at):
                await _held_step(uow, principal, cart)
            view = await cart_view(uow, cart)
            await uow.commit()
        return view
    except InsufficientStock as short:
        raise await _alternatives(ctx, email, lines, hold_code, short) from None


async def extend_hold(ctx: OrderContext, principal: Principal, cart_id: uuid.UUID) -> CartView:
    """One more hold period, once."""
    require_cart_writer(principal)
    async with ctx.uow() as uow:
        cart = await CartRepository.of(uow).cart(cart_id, for_update=True)
        rules.check_open(cart.status, cart.code)
        cart.held_until = rules.extended_until(
            cart.held_until, cart.extended, utcnow(), ctx.cart_hold
        )
        cart.extended = True
        _step(
            uow,
            principal,
            cart,
            "cart_hold_extended",
            f"hold extended until {cart.held_until:%H:%M} UTC",
            location_id=cart.hold_location_id,
        )
        view = await cart_view(uow, cart)
        await uow.commit()
    return view


async def expire_due_holds(ctx: OrderContext, now: datetime | None = None, batch: int = 200) -> int:
    """Release holds that ran out. Each cart in its own transaction under a row lock that
    other workers skip, re-checked under it: a worker killed half way leaves every cart
    either released or still due, and the next run takes the rest."""
    now = now or utcnow()
    async with ctx.uow(readonly=True) as uow:
        due = await CartRepository.of(uow).due_holds(now, batch)
    released = 0
    for cart_id in due:
        async with ctx.uow() as uow:
            carts = CartRepository.of(uow)
            try:
                cart = await carts.cart(cart_id, for_update=True, skip_locked=True)
            except NotFound:  # another worker holds it
                continue
            if cart.status != rules.CartStatus.OPEN or rules.hold_is_live(cart.held_until, now):
                continue
            lines = await carts.lines(cart.id)
            await release_hold(uow, SYSTEM, cart, lines)
            units = _units([(line.sku, line.quantity) for line in lines])
            record_step(cart, "cart_hold_expired", Channel.SYSTEM.value, SYSTEM.name)
            OrderRepository.of(uow).add_event(
                event="cart_hold_expired",
                channel=Channel.SYSTEM.value,
                actor=SYSTEM.name,
                customer_id=cart.customer_id,
                summary=f"cart {cart.code}: the hold of {units} item(s) ran out; released",
            )
            await uow.commit()
        released += 1
    return released


async def release_hold(
    uow: UnitOfWork, by: Actor | Principal, cart: Cart, lines: list[LineRow]
) -> None:
    """Give every held unit of the cart back to the store, and forget the hold."""
    location = cart.hold_location_id
    code = await CartRepository.of(uow).location_code(location) or ""
    changes = [
        Change.release_hold(
            LevelKey(location, line.sku_id),
            line.held,
            by,
            sku=line.sku,
            location=code,
            reference=f"cart:{cart.id}",
        )
        for line in lines
        if line.held and location is not None
    ]
    await Ledger.of(uow).apply(sorted(changes, key=lambda c: c.key))
    await CartRepository.of(uow).replace_lines(
        cart.id, [(line.sku_id, line.quantity, 0) for line in lines]
    )
    cart.hold_location_id = None
    cart.held_until = None
    cart.extended = False


# -- the parts --------------------------------------------------------------------------------
async def _hold_lines(
    ctx: OrderContext,
    uow: UnitOfWork,
    principal: Principal,
    cart: Cart,
    before: list[LineRow],
    lines: list[tuple[str, int]],
    hold_at: str | None,
) -> int:
    """Move the ledger from what the cart held to what it should hold now, in one apply (its
    levels locked together, in order); the units held. A hold that ran out carries nothing
    over; a new hold runs for `cart_hold`, a moved or changed one keeps its end."""
    catalogue = CatalogueRepository.of(uow)
    skus = await catalogue.skus_by_code([sku for sku, _ in lines])
    now = utcnow()
    current = cart.hold_location_id
    live = current is not None and rules.hold_is_live(cart.held_until, now)
    target: LocationRef | None = None
    if hold_at is not None:
        target = await _hold_store(uow, principal, hold_at)
    elif live:
        target = await catalogue.location_ref(
            await CartRepository.of(uow).location_code(current) or ""
        )
    by = Actor.of(principal)
    ref = f"cart:{cart.id}"
    changes: list[Change] = []
    held_before: dict[str, int] = {}
    if current is not None and (target is None or target.id != current or not live):
        code = await CartRepository.of(uow).location_code(current) or ""
        changes += [  # the whole hold goes back where it was
            Change.release_hold(
                LevelKey(current, line.sku_id),
                line.held,
                by,
                sku=line.sku,
                location=code,
                reference=ref,
            )
            for line in before
            if line.held
        ]
    elif current is not None:
        held_before = {line.sku: line.held for line in before}
    holds: list[Change] = []
    if target is not None:
        more, less = rules.hold_moves(held_before, dict(lines))
        by_id = {line.sku: line.sku_id for line in before}
        changes += [
            Change.release_hold(
                LevelKey(target.id, by_id[sku]),
                qty,
                by,
                sku=sku,
                location=target.code,
                reference=ref,
            )
            for sku, qty in less.items()
        ]
        holds = [
            Change.hold(
                LevelKey(target.id, skus[sku].id),
                qty,
                by,
                sku=sku,
                location=target.code,
                reference=ref,
            )
            for sku, qty in more.items()
        ]
    ledger = Ledger.of(uow)
    if holds and not changes:
        # refused on what is committed first, without queueing for a busy level's lock
        refuse_if_short(holds, await ledger.peek([c.key for c in holds]))
    locked = await ledger.lock(sorted({c.key for c in [*changes, *holds]}), create_missing=False)
    for release in changes:  # a hold renewed where it ran out counts its own units back
        locked[release.key] = locked[release.key].after(release.delta)
    refuse_if_short(holds, locked)
    await ledger.apply(sorted([*changes, *holds], key=lambda c: c.key))
    if target is None:
        cart.hold_location_id, cart.held_until, cart.extended = None, None, False
        return 0
    if not live:
        cart.held_until, cart.extended = now + ctx.cart_hold, False
    cart.hold_location_id = target.id
    return sum(qty for _, qty in lines)


async def _hold_store(uow: UnitOfWork, principal: Principal, code: str) -> LocationRef:
    store = await CatalogueRepository.of(uow).location_ref(code)
    if store.kind != "store":
        raise BusinessRuleViolation(f"{code} is not a store; carts are held at stores")
    if not principal.acts_at(code):
        raise Forbidden(f"you act at {', '.join(sorted(principal.store_codes))} only")
    return store


async def _check_cap(ctx: OrderContext, uow: UnitOfWork, cart: Cart, held: int) -> None:
    """Checked under the customer's row lock, taken after the stock's (as an order does)."""
    if not held:
        return
    carts = CartRepository.of(uow)
    await carts.lock_customer(cart.customer_id)
    rules.check_hold_cap(
        await carts.held_by_customer(cart.customer_id, cart.id), held, ctx.max_held_units
    )


async def _write_lines(uow: UnitOfWork, cart: Cart, lines: list[tuple[str, int]]) -> None:
    skus: dict[str, SkuRef] = await CatalogueRepository.of(uow).skus_by_code(
        [sku for sku, _ in lines]
    )
    holding = cart.hold_location_id is not None
    await CartRepository.of(uow).replace_lines(
        cart.id, [(skus[sku].id, qty, qty if holding else 0) for sku, qty in lines]
    )


def _step(
    uow: UnitOfWork,
    principal: Principal,
    cart: Cart,
    event: str,
    summary: str,
    *,
    location_id: int | None = None,
    order_id: uuid.UUID | None = None,
) -> None:
    """A step of the cart's story and of the customer's timeline, with its channel."""
    record_step(cart, event, principal.channel.value, principal.actor)
    OrderRepository.of(uow).add_event(
        event=event,
        channel=principal.channel.value,
        actor=principal.actor,
        customer_id=cart.customer_id,
        location_id=location_id,
        order_id=order_id,
        summary=f"cart {cart.code}: {summary}",
    )


async def _held_step(uow: UnitOfWork, principal: Principal, cart: Cart) -> None:
    code = await CartRepository.of(uow).location_code(cart.hold_location_id)
    assert cart.held_until is not None
    _step(
        uow,
        principal,
        cart,
        "cart_held",
        f"held at {code} until {cart.held_until:%H:%M} UTC",
        location_id=cart.hold_location_id,
    )


def _units(lines: list[tuple[str, int]]) -> int:
    return sum(qty for _, qty in lines)


async def _alternatives(
    ctx: OrderContext,
    email: str,
    lines: list[tuple[str, int]],
    hold_at: str | None,
    short: InsufficientStock,
) -> InsufficientStock:
    """The 409 of an order that cannot be filled, with the stores that have the lines."""
    pickup = NewOrder(email or "-", lines, Fulfilment.PICKUP, pickup_location=hold_at)
    return await _with_alternatives(ctx, pickup, lines, short)
