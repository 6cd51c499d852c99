"""A hand-written subset of the Admin GraphQL schema, one shape per API era, and resolvers."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias, TypeVar

from graphql import (
    GraphQLDirective,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    get_directive_values,
)

from shopify_emulator import mutations, subscriptions
from shopify_emulator.gids import make_gid, parse_gid, parse_level_gid
from shopify_emulator.order_queries import (
    ORDER_SDL,
    ORDERS_FIELD,
    order_node,
    orders_matching,
)
from shopify_emulator.records import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    InventoryItem,
    InventoryLevel,
    Location,
    QuantityChange,
)
from shopify_emulator.state import EmulatorSettings, ShopState
from shopify_emulator.versions import (
    ERA_CURRENT,
    ERA_LEGACY,
    ERA_TRANSITION,
    VersionRules,
)

MAX_PAGE_SIZE = 250
T = TypeVar("T")
Resolver = Callable[..., Any]
Info: TypeAlias = "GraphQLResolveInfo[RequestContext]"

_SET_CODES = """
  CHANGE_FROM_QUANTITY_REQUIRED CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED
  COMPARE_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_NAME
  INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH INVALID_REASON INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION NON_MUTABLE_INVENTORY_ITEM
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
"""
_ADJUST_CODES = """
  CHANGE_FROM_QUANTITY_REQUIRED CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED INVALID_AVAILABLE_DOCUMENT INVALID_INVENTORY_ITEM
  INVALID_LEDGER_DOCUMENT INVALID_LOCATION INVALID_QUANTITY_DOCUMENT INVALID_QUANTITY_NAME
  INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION MAX_ONE_LEDGER_DOCUMENT NON_MUTABLE_INVENTORY_ITEM
"""

_SDL = """
scalar DateTime
scalar UnsignedInt64
{directive}

type Query {{
  shop: Shop!
  location(id: ID!): Location
  locations(first: Int, after: String, query: String): LocationConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryItems(first: Int, after: String, query: String): InventoryItemConnection!
  inventoryLevel(id: ID!): InventoryLevel
  productVariant(id: ID!): ProductVariant
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  {orders_field}
  {subscriptions_field}
}}
{order_sdl}
{subscription_sdl}

type Mutation {{
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  inventoryAdjustQuantities(
    input: InventoryAdjustQuantitiesInput!
  ): InventoryAdjustQuantitiesPayload
  {subscription_mutations}
}}

type Shop {{ id: ID! name: String! myshopifyDomain: String! currencyCode: String! }}

type PageInfo {{
  hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String
}}

type Location {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  isActive: Boolean!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
  inventoryLevels(first: Int, after: String): InventoryLevelConnection!
}}
type LocationEdge {{ cursor: String! node: Location! }}
type LocationConnection {{ nodes: [Location!]! edges: [LocationEdge!]! pageInfo: PageInfo! }}

type InventoryItem {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  tracked: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(first: Int, after: String): InventoryLevelConnection!
}}
type InventoryItemEdge {{ cursor: String! node: InventoryItem! }}
type InventoryItemConnection {{
  nodes: [InventoryItem!]! edges: [InventoryItemEdge!]! pageInfo: PageInfo!
}}

type ProductVariant {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  barcode: String
  displayName: String!
  inventoryItem: InventoryItem!
}}
type ProductVariantEdge {{ cursor: String! node: ProductVariant! }}
type ProductVariantConnection {{
  nodes: [ProductVariant!]! edges: [ProductVariantEdge!]! pageInfo: PageInfo!
}}

type InventoryLevel {{
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  quantities(names: [String!]!): [InventoryQuantity!]!
  item: InventoryItem!
  location: Location!
}}
type InventoryLevelEdge {{ cursor: String! node: InventoryLevel! }}
type InventoryLevelConnection {{
  nodes: [InventoryLevel!]! edges: [InventoryLevelEdge!]! pageInfo: PageInfo!
}}
type InventoryQuantity {{ id: ID! name: String! quantity: Int! updatedAt: DateTime }}

