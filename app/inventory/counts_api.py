"""Count sessions over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from app.inventory import counts
from app.inventory.counts import CountView
from app.inventory.cursors import decode_time_cursor, next_time_cursor
from app.inventory.schemas import (
    CountSessionIn,
    CountSessionLineOut,
    CountSessionLinesIn,
    CountSessionOut,
    CountSessionPage,
    CountSessionSummaryOut,
)
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.schemas import CodeQuery, CursorQuery

CountStatus = Literal["open", "approved", "cancelled"]


def count_out(view: CountView) -> CountSessionOut:
    return CountSessionOut(
        id=view.id,
        location=view.location,
        status=view.status,  # type: ignore[arg-type]  # one of CountStatus
        as_of=view.as_of,
        created_by=view.created_by,
        created_at=view.created_at,
        closed_by=view.closed_by,
        closed_at=view.closed_at,
        lines=[
            CountSessionLineOut(
                sku=line.sku,
                counted=line.figures.counted,
                expected=line.figures.expected,
                moved_since=line.figures.moved_since,
                variance=line.figures.variance,
                as_of=line.as_of,
                counted_by=line.counted_by,
                counted_at=line.counted_at,
            )
            for line in view.lines
        ],
    )


def summary_out(view: CountView) -> CountSessionSummaryOut:
    return CountSessionSummaryOut(
        id=view.id,
        location=view.location,
        status=view.status,  # type: ignore[arg-type]  # one of CountStatus
        as_of=view.as_of,
        created_by=view.created_by,
        created_at=view.created_at,
        closed_by=view.closed_by,
        closed_at=view.closed_at,
    )


class CountController(Controller):
    path = "/v1/counts"
    tags = ["stock"]

    @post("/", summary="Start a count session at a location")
    async def open_count(
        self, data: JSONBody[CountSessionIn], ctx: ContextDep, principal: CallerDep
    ) -> CountSessionOut:
        return count_out(
            await counts.open_count(ctx, principal, location=data.location, skus=data.skus)
        )

    @get("/", summary="Count sessions, oldest first; a store's staff see their stores' only")
    async def list_counts(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        location: CodeQuery = None,
        status: FromQuery[CountStatus | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        cursor: CursorQuery = None,
    ) -> CountSessionPage:
        views = await counts.list_counts(
            ctx,
            principal,
            location=location,
            status=status,
            after=decode_time_cursor(cursor),
            limit=limit,
        )
        next_cursor = next_time_cursor(views, limit)
        return CountSessionPage(items=[summary_out(v) for v in views], next_cursor=next_cursor)

    @get("/{count_id:uuid}", summary="A count: each line's expected, counted and variance")
    async def get_count(
        self, count_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> CountSessionOut:
        return count_out(await counts.get_count(ctx, principal, count_id))

    @put("/{count_id:uuid}/lines", summary="Enter counted figures (upsert by SKU)")
    async def record_counted(
        self,
        count_id: FromPath[UUID],
        data: JSONBody[CountSessionLinesIn],
        ctx: ContextDep,
        principal: CallerDep,
    ) -> CountSessionOut:
        view = await counts.record_counted(
            ctx, principal, count_id, [(line.sku, line.counted) for line in data.lines]
        )
        return count_out(view)

    @post(
        "/{count_id:uuid}/approve",
        summary="Approve a count: a count movement per line with a variance",
        status_code=200,
        opt={"errors_added": (422,)},  # nothing counted, or more left than was counted
    )
    async def approve(
        self, count_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> CountSessionOut:
        return count_out(await counts.approve_count(ctx, principal, count_id))

    @post("/{count_id:uuid}/cancel", summary="Abandon an open count", status_code=200)
    async def cancel(
        self, count_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> CountSessionOut:
        return count_out(await counts.cancel_count(ctx, principal, count_id))
