"""Paginated reads of a shop's locations and variants, each page within the cost limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.storefronts.ports import ShopLocation, ShopVariant

PAGE_SIZE = 250
"""Shopify's largest page. A variant node costs 2 points (itself and its inventory item),
so a page asks for 2 + 250 * 2 = 502 points, half the 1,000-point cap of one query."""

MAX_PAGES = 2_000
"""500,000 variants: a guard against a cursor that never ends, not a product limit."""

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANTS = """
query Variants($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id sku barcode inventoryItem { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

Execute = Callable[[str, str, dict[str, Any], float], dict[str, Any] | None]
"""(operation name, query, variables, estimated cost) → the answer's `data`."""


def read_locations(execute: Execute) -> list[ShopLocation]:
    found: list[ShopLocation] = []
    for node in pages(execute, "Locations", LOCATIONS, "locations", {}, 2 + PAGE_SIZE):
        if isinstance(node.get("id"), str):
            found.append(
                ShopLocation(
                    id=node["id"],
                    name=str(node.get("name") or ""),
                    active=bool(node.get("isActive", True)),
                )
            )
    return found


def read_variants(execute: Execute, query: str | None = None) -> list[ShopVariant]:
    """Every variant (or those matching Shopify search syntax, e.g. `sku:A OR barcode:B`)."""
    found: list[ShopVariant] = []
    variables = {"query": query} if query else {}
    for node in pages(
        execute, "Variants", VARIANTS, "productVariants", variables, 2 + 2 * PAGE_SIZE
    ):
        item = node.get("inventoryItem")
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str):
            continue
        found.append(
            ShopVariant(
                inventory_item_id=item_id,
                sku=_text(node.get("sku")),
                barcode=_text(node.get("barcode")),
            )
        )
    return found


def pages(
    execute: Execute,
    operation: str,
    query: str,
    root: str,
    variables: dict[str, Any],
    cost: float,
    *,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every node of a connection, following its cursor."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = execute(operation, query, {**variables, "first": page_size, "after": after}, cost)
        connection = (data or {}).get(root) or {}
        nodes += [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
        info = connection.get("pageInfo") or {}
        after = info.get("endCursor")
        if not info.get("hasNextPage") or not isinstance(after, str):
            break
    return nodes


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
