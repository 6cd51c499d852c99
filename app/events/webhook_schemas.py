"""Webhook endpoints and their deliveries on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from msgspec import Meta, Struct

from app.platform.http.schemas import CODE_PATTERN, CODE_RULE, Code, RequestExample

WebhookUrl = Annotated[
    str,
    Meta(
        pattern=r"^https?://[\x21-\x7e]+\Z",
        min_length=8,
        max_length=2000,
        description="http or https; its host must resolve to public addresses only "
        "(unless WEBHOOK_ALLOW_PRIVATE=1)",
    ),
]

EventType = Literal[
    "stock.changed",
    "stock.out_of_stock",
    "stock.back_in_stock",
    "order.created",
    "order.confirmed",
    "order.ready_for_pickup",
    "order.picked_up",
    "order.shipped",
    "order.cancelled",
    "order.expired",
    "order.returned",
    "order.at_risk",
    "transfer.shipped",
    "transfer.received",
    "transfer.cancelled",
]
"""Every type of `app/events/model.py` (tests/unit/test_webhook_rules.py checks they agree)."""


class WebhookEndpointIn(Struct, forbid_unknown_fields=True):
    url: WebhookUrl
    types: Annotated[list[EventType], Meta(min_length=1, max_length=50)]
    locations: Annotated[list[Code], Meta(min_length=1, max_length=500)] | None = None

    example: ClassVar[RequestExample] = {
        "url": "https://93.184.215.14/omnistock/webhooks",
        "types": ["stock.changed", "order.ready_for_pickup"],
        "locations": ["LDN-OXF"],
    }
    schema_rules: ClassVar[RequestExample] = {
        "allOf": [
            {
                "properties": {
                    "locations": {
                        "items": {
                            "type": "string",
                            "pattern": CODE_PATTERN,
                            "maxLength": 64,
                            "description": CODE_RULE,
                        }
                    }
                }
            }
        ]
    }  # Litestar leaves out what a list's items must be


class ReplayIn(Struct, forbid_unknown_fields=True):
    after: Annotated[int, Meta(ge=0, le=2**62)]

    example: ClassVar[RequestExample] = {"after": 0}


class WebhookEndpointOut(Struct):
    id: UUID
    url: str
    types: list[str]
    locations: list[str] | None
    enabled: bool
    delivered_through: int
    """Every wanted event up to this `seq` has been delivered."""
    attempts: int
    """Failed attempts at the event after `delivered_through`."""
    failing_since: datetime | None
    next_attempt_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class WebhookEndpointCreated(Struct):
    id: UUID
    secret: str | None
    """`whsec_` and base64: in the response that created the endpoint only (null in an
    idempotent replay)."""
    endpoint: WebhookEndpointOut


class WebhookEndpointList(Struct):
    items: list[WebhookEndpointOut]


class WebhookDeliveryOut(Struct):
    seq: int
    webhook_id: UUID
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


class WebhookDeliveryList(Struct):
    items: list[WebhookDeliveryOut]
