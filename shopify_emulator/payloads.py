"""REST-style (snake_case) webhook payloads, shaped like Shopify's for the topics we send."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopify_emulator.gids import make_gid
from shopify_emulator.records import InventoryItem, InventoryLevel, Order


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
                "current_quantity": 0 if order.cancelled_at else line.quantity,
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
    }
