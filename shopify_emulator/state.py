"""Emulated Shopify shops: inventory state and its rules, tokens, audit log, counters,
webhook subscriptions, orders, faults and settings. One lock guards all of it."""

from __future__ import annotations

import dataclasses
import hmac
import itertools
import json
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from shopify_emulator.clock import Clock, SystemClock, iso_utc
from shopify_emulator.faults import Endpoint, FaultPlan
from shopify_emulator.gids import make_gid, parse_gid
from shopify_emulator.payloads import (
    fulfillment_payload,
    inventory_level_payload,
    order_payload,
    refund_payload,
)
from shopify_emulator.ratelimit import (
    STANDARD_MAXIMUM_AVAILABLE,
    STANDARD_RESTORE_RATE,
    LeakyBucket,
)
from shopify_emulator.records import (
    ON_HAND_COMPONENTS,
    QUANTITY_NAMES,
    STORED_NAMES,
    AdjustmentGroup,
    FulfillmentRecord,
    InventoryItem,
    InventoryLevel,
    Location,
    Order,
    OrderLine,
    QuantityChange,
    RefundLine,
    RefundRecord,
)
from shopify_emulator.webhooks import (
    TOPICS,
    WebhookDispatcher,
    WebhookSettings,
    WebhookSubscription,
    build_delivery,
)

DEFAULT_SHOP_DOMAIN = "emulator-shop.myshopify.com"
DEFAULT_ACCESS_TOKEN = "shpat_emulator_static_token"
DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_SCOPES = "read_inventory,write_inventory,read_orders"
# Ids above 2**53 catch clients that push Shopify's integer ids through a float.
LARGE_ID_BASE = 2**53 + 1000
MAX_QUANTITY = 1_000_000_000
MAX_RECORDS = 100_000
MAX_ORDER_LINES = 250
IDEMPOTENCY_CODES = frozenset(
    {
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
        "IDEMPOTENCY_CONCURRENT_REQUEST",
        "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
    }
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}(\.[a-z0-9-]{1,63}){1,4}$")


class EmulatorInputError(ValueError):
    """Bad input to the Python or control API; the control API answers 400."""


class EmulatorNotFoundError(EmulatorInputError):
    """An unknown shop, item, location or order; the control API answers 404."""


