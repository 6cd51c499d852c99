"""Orders, the pickup queue, POS, customers, notifications and the Stripe webhook."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import stripe
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from app.api.dependencies import CallerDep, UnitOfWorkDep
from app.api.errors import STATUS_OF_CODE, error_body
from app.api.order_schemas import (
    AllocationOut,
    CustomerOut,
    NotificationOut,
    OrderIn,
    OrderLineOut,
    OrderOut,
    OrderPage,
    PaymentOut,
    PickupCodeIn,
    PickupIn,
    PosBatchOut,
    PosBatchResult,
    PosReturnIn,
    PosSaleBatchIn,
    PosSaleIn,
    ReturnIn,
    TimelineEntryOut,
)
from app.api.schemas import CodePath, CodeQuery
from app.domain.orders import Fulfilment
from app.services import customers, notifications, orders, pos
from app.services.orders import NewOrder, OrderContext, OrderView, ShipAddress
from app.services.pos import CounterLine, CounterReturn, CounterSale

OrdersDep = NamedDependency[OrderContext]


def _orders(state: State) -> OrderContext:
    return state.orders  # type: ignore[no-any-return]


ORDER_DEPENDENCIES = {"ctx": Provide(_orders, sync_to_thread=False)}


def order_out(view: OrderView) -> OrderOut:
    o = view.order
    allocations: dict[str, list[AllocationOut]] = {}
    for a in view.allocations:
        allocations.setdefault(a.sku, []).append(AllocationOut(a.location, a.quantity))
    fulfilment: dict[str, Any] = (
        {"type": "pickup", "location": view.pickup_location}
        if o.fulfilment_type == Fulfilment.PICKUP
        else {"type": "ship", "address": o.ship_address}
    )
    return OrderOut(
        id=o.id,
        number=o.number,
        channel=o.channel,
        status=o.status,
        at_risk=o.at_risk,
        customer_id=o.customer_id,
        lines=[
            OrderLineOut(
                line.sku,
                line.quantity,
                line.unit_price_minor,
                allocations.get(line.sku, []),
                line.returned_quantity,
            )
            for line in view.lines
        ],
        total_minor=o.total_minor,
        currency=o.currency,
        fulfilment=fulfilment,
        payment=PaymentOut(
            o.payment_provider,
            o.payment_intent_id,
            o.payment_client_secret if view.show_client_secret else None,
            o.payment_status,
        ),
        notes=o.notes,
        created_at=o.created_at,
        updated_at=o.updated_at,
    )


def _order_cursor(view: OrderView) -> str:
    raw = f"{view.order.created_at.isoformat()}|{view.order.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_order_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, order_id = raw.partition("|")
        return datetime.fromisoformat(at), UUID(order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationException("cursor is not valid") from None


class OrderController(Controller):
    path = "/v1/orders"
    tags = ["orders"]
    dependencies = ORDER_DEPENDENCIES

    @post(
        "/",
        summary="Place a pickup or ship order (reserves every line or nothing)",
        opt={"idempotency_required": True, "idempotency_resumable": True},
    )
    async def place(
        self, data: JSONBody[OrderIn], ctx: OrdersDep, principal: CallerDep
    ) -> OrderOut:
        if isinstance(data.fulfilment, PickupIn):
            fulfilment, pickup, address = Fulfilment.PICKUP, data.fulfilment.location, None
        else:
            a = data.fulfilment.address
            fulfilment, pickup = Fulfilment.SHIP, None
            address = ShipAddress(
                a.line1, a.city, a.postal_code, a.country.upper(), a.latitude, a.longitude
            )
        view = await orders.place_order(
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
        )
        return order_out(view)

    @get("/", summary="Orders, oldest first (storefront and mobile keys see their channel's)")
    async def list_page(
        self,
        ctx: OrdersDep,
        principal: CallerDep,
        status: Annotated[str | None, QueryParameter(pattern=r"^[a-z_]{1,24}$")] = None,
        location: CodeQuery = None,
        customer_email: Annotated[str | None, QueryParameter(max_length=320)] = None,
        channel: Annotated[str | None, QueryParameter(pattern=r"^[a-z]{1,16}$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> OrderPage:
        views = await orders.list_orders(
            ctx,
            principal,
            status=status,
            location=location,
            customer_email=customer_email,
            channel=channel,
            after=_decode_order_cursor(cursor),
            limit=limit,
        )
        return OrderPage(
            items=[order_out(v) for v in views],
            next_cursor=_order_cursor(views[-1]) if len(views) == limit else None,
        )

    @get("/{order_id:uuid}", summary="One order")
    async def get_one(
        self, order_id: FromPath[UUID], ctx: OrdersDep, principal: CallerDep
    ) -> OrderOut:
        return order_out(await orders.get_order(ctx, principal, order_id))

    @post(
        "/{order_id:uuid}/cancel",
        status_code=200,
        summary="Cancel: release the stock and the payment authorisation",
    )
    async def cancel(
        self, order_id: FromPath[UUID], ctx: OrdersDep, principal: CallerDep
    ) -> OrderOut:
        return order_out(await orders.cancel(ctx, principal, order_id))

    @post(
        "/{order_id:uuid}/ready",
        status_code=200,
        summary="Picked and waiting: notify the customer with a pickup code",
    )
    async def ready(
        self, order_id: FromPath[UUID], ctx: OrdersDep, principal: CallerDep
    ) -> OrderOut:
        return order_out(await orders.mark_ready(ctx, principal, order_id))

    @post(
        "/{order_id:uuid}/pickup",
        status_code=200,
        summary="Hand over against the pickup code: capture the payment and take the units",
    )
    async def pickup(
        self,
        order_id: FromPath[UUID],
        data: JSONBody[PickupCodeIn],
        ctx: OrdersDep,
        principal: CallerDep,
    ) -> OrderOut:
        return order_out(await orders.hand_over(ctx, principal, order_id, data.pickup_code))

    @post(
        "/{order_id:uuid}/ship",
        status_code=200,
        summary="Ship: capture the payment and take the units at the allocated locations",
    )
    async def ship(
        self, order_id: FromPath[UUID], ctx: OrdersDep, principal: CallerDep
    ) -> OrderOut:
        return order_out(await orders.ship(ctx, principal, order_id))

    @post(
        "/{order_id:uuid}/returns",
        status_code=200,
        summary="Return at any store: restock there and refund",
    )
    async def return_items(
        self,
        order_id: FromPath[UUID],
        data: JSONBody[ReturnIn],
        ctx: OrdersDep,
        principal: CallerDep,
    ) -> OrderOut:
        return order_out(
            await orders.return_order(
                ctx,
                principal,
                order_id,
                data.location,
                [(line.sku, line.quantity) for line in data.lines],
            )
        )


@get(
    "/v1/locations/{code:str}/pickups",
    summary="A store's pickup queue",
    tags=["orders"],
    dependencies=ORDER_DEPENDENCIES,
)
async def pickup_queue(
    code: CodePath,
    ctx: OrdersDep,
    principal: CallerDep,
    status: Annotated[str | None, QueryParameter(pattern=r"^(confirmed|ready_for_pickup)$")] = None,
) -> list[OrderOut]:
    statuses = [status] if status else ["confirmed", "ready_for_pickup"]
    return [order_out(v) for v in await orders.pickup_queue(ctx, principal, code, statuses)]


def _sale(data: PosSaleIn) -> CounterSale:
    return CounterSale(
        client_txn_id=data.client_txn_id,
        location=data.location,
        occurred_at=data.occurred_at,
        lines=[CounterLine(x.sku, x.quantity, x.unit_price_minor) for x in data.lines],
        customer_email=data.customer.email if data.customer else None,
    )


class PosController(Controller):
    path = "/v1/pos"
    tags = ["pos"]
    dependencies = ORDER_DEPENDENCIES

    @post("/sales", summary="Record a counter sale (201; 200 with the same body on replay)")
    async def sale(self, data: JSONBody[PosSaleIn], ctx: OrdersDep, principal: CallerDep) -> Any:
        from litestar import Response

        result = await pos.record_sale(ctx, principal, _sale(data))
        return Response(result.body, status_code=200 if result.replayed else 201)

    @post("/sales/batch", status_code=200, summary="Replay sales recorded offline, in order")
    async def batch(
        self, data: JSONBody[PosSaleBatchIn], ctx: OrdersDep, principal: CallerDep
    ) -> PosBatchOut:
        results = []
        for outcome in await pos.record_sales(ctx, principal, [_sale(s) for s in data.sales]):
            if isinstance(outcome, pos.PosResult):
                results.append(PosBatchResult(200 if outcome.replayed else 201, outcome.body))
            else:
                results.append(
                    PosBatchResult(
                        STATUS_OF_CODE.get(outcome.code, 409),
                        error_body(outcome.code, outcome.message, outcome.details),
                    )
                )
        return PosBatchOut(results=results)

    @post("/returns", summary="Record a counter return (restock here, refund the order)")
    async def counter_return(
        self, data: JSONBody[PosReturnIn], ctx: OrdersDep, principal: CallerDep
    ) -> Any:
        from litestar import Response

        result = await pos.record_return(
            ctx,
            principal,
            CounterReturn(
                client_txn_id=data.client_txn_id,
                location=data.location,
                lines=[CounterLine(x.sku, x.quantity, x.unit_price_minor) for x in data.lines],
                original_order_id=data.original_order_id,
                occurred_at=data.occurred_at,
            ),
        )
        return Response(result.body, status_code=200 if result.replayed else 201)


def _customer_out(c: Any) -> CustomerOut:
    return CustomerOut(id=c.id, email=c.email, name=c.name, phone=c.phone, created_at=c.created_at)


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]

    @get("/", summary="Find a customer by email")
    async def by_email(
        self,
        uow: UnitOfWorkDep,
        principal: CallerDep,
        email: Annotated[str, QueryParameter(min_length=3, max_length=320)],
    ) -> list[CustomerOut]:
        return [_customer_out(await customers.find_by_email(uow, principal, email))]

    @get("/{customer_id:uuid}", summary="One customer")
    async def get_one(
        self, customer_id: FromPath[UUID], uow: UnitOfWorkDep, principal: CallerDep
    ) -> CustomerOut:
        return _customer_out(await customers.get_customer(uow, principal, customer_id))

    @get("/{customer_id:uuid}/timeline", summary="Everything the customer did, any channel")
    async def timeline(
        self, customer_id: FromPath[UUID], uow: UnitOfWorkDep, principal: CallerDep
    ) -> list[TimelineEntryOut]:
        return [
            TimelineEntryOut(e.at, e.channel, e.location, e.order_id, e.event, e.summary)
            for e in await customers.timeline(uow, principal, customer_id)
        ]


@get("/v1/notifications", summary="Messages sent to customers (admin)", tags=["orders"])
async def list_notifications(
    uow: UnitOfWorkDep,
    principal: CallerDep,
    order_id: Annotated[UUID | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    return [
        NotificationOut(n.id, n.order_id, n.kind, n.to, n.body, n.created_at, n.sent_at)
        for n in await notifications.list_notifications(uow, principal, order_id, limit)
    ]


@post(
    "/webhooks/stripe",
    status_code=200,
    summary="Stripe events (signed)",
    tags=["webhooks"],
    exclude_from_auth=True,
    dependencies=ORDER_DEPENDENCIES,
)
async def stripe_webhook(request: Request[Any, Any, Any], ctx: OrdersDep) -> dict[str, str]:
    payload = await request.body()
    try:
        event = ctx.payments.verify_webhook(payload, request.headers.get("stripe-signature"))
    except stripe.SignatureVerificationError:
        raise NotAuthorizedException("the Stripe-Signature does not verify") from None
    except ValueError:
        raise ValidationException("the event is not valid JSON") from None
    outcome = await orders.apply_payment_event(ctx, event)
    return {"received": event.id, "outcome": outcome}
