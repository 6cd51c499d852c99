"""The `orders` query of the sweep: orders updated since a moment, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.integrations.shopify.discovery import Execute, pages

ORDERS_PER_PAGE = 6
"""An order node asks for about 120 points (50 line items, 5 refunds of 20 lines): six
stay well under the 1,000-point cap of one query."""

ORDERS = """
query OrdersUpdated($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id name email updatedAt cancelledAt cancelReason currencyCode displayFulfillmentStatus
      customer { firstName lastName email }
      retailLocation { id }
      lineItems(first: 50) { nodes { sku quantity } }
      refunds(first: 5) {
        id
        refundLineItems(first: 20) {
          nodes { quantity restockType location { id } lineItem { sku } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def read_orders_updated_since(execute: Execute, since: datetime) -> list[dict[str, Any]]:
    """Raw `Order` nodes (the sync reads them with `order_from_graphql`)."""
    moment = since.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return pages(
        execute,
        "OrdersUpdated",
        ORDERS,
        "orders",
        {"query": f"updated_at:>='{moment}'"},
        2 + 120 * ORDERS_PER_PAGE,
        page_size=ORDERS_PER_PAGE,
    )
