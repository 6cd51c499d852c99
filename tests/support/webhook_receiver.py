"""A real HTTP server that receives webhooks, for tests: `http.server` in a thread on a free
local port. It records every request it was sent and answers as the test says (a status, a
delay), and it verifies signatures with the `standardwebhooks` package, an implementation
independent of ours."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


class Receiver:
    """Answers `status` (200 unless told otherwise) after `delay` seconds."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.fail_next = 0
        """Answer 500 to this many requests first."""
        self.delay = 0.0
        self.arrived = 0
        """Requests that have arrived, answered or not yet."""
        self.gate = threading.Event()
        """Cleared: requests wait here, unanswered, until it is set again."""
        self.gate.set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.arrived += 1
                time.sleep(receiver.delay)
                receiver.gate.wait()
                with receiver._lock:
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        status = 500
                    else:
                        status = receiver.status
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._handler = Handler
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def up(self) -> None:
        """Listen (again, on the same port after `down`)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/omnistock"

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def accepted(self) -> list[Received]:
        """The requests it answered 2xx, in the order they came."""
        return [r for r in self.received() if 200 <= r.answered < 300]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's event, each verified with `standardwebhooks` (raises if one fails)."""
        webhook = Webhook(secret)
        return [webhook.verify(r.body, r.headers) for r in self.received()]

    def __enter__(self) -> Self:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.down()
