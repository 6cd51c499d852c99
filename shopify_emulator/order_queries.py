"""The `orders` query: what an app's sweep reads to catch up with lost order webhooks.

Orders resolve to plain dicts shaped like the Admin GraphQL `Order` (nested connections
return every node; their `first` only counts toward the cost)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from graphql import GraphQLError

from shopify_emulator.gids import make_gid
from shopify_emulator.records import Location, Order

ORDER_SDL = """
enum OrderSortKeys {{ CREATED_AT ID PROCESSED_AT UPDATED_AT }}
enum OrderCancelReason {{ CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }}
enum OrderDisplayFulfillmentStatus {{
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT RESTOCKED
  SCHEDULED UNFULFILLED REQUEST_DECLINED
}}
enum RefundLineItemRestockType {{ CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }}
type Customer {{ id: ID! firstName: String lastName: String email: String }}
type LineItem {{ id: ID! sku: String name: String! quantity: Int! currentQuantity: Int! }}
type LineItemEdge {{ cursor: String! node: LineItem! }}
type LineItemConnection {{ nodes: [LineItem!]! edges: [LineItemEdge!]! pageInfo: PageInfo! }}
type FulfillmentLineItem {{ id: ID! quantity: Int lineItem: LineItem! }}
type FulfillmentLineItemEdge {{ cursor: String! node: FulfillmentLineItem! }}
type FulfillmentLineItemConnection {{
  nodes: [FulfillmentLineItem!]! edges: [FulfillmentLineItemEdge!]! pageInfo: PageInfo!
}}
type Fulfillment {{
  id: ID!
  status: String!
  createdAt: DateTime!
  location: Location
  fulfillmentLineItems(first: Int, after: String): FulfillmentLineItemConnection!
}}
type RefundLineItem {{
  quantity: Int! restockType: RefundLineItemRestockType! location: Location lineItem: LineItem!
}}
type RefundLineItemEdge {{ cursor: String! node: RefundLineItem! }}
type RefundLineItemConnection {{
  nodes: [RefundLineItem!]! edges: [RefundLineItemEdge!]! pageInfo: PageInfo!
}}
type Refund {{
  id: ID!
  createdAt: DateTime
  note: String
  refundLineItems(first: Int, after: String): RefundLineItemConnection!
}}
type Order {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  createdAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  currencyCode: String!
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  customer: Customer
  retailLocation: Location
  lineItems(first: Int, after: String): LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
  refunds(first: Int): [Refund!]!
}}
type OrderEdge {{ cursor: String! node: Order! }}
type OrderConnection {{ nodes: [Order!]! edges: [OrderEdge!]! pageInfo: PageInfo! }}
"""

ORDERS_FIELD = (
    "orders(first: Int, after: String, query: String, sortKey: OrderSortKeys, "
    "reverse: Boolean): OrderConnection!"
)

_UPDATED = re.compile(r"updated_at:(>=|>|<=|<)?['\"]?([0-9T:.\-+Z ]+?)['\"]?(?:\s|$)")


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"invalid date {text!r}", extensions={"code": "BAD_REQUEST"}) from exc


def orders_matching(orders: list[Order], query: str | None) -> list[Order]:
    """`updated_at:>'2026-01-01T00:00:00Z'` (and >=, <, <=); other terms are ignored.
    Sorted by update time, then id, as with `sortKey: UPDATED_AT`."""
    chosen = sorted(orders, key=lambda o: (_moment(o.updated_at), o.id))
    compare = {
        ">": operator.gt,
        ">=": operator.ge,
        "<": operator.lt,
        "<=": operator.le,
        "": operator.eq,
    }
    for op, value in _UPDATED.findall(query or ""):
        bound = _moment(value)
        chosen = [o for o in chosen if compare[op](_moment(o.updated_at), bound)]
    return chosen


def _z(text: str | None) -> str | None:
    return text.replace("+00:00", "Z") if text else None


def order_node(order: Order, locations: Mapping[int, Location]) -> dict[str, Any]:
    """`Order` as a dict; its locations are the shop's records (their own resolvers)."""
    return _order_node(order, lambda location_id: locations.get(location_id or 0))


def _nodes(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "nodes": nodes,
        "edges": [{"cursor": str(n), "node": node} for n, node in enumerate(nodes)],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
    }


def _order_node(order: Order, _location: Callable[[int | None], Location | None]) -> dict[str, Any]:
    lines = {
        line.id: {
            "id": make_gid("LineItem", line.id),
            "sku": line.sku,
            "name": line.title,
            "quantity": line.quantity,
            "currentQuantity": 0 if order.cancelled_at else line.quantity - line.removed,
        }
        for line in order.lines
    }
    fulfilled = all(line.fulfillable == 0 for line in order.lines) and bool(order.fulfillments)
    some = any(line.fulfilled for line in order.lines)
    customer = order.customer
    return {
        "id": order.gid,
        "legacyResourceId": str(order.id),
        "name": f"#{order.number}",
        "email": order.email,
        "createdAt": _z(order.created_at),
        "updatedAt": _z(order.updated_at),
        "cancelledAt": _z(order.cancelled_at),
        "cancelReason": order.cancel_reason.upper() if order.cancel_reason else None,
        "currencyCode": order.currency,
        "displayFulfillmentStatus": (
            "FULFILLED" if fulfilled else "PARTIALLY_FULFILLED" if some else "UNFULFILLED"
        ),
        "customer": {
            "id": make_gid("Customer", customer.get("id") or 0),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "email": customer.get("email", order.email),
        },
        "retailLocation": _location(order.location_id),
        "lineItems": _nodes(list(lines.values())),
        "fulfillments": [
            {
                "id": make_gid("Fulfillment", f.id),
                "status": "SUCCESS",
                "createdAt": _z(f.created_at),
                "location": _location(f.location_id),
                "fulfillmentLineItems": _nodes(
                    [
                        {
                            "id": make_gid("FulfillmentLineItem", f.id * 1000 + n),
                            "quantity": quantity,
                            "lineItem": lines[line_id],
                        }
                        for n, (line_id, quantity) in enumerate(f.lines)
                    ]
                ),
            }
            for f in order.fulfillments
        ],
        "refunds": [
            {
                "id": make_gid("Refund", r.id),
                "createdAt": _z(r.created_at),
                "note": r.note,
                "refundLineItems": _nodes(
                    [
                        {
                            "quantity": x.quantity,
                            "restockType": x.restock_type.upper(),
                            "location": _location(x.location_id),
                            "lineItem": lines[x.line_id],
                        }
                        for x in r.lines
                    ]
                ),
            }
            for r in order.refunds
        ],
    }
