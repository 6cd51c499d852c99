"""One GraphQL request end to end: parse, validate, size limits, cost, bucket, execute."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    ListValueNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor

from shopify_emulator.cost import CostModel
from shopify_emulator.schema import RequestContext, schema_for_era
from shopify_emulator.state import EmulatorState, ShopState
from shopify_emulator.versions import rules_for

THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"
MAX_QUERY_LENGTH = 500_000
MAX_SCAN_DEPTH = 32


@dataclass
class GraphQLOutcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def execute_request(
    state: EmulatorState, shop: ShopState, api_version: str, payload: Any
) -> GraphQLOutcome:
    """Run one authenticated request under the emulator lock, so it sees and leaves a
    consistent state (a mutation's checks and writes cannot interleave with another's)."""
    with state.lock:
        return _Request(state, shop, api_version).run(payload)


class _Request:
    def __init__(self, state: EmulatorState, shop: ShopState, api_version: str) -> None:
        self.state = state
        self.shop = shop
        self.rules = rules_for(api_version)
        self.schema = schema_for_era(self.rules.schema_era)
        self.settings = state.settings

    def run(self, payload: Any) -> GraphQLOutcome:
        counters = self.shop.counters
        counters.graphql_requests += 1
        if not isinstance(payload, Mapping) or not isinstance(payload.get("query"), str):
            counters.invalid_requests += 1
            return GraphQLOutcome(
                400,
                {"errors": {"query": "Required parameter missing or invalid"}},
                summary="no query",
            )
        query: str = payload["query"]
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName") or None
        if not isinstance(variables, Mapping) or not (
            operation_name is None or isinstance(operation_name, str)
        ):
            counters.invalid_requests += 1
            return GraphQLOutcome(
                400, {"errors": {"variables": "Invalid variables"}}, summary="bad variables"
            )
        if len(query) > MAX_QUERY_LENGTH:
            counters.invalid_requests += 1
            return self._errors(
                [GraphQLError("Query is too large.", extensions={"code": "BAD_REQUEST"})],
                "too large",
            )
        try:
            document = parse(query)
        except GraphQLError as error:
            counters.invalid_requests += 1
            return self._errors([error], "syntax error")
        validation_errors = validate(self.schema, document)
        if validation_errors:
            counters.invalid_requests += 1
            return self._errors(validation_errors, "invalid")
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            counters.invalid_requests += 1
            return self._errors(
                [
                    GraphQLError(
                        "An operation name is required when the document holds several operations."
                    )
                ],
                "no operation",
            )
        return self._run_operation(document, operation, variables, operation_name)

    def _run_operation(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        operation_name: str | None,
    ) -> GraphQLOutcome:
        counters = self.shop.counters
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        model = CostModel(self.schema, operation, fragments, variables, self.settings.mutation_cost)
        kind = "mutation" if operation.operation == OperationType.MUTATION else "query"
        if kind == "mutation":
            counters.mutations += 1
        else:
            counters.queries += 1
        roots = model.root_fields()
        for name in roots:
            counters.by_root_field[name] = counters.by_root_field.get(name, 0) + 1
        summary = f"{kind} {','.join(roots) or '-'}"

        oversized = _oversized_input(operation, variables, self.settings.max_input_array_size)
        if oversized is not None:
            limit = self.settings.max_input_array_size
            message = (
                f"The input array size of {oversized} is greater than the maximum allowed "
                f"of {limit}."
            )
            error = GraphQLError(message, extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})
            return self._errors([error], f"{summary} input>{limit}")

        requested = model.requested()
        if requested > self.settings.max_query_cost:
            counters.max_cost_exceeded += 1
            limit = self.settings.max_query_cost
            error = GraphQLError(
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({limit}).",
                extensions={"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": limit},
            )
            return self._errors(
                [error],
                f"{summary} cost={requested} MAX_COST_EXCEEDED",
                requested=requested,
                actual=None,
            )

        bucket = self.shop.bucket
        if not bucket.try_take(requested):
            return self._throttled(requested, summary)

        context = RequestContext(shop=self.shop, rules=self.rules, settings=self.settings)
        result = execute_sync(
            self.schema,
            document,
            context_value=context,
            variable_values=dict(variables),
            operation_name=operation_name,
        )
        actual = min(requested, model.actual(result.data))
        bucket.refund(requested - actual)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        if result.data is not None or not result.errors:
            body["data"] = result.data
        body["extensions"] = self._cost(requested, actual)
        return GraphQLOutcome(200, body, summary=f"{summary} cost={requested}/{actual}")

    def _throttled(self, requested: int, summary: str) -> GraphQLOutcome:
        self.shop.counters.throttled += 1
        body = {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS},
                }
            ],
            "extensions": self._cost(requested, None),
        }
        headers: dict[str, str] = {}
        status = self.settings.throttle_status_code
        if status == 429:
            wait = min(3600.0, self.shop.bucket.seconds_until(requested))
            headers["Retry-After"] = f"{max(0.1, math.ceil(wait * 10) / 10):.1f}"
        return GraphQLOutcome(status, body, headers, f"{summary} cost={requested} THROTTLED")

    def _errors(
        self,
        errors: list[GraphQLError],
        summary: str,
        *,
        requested: int = 0,
        actual: int | None = 0,
    ) -> GraphQLOutcome:
        body = {
            "errors": [error.formatted for error in errors],
            "extensions": self._cost(requested, actual),
        }
        return GraphQLOutcome(200, body, summary=summary)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.shop.bucket.status().to_json(),
            }
        }


def _oversized_input(
    operation: OperationDefinitionNode, variables: Mapping[str, Any], limit: int
) -> int | None:
    """The size of the first input array over `limit`, in variables or in literals."""
    found = _largest_list(variables, limit, 0)
    if found is not None:
        return found
    sizes: list[int] = []

    class _ListSizes(Visitor):
        def enter_list_value(self, node: ListValueNode, *_args: Any) -> None:
            if len(node.values) > limit:
                sizes.append(len(node.values))

    root: Node = operation
    visit(root, _ListSizes())
    return sizes[0] if sizes else None


def _largest_list(value: Any, limit: int, depth: int) -> int | None:
    if depth > MAX_SCAN_DEPTH:
        return None
    if isinstance(value, list):
        if len(value) > limit:
            return len(value)
        children: Any = value
    elif isinstance(value, Mapping):
        children = value.values()
    else:
        return None
    for child in children:
        found = _largest_list(child, limit, depth + 1)
        if found is not None:
            return found
    return None
