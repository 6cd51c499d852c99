"""Liveness and readiness (the broker's ping is given by app/main.py: `state.ping_broker`)."""

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
    summary="The database and broker are reachable",
    exclude_from_auth=True,
)
async def ready(state: State) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.ctx.db.ping(), READY_TIMEOUT_SECONDS)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    ping_broker: Callable[[], None] | None = state.ping_broker
    if ping_broker is not None:
        try:
            await asyncio.wait_for(asyncio.to_thread(ping_broker), READY_TIMEOUT_SECONDS)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["broker"] = "in-process"
    healthy = all(v in ("ok", "in-process") for v in checks.values())
    if healthy:
        return Response({"status": "ok", "checks": checks}, media_type=MediaType.JSON)
    return Response(
        {"error": {"code": "unavailable", "message": "not ready", "details": checks}},
        status_code=503,
        media_type=MediaType.JSON,
    )
