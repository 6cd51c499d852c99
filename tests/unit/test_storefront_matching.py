"""Discovery's matching rules and the reading of Shopify order bodies (pure)."""

from __future__ import annotations

import pytest

from app.storefronts.matching import OurLocation, OurSku, match_items, match_locations
from app.storefronts.ports import ShopLocation, ShopVariant
from app.storefronts.shopify_orders import (
    MalformedWebhook,
    order_from_graphql,
    order_from_rest,
    refund_order_from_rest,
)


def variant(n: int, sku: str | None, barcode: str | None = None) -> ShopVariant:
    return ShopVariant(f"gid://shopify/InventoryItem/{n}", sku, barcode)


def test_sku_first_then_barcode_and_each_shop_item_once() -> None:
    ours = [
        OurSku(1, "A", "111"),
        OurSku(2, "B", "222"),
        OurSku(3, "C", "111"),
        OurSku(4, "D", None),
    ]
    theirs = [variant(10, " a "), variant(20, "other", "222"), variant(30, "X", "111")]
    result = match_items(ours, theirs, {})
    # A by SKU; B by barcode; C's barcode names item 30 (taken by nobody yet) -> C gets it
    assert result.new == {
        1: "gid://shopify/InventoryItem/10",
        2: "gid://shopify/InventoryItem/20",
        3: "gid://shopify/InventoryItem/30",
    }
    assert result.unmatched_ours == ["D"] and result.unmatched_theirs == []


def test_existing_mappings_stay_while_the_shop_has_their_item() -> None:
    ours = [OurSku(1, "A", None), OurSku(2, "B", None)]
    theirs = [variant(10, "A"), variant(20, "B")]
    kept = match_items(ours, theirs, {1: "gid://shopify/InventoryItem/20"})
    assert kept.new == {} and kept.mapped == 1 and kept.unmatched_ours == ["B"]
    assert [v.sku for v in kept.unmatched_theirs] == ["A"]
    gone = match_items(ours, theirs, {1: "gid://shopify/InventoryItem/99"})
    assert gone.new == {1: "gid://shopify/InventoryItem/10", 2: "gid://shopify/InventoryItem/20"}


def test_shared_skus_are_never_guessed() -> None:
    result = match_items([OurSku(1, "A", "9")], [variant(10, "A", "9"), variant(20, "a", "9")], {})
    assert result.new == {} and result.unmatched_ours == ["A"]


def test_locations_match_by_code_or_name_once_and_only_when_active() -> None:
    ours = [OurLocation(1, "LDN", "London"), OurLocation(2, "WH", "Warehouse")]
    theirs = [
        ShopLocation("gid://shopify/Location/1", "london"),
        ShopLocation("gid://shopify/Location/2", "Warehouse", active=False),
        ShopLocation("gid://shopify/Location/3", "LDN"),
    ]
    report, new = match_locations(ours, theirs, {})
    assert new == {1: "gid://shopify/Location/1"}
    assert [m.matched for m in report] == ["LDN", None, None]


def test_an_order_body_is_read_by_its_content() -> None:
    body = {
        "id": 5,
        "fulfillment_status": "fulfilled",
        "cancelled_at": None,
        "line_items": [{"sku": "A", "quantity": 2}, {"sku": None, "quantity": 1}],
        "refunds": [
            {
                "id": 9,
                "refund_line_items": [
                    {
                        "restock_type": "return",
                        "location_id": 7,
                        "quantity": 1,
                        "line_item": {"sku": "A"},
                    },
                    {"restock_type": "no_restock", "quantity": 1, "line_item": {"sku": "A"}},
                ],
            }
        ],
    }
    facts = order_from_rest(body)
    assert facts.external_id == "gid://shopify/Order/5" and facts.fulfilled and not facts.cancelled
    assert facts.lines == [("A", 2)]
    assert facts.refunds[0].restocked == [("A", 1, "gid://shopify/Location/7")]
    assert refund_order_from_rest({**body["refunds"][0], "order_id": 5}).complete is False
    with pytest.raises(MalformedWebhook):
        order_from_rest({"id": 5, "line_items": [{"sku": "A", "quantity": -1}]})
    with pytest.raises(MalformedWebhook):
        refund_order_from_rest({"id": 1})


def test_a_graphql_order_reads_like_its_webhook() -> None:
    node = {
        "id": "gid://shopify/Order/5",
        "cancelledAt": "2026-11-30T10:00:00Z",
        "cancelReason": "CUSTOMER",
        "displayFulfillmentStatus": "UNFULFILLED",
        "lineItems": {"nodes": [{"sku": "A", "quantity": 2}]},
        "retailLocation": {"id": "gid://shopify/Location/7"},
        "refunds": [],
    }
    facts = order_from_graphql(node)
    assert facts.cancelled and facts.cancel_reason == "customer"
    assert facts.location_gid == "gid://shopify/Location/7" and facts.lines == [("A", 2)]
