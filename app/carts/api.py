"""Carts over HTTP: start, read, change, hold, extend, check out."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from uuid import UUID

import segno
from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, PathParameter

from app.carts import completing, holding, reading
from app.carts.holding import CartChange
from app.carts.schemas import (
    CartIn,
    CartLineOut,
    CartLinesIn,
    CartOut,
    CartPickupIn,
    CartStepOut,
    CheckoutIn,
    HoldOut,
)
from app.carts.views import CartView
from app.orders.api import OrderContextDep, order_out
from app.orders.commands import ShipAddress
from app.orders.model import Fulfilment
from app.orders.schemas import EmailQuery, OrderOut
from app.platform.http.deps import CallerDep, ContextDep

CartCode = Annotated[
    str,
    PathParameter(pattern=r"^[A-Za-z0-9]{6}\Z", max_length=6, description="The cart's short code"),
]


@lru_cache(maxsize=1024)
def code_qr_svg(code: str) -> str:
    """The code as an SVG QR code, for the app to show at the counter."""
    return str(segno.make(code, error="m", micro=False).svg_inline(scale=4))


def cart_out(view: CartView) -> CartOut:
    return CartOut(
        id=view.id,
        code=view.code,
        code_qr_svg=code_qr_svg(view.code),
        customer_id=view.customer_id,
        status=view.status,
        lines=[
            CartLineOut(line.sku, line.name, line.quantity, line.held, line.unit_price_minor)
            for line in view.lines
        ],
        hold=HoldOut(view.hold.location, view.hold.held_until, view.hold.extended)
        if view.hold
        else None,
        order_id=view.order_id,
        channel_history=[
            CartStepOut(step["at"], step["channel"], step["event"]) for step in view.channel_history
        ],
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


class CartController(Controller):
    path = "/v1/carts"
    tags = ["carts"]

    @post("/", summary="Start a cart (held at a store with hold_at)")
    async def start(
        self, data: JSONBody[CartIn], ctx: OrderContextDep, principal: CallerDep
    ) -> CartOut:
        change = CartChange([(x.sku, x.quantity) for x in data.lines], data.hold_at)
        return cart_out(await holding.start_cart(ctx, principal, data.customer.email, change))

    @get("/", summary="A customer's open carts, from every channel")
    async def of_customer(
        self, ctx: ContextDep, principal: CallerDep, customer_email: EmailQuery
    ) -> list[CartOut]:
        return [cart_out(v) for v in await reading.open_carts(ctx, principal, customer_email)]

    @get("/{cart_id:uuid}", summary="One cart")
    async def get_one(
        self, cart_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> CartOut:
        return cart_out(await reading.get_cart(ctx, principal, cart_id))

    @get("/by-code/{code:str}", summary="The cart with this code (the counter)")
    async def by_code(self, code: CartCode, ctx: ContextDep, principal: CallerDep) -> CartOut:
        return cart_out(await reading.cart_by_code(ctx, principal, code))

    @put("/{cart_id:uuid}/lines", summary="Replace the cart's lines (a hold follows them)")
    async def lines(
        self,
        cart_id: FromPath[UUID],
        data: JSONBody[CartLinesIn],
        ctx: OrderContextDep,
        principal: CallerDep,
    ) -> CartOut:
        change = CartChange([(x.sku, x.quantity) for x in data.lines], data.hold_at)
        return cart_out(await holding.change_lines(ctx, principal, cart_id, change))

    @post("/{cart_id:uuid}/extend", status_code=200, summary="Extend the cart's hold, once")
    async def extend(
        self, cart_id: FromPath[UUID], ctx: OrderContextDep, principal: CallerDep
    ) -> CartOut:
        return cart_out(await holding.extend_hold(ctx, principal, cart_id))

    @post(
        "/{cart_id:uuid}/checkout",
        summary="Turn the cart into an order (its held units become the order's)",
        opt={"idempotency_required": True, "idempotency_resumable": True},
    )
    async def checkout(
        self,
        cart_id: FromPath[UUID],
        data: JSONBody[CheckoutIn],
        ctx: OrderContextDep,
        principal: CallerDep,
    ) -> OrderOut:
        if isinstance(data.fulfilment, CartPickupIn):
            checkout = completing.Checkout(
                Fulfilment.PICKUP, pickup_location=data.fulfilment.location, notes=data.notes
            )
        else:
            a = data.fulfilment.address
            checkout = completing.Checkout(
                Fulfilment.SHIP,
                address=ShipAddress(
                    a.line1, a.city, a.postal_code, a.country.upper(), a.latitude, a.longitude
                ),
                notes=data.notes,
            )
        return order_out(await completing.check_out(ctx, principal, cart_id, checkout))
