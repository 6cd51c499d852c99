"""Pickup codes after an order is ready: send one, send a new one, lift a lockout."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.inventory.repository import CatalogueRepository
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import OrderStatus, hash_pickup_code, new_pickup_code
from app.orders.repository import OrderRepository
from app.orders.tables import Order
from app.orders.views import OrderView, _view
from app.platform.access import Permission, Principal, Role
from app.platform.errors import BusinessRuleViolation, DomainError, InvalidTransition, NotFound
from app.platform.secrets import seal
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

MAX_RESENDS = 3
RESEND_WINDOW = timedelta(hours=1)
"""At most MAX_RESENDS new codes per order in any RESEND_WINDOW: each one is an email to the
customer, and a resend must not become a way to spam them."""

CODE_RESENT = "pickup_code_resent"
CODE_UNLOCKED = "pickup_code_unlocked"


class TooManyResends(DomainError):
    code = "rate_limited"


def send_pickup_code(
    ctx: OrderContext,
    uow: UnitOfWork,
    order: Order,
    store_name: str,
    email: str,
    code: str,
    kind: str = "ready_for_pickup",
) -> None:
    """Queue the message that carries `code` to the customer, sealed at rest: the outbox is
    read by admins and the code opens the order at the counter. Marking an order ready sends
    the first (`kind="ready_for_pickup"`), `resend_code` the next ones."""
    again = kind != "ready_for_pickup"
    OrderRepository.of(uow).add_notification(
        order_id=order.id,
        kind=kind,
        to=email,
        subject=f"{'A new pickup code for order' if again else 'Order'} {order.number}"
        + ("" if again else " is ready for pickup"),
        body=seal(
            ctx.secrets,
            f"Your order {order.number} is ready at {store_name}. "
            + ("Your earlier pickup code no longer works. " if again else "")
            + f"Show this pickup code at the counter: {code}",
        ),
    )


def resend_allowed(sent_at: list[datetime], now: datetime) -> datetime | None:
    """None if another code may be sent now, else when the next one may be."""
    recent = sorted(at for at in sent_at if now - at < RESEND_WINDOW)
    if len(recent) < MAX_RESENDS:
        return None
    return recent[-MAX_RESENDS] + RESEND_WINDOW


async def resend_code(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    """The customer lost the code: a new one is sent and the old one is dead at once. The
    lockout and the count of wrong codes stay as they were (lifting them is a manager's)."""
    async with ctx.uow() as uow:
        orders = OrderRepository.of(uow)
        order = await orders.order(order_id, for_update=True)
        location = await _authorise(uow, principal, order, Permission.WORK_PICKUPS)
        _require_ready(order, "resend a pickup code for")
        now = utcnow()
        sent = [e.at for e, _ in await orders.events(order.id) if e.event == CODE_RESENT]
        if (next_at := resend_allowed(sent, now)) is not None:
            raise TooManyResends(
                f"at most {MAX_RESENDS} new pickup codes an hour for one order; try again later",
                {"retry_after": next_at.isoformat(), "limit": MAX_RESENDS},
            )
        code = new_pickup_code()
        order.pickup_code_hash = hash_pickup_code(code)  # the old code stops matching here
        order.touch(now)
        customer = await CustomerRepository.of(uow).customer(order.customer_id)
        send_pickup_code(ctx, uow, order, location.name, customer.email, code, kind=CODE_RESENT)
        _record(uow, principal, order, location, CODE_RESENT, "a new pickup code was sent")
        view = await _view(uow, order, False)
        await uow.commit()
    return view


async def unlock_code(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    """Lift a lockout after too many wrong codes: a manager of the pickup store (or an admin)
    has checked who is at the counter."""
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        location = await _authorise(uow, principal, order, Permission.MANAGE_STORE)
        _require_ready(order, "unlock the pickup code of")
        attempts = order.failed_code_attempts or 0
        order.clear_code_attempts()
        order.touch(utcnow())
        _record(
            uow,
            principal,
            order,
            location,
            CODE_UNLOCKED,
            f"the pickup code was unlocked after {attempts} wrong attempt(s)",
        )
        view = await _view(uow, order, False)
        await uow.commit()
    return view


async def _authorise(
    uow: UnitOfWork, principal: Principal, order: Order, permission: Permission
) -> Location:
    """The order's pickup location, once `principal` may do `permission` there. The channel
    that placed an order may have its code resent (the customer asks in the app); another
    channel's order is not there for it."""
    location = None
    if order.pickup_location_id is not None:
        location = (await CatalogueRepository.of(uow).locations_by_id([order.pickup_location_id]))[
            order.pickup_location_id
        ]
    if permission is Permission.WORK_PICKUPS and principal.role in (Role.STOREFRONT, Role.MOBILE):
        principal.require(Permission.PLACE_ORDERS)
        if not principal.placed(order.channel):
            raise NotFound(f"order {order.id} not found", {"order_id": str(order.id)})
    else:
        principal.require(permission, at_location=location.code if location else None)
    if location is None:
        raise BusinessRuleViolation("this order is shipped, not picked up: it has no pickup code")
    return location


def _require_ready(order: Order, action: str) -> None:
    if order.status != OrderStatus.READY_FOR_PICKUP:
        raise InvalidTransition(
            f"cannot {action} an order that is {order.status}; only one ready for pickup",
            {"status": order.status},
        )


def _record(
    uow: UnitOfWork, principal: Principal, order: Order, location: Location, event: str, text: str
) -> None:
    OrderRepository.of(uow).add_event(
        event=event,
        channel=principal.channel.value,
        actor=principal.actor,
        order_id=order.id,
        customer_id=order.customer_id,
        location_id=location.id,
        summary=f"{order.number}: {text}",
    )
