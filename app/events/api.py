"""Catching up on events over HTTP: `GET /v1/events?after=`."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import ValidationException
from litestar.params import Parameter, QueryParameter

from app.events.log import EventView
from app.events.model import EVENT_TYPES, EventFilter, parse_types
from app.events.reading import read_events
from app.events.schemas import EventOut, EventPageOut
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.schemas import CodeQuery

_TYPE = "(?:" + "|".join(re.escape(name) for name in sorted(EVENT_TYPES)) + ")"

TypesQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=rf"^{_TYPE}(?:,{_TYPE})*\Z",
        max_length=400,
        description="comma-separated event types, e.g. stock.changed,order.ready_for_pickup",
    ),
]


def event_out(view: EventView) -> EventOut:
    return EventOut(
        seq=view.seq, id=str(view.id), type=view.type, occurred_at=view.occurred_at, data=view.data
    )


def event_filter(types: str | None, location: str | None, sku: str | None) -> EventFilter:
    try:
        wanted = parse_types(types)
    except ValueError as error:
        raise ValidationException(str(error)) from None
    return EventFilter(types=wanted, location=location, sku=sku)


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]

    @get(
        "/",
        summary="Events after a mark, oldest first: ask again with after=next_after",
        description=(
            "Every committed event exactly once and in order: `seq` is given at the commit, "
            "so an event never appears below a mark a reader has passed. Storefront and "
            "mobile keys see stock events and their own channel's orders; POS keys and staff "
            "what happens at their stores."
        ),
    )
    async def list_events(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        after: Annotated[int, Parameter(ge=0, le=2**62)] = 0,
        types: TypesQuery = None,
        location: CodeQuery = None,
        sku: CodeQuery = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> EventPageOut:
        page = await read_events(
            ctx,
            principal,
            after=after,
            wanted=event_filter(types, location, sku),
            limit=limit,
        )
        return EventPageOut(items=[event_out(v) for v in page.items], next_after=page.next_after)
