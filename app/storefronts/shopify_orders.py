"""Pure reading of Shopify orders, fulfilments and refunds, from webhook bodies (REST shape)
or from the `orders` query (GraphQL shape), into one set of facts the sync acts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.platform.http.schemas import MAX_LINE_QUANTITY
from app.storefronts.shopify_formats import shopify_gid

RESTOCKED = frozenset({"return", "legacy_restock"})
"""Refund lines whose units come back on the shelf at the location Shopify names; `cancel`
lines are units removed before fulfilment (a cancelled order releases those), `no_restock`
lines leave stock alone."""


class MalformedWebhook(Exception):
    """A signed body that does not say what its topic needs (recorded as failed, not retried)."""


@dataclass(frozen=True, slots=True)
class RefundFacts:
    id: str  # gid://shopify/Refund/N
    restocked: list[tuple[str, int, str | None]]  # (sku, units, Shopify location gid)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    external_id: str  # gid://shopify/Order/N
    cancelled: bool = False
    cancel_reason: str | None = None
    lines: list[tuple[str, int]] = field(default_factory=list)
    location_gid: str | None = None
    email: str | None = None
    customer_name: str | None = None
    currency: str | None = None
    fulfilled: bool = False
    refunds: list[RefundFacts] = field(default_factory=list)
    complete: bool = True  # False: a fulfilment or refund body, not the whole order


def order_gid(value: Any) -> str:
    gid = shopify_gid(str(value or ""), "Order")
    if gid is None:
        raise MalformedWebhook("the order has no id")
    return gid


def _quantity(sku: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LINE_QUANTITY:
        raise MalformedWebhook(f"line {sku!r} has quantity {value!r}")
    return value


def _text(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedWebhook(f"{what} is not text")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedWebhook(f"{what} is not a list")
    return value


# ---- webhook bodies (REST shape) --------------------------------------------------------
def order_from_rest(payload: dict[str, Any]) -> OrderFacts:
    """An order body (`orders/create`, `orders/updated`, `orders/cancelled`,
    `orders/fulfilled`): only `cancelled_at` says it is cancelled, whatever the topic."""
    external_id = order_gid(payload.get("admin_graphql_api_id") or payload.get("id"))
    customer = payload.get("customer") or {}
    if not isinstance(customer, dict):
        raise MalformedWebhook("customer is not an object")
    first, last = customer.get("first_name"), customer.get("last_name")
    location = payload.get("location_id")
    if any(v is not None and not isinstance(v, str | int) for v in (first, last, location)):
        raise MalformedWebhook("a name or location is not text")
    lines = []
    for item in _list(payload.get("line_items"), "line_items"):
        if not isinstance(item, dict) or not item.get("sku"):
            continue
        quantity = _quantity(item.get("sku"), item.get("quantity", 0))
        if quantity:
            lines.append((str(item["sku"])[:100], quantity))
    name = " ".join(str(part) for part in (first, last) if part)
    return OrderFacts(
        external_id=external_id,
        cancelled=bool(payload.get("cancelled_at")),
        cancel_reason=_text(payload.get("cancel_reason"), "cancel_reason"),
        lines=lines,
        location_gid=shopify_gid(str(location or ""), "Location"),
        email=_text(payload.get("email"), "email") or _text(customer.get("email"), "email"),
        customer_name=name or None,
        currency=_text(payload.get("currency"), "currency"),
        fulfilled=payload.get("fulfillment_status") == "fulfilled",
        refunds=[refund_from_rest(r) for r in _list(payload.get("refunds"), "refunds")],
    )


def refund_from_rest(payload: Any) -> RefundFacts:
    """A `refunds/create` body, or one of an order body's `refunds`."""
    if not isinstance(payload, dict):
        raise MalformedWebhook("a refund is not an object")
    refund_id = shopify_gid(
        str(payload.get("admin_graphql_api_id") or payload.get("id") or ""), "Refund"
    )
    if refund_id is None:
        raise MalformedWebhook("the refund has no id")
    restocked = []
    for line in _list(payload.get("refund_line_items"), "refund_line_items"):
        if not isinstance(line, dict) or line.get("restock_type") not in RESTOCKED:
            continue
        item = line.get("line_item") or {}
        sku = item.get("sku") if isinstance(item, dict) else None
        if not sku:
            continue
        location = shopify_gid(str(line.get("location_id") or ""), "Location")
        restocked.append((str(sku)[:100], _quantity(sku, line.get("quantity", 0)), location))
    return RefundFacts(id=refund_id, restocked=restocked)


def refund_order_from_rest(payload: dict[str, Any]) -> OrderFacts:
    """`refunds/create`: the refund of one order (the rest of the order is not in it)."""
    return OrderFacts(
        external_id=order_gid(payload.get("order_id")),
        refunds=[refund_from_rest(payload)],
        complete=False,
    )


def fulfilment_from_rest(payload: dict[str, Any]) -> tuple[OrderFacts, list[tuple[str, int]]]:
    """`fulfillments/create`: the order and the (sku, units) this fulfilment ships; a
    fulfilment that did not succeed ships nothing."""
    facts = OrderFacts(external_id=order_gid(payload.get("order_id")), complete=False)
    if payload.get("status") not in ("success", None):
        return facts, []
    shipped = []
    for item in _list(payload.get("line_items"), "line_items"):
        if isinstance(item, dict) and item.get("sku"):
            shipped.append(
                (str(item["sku"])[:100], _quantity(item["sku"], item.get("quantity", 0)))
            )
    return facts, shipped


# ---- the orders query (GraphQL shape) ---------------------------------------------------
def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, list):
        return [n for n in connection if isinstance(n, dict)]
    if isinstance(connection, dict):
        return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
    return []


def _id_of(node: Any) -> str | None:
    value = node.get("id") if isinstance(node, dict) else None
    return value if isinstance(value, str) else None


def order_from_graphql(node: dict[str, Any]) -> OrderFacts:
    external_id = order_gid(node.get("id"))
    raw_customer = node.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    lines = []
    for item in _nodes(node.get("lineItems")):
        if item.get("sku"):
            quantity = _quantity(item["sku"], item.get("quantity", 0))
            if quantity:
                lines.append((str(item["sku"])[:100], quantity))
    refunds = []
    for refund in _nodes(node.get("refunds")):
        restocked = []
        for line in _nodes(refund.get("refundLineItems")):
            kind = str(line.get("restockType") or "").lower()
            sku = (line.get("lineItem") or {}).get("sku")
            if kind in RESTOCKED and sku:
                units = _quantity(sku, line.get("quantity", 0))
                restocked.append((str(sku)[:100], units, _id_of(line.get("location"))))
        refund_id = shopify_gid(str(refund.get("id") or ""), "Refund")
        if refund_id:
            refunds.append(RefundFacts(id=refund_id, restocked=restocked))
    name = " ".join(str(p) for p in (customer.get("firstName"), customer.get("lastName")) if p)
    reason = node.get("cancelReason")
    return OrderFacts(
        external_id=external_id,
        cancelled=bool(node.get("cancelledAt")),
        cancel_reason=reason.lower() if isinstance(reason, str) else None,
        lines=lines,
        location_gid=_id_of(node.get("retailLocation")),
        email=_text(node.get("email"), "email") or _text(customer.get("email"), "email"),
        customer_name=name or None,
        currency=_text(node.get("currencyCode"), "currency"),
        fulfilled=node.get("displayFulfillmentStatus") == "FULFILLED",
        refunds=refunds,
    )