input InventorySetQuantitiesInput {{
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
  {ignore_compare}
}}
input InventoryQuantityInput {{
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  {compare_quantity}
  {change_from}
}}
input InventoryAdjustQuantitiesInput {{
  name: String!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChangeInput!]!
}}
input InventoryChangeInput {{
  delta: Int!
  inventoryItemId: ID!
  locationId: ID!
  ledgerDocumentUri: String
  {change_from}
}}

type InventoryAdjustmentGroup {{
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]):
    [InventoryChange!]!
}}
type InventoryChange {{
  name: String!
  delta: Int!
  quantityAfterChange: Int
  ledgerDocumentUri: String
  item: InventoryItem
  location: Location
}}

type InventorySetQuantitiesPayload {{
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}}
type InventorySetQuantitiesUserError {{
  field: [String!] message: String! code: InventorySetQuantitiesUserErrorCode
}}
enum InventorySetQuantitiesUserErrorCode {{ {set_codes} }}

type InventoryAdjustQuantitiesPayload {{
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventoryAdjustQuantitiesUserError!]!
}}
type InventoryAdjustQuantitiesUserError {{
  field: [String!] message: String! code: InventoryAdjustQuantitiesUserErrorCode
}}
enum InventoryAdjustQuantitiesUserErrorCode {{ {adjust_codes} }}
"""


@dataclass
class RequestContext:
    """Passed to every resolver as `info.context`."""

    shop: ShopState
    rules: VersionRules
    settings: EmulatorSettings


def sdl_for_era(era: str) -> str:
    with_new = era in (ERA_TRANSITION, ERA_CURRENT)
    with_old = era in (ERA_LEGACY, ERA_TRANSITION)
    return _SDL.format(
        directive="directive @idempotent(key: String!) on FIELD" if with_new else "",
        ignore_compare="ignoreCompareQuantity: Boolean = false" if with_old else "",
        compare_quantity="compareQuantity: Int" if with_old else "",
        change_from="changeFromQuantity: Int" if with_new else "",
        orders_field=ORDERS_FIELD,
        order_sdl=ORDER_SDL.format(),
        subscriptions_field=subscriptions.QUERY_FIELD,
        subscription_mutations=subscriptions.MUTATION_FIELDS,
        subscription_sdl=subscriptions.SUBSCRIPTION_SDL.format(),
        set_codes=_SET_CODES,
        adjust_codes=_ADJUST_CODES,
    )


@cache
def schema_for_era(era: str) -> GraphQLSchema:
    """Built once per era; resolvers are attached to the built types."""
    schema = build_schema(sdl_for_era(era))
    _attach_resolvers(schema)
    return schema


# ---- helpers ---------------------------------------------------------------------------
def _context(info: Info) -> RequestContext:
    context: RequestContext = info.context
    return context


def _invalid_id(value: object) -> GraphQLError:
    return GraphQLError(
        f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"}
    )


def _required_gid(value: object, type_name: str) -> int:
    numeric = parse_gid(value, type_name)
    if numeric is None:
        raise _invalid_id(value)
    return numeric


def encode_cursor(record_id: int) -> str:
    raw = json.dumps({"last_id": record_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["last_id"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(
            f"Invalid cursor for current pagination sort: {cursor}",
            extensions={"code": "BAD_REQUEST"},
        ) from exc
    if not isinstance(value, int):
        raise GraphQLError(f"Invalid cursor: {cursor}", extensions={"code": "BAD_REQUEST"})
    return value


def page_size(first: int | None) -> int:
    """Shopify insists on `first` (or `last`); sizes above 250 are capped."""
    if first is None:
        raise GraphQLError(
            "you must provide one of first or last", extensions={"code": "BAD_REQUEST"}
        )
    if first < 0:
        raise GraphQLError("first must be a positive integer", extensions={"code": "BAD_REQUEST"})
    return min(first, MAX_PAGE_SIZE)


def connection(
    records: Sequence[T], key: Callable[[T], int], first: int | None, after: str | None
) -> dict[str, Any]:
    """A cursor page over records sorted by their numeric key."""
    size = page_size(first)
    start = 0
    if after is not None:
        last_id = decode_cursor(after)
        start = next((i for i, record in enumerate(records) if key(record) > last_id), len(records))
    page = list(records[start : start + size])
    edges = [{"cursor": encode_cursor(key(record)), "node": record} for record in page]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + size < len(records),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


_SEARCH_TERM = re.compile(r"""(\w+):(?:'([^']*)'|"([^"]*)"|(\S+))|(\S+)""")


