"""Customers and notifications over HTTP."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch
from litestar.params import FromPath, JSONBody, QueryParameter

from app.orders import customers, notifications
from app.orders.api import OrderContextDep
from app.orders.customers import CustomerView
from app.orders.schemas import (
    CustomerOut,
    EmailQuery,
    NotificationOut,
    PreferredLocationIn,
    PreferredLocationOut,
    TimelineEntryOut,
)
from app.platform.http.deps import CallerDep, ContextDep


def _customer_out(c: CustomerView) -> CustomerOut:
    return CustomerOut(id=c.id, email=c.email, name=c.name, phone=c.phone, created_at=c.created_at)


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]

    @get("/", summary="Find a customer by email")
    async def by_email(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        email: EmailQuery,
    ) -> list[CustomerOut]:
        return [_customer_out(await customers.find_by_email(ctx, principal, email))]

    @get("/{customer_id:uuid}", summary="One customer")
    async def get_one(
        self, customer_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> CustomerOut:
        return _customer_out(await customers.get_customer(ctx, principal, customer_id))

    @patch("/{customer_id:uuid}", summary="Set the customer's preferred store")
    async def set_preferred(
        self,
        customer_id: FromPath[UUID],
        data: JSONBody[PreferredLocationIn],
        ctx: ContextDep,
        principal: CallerDep,
    ) -> PreferredLocationOut:
        code = await customers.set_preferred_location(
            ctx, principal, customer_id, data.preferred_location
        )
        return PreferredLocationOut(customer_id, code)

    @get("/{customer_id:uuid}/timeline", summary="Everything the customer did, any channel")
    async def timeline(
        self, customer_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> list[TimelineEntryOut]:
        return [
            TimelineEntryOut(e.at, e.channel, e.location, e.order_id, e.event, e.summary)
            for e in await customers.timeline(ctx, principal, customer_id)
        ]


@get("/v1/notifications", summary="Messages sent to customers (admin)", tags=["orders"])
async def list_notifications(
    ctx: OrderContextDep,
    principal: CallerDep,
    order_id: Annotated[UUID | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    return [
        NotificationOut(n.id, n.order_id, n.kind, n.to, n.body, n.created_at, n.sent_at)
        for n in await notifications.list_notifications(ctx, principal, order_id, limit)
    ]
