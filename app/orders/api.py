"""Orders and the pickup queue over HTTP."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody, PathParameter, QueryParameter, SkipValidation

from app.orders import closing, line_work, pickup_codes, placing, returns
from app.orders import fulfilment as orders_fulfilment
from app.orders import views as orders_views
from app.orders.commands import NewOrder, ShipAddress
from app.orders.context import OrderContext
from app.orders.model import Fulfilment, Rejection, RejectReason
from app.orders.schemas import (
    EMAIL_PATTERN,
    AllocationOut,
    OrderIn,
    OrderLineIn,
    OrderLineOut,
    OrderOut,
    OrderPage,
    PaymentOut,
    PickupCodeIn,
    PickupIn,
    ReadyIn,
    RejectedLineIn,
    RejectIn,
    ReturnIn,
)
from app.orders.search_repository import OrderSearch
from app.orders.views import ORDER_REF_PATTERN, OrderView, order_named
from app.platform.http.deps import CallerDep
from app.platform.http.idempotency import answered_with_the_work, created
from app.platform.http.schemas import PLAIN_TEXT, CodePath, CodeQuery, with_offset
from app.platform.idempotency import store as idempotency

OrderContextDep = SkipValidation[OrderContext]

OrderRef = Annotated[
    str,
    PathParameter(
        pattern=ORDER_REF_PATTERN,
        max_length=36,
        description="The order's id, or its number (e.g. W-N7N56JGT)",
    ),
]


def _order_answer(view: OrderView) -> idempotency.Answer:
    """A placed order's 201, as stored for retries and sent: the same bytes either way."""
    return created(order_out(view))


def order_out(view: OrderView) -> OrderOut:
    allocations: dict[str, list[AllocationOut]] = {}
    for a in view.allocations:
        allocations.setdefault(a.sku, []).append(AllocationOut(a.location, a.quantity))
    fulfilment: dict[str, Any] = (
        {"type": "pickup", "location": view.pickup_location}
        if view.fulfilment_type == Fulfilment.PICKUP
        else {"type": "ship", "address": view.ship_address}
    )
    return OrderOut(
        id=view.id,
        number=view.number,
        channel=view.channel,
        status=view.status,
        at_risk=view.at_risk,
        customer_id=view.customer_id,
        lines=[
            OrderLineOut(
                line.sku,
                line.quantity,
                line.unit_price_minor,
                allocations.get(line.sku, []),
                line.returned_quantity,
                name=line.name,
                ready_quantity=line.ready_quantity,
                rejected_quantity=line.rejected_quantity,
                handed_over_quantity=line.handed_over_quantity,
            )
            for line in view.lines
        ],
        total_minor=view.total_minor,
        currency=view.currency,
        fulfilment=fulfilment,
        payment=PaymentOut(
            view.payment_provider,
            view.payment_intent_id,
            view.payment_client_secret if view.show_client_secret else None,
            view.payment_status,
        ),
        notes=view.notes,
        created_at=view.created_at,
        updated_at=view.updated_at,
        customer_name=view.customer_name,
        due_at=view.due_at,
    )


def _order_cursor(view: OrderView) -> str:
    raw = f"{view.created_at.isoformat()}|{view.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_order_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, order_id = raw.partition("|")
        after = datetime.fromisoformat(at), UUID(order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationException("cursor is not valid") from None
    if after[0].utcoffset() is None:  # not one this service issued
        raise ValidationException("cursor is not valid")
    return after


NO_BODY = ReadyIn()
"""`POST .../ready` without a body: every unit ready, as before lines could be."""


def _quantities(lines: list[OrderLineIn]) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in lines]


def _rejections(lines: list[RejectedLineIn]) -> list[Rejection]:
    return [Rejection(line.sku, line.quantity, RejectReason(line.reason)) for line in lines]