def filter_items(items: Sequence[InventoryItem], query: str | None) -> list[InventoryItem]:
    """The bit of Shopify search syntax a sync needs: `sku:A`, `sku:A*`, `sku:A OR sku:B`,
    `barcode:B`, `id:N`, `tracked:true`; terms inside one OR-branch are ANDed; unknown
    fields are ignored."""
    if not query or not query.strip():
        return list(items)
    branches = [branch for branch in re.split(r"\s+OR\s+", query.strip()) if branch]
    parsed = [_parse_branch(branch) for branch in branches[:MAX_PAGE_SIZE]]
    return [item for item in items if any(_matches(item, terms) for terms in parsed)]


def _parse_branch(branch: str) -> list[tuple[str, str]]:
    terms: list[tuple[str, str]] = []
    for match in _SEARCH_TERM.finditer(branch):
        field, quoted1, quoted2, bare, free = match.groups()
        if free is not None:
            if free.upper() != "AND":
                terms.append(("sku", free))
            continue
        terms.append((field.lower(), next(v for v in (quoted1, quoted2, bare) if v is not None)))
    return terms


def _matches(item: InventoryItem, terms: list[tuple[str, str]]) -> bool:
    for field, value in terms:
        if field == "sku":
            sku = (item.sku or "").lower()
            wanted = value.lower()
            ok = sku.startswith(wanted[:-1]) if wanted.endswith("*") else sku == wanted
        elif field == "barcode":
            ok = (item.barcode or "").lower() == value.lower()
        elif field == "id":
            ok = value.isdigit() and int(value) == item.id
        elif field == "tracked":
            ok = item.tracked == (value.lower() == "true")
        else:
            ok = True
        if not ok:
            return False
    return True


# ---- resolvers -------------------------------------------------------------------------
def _query_shop(_root: Any, info: Info) -> ShopState:
    return _context(info).shop


def _query_location(_root: Any, info: Info, id: str) -> Location | None:
    return _context(info).shop.locations.get(_required_gid(id, "Location"))


