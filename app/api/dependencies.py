"""Dependencies every controller may ask for."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from app.db.session import UnitOfWork
from app.domain.access import Principal


def _uow(request: Request[Any, Any, Any], state: State) -> UnitOfWork:
    """Reads get a read-only unit of work (on SQLite it does not take the write lock)."""
    readonly = request.method in ("GET", "HEAD")
    return state.db.unit_of_work(readonly=readonly)  # type: ignore[no-any-return]


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


DEPENDENCIES = {
    "uow": Provide(_uow, sync_to_thread=False),
    "principal": Provide(_principal, sync_to_thread=False),
}

UnitOfWorkDep = NamedDependency[UnitOfWork]
"""A fresh unit of work for this request (read-only for GET)."""
CallerDep = NamedDependency[Principal]
"""The authenticated caller."""
