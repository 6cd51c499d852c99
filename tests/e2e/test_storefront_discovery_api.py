"""Discovery over HTTP: connect with auto_map, re-run discover, and refusals."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shopify_emulator import RunningEmulator
from tests.conftest import Keys
from tests.e2e.test_storefront_api import storefront_body

Client = AsyncTestClient[Litestar]


async def test_connect_with_auto_map_maps_and_reports_in_one_call(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    shop = emulator.shop
    tee = shop.add_item("tee-1")
    shop.add_item("SHOP-ONLY", barcode="123456")
    shop.add_location("Shoreditch")
    body = storefront_body(emulator, auto_map=True)

    created = await client.post("/v1/storefronts", json=body, headers=keys.admin)

    assert created.status_code == 201, created.text
    answer = created.json()
    discovery = answer["discovery"]
    assert answer["mapped_skus"] == discovery["mapped"] == 1
    assert discovery["unmatched_ours"] == ["MUG-1", "TEE-2"]
    assert discovery["unmatched_theirs"] == [
        {
            "external_inventory_item_id": shop.resolve_item("SHOP-ONLY").gid,
            "sku": "SHOP-ONLY",
            "barcode": "123456",
        }
    ]
    matched = {loc["name"]: loc["matched"] for loc in discovery["locations"]}
    assert matched == {"Oxford": "STORE-A", "WH": "WH-1", "Shoreditch": "STORE-B"}

    shop.add_item("TEE-2")
    again = await client.post(f"/v1/storefronts/{answer['id']}/discover", headers=keys.admin)
    assert again.status_code == 200, again.text
    assert again.json()["mapped"] == 2 and again.json()["newly_mapped"] == 1
    listed = await client.get(f"/v1/storefronts/{answer['id']}", headers=keys.admin)
    assert listed.json()["mapped_skus"] == 2 and listed.json()["discovery"] is None
    assert tee.gid not in [
        v["external_inventory_item_id"] for v in again.json()["unmatched_theirs"]
    ]


async def test_discover_is_admin_only_and_says_when_shopify_cannot_answer(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    missing = await client.post(
        "/v1/storefronts/00000000-0000-0000-0000-000000000000/discover", headers=keys.admin
    )
    assert missing.status_code == 404
    created = await client.post(
        "/v1/storefronts", json=storefront_body(emulator), headers=keys.admin
    )
    path = f"/v1/storefronts/{created.json()['id']}/discover"
    assert (await client.post(path, headers=keys.readonly)).status_code == 403
    emulator.state.fail_next(50, 503)
    down = await client.post(path, headers=keys.admin)
    assert down.status_code == 503 and down.json()["error"]["code"]
    emulator.state.clear_faults()
    connected = await client.post(
        "/v1/storefronts", json=storefront_body(emulator, auto_map=True), headers=keys.admin
    )
    assert connected.status_code == 201  # the shop answers again
