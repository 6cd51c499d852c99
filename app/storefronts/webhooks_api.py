"""POST /webhooks/shopify/{storefront_id}."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath
from msgspec import Struct

from app.storefronts import webhooks
from app.storefronts.api import StorefrontContextDep
from app.storefronts.ports import WebhookSignatureInvalid


class WebhookAck(Struct):
    status: str  # "accepted" | "duplicate"
    outcome: str | None


@post(
    "/webhooks/shopify/{storefront_id:uuid}",
    summary="Shopify webhooks: orders/create, orders/cancelled, inventory_levels/update",
    tags=["webhooks"],
    status_code=200,
    security=[],
)
async def receive_shopify_webhook(
    storefront_id: FromPath[UUID],
    request: Request[Any, Any, Any],
    ctx: StorefrontContextDep,
) -> WebhookAck:
    body = await request.body()
    headers = request.headers
    try:
        receipt = await webhooks.receive_shopify_webhook(
            ctx,
            storefront_id,
            body=body,
            topic=headers.get("x-shopify-topic", ""),
            signature=headers.get("x-shopify-hmac-sha256"),
            event_id=headers.get("x-shopify-event-id"),
            webhook_id=headers.get("x-shopify-webhook-id"),
        )
    except WebhookSignatureInvalid as error:
        raise NotAuthorizedException(error.message) from None
    return WebhookAck(
        status="duplicate" if receipt.duplicate else "accepted", outcome=receipt.outcome
    )
