"""Stock lookup (this store and the stores nearby) and a customer's timeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, Parameter, SkipValidation
from litestar.response import Template

from app.console.pages import page, status_of, store_of
from app.inventory.sku_lookup import find_skus, sku_at_store
from app.orders import customers
from app.orders.context import OrderContext
from app.platform.access import Principal
from app.platform.errors import DomainError

Ctx = SkipValidation[OrderContext]
Me = SkipValidation[Principal]


class StockLookupController(Controller):
    path = "/console/stock"
    include_in_schema = False

    @get("/")
    async def lookup(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        me: Me,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> Template:
        text = (q or "").strip()
        store = store_of(me)
        found = await find_skus(ctx, me, text) if text else []
        results = [await sku_at_store(ctx, me, sku, store) for sku in found]
        return page(
            request,
            "stock.html",
            me,
            q=text,
            results=results,
            target="results",
            partial="stock_results.html",
        )


class CustomerController(Controller):
    path = "/console/customers"
    include_in_schema = False

    @get("/{customer_id:uuid}")
    async def timeline(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, customer_id: FromPath[uuid.UUID]
    ) -> Template:
        try:
            customer = await customers.get_customer(ctx, me, customer_id)
            entries = await customers.timeline(ctx, me, customer_id)
        except DomainError as exc:
            return page(
                request,
                "not_found.html",
                me,
                status=status_of(exc),
                message="No such customer at your store.",
            )
        return page(request, "customer.html", me, customer=customer, entries=entries)
