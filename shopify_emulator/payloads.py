"""REST-style (snake_case) webhook payloads, shaped like Shopify's for the topics we send."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopify_emulator.gids import make_gid
from shopify_emulator.records import (
    FulfillmentRecord,
    InventoryItem,
    InventoryLevel,
    Order,
    OrderLine,
    RefundRecord,
)


def inventory_level_payload(item: InventoryItem, level: InventoryLevel) -> dict[str, Any]:
    """Only `available` is sent, and it is null for untracked items, as in Shopify."""
    return {
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "available": level.quantity("available") if item.tracked else None,
        "updated_at": level.updated_at.replace("Z", "+00:00"),
        "admin_graphql_api_id": level.gid,
    }


def order_payload(order: Order, shop_domain: str) -> dict[str, Any]:
    subtotal = sum((Decimal(line.price) * line.quantity for line in order.lines), Decimal("0"))
    total = f"{subtotal:.2f}"
    customer = order.customer
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "name": f"#{order.number}",
        "order_number": order.number,
        "number": order.number - 1000,
        "email": order.email,
        "contact_email": order.email,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "processed_at": order.created_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "closed_at": None,
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "currency": order.currency,
        "presentment_currency": order.currency,
        "subtotal_price": total,
        "total_price": total,
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "test": False,
        "source_name": "web",
        "location_id": order.location_id,
        "order_status_url": f"https://{shop_domain}/orders/{order.id}/authenticate",
        "customer": {
            "id": customer.get("id"),
            "admin_graphql_api_id": (
                make_gid("Customer", customer["id"]) if customer.get("id") else None
            ),
            "email": customer.get("email", order.email),
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
        },
        "line_items": [
            {
                "id": line.id,
                "admin_graphql_api_id": make_gid("LineItem", line.id),
                "sku": line.sku,
                "title": line.title,
                "name": line.title,
                "quantity": line.quantity,
                "current_quantity": 0 if order.cancelled_at else line.quantity - line.removed,
                "fulfillable_quantity": 0 if order.cancelled_at else line.fulfillable,
                "fulfillment_status": "fulfilled" if line.fulfilled else None,
                "price": line.price,
                "variant_id": line.variant_id,
                "product_id": line.product_id,
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
            }
            for line in order.lines
        ],
        "fulfillments": [fulfillment_payload(order, f) for f in order.fulfillments],
        "refunds": [refund_payload(order, r) for r in order.refunds],
    }


def _line_item(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "admin_graphql_api_id": make_gid("LineItem", line.id),
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "price": line.price,
        "variant_id": line.variant_id,
        "product_id": line.product_id,
    }


def fulfillment_payload(order: Order, fulfillment: FulfillmentRecord) -> dict[str, Any]:
    """`fulfillments/create`: Shopify's Fulfillment resource (REST shape)."""
    lines = {line.id: line for line in order.lines}
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": make_gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "status": "success",
        "created_at": fulfillment.created_at,
        "updated_at": fulfillment.created_at,
        "location_id": fulfillment.location_id,
        "name": f"#{order.number}.{order.fulfillments.index(fulfillment) + 1}",
        "service": "manual",
        "shipment_status": None,
        "tracking_company": None,
        "tracking_number": None,
        "tracking_numbers": [],
        "tracking_url": None,
        "tracking_urls": [],
        "line_items": [
            {**_line_item(lines[line_id]), "quantity": quantity, "fulfillment_status": "fulfilled"}
            for line_id, quantity in fulfillment.lines
        ],
    }


def refund_payload(order: Order, refund: RefundRecord) -> dict[str, Any]:
    """`refunds/create`: Shopify's Refund resource (REST shape)."""
    lines = {line.id: line for line in order.lines}
    return {
        "id": refund.id,
        "admin_graphql_api_id": make_gid("Refund", refund.id),
        "order_id": order.id,
        "created_at": refund.created_at,
        "processed_at": refund.created_at,
        "note": refund.note,
        "restock": any(x.restock_type != "no_restock" for x in refund.lines),
        "user_id": None,
        "order_adjustments": [],
        "transactions": [],
        "refund_line_items": [
            {
                "id": refund.id * 1000 + n,
                "line_item_id": x.line_id,
                "location_id": x.location_id,
                "quantity": x.quantity,
                "restock_type": x.restock_type,
                "subtotal": f"{float(lines[x.line_id].price) * x.quantity:.2f}",
                "total_tax": "0.00",
                "line_item": _line_item(lines[x.line_id]),
            }
            for n, x in enumerate(refund.lines)
        ],
    }
