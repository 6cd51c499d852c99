"""What every API request is checked for before its handler's parameters are read."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.platform.http.query import refuse_unknown_query
from app.platform.http.strict_json import refuse_loose_json


async def check_input(request: Request[Any, Any, Any]) -> None:
    """Litestar's `before_request` hook: unknown query parameters and loosely typed JSON
    are 400 before anything reads them."""
    await refuse_unknown_query(request)
    await refuse_loose_json(request)
