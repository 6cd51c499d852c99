"""Scripted failures ("the next N calls return 503", "answer slowly") for resilience tests."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

Endpoint = Literal["graphql", "oauth"]
ENDPOINTS: tuple[Endpoint, ...] = ("graphql", "oauth")
MAX_SCRIPTED_FAILURES = 10_000
MAX_DELAY_MS = 60_000

_FAULT_BODIES: dict[int, str] = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class InjectedFailure:
    status: int
    retry_after: float | None

    def body(self) -> dict[str, Any]:
        return {"errors": _FAULT_BODIES.get(self.status, "Injected failure")}

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": f"{self.retry_after:.1f}"}


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request: wait `delay_ms`, then fail with `failure` if set."""

    delay_ms: int
    failure: InjectedFailure | None


class _EndpointFaults:
    def __init__(self) -> None:
        self.failures: deque[InjectedFailure] = deque()
        self.delay_ms = 0
        self.delay_remaining: int | None = None  # None: every request until cleared


class FaultPlan:
    """Per-endpoint queues of failures and delays; guarded by the emulator's lock."""

    def __init__(self) -> None:
        self._faults = {endpoint: _EndpointFaults() for endpoint in ENDPOINTS}
        self.served = 0

    def fail_next(
        self,
        count: int,
        status: int = 503,
        *,
        endpoint: Endpoint = "graphql",
        retry_after: float | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if not 0 < count <= MAX_SCRIPTED_FAILURES:
            raise ValueError(f"count must be between 1 and {MAX_SCRIPTED_FAILURES}")
        if status == 429 and retry_after is None:
            retry_after = 1.0
        queue = self._endpoint(endpoint).failures
        for _ in range(count):
            queue.append(InjectedFailure(status=status, retry_after=retry_after))

    def delay(
        self, milliseconds: int, *, count: int | None = None, endpoint: Endpoint = "graphql"
    ) -> None:
        if not 0 <= milliseconds <= MAX_DELAY_MS:
            raise ValueError(f"delay must be between 0 and {MAX_DELAY_MS} ms")
        faults = self._endpoint(endpoint)
        faults.delay_ms = milliseconds
        faults.delay_remaining = count

    def clear(self) -> None:
        self._faults = {endpoint: _EndpointFaults() for endpoint in ENDPOINTS}

    def take(self, endpoint: Endpoint) -> FaultDecision:
        """Consume the faults scripted for the next request on `endpoint`."""
        faults = self._endpoint(endpoint)
        delay_ms = 0
        if faults.delay_ms and faults.delay_remaining != 0:
            delay_ms = faults.delay_ms
            if faults.delay_remaining is not None:
                faults.delay_remaining -= 1
        failure = faults.failures.popleft() if faults.failures else None
        if failure is not None:
            self.served += 1
        return FaultDecision(delay_ms=delay_ms, failure=failure)

    def describe(self) -> dict[str, Any]:
        return {
            endpoint: {
                "pending_failures": [failure.status for failure in faults.failures],
                "delay_ms": faults.delay_ms,
                "delay_remaining": faults.delay_remaining,
            }
            for endpoint, faults in self._faults.items()
        } | {"served": self.served}

    def _endpoint(self, endpoint: str) -> _EndpointFaults:
        if endpoint not in self._faults:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS}")
        return self._faults[endpoint]
