"""The one object a use case is given besides the principal and its input.

Each context extends it with what its use cases need (`OrderContext`, `StorefrontContext`);
the composition root (`app/bootstrap.py`) builds one object of the most derived kind per
process and event loop, and every entry point passes that object down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.platform.database import Database
from app.platform.idempotency.claim import claim_idempotency_key
from app.platform.uow import Listener, UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Context:
    db: Database
    listeners: Mapping[str, Sequence[Listener]] = field(default_factory=dict)
    """What repositories tell other contexts inside the same transaction (see bootstrap)."""

    def uow(self, *, readonly: bool = False, replica: bool = False) -> UnitOfWork:
        """One transaction. A write one claims the request's Idempotency-Key, if it has one.
        `replica=True` (read-only): in a GET request the reads may be served by the read
        replica, within the staleness bound and after the caller's own writes."""
        if readonly:
            return UnitOfWork(self.db, readonly=True, replica=replica, listeners=self.listeners)
        if replica:
            raise ValueError("only a read-only unit of work may read the replica")
        return UnitOfWork(self.db, on_begin=(claim_idempotency_key,), listeners=self.listeners)
