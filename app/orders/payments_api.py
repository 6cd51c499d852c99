"""POST /webhooks/stripe: the payment provider's events (the provider checks the signature)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.exceptions import NotAuthorizedException, ValidationException

from app.orders import payments
from app.orders.api import OrderContextDep
from app.orders.ports import PaymentWebhookInvalid


@post(
    "/webhooks/stripe",
    status_code=200,
    summary="Stripe events (signed)",
    tags=["webhooks"],
    exclude_from_auth=True,
)
async def stripe_webhook(request: Request[Any, Any, Any], ctx: OrderContextDep) -> dict[str, str]:
    payload = await request.body()
    try:
        event = ctx.payments.verify_webhook(payload, request.headers.get("stripe-signature"))
    except PaymentWebhookInvalid as error:
        raise NotAuthorizedException(str(error)) from None
    except ValueError:
        raise ValidationException("the event is not valid JSON") from None
    outcome = await payments.apply_payment_event(ctx, event)
    return {"received": event.id, "outcome": outcome}
