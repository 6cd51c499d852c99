"""The clients of the load: web shoppers placing pickup and ship orders, tills recording
counter sales, and the back office receiving stock, all over HTTP against several API
processes. Each behaves as docs/api.md tells a client to: on a lost connection or a 5xx it retries
the SAME request (same Idempotency-Key, same client_txn_id), on another API process, a few
times. Every request and how it ended is kept, so the test can check the ledger against
what the clients were told.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

MAX_ATTEMPTS = 8
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.0, 1.0, 1.5, 2.0)
REQUEST_TIMEOUT_SECONDS = 10.0
SHIP_TO = {
    "line1": "1 High St",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
    "latitude": 51.53,
    "longitude": -0.10,
}


@dataclass
class Request:
    """One client request and what became of it (after its retries)."""

    kind: str  # "order" | "sale" | "receipt"
    key: str  # the Idempotency-Key, or the till's client_txn_id
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    attempts: list[str] = field(default_factory=list)  # "201", "503", "ReadError", ...
    seconds: list[float] = field(default_factory=list)  # how long each attempt took
    status: int | None = None  # the last answer; None if no attempt got one
    response: Any = None
    replayed: bool = False  # the last answer came with `Idempotent-Replayed: true`

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def error_code(self) -> str | None:
        if isinstance(self.response, dict) and isinstance(self.response.get("error"), dict):
            return str(self.response["error"].get("code"))
        return None

    @property
    def settled(self) -> bool:
        """The client got an answer it can act on: done, or refused for a business reason."""
        return self.acknowledged or (
            self.status is not None and self.status < 500 and self.error_code != "conflict"
        )

    def describe(self) -> str:
        timed = [f"{a} ({s:.1f}s)" for a, s in zip(self.attempts, self.seconds, strict=True)]
        return f"{self.kind} {self.key}: attempts {timed} -> {self.response}"


def should_retry(status: int, body: Any) -> bool:
    """5xx, and 409 `conflict` ("still being processed; retry shortly")."""
    if status >= 500:
        return True
    error = body.get("error") if isinstance(body, dict) else None
    return status == 409 and isinstance(error, dict) and error.get("code") == "conflict"


class Shoppers:
    """Sends requests round-robin over the API processes and records them."""

    def __init__(
        self,
        base_urls: list[str],
        storefront: dict[str, str],
        admin: dict[str, str],
        tills: dict[str, dict[str, str]],
        skus: list[str],
        locations: list[str],
        seed: int = 7,
    ) -> None:
        self.base_urls = base_urls
        self.storefront = storefront
        self.admin = admin
        self.tills = tills
        self.skus = skus
        self.locations = locations
        self.random = random.Random(seed)
        self.requests: list[Request] = []
        self._next_api = itertools.cycle(range(len(base_urls)))
        self._client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=64)
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- what the clients ask for ---------------------------------------------------------
    def new_order(self) -> Request:
        key = f"order-{uuid.uuid4()}"
        skus = self.random.sample(self.skus, self.random.choice((1, 1, 2)))
        pickup = self.random.random() < 0.6
        body: dict[str, Any] = {
            "customer": {"email": f"shopper{self.random.randrange(250)}@example.com"},
            "lines": [{"sku": sku, "quantity": self.random.choice((1, 1, 2))} for sku in skus],
            "fulfilment": {"type": "pickup", "location": self.random.choice(list(self.tills))}
            if pickup
            else {"type": "ship", "address": SHIP_TO},
            "notes": key,  # lets the test find the order(s) a key produced
        }
        # Without Stripe the web store takes pickup orders (paid when collected); ship orders
        # come from the back office, which takes payment itself.
        key_headers = self.storefront if pickup else self.admin
        if not pickup:
            body["channel"] = "admin"
        return Request("order", key, "/v1/orders", {**key_headers, "Idempotency-Key": key}, body)

    def new_sale(self) -> Request:
        store = self.random.choice(list(self.tills))
        txn = f"till-{uuid.uuid4()}"
        body = {
            "client_txn_id": txn,
            "location": store,
            "occurred_at": datetime.now(UTC).isoformat(),
            "lines": [
                {"sku": self.random.choice(self.skus), "quantity": 1, "unit_price_minor": 1000}
            ],
        }
        return Request("sale", txn, "/v1/pos/sales", dict(self.tills[store]), body)

    def new_receipt(self) -> Request:
        key = f"receipt-{uuid.uuid4()}"
        body = {
            "location": self.random.choice(self.locations),
            "sku": self.random.choice(self.skus),
            "kind": "receipt",
            "quantity": self.random.randint(1, 4),
            "reference": key,
        }
        return Request(
            "receipt", key, "/v1/stock/movements", {**self.admin, "Idempotency-Key": key}, body
        )

    def new_request(self) -> Request:
        roll = self.random.random()
        if roll < 0.5:
            return self.new_order()
        return self.new_sale() if roll < 0.75 else self.new_receipt()

    # -- how they send it -----------------------------------------------------------------
    async def send(self, request: Request, attempts: int = MAX_ATTEMPTS) -> Request:
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)])
            base = self.base_urls[next(self._next_api)]
            started = time.monotonic()
            try:
                response = await self._client.post(
                    base + request.path, json=request.body, headers=request.headers
                )
            except httpx.TransportError as error:  # reset, refused, timed out
                request.attempts.append(type(error).__name__)
                request.seconds.append(time.monotonic() - started)
                continue
            request.seconds.append(time.monotonic() - started)
            request.status = response.status_code
            request.replayed = response.headers.get("idempotent-replayed") == "true"
            try:
                request.response = response.json()
            except ValueError:
                request.response = response.text
            request.attempts.append(str(response.status_code))
            if not should_retry(response.status_code, request.response):
                break
        return request

    async def run(self, total: int, concurrency: int, seconds: float) -> None:
        """`total` requests spread evenly over `seconds`, at most `concurrency` at a time;
        none is started once `seconds` (plus a little slack for a slow machine) are over."""
        budget = iter(range(total))
        started = time.monotonic()
        stop_at = started + seconds * 1.25
        spacing = seconds / total

        async def client() -> None:
            for index in budget:
                await asyncio.sleep(max(0.0, started + index * spacing - time.monotonic()))
                if time.monotonic() > stop_at:
                    return
                request = self.new_request()
                self.requests.append(request)
                await self.send(request)

        await asyncio.gather(*(client() for _ in range(concurrency)))

    # -- what they were told --------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Request]:
        return [r for r in self.requests if r.kind == kind]

    def acknowledged(self, kind: str) -> list[Request]:
        return [r for r in self.of_kind(kind) if r.acknowledged]

    def unsettled(self) -> list[Request]:
        return [r for r in self.requests if not r.settled]

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for r in self.requests:
            label = f"{r.kind}:{r.status}:{r.error_code or ''}".rstrip(":")
            outcomes[label] = outcomes.get(label, 0) + 1
        failed_attempts = sum(a not in ("200", "201") for r in self.requests for a in r.attempts)
        latencies = sorted(s for r in self.requests for s in r.seconds) or [0.0]
        return {
            "requests": len(self.requests),
            "outcomes": dict(sorted(outcomes.items())),
            "failed_attempts": failed_attempts,
            "p50_s": round(latencies[len(latencies) // 2], 3),
            "p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
            "max_s": round(latencies[-1], 3),
        }
