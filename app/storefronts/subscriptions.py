"""Webhook subscriptions in the shop: registered for every topic the service reads when
PUBLIC_BASE_URL is set, removed when the storefront is deleted."""

from __future__ import annotations

import asyncio
import uuid

import structlog

from app.platform.access import Permission, Principal
from app.storefronts.config import StorefrontContext
from app.storefronts.ports import GatewayError
from app.storefronts.repository import StorefrontRepository, error_entry
from app.storefronts.subscription_repository import SubscriptionRepository
from app.storefronts.webhooks import WEBHOOK_TOPICS

log = structlog.get_logger("omnistock.storefronts")

TOPICS = tuple(sorted(WEBHOOK_TOPICS))


def webhook_uri(public_base_url: str, storefront_id: uuid.UUID) -> str:
    return f"{public_base_url.rstrip('/')}/webhooks/shopify/{storefront_id}"


async def register_webhooks(ctx: StorefrontContext, storefront_id: uuid.UUID) -> list[str]:
    """Subscribe the shop's webhooks to this service (those it lacks); returns the errors,
    also kept in the storefront's sync errors. Nothing to do without PUBLIC_BASE_URL."""
    base = ctx.sync.public_base_url
    if not base:
        return []
    async with ctx.uow(readonly=True) as uow:
        storefront = await StorefrontRepository.of(uow).get(storefront_id)
    client = ctx.sync.client_factory(ctx.sync.connection(storefront))
    uri = webhook_uri(base, storefront_id)
    errors: list[str] = []
    try:
        found = await asyncio.to_thread(client.subscribe_webhooks, TOPICS, uri)
    except GatewayError as error:
        found, errors = {}, [f"webhook subscriptions: {error}"]
    async with ctx.uow() as uow:
        await SubscriptionRepository.of(uow).save(storefront_id, found)
        await StorefrontRepository.of(uow).record_calls(
            storefront_id,
            calls=client.calls,
            throttled=client.throttled,
            synced_at=None,
            errors=[error_entry(e) for e in errors],
        )
        await uow.commit()
    if errors:
        log.warning("webhook subscriptions failed", storefront=str(storefront_id), error=errors[0])
    return errors


async def delete_storefront(
    ctx: StorefrontContext, principal: Principal, storefront_id: uuid.UUID
) -> int:
    """Remove the storefront's webhook subscriptions from the shop, then the storefront
    (mappings, outbox and received webhooks with it). A shop that cannot be reached does
    not keep the storefront: Shopify drops subscriptions whose address keeps failing.
    Returns how many subscriptions were removed from the shop."""
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow(readonly=True) as uow:
        storefront = await StorefrontRepository.of(uow).get(storefront_id)
        held = await SubscriptionRepository.of(uow).subscriptions(storefront_id)
    removed = 0
    if held:
        client = ctx.sync.client_factory(ctx.sync.connection(storefront))
        for gid in held.values():
            try:
                removed += bool(await asyncio.to_thread(client.unsubscribe_webhook, gid))
            except GatewayError as error:
                log.warning(
                    "webhook subscription left in the shop",
                    storefront=str(storefront_id),
                    subscription=gid,
                    error=str(error),
                )
    async with ctx.uow() as uow:
        await SubscriptionRepository.of(uow).delete_storefront(storefront_id)
        await uow.commit()
    log.info("storefront deleted", storefront=str(storefront_id), unsubscribed=removed)
    return removed
