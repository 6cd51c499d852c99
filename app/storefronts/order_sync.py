"""Shopify's orders in our order book: what a webhook or the sweep learned, applied so that
repeats and any order of arrival end in the same book."""

from __future__ import annotations

import uuid

from app.orders import external
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork
from app.storefronts.config import StorefrontContext
from app.storefronts.repository import StorefrontRepository
from app.storefronts.shopify_orders import OrderFacts, RefundFacts
from app.storefronts.webhook_repository import WebhookRepository

CHANNEL = "shopify"


async def apply_order(
    ctx: StorefrontContext,
    storefront_id: uuid.UUID,
    facts: OrderFacts,
    shipped: list[tuple[str, int]] | None = None,
) -> str:
    """A cancelled order releases what it holds; a whole order is recorded (once); a
    fulfilled order, or a fulfilment covering every line, takes its units; each refund
    with restock puts its units back where Shopify says (once). Returns what was done."""
    async with ctx.uow(readonly=True) as uow:
        locations = {
            gid: code for code, gid in await StorefrontRepository.of(uow).locations(storefront_id)
        }
    done: list[str] = []
    if facts.cancelled:
        await external.cancel_external_order(
            ctx, channel=CHANNEL, external_id=facts.external_id, reason=facts.cancel_reason
        )
        return f"cancelled order {facts.external_id}"
    if facts.complete:
        view = await external.record_external_order(
            ctx,
            channel=CHANNEL,
            external_id=facts.external_id,
            location=locations.get(facts.location_gid or ""),
            lines=facts.lines,
            customer_email=facts.email,
            customer_name=facts.customer_name,
            currency=facts.currency,
        )
        risk = " (at risk: short or unknown stock)" if view.at_risk else ""
        done.append(f"recorded order {view.number} for {facts.external_id}{risk}")
    if facts.fulfilled or shipped:
        fulfilled = await external.fulfil_external_order(
            ctx,
            channel=CHANNEL,
            external_id=facts.external_id,
            shipped=None if facts.fulfilled else shipped,
        )
        done.append(
            f"order {facts.external_id} is {fulfilled.status}"
            if fulfilled is not None
            else f"fulfilment of {facts.external_id} not applied (unknown order or part shipped)"
        )
    for refund in facts.refunds:
        done.append(await _apply_refund(ctx, storefront_id, facts.external_id, refund, locations))
    return "; ".join(done) or f"nothing to do for {facts.external_id}"


async def _apply_refund(
    ctx: StorefrontContext,
    storefront_id: uuid.UUID,
    external_id: str,
    refund: RefundFacts,
    locations: dict[str, str],
) -> str:
    lines = [
        (sku, units, locations[gid])
        for sku, units, gid in refund.restocked
        if gid is not None and gid in locations
    ]
    skipped = len(refund.restocked) - len(lines)

    async def claim(uow: UnitOfWork) -> bool:
        return await WebhookRepository.of(uow).claim_refund(storefront_id, refund.id, utcnow())

    units = await external.restock_external_refund(
        ctx,
        channel=CHANNEL,
        external_id=external_id,
        restocked=lines,
        claim=claim,
        note=f"refund {refund.id} on {CHANNEL}",
    )
    if units is None:
        return f"refund {refund.id} waits: order {external_id} is not shipped in the book"
    unmapped = f" ({skipped} line(s) at unmapped locations)" if skipped else ""
    return f"refund {refund.id}: {units} unit(s) restocked{unmapped}"
