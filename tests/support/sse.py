"""Reading Server-Sent Events from the app in-process, as they come.

Litestar's test client (and httpx's ASGI transport) hand a response over only once the app
has finished it, which an endless stream never does. `open_stream` calls the app itself, in
the test client's event loop (its blocking portal, where the app's lifespan runs), hands
each body chunk over as it is sent, and disconnects like a client going away when the block
ends. `parse` and `Message` read the wire format; the process-level tests read real sockets
with the same parser (`SseReader`).
"""

from __future__ import annotations

import asyncio
import queue
import socket
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

WAIT_SECONDS = 15.0
"""How long a reader waits for the next message before the test fails (a deadline, not a
timing assertion: nothing here is expected to take more than a fraction of it)."""


@dataclass
class Message:
    """One message: its fields, or only comments (a heartbeat, `live`)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def seq(self) -> int:
        assert self.id is not None, self
        return int(self.id)

    @property
    def is_event(self) -> bool:
        return self.event is not None


class SseReader:
    """Bytes in, messages out (the `text/event-stream` format; any line ending)."""

    def __init__(self) -> None:
        self._buffer = ""
        self.raw = b""

    def feed(self, chunk: bytes) -> list[Message]:
        self.raw += chunk
        self._buffer += chunk.decode()
        self._buffer = self._buffer.replace("\r\n", "\n").replace("\r", "\n")
        messages = []
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            messages.append(parse(block))
        return messages


def parse(block: str) -> Message:
    message = Message()
    data: list[str] = []
    for line in block.split("\n"):
        if line.startswith(":"):
            message.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            message.id = value
        elif name == "event":
            message.event = value
        elif name == "data":
            data.append(value)
    message.data = "\n".join(data) if data else None
    return message


@dataclass
class InProcessStream:
    status: int
    headers: dict[str, str]
    _chunks: queue.Queue[dict[str, Any] | None]
    _reader: SseReader = field(default_factory=SseReader)
    _pending: list[Message] = field(default_factory=list)
    ended: bool = False

    @property
    def body(self) -> bytes:
        return self._reader.raw

    async def next(self, seconds: float = WAIT_SECONDS) -> Message:
        """The next message; AssertionError when the stream ended or none came in time."""
        while not self._pending:
            assert not self.ended, "the stream ended"
            try:
                chunk = await asyncio.to_thread(self._chunks.get, True, seconds)
            except queue.Empty:
                raise AssertionError(f"no message within {seconds:.0f} s") from None
            if chunk is None or not chunk.get("more_body", False):
                self.ended = True
            if chunk is not None:
                self._pending += self._reader.feed(chunk.get("body", b""))
        return self._pending.pop(0)

    async def events_until_live(self) -> list[Message]:
        """The catch-up: every event before the `live` comment."""
        events = []
        while True:
            message = await self.next()
            if "live" in message.comments:
                return events
            if message.is_event:
                events.append(message)

    async def events(self, count: int) -> list[Message]:
        """The next `count` events (comments skipped)."""
        found: list[Message] = []
        while len(found) < count:
            message = await self.next()
            if message.is_event:
                found.append(message)
        return found

    async def rest(self) -> bytes:
        """Everything until the app ends the response (a refusal's body)."""
        while not self.ended:
            chunk = await asyncio.to_thread(self._chunks.get, True, WAIT_SECONDS)
            if chunk is None or not chunk.get("more_body", False):
                self.ended = True
            if chunk is not None:
                self._pending += self._reader.feed(chunk.get("body", b""))
        return self.body


def _scope(path: str, params: dict[str, Any] | None, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urllib.parse.urlencode(params or {}).encode(),
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"text/event-stream"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "extensions": {},
    }


async def _call(
    app: Litestar, scope: dict[str, Any], out: queue.Queue[Any], gone: asyncio.Event
) -> None:
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        out.put(message)

    try:
        await app(scope, receive, send)  # type: ignore[arg-type]
    finally:
        out.put(None)


@asynccontextmanager
async def open_stream(
    client: AsyncTestClient[Litestar],
    path: str,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
) -> AsyncIterator[InProcessStream]:
    """`GET path` on the client's app, its answer read as it is sent; disconnects at the end."""
    portal = client.blocking_portal
    out: queue.Queue[dict[str, Any] | None] = queue.Queue()
    gone = portal.call(_new_event)
    running = portal.start_task_soon(_call, client.app, _scope(path, params, headers), out, gone)
    try:
        start = await asyncio.to_thread(out.get, True, WAIT_SECONDS)
        assert start is not None and start["type"] == "http.response.start", start
        stream = InProcessStream(
            status=start["status"],
            headers={k.decode().lower(): v.decode() for k, v in start.get("headers", [])},
            _chunks=out,
        )
        yield stream
    finally:
        portal.call(gone.set)
        await asyncio.to_thread(running.result, WAIT_SECONDS)


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


async def read_until_live(
    client: AsyncTestClient[Litestar],
    path: str,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """The status and body of a stream up to its `live` comment (a refusal's whole body)."""
    async with open_stream(client, path, headers, params) as stream:
        if stream.status != 200:
            return stream.status, (await stream.rest()).decode()
        await stream.events_until_live()
        return stream.status, stream.body.decode()


def seqs(messages: Iterator[Message] | list[Message]) -> list[int]:
    return [m.seq for m in messages]


class SocketStream:
    """`GET path` on a real server over a socket of this test's own, read as it comes (HTTP/1.1,
    chunked). `receive_buffer` makes the socket's kernel buffer small: a client that does not
    read then holds the server up after a few kilobytes instead of megabytes."""

    def __init__(
        self,
        base_url: str,
        path: str,
        headers: dict[str, str],
        receive_buffer: int | None = None,
    ) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.socket = socket.socket()
        if receive_buffer is not None:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.socket.settimeout(WAIT_SECONDS)
        self.socket.connect((host, int(port)))
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._file = self.socket.makefile("rb")
        self._reader = SseReader()
        self._pending: list[Message] = []
        self.ended = False
        self.status: int | None = None

    def read_status(self) -> int:
        """The answer's status (its headers read and skipped)."""
        if self.status is None:
            self.status = int(self._file.readline().split(b" ", 2)[1])
            while self._file.readline() not in (b"\r\n", b""):
                pass
        return self.status

    def next(self) -> Message | None:
        """The next message, or None once the server has ended the stream."""
        self.read_status()
        while not self._pending:
            if self.ended:
                return None
            size_line = self._file.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.ended = True
                continue
            chunk = self._file.read(size)
            self._file.readline()
            self._pending += self._reader.feed(chunk)
        return self._pending.pop(0)

    def events(self, count: int) -> list[Message]:
        """The next `count` events (comments skipped); fewer if the stream ends first."""
        found: list[Message] = []
        while len(found) < count:
            message = self.next()
            if message is None:
                return found
            if message.is_event:
                found.append(message)
        return found

    def until_live(self) -> list[Message]:
        found: list[Message] = []
        while (message := self.next()) is not None and "live" not in message.comments:
            if message.is_event:
                found.append(message)
        return found

    def close(self) -> None:
        self._file.close()
        self.socket.close()
