"""Who may call what, where: every route of the app against every role, at the POS key's own
store and at another, for the caller's own channel and another's (issue "The edges hold").

`RULES` states, for every operation (method and path template) under `/v1/`, the roles that
may call it and whether it is scoped by location (a POS key acts and reads at its own store
only) and by channel (a storefront or mobile key reads its own channel's orders only); `PUBLIC`
lists the operations that need no API key, with the reason. The operations come from the app's
route table, so a new route without a rule fails here by name, and so does a rule whose route
is gone.

Each operation is one test case: it seeds what the operation addresses, sends one request per
cell (role x location variant x channel variant, plus one without a key), refusals first, and
reports every cell that went wrong at once. What each expectation checks is `_check`; on top
of it, no 2xx answer may carry an order, a customer or a payment secret the caller must not see
(`Seed.foreign`).
"""

from __future__ import annotations

import enum
import itertools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.config import Settings
from app.inventory.tables import Location
from app.main import create_app
from app.orders.tables import Order
from app.platform.database import Database
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import pickup_code, pickup_order, place, stock
from tests.e2e.test_storefront_api import storefront_body
from tests.support.sse import read_until_live

Client = AsyncTestClient[Litestar]

OWN, OTHER = "STORE-A", "STORE-B"
"""The POS key of the `keys` fixture works at STORE-A."""
ANY = "*"
"""A variant of a list asked without that filter."""
ROLES = ("admin", "storefront", "mobile", "pos", "readonly")
ANYONE = frozenset(ROLES)
STAFF_READERS = frozenset({"admin", "pos", "readonly"})
CHANNEL_OF_ROLE = {"storefront": "web", "mobile": "mobile"}
"""The channel-bound roles and their channels (admin, pos and readonly place no web or app
orders; none of them is ever shown a payment's client_secret on a read)."""


class Expect(enum.Enum):
    ALLOW = "allowed (a read 2xx with what it asked for; a write 2xx, 409 or 422)"
    FORBIDDEN = "403 forbidden"
    NOT_FOUND = "404 not_found (outside its boundaries, as if it did not exist)"
    EMPTY = "2xx without the data asked for"
    EACH_FORBIDDEN = "200 with every item of the batch 403"
    UNAUTHORIZED = "401 unauthorized"


@dataclass(frozen=True)
class Scope:
    """How a key bound to a location (pos) or a channel (storefront, mobile) is answered when it
    addresses another one's; `unfiltered`: a list asked without that filter (None: no such
    variant)."""

    other: Expect
    unfiltered: Expect | None = None


@dataclass(frozen=True)
class Variant:
    location: str | None = None  # STORE-A, STORE-B, ANY; None: the rule is not location-scoped
    channel: str | None = None  # web, mobile, ANY; None: the rule is not channel-scoped

    def __str__(self) -> str:
        parts = [f"location={self.location}"] if self.location else []
        parts += [f"channel={self.channel}"] if self.channel else []
        return f"[{', '.join(parts)}]" if parts else ""


@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    shows: frozenset[str] = frozenset()
    """What an allowed answer must contain (minus what the caller must not see) and an
    EMPTY or 404 answer must not."""


CallFactory = Callable[["Seed", Variant, str], Awaitable[Call]]
"""Makes the call of a cell: what it addresses in that variant, for that caller (a write that
changes what it addresses gets its own for each caller, so each is answered on its merits)."""


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    call: CallFactory
    why: str
    location: Scope | None = None
    channel: Scope | None = None
    denied: Expect = Expect.FORBIDDEN  # how a role outside `roles` is answered

    def variants(self) -> list[Variant]:
        def values(scope: Scope | None, pair: tuple[str, str]) -> list[str | None]:
            if scope is None:
                return [None]
            return [*pair, *([ANY] if scope.unfiltered else [])]

        return [
            Variant(location, channel)
            for location in values(self.location, (OWN, OTHER))
            for channel in values(self.channel, ("web", "mobile"))
        ]

    def expect(self, role: str, v: Variant) -> Expect:
        if role not in self.roles:
            return self.denied
        if self.location and role == "pos" and v.location != OWN:
            return _scoped(self.location, v.location)
        if self.channel and role in CHANNEL_OF_ROLE and v.channel != CHANNEL_OF_ROLE[role]:
            return _scoped(self.channel, v.channel)
        return Expect.ALLOW


def _scoped(scope: Scope, value: str | None) -> Expect:
    if value == ANY:
        assert scope.unfiltered is not None
        return scope.unfiltered
    return scope.other


# What the matrix addresses -----------------------------------------------------------------
@dataclass(frozen=True)
class Placed:
    """A seeded order as the matrix knows it."""

    id: str
    channel: str
    locations: frozenset[str]  # where it involves a store: pickup there or units allocated
    customer_id: str
    email: str

    @property
    def secret(self) -> str:
        return f"pi_secret_{self.id}"

    def seen_by(self, role: str) -> bool:
        """The boundaries, restated from the contract: a POS key sees orders at its store, a
        storefront or mobile key its channel's; admin and readonly see every order."""
        if role == "pos":
            return OWN in self.locations
        if role in CHANNEL_OF_ROLE:
            return self.channel == CHANNEL_OF_ROLE[role]
        return True


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