def _query_locations(
    _root: Any,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    del query  # accepted for compatibility; every location matches
    return connection(_context(info).shop.locations_sorted(), lambda loc: loc.id, first, after)


def _query_item(_root: Any, info: Info, id: str) -> InventoryItem | None:
    return _context(info).shop.items.get(_required_gid(id, "InventoryItem"))


def _query_items(
    _root: Any,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    items = filter_items(_context(info).shop.items_sorted(), query)
    return connection(items, lambda item: item.id, first, after)


def _query_level(_root: Any, info: Info, id: str) -> InventoryLevel | None:
    parsed = parse_level_gid(id)
    if parsed is None:
        raise _invalid_id(id)
    location_id, item_id = parsed
    return _context(info).shop.level_for(item_id, location_id)


def _query_variant(_root: Any, info: Info, id: str) -> InventoryItem | None:
    variant_id = _required_gid(id, "ProductVariant")
    shop = _context(info).shop
    return next((item for item in shop.items.values() if item.variant_id == variant_id), None)


def _query_variants(
    _root: Any,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    """Variants stand on their inventory items here (one each), ordered by variant id."""
    items = filter_items(_context(info).shop.items_sorted(), query)
    items.sort(key=lambda item: item.variant_id)
    return connection(items, lambda item: item.variant_id, first, after)


def _query_orders(
    _root: Any,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    query: str | None = None,
    sortKey: str | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    """Paged by position in the (update time, id) order; the cursor names the last order."""
    del sortKey  # UPDATED_AT is the only order a sweep needs; others read the same here
    shop = _context(info).shop
    with shop.lock:
        orders = orders_matching(list(shop.orders.values()), query)
        if reverse:
            orders.reverse()
        size = page_size(first)
        start = 0
        if after is not None:
            last_id = decode_cursor(after)
            ids = [o.id for o in orders]
            start = ids.index(last_id) + 1 if last_id in ids else len(orders)
        page = [order_node(o, shop.locations) for o in orders[start : start + size]]
        edges = [
            {"cursor": encode_cursor(o.id), "node": node}
            for o, node in zip(orders[start : start + size], page, strict=True)
        ]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + size < len(orders),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _query_subscriptions(
    _root: Any,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    topics: list[str] | None = None,
) -> dict[str, Any]:
    found = subscriptions.listed(_context(info).shop, topics)
    page = connection(found, lambda s: s.id, first, after)
    nodes = [subscriptions.subscription_node(s) for s in page["nodes"]]
    edges = [dict(e, node=n) for e, n in zip(page["edges"], nodes, strict=True)]
    return {**page, "nodes": nodes, "edges": edges}


def _create_subscription(
    _root: Any, info: Info, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    return subscriptions.create(_context(info).shop, topic, webhookSubscription)


def _delete_subscription(_root: Any, info: Info, id: str) -> dict[str, Any]:
    return subscriptions.delete(_context(info).shop, id)


def _item_level(item: InventoryItem, info: Info, locationId: str) -> InventoryLevel | None:
    return _context(info).shop.level_for(item.id, _required_gid(locationId, "Location"))


def _item_levels(
    item: InventoryItem, info: Info, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    levels = _context(info).shop.levels_of_item(item.id)
    return connection(levels, lambda level: level.location_id, first, after)


def _location_level(location: Location, info: Info, inventoryItemId: str) -> InventoryLevel | None:
    item_id = _required_gid(inventoryItemId, "InventoryItem")
    return _context(info).shop.level_for(item_id, location.id)


def _location_levels(
    location: Location, info: Info, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    levels = _context(info).shop.levels_at_location(location.id)
    return connection(levels, lambda level: level.item_id, first, after)


def _level_quantities(level: InventoryLevel, _info: Info, names: list[str]) -> list[dict[str, Any]]:
    unknown = [name for name in names if name not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity names: {', '.join(unknown)}. Valid names are: "
            f"{', '.join(QUANTITY_NAMES)}.",
            extensions={"code": "BAD_REQUEST"},
        )
    return [
        {
            "id": f"{level.gid}&name={name}",
            "name": name,
            "quantity": level.quantity(name),
            "updatedAt": level.updated_at,
        }
        for name in names
    ]


def _group_changes(
    group: AdjustmentGroup,
    _info: Info,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
) -> list[QuantityChange]:
    items = {parse_gid(v, "InventoryItem") for v in inventoryItemIds or []}
    locations = {parse_gid(v, "Location") for v in locationIds or []}
    return [
        change
        for change in group.changes
        if (not inventoryItemIds or change.item_id in items)
        and (not locationIds or change.location_id in locations)
        and (not quantityNames or change.name in quantityNames)
    ]


def _idempotency_key(info: Info) -> str | None:
    directive: GraphQLDirective | None = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    if values is None:
        return None
    key: str = values["key"]
    return key


def _mutation_request(info: Info) -> mutations.MutationRequest:
    context = _context(info)
    return mutations.MutationRequest(
        shop=context.shop,
        rules=context.rules,
        settings=context.settings,
        idempotency_key=_idempotency_key(info),
    )


def _set_quantities(_root: Any, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    request = _mutation_request(info)
    mutations.require_idempotency_key(
        request,
        "inventorySetQuantities",
        request.settings.idempotency_required_for_set_quantities
        and request.rules.has_idempotent_directive,
    )
    payload = mutations.run_idempotent(
        request, "inventorySetQuantities", input, lambda: mutations.set_quantities(request, input)
    )
    if payload.user_errors:
        request.shop.counters.user_error_payloads += 1
    return payload.to_graphql()


def _adjust_quantities(_root: Any, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    request = _mutation_request(info)
    mutations.require_idempotency_key(
        request, "inventoryAdjustQuantities", request.rules.idempotency_required_for_adjust
    )
    payload = mutations.run_idempotent(
        request,
        "inventoryAdjustQuantities",
        input,
        lambda: mutations.adjust_quantities(request, input),
    )
    if payload.user_errors:
        request.shop.counters.user_error_payloads += 1
    return payload.to_graphql()


def _attr(name: str) -> Resolver:
    def resolve(obj: Any, _info: Info) -> Any:
        return getattr(obj, name)

    return resolve


def _gid_of(obj: Any, _info: Info) -> str:
    gid: str = obj.gid
    return gid


def _numeric_id(obj: Any, _info: Info) -> str:
    """UnsignedInt64 travels as a string, like Shopify's legacyResourceId."""
    return str(obj.id)


def _shop_item(attribute: str) -> Resolver:
    def resolve(obj: Any, info: Info) -> InventoryItem | None:
        return _context(info).shop.items.get(getattr(obj, attribute))

    return resolve


def _shop_location(obj: Any, info: Info) -> Location | None:
    return _context(info).shop.locations.get(obj.location_id)


def _variant_id(item: InventoryItem, _info: Info) -> str:
    return make_gid("ProductVariant", item.variant_id)


def _attach_resolvers(schema: GraphQLSchema) -> None:
    bindings: dict[str, dict[str, Resolver]] = {
        "Query": {
            "shop": _query_shop,
            "location": _query_location,
            "locations": _query_locations,
            "inventoryItem": _query_item,
            "inventoryItems": _query_items,
            "inventoryLevel": _query_level,
            "productVariant": _query_variant,
            "productVariants": _query_variants,
            "orders": _query_orders,
            "webhookSubscriptions": _query_subscriptions,
        },
        "Mutation": {
            "inventorySetQuantities": _set_quantities,
            "inventoryAdjustQuantities": _adjust_quantities,
            "webhookSubscriptionCreate": _create_subscription,
            "webhookSubscriptionDelete": _delete_subscription,
        },
        "Shop": {
            "id": _gid_of,
            "myshopifyDomain": _attr("domain"),
            "currencyCode": _attr("currency"),
        },
        "Location": {
            "id": _gid_of,
            "legacyResourceId": _numeric_id,
            "isActive": _attr("is_active"),
            "inventoryLevel": _location_level,
            "inventoryLevels": _location_levels,
        },
        "InventoryItem": {
            "id": _gid_of,
            "legacyResourceId": _numeric_id,
            "createdAt": _attr("created_at"),
            "updatedAt": _attr("updated_at"),
            "variant": lambda item, _info: item,
            "inventoryLevel": _item_level,
            "inventoryLevels": _item_levels,
        },
        "ProductVariant": {
            "id": _variant_id,
            "legacyResourceId": lambda item, _info: str(item.variant_id),
            "displayName": lambda item, _info: f"Product {item.product_id} - {item.sku or ''}",
            "inventoryItem": lambda item, _info: item,
        },
        "InventoryLevel": {
            "id": _gid_of,
            "createdAt": _attr("created_at"),
            "updatedAt": _attr("updated_at"),
            "quantities": _level_quantities,
            "item": _shop_item("item_id"),
            "location": _shop_location,
        },
        "InventoryAdjustmentGroup": {
            "id": _gid_of,
            "createdAt": _attr("created_at"),
            "referenceDocumentUri": _attr("reference_document_uri"),
            "changes": _group_changes,
        },
        "InventoryChange": {
            "quantityAfterChange": _attr("quantity_after_change"),
            "ledgerDocumentUri": _attr("ledger_document_uri"),
            "item": _shop_item("item_id"),
            "location": _shop_location,
        },
    }
    for type_name, fields in bindings.items():
        object_type = schema.get_type(type_name)
        if not isinstance(object_type, GraphQLObjectType):
            raise TypeError(f"{type_name} is not an object type")
        for field_name, resolver in fields.items():
            object_type.fields[field_name].resolve = resolver
