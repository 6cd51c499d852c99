"""The emulator's productVariants: pages with cursors, search by SKU and barcode, and cost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shopify_emulator import RunningEmulator, ShopState

VERSION = "2026-10"

VARIANTS = """
query Variants($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id sku barcode inventoryItem { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with RunningEmulator() as emulator:
        yield emulator


@pytest.fixture
def shop(running: RunningEmulator) -> Iterator[ShopState]:
    running.state.reset()
    shop = running.shop
    shop.seed(
        {
            "locations": ["Warehouse"],
            "items": [
                {"sku": f"V-{n:03d}", "barcode": f"50000{n:03d}", "levels": {"Warehouse": n}}
                for n in range(7)
            ],
        }
    )
    yield shop
    running.state.reset()


def ask(emulator: RunningEmulator, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{emulator.base_url}/admin/api/{VERSION}/graphql.json",
        json={"query": VARIANTS, "variables": variables},
        headers={"X-Shopify-Access-Token": emulator.access_token},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_variants_come_in_pages_that_follow_their_cursors(
    running: RunningEmulator, shop: ShopState
) -> None:
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        body = ask(running, {"first": 3, "after": after})
        connection = body["data"]["productVariants"]
        seen += [node["sku"] for node in connection["nodes"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"V-{n:03d}" for n in range(7)]
    node = ask(running, {"first": 1})["data"]["productVariants"]["nodes"][0]
    assert node["id"].startswith("gid://shopify/ProductVariant/")
    assert node["inventoryItem"]["id"] == shop.resolve_item("V-000").gid
    assert node["barcode"] == "50000000"


def test_variants_are_searched_by_sku_or_barcode(running: RunningEmulator, shop: ShopState) -> None:
    body = ask(running, {"first": 10, "query": "sku:V-002 OR barcode:50000005"})
    assert [n["sku"] for n in body["data"]["productVariants"]["nodes"]] == ["V-002", "V-005"]
    none = ask(running, {"first": 10, "query": "barcode:nothing"})
    assert none["data"]["productVariants"]["nodes"] == []


def test_a_page_costs_two_points_a_variant_and_refunds_what_did_not_come(
    running: RunningEmulator, shop: ShopState
) -> None:
    cost = ask(running, {"first": 250})["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 250 * 2
    assert cost["actualQueryCost"] == 2 + 7 * 2
    assert shop.counters.by_root_field["productVariants"] == 1
