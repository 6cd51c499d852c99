"""The pickup desk: the store's queue by due time, finding an order by number, name or phone,
and working it: lines ready or rejected, the handover against the code, a new code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, Parameter, SkipValidation
from litestar.response import Redirect, Template

from app.console.pages import done, once, page, plain_words, status_of, store_of
from app.orders import fulfilment, pickup_codes
from app.orders import views as order_views
from app.orders.context import OrderContext
from app.orders.model import Rejection, RejectReason
from app.orders.search_repository import OrderSearch
from app.orders.views import OrderView, order_named
from app.platform.access import Principal
from app.platform.errors import DomainError
from app.platform.tables import utcnow

Ctx = SkipValidation[OrderContext]
Me = SkipValidation[Principal]

OPEN_STATUSES = ["confirmed", "ready_for_pickup"]
REASONS = [
    (RejectReason.DAMAGED.value, "Damaged"),
    (RejectReason.NOT_FOUND.value, "Not found on the shelf"),
    (RejectReason.OTHER.value, "Other"),
]
STATUS_WORDS = {
    "pending_payment": "Waiting for payment",
    "confirmed": "To pick",
    "ready_for_pickup": "Ready for pickup",
    "picked_up": "Picked up",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
    "expired": "Expired",
}


def age(since: datetime, now: datetime) -> str:
    """How long an order has waited, as the desk says it."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days"


def _by_due_time(orders: list[OrderView]) -> list[OrderView]:
    return sorted(orders, key=lambda o: (o.due_at or o.created_at, o.created_at))


class PickupDeskController(Controller):
    path = "/console/pickups"
    include_in_schema = False

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        me: Me,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> Template:
        store = store_of(me)
        text = (q or "").strip()
        if text:
            found = await order_views.list_orders(
                ctx,
                me,
                status=None,
                location=store,
                customer_email=None,
                channel=None,
                after=None,
                limit=50,
                search=OrderSearch(text=text),
            )
            orders = [o for o in found if o.pickup_location == store]
        else:
            orders = await order_views.pickup_queue(ctx, me, store, OPEN_STATUSES)
        return page(
            request,
            "pickups.html",
            me,
            orders=_by_due_time(orders),
            q=text,
            now=utcnow(),
            age=age,
            status_words=STATUS_WORDS,
            target="queue",
            partial="pickup_rows.html",
        )

    @get("/{ref:str}")
    async def order(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, ref: FromPath[str]
    ) -> Template:
        return await _order_page(request, ctx, me, ref)

    @post("/{ref:str}/ready", status_code=303)
    async def mark_ready(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, ref: FromPath[str]
    ) -> Redirect | Template:
        form = await request.form()

        async def work() -> OrderView:
            async with order_named(ctx, ref) as order_id:
                return await fulfilment.mark_ready(ctx, me, order_id)

        return await _act(
            request, ctx, me, ref, form, work, "The order is ready for pickup.", "ready"
        )

    @post("/{ref:str}/reject", status_code=303)
    async def reject(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, ref: FromPath[str]
    ) -> Redirect | Template:
        form = await request.form()
        sku = str(form.get("sku", ""))
        reason = str(form.get("reason", ""))
        quantity = str(form.get("quantity", ""))
        if reason not in {r for r, _ in REASONS}:
            return await _order_page(
                request, ctx, me, ref, error="Choose a reason.", status=422, at=f"reject:{sku}"
            )
        if not quantity.isdigit() or int(quantity) < 1:
            return await _order_page(
                request,
                ctx,
                me,
                ref,
                error="Say how many units to reject (1 or more).",
                status=422,
                at=f"reject:{sku}",
            )
        rejection = Rejection(sku, int(quantity), RejectReason(reason))

        async def work() -> OrderView:
            async with order_named(ctx, ref) as order_id:
                return await fulfilment.mark_ready(ctx, me, order_id, [], [rejection])

        notice = f"{quantity} of {sku} rejected ({reason.replace('_', ' ')})."
        return await _act(request, ctx, me, ref, form, work, notice, f"reject:{sku}")

    @post("/{ref:str}/hand-over", status_code=303)
    async def hand_over(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, ref: FromPath[str]
    ) -> Redirect | Template:
        form = await request.form()
        code = str(form.get("pickup_code", "")).strip()
        if not (code.isdigit() and len(code) == 6):
            return await _order_page(
                request,
                ctx,
                me,
                ref,
                error="The pickup code is the 6 digits the customer was sent.",
                status=422,
                at="hand-over",
            )

        async def work() -> OrderView:
            async with order_named(ctx, ref) as order_id:
                return await fulfilment.hand_over(ctx, me, order_id, code)

        return await _act(
            request, ctx, me, ref, form, work, "Handed over. The order is complete.", "hand-over"
        )

    @post("/{ref:str}/resend-code", status_code=303)
    async def resend_code(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, ref: FromPath[str]
    ) -> Redirect | Template:
        form = await request.form()

        async def work() -> OrderView:
            async with order_named(ctx, ref) as order_id:
                return await pickup_codes.resend_code(ctx, me, order_id)

        notice = "A new pickup code was sent to the customer; the old one no longer works."
        return await _act(request, ctx, me, ref, form, work, notice, "resend")


async def _act(
    request: Request[Any, Any, Any],
    ctx: OrderContext,
    me: Principal,
    ref: str,
    form: Any,
    work: Any,
    notice: str,
    at: str,
) -> Redirect | Template:
    """Do the form's work once; on a refusal, the order's page again with the reason next to
    the form (`at`) that was sent."""
    try:
        view = await once(request, me, form, work)
    except DomainError as exc:
        return await _order_page(
            request, ctx, me, ref, error=plain_words(exc), status=status_of(exc), at=at
        )
    if view is None:
        notice = "That was done already (the form was sent twice)."
    return done(request, notice, f"/console/pickups/{ref}")


async def _order_page(
    request: Request[Any, Any, Any],
    ctx: OrderContext,
    me: Principal,
    ref: str,
    error: str | None = None,
    status: int = 200,
    at: str | None = None,
) -> Template:
    try:
        async with order_named(ctx, ref) as order_id:
            order = await order_views.get_order(ctx, me, order_id)
    except DomainError as exc:
        return page(
            request,
            "not_found.html",
            me,
            status=status_of(exc),
            message=f"No order {ref} at your store. Check the number, or find it by name.",
        )
    return page(
        request,
        "order.html",
        me,
        status=status,
        order=order,
        error=error,
        error_at=at,
        reasons=REASONS,
        status_words=STATUS_WORDS,
        now=utcnow(),
        age=age,
    )
