"""Per request: who calls (for read-your-writes) and whether reads may go to the replica.

A GET may be served by the read replica (`app/platform/replica.py`); every other method reads
the primary, since its reads decide a write. A GET that the replica answered 404 or 5xx is
asked again of the primary before anything is sent: the order a client just placed through
another API process is found there, and a replica that went away costs no failed request.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.platform import replica as reads

READ_METHODS = frozenset({"GET", "HEAD"})
ASKED_AGAIN = frozenset({404, 500, 502, 503, 504})


class ReadRoutingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        state, token = reads.begin_request(scope.get("method") in READ_METHODS)
        try:
            if not state.replica_allowed:
                await self.app(scope, receive, send)
                return
            held = False

            async def send_unless_asking_again(message: Message) -> None:
                nonlocal held
                if message["type"] == "http.response.start":
                    held = reads.served_by_replica() and message["status"] in ASKED_AGAIN
                    if held:
                        reads.FALLBACKS.labels(reason=f"answered_{message['status']}").inc()
                if not held:
                    await send(message)

            await self.app(scope, receive, send_unless_asking_again)
            if held:
                reads.read_again_on_primary()
                await self.app(scope, receive, send)
        finally:
            reads.end_request(token)
