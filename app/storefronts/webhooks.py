"""Webhooks from Shopify: verify, store once, act."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from app.platform.errors import DomainError
from app.platform.tables import utcnow
from app.storefronts.config import StorefrontContext
from app.storefronts.order_sync import apply_order
from app.storefronts.ports import WebhookSignatureInvalid
from app.storefronts.repository import StorefrontRepository
from app.storefronts.rules import (
    quantity_to_publish,
    webhook_delivery_key,
)
from app.storefronts.shopify_formats import shopify_gid, webhook_signature_valid
from app.storefronts.shopify_orders import (
    MalformedWebhook,
    fulfilment_from_rest,
    order_from_rest,
    refund_order_from_rest,
)
from app.storefronts.tables import Storefront
from app.storefronts.webhook_repository import WebhookRepository

log = structlog.get_logger("omnistock.storefronts")

ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "fulfillments/create",
        "refunds/create",
    }
)
WEBHOOK_TOPICS = ORDER_TOPICS | {"inventory_levels/update"}


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    duplicate: bool
    webhook_id: int | None
    outcome: str | None


# ---- webhooks in -------------------------------------------------------------------------
async def receive_shopify_webhook(
    ctx: StorefrontContext,
    storefront_id: uuid.UUID,
    *,
    body: bytes,
    topic: str,
    signature: str | None,
    event_id: str | None,
    webhook_id: str | None,
) -> WebhookReceipt:
    """Verify, store once per event, then act on a webhook. Storing comes first and in its
    own transaction, so a delivery whose handling fails is kept and retried by the worker
    rather than lost; a redelivery of a stored event changes nothing."""
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        storefront = await repo.get(storefront_id)
        secret = ctx.sync.secrets.open(storefront.webhook_secret_encrypted)
        if not webhook_signature_valid(secret, body, signature):
            raise WebhookSignatureInvalid("the webhook signature does not match")
        key = webhook_delivery_key(event_id, webhook_id) or (
            "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
        )
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = {"unparsed_body": body.decode(errors="replace")[:100_000]}
        stored = await WebhookRepository.of(uow).store_webhook(
            storefront_id, key, topic[:100], payload, utcnow()
        )
        await uow.commit()
    if stored is None:
        return WebhookReceipt(duplicate=True, webhook_id=None, outcome=None)
    outcome = await process_webhook(ctx, stored)
    return WebhookReceipt(duplicate=False, webhook_id=stored, outcome=outcome)


async def process_pending_webhooks(ctx: StorefrontContext, limit: int = 100) -> int:
    """Act on stored webhooks not yet processed (the process died between storing and
    acting). Returns how many were processed now."""
    async with ctx.uow(readonly=True) as uow:
        ids = await WebhookRepository.of(uow).unprocessed_webhooks(limit)
    for webhook_id in ids:
        try:
            await process_webhook(ctx, webhook_id)
        except Exception:  # one that cannot be processed now must not hold up the others
            log.exception("stored webhook not processed", webhook_id=webhook_id)
    return len(ids)


async def process_webhook(ctx: StorefrontContext, webhook_id: int) -> str:
    """Act on one stored webhook and record the outcome. Inventory updates are handled in
    the transaction that records them; orders go through the order service's own use case
    (idempotent by the Shopify order id), then the outcome is recorded."""
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        webhook = await WebhookRepository.of(uow).webhook(webhook_id)
        if webhook.processed_at is not None:
            return webhook.outcome or "processed"
        storefront = await repo.get(webhook.storefront_id)
        payload = webhook.payload if isinstance(webhook.payload, dict) else {}
        order_call: Callable[[], Awaitable[str]] | None = None
        if webhook.topic == "inventory_levels/update":
            outcome = await _note_inventory_update(repo, storefront, payload)
        elif webhook.topic in ORDER_TOPICS:
            try:
                order_call = _order_service_call(ctx, storefront.id, webhook.topic, payload)
                outcome = "handing to orders"
            except MalformedWebhook as error:
                outcome = f"failed: {error}"
        else:
            outcome = f"ignored: topic {webhook.topic} is not used"
        if order_call is None:
            webhook.outcome = outcome[:500]
            webhook.processed_at = utcnow()
            await uow.commit()
            return outcome
    try:
        outcome = await order_call()
    except DomainError as error:  # e.g. an unknown sku: keep it, visible, not retried
        outcome = f"refused by the order service: {error.code}: {error.message}"
    async with ctx.uow() as uow:
        webhook = await WebhookRepository.of(uow).webhook(webhook_id)
        webhook.outcome = outcome[:500]
        webhook.processed_at = utcnow()
        await uow.commit()
    return outcome


async def _note_inventory_update(
    repo: StorefrontRepository, storefront: Storefront, payload: dict[str, Any]
) -> str:
    """Shopify's level changed (a manual edit, an order, or the echo of our own push): if
    it is not what we publish, mark the level so the next push corrects it."""
    item = shopify_gid(str(payload.get("inventory_item_id", "")), "InventoryItem")
    location = shopify_gid(str(payload.get("location_id", "")), "Location")
    if item is None or location is None:
        return "ignored: no inventory_item_id or location_id"
    level = await repo.level_by_external_ids(storefront.id, item, location)
    if level is None:
        return "ignored: level not mapped"
    ours = quantity_to_publish(level.quantities, storefront.buffer)
    theirs = payload.get("available")
    if theirs == ours:
        return "in step"
    await repo.mark_levels_pending(storefront.id, [(level.sku_id, level.location_id)], utcnow())
    log.info(
        "storefront drift noted",
        storefront=str(storefront.id),
        sku=level.sku,
        location=level.location,
        ours=ours,
        theirs=theirs,
    )
    return f"drift: {level.sku} at {level.location} ours {ours} theirs {theirs}; push pending"


def _order_service_call(
    ctx: StorefrontContext, storefront_id: uuid.UUID, topic: str, payload: dict[str, Any]
) -> Callable[[], Awaitable[str]]:
    """What the order book is to do with an order, fulfilment or refund body.

    The HMAC covers the body, not the topic header, so the body decides: only a body that is
    a cancelled order (`cancelled_at` set) cancels one, whatever the header says."""
    shipped: list[tuple[str, int]] | None = None
    if topic == "fulfillments/create":
        facts, shipped = fulfilment_from_rest(payload)
    elif topic == "refunds/create":
        facts = refund_order_from_rest(payload)
    else:
        facts = order_from_rest(payload)
        if topic == "orders/cancelled" and not facts.cancelled:
            raise MalformedWebhook("the body is not a cancelled order")

    async def act() -> str:
        return await apply_order(ctx, storefront_id, facts, shipped)

    return act
