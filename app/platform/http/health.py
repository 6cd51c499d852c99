"""Liveness and readiness. Readiness pings the database, then runs the checks app/main.py
puts in `state.readiness_checks` (Redis reachable, the schedule not stalled), each a callable
that raises when its dependency is not ready."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Response, get
from litestar.datastructures import State

READY_TIMEOUT_SECONDS = 2.0


@get("/health/live", tags=["operations"], summary="The process is up", exclude_from_auth=True)
async def live() -> dict[str, str | int]:
    """`process` tells the API's worker processes apart (which of them answered)."""
    return {"status": "ok", "process": os.getpid()}


@get(
    "/health/ready",
    tags=["operations"],
    summary="The database, Redis and the schedule are healthy",
    exclude_from_auth=True,
)
async def ready(state: State) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.ctx.db.ping(), READY_TIMEOUT_SECONDS)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    readiness: dict[str, Callable[[], None]] = state.readiness_checks
    for name, check in readiness.items():
        try:
            await asyncio.wait_for(asyncio.to_thread(check), READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    if "redis" not in readiness:
        checks["broker"] = "in-process"
    healthy = all(v in ("ok", "in-process") for v in checks.values())
    if healthy:
        return Response({"status": "ok", "checks": checks}, media_type=MediaType.JSON)
    return Response(
        {"error": {"code": "unavailable", "message": "not ready", "details": checks}},
        status_code=503,
        media_type=MediaType.JSON,
    )
