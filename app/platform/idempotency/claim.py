"""The Idempotency-Key is claimed by the first write transaction of the request that carries it.

The context's unit-of-work factory installs `claim_idempotency_key` as a begin hook of every
write unit of work: the claim row is inserted inside that transaction, so the key is taken if
and only if the work commits (docs/decisions/0002-idempotency-claim-in-the-transaction.md).
A use case with several transactions claims in the first one that writes; one rolled back
frees the key for the next.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.platform.idempotency.store import KeyAlreadyUsed, current_request, insert_claim
from app.platform.uow import UnitOfWork


async def claim_idempotency_key(uow: UnitOfWork) -> None:
    request = current_request()
    if request is None or request.claimed:
        return
    try:
        await insert_claim(uow.statements, request)
    except IntegrityError:
        request.found_existing = True
        raise KeyAlreadyUsed() from None
    request.claimed = True

    def free_the_key() -> None:
        request.claimed = False  # rolled back: the key is free for the next unit of work

    uow.on_rollback(free_the_key)