@dataclass
class EmulatorSettings:
    """Knobs that change how faithful or how strict the emulator is."""

    throttle_status_code: int = 200  # Shopify answers THROTTLED with 200; 429 is the switch
    token_lifetime_seconds: int = 86_400
    max_query_cost: int = 1000
    max_input_array_size: int = 250
    mutation_cost: int = 10
    idempotency_required_for_set_quantities: bool = False
    idempotency_mismatch_code: str = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    idempotency_ttl_seconds: int = 86_400
    webhook_retry_limit: int = 3
    webhook_retry_delay_seconds: float = 0.05
    webhook_timeout_seconds: float = 5.0
    webhook_api_version: str = "2026-10"
    allow_remote_webhook_addresses: bool = False  # by default only 127.0.0.1/localhost

    def update(self, changes: Mapping[str, Any]) -> None:
        known = {item.name: item for item in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise EmulatorInputError(f"unknown setting {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise EmulatorInputError(f"{name} must be a boolean")
            elif isinstance(current, int | float) and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise EmulatorInputError(f"{name} must be a number")
            elif isinstance(current, str) and not isinstance(value, str):
                raise EmulatorInputError(f"{name} must be a string")
            if name == "throttle_status_code" and value not in (200, 429):
                raise EmulatorInputError("throttle_status_code must be 200 or 429")
            if name == "idempotency_mismatch_code" and value not in IDEMPOTENCY_CODES:
                raise EmulatorInputError(
                    f"idempotency_mismatch_code must be one of {sorted(IDEMPOTENCY_CODES)}"
                )
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise EmulatorInputError(f"{name} must not be negative")
            setattr(self, name, type(current)(value))
        self.webhook_retry_limit = min(self.webhook_retry_limit, 20)
        self.webhook_retry_delay_seconds = min(self.webhook_retry_delay_seconds, 5.0)
        self.webhook_timeout_seconds = min(max(self.webhook_timeout_seconds, 0.1), 30.0)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ShopCounters:
    graphql_requests: int = 0
    queries: int = 0
    mutations: int = 0
    invalid_requests: int = 0
    throttled: int = 0
    max_cost_exceeded: int = 0
    idempotent_replays: int = 0
    user_error_payloads: int = 0
    tokens_issued: int = 0
    by_root_field: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    payload: Any
    stored_at: float


class ShopState:
    """One shop. Methods take the emulator lock, so tests may call them from any thread."""

    def __init__(
        self,
        emulator: EmulatorState,
        domain: str,
        *,
        name: str,
        access_token: str | None,
        client_id: str,
        client_secret: str,
        webhook_secret: str | None,
        currency: str,
        scopes: str,
        maximum_available: float,
        restore_rate: float,
    ) -> None:
        self._emulator = emulator
        self.lock = emulator.lock
        self.id = emulator.next_id()
        self.domain = domain
        self.name = name
        self.currency = currency
        self.scopes = scopes
        self.static_tokens: set[str] = {access_token} if access_token else set()
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret or client_secret
        self.bucket = LeakyBucket(emulator.clock, maximum_available, restore_rate)
        self.counters = ShopCounters()
        self.locations: dict[int, Location] = {}
        self.items: dict[int, InventoryItem] = {}
        self.levels: dict[tuple[int, int], InventoryLevel] = {}
        self.orders: dict[int, Order] = {}
        self.audit: list[AdjustmentGroup] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.issued_tokens: dict[str, float] = {}
        self.subscriptions: dict[int, WebhookSubscription] = {}
        self._order_numbers = itertools.count(1001)

    # ---- time and ids ------------------------------------------------------------------
    def now(self) -> float:
        return self._emulator.clock.time()

    def timestamp(self, *, zulu: bool = True) -> str:
        return iso_utc(self.now(), zulu=zulu)

    @property
    def gid(self) -> str:
        return make_gid("Shop", self.id)

    # ---- seeding -----------------------------------------------------------------------
    def add_location(self, name: str) -> Location:
        """A new location, or the existing one with that name."""
        with self.lock:
            existing = self._location_by_name(name)
            if existing is not None:
                return existing
            self._check_capacity(self.locations)
            location = Location(id=self._emulator.next_id(), name=name)
            self.locations[location.id] = location
            return location

    def add_item(
        self,
        sku: str | None,
        *,
        tracked: bool = True,
        levels: Mapping[str, int | Mapping[str, int]] | None = None,
        barcode: str | None = None,
    ) -> InventoryItem:
        """A new inventory item (with its variant and product ids) stocked at `levels`.

        `levels` maps a location (name, gid or id) to an `available` count or to a mapping of
        quantity names; an `on_hand` figure is turned into `available`.
        """
        with self.lock:
            if sku is not None and self._item_by_sku(sku) is not None:
                raise EmulatorInputError(f"SKU {sku!r} already exists")
            self._check_capacity(self.items)
            stamp = self.timestamp()
            item = InventoryItem(
                id=self._emulator.next_id(),
                sku=sku,
                tracked=tracked,
                variant_id=self._emulator.next_id(),
                product_id=self._emulator.next_id(),
                created_at=stamp,
                updated_at=stamp,
                barcode=barcode,
            )
            self.items[item.id] = item
            for location_ref, quantities in (levels or {}).items():
                self.set_level(item.gid, location_ref, quantities)
            return item

    def set_level(
        self, item_ref: str | int, location_ref: str | int, quantities: int | Mapping[str, int]
    ) -> dict[str, Any]:
        """Seed a level's quantities directly: no audit entry, no webhook."""
        with self.lock:
            item = self.resolve_item(item_ref)
            location = self.resolve_location(location_ref)
            wanted = {"available": quantities} if isinstance(quantities, int) else dict(quantities)
            level = self.ensure_level(item.id, location.id)
            on_hand = wanted.pop("on_hand", None)
            for name, value in wanted.items():
                if name not in STORED_NAMES:
                    raise EmulatorInputError(f"cannot seed quantity {name!r}")
                level.stored[name] = _checked_quantity(value, name)
            if on_hand is not None:
                self.apply_quantity(level, "on_hand", _checked_quantity(on_hand, "on_hand"))
            return self._level_json(level)

    def seed(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create locations and items from a JSON-shaped spec (the control API's `seed`).

        `{"locations": ["Warehouse", "Store"], "items": [{"sku": "A", "tracked": true,
        "levels": {"Warehouse": 10, "Store": {"available": 2, "committed": 1}}}]}`
        """
        with self.lock:
            location_names = spec.get("locations", [])
            item_specs = spec.get("items", [])
            if not isinstance(location_names, list) or not isinstance(item_specs, list):
                raise EmulatorInputError("locations and items must be lists")
            created_locations: dict[str, str] = {}
            for entry in location_names:
                name = entry.get("name") if isinstance(entry, Mapping) else entry
                if not isinstance(name, str) or not name:
                    raise EmulatorInputError("each location needs a name")
                created_locations[name] = self.add_location(name).gid
            created_items: dict[str, str] = {}
            for entry in item_specs:
                if not isinstance(entry, Mapping):
                    raise EmulatorInputError("each item must be an object")
                sku = entry.get("sku")
                levels = entry.get("levels", {})
                barcode = entry.get("barcode")
                if sku is not None and not isinstance(sku, str):
                    raise EmulatorInputError("sku must be a string")
                if barcode is not None and not isinstance(barcode, str):
                    raise EmulatorInputError("barcode must be a string")
                if not isinstance(levels, Mapping):
                    raise EmulatorInputError("levels must map locations to quantities")
                item = self.add_item(
                    sku, tracked=bool(entry.get("tracked", True)), levels=levels, barcode=barcode
                )
                created_items[sku or item.gid] = item.gid
            return {"shop": self.domain, "locations": created_locations, "items": created_items}

    # ---- lookups -----------------------------------------------------------------------
    def resolve_item(self, ref: str | int) -> InventoryItem:
        """By numeric id, `gid://shopify/InventoryItem/N` or SKU (ids win over SKUs)."""
        with self.lock:
            item_id = _numeric_ref(ref, "InventoryItem")
            item = self.items.get(item_id) if item_id is not None else None
            if item is None and isinstance(ref, str):
                item = self._item_by_sku(ref)
            if item is None:
                raise EmulatorNotFoundError(f"no inventory item {ref!r} in {self.domain}")
            return item

    def resolve_location(self, ref: str | int) -> Location:
        """By numeric id, `gid://shopify/Location/N` or name."""
        with self.lock:
            location_id = _numeric_ref(ref, "Location")
            location = self.locations.get(location_id) if location_id is not None else None
            if location is None and isinstance(ref, str):
                location = self._location_by_name(ref)
            if location is None:
                raise EmulatorNotFoundError(f"no location {ref!r} in {self.domain}")
            return location

    def level_for(self, item_id: int, location_id: int) -> InventoryLevel | None:
        return self.levels.get((item_id, location_id))

    def ensure_level(self, item_id: int, location_id: int) -> InventoryLevel:
        level = self.levels.get((item_id, location_id))
        if level is None:
            stamp = self.timestamp()
            level = InventoryLevel(
                item_id=item_id, location_id=location_id, created_at=stamp, updated_at=stamp
            )
            self.levels[(item_id, location_id)] = level
        return level

    def items_sorted(self) -> list[InventoryItem]:
        return sorted(self.items.values(), key=lambda item: item.id)

    def locations_sorted(self) -> list[Location]:
        return sorted(self.locations.values(), key=lambda location: location.id)

    def levels_of_item(self, item_id: int) -> list[InventoryLevel]:
        found = [lvl for (i, _), lvl in self.levels.items() if i == item_id]
        return sorted(found, key=lambda level: level.location_id)

    def levels_at_location(self, location_id: int) -> list[InventoryLevel]:
        found = [lvl for (_, loc), lvl in self.levels.items() if loc == location_id]
        return sorted(found, key=lambda level: level.item_id)

    # ---- reading for tests -------------------------------------------------------------
    def read_levels(
        self, *, sku: str | None = None, location: str | int | None = None
    ) -> list[dict[str, Any]]:
        """Every level (optionally one SKU and/or location) with all eight quantities."""
        with self.lock:
            item_id = self.resolve_item(sku).id if sku is not None else None
            location_id = self.resolve_location(location).id if location is not None else None
            rows = [
                self._level_json(level)
                for (i, loc), level in sorted(self.levels.items())
                if (item_id is None or i == item_id) and (location_id is None or loc == location_id)
            ]
            return rows

    def quantity(self, item: str | int, location: str | int, name: str = "available") -> int:
        """One named quantity of one level (0 when the item is not stocked there)."""
        if name not in QUANTITY_NAMES:
            raise EmulatorInputError(f"unknown quantity name {name!r}")
        with self.lock:
            level = self.level_for(self.resolve_item(item).id, self.resolve_location(location).id)
            return level.quantity(name) if level is not None else 0

    def audit_log(self, *, source: str | None = None) -> list[dict[str, Any]]:
        """Applied adjustment groups, oldest first; `source` is graphql, manual_edit or order."""
        with self.lock:
            return [
                group.to_json() for group in self.audit if source is None or group.source == source
            ]

    def counters_json(self) -> dict[str, Any]:
        with self.lock:
            return self.counters.to_json() | {"throttle_status": self.bucket.status().to_json()}

    # ---- rate limit --------------------------------------------------------------------
    def configure_bucket(
        self,
        *,
        maximum_available: float | None = None,
        restore_rate: float | None = None,
        currently_available: float | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            try:
                self.bucket.configure(
                    maximum_available=maximum_available,
                    restore_rate=restore_rate,
                    currently_available=currently_available,
                )
            except ValueError as exc:
                raise EmulatorInputError(str(exc)) from exc
            return self.bucket.status().to_json()

    # ---- tokens ------------------------------------------------------------------------
    def issue_token(self, lifetime_seconds: int | None = None) -> dict[str, Any]:
        """A client-credentials access token that expires on the emulator's clock."""
        with self.lock:
            lifetime = (
                self._emulator.settings.token_lifetime_seconds
                if lifetime_seconds is None
                else lifetime_seconds
            )
            now = self.now()
            self.issued_tokens = {t: exp for t, exp in self.issued_tokens.items() if exp > now}
            if len(self.issued_tokens) >= MAX_RECORDS:
                raise EmulatorInputError("too many live tokens")
            token = "shpat_" + secrets.token_hex(16)
            self.issued_tokens[token] = now + lifetime
            self.counters.tokens_issued += 1
            return {"access_token": token, "scope": self.scopes, "expires_in": int(lifetime)}

    def accepts_token(self, token: str) -> bool:
        with self.lock:
            if any(hmac.compare_digest(token, known) for known in self.static_tokens):
                return True
            expires_at = self.issued_tokens.get(token)
            return expires_at is not None and expires_at > self.now()

    def expire_tokens(self) -> int:
        """Make every issued (not static) token expire now; returns how many there were."""
        with self.lock:
            count = len(self.issued_tokens)
            self.issued_tokens = dict.fromkeys(self.issued_tokens, self.now())
            return count

    # ---- inventory rules ---------------------------------------------------------------
    def apply_quantity(
        self,
        level: InventoryLevel,
        name: str,
        target: int,
        ledger_document_uri: str | None = None,
    ) -> list[QuantityChange]:
        """Set one quantity and report every quantity that moved with it.

        Setting `on_hand` moves `available` by the same delta; setting any on_hand component
        moves `on_hand`. The invariant holds because on_hand is always computed.
        """
        if name == "on_hand":
            delta = target - level.on_hand
            level.stored["available"] += delta
            moved = [
                ("on_hand", delta, level.on_hand),
                ("available", delta, level.stored["available"]),
            ]
        else:
            delta = target - level.stored[name]
            level.stored[name] = target
            moved = [(name, delta, target)]
            if name in ON_HAND_COMPONENTS:
                moved.append(("on_hand", delta, level.on_hand))
        level.updated_at = self.timestamp()
        return [
            QuantityChange(
                name=n,
                delta=d,
                quantity_after_change=after,
                item_id=level.item_id,
                location_id=level.location_id,
                ledger_document_uri=ledger_document_uri if n == name else None,
            )
            for n, d, after in moved
        ]

    def record_group(
        self,
        *,
        reason: str,
        reference_document_uri: str | None,
        changes: Sequence[QuantityChange],
        source: str,
        mutation: str | None = None,
        quantity_name: str | None = None,
        idempotency_key: str | None = None,
        api_version: str | None = None,
    ) -> AdjustmentGroup:
        group = AdjustmentGroup(
            id=self._emulator.next_id(),
            created_at=self.timestamp(),
            reason=reason,
            reference_document_uri=reference_document_uri,
            changes=tuple(changes),
            source=source,
            mutation=mutation,
            quantity_name=quantity_name,
            idempotency_key=idempotency_key,
            api_version=api_version,
        )
        if len(self.audit) >= MAX_RECORDS:
            del self.audit[: MAX_RECORDS // 10]
        self.audit.append(group)
        return group

    def announce_available_changes(self, changes: Iterable[QuantityChange]) -> None:
        """Fire `inventory_levels/update` once per level whose `available` really moved."""
        seen: set[tuple[int, int]] = set()
        for change in changes:
            key = (change.item_id, change.location_id)
            if change.name != "available" or change.delta == 0 or key in seen:
                continue
            seen.add(key)
            level = self.levels[key]
            self.emit(
                "inventory_levels/update",
                inventory_level_payload(self.items[change.item_id], level),
            )

    def manual_edit(
        self,
        item: str | int,
        location: str | int,
        quantity: int | None = None,
        *,
        delta: int | None = None,
        name: str = "available",
        reason: str = "correction",
    ) -> dict[str, Any]:
        """A change made by hand in the Shopify admin: audited, and it fires the webhook."""
        if (quantity is None) == (delta is None):
            raise EmulatorInputError("give exactly one of quantity or delta")
        if name not in QUANTITY_NAMES or name == "committed":
            raise EmulatorInputError(f"cannot edit quantity {name!r} by hand")
        with self.lock:
            found_item = self.resolve_item(item)
            found_location = self.resolve_location(location)
            level = self.ensure_level(found_item.id, found_location.id)
            target = quantity if quantity is not None else level.quantity(name) + (delta or 0)
            if abs(target) > MAX_QUANTITY:
                raise EmulatorInputError("quantity too high")
            changes = self.apply_quantity(level, name, target)
            self.record_group(
                reason=reason,
                reference_document_uri=None,
                changes=changes,
                source="manual_edit",
                quantity_name=name,
            )
            self.announce_available_changes(changes)
            return self._level_json(level)

    # ---- idempotency -------------------------------------------------------------------
    def idempotent_lookup(self, key: str) -> IdempotencyRecord | None:
        record = self.idempotency.get(key)
        ttl = self._emulator.settings.idempotency_ttl_seconds
        if record is not None and record.stored_at + ttl <= self.now():
            del self.idempotency[key]
            return None
        return record

    def idempotent_store(self, key: str, fingerprint: str, payload: Any) -> None:
        if len(self.idempotency) >= MAX_RECORDS:
            for old_key in list(self.idempotency)[: MAX_RECORDS // 10]:
                del self.idempotency[old_key]
        self.idempotency[key] = IdempotencyRecord(fingerprint, payload, self.now())

    # ---- webhooks ----------------------------------------------------------------------
    def subscribe_webhook(
        self, topic: str, address: str, *, secret: str | None = None, api_version: str | None = None
    ) -> WebhookSubscription:
        """Register a receiver; the body is signed with `secret` (default: the app secret)."""
        if topic not in TOPICS:
            raise EmulatorInputError(f"unsupported topic {topic!r}; use one of {sorted(TOPICS)}")
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EmulatorInputError("address must be an http(s) URL")
        with self.lock:
            if (
                parts.hostname not in LOOPBACK_HOSTS
                and not self._emulator.settings.allow_remote_webhook_addresses
            ):
                raise EmulatorInputError(
                    "webhook addresses must be on 127.0.0.1/localhost "
                    "unless allow_remote_webhook_addresses is set"
                )
            self._check_capacity(self.subscriptions)
            subscription = WebhookSubscription(
                id=self._emulator.next_id(),
                shop_domain=self.domain,
                topic=topic,
                address=address,
                secret=secret or self.webhook_secret,
                api_version=api_version or self._emulator.settings.webhook_api_version,
            )
            self.subscriptions[subscription.id] = subscription
            return subscription

    def unsubscribe_webhook(self, subscription_id: int) -> None:
        with self.lock:
            if self.subscriptions.pop(subscription_id, None) is None:
                raise EmulatorNotFoundError(f"no webhook subscription {subscription_id}")

    def emit(
        self, topic: str, payload: Mapping[str, Any], extra_headers: Mapping[str, str] | None = None
    ) -> None:
        """One event: one delivery per subscription, all sharing the event id."""
        with self.lock:
            targets = [s for s in self.subscriptions.values() if s.topic == topic]
            if not targets:
                return
            event_id = secrets.token_hex(16)
            for subscription in targets:
                self._emulator.webhooks.enqueue(
                    build_delivery(
                        subscription,
                        topic,
                        payload,
                        event_id=event_id,
                        triggered_at=self.now(),
                        extra_headers=extra_headers,
                    )
                )

    # ---- orders ------------------------------------------------------------------------
    def create_order(
        self,
        location: str | int,
        line_items: Sequence[Mapping[str, Any]],
        *,
        email: str = "customer@example.com",
        customer: Mapping[str, Any] | None = None,
        currency: str | None = None,
        financial_status: str = "paid",
    ) -> dict[str, Any]:
        """An online order: `available` → `committed` at `location`, then `orders/create`
        and `inventory_levels/update`. Each line: `{sku | inventory_item_id, quantity, price}`.
        Overselling is allowed, as with a "continue selling" policy."""
        if not 0 < len(line_items) <= MAX_ORDER_LINES:
            raise EmulatorInputError(f"an order needs 1 to {MAX_ORDER_LINES} line items")
        with self.lock:
            self._check_capacity(self.orders)
            found_location = self.resolve_location(location)
            lines = [self._order_line(spec) for spec in line_items]
            stamp = self.timestamp(zulu=False)
            order = Order(
                id=self._emulator.next_id(),
                number=next(self._order_numbers),
                location_id=found_location.id,
                email=email,
                currency=currency or self.currency,
                customer={
                    "id": self._emulator.next_id(),
                    "email": email,
                    "first_name": "Test",
                    "last_name": "Customer",
                    **(customer or {}),
                },
                lines=lines,
                created_at=stamp,
                updated_at=stamp,
                financial_status=financial_status,
            )
            changes: list[QuantityChange] = []
            for line in lines:
                level = self.ensure_level(line.item_id, found_location.id)
                changes += self.apply_quantity(
                    level, "available", level.stored["available"] - line.quantity
                )
                changes += self.apply_quantity(
                    level, "committed", level.stored["committed"] + line.quantity
                )
            self.orders[order.id] = order
            self.record_group(
                reason="order_created",
                reference_document_uri=order.gid,
                changes=_net_changes(changes),
                source="order",
            )
            payload = order_payload(order, self.domain)
            self.emit("orders/create", payload, {"X-Shopify-Order-Id": str(order.id)})
            self.announce_available_changes(_net_changes(changes))
            return payload

    def cancel_order(
        self, order_id: int | str, *, reason: str = "customer", restock: bool = True
    ) -> dict[str, Any]:
        """Cancel: unfulfilled units go back from `committed` to `available` (if restocking),
        then `orders/cancelled` and `inventory_levels/update` fire."""
        with self.lock:
            order = self._order(order_id)
            if order.cancelled_at is not None:
                raise EmulatorInputError(f"order {order.id} is already cancelled")
            changes: list[QuantityChange] = []
            for line in order.lines:
                units = line.fulfillable
                level = self.ensure_level(line.item_id, order.location_id)
                changes += self.apply_quantity(
                    level, "committed", level.stored["committed"] - units
                )
                if restock:
                    changes += self.apply_quantity(
                        level, "available", level.stored["available"] + units
                    )
            stamp = self.timestamp(zulu=False)
            order.cancelled_at = order.updated_at = stamp
            order.cancel_reason = reason
            order.financial_status = (
                "refunded" if order.financial_status in ("paid", "partially_paid") else "voided"
            )
            net = _net_changes(changes)
            self.record_group(
                reason="order_cancelled",
                reference_document_uri=order.gid,
                changes=net,
                source="order",
            )
            payload = order_payload(order, self.domain)
            self.emit("orders/cancelled", payload, {"X-Shopify-Order-Id": str(order.id)})
            self.emit("orders/updated", payload, {"X-Shopify-Order-Id": str(order.id)})
            self.announce_available_changes(net)
            return payload

    def fulfill_order(self, order_id: int | str) -> dict[str, Any]:
        """Ship everything still open: `committed` (and so `on_hand`) goes down; then
        `fulfillments/create`, `orders/fulfilled` and `orders/updated` fire."""
        with self.lock:
            order = self._order(order_id)
            if order.cancelled_at is not None:
                raise EmulatorInputError(f"order {order.id} is cancelled")
            changes: list[QuantityChange] = []
            shipped: list[tuple[int, int]] = []
            for line in order.lines:
                level = self.ensure_level(line.item_id, order.location_id)
                changes += self.apply_quantity(
                    level, "committed", level.stored["committed"] - line.fulfillable
                )
                if line.fulfillable:
                    shipped.append((line.id, line.fulfillable))
                line.fulfilled = line.quantity
            stamp = self.timestamp(zulu=False)
            fulfillment = FulfillmentRecord(
                id=self._emulator.next_id(),
                created_at=stamp,
                location_id=order.location_id,
                lines=tuple(shipped),
            )
            order.fulfillments.append(fulfillment)
            order.fulfillment_status = "fulfilled"
            order.updated_at = stamp
            self.record_group(
                reason="order_fulfilled",
                reference_document_uri=order.gid,
                changes=_net_changes(changes),
                source="order",
            )
            payload = order_payload(order, self.domain)
            headers = {"X-Shopify-Order-Id": str(order.id)}
            self.emit("fulfillments/create", fulfillment_payload(order, fulfillment), headers)
            self.emit("orders/fulfilled", payload, headers)
            self.emit("orders/updated", payload, headers)
            return payload

    def refund_order(
        self,
        order_id: int | str,
        lines: Sequence[Mapping[str, Any]],
        *,
        restock: bool = True,
        location: str | int | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Refund units (`[{sku | line_item_id, quantity}]`). Restocking puts fulfilled units
        back in `available` at `location` (default: the order's) as a `return`; unfulfilled
        units are cancelled out of `committed`. Then `refunds/create` and `orders/updated`."""
        with self.lock:
            order = self._order(order_id)
            target = self.resolve_location(location) if location is not None else None
            refund_lines: list[RefundLine] = []
            changes: list[QuantityChange] = []
            for spec in lines:
                line = self._refundable_line(order, spec)
                quantity = _checked_quantity(spec.get("quantity", 1), "quantity")
                open_units = line.fulfillable
                if not restock:
                    kind, at = "no_restock", None
                elif open_units >= quantity:
                    kind, at = "cancel", order.location_id
                    level = self.ensure_level(line.item_id, order.location_id)
                    changes += self.apply_quantity(
                        level, "committed", level.stored["committed"] - quantity
                    )
                    changes += self.apply_quantity(
                        level, "available", level.stored["available"] + quantity
                    )
                    line.removed += quantity
                else:
                    kind, at = "return", (target.id if target else order.location_id)
                    level = self.ensure_level(line.item_id, at)
                    changes += self.apply_quantity(
                        level, "available", level.stored["available"] + quantity
                    )
                refund_lines.append(RefundLine(line.id, quantity, kind, at))
            stamp = self.timestamp(zulu=False)
            refund = RefundRecord(
                id=self._emulator.next_id(), created_at=stamp, note=note, lines=tuple(refund_lines)
            )
            order.refunds.append(refund)
            order.updated_at = stamp
            order.financial_status = "partially_refunded"
            net = _net_changes(changes)
            if net:
                self.record_group(
                    reason="restock", reference_document_uri=order.gid, changes=net, source="order"
                )
            headers = {"X-Shopify-Order-Id": str(order.id)}
            self.emit("refunds/create", refund_payload(order, refund), headers)
            self.emit("orders/updated", order_payload(order, self.domain), headers)
            self.announce_available_changes(net)
            return refund_payload(order, refund)

    def orders_updated_since(self, since: str | None) -> list[Order]:
        """Orders by `updated_at`, oldest first, those at or after `since` when given."""
        with self.lock:
            chosen = [o for o in self.orders.values() if since is None or o.updated_at >= since]
            return sorted(chosen, key=lambda o: (o.updated_at, o.id))

    def orders_json(self) -> list[dict[str, Any]]:
        with self.lock:
            return [order_payload(order, self.domain) for order in self.orders.values()]

    # ---- description -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.gid,
                "domain": self.domain,
                "name": self.name,
                "currency": self.currency,
                "client_id": self.client_id,
                "locations": [{"id": loc.gid, "name": loc.name} for loc in self.locations_sorted()],
                "items": [
                    {
                        "id": item.gid,
                        "sku": item.sku,
                        "barcode": item.barcode,
                        "tracked": item.tracked,
                        "variant_id": make_gid("ProductVariant", item.variant_id),
                    }
                    for item in self.items_sorted()
                ],
                "webhook_subscriptions": [s.to_json() for s in self.subscriptions.values()],
                "throttle_status": self.bucket.status().to_json(),
            }

    # ---- internals ---------------------------------------------------------------------
    def _level_json(self, level: InventoryLevel) -> dict[str, Any]:
        item = self.items[level.item_id]
        location = self.locations[level.location_id]
        return {
            "id": level.gid,
            "inventory_item_id": item.gid,
            "sku": item.sku,
            "tracked": item.tracked,
            "location_id": location.gid,
            "location_name": location.name,
            "quantities": level.snapshot(),
            "updated_at": level.updated_at,
        }

    def _location_by_name(self, name: str) -> Location | None:
        return next((loc for loc in self.locations.values() if loc.name == name), None)

    def _item_by_sku(self, sku: str) -> InventoryItem | None:
        return next((item for item in self.items.values() if item.sku == sku), None)

    def _order(self, order_id: int | str) -> Order:
        numeric = parse_gid(order_id, "Order") if isinstance(order_id, str) else order_id
        if numeric is None and isinstance(order_id, str) and order_id.isdigit():
            numeric = int(order_id)
        order = self.orders.get(numeric) if numeric is not None else None
        if order is None:
            raise EmulatorNotFoundError(f"no order {order_id!r} in {self.domain}")
        return order

    @staticmethod
    def _refundable_line(order: Order, spec: Mapping[str, Any]) -> OrderLine:
        wanted = spec.get("line_item_id", spec.get("sku"))
        line = next((x for x in order.lines if wanted in (x.id, x.sku)), None)
        if line is None:
            raise EmulatorInputError(f"order {order.id} has no line {wanted!r}")
        return line

    def _order_line(self, spec: Mapping[str, Any]) -> OrderLine:
        ref = spec.get("inventory_item_id", spec.get("sku"))
        if not isinstance(ref, str | int) or isinstance(ref, bool):
            raise EmulatorInputError("each line item needs a sku or inventory_item_id")
        item = self.resolve_item(ref)
        quantity = spec.get("quantity", 1)
        if not isinstance(quantity, int) or not 0 < quantity <= 1_000_000:
            raise EmulatorInputError("line item quantity must be a positive integer")
        try:
            price = f"{Decimal(str(spec.get('price', '10.00'))):.2f}"
        except InvalidOperation as exc:
            raise EmulatorInputError("line item price must be a decimal") from exc
        return OrderLine(
            id=self._emulator.next_id(),
            item_id=item.id,
            sku=item.sku,
            quantity=quantity,
            price=price,
            variant_id=item.variant_id,
            product_id=item.product_id,
            title=str(spec.get("title", item.sku or "Item")),
        )

    @staticmethod
    def _check_capacity(collection: Mapping[Any, Any]) -> None:
        if len(collection) >= MAX_RECORDS:
            raise EmulatorInputError("emulator capacity reached; reset it")


def _numeric_ref(ref: str | int, type_name: str) -> int | None:
    """An id given as an int, a digit string (from a query string) or a gid."""
    if isinstance(ref, int):
        return ref
    return int(ref) if ref.isdigit() else parse_gid(ref, type_name)


def _checked_quantity(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_QUANTITY:
        raise EmulatorInputError(f"{name} must be an integer within ±{MAX_QUANTITY}")
    return value


def _net_changes(changes: Sequence[QuantityChange]) -> list[QuantityChange]:
    """Fold several moves of one (level, name) into one change, keeping the final value."""
    folded: dict[tuple[int, int, str], QuantityChange] = {}
    for change in changes:
        key = (change.item_id, change.location_id, change.name)
        previous = folded.get(key)
        delta = change.delta + (previous.delta if previous else 0)
        folded[key] = dataclasses.replace(change, delta=delta)
    return list(folded.values())


class EmulatorState:
    """Everything the emulator knows. Start here in tests:

    `state.default_shop.add_item(...)`, `state.fail_next(2, 503)`,
    `state.default_shop.subscribe_webhook(...)`, `state.webhooks.wait_idle()`.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        settings: EmulatorSettings | None = None,
        shop_domain: str = DEFAULT_SHOP_DOMAIN,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        id_base: int = LARGE_ID_BASE,
    ) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or SystemClock()
        self._initial_settings = dataclasses.replace(settings or EmulatorSettings())
        self.settings = dataclasses.replace(self._initial_settings)
        self._default_credentials = (shop_domain, access_token, client_id, client_secret)
        self._id_base = id_base
        self._ids = itertools.count(id_base)
        self.faults = FaultPlan()
        self.webhooks = WebhookDispatcher(self._webhook_settings)
        self.unauthorized_requests = 0
        self.shops: dict[str, ShopState] = {}
        self.default_domain = shop_domain
        self._create_default_shop()

    # ---- shops -------------------------------------------------------------------------
    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    @property
    def default_shop(self) -> ShopState:
        return self.shop()

    def shop(self, domain: str | None = None) -> ShopState:
        with self.lock:
            found = self.shops.get(_normalise_domain(domain or self.default_domain))
            if found is None:
                raise EmulatorNotFoundError(f"no shop {domain!r}")
            return found

    def add_shop(
        self,
        domain: str,
        *,
        name: str | None = None,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        webhook_secret: str | None = None,
        currency: str = "USD",
        scopes: str = DEFAULT_SCOPES,
        maximum_available: float = STANDARD_MAXIMUM_AVAILABLE,
        restore_rate: float = STANDARD_RESTORE_RATE,
    ) -> ShopState:
        """Another shop; its token (and client credentials) select it on every request."""
        domain = _normalise_domain(domain)
        if not _DOMAIN.match(domain):
            raise EmulatorInputError(f"{domain!r} is not a shop domain")
        with self.lock:
            if domain in self.shops:
                raise EmulatorInputError(f"shop {domain} already exists")
            if len(self.shops) >= 1000:
                raise EmulatorInputError("too many shops")
            shop = ShopState(
                self,
                domain,
                name=name or domain.split(".")[0].replace("-", " ").title(),
                access_token=access_token or "shpat_" + secrets.token_hex(16),
                client_id=client_id or "client-" + secrets.token_hex(8),
                client_secret=client_secret or secrets.token_hex(16),
                webhook_secret=webhook_secret,
                currency=currency,
                scopes=scopes,
                maximum_available=maximum_available,
                restore_rate=restore_rate,
            )
            self.shops[domain] = shop
            return shop

    def authenticate(self, token: str | None, shop_domain: str | None = None) -> ShopState | None:
        """The shop this token belongs to, or None (the caller answers 401)."""
        if not token:
            return None
        with self.lock:
            candidates = (
                [self.shops.get(_normalise_domain(shop_domain))]
                if shop_domain
                else list(self.shops.values())
            )
            return next((s for s in candidates if s is not None and s.accepts_token(token)), None)

    def shop_for_client(
        self, client_id: str, client_secret: str, shop_domain: str | None = None
    ) -> ShopState | None:
        with self.lock:
            candidates = (
                [self.shops.get(_normalise_domain(shop_domain))]
                if shop_domain
                else list(self.shops.values())
            )
            for shop in candidates:
                if shop is None or not hmac.compare_digest(shop.client_id, client_id):
                    continue
                if hmac.compare_digest(shop.client_secret, client_secret):
                    return shop
            return None

    # ---- faults and settings -----------------------------------------------------------
    def fail_next(
        self,
        count: int,
        status: int = 503,
        *,
        endpoint: Endpoint = "graphql",
        retry_after: float | None = None,
    ) -> None:
        """The next `count` requests to `endpoint` answer `status` (429 adds Retry-After)."""
        with self.lock:
            try:
                self.faults.fail_next(count, status, endpoint=endpoint, retry_after=retry_after)
            except ValueError as exc:
                raise EmulatorInputError(str(exc)) from exc

    def delay_responses(
        self, milliseconds: int, *, count: int | None = None, endpoint: Endpoint = "graphql"
    ) -> None:
        """Answer slowly: every request (or the next `count`) waits `milliseconds` first."""
        with self.lock:
            try:
                self.faults.delay(milliseconds, count=count, endpoint=endpoint)
            except ValueError as exc:
                raise EmulatorInputError(str(exc)) from exc

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change `EmulatorSettings` fields, e.g. `configure(throttle_status_code=429)`."""
        with self.lock:
            self.settings.update(changes)
            return self.settings.to_json()

    def counters_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "unauthorized_requests": self.unauthorized_requests,
                "faults_served": self.faults.served,
                "webhooks_pending": self.webhooks.pending(),
                "shops": {domain: shop.counters_json() for domain, shop in self.shops.items()},
            }

    def reset(self) -> None:
        """Back to a fresh emulator: one empty default shop, default settings, no faults."""
        with self.lock:
            self.webhooks.clear()
            self.faults = FaultPlan()
            self.settings = dataclasses.replace(self._initial_settings)
            self.unauthorized_requests = 0
            self.shops = {}
            self._ids = itertools.count(self._id_base)
            self._create_default_shop()

    def close(self) -> None:
        """Stop the webhook sender thread."""
        self.webhooks.close()

    def _create_default_shop(self) -> None:
        domain, token, client_id, client_secret = self._default_credentials
        self.add_shop(domain, access_token=token, client_id=client_id, client_secret=client_secret)

    def _webhook_settings(self) -> WebhookSettings:
        with self.lock:
            return WebhookSettings(
                retry_limit=self.settings.webhook_retry_limit,
                retry_delay_seconds=self.settings.webhook_retry_delay_seconds,
                timeout_seconds=self.settings.webhook_timeout_seconds,
            )


def _normalise_domain(domain: str) -> str:
    domain = domain.strip().lower()
    domain = domain.removeprefix("https://").removeprefix("http://").rstrip("/")
    return domain if "." in domain else f"{domain}.myshopify.com"


def fingerprint(value: Any) -> str:
    """A stable text form of mutation arguments, to tell a replay from a different request."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
