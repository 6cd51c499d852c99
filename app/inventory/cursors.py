"""Cursors of lists ordered by (created_at, id) with uuid ids: transfers and count sessions."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from litestar.exceptions import ValidationException

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MICROSECOND = timedelta(microseconds=1)


def encode_time_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """24 bytes, 32 characters: fits the shared `CursorQuery`."""
    micros = (created_at - _EPOCH) // _MICROSECOND
    raw = micros.to_bytes(8, "big", signed=True) + row_id.bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class _Listed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


def next_time_cursor(page: Sequence[_Listed], limit: int) -> str | None:
    """The cursor of the page after a full one; None when this page was the last."""
    return encode_time_cursor(page[-1].created_at, page[-1].id) if len(page) == limit else None


def decode_time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        raise ValidationException("cursor is not valid") from None
    if len(raw) != 24:
        raise ValidationException("cursor is not valid")
    micros = int.from_bytes(raw[:8], "big", signed=True)
    try:
        created_at = _EPOCH + micros * _MICROSECOND
    except OverflowError:
        raise ValidationException("cursor is not valid") from None
    return created_at, uuid.UUID(bytes=raw[8:])
