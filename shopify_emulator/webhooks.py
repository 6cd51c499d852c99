"""Signed webhook deliveries on a background thread, with knobs for duplicates, drops,
reordering and retries, because real Shopify delivery is at-least-once and unordered."""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from shopify_emulator.clock import iso_utc_precise

logger = logging.getLogger("omnistock.shopify_emulator.webhooks")

TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "fulfillments/create",
        "refunds/create",
        "inventory_levels/update",
    }
)
ORDER_TOPIC_PREFIXES = ("orders/", "fulfillments/", "refunds/")
MAX_PENDING_DELIVERIES = 10_000
MAX_DELIVERY_LOG = 10_000
MAX_RETRY_DELAY_SECONDS = 5.0
_IDLE_POLL_SECONDS = 0.5


def shopify_hmac(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class WebhookSubscription:
    id: int
    shop_domain: str
    topic: str
    address: str
    secret: str
    api_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "admin_graphql_api_id": f"gid://shopify/WebhookSubscription/{self.id}",
            "shop": self.shop_domain,
            "topic": self.topic,
            "address": self.address,
            "api_version": self.api_version,
        }


@dataclass(frozen=True)
class WebhookSettings:
    retry_limit: int
    retry_delay_seconds: float
    timeout_seconds: float


@dataclass(frozen=True)
class Delivery:
    """One webhook as Shopify would send it; retries and duplicates reuse it unchanged."""

    subscription: WebhookSubscription
    topic: str
    body: bytes
    headers: Mapping[str, str]
    webhook_id: str
    event_id: str
    attempt: int = 1
    duplicate: bool = False


@dataclass
class DeliveryRecord:
    webhook_id: str
    event_id: str
    topic: str
    address: str
    attempt: int
    outcome: str  # delivered | failed | dropped | gave_up | overflow
    status_code: int | None = None
    error: str | None = None
    duplicate: bool = False
    at: str = field(default_factory=lambda: iso_utc_precise(time.time()))

    def to_json(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "address": self.address,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "error": self.error,
            "duplicate": self.duplicate,
            "at": self.at,
        }


