"""`webhookSubscriptionCreate`, `webhookSubscriptionDelete` and `webhookSubscriptions`: an
app registers its receivers through the Admin API (signed with the shop's app secret)."""

from __future__ import annotations

from typing import Any

from shopify_emulator.gids import make_gid, parse_gid
from shopify_emulator.state import EmulatorInputError, ShopState
from shopify_emulator.webhooks import WebhookSubscription

SUBSCRIPTION_SDL = """
enum WebhookSubscriptionTopic {{
  ORDERS_CREATE ORDERS_UPDATED ORDERS_CANCELLED ORDERS_FULFILLED FULFILLMENTS_CREATE
  REFUNDS_CREATE INVENTORY_LEVELS_UPDATE
}}
enum WebhookSubscriptionFormat {{ JSON XML }}
input WebhookSubscriptionInput {{
  uri: String
  callbackUrl: String
  format: WebhookSubscriptionFormat
  includeFields: [String!]
  filter: String
}}
type WebhookSubscription {{
  id: ID!
  topic: WebhookSubscriptionTopic!
  uri: String!
  format: WebhookSubscriptionFormat!
  apiVersion: String!
}}
type WebhookSubscriptionEdge {{ cursor: String! node: WebhookSubscription! }}
type WebhookSubscriptionConnection {{
  nodes: [WebhookSubscription!]! edges: [WebhookSubscriptionEdge!]! pageInfo: PageInfo!
}}
type UserError {{ field: [String!] message: String! }}
type WebhookSubscriptionCreatePayload {{
  webhookSubscription: WebhookSubscription
  userErrors: [UserError!]!
}}
type WebhookSubscriptionDeletePayload {{
  deletedWebhookSubscriptionId: ID
  userErrors: [UserError!]!
}}
"""

MUTATION_FIELDS = """
  webhookSubscriptionCreate(
    topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!
  ): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
"""

QUERY_FIELD = (
    "webhookSubscriptions(first: Int, after: String, topics: [WebhookSubscriptionTopic!]): "
    "WebhookSubscriptionConnection!"
)


def topic_name(enum_value: str) -> str:
    """ORDERS_CREATE -> orders/create (the first underscore separates resource and event)."""
    resource, _, event = enum_value.lower().partition("_")
    if resource == "inventory":  # INVENTORY_LEVELS_UPDATE
        return "inventory_levels/update"
    return f"{resource}/{event}"


def topic_enum(name: str) -> str:
    return name.replace("/", "_").upper()


def subscription_node(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": make_gid("WebhookSubscription", subscription.id),
        "topic": topic_enum(subscription.topic),
        "uri": subscription.address,
        "format": "JSON",
        "apiVersion": subscription.api_version,
    }


def create(shop: ShopState, topic: str, webhook: dict[str, Any]) -> dict[str, Any]:
    address = webhook.get("uri") or webhook.get("callbackUrl")
    if webhook.get("format", "JSON") != "JSON":
        return _error(["webhookSubscription", "format"], "Only JSON is supported here")
    if not isinstance(address, str) or not address:
        return _error(["webhookSubscription", "uri"], "Address can't be blank")
    name = topic_name(topic)
    with shop.lock:
        taken = any(s.topic == name and s.address == address for s in shop.subscriptions.values())
        if taken:
            return _error(
                ["webhookSubscription", "uri"], "Address for this topic has already been taken"
            )
        try:
            subscription = shop.subscribe_webhook(name, address)
        except EmulatorInputError as exc:
            return _error(["webhookSubscription", "uri"], str(exc))
    return {"webhookSubscription": subscription_node(subscription), "userErrors": []}


def delete(shop: ShopState, gid: str) -> dict[str, Any]:
    numeric = parse_gid(gid, "WebhookSubscription")
    with shop.lock:
        if numeric is None or numeric not in shop.subscriptions:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
            }
        shop.unsubscribe_webhook(numeric)
    return {"deletedWebhookSubscriptionId": gid, "userErrors": []}


def listed(shop: ShopState, topics: list[str] | None) -> list[WebhookSubscription]:
    wanted = {topic_name(t) for t in topics or []}
    with shop.lock:
        found = sorted(shop.subscriptions.values(), key=lambda s: s.id)
    return [s for s in found if not wanted or s.topic in wanted]


def _error(field: list[str], message: str) -> dict[str, Any]:
    return {"webhookSubscription": None, "userErrors": [{"field": field, "message": message}]}
