"""The stockroom: receiving a transfer (all of it or in part) and counting the shelves."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, SkipValidation
from litestar.response import Redirect, Template

from app.console.pages import done, once, page, plain_words, status_of, store_of
from app.inventory import counts, transfers
from app.inventory.transfer_receipts import receive_transfer
from app.orders.context import OrderContext
from app.platform.access import Principal
from app.platform.errors import DomainError, NotFound

Ctx = SkipValidation[OrderContext]
Me = SkipValidation[Principal]

INCOMING = {"in_transit", "partially_received"}
_SKU_LIST = re.compile(r"[\s,;]+")


def _numbers(form: FormMultiDict, prefix: str) -> tuple[list[tuple[str, int]], list[str]]:
    """Fields `<prefix><sku>` holding whole numbers: the filled ones, and the SKUs whose
    field holds something else."""
    numbers, wrong = [], []
    for name, value in form.multi_items():
        if not name.startswith(prefix):
            continue
        text = str(value).strip()
        if text == "":
            continue
        if not text.isdigit() or len(text) > 6:
            wrong.append(name.removeprefix(prefix))
            continue
        numbers.append((name.removeprefix(prefix), int(text)))
    return numbers, wrong


class TransfersController(Controller):
    path = "/console/transfers"
    include_in_schema = False

    @get("/")
    async def incoming(self, request: Request[Any, Any, Any], ctx: Ctx, me: Me) -> Template:
        store = store_of(me)
        found = await transfers.list_transfers(
            ctx, me, location=store, status=None, after=None, limit=100
        )
        arriving = [t for t in found if t.to_location == store and t.status in INCOMING]
        return page(request, "transfers.html", me, transfers=arriving)

    @get("/{transfer_id:uuid}")
    async def transfer(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, transfer_id: FromPath[uuid.UUID]
    ) -> Template:
        return await _transfer_page(request, ctx, me, transfer_id)

    @post("/{transfer_id:uuid}/receive", status_code=303)
    async def receive(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, transfer_id: FromPath[uuid.UUID]
    ) -> Redirect | Template:
        form = await request.form()
        lines, wrong = _numbers(form, "received:")
        lines = [(sku, n) for sku, n in lines if n > 0]
        if wrong or not lines:
            error = (
                f"Received must be a whole number of units ({', '.join(wrong)})."
                if wrong
                else "Enter how many units arrived of at least one line."
            )
            return await _transfer_page(request, ctx, me, transfer_id, error, 422)

        async def work() -> Any:
            return await receive_transfer(ctx, me, transfer_id, lines=lines)

        units = sum(n for _, n in lines)
        return await _act(
            request,
            me,
            form,
            work,
            f"{units} units received.",
            f"/console/transfers/{transfer_id}",
            lambda error, status: _transfer_page(request, ctx, me, transfer_id, error, status),
        )


async def _transfer_page(
    request: Request[Any, Any, Any],
    ctx: OrderContext,
    me: Principal,
    transfer_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> Template:
    try:
        transfer = await transfers.get_transfer(ctx, transfer_id)
        if not me.store_codes & {transfer.to_location, transfer.from_location}:
            raise NotFound(f"transfer {transfer_id} not found")
    except DomainError as exc:
        return page(
            request, "not_found.html", me, status=status_of(exc), message="No such transfer here."
        )
    return page(
        request,
        "transfer.html",
        me,
        status=status,
        transfer=transfer,
        error=error,
        receivable=transfer.to_location in me.store_codes and transfer.status in INCOMING,
    )


class CountsController(Controller):
    path = "/console/counts"
    include_in_schema = False

    @get("/")
    async def open_counts(self, request: Request[Any, Any, Any], ctx: Ctx, me: Me) -> Template:
        return await _counts_page(request, ctx, me)

    @post("/", status_code=303)
    async def start(self, request: Request[Any, Any, Any], ctx: Ctx, me: Me) -> Redirect | Template:
        form = await request.form()
        skus = [s for s in _SKU_LIST.split(str(form.get("skus", "")).strip()) if s]
        try:
            view = await once(
                request,
                me,
                form,
                lambda: counts.open_count(ctx, me, location=store_of(me), skus=skus),
            )
        except DomainError as exc:
            return await _counts_page(request, ctx, me, plain_words(exc), status_of(exc))
        if view is None:
            return done(request, "That count was started already.", "/console/counts")
        return done(request, "Count started.", f"/console/counts/{view.id}")

    @get("/{count_id:uuid}")
    async def count(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, count_id: FromPath[uuid.UUID]
    ) -> Template:
        return await _count_page(request, ctx, me, count_id)

    @post("/{count_id:uuid}/lines", status_code=303)
    async def record(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, count_id: FromPath[uuid.UUID]
    ) -> Redirect | Template:
        form = await request.form()
        lines, wrong = _numbers(form, "counted:")
        added = str(form.get("add_sku", "")).strip()
        added_count = str(form.get("add_counted", "")).strip()
        if added:
            if not added_count.isdigit():
                wrong.append(added)
            else:
                lines.append((added, int(added_count)))
        if wrong or not lines:
            error = (
                f"Counted must be a whole number of units ({', '.join(wrong)})."
                if wrong
                else "Enter the units counted of at least one line."
            )
            return await _count_page(request, ctx, me, count_id, error, 422)
        return await _act(
            request,
            me,
            form,
            lambda: counts.record_counted(ctx, me, count_id, lines),
            "Counts saved.",
            f"/console/counts/{count_id}",
            lambda error, status: _count_page(request, ctx, me, count_id, error, status),
        )

    @post("/{count_id:uuid}/approve", status_code=303)
    async def approve(
        self, request: Request[Any, Any, Any], ctx: Ctx, me: Me, count_id: FromPath[uuid.UUID]
    ) -> Redirect | Template:
        form = await request.form()
        return await _act(
            request,
            me,
            form,
            lambda: counts.approve_count(ctx, me, count_id),
            "Count approved: the stock now matches what was counted.",
            f"/console/counts/{count_id}",
            lambda error, status: _count_page(request, ctx, me, count_id, error, status),
        )


async def _act(
    request: Request[Any, Any, Any],
    me: Principal,
    form: FormMultiDict,
    work: Callable[[], Awaitable[Any]],
    notice: str,
    then: str,
    refused: Callable[[str, int], Awaitable[Template]],
) -> Redirect | Template:
    try:
        result = await once(request, me, form, work)
    except DomainError as exc:
        return await refused(plain_words(exc), status_of(exc))
    return done(request, notice if result is not None else "That was done already.", then)


async def _counts_page(
    request: Request[Any, Any, Any],
    ctx: OrderContext,
    me: Principal,
    error: str | None = None,
    status: int = 200,
) -> Template:
    found = await counts.list_counts(
        ctx, me, location=store_of(me), status="open", after=None, limit=50
    )
    return page(request, "counts.html", me, status=status, counts=found, error=error)


async def _count_page(
    request: Request[Any, Any, Any],
    ctx: OrderContext,
    me: Principal,
    count_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> Template:
    try:
        count = await counts.get_count(ctx, me, count_id)
    except DomainError as exc:
        return page(
            request, "not_found.html", me, status=status_of(exc), message="No such count here."
        )
    return page(request, "count.html", me, status=status, count=count, error=error)