def build_delivery(
    subscription: WebhookSubscription,
    topic: str,
    payload: Mapping[str, Any],
    *,
    event_id: str,
    triggered_at: float,
    extra_headers: Mapping[str, str] | None = None,
) -> Delivery:
    """Serialise once, so the signature covers exactly the bytes that are sent."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    webhook_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_hmac(subscription.secret, body),
        "X-Shopify-Shop-Domain": subscription.shop_domain,
        "X-Shopify-API-Version": subscription.api_version,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": iso_utc_precise(triggered_at),
        "X-Shopify-Test": "false",
        **(extra_headers or {}),
    }
    return Delivery(
        subscription=subscription,
        topic=topic,
        body=body,
        headers=headers,
        webhook_id=webhook_id,
        event_id=event_id,
    )


class WebhookDispatcher:
    """A single sender thread with a due-time heap; started on first use, stopped by close()."""

    def __init__(self, settings: Callable[[], WebhookSettings]) -> None:
        self._settings = settings
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._sequence = itertools.count()
        self._in_flight = 0
        self._held: list[Delivery] = []
        self._duplicate_next = 0
        self._drop_next = 0
        self._drop_order_ratio = 0.0
        self._drop_rng = random.Random(0)
        self._reverse_next = 0
        self._log: list[DeliveryRecord] = []
        self._thread: threading.Thread | None = None
        self._stopping = False

    # ---- knobs -------------------------------------------------------------------------
    def duplicate_next(self, count: int) -> None:
        """Send each of the next `count` webhooks twice, with the same ids."""
        with self._cond:
            self._duplicate_next = _bounded_count(count)

    def drop_next(self, count: int) -> None:
        """Silently lose the next `count` webhooks (recorded as dropped)."""
        with self._cond:
            self._drop_next = _bounded_count(count)

    def drop_order_webhooks(self, ratio: float, seed: int = 0) -> None:
        """Lose this share (0 to 1) of order, fulfilment and refund webhooks from now on,
        chosen by a generator seeded with `seed`, so a run is repeatable."""
        if not 0.0 <= ratio <= 1.0:
            raise ValueError("the ratio must be between 0 and 1")
        with self._cond:
            self._drop_order_ratio = ratio
            self._drop_rng = random.Random(seed)

    def reverse_next(self, count: int) -> None:
        """Hold the next `count` webhooks and release them newest first."""
        with self._cond:
            self._flush_held_locked()
            self._reverse_next = _bounded_count(count)

    def knobs(self) -> dict[str, int]:
        with self._cond:
            return {
                "duplicate_next": self._duplicate_next,
                "drop_next": self._drop_next,
                "reverse_next": self._reverse_next,
                "held": len(self._held),
                "drop_order_percent": round(self._drop_order_ratio * 100),
            }

    # ---- queueing ----------------------------------------------------------------------
    def enqueue(self, delivery: Delivery) -> None:
        with self._cond:
            if self._drop_next > 0:
                self._drop_next -= 1
                self._record(delivery, "dropped")
                return
            if (
                self._drop_order_ratio
                and delivery.topic.startswith(ORDER_TOPIC_PREFIXES)
                and self._drop_rng.random() < self._drop_order_ratio
            ):
                self._record(delivery, "dropped")
                return
            copies = [delivery]
            if self._duplicate_next > 0:
                self._duplicate_next -= 1
                copies.append(replace(delivery, duplicate=True))
            if self._reverse_next > 0:
                self._held.extend(copies)
                self._reverse_next -= 1
                if self._reverse_next == 0:
                    self._flush_held_locked()
                return
            for copy in copies:
                self._schedule_locked(copy, delay=0.0)

    def flush_held(self) -> None:
        """Release webhooks held by `reverse_next` before the count was reached."""
        with self._cond:
            self._reverse_next = 0
            self._flush_held_locked()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [record.to_json() for record in self._log]

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._in_flight + len(self._held)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is queued, held or being sent; False on timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._heap or self._in_flight or self._held:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, _IDLE_POLL_SECONDS))
            return True

    def clear(self) -> None:
        """Forget queued deliveries, knobs and the log (used by reset)."""
        with self._cond:
            self._heap.clear()
            self._held.clear()
            self._log.clear()
            self._duplicate_next = self._drop_next = self._reverse_next = 0
            self._drop_order_ratio = 0.0
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the sender thread; a later delivery starts a new one."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            if thread is None or not thread.is_alive():
                self._thread = None
                self._stopping = False

    # ---- internals ---------------------------------------------------------------------
    def _flush_held_locked(self) -> None:
        held, self._held = self._held, []
        for delivery in reversed(held):
            self._schedule_locked(delivery, delay=0.0)

    def _schedule_locked(self, delivery: Delivery, *, delay: float) -> None:
        if len(self._heap) >= MAX_PENDING_DELIVERIES:
            self._record(delivery, "overflow", error="too many pending deliveries")
            return
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._sequence), delivery))
        self._ensure_thread_locked()
        self._cond.notify_all()

    def _ensure_thread_locked(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(
                target=self._run, name="shopify-emulator-webhooks", daemon=True
            )
            self._thread.start()

    def _record(
        self,
        delivery: Delivery,
        outcome: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        if len(self._log) >= MAX_DELIVERY_LOG:
            del self._log[: MAX_DELIVERY_LOG // 10]
        self._log.append(
            DeliveryRecord(
                webhook_id=delivery.webhook_id,
                event_id=delivery.event_id,
                topic=delivery.topic,
                address=delivery.subscription.address,
                attempt=delivery.attempt,
                outcome=outcome,
                status_code=status_code,
                error=error,
                duplicate=delivery.duplicate,
            )
        )
        self._cond.notify_all()

    def _next_due(self) -> Delivery | None:
        """Wait (briefly, bounded) for the next due delivery; None when stopping or idle."""
        with self._cond:
            if self._stopping:
                return None
            if not self._heap:
                self._cond.wait(_IDLE_POLL_SECONDS)
                return None
            due_at = self._heap[0][0]
            wait = due_at - time.monotonic()
            if wait > 0:
                self._cond.wait(min(wait, _IDLE_POLL_SECONDS))
                return None
            _, _, delivery = heapq.heappop(self._heap)
            self._in_flight += 1
            return delivery

    def _run(self) -> None:
        with httpx.Client(follow_redirects=False, trust_env=False) as client:
            while not self._stopping:
                delivery = self._next_due()
                if delivery is None:
                    continue
                try:
                    self._send(client, delivery)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        settings = self._settings()
        status_code: int | None = None
        error: str | None = None
        try:
            response = client.post(
                delivery.subscription.address,
                content=delivery.body,
                headers=dict(delivery.headers),
                timeout=httpx.Timeout(
                    settings.timeout_seconds, connect=min(1.0, settings.timeout_seconds)
                ),
            )
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status_code is not None and 200 <= status_code < 300
        logger.info(
            "webhook %s to %s attempt %d: %s",
            delivery.topic,
            delivery.subscription.address,
            delivery.attempt,
            status_code or error,
        )
        with self._cond:
            if ok:
                self._record(delivery, "delivered", status_code=status_code)
                return
            retries_used = delivery.attempt - 1
            if retries_used >= settings.retry_limit or self._stopping:
                self._record(delivery, "gave_up", status_code=status_code, error=error)
                return
            self._record(delivery, "failed", status_code=status_code, error=error)
            delay = min(MAX_RETRY_DELAY_SECONDS, settings.retry_delay_seconds * (2**retries_used))
            self._schedule_locked(replace(delivery, attempt=delivery.attempt + 1), delay=delay)


def _bounded_count(count: int) -> int:
    if not 0 <= count <= MAX_PENDING_DELIVERIES:
        raise ValueError(f"count must be between 0 and {MAX_PENDING_DELIVERIES}")
    return count
