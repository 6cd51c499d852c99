"""A TCP proxy on loopback that a test can use to take a backing service away.

    proxy = TcpProxy(("127.0.0.1", 5432)).start()   # clients connect to 127.0.0.1:proxy.port
    proxy.cut()     # every live connection is closed at once (both sides); new ones work
    proxy.stop()    # the service is down: live connections closed, new ones refused
    proxy.start()   # back again, on the same port

It runs its own event loop on a daemon thread, so it keeps forwarding while the test blocks,
and every method is safe to call from any thread (not from the proxy's own loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

T = TypeVar("T")

CONTROL_TIMEOUT_SECONDS = 5.0
CHUNK = 65536


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class TcpProxy:
    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self.host = host
        self.port = port or _free_port(host)
        self.accepted = 0
        """Connections accepted since the proxy was made."""
        self.cuts = 0
        """Connections the proxy closed by `cut()` or `stop()`."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"tcp-proxy-{self.port}", daemon=True
        )
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    # -- control (any thread) -------------------------------------------------------------
    def start(self) -> Self:
        """Listen (again) on `port`; a no-op while already listening."""
        self._call(self._start())
        return self

    def cut(self) -> int:
        """Close every live connection now, as a network failure would; returns how many."""
        return self._call(self._cut())

    def stop(self) -> int:
        """Refuse new connections and close the live ones; returns how many were closed."""
        return self._call(self._stop())

    @property
    def live(self) -> int:
        return len(self._pairs)

    @property
    def listening(self) -> bool:
        return self._server is not None

    def close(self) -> None:
        """Stop for good and end the proxy's thread."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CONTROL_TIMEOUT_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(CONTROL_TIMEOUT_SECONDS)

    # -- the proxy's loop ------------------------------------------------------------------
    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, self.host, self.port, reuse_address=True
            )

    async def _stop(self) -> int:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # the listening socket goes: connects are refused from now on
        return await self._cut()

    async def _cut(self) -> int:
        pairs = list(self._pairs)
        for client, upstream in pairs:
            _abort(client)
            _abort(upstream)
        self._pairs.difference_update(pairs)
        self.cuts += len(pairs)
        await asyncio.sleep(0)  # let the pumps see their sockets go
        return len(pairs)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), CONTROL_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError):
            _abort(writer)
            return
        if self._server is None:  # stopped while we were connecting upstream
            _abort(writer)
            _abort(up_writer)
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        try:
            await asyncio.gather(
                _pump(reader, up_writer), _pump(up_reader, writer), return_exceptions=True
            )
        finally:
            self._pairs.discard(pair)
            _abort(writer)
            _abort(up_writer)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    finally:
        _abort(sink)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once, without flushing: the peer sees a reset, not a polite goodbye."""
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()
