"""Counter sales and returns over HTTP."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.params import JSONBody

from app.orders.api import OrderContextDep
from app.platform.http.deps import CallerDep
from app.platform.http.errors import STATUS_OF_CODE, error_body
from app.pos import till
from app.pos.schemas import PosBatchOut, PosBatchResult, PosReturnIn, PosSaleBatchIn, PosSaleIn
from app.pos.till import CounterLine, CounterReturn, CounterSale


def _sale(data: PosSaleIn) -> CounterSale:
    return CounterSale(
        client_txn_id=data.client_txn_id,
        location=data.location,
        occurred_at=data.occurred_at,  # without an offset: the store's time (till.py)
        lines=[CounterLine(x.sku, x.quantity, x.unit_price_minor) for x in data.lines],
        customer_email=data.customer.email if data.customer else None,
        cart_id=data.cart_id,
    )


class PosController(Controller):
    path = "/v1/pos"
    tags = ["pos"]

    @post("/sales", summary="Record a counter sale (201; 200 with the same body on replay)")
    async def sale(
        self, data: JSONBody[PosSaleIn], ctx: OrderContextDep, principal: CallerDep
    ) -> Any:
        from litestar import Response

        result = await till.record_sale(ctx, principal, _sale(data))
        return Response(result.body, status_code=200 if result.replayed else 201)

    @post("/sales/batch", status_code=200, summary="Replay sales recorded offline, in order")
    async def batch(
        self, data: JSONBody[PosSaleBatchIn], ctx: OrderContextDep, principal: CallerDep
    ) -> PosBatchOut:
        results = []
        for outcome in await till.record_sales(ctx, principal, [_sale(s) for s in data.sales]):
            if isinstance(outcome, till.PosResult):
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
        self, data: JSONBody[PosReturnIn], ctx: OrderContextDep, principal: CallerDep
    ) -> Any:
        from litestar import Response

        result = await till.record_return(
            ctx,
            principal,
            CounterReturn(
                client_txn_id=data.client_txn_id,
                location=data.location,
                lines=[
                    CounterLine(x.sku, x.quantity, x.unit_price_minor, x.disposition)
                    for x in data.lines
                ],
                original_order_id=data.original_order_id,
                occurred_at=data.occurred_at,
            ),
        )
        return Response(result.body, status_code=200 if result.replayed else 201)