class OrderController(Controller):
    path = "/v1/orders"
    tags = ["orders"]

    @post(
        "/",
        summary="Place a pickup or ship order (reserves every line or nothing)",
        opt={"idempotency_required": True, "idempotency_resumable": True},
    )
    async def place(
        self, data: JSONBody[OrderIn], ctx: OrderContextDep, principal: CallerDep
    ) -> Response[OrderOut]:
        if isinstance(data.fulfilment, PickupIn):
            fulfilment, pickup, address = Fulfilment.PICKUP, data.fulfilment.location, None
        else:
            a = data.fulfilment.address
            fulfilment, pickup = Fulfilment.SHIP, None
            address = ShipAddress(
                a.line1, a.city, a.postal_code, a.country.upper(), a.latitude, a.longitude
            )
        return await answered_with_the_work(
            placing.place_order(
                ctx,
                principal,
                NewOrder(
                    email=data.customer.email,
                    name=data.customer.name,
                    phone=data.customer.phone,
                    lines=[(line.sku, line.quantity) for line in data.lines],
                    fulfilment=fulfilment,
                    pickup_location=pickup,
                    address=address,
                    notes=data.notes,
                    channel=data.channel,
                ),
            ),
            _order_answer,
        )

    @get("/", summary="Orders, oldest first (storefront and mobile keys see their channel's)")
    async def list_page(
        self,
        ctx: OrderContextDep,
        principal: CallerDep,
        status: Annotated[str | None, QueryParameter(pattern=r"^[a-z_]{1,24}$")] = None,
        location: CodeQuery = None,
        customer_email: Annotated[
            str | None,
            QueryParameter(pattern=EMAIL_PATTERN, max_length=320, description="An email address"),
        ] = None,
        channel: Annotated[str | None, QueryParameter(pattern=r"^[a-z]{1,16}$")] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                pattern=PLAIN_TEXT,
                description="An order number (exact), or part of the customer's name, email "
                "or phone (any letter case)",
            ),
        ] = None,
        at_risk: Annotated[
            bool | None, QueryParameter(description="Only orders flagged at risk (or not)")
        ] = None,
        due_before: Annotated[
            datetime | None,
            QueryParameter(description="Orders due before this time (RFC 3339, with offset)"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> OrderPage:
        views = await orders_views.list_orders(
            ctx,
            principal,
            status=status,
            location=location,
            customer_email=customer_email,
            channel=channel,
            after=_decode_order_cursor(cursor),
            limit=limit,
            search=OrderSearch(q, at_risk, with_offset(due_before, "due_before")),
        )
        return OrderPage(
            items=[order_out(v) for v in views],
            next_cursor=_order_cursor(views[-1]) if len(views) == limit else None,
        )

    @get("/{order_ref:str}", summary="One order, by its id or its number")
    async def get_one(
        self, order_ref: OrderRef, ctx: OrderContextDep, principal: CallerDep
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(await orders_views.get_order(ctx, principal, order_id))

    @post(
        "/{order_ref:str}/cancel",
        status_code=200,
        summary="Cancel: release the stock and the payment authorisation",
    )
    async def cancel(
        self, order_ref: OrderRef, ctx: OrderContextDep, principal: CallerDep
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(await closing.cancel(ctx, principal, order_id))

    @post(
        "/{order_ref:str}/ready",
        status_code=200,
        summary="Mark lines ready or rejected; all ready: notify the customer with a pickup code",
    )
    async def ready(
        self,
        order_ref: OrderRef,
        ctx: OrderContextDep,
        principal: CallerDep,
        data: JSONBody[ReadyIn] = NO_BODY,
    ) -> OrderOut:
        body = data
        async with order_named(ctx, order_ref) as order_id:
            return order_out(
                await orders_fulfilment.mark_ready(
                    ctx,
                    principal,
                    order_id,
                    _quantities(body.lines) if body.lines is not None else None,
                    _rejections(body.rejected or []),
                )
            )

    @post(
        "/{order_ref:str}/reject",
        status_code=200,
        summary="Reject units the store cannot supply: written off; re-sourced or removed",
    )
    async def reject(
        self,
        order_ref: OrderRef,
        data: JSONBody[RejectIn],
        ctx: OrderContextDep,
        principal: CallerDep,
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(
                await line_work.work_lines(
                    ctx, principal, order_id, [], _rejections(data.lines), data.location
                )
            )

    @post(
        "/{order_ref:str}/pickup",
        status_code=200,
        summary="Hand over against the pickup code: capture the payment and take the units",
    )
    async def pickup(
        self,
        order_ref: OrderRef,
        data: JSONBody[PickupCodeIn],
        ctx: OrderContextDep,
        principal: CallerDep,
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(
                await orders_fulfilment.hand_over(
                    ctx,
                    principal,
                    order_id,
                    data.pickup_code,
                    _quantities(data.lines) if data.lines is not None else None,
                )
            )

    @post(
        "/{order_ref:str}/ship",
        status_code=200,
        summary="Ship: capture the payment and take the units at the allocated locations",
    )
    async def ship(
        self, order_ref: OrderRef, ctx: OrderContextDep, principal: CallerDep
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(await orders_fulfilment.ship(ctx, principal, order_id))

    @post(
        "/{order_ref:str}/returns",
        status_code=200,
        summary="Return at any store: restock there (or write off what is damaged) and refund",
        opt={"idempotency_required": True},
    )
    async def return_items(
        self,
        order_ref: OrderRef,
        data: JSONBody[ReturnIn],
        ctx: OrderContextDep,
        principal: CallerDep,
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(
                await returns.return_order(
                    ctx,
                    principal,
                    order_id,
                    data.location,
                    [(line.sku, line.quantity, line.disposition) for line in data.lines],
                )
            )

    @post(
        "/{order_ref:str}/resend-code",
        status_code=200,
        summary="Send the customer a new pickup code; the one before stops working at once",
    )
    async def resend_code(
        self, order_ref: OrderRef, ctx: OrderContextDep, principal: CallerDep
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(await pickup_codes.resend_code(ctx, principal, order_id))

    @post(
        "/{order_ref:str}/unlock",
        status_code=200,
        summary="Clear a pickup code lockout (a manager of the pickup store, or admin)",
    )
    async def unlock(
        self, order_ref: OrderRef, ctx: OrderContextDep, principal: CallerDep
    ) -> OrderOut:
        async with order_named(ctx, order_ref) as order_id:
            return order_out(await pickup_codes.unlock_code(ctx, principal, order_id))


@get(
    "/v1/locations/{code:str}/pickups",
    summary="A store's pickup queue",
    tags=["orders"],
)
async def pickup_queue(
    code: CodePath,
    ctx: OrderContextDep,
    principal: CallerDep,
    status: Annotated[str | None, QueryParameter(pattern=r"^(confirmed|ready_for_pickup)$")] = None,
) -> list[OrderOut]:
    statuses = [status] if status else ["confirmed", "ready_for_pickup"]
    return [order_out(v) for v in await orders_views.pickup_queue(ctx, principal, code, statuses)]
