"""Watching events live over HTTP: `GET /v1/stream`, Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from app.events.api import TypesQuery, event_filter
from app.events.stream import StreamHub, follow
from app.events.stream_model import LiveEvent, Marker
from app.platform.http.deps import CallerDep
from app.platform.http.schemas import CodeQuery

NO_COMPRESSION = "no_compression"
"""The opt key the app's compression leaves alone (gzip would hold events back in its buffer)."""

READY_SECONDS = 5.0
"""How long a new stream waits for this process's tailer to have read the log once (only
after a start with the database away) before it is refused with 503."""

SeqParameter = Parameter(ge=0, le=2**62)


@dataclass
class _Encoded(ServerSentEventMessage):
    """A message Litestar encoded once, sent as it is to every subscriber of its event."""

    encoded: bytes = b""

    def encode(self) -> bytes:
        return self.encoded


def _wire(event: LiveEvent) -> bytes:
    if event.wire is None:
        event.wire = ServerSentEventMessage(
            id=event.seq, event=event.type, data=event.body
        ).encode()
    return event.wire


async def _messages(stream: AsyncIterator[LiveEvent | Marker]) -> AsyncIterator[Any]:
    async for item in stream:
        if isinstance(item, LiveEvent):
            yield _Encoded(encoded=_wire(item))
        else:
            yield ServerSentEventMessage(comment=item.value, data=None)


def _streams(state: State) -> StreamHub:
    hub: StreamHub = state.streams
    return hub


class StreamController(Controller):
    path = "/v1/stream"
    tags = ["events"]
    dependencies = {"streams": Provide(_streams, sync_to_thread=False)}

    @get(
        "/",
        summary="Events as they commit, as Server-Sent Events",
        description=(
            "`text/event-stream`: each event is a message whose `id` is its `seq`, `event` its "
            "type and `data` the event as `GET /v1/events` gives it. Without `Last-Event-ID` "
            "or `after` the stream starts with the next event committed; with either, it "
            "first sends every event after that `seq` from the log (`Last-Event-ID` wins: "
            "browsers send it when they reconnect), so a client that resumes with the last id "
            "it saw gets every event once, in order. A `: live` comment follows the catch-up, "
            "a `: heartbeat` comment each `STREAM_HEARTBEAT_SECONDS` without an event. Scoped "
            "like `GET /v1/events`. A client that falls `STREAM_BUFFER_EVENTS` events behind "
            "is dropped (the stream ends; resume with `Last-Event-ID`); at most "
            "`STREAM_MAX_PER_KEY` open streams per key or person (429)."
        ),
        media_type="text/event-stream",
        opt={NO_COMPRESSION: True, "errors_added": [429, 503], "errors_dropped": [403, 404, 422]},
    )
    async def stream(
        self,
        principal: CallerDep,
        streams: NamedDependency[StreamHub],
        types: TypesQuery = None,
        location: CodeQuery = None,
        sku: CodeQuery = None,
        after: Annotated[int | None, SeqParameter] = None,
        last_event_id: Annotated[
            int | None,
            HeaderParameter(
                name="Last-Event-ID",
                ge=0,
                le=2**62,
                description="The last `seq` received: resume after it",
            ),
        ] = None,
    ) -> ServerSentEvent:
        wanted = event_filter(types, location, sku)
        if not await streams.ready(READY_SECONDS):
            raise ConnectionError("the event log cannot be read yet")
        start = last_event_id if last_event_id is not None else after
        if start is None:
            start = await streams.head()  # from the next event committed
        subscription = await streams.open(principal, wanted)
        return ServerSentEvent(_messages(follow(streams, subscription, principal, start)))