@dataclass
class Seed:
    """What the operations address, made on first use and remembered for the test."""

    client: Client
    keys: Keys
    db: Database
    request: pytest.FixtureRequest
    orders: list[Placed] = field(default_factory=list)
    never_shown: set[str] = field(default_factory=set)  # to anyone: a storefront's secrets
    _made: dict[Any, Any] = field(default_factory=dict)

    async def _once(self, key: Any, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self._made:
            self._made[key] = await make()
        return self._made[key]

    def foreign(self, role: str) -> set[str]:
        """What no answer to `role` may contain: the orders it must not see, their customers
        (customers are single-store here), every payment secret but its own channel's and a
        storefront's Shopify secrets."""
        found = {o.secret for o in self.orders if o.channel != CHANNEL_OF_ROLE.get(role)}
        found |= self.never_shown
        for o in self.orders:
            if not o.seen_by(role):
                found |= {o.id} | ({o.customer_id, o.email} if role == "pos" else set())
        return found

    def ids(self, location: str | None = ANY, channel: str | None = ANY) -> frozenset[str]:
        return frozenset(
            o.id
            for o in self.orders
            if location in (None, ANY) or location in o.locations
            if channel in (None, ANY) or o.channel == channel
        )

    async def stocked(self) -> None:
        async def make() -> None:
            for location, sku, quantity in [
                (OWN, "TEE-1", 30),
                (OTHER, "TEE-1", 30),
                ("WH-1", "TEE-2", 20),
                (OWN, "TEE-2", 10),
                (OTHER, "TEE-2", 10),
            ]:
                await stock(self.client, self.keys, location, sku, quantity)

        await self._once("stocked", make)

    async def everyday(self) -> None:
        """A pickup order of each channel at each store, so reads have something to leak."""
        for location, channel in itertools.product((OWN, OTHER), ("web", "mobile")):
            await self.order(location, channel)

    async def order(
        self, location: str, channel: str, purpose: str = "", quantity: int = 1
    ) -> Placed:
        """A pickup order placed by the channel's own key (confirmed: paid at the counter)."""

        async def make() -> Placed:
            await self.stocked()
            headers = self.keys.storefront if channel == "web" else self.keys.mobile
            email = f"{channel}.{purpose or 'x'}.{location}@example.com".lower()
            response = await place(
                self.client, headers, pickup_order(location, quantity=quantity, email=email)
            )
            assert response.status_code == 201, response.text
            return await self._placed(response.json(), {location}, email)

        placed: Placed = await self._once(("order", location, channel, purpose), make)
        return placed

    async def _placed(self, body: dict[str, Any], locations: set[str], email: str) -> Placed:
        """Remember the order and give it a payment secret, as Stripe would, so who is shown
        it can be checked without Stripe."""
        placed = Placed(
            body["id"], body["channel"], frozenset(locations), body["customer_id"], email
        )
        async with self.db.engine.begin() as connection:
            await connection.execute(
                update(Order)
                .where(Order.id == uuid.UUID(placed.id))
                .values(payment_client_secret=placed.secret)
            )
        self.orders.append(placed)
        return placed

    async def ready(self, location: str, purpose: str = "ready") -> tuple[Placed, str]:
        """A web pickup order ready at `location`, and its pickup code."""

        async def make() -> tuple[Placed, str]:
            order = await self.order(location, "web", purpose, quantity=3)
            response = await self.client.post(
                f"/v1/orders/{order.id}/ready", headers=self.keys.admin
            )
            assert response.status_code == 200, response.text
            return order, await pickup_code(self.client, self.keys, order.id)

        made: tuple[Placed, str] = await self._once(("ready", location, purpose), make)
        return made

    async def picked_up(self) -> Placed:
        """A web order collected at the POS key's store."""

        async def make() -> Placed:
            order, code = await self.ready(OWN, "collected")
            response = await self.client.post(
                f"/v1/orders/{order.id}/pickup", json={"pickup_code": code}, headers=self.keys.pos
            )
            assert response.status_code == 200, response.text
            return order

        placed: Placed = await self._once("picked_up", make)
        return placed

    async def ship_order(self, location: str, purpose: str) -> Placed:
        """An admin's ship order whose units are allocated at `location` (the two stores ship
        here, and the only MUG-1 left to sell is at `location`)."""

        async def make() -> Placed:
            async with self.db.engine.begin() as connection:
                await connection.execute(
                    update(Location)
                    .where(Location.code.in_([OWN, OTHER]))
                    .values(ship_enabled=True)
                )
            await stock(self.client, self.keys, location, "MUG-1", 1)
            email = f"ship.{purpose}.{location}@example.com".lower()
            response = await place(
                self.client,
                self.keys.admin,
                {
                    "customer": {"email": email},
                    "lines": [{"sku": "MUG-1", "quantity": 1}],
                    "fulfilment": {"type": "ship", "address": ADDRESS},
                    "channel": "admin",
                },
            )
            assert response.status_code == 201, response.text
            allocated = {a["location"] for a in response.json()["lines"][0]["allocations"]}
            assert allocated == {location}, allocated
            return await self._placed(response.json(), allocated, email)

        placed: Placed = await self._once(("ship", location, purpose), make)
        return placed

    async def transfer(self, to: str, purpose: str) -> str:
        """A transfer in transit from the warehouse to `to`."""

        async def make() -> str:
            await self.stocked()
            response = await self.client.post(
                "/v1/transfers",
                json=transfer_body(to),
                headers={**self.keys.admin, "Idempotency-Key": _fresh("t")},
            )
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        transfer_id: str = await self._once(("transfer", to, purpose), make)
        return transfer_id

    async def storefront(self) -> str:
        async def make() -> str:
            emulator = self.request.getfixturevalue("emulator")
            body = storefront_body(emulator)
            self.never_shown |= {body["access_token"], body["webhook_secret"]}
            response = await self.client.post("/v1/storefronts", json=body, headers=self.keys.admin)
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        storefront_id: str = await self._once("storefront", make)
        return storefront_id

    async def shopify_item(self) -> str:
        async def make() -> str:
            return str(self.request.getfixturevalue("emulator").shop.add_item("TEE-1").gid)

        gid: str = await self._once("shopify_item", make)
        return gid

    async def spare_key(self) -> str:
        """A key nobody in the matrix uses, for the revocation route."""

        async def make() -> str:
            response = await self.client.post(
                "/v1/api-keys", json={"name": "spare", "role": "readonly"}, headers=self.keys.admin
            )
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        key_id: str = await self._once("spare_key", make)
        return key_id


ADDRESS = {
    "line1": "1 High Street",
    "city": "London",
    "postal_code": "W1D 1AA",
    "country": "GB",
    "latitude": 51.514,
    "longitude": -0.135,
}


def transfer_body(to: str) -> dict[str, Any]:
    return {"from_location": "WH-1", "to_location": to, "lines": [{"sku": "TEE-2", "quantity": 1}]}


def till_lines() -> list[dict[str, Any]]:
    return [{"sku": "TEE-2", "quantity": 1, "unit_price_minor": 1000}]


def sale(location: str | None) -> dict[str, Any]:
    return {
        "client_txn_id": _fresh("txn"),
        "location": location,
        "occurred_at": "2026-03-02T10:00:00Z",
        "lines": till_lines(),
    }


def new_sku() -> dict[str, Any]:
    return {"sku": _fresh("NEW"), "name": "New", "price_minor": 500, "currency": "GBP"}


# Call factories ----------------------------------------------------------------------------
def fixed(
    path: str,
    params: dict[str, Any] | None = None,
    body: Callable[[], Any] | None = None,
) -> CallFactory:
    """A call that addresses nothing seeded (a body is made afresh for each cell)."""

    async def make(s: Seed, v: Variant, who: str) -> Call:
        return Call(path, params, body() if body else None)

    return make


async def one_order(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, v.channel or "web")
    return Call(f"/v1/orders/{order.id}", shows=frozenset({order.id, order.secret}))


async def order_list(s: Seed, v: Variant, who: str) -> Call:
    params = {k: value for k, value in [("location", v.location), ("channel", v.channel)]}
    return Call(
        "/v1/orders",
        params={k: value for k, value in params.items() if value != ANY},
        shows=s.ids(v.location, v.channel),
    )


async def place_order(s: Seed, v: Variant, who: str) -> Call:
    await s.stocked()
    email = f"{_fresh('new')}@example.com".lower()
    return Call("/v1/orders", body={**pickup_order(OWN, 1, email), "channel": v.channel})


async def cancel(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(OWN, v.channel or "web", f"cancel-{who}")
    return Call(f"/v1/orders/{order.id}/cancel", shows=frozenset({order.id, order.secret}))


async def ready(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, "web", f"to-ready-{who}")
    return Call(f"/v1/orders/{order.id}/ready", shows=frozenset({order.id}))


async def hand_over(s: Seed, v: Variant, who: str) -> Call:
    order, code = await s.ready(v.location or OWN)
    return Call(f"/v1/orders/{order.id}/pickup", body={"pickup_code": code})


async def ship(s: Seed, v: Variant, who: str) -> Call:
    order = await s.ship_order(v.location or OWN, who)
    return Call(f"/v1/orders/{order.id}/ship", shows=frozenset({order.id}))


async def reject(s: Seed, v: Variant, who: str) -> Call:
    order = await s.ship_order(v.location or OWN, f"reject-{who}")
    body = {"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}]}
    return Call(f"/v1/orders/{order.id}/reject", body=body, shows=frozenset({order.id}))


async def ready_of(s: Seed, location: str, channel: str, purpose: str) -> Placed:
    """A pickup order of `channel` at `location`, ready (a code sent), for one caller."""

    async def make() -> Placed:
        order = await s.order(location, channel, purpose)
        response = await s.client.post(f"/v1/orders/{order.id}/ready", headers=s.keys.admin)
        assert response.status_code == 200, response.text
        return order

    placed: Placed = await s._once(("ready_of", location, channel, purpose), make)
    return placed


async def resend_code(s: Seed, v: Variant, who: str) -> Call:
    order = await ready_of(s, v.location or OWN, v.channel or "web", f"resend-{who}")
    return Call(f"/v1/orders/{order.id}/resend-code", shows=frozenset({order.id}))


async def unlock_code(s: Seed, v: Variant, who: str) -> Call:
    order = await ready_of(s, OWN, "web", f"unlock-{who}")
    return Call(f"/v1/orders/{order.id}/unlock", shows=frozenset({order.id}))


async def order_return(s: Seed, v: Variant, who: str) -> Call:
    order = await s.picked_up()
    body = {"location": v.location, "lines": [{"sku": "TEE-1", "quantity": 1}]}
    return Call(f"/v1/orders/{order.id}/returns", body=body)


async def pickup_queue(s: Seed, v: Variant, who: str) -> Call:
    return Call(f"/v1/locations/{v.location}/pickups", shows=s.ids(v.location))


async def customer_by_email(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, "web")
    return Call("/v1/customers", {"email": order.email}, shows=frozenset({order.customer_id}))


async def customer(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, "web")
    shows = frozenset({order.customer_id, order.email})
    return Call(f"/v1/customers/{order.customer_id}", shows=shows)


async def timeline(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, "web")
    return Call(f"/v1/customers/{order.customer_id}/timeline", shows=frozenset({order.id}))


async def movements(s: Seed, v: Variant, who: str) -> Call:
    params = {} if v.location == ANY else {"location": v.location}
    return Call("/v1/stock/movements", params, shows=s.ids(v.location))


async def movement(s: Seed, v: Variant, who: str) -> Call:
    body = {"location": v.location, "sku": "TEE-2", "kind": "receipt", "quantity": 1}
    return Call("/v1/stock/movements", body=body)


async def counts(s: Seed, v: Variant, who: str) -> Call:
    return Call(
        "/v1/stock/counts",
        body={"location": v.location, "counts": [{"sku": "MUG-1", "counted": 2}]},
    )


async def one_transfer(s: Seed, v: Variant, who: str) -> Call:
    transfer_id = await s.transfer(OTHER, "")
    return Call(f"/v1/transfers/{transfer_id}", shows=frozenset({transfer_id}))


async def new_transfer(s: Seed, v: Variant, who: str) -> Call:
    await s.stocked()
    return Call("/v1/transfers", body=transfer_body(OWN))


async def receive(s: Seed, v: Variant, who: str) -> Call:
    transfer_id = await s.transfer(v.location or OWN, who)
    return Call(f"/v1/transfers/{transfer_id}/receive", shows=frozenset({transfer_id}))


async def transfer_list(s: Seed, v: Variant, who: str) -> Call:
    """A transfer to each store; a till without a filter is shown its own store's."""
    mine, theirs = await s.transfer(OWN, "listed"), await s.transfer(OTHER, "listed")
    location = v.location if v.location != ANY else None
    shown = {OWN: {mine}, OTHER: {theirs}, None: {mine} if who == "pos" else {mine, theirs}}
    params = {"location": location} if location else None
    return Call("/v1/transfers", params, shows=frozenset(shown[location]))


async def draft_transfer(s: Seed, source: str, purpose: str) -> str:
    """A draft transfer from `source` to the warehouse (nothing has moved yet)."""

    async def make() -> str:
        await s.stocked()
        body = {**transfer_body("WH-1"), "from_location": source, "draft": True}
        body["lines"] = [{"sku": "TEE-1", "quantity": 1}]
        response = await s.client.post(
            "/v1/transfers", json=body, headers={**s.keys.admin, "Idempotency-Key": _fresh("t")}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    transfer_id: str = await s._once(("draft", source, purpose), make)
    return transfer_id


def on_draft(action: str) -> CallFactory:
    async def make(s: Seed, v: Variant, who: str) -> Call:
        transfer_id = await draft_transfer(s, v.location or OWN, f"{action}-{who}")
        return Call(f"/v1/transfers/{transfer_id}/{action}", shows=frozenset({transfer_id}))

    return make


async def count_at(s: Seed, location: str, purpose: str) -> str:
    """An open count at `location` with one line counted."""

    async def make() -> str:
        response = await s.client.post(
            "/v1/counts",
            json={"location": location},
            headers={**s.keys.admin, "Idempotency-Key": _fresh("c")},
        )
        assert response.status_code == 201, response.text
        count_id = str(response.json()["id"])
        counted = await s.client.put(
            f"/v1/counts/{count_id}/lines",
            json={"lines": [{"sku": "TEE-1", "counted": 1}]},
            headers=s.keys.admin,
        )
        assert counted.status_code == 200, counted.text
        return count_id

    count_id: str = await s._once(("count", location, purpose), make)
    return count_id


def on_count(suffix: str = "", body: Any = None, *, per_caller: bool = False) -> CallFactory:
    async def make(s: Seed, v: Variant, who: str) -> Call:
        count_id = await count_at(s, v.location or OWN, who if per_caller else "")
        return Call(f"/v1/counts/{count_id}{suffix}", body=body, shows=frozenset({count_id}))

    return make


async def new_count(s: Seed, v: Variant, who: str) -> Call:
    return Call("/v1/counts", body={"location": v.location})


async def count_list(s: Seed, v: Variant, who: str) -> Call:
    mine, theirs = await count_at(s, OWN, ""), await count_at(s, OTHER, "")
    location = v.location if v.location != ANY else None
    shown = {OWN: {mine}, OTHER: {theirs}, None: {mine} if who == "pos" else {mine, theirs}}
    params = {"location": location} if location else None
    return Call("/v1/counts", params, shows=frozenset(shown[location]))


async def till_sale(s: Seed, v: Variant, who: str) -> Call:
    await s.stocked()
    return Call("/v1/pos/sales", body=sale(v.location))


async def till_batch(s: Seed, v: Variant, who: str) -> Call:
    await s.stocked()
    return Call("/v1/pos/sales/batch", body={"sales": [sale(v.location), sale(v.location)]})


async def till_return(s: Seed, v: Variant, who: str) -> Call:
    body = {"client_txn_id": _fresh("ret"), "location": v.location, "lines": till_lines()}
    return Call("/v1/pos/returns", body=body)


def on_storefront(
    suffix: str = "", body: Callable[[Seed], Awaitable[Any]] | None = None
) -> CallFactory:
    async def make(s: Seed, v: Variant, who: str) -> Call:
        storefront_id = await s.storefront()
        return Call(
            f"/v1/storefronts/{storefront_id}{suffix}",
            body=await body(s) if body else None,
            shows=frozenset({storefront_id}) if not suffix else frozenset(),
        )

    return make


async def new_storefront(s: Seed, v: Variant, who: str) -> Call:
    body = storefront_body(s.request.getfixturevalue("emulator"))
    s.never_shown |= {body["access_token"], body["webhook_secret"]}
    return Call("/v1/storefronts", body=body)


async def doomed_storefront(s: Seed, v: Variant, who: str) -> Call:
    """A storefront of its own for each caller, since an allowed call deletes it."""
    body = storefront_body(s.request.getfixturevalue("emulator"), name=f"doomed {who}")
    s.never_shown |= {body["access_token"], body["webhook_secret"]}
    response = await s.client.post("/v1/storefronts", json=body, headers=s.keys.admin)
    assert response.status_code == 201, response.text
    storefront_id = str(response.json()["id"])
    return Call(f"/v1/storefronts/{storefront_id}", shows=frozenset({storefront_id}))


WEBHOOK_URL = "https://93.184.215.14/hooks"
"""A public address as an IP literal: passes the SSRF guard without a DNS lookup."""


async def new_webhook_endpoint(s: Seed, v: Variant, who: str) -> Call:
    return Call("/v1/webhook-endpoints", body={"url": WEBHOOK_URL, "types": ["stock.changed"]})


def on_webhook_endpoint(
    suffix: str = "", body: Any = None, per_caller: bool = False
) -> CallFactory:
    """A webhook endpoint the admin registered (its secret may never be shown again); a
    caller that changes it (`per_caller`) gets its own."""

    async def make(s: Seed, v: Variant, who: str) -> Call:
        async def register() -> str:
            response = await s.client.post(
                "/v1/webhook-endpoints",
                json={"url": WEBHOOK_URL, "types": ["stock.changed"]},
                headers=s.keys.admin,
            )
            assert response.status_code == 201, response.text
            s.never_shown.add(response.json()["secret"])
            return str(response.json()["id"])

        endpoint_id = await s._once(("webhook_endpoint", who if per_caller else ""), register)
        return Call(
            f"/v1/webhook-endpoints/{endpoint_id}{suffix}",
            body=body,
            shows=frozenset({endpoint_id}) if not suffix else frozenset(),
        )

    return make


async def mappings(s: Seed) -> dict[str, Any]:
    return {"items": [{"sku": "TEE-1", "external_inventory_item_id": await s.shopify_item()}]}


async def revoke_key(s: Seed, v: Variant, who: str) -> Call:
    key_id = await s.spare_key()
    return Call(f"/v1/api-keys/{key_id}", shows=frozenset({key_id}))


def new_person() -> dict[str, Any]:
    email = f"{_fresh('staff')}@example.com".lower()
    return {
        "email": email,
        "name": "New",
        "role": "associate",
        "locations": [OWN],
        "password": "a long enough password",
    }


async def deactivate_person(s: Seed, v: Variant, who: str) -> Call:
    """A person nobody in the matrix signs in as (deactivating again is a no-op)."""

    async def make() -> tuple[int, str]:
        body = new_person()
        response = await s.client.post("/v1/staff", json=body, headers=s.keys.admin)
        assert response.status_code == 201, response.text
        return response.json()["id"], body["email"]

    staff_id, email = await s._once("spare_person", make)
    return Call(f"/v1/staff/{staff_id}", shows=frozenset({email}))


def event_feed(path: str) -> CallFactory:
    """The event log from the start (`GET /v1/events`, or the catch-up of `GET /v1/stream`):
    a ready pickup order of each channel at each store is in it, so each caller must see
    its own and nothing of the others."""

    async def make(s: Seed, v: Variant, who: str) -> Call:
        for location, channel in itertools.product((OWN, OTHER), ("web", "mobile")):
            await ready_of(s, location, channel, "feed")
        params: dict[str, Any] = {"after": 0}
        params |= {"limit": 1000} if path == "/v1/events" else {}
        params |= {"location": v.location} if v.location != ANY else {}
        feed = frozenset(
            o.id
            for o in s.orders
            if ".feed." in o.email and (v.location == ANY or v.location in o.locations)
        )
        return Call(path, params, shows=feed)

    return make


async def _cart(s: Seed, hold_at: str | None = OWN, purpose: str = "") -> dict[str, Any]:
    """A cart started on the app for a customer of its own, held at `hold_at`."""
    await s.stocked()
    body: dict[str, Any] = {
        "customer": {"email": f"cart.{_fresh('c').lower()}@example.com"},
        "lines": [{"sku": "TEE-1", "quantity": 1}],
    }
    if hold_at:
        body["hold_at"] = hold_at
    response = await s.client.post(
        "/v1/carts", json=body, headers={**s.keys.mobile, "Idempotency-Key": _fresh("cart")}
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def seeded_cart(s: Seed) -> dict[str, Any]:
    made: dict[str, Any] = await s._once("cart", lambda: _cart(s))
    return made


async def new_cart(s: Seed, v: Variant, who: str) -> Call:
    await s.stocked()
    body = {
        "customer": {"email": f"new.{_fresh('c').lower()}@example.com"},
        "lines": [{"sku": "TEE-1", "quantity": 1}],
        "hold_at": v.location or OWN,
    }
    return Call("/v1/carts", body=body)


async def one_cart(s: Seed, v: Variant, who: str) -> Call:
    cart = await seeded_cart(s)
    return Call(f"/v1/carts/{cart['id']}", shows=frozenset({cart["id"]}))


async def cart_list(s: Seed, v: Variant, who: str) -> Call:
    cart = await seeded_cart(s)
    email = await _cart_email(s, cart)
    return Call("/v1/carts", {"customer_email": email}, shows=frozenset({cart["id"]}))


async def _cart_email(s: Seed, cart: dict[str, Any]) -> str:
    response = await s.client.get(f"/v1/customers/{cart['customer_id']}", headers=s.keys.admin)
    email: str = response.json()["email"]
    return email


async def cart_by_code(s: Seed, v: Variant, who: str) -> Call:
    cart = await seeded_cart(s)
    return Call(f"/v1/carts/by-code/{cart['code']}", shows=frozenset({cart["id"]}))


async def prefer_store(s: Seed, v: Variant, who: str) -> Call:
    order = await s.order(v.location or OWN, "web")
    body = {"preferred_location": OWN}
    return Call(f"/v1/customers/{order.customer_id}", body=body, shows=frozenset({OWN}))


def on_own_cart(suffix: str, body: Any = None) -> CallFactory:
    """A write on a cart of the caller's own (each cell its own cart, held at the POS key's
    store), so each is answered on its merits."""

    async def make(s: Seed, v: Variant, who: str) -> Call:
        cart = await _cart(s)
        return Call(f"/v1/carts/{cart['id']}{suffix}", body=body)

    return make


STREAMS = {("GET", "/v1/stream")}
"""Endless answers: read up to the end of their catch-up (`tests/support/sse.py`)."""

AT_OWN_STORE_ONLY = Scope(other=Expect.FORBIDDEN)
"""A POS key acting at another store: 403 naming both stores."""

RULES: dict[tuple[str, str], Rule] = {
    # Catalogue: every key reads it, admin writes it.
    ("GET", "/v1/locations"): Rule(ANYONE, fixed("/v1/locations"), "locations are public"),
    ("POST", "/v1/locations"): Rule(
        frozenset({"admin"}),
        fixed(
            "/v1/locations",
            body=lambda: {
                "code": _fresh("L"),
                "name": "New",
                "kind": "store",
                "latitude": 51.5,
                "longitude": -0.1,
            },
        ),
        "catalogue writes are admin's",
    ),
    ("GET", "/v1/locations/{code}"): Rule(
        ANYONE, fixed(f"/v1/locations/{OTHER}"), "locations are public, any store's"
    ),
    ("PATCH", "/v1/locations/{code}"): Rule(
        frozenset({"admin"}),
        fixed(f"/v1/locations/{OWN}", body=lambda: {"pickup_lead_minutes": 45}),
        "a location's settings are admin's (a store's manager, a person, changes its pickup "
        "hours, lead time and pause); a till's key may not, even at its own store",
    ),
    ("GET", "/v1/skus"): Rule(ANYONE, fixed("/v1/skus"), "the catalogue is public"),
    ("POST", "/v1/skus"): Rule(
        frozenset({"admin"}), fixed("/v1/skus", body=new_sku), "catalogue writes are admin's"
    ),
    ("PUT", "/v1/skus"): Rule(
        frozenset({"admin"}),
        fixed("/v1/skus", body=lambda: {"items": [new_sku()]}),
        "catalogue writes are admin's",
    ),
    ("GET", "/v1/skus/{sku}"): Rule(ANYONE, fixed("/v1/skus/TEE-1"), "the catalogue is public"),
    # Stock: levels and availability are every channel's business; the ledger is staff's.
    ("GET", "/v1/stock/{sku}"): Rule(
        ANYONE, fixed("/v1/stock/TEE-1"), "levels at every store: channels sell from them"
    ),
    ("GET", "/v1/stock/{sku}/{location}"): Rule(
        ANYONE,
        fixed(f"/v1/stock/TEE-1/{OTHER}"),
        "a till looks up nearby stores' stock for a customer",
    ),
    ("PUT", "/v1/stock/{sku}/{location}/safety-stock"): Rule(
        frozenset({"admin"}),
        fixed(f"/v1/stock/TEE-1/{OWN}/safety-stock", body=lambda: {"safety_stock": 1}),
        "safety stock is a catalogue setting (admin's), even at the POS key's own store",
    ),
    ("GET", "/v1/availability"): Rule(
        ANYONE,
        fixed("/v1/availability", {"sku": "TEE-1", "latitude": 51.5152, "longitude": -0.1419}),
        "what the storefronts show shoppers",
    ),
    ("POST", "/v1/stock/movements"): Rule(
        frozenset({"admin", "pos"}),
        movement,
        "stock is moved by admin or a till there",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/stock/movements"): Rule(
        STAFF_READERS,
        movements,
        "the ledger names actors, tills and other channels' orders: staff and operations "
        "only; a POS key names its own store (without a location it is 403 too)",
        location=Scope(other=Expect.FORBIDDEN, unfiltered=Expect.FORBIDDEN),
    ),
    ("POST", "/v1/stock/counts"): Rule(
        frozenset({"admin", "pos"}), counts, "a count is taken there", location=AT_OWN_STORE_ONLY
    ),
    # Transfers
    ("POST", "/v1/transfers"): Rule(
        frozenset({"admin"}), new_transfer, "stock is sent between locations by admin"
    ),
    ("GET", "/v1/transfers/{transfer_id}"): Rule(
        ANYONE,
        one_transfer,
        "any key (docs/api.md): a transfer is stock in transit, no order or customer data; "
        "asked here for one that does not involve the POS key's store",
    ),
    ("POST", "/v1/transfers/{transfer_id}/receive"): Rule(
        frozenset({"admin", "pos"}),
        receive,
        "received at its destination: admin, or a till of the destination",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/transfers"): Rule(
        ANYONE,
        transfer_list,
        "stock in transit, no order or customer data; a till lists its own store's (another "
        "store named: 403; none named: its own)",
        location=Scope(other=Expect.FORBIDDEN, unfiltered=Expect.ALLOW),
    ),
    ("POST", "/v1/transfers/{transfer_id}/ship"): Rule(
        frozenset({"admin", "pos"}),
        on_draft("ship"),
        "shipped by admin, or by a till of the source store",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/transfers/{transfer_id}/cancel"): Rule(
        frozenset({"admin", "pos"}),
        on_draft("cancel"),
        "cancelled by admin, or by a till of the source store",
        location=AT_OWN_STORE_ONLY,
    ),
    # Count sessions: taken by the store's staff, approved by its manager (a person) or admin.
    ("POST", "/v1/counts"): Rule(
        frozenset({"admin", "pos"}),
        new_count,
        "a count is taken there",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/counts"): Rule(
        STAFF_READERS,
        count_list,
        "counts name who counted: staff and operations; a till its own store's (another store "
        "named: 403; none named: its own)",
        location=Scope(other=Expect.FORBIDDEN, unfiltered=Expect.ALLOW),
    ),
    ("GET", "/v1/counts/{count_id}"): Rule(
        STAFF_READERS, on_count(), "a till reads its own store's counts", location=AT_OWN_STORE_ONLY
    ),
    ("PUT", "/v1/counts/{count_id}/lines"): Rule(
        frozenset({"admin", "pos"}),
        on_count("/lines", {"lines": [{"sku": "TEE-1", "counted": 2}]}),
        "counted by the store's staff",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/counts/{count_id}/approve"): Rule(
        frozenset({"admin"}),
        on_count("/approve", per_caller=True),
        "a manager of the store (a person: tests/e2e/test_transfers_and_counts.py) or admin; "
        "a till may not approve its own count",
    ),
    ("POST", "/v1/counts/{count_id}/cancel"): Rule(
        frozenset({"admin", "pos"}),
        on_count("/cancel", per_caller=True),
        "abandoned by the store's staff (nothing moves)",
        location=AT_OWN_STORE_ONLY,
    ),
    # Keys
    ("POST", "/v1/api-keys"): Rule(
        frozenset({"admin"}),
        fixed("/v1/api-keys", body=lambda: {"name": "new", "role": "readonly"}),
        "keys are admin's",
    ),
    ("GET", "/v1/api-keys"): Rule(frozenset({"admin"}), fixed("/v1/api-keys"), "keys are admin's"),
    ("DELETE", "/v1/api-keys/{key_id}"): Rule(frozenset({"admin"}), revoke_key, "keys are admin's"),
    # Staff: people are added and deactivated by admins; a person signs out of their own session.
    ("POST", "/v1/staff"): Rule(
        frozenset({"admin"}), fixed("/v1/staff", body=new_person), "staff accounts are admin's"
    ),
    ("GET", "/v1/staff"): Rule(frozenset({"admin"}), fixed("/v1/staff"), "staff are admin's"),
    ("DELETE", "/v1/staff/{staff_id}"): Rule(
        frozenset({"admin"}), deactivate_person, "staff accounts are admin's"
    ),
    ("DELETE", "/v1/sessions/current"): Rule(
        frozenset(),
        fixed("/v1/sessions/current"),
        "signing out is a signed-in person's (tests/e2e/test_staff.py); a key has no session "
        "to end: it is revoked instead (403)",
    ),
    # Storefronts: settings are admin's, their health is operations'.
    ("POST", "/v1/storefronts"): Rule(
        frozenset({"admin"}), new_storefront, "storefront settings are admin's"
    ),
    ("GET", "/v1/storefronts"): Rule(
        frozenset({"admin", "readonly"}),
        fixed("/v1/storefronts"),
        "storefront settings are operations' reading",
    ),
    ("GET", "/v1/storefronts/{storefront_id}"): Rule(
        frozenset({"admin", "readonly"}),
        on_storefront(),
        "storefront settings are operations' reading",
    ),
    ("PUT", "/v1/storefronts/{storefront_id}/mappings"): Rule(
        frozenset({"admin"}), on_storefront("/mappings", mappings), "storefront settings"
    ),
    ("GET", "/v1/storefronts/{storefront_id}/sync"): Rule(
        frozenset({"admin", "readonly"}), on_storefront("/sync"), "sync health: operations"
    ),
    ("POST", "/v1/storefronts/{storefront_id}/resync"): Rule(
        frozenset({"admin"}), on_storefront("/resync"), "pushes to Shopify: admin"
    ),
    ("POST", "/v1/storefronts/{storefront_id}/reconcile"): Rule(
        frozenset({"admin"}), on_storefront("/reconcile"), "pushes to Shopify: admin"
    ),
    ("DELETE", "/v1/storefronts/{storefront_id}"): Rule(
        frozenset({"admin"}), doomed_storefront, "storefront settings are admin's"
    ),
    ("POST", "/v1/storefronts/{storefront_id}/discover"): Rule(
        frozenset({"admin"}), on_storefront("/discover"), "maps the shop's items: admin"
    ),
    # Webhook endpoints: where events go, signed with a secret shown once; admin's only.
    ("POST", "/v1/webhook-endpoints"): Rule(
        frozenset({"admin"}), new_webhook_endpoint, "webhook endpoints are admin's"
    ),
    ("GET", "/v1/webhook-endpoints"): Rule(
        frozenset({"admin"}),
        fixed("/v1/webhook-endpoints"),
        "webhook endpoints name where every event goes: admin's",
    ),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): Rule(
        frozenset({"admin"}), on_webhook_endpoint(), "webhook endpoints are admin's"
    ),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): Rule(
        frozenset({"admin"}),
        on_webhook_endpoint(per_caller=True),
        "webhook endpoints are admin's",
    ),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): Rule(
        frozenset({"admin"}),
        on_webhook_endpoint("/deliveries"),
        "the delivery log is admin's",
    ),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay"): Rule(
        frozenset({"admin"}),
        on_webhook_endpoint("/replay", body={"after": 0}),
        "re-delivering events is admin's",
    ),
    # Orders
    ("POST", "/v1/orders"): Rule(
        frozenset({"admin", "storefront", "mobile"}),
        place_order,
        "remote channels place their own channel's orders at any store; only admin names "
        "another channel (403)",
        channel=Scope(other=Expect.FORBIDDEN),
    ),
    ("GET", "/v1/orders"): Rule(
        ANYONE,
        order_list,
        "a POS key lists its own store's orders (another store named: 403; none named: its "
        "own); a storefront or mobile key its channel's (another channel named: nothing)",
        location=Scope(other=Expect.FORBIDDEN, unfiltered=Expect.ALLOW),
        channel=Scope(other=Expect.EMPTY, unfiltered=Expect.ALLOW),
    ),
    ("GET", "/v1/orders/{order_ref}"): Rule(
        ANYONE,
        one_order,
        "another store's order (pos) or another channel's (storefront, mobile) is 404; the "
        "client_secret goes to the placing channel only",
        location=Scope(other=Expect.NOT_FOUND),
        channel=Scope(other=Expect.NOT_FOUND),
    ),
    ("POST", "/v1/orders/{order_ref}/cancel"): Rule(
        frozenset({"admin", "storefront", "mobile"}),
        cancel,
        "the ordering channel or admin cancels; another channel's order is 404",
        channel=Scope(other=Expect.NOT_FOUND),
    ),
    ("POST", "/v1/orders/{order_ref}/ready"): Rule(
        frozenset({"admin", "pos"}),
        ready,
        "staff of the pickup store, or admin",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/orders/{order_ref}/pickup"): Rule(
        frozenset({"pos"}),
        hand_over,
        "handover is a POS key's of the pickup store (not even admin: docs/api.md)",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/orders/{order_ref}/reject"): Rule(
        frozenset({"admin", "pos"}),
        reject,
        "staff of the store where the units are held, or admin",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/orders/{order_ref}/ship"): Rule(
        frozenset({"admin", "pos"}),
        ship,
        "admin, or a till of the store that holds every allocation",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/orders/{order_ref}/resend-code"): Rule(
        frozenset({"admin", "pos", "storefront", "mobile"}),
        resend_code,
        "the pickup store's staff, the channel that placed the order (another channel's order "
        "is 404), or admin",
        location=AT_OWN_STORE_ONLY,
        channel=Scope(other=Expect.NOT_FOUND),
    ),
    ("POST", "/v1/orders/{order_ref}/unlock"): Rule(
        frozenset({"admin"}),
        unlock_code,
        "a manager of the pickup store (a person, not a key: tests/e2e/test_pickup_codes.py) "
        "or admin; a till may not lift its own lockout",
    ),
    ("POST", "/v1/orders/{order_ref}/returns"): Rule(
        frozenset({"admin", "pos"}),
        order_return,
        "returns anywhere: any order, taken back at the till's own store",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/locations/{code}/pickups"): Rule(
        frozenset({"admin", "pos"}),
        pickup_queue,
        "a store's work queue: its tills and admin (readonly reads orders instead)",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/notifications"): Rule(
        frozenset({"admin"}), fixed("/v1/notifications"), "messages carry pickup codes: admin"
    ),
    # POS
    ("POST", "/v1/pos/sales"): Rule(
        frozenset({"admin", "pos"}),
        till_sale,
        "a till sells at its store",
        location=AT_OWN_STORE_ONLY,
    ),
    ("POST", "/v1/pos/sales/batch"): Rule(
        frozenset({"admin", "pos"}),
        till_batch,
        "each sale is checked on its own (a till's sale at another store is refused in the "
        "batch's answer); a role that may not sell at all is refused whole",
        location=Scope(other=Expect.EACH_FORBIDDEN),
    ),
    ("POST", "/v1/pos/returns"): Rule(
        frozenset({"admin", "pos"}),
        till_return,
        "a till takes returns at its store",
        location=AT_OWN_STORE_ONLY,
    ),
    # Events: every key follows the log, each within its scope (a till its stores', a
    # storefront or mobile key stock and its own channel's orders).
    ("GET", "/v1/events"): Rule(
        ANYONE,
        event_feed("/v1/events"),
        "every key catches up on the events it may see; a till asking for another store's "
        "gets nothing of it",
        location=Scope(other=Expect.EMPTY, unfiltered=Expect.ALLOW),
    ),
    ("GET", "/v1/stream"): Rule(
        ANYONE,
        event_feed("/v1/stream"),
        "the same events live, scoped as GET /v1/events",
        location=Scope(other=Expect.EMPTY, unfiltered=Expect.ALLOW),
    ),
    # Customers: profiles span channels, so staff only; a till its own store's.
    ("GET", "/v1/customers"): Rule(
        STAFF_READERS,
        customer_by_email,
        "a customer seen only at another store is 404 to a POS key",
        location=Scope(other=Expect.NOT_FOUND),
    ),
    ("GET", "/v1/customers/{customer_id}"): Rule(
        STAFF_READERS,
        customer,
        "a customer seen only at another store is 404 to a POS key",
        location=Scope(other=Expect.NOT_FOUND),
    ),
    ("GET", "/v1/customers/{customer_id}/timeline"): Rule(
        STAFF_READERS,
        timeline,
        "a customer seen only at another store is 404 to a POS key; one seen at its store "
        "comes with the whole timeline, other stores' orders included (docs/api.md)",
        location=Scope(other=Expect.NOT_FOUND),
    ),
    # Carts: seen from every channel; the web store, the app and the counter work them.
    ("POST", "/v1/carts"): Rule(
        frozenset({"admin", "storefront", "mobile", "pos"}),
        new_cart,
        "a cart is held at any store, but a till holds only at its own",
        location=AT_OWN_STORE_ONLY,
    ),
    ("GET", "/v1/carts"): Rule(ANYONE, cart_list, "a customer's open carts, from any channel"),
    ("GET", "/v1/carts/{cart_id}"): Rule(ANYONE, one_cart, "a cart travels between channels"),
    ("GET", "/v1/carts/by-code/{code}"): Rule(
        frozenset({"admin", "pos"}), cart_by_code, "the counter looks a cart up by its code"
    ),
    ("PUT", "/v1/carts/{cart_id}/lines"): Rule(
        frozenset({"admin", "storefront", "mobile", "pos"}),
        on_own_cart("/lines", {"lines": [{"sku": "TEE-1", "quantity": 2}]}),
        "any channel edits the cart",
    ),
    ("POST", "/v1/carts/{cart_id}/extend"): Rule(
        frozenset({"admin", "storefront", "mobile", "pos"}),
        on_own_cart("/extend"),
        "any channel extends the hold (once)",
    ),
    ("PATCH", "/v1/customers/{customer_id}"): Rule(
        frozenset({"admin", "storefront", "mobile", "pos"}),
        prefer_store,
        "the app, the web store or a till sets the customer's store; a customer seen only at "
        "another store is 404 to a POS key",
        location=Scope(other=Expect.NOT_FOUND),
    ),
    ("POST", "/v1/carts/{cart_id}/checkout"): Rule(
        frozenset({"admin", "storefront", "mobile"}),
        on_own_cart("/checkout", {"fulfilment": {"type": "pickup"}}),
        "a checkout places an order; the counter completes a cart with a sale instead",
    ),
    # The books' audit (app/audit) reads every store's ledger, orders and carts
    ("GET", "/v1/ops/audit"): Rule(
        frozenset({"admin"}), fixed("/v1/ops/audit"), "the books' audit is operations'"
    ),
    ("POST", "/v1/ops/audit/run"): Rule(
        frozenset({"admin"}), fixed("/v1/ops/audit/run"), "the books' audit is operations'"
    ),
}


@dataclass(frozen=True)
class Public:
    """An operation that takes no API key, why, and what it answers to a caller without one."""

    why: str
    answers: frozenset[int]
    call: CallFactory | None = None  # None: the path with "ui.css" for its parameter
    seeded: bool = False  # the call addresses something seeded (with the `keys` fixture)


PREFIX = "*"
"""A PUBLIC key ending in it stands for every route under that path: routes whose paths the
app derives from its files (the OpenAPI UI's assets carry a digest of them)."""


async def unsigned_shopify_webhook(s: Seed, v: Variant, who: str) -> Call:
    return Call(f"/webhooks/shopify/{await s.storefront()}", body={"id": 1})


OPENAPI = "the API's description is public (it holds no data)"
SIGN_IN = ("POST", "/v1/sessions")
"""The one operation under /v1/ that takes no key: staff sign in with what they have instead."""
PUBLIC: dict[tuple[str, str], Public] = {
    SIGN_IN: Public(
        "staff sign in with email and password for a session token; a wrong pair is 401 "
        "(locked out after five: 429; tests/e2e/test_staff.py)",
        frozenset({401}),
        fixed(
            "/v1/sessions",
            body=lambda: {"email": "nobody@example.com", "password": "not a password"},
        ),
    ),
    ("GET", "/health/live"): Public(
        "the orchestrator's liveness probe; no data", frozenset({200}), fixed("/health/live")
    ),
    ("GET", "/health/ready"): Public(
        "the load balancer's readiness probe; no data", frozenset({200}), fixed("/health/ready")
    ),
    ("GET", "/metrics"): Public(
        "Prometheus scrapes it; with METRICS_TOKEN set it wants that token instead of an API "
        "key (tests/e2e/test_metrics_token.py)",
        frozenset({200}),
        fixed("/metrics"),
    ),
    ("POST", "/webhooks/stripe"): Public(
        "Stripe calls it; verified by Stripe-Signature (404 while Stripe is not configured)",
        frozenset({401, 404}),
        fixed("/webhooks/stripe", body=lambda: {"id": "evt_1"}),
    ),
    ("POST", "/webhooks/shopify/{storefront_id}"): Public(
        "Shopify calls it; verified by X-Shopify-Hmac-Sha256 with the storefront's secret",
        frozenset({401}),
        unsigned_shopify_webhook,
        seeded=True,
    ),
    ("GET", "/schema"): Public(OPENAPI, frozenset({200}), fixed("/schema")),
    ("GET", "/schema/scalar"): Public(OPENAPI, frozenset({200}), fixed("/schema/scalar")),
    ("GET", "/schema/swagger"): Public(OPENAPI, frozenset({200}), fixed("/schema/swagger")),
    ("GET", "/schema/openapi.json"): Public(
        OPENAPI, frozenset({200}), fixed("/schema/openapi.json")
    ),
    ("GET", "/schema/{path}"): Public(
        "Litestar's catch-all under /schema: a page it does not have is 404, never 401",
        frozenset({404}),
        fixed("/schema/no-such-page"),
    ),
    ("GET", f"/schema/assets/{PREFIX}"): Public(
        "the files the OpenAPI UI loads (asked here for one; a file not in that directory is "
        "404, never 401)",
        frozenset({200, 404}),
    ),
    ("GET", f"/console{PREFIX}"): Public(
        "the staff console's pages and files take a console session, not an API key: without "
        "one a page sends the person to sign in (303, followed here: 200); a path it does not "
        "have is 404 (tests/e2e/test_console_http.py, tests/browser/)",
        frozenset({200, 404}),
    ),
    ("POST", f"/console{PREFIX}"): Public(
        "the staff console's forms: without the CSRF token of the console's own page they are "
        "refused (403) and change nothing; a path it does not have is 404",
        frozenset({403, 404}),
    ),
}


# The route table ---------------------------------------------------------------------------
def operations(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, HEAD and OPTIONS aside."""
    return {
        (method, route.path_format)
        for route in app.routes
        for method in getattr(route, "methods", {"WEBSOCKET"})
        if method not in {"HEAD", "OPTIONS"}
    }


def _route_table() -> set[tuple[str, str]]:
    settings = replace(
        Settings.from_env(), redis_url=None, in_process_workers=False, log_level="WARNING"
    )
    return operations(create_app(settings))


def public_rule(operation: tuple[str, str]) -> Public | None:
    method, path = operation
    for (public_method, public_path), public in PUBLIC.items():
        if public_method == method and (
            path == public_path
            or (public_path.endswith(PREFIX) and path.startswith(public_path.removesuffix(PREFIX)))
        ):
            return public
    return None


ROUTES = _route_table()
GUARDED = sorted({op for op in ROUTES if public_rule(op) is None} | RULES.keys())
OPEN = sorted({op for op in ROUTES if public_rule(op) is not None} | PUBLIC.keys())


def test_keys_guard_all_of_v1_and_nothing_else() -> None:
    """Rules are for the API behind keys, `/v1/`; what is outside it is listed as public, and
    so is staff sign-in (`SIGN_IN`), the one way to get a session."""
    assert [op for op in RULES if not op[1].startswith("/v1/")] == []
    assert [op for op in PUBLIC if op[1].startswith("/v1/") and op != SIGN_IN] == []


@pytest.mark.parametrize("operation", GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
async def test_who_may_call_it(
    operation: tuple[str, str],
    app: Litestar,
    client: Client,
    keys: Keys,
    db: Database,
    request: pytest.FixtureRequest,
) -> None:
    method, path = operation
    rule = RULES.get(operation)
    assert rule is not None, (
        f"{method} {path} has no rule: add it to RULES in this module (the roles that may "
        "call it; whether a POS key is held to its store and a storefront or mobile key to "
        "its channel) or, outside /v1/, to PUBLIC with the reason"
    )
    assert operation in operations(app), (
        f"{method} {path} has a rule in this module but the app has no such route: "
        "remove the rule or fix its path"
    )
    seed = Seed(client, keys, db, request)
    await seed.everyday()
    problems = await _matrix(seed, method, path, rule)
    assert not problems, (
        f"{len(problems)} cell(s) of {method} {path} went wrong (the rule: {rule.why}):\n"
        + "\n".join(problems)
    )


def _open(seeded: bool) -> list[tuple[str, str]]:
    return [
        op for op in OPEN if (public := public_rule(op)) is not None and public.seeded == seeded
    ]


@pytest.mark.parametrize("operation", _open(False), ids=[f"{m} {p}" for m, p in _open(False)])
async def test_what_needs_no_key(
    operation: tuple[str, str],
    app: Litestar,
    client: Client,
    db: Database,
    request: pytest.FixtureRequest,
) -> None:
    no_keys = Keys({}, {}, {}, {}, {})  # nothing is seeded for these
    await _open_operation(operation, app, client, Seed(client, no_keys, db, request))


@pytest.mark.parametrize("operation", _open(True), ids=[f"{m} {p}" for m, p in _open(True)])
async def test_what_needs_its_own_signature(
    operation: tuple[str, str],
    app: Litestar,
    client: Client,
    keys: Keys,
    db: Database,
    request: pytest.FixtureRequest,
) -> None:
    await _open_operation(operation, app, client, Seed(client, keys, db, request))


async def _open_operation(
    operation: tuple[str, str], app: Litestar, client: Client, seed: Seed
) -> None:
    method, path = operation
    routes = operations(app)
    if path.endswith(PREFIX):
        assert any(public_rule(route) is PUBLIC[operation] for route in routes), (
            f"PUBLIC has {method} {path} but the app has no route under it: remove the entry"
        )
        return
    assert operation in routes, (
        f"PUBLIC has {method} {path} but the app has no such route: remove the entry"
    )
    public = public_rule(operation)
    assert public is not None
    if public.call is None:
        call = Call(re.sub(r"\{[^}]+\}", "ui.css", path))
    else:
        call = await public.call(seed, Variant(), "anonymous")
    response = await client.request(method, call.path, params=call.params, json=call.body)
    assert response.status_code in public.answers, (
        f"{method} {path} without a key: expected {sorted(public.answers)} ({public.why}), "
        f"got {response.status_code}: {response.text[:200]}"
    )


@dataclass(frozen=True)
class Cell:
    role: str  # one of ROLES, or "anonymous" (no key)
    variant: Variant
    expect: Expect

    def order(self) -> tuple[bool, bool]:
        """Refusals first, so a write that should have been refused cannot hide behind one
        that was allowed; admin last among the allowed, its writes change most."""
        return self.expect is Expect.ALLOW, self.role == "admin"


def _cells(rule: Rule) -> Iterator[Cell]:
    yield Cell("anonymous", rule.variants()[0], Expect.UNAUTHORIZED)
    for role in ROLES:
        for v in rule.variants():
            yield Cell(role, v, rule.expect(role, v))


async def _matrix(seed: Seed, method: str, path: str, rule: Rule) -> list[str]:
    cells = sorted(_cells(rule), key=Cell.order)
    calls = [await rule.call(seed, cell.variant, cell.role) for cell in cells]  # seeded first
    problems = []
    for cell, call in zip(cells, calls, strict=True):
        headers = {} if cell.role == "anonymous" else dict(getattr(seed.keys, cell.role))
        if method != "GET":
            headers["Idempotency-Key"] = _fresh("matrix")
        if (method, path) in STREAMS:
            status, text = await read_until_live(seed.client, call.path, headers, call.params)
        else:
            response = await seed.client.request(
                method, call.path, params=call.params, json=call.body, headers=headers
            )
            status, text = response.status_code, response.text
        foreign = seed.foreign(cell.role) if cell.role in ROLES else set()
        problem = _check(cell.expect, method, status, text, call, foreign)
        if problem:
            problems.append(
                f"  {method} {path} as {cell.role} {cell.variant}: expected "
                f"{cell.expect.value}; {problem}"
            )
    return problems


REFUSALS = {
    Expect.UNAUTHORIZED: (401, "unauthorized"),
    Expect.FORBIDDEN: (403, "forbidden"),
    Expect.NOT_FOUND: (404, "not_found"),
}


def _check(
    expect: Expect, method: str, status: int, text: str, call: Call, foreign: set[str]
) -> str | None:
    got = f"got {status}: {text[:300]}"
    if status >= 500:
        return got
    if expect in REFUSALS:
        wanted, code = REFUSALS[expect]
        return got if status != wanted else _error_shape(text, code)
    if expect is Expect.EACH_FORBIDDEN:
        results = _json(text).get("results") if status == 200 else None
        if not results or any(
            r["status"] != 403 or _error_shape_of(r["body"], "forbidden") for r in results
        ):
            return got
    elif expect is Expect.EMPTY:
        if not 200 <= status < 300 or any(marker in text for marker in call.shows):
            return got
    elif status not in ({200, 201} if method == "GET" else {200, 201, 409, 422}):
        return got
    elif 200 <= status < 300 and (missing := call.shows - foreign - _in(text, call.shows)):
        return f"{sorted(missing)} missing; {got}"
    if 200 <= status < 300 and (leaked := _in(text, foreign)):
        return f"shows what it must not see: {sorted(leaked)}; {got}"
    return None


def _in(text: str, markers: set[str] | frozenset[str]) -> set[str]:
    return {marker for marker in markers if marker in text}


def _json(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _error_shape(text: str, code: str) -> str | None:
    return _error_shape_of(_json(text), code)


def _error_shape_of(body: Any, code: str) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if (
        not isinstance(error, dict)
        or set(error) != {"code", "message", "details"}
        or error["code"] != code
        or not isinstance(error["message"], str)
        or not isinstance(error["details"], dict)
    ):
        return f"not the contract's error shape with code {code!r}: {body}"
    return None
