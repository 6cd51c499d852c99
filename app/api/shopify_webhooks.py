"""`POST /webhooks/shopify/{storefront_id}`: Shopify's webhooks, verified over the raw body.

No API key here (Shopify cannot send one): the HMAC signature is the authentication, so a
bad one is a 401 and nothing is stored."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, post
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath
from msgspec import Struct

from app.services import storefronts
from app.services.storefronts import SyncConfig, WebhookSignatureInvalid


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
    storefront_id: FromPath[UUID], request: Request[Any, Any, Any], state: State
) -> WebhookAck:
    body = await request.body()
    headers = request.headers
    try:
        receipt = await storefronts.receive_shopify_webhook(
            state.db,
            storefront_id,
            body=body,
            topic=headers.get("x-shopify-topic", ""),
            signature=headers.get("x-shopify-hmac-sha256"),
            event_id=headers.get("x-shopify-event-id"),
            webhook_id=headers.get("x-shopify-webhook-id"),
            config=SyncConfig.from_settings(state.settings),
        )
    except WebhookSignatureInvalid as error:
        raise NotAuthorizedException(error.message) from None
    return WebhookAck(
        status="duplicate" if receipt.duplicate else "accepted", outcome=receipt.outcome
    )
