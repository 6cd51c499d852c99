"""The two dependencies every controller may ask for: the context and the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from app.platform.access import Principal
from app.platform.context import Context


def _context(state: State) -> Context:
    """The process's one context (app/bootstrap.py), of the most derived kind."""
    context: Context = state.ctx
    return context


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


DEPENDENCIES = {
    "ctx": Provide(_context, sync_to_thread=False),
    "principal": Provide(_principal, sync_to_thread=False),
}

ContextDep = SkipValidation[Context]
"""What use cases are given. Controllers of a context annotate it with that context's kind
(`OrderContextDep`, ...); the object is always the process's one, of the most derived kind,
which is why it is not validated against the annotation."""
CallerDep = NamedDependency[Principal]
"""The authenticated caller."""
