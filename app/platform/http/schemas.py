"""Field types and cursor encoding every context's request and response bodies share."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter
from msgspec import Meta

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z"
r"""Patterns end with `\Z`, not `$`: Python's `$` also matches before a final newline, which
would let a code "A\n" through. The OpenAPI document spells `\Z` as ECMA-262's `$`."""

CODE_RULE = "letters, digits, '.', '_' or '-'; at most 64 characters"

Code = Annotated[str, Meta(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)]

CodePath = Annotated[str, PathParameter(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)]

CodeQuery = Annotated[
    str | None, QueryParameter(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)
]

CursorQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Za-z0-9_-]{1,64}\Z", max_length=64, description="next_cursor of the last page"
    ),
]

PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*\Z"

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=PLAIN_TEXT)]

Latitude = Annotated[float, Meta(ge=-90, le=90)]

Longitude = Annotated[float, Meta(ge=-180, le=180)]

Quantity = Annotated[int, Meta(ge=1, le=1_000_000_000)]

MAX_LINE_QUANTITY = 10_000
LineQuantity = Annotated[
    int, Meta(ge=1, le=MAX_LINE_QUANTITY, description="Units on one order or till line")
]
"""What one line of an order, a return or a till transaction may ask for: more is a typo or an
attack (a counter sale of 1,000,000,000 units), never a sale."""

NonNegative = Annotated[int, Meta(ge=0, le=1_000_000_000)]

SignedQuantity = Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]

Currency = Annotated[str, Meta(pattern=r"^[A-Za-z]{3}\Z", description="ISO 4217 code")]

Money = Annotated[int, Meta(ge=0, le=10**12, description="Integer minor units")]

Reason = Annotated[str, Meta(max_length=500, pattern=PLAIN_TEXT)]

Reference = Annotated[str, Meta(max_length=200, pattern=PLAIN_TEXT)]

Barcode = Annotated[str, Meta(pattern=r"^[0-9A-Za-z-]{1,64}\Z")]


RequestExample = dict[str, Any]
"""A request Struct's `example: ClassVar[RequestExample]`, a body the API accepts: the OpenAPI
document shows it as the example of every request with that body (app/platform/http/openapi.py)."""


# cursors ------------------------------------------------------------------------------------
def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationException("cursor is not valid") from None
    if not 0 <= value < 2**63:
        raise ValidationException("cursor is not valid")
    return value


def with_offset(value: datetime | None, name: str) -> datetime | None:
    """A client's date-time must say its UTC offset: a time without one is ambiguous (400)."""
    if value is not None and value.utcoffset() is None:
        raise ValidationException(f"{name} must carry a UTC offset, e.g. 2026-11-30T09:00:00Z")
    return value
