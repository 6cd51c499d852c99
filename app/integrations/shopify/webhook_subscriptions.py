"""Webhook subscriptions through the Admin API: list, create, delete."""

from __future__ import annotations

from typing import Any

from app.integrations.shopify.discovery import Execute, pages
from app.integrations.shopify.errors import ShopifyRequestRejected

LIST = """
query Subscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $webhook: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhook) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

DELETE = """
mutation Unsubscribe($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""


def topic_enum(topic: str) -> str:
    """orders/create -> ORDERS_CREATE, inventory_levels/update -> INVENTORY_LEVELS_UPDATE."""
    return topic.replace("/", "_").upper()


def existing(execute: Execute) -> dict[tuple[str, str], str]:
    """(topic enum, uri) -> subscription gid."""
    found: dict[tuple[str, str], str] = {}
    for node in pages(execute, "Subscriptions", LIST, "webhookSubscriptions", {}, 2 + 100):
        if isinstance(node.get("id"), str):
            found[(str(node.get("topic")), str(node.get("uri")))] = node["id"]
    return found


def create(execute: Execute, topic: str, uri: str) -> str:
    data = execute(
        "Subscribe",
        CREATE,
        {"topic": topic_enum(topic), "webhook": {"uri": uri, "format": "JSON"}},
        10,
    )
    result: dict[str, Any] = (data or {}).get("webhookSubscriptionCreate") or {}
    errors = result.get("userErrors") or []
    subscription = result.get("webhookSubscription") or {}
    if errors or not isinstance(subscription.get("id"), str):
        messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        raise ShopifyRequestRejected(f"webhookSubscriptionCreate {topic}: {messages}")
    gid: str = subscription["id"]
    return gid


def delete(execute: Execute, gid: str) -> bool:
    """True when deleted, False when the shop no longer had it."""
    data = execute("Unsubscribe", DELETE, {"id": gid}, 10)
    result = (data or {}).get("webhookSubscriptionDelete") or {}
    return bool(result.get("deletedWebhookSubscriptionId"))
