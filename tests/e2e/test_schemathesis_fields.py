"""One field of a request body at a time, pushed to the values that break servers: huge and
negative integers, numbers past a float, fractions, strings with NULs, lone surrogates,
right-to-left marks, megabyte strings, nested objects, nulls, a field left out, a field nobody
declared. Every write of the document, starting from its own example body: whatever the field
gets, the answer is never a 5xx, and a refusal is in the contract's error shape.

(Schemathesis' negative run changes a body as a whole; this walks each field of a body the API
otherwise accepts, so the value reaches as deep into the handler as a value can.)"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from app.config import Settings
from app.main import create_app
from tests.e2e.test_schemathesis import ERROR_SHAPE, seed

EXAMPLES_PER_WRITE = 40


@dataclass(frozen=True)
class Raw:
    """A JSON token Python's json module will not write (1e400, NaN)."""

    text: str


MISSING = Raw("")
"""The field left out of the body."""

EDGE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    10**40,
    Raw("1e400"),
    Raw("-1e400"),
    Raw("NaN"),
    Raw("1.0e2"),
    0.5,
    -0.0,
    1e308,
    "",
    " ",
    "\x00",
    "TEE\x00BLK",
    "\ud800",
    "\u202eevil",
    "é𝄞",
    "LDN-OXF\n",
    "x" * 100_000,
    "9" * 400,
    "2026-13-45T25:61:61Z",
    [],
    [None],
    [{"sku": "TEE-BLK-M", "quantity": 1}] * 3,
    {},
    {"a": {"b": {"c": [1, {"d": None}]}}},
    MISSING,
]

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=6,
)


def field_paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field of a JSON value: object members, and the first item of each array."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*at, key)
            yield from field_paths(item, (*at, key))
    elif isinstance(value, list) and value:
        yield (*at, 0)
        yield from field_paths(value[0], (*at, 0))


def with_field(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `body` with the field at `path` set to `value` (MISSING: removed)."""
    copy = json.loads(json.dumps(body))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


def as_json(body: Any) -> bytes:
    raws: list[str] = []

    def placeholder(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {key: placeholder(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholder(item) for item in value]
        return value

    text = json.dumps(placeholder(body))
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@raw{index}@@"', raw)
    return text.encode()


@dataclass
class Bench:
    app: Litestar
    client: TestClient[Litestar]
    admin: dict[str, str]
    ids: dict[str, str]

    def send(self, method: str, path: str, body: bytes) -> Any:
        headers = {**self.admin, "Content-Type": "application/json"}
        headers["Idempotency-Key"] = f"field-{uuid.uuid4()}"
        return self.client.request(method, path.format(**self.ids), content=body, headers=headers)


@pytest.fixture(scope="module")
def bench(settings: Settings) -> Iterator[Bench]:
    secret = asyncio.run(seed(settings.database_url))
    app = create_app(settings)
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {secret}"}
        ids = {"sku": "TEE-BLK-M", "location": "LDN-OXF", "code": "LDN-OXF"}
        bench = Bench(app, client, admin, ids)
        document = app.openapi_schema.to_schema()
        for path, key, field in [
            ("/v1/orders", "order_ref", "id"),
            ("/v1/storefronts", "storefront_id", "id"),
            ("/v1/transfers", "transfer_id", "id"),
            ("/v1/counts", "count_id", "id"),
            ("/v1/carts", "cart_id", "id"),
            ("/v1/carts", "customer_id", "customer_id"),
            ("/v1/webhook-endpoints", "endpoint_id", "id"),
        ]:
            example = document["paths"][path]["post"]["requestBody"]["content"]
            body = as_json(example["application/json"]["example"])
            created = bench.send("POST", path, body)
            assert created.status_code == 201, created.text
            bench.ids[key] = created.json()[field]
        yield bench


def writes_with_examples(document: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            example = content.get("application/json", {}).get("example")
            if example is not None:
                yield method.upper(), path, example


def test_no_value_of_any_body_field_makes_a_server_error(bench: Bench) -> None:
    """Every listed edge value in every field of every write's example body, then Hypothesis'
    values of every JSON type in fields it picks."""
    failures: list[str] = []
    statuses: Counter[int] = Counter()

    def check(method: str, path: str, example: Any, field: tuple[Any, ...], value: Any) -> None:
        response = bench.send(method, path, as_json(with_field(example, field, value)))
        statuses[response.status_code] += 1
        where = f"{method} {path} {'.'.join(map(str, field))}={value!r:.60}"
        if response.status_code >= 500:
            failures.append(f"{where} -> {response.status_code}: {response.text[:300]}")
        elif response.status_code >= 400:
            error = response.json().get("error")
            if not isinstance(error, dict) or set(error) != ERROR_SHAPE:
                failures.append(f"{where} -> {response.status_code}: not the error shape")
        if "x-request-id" not in response.headers:
            failures.append(f"{where} -> {response.status_code}: no X-Request-ID")

    writes = list(writes_with_examples(bench.app.openapi_schema.to_schema()))
    assert len(writes) >= 15
    for method, path, example in writes:
        fields = list(field_paths(example))
        for field in fields:
            for value in EDGE_VALUES:
                check(method, path, example, field, value)

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_WRITE,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(field=st.sampled_from(fields), value=ANY_JSON)
        def anything(field: tuple[Any, ...], value: Any) -> None:
            check(method, path, example, field, value)  # noqa: B023

        anything()
    assert failures == [], "\n".join(failures[:20])
    assert sum(statuses[s] for s in statuses if s < 300) >= 20, statuses  # not all refused
