"""Admin GraphQL calls with Shopify's limits honoured."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

import shopify
import structlog
from prometheus_client import Counter

from app.integrations.shopify import discovery, orders, webhook_subscriptions
from app.integrations.shopify.errors import ShopifyRequestRejected, ShopifyUnavailable, read_error
from app.integrations.shopify.throttle import _is_throttled, _throttle_wait, bucket_for
from app.integrations.shopify.tokens import TokenSource
from app.storefronts.ports import (
    QuantityToSet,
    ShopifyConnection,
    ShopLocation,
    ShopVariant,
    UserError,
)

log = structlog.get_logger("omnistock.shopify")

MUTATION_COST_GUESS = 10

READ_COST_PER_LEVEL = 3

MAX_QUERY_COST = 1000

READS_PER_QUERY = 100  # 3 points each: well under the 1,000-point cap of one query

MAX_THROTTLE_RETRIES = 20

SHOPIFY_CALLS = Counter(
    "omnistock_shopify_calls_total",
    "Shopify Admin API calls, by outcome (ok, throttled, http_429, http_5xx, http_4xx, "
    "network_error, graphql_error).",
    ["outcome"],
)

SHOPIFY_THROTTLED = Counter(
    "omnistock_shopify_throttled_total",
    "Shopify answers that said slow down (THROTTLED or HTTP 429).",
)

SET_AVAILABLE = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""

SET_AVAILABLE_LEGACY = """
mutation SetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""
"""For API versions before 2026-01, which know neither @idempotent nor changeFromQuantity."""


