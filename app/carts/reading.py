"""Reading carts: by id, by the code the counter types or scans, a customer's open carts."""

from __future__ import annotations

import uuid

from app.carts.repository import CartRepository
from app.carts.rules import normalise_code
from app.carts.views import CartView, cart_view
from app.orders.customer_repository import CustomerRepository
from app.platform.access import Permission, Principal
from app.platform.context import Context


async def get_cart(ctx: Context, principal: Principal, cart_id: uuid.UUID) -> CartView:
    """A cart is seen from every channel: the app, the web store and the counter."""
    principal.require(Permission.READ)
    async with ctx.uow(readonly=True) as uow:
        return await cart_view(uow, await CartRepository.of(uow).cart(cart_id))


async def cart_by_code(ctx: Context, principal: Principal, code: str) -> CartView:
    """The counter pulls up what the customer prepared (POS keys, staff, admins)."""
    principal.require_role(Permission.SELL_AT_COUNTER)
    async with ctx.uow(readonly=True) as uow:
        carts = CartRepository.of(uow)
        return await cart_view(
            uow, await carts.cart(await carts.cart_id_by_code(normalise_code(code)))
        )


async def open_carts(ctx: Context, principal: Principal, email: str) -> list[CartView]:
    """The customer's open carts, whichever channel started them."""
    principal.require(Permission.READ)
    async with ctx.uow(readonly=True) as uow:
        customer = await CustomerRepository.of(uow).customer_by_email(email)
        if customer is None:
            return []
        return [
            await cart_view(uow, cart)
            for cart in await CartRepository.of(uow).open_carts(customer.id)
        ]
