"""Schemathesis' stateful run over the document's OpenAPI links: sequences of calls where each
takes its ids from an earlier answer (place an order, then read, ready, pick up, ship, return or
cancel it; create a transfer, then receive it; create a SKU, then read its stock), every answer
checked against the document, and the stateful checks on top: a resource just created can be
read (ensure_resource_availability), one just deleted cannot (use_after_free)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Flaky, FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from app.config import Settings
from tests.e2e.test_schemathesis import FAILED, Fuzz, as_a_client_sends, describe, fuzzing

SCENARIOS = 150

STATEFUL_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    ensure_resource_availability,
    use_after_free,
]


@pytest.fixture(scope="module")
def fuzz(settings: Settings) -> Iterator[Fuzz]:
    with fuzzing(settings) as fuzz:
        yield fuzz


def test_links_lead_from_one_answer_to_the_next(fuzz: Fuzz) -> None:
    document = fuzz.app.openapi_schema.to_schema()
    placed = document["paths"]["/v1/orders"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in placed.values()} >= {
        "V1OrdersOrderRefGetOne",
        "V1OrdersOrderRefCancelCancel",
        "V1OrdersOrderRefReadyReady",
        "V1CustomersCustomerIdGetOne",
    }
    assert placed["V1OrdersOrderRefGetOne"]["parameters"] == {"order_ref": "$response.body#/id"}
    transfer = document["paths"]["/v1/transfers"]["post"]["responses"]["201"]["links"]
    assert "V1TransfersTransferIdReceiveReceive" in transfer
    sku = document["paths"]["/v1/skus"]["post"]["responses"]["201"]["links"]
    assert sku["V1SkusGetOne"]["parameters"] == {"sku": "$response.body#/sku"}


def test_stateful_sequences_conform_to_the_document(fuzz: Fuzz) -> None:
    failures: list[str] = []
    seen: Counter[tuple[str, str, int]] = Counter()
    uses: Counter[str] = Counter()
    scenarios = [0]

    # Staff sign-in is left out (tests/e2e/test_staff.py holds it): with it in the machine,
    # the run sent its requests without the admin key and met nothing but 401s.
    machine = fuzz.schema.exclude(path_regex="^/v1/sessions").as_state_machine()

    class Workflow(machine):  # type: ignore[misc]
        def setup(self) -> None:
            scenarios[0] += 1

        def before_call(self, case: Any) -> None:
            # Every other body that creates something is its example, which names the seeded
            # codes: so sequences start from real orders and transfers, not only from 404s.
            label = f"{case.method} {case.path}"
            uses[label] += 1
            example = case.operation.definition.raw.get("requestBody", {})
            example = example.get("content", {}).get("application/json", {}).get("example")
            if example is not None and case.method == "POST" and uses[label] % 2:
                case.body = example
            as_a_client_sends(case)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            seen[(case.method, case.path, response.status_code)] += 1
            try:
                case.validate_response(response, checks=STATEFUL_CHECKS, recorder=self.recorder)
            except FAILED as failure:
                failures.append(describe(case, response, failure))

    settings = hypothesis_settings(
        max_examples=SCENARIOS,
        stateful_step_count=8,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    for _ in range(8):  # each Flaky ends a run early; against a replica that came sooner
        try:
            Workflow.run(settings=settings)
            break
        except (Flaky, FlakyStrategyDefinition):
            # The server's state moved on since Hypothesis first drew a sequence, so a replay of
            # it chose from other links. Schemathesis' own runner takes this as the end of a
            # run, not a failure (failures are collected above); run again from here.
            if scenarios[0] >= SCENARIOS:
                break
    assert failures == [], "\n".join(failures[:20])
    assert scenarios[0] >= SCENARIOS // 2, scenarios
    followed = {path for (_, path, status) in seen if "{" in path and status < 300}
    assert len(followed) >= 4, seen  # links were followed to real resources