# ---- the library, with a timeout ---------------------------------------------------------
class _TimedGraphQL(shopify.GraphQL):  # type: ignore[misc]
    """`shopify.GraphQL` whose request has a timeout and keeps the body of HTTP errors."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> str:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
        )
        data = {"query": query, "variables": variables, "operationName": operation_name}
        request = urllib.request.Request(self.endpoint, json.dumps(data).encode(), headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body: bytes = response.read()
            return body.decode("utf-8")


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


# ---- the client -------------------------------------------------------------------------
@dataclass
class _Retries:
    failures: int = 0
    throttles: int = 0
    refreshed: bool = False


class ShopifyClient:
    """Synchronous (the library is): call it from a worker thread, e.g. `asyncio.to_thread`."""

    def __init__(
        self,
        connection: ShopifyConnection,
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.25,
        backoff_cap: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.tokens = TokenSource(connection, monotonic)
        self.bucket = bucket_for(connection.site, connection.shop_domain)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._monotonic = monotonic
        self._cost_of: dict[str, float] = {}
        self.calls = 0
        self.throttled = 0

    # ---- use cases ----------------------------------------------------------------------
    def set_available(
        self,
        quantities: Sequence[QuantityToSet],
        *,
        idempotency_key: str,
        reference_document_uri: str | None = None,
        reason: str = "correction",
    ) -> list[UserError]:
        """Set absolute `available` quantities in one `inventorySetQuantities` call (≤ 250).

        `changeFromQuantity: null` opts out of compare-and-swap: we are the source of truth.
        Returns Shopify's userErrors; the call applies nothing when there are any."""
        legacy = not self.connection.supports_idempotency
        entries: list[dict[str, Any]] = []
        for q in quantities:
            entry: dict[str, Any] = {
                "inventoryItemId": q.inventory_item_id,
                "locationId": q.location_id,
                "quantity": q.quantity,
            }
            if not legacy:
                entry["changeFromQuantity"] = None
            entries.append(entry)
        payload: dict[str, Any] = {
            "name": "available",
            "reason": reason,
            "quantities": entries,
        }
        if reference_document_uri:
            payload["referenceDocumentUri"] = reference_document_uri
        if legacy:
            payload["ignoreCompareQuantity"] = True
            data = self.execute(
                "SetAvailable", SET_AVAILABLE_LEGACY, {"input": payload}, MUTATION_COST_GUESS
            )
        else:
            data = self.execute(
                "SetAvailable",
                SET_AVAILABLE,
                {"input": payload, "key": idempotency_key},
                MUTATION_COST_GUESS,
            )
        result = (data or {}).get("inventorySetQuantities") or {}
        return [_user_error(e) for e in result.get("userErrors") or []]

    def read_available(
        self, levels: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int | None]:
        """`available` of each (inventory item gid, location gid), batched with aliases;
        None where Shopify has no such level or does not track the item."""
        found: dict[tuple[str, str], int | None] = {}
        for start in range(0, len(levels), READS_PER_QUERY):
            chunk = levels[start : start + READS_PER_QUERY]
            declarations = ", ".join(f"$i{n}: ID!, $l{n}: ID!" for n in range(len(chunk)))
            fields = " ".join(
                f"r{n}: inventoryItem(id: $i{n}) {{ tracked inventoryLevel(locationId: $l{n}) "
                '{ quantities(names: ["available"]) { name quantity } } }'
                for n in range(len(chunk))
            )
            variables: dict[str, Any] = {}
            for n, (item, location) in enumerate(chunk):
                variables[f"i{n}"] = item
                variables[f"l{n}"] = location
            data = self.execute(
                "ReadAvailable",
                f"query ReadAvailable({declarations}) {{ {fields} }}",
                variables,
                READ_COST_PER_LEVEL * len(chunk) + 1,
                cost_key=f"ReadAvailable:{len(chunk)}",
            )
            for n, key in enumerate(chunk):
                found[key] = _available_of((data or {}).get(f"r{n}"))
        return found

    def read_locations(self) -> list[ShopLocation]:
        """Every location of the shop, a page of 250 at a time."""
        return discovery.read_locations(self.execute)

    def read_variants(self) -> list[ShopVariant]:
        """Every variant's SKU, barcode and inventory item, a page of 250 at a time."""
        return discovery.read_variants(self.execute)

    def read_orders(self, updated_since: datetime) -> list[dict[str, Any]]:
        """Orders updated at or after `updated_since`, oldest update first."""
        return orders.read_orders_updated_since(self.execute, updated_since)

    def subscribe_webhooks(self, topics: Sequence[str], uri: str) -> dict[str, str]:
        """Make sure the shop sends `topics` to `uri`; topic -> subscription gid."""
        have = webhook_subscriptions.existing(self.execute)
        found: dict[str, str] = {}
        for topic in topics:
            gid = have.get((webhook_subscriptions.topic_enum(topic), uri))
            found[topic] = gid or webhook_subscriptions.create(self.execute, topic, uri)
        return found

    def unsubscribe_webhook(self, subscription_id: str) -> bool:
        return webhook_subscriptions.delete(self.execute, subscription_id)

    # ---- transport, limits and retries ----------------------------------------------------
    def execute(
        self,
        operation_name: str,
        query: str,
        variables: dict[str, Any],
        estimated_cost: float,
        *,
        cost_key: str | None = None,
    ) -> dict[str, Any] | None:
        """One GraphQL operation, waiting for the bucket first and retrying what is worth
        retrying: THROTTLED and 429 after the wait Shopify implies, 5xx and network errors
        with exponential backoff and jitter, a 401 once with a fresh client-credentials
        token. Raises `ShopifyUnavailable` when the retries run out."""
        cost_key = cost_key or operation_name
        retries = _Retries()
        while True:
            cost = self._cost_of.get(cost_key, estimated_cost)
            wait = self.bucket.reserve(cost, self._monotonic())
            if wait > 0:
                log.debug("waiting for the shopify bucket", seconds=round(wait, 3), cost=cost)
                self._sleep(wait)
            try:
                raw = self._post(query, variables, operation_name)
            except urllib.error.HTTPError as error:
                self.calls += 1
                self._after_http_error(error, operation_name, retries)
                continue
            except (OSError, ValueError) as error:  # refused, reset, timeout, bad URL
                self.calls += 1
                SHOPIFY_CALLS.labels(outcome="network_error").inc()
                retries.failures += 1
                self._give_up_after(retries.failures, f"{operation_name} failed: {error}")
                self._sleep(self._backoff(retries.failures))
                continue
            self.calls += 1
            body = _json_object(raw)
            if self._throttled(body, cost_key, cost, operation_name, retries):
                continue
            errors = body.get("errors")
            if errors:
                SHOPIFY_CALLS.labels(outcome="graphql_error").inc()
                raise ShopifyRequestRejected(f"{operation_name}: {_error_messages(errors)}")
            SHOPIFY_CALLS.labels(outcome="ok").inc()
            data = body.get("data")
            return data if isinstance(data, dict) else None

    def _after_http_error(
        self, error: urllib.error.HTTPError, operation_name: str, retries: _Retries
    ) -> None:
        """Sleep before the retry an HTTP error deserves, or raise if it deserves none."""
        if error.code == 401 and self.tokens.refreshable and not retries.refreshed:
            SHOPIFY_CALLS.labels(outcome="http_4xx").inc()
            self.tokens.forget()
            retries.refreshed = True
            return
        if error.code == 429:
            SHOPIFY_CALLS.labels(outcome="http_429").inc()
            SHOPIFY_THROTTLED.inc()
            self.throttled += 1
            retries.failures += 1
            self._give_up_after(retries.failures, f"HTTP 429 from {operation_name}")
            delay = _retry_after(error.headers)
            pause = self._backoff(retries.failures) if delay is None else self._jitter(delay)
            self._sleep(pause)
            return
        if error.code >= 500:
            SHOPIFY_CALLS.labels(outcome="http_5xx").inc()
            retries.failures += 1
            self._give_up_after(retries.failures, f"HTTP {error.code} from {operation_name}")
            self._sleep(self._backoff(retries.failures))
            return
        SHOPIFY_CALLS.labels(outcome="http_4xx").inc()
        raise ShopifyRequestRejected(
            f"HTTP {error.code} from {operation_name}: {read_error(error)}"
        ) from None

    def _throttled(
        self,
        body: dict[str, Any],
        cost_key: str,
        cost: float,
        operation_name: str,
        retries: _Retries,
    ) -> bool:
        """Learn the bucket and the real cost from the answer; if it was THROTTLED, sleep
        until the bucket holds the cost and say so."""
        cost_info = ((body.get("extensions") or {}).get("cost")) or {}
        status = cost_info.get("throttleStatus")
        if isinstance(status, dict):
            self.bucket.observe(status, self._monotonic())
        requested = cost_info.get("requestedQueryCost")
        if isinstance(requested, int | float) and requested > 0:
            self._cost_of[cost_key] = float(requested)
        if not _is_throttled(body.get("errors")):
            return False
        SHOPIFY_CALLS.labels(outcome="throttled").inc()
        SHOPIFY_THROTTLED.inc()
        self.throttled += 1
        retries.throttles += 1
        if retries.throttles > MAX_THROTTLE_RETRIES:
            raise ShopifyUnavailable(f"{operation_name} stayed throttled")
        self._sleep(self._jitter(_throttle_wait(cost_info, cost)))
        return True

    def _post(self, query: str, variables: dict[str, Any], operation_name: str) -> str:
        self._activate(self.tokens.token())
        graphql = _TimedGraphQL(self.connection.timeout_seconds)
        return graphql.execute(query, variables=variables, operation_name=operation_name)

    def _activate(self, token: str) -> None:
        """Point this thread's ShopifyAPI state at this shop (see the module docstring)."""
        shopify.ShopifyResource.site = self.connection.site
        shopify.ShopifyResource.version = self.connection.api_version
        shopify.ShopifyResource.headers["X-Shopify-Access-Token"] = token

    def _give_up_after(self, failures: int, message: str) -> None:
        if failures >= self.max_attempts:
            raise ShopifyUnavailable(f"{message} ({failures} attempts)")

    def _backoff(self, failures: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))

    @staticmethod
    def _jitter(seconds: float) -> float:
        return float(seconds + random.uniform(0, 0.1 * seconds + 0.05))


def _json_object(raw: str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise ShopifyUnavailable("Shopify answered with something other than JSON") from None
    if not isinstance(body, dict):
        raise ShopifyUnavailable("Shopify answered with something other than a JSON object")
    return body


def _error_messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )[:500]
    return str(errors)[:500]


def _user_error(raw: dict[str, Any]) -> UserError:
    field = raw.get("field") or []
    index = None
    if len(field) >= 3 and field[1] == "quantities" and str(field[2]).isdigit():
        index = int(field[2])
    return UserError(index=index, code=raw.get("code"), message=str(raw.get("message", "")))


def _available_of(item: Any) -> int | None:
    if not isinstance(item, dict) or not item.get("tracked", True):
        return None
    level = item.get("inventoryLevel")
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available":
            value = quantity.get("quantity")
            return int(value) if isinstance(value, int) else None
    return None
