"""Idempotency records: the claim inside the work's transaction, the stored response, the purge."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Index,
    Integer,
    LargeBinary,
    String,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.prepared import Prepared, Statements
from app.platform.tables import Base, table_of, utcnow
from app.platform.uow import Repository, UnitOfWork

Answer = tuple[int, str, bytes]
"""A response as stored and replayed: status code, content type, body."""


class IdempotencyRecord(Base):
    """A request made with an Idempotency-Key and, once finished, its exact response."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # "applied" | "completed"
    resource: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)


APPLIED = "applied"  # the work is committed; the response is not stored yet

COMPLETED = "completed"  # the response is stored and is replayed as is


@dataclass
class IdempotentRequest:
    scope: str
    key: str
    request_hash: str
    claimed: bool = False
    found_existing: bool = False
    resource: str | None = None  # what the work created, e.g. "order:<id>", saved with the claim
    resuming: str | None = None  # set on a retry that finishes work whose response was lost
    render: Callable[[Any], Answer] | None = None  # the controller's answer for a result
    answered: Answer | None = None  # stored by the work's own transaction (`answer_in`)


class KeyAlreadyUsed(Exception):
    """Raised inside a unit of work when the key was taken by an earlier or concurrent request."""


_current: ContextVar[IdempotentRequest | None] = ContextVar("idempotent_request", default=None)


def current_request() -> IdempotentRequest | None:
    return _current.get()


def begin_request(request: IdempotentRequest) -> object:
    return _current.set(request)


def end_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


_RECORDS = table_of(IdempotencyRecord)

_INSERT_RECORD = Prepared(insert(_RECORDS))

_STORE_RESPONSE = Prepared(
    update(_RECORDS)
    .where(_RECORDS.c.scope == bindparam("k_scope"), _RECORDS.c.key == bindparam("k_key"))
    .values(
        state=bindparam("state"),
        status_code=bindparam("status_code"),
        content_type=bindparam("content_type"),
        response_body=bindparam("response_body"),
    )
)


async def insert_claim(statements: Statements, request: IdempotentRequest) -> None:
    await statements.execute(
        _INSERT_RECORD,
        {
            "scope": request.scope,
            "key": request.key,
            "request_hash": request.request_hash,
            "state": APPLIED,
            "resource": request.resource,
            "created_at": utcnow(),
        },
    )


def note_resource(resource: str) -> None:
    """Called by a resumable use case before its first write: if the response is lost, a
    retry with the same key is handed this resource to finish instead of starting over."""
    request = _current.get()
    if request is not None:
        request.resource = resource


def resuming() -> str | None:
    """The resource a retry should finish, when this request resumes lost work."""
    request = _current.get()
    return request.resuming if request is not None else None


def answer_with(render: Callable[[Any], Answer]) -> None:
    """Called by a controller before its use case: how the use case's result becomes the
    response, so that the use case can store it in its own transaction (`answer_in`)."""
    request = _current.get()
    if request is not None:
        request.render = render


async def answer_in(uow: UnitOfWork, result: Any) -> None:
    """Store the response for `result` in `uow`'s transaction, with the claim it made: the
    answer is committed with the work, or neither is. Nothing when no controller said how
    to answer, or when this transaction holds no claim of this request's key."""
    request = _current.get()
    if request is None or request.render is None or not request.claimed:
        return
    status_code, content_type, body = request.render(result)
    await uow.statements.execute(
        _STORE_RESPONSE,
        {
            "k_scope": request.scope,
            "k_key": request.key,
            "state": COMPLETED,
            "status_code": status_code,
            "content_type": content_type,
            "response_body": body,
        },
    )
    request.answered = (status_code, content_type, body)

    def forget() -> None:
        request.answered = None

    uow.on_rollback(forget)


def answered() -> Answer | None:
    """The response stored with the work (`answer_in`), to send exactly as it was stored."""
    request = _current.get()
    return request.answered if request is not None else None


async def store_response(
    statements: Statements,
    request: IdempotentRequest,
    status_code: int,
    content_type: str | None,
    body: bytes,
) -> None:
    """Record the response the first request got: one statement. The claim row exists when
    the work was committed; otherwise (the request failed before changing anything) a
    completed row is added so that retries see the same failure."""
    values = {
        "state": COMPLETED,
        "status_code": status_code,
        "content_type": content_type,
        "response_body": body,
    }
    if request.claimed:
        await statements.execute(
            _STORE_RESPONSE, {"k_scope": request.scope, "k_key": request.key, **values}
        )
        return
    # A concurrent request with the same key may have finished first: its record stands.
    with suppress(IntegrityError):
        await statements.execute(
            _INSERT_RECORD,
            {
                "scope": request.scope,
                "key": request.key,
                "request_hash": request.request_hash,
                "resource": None,
                "created_at": utcnow(),
                **values,
            },
        )


class IdempotencyRecords(Repository):
    async def load(self, scope: str, key: str) -> IdempotencyRecord | None:
        result = await self.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        return result.scalar_one_or_none()

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
