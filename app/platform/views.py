"""Plain views of rows: what use cases hand to controllers instead of ORM objects."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


def view_of(kind: type[V], row: object, **given: Any) -> V:
    """A `kind` (a frozen dataclass) built inside the unit of work that read `row`: each
    field is `row`'s attribute of the same name, unless `given`."""
    return kind(
        **{f.name: given[f.name] if f.name in given else getattr(row, f.name) for f in fields(kind)}
    )
