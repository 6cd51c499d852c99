"""Discovery against the Shopify emulator and the real database: a shop of 5,000 variants
over 3 locations connected in one call, matched by SKU then barcode, the rest reported."""

from __future__ import annotations

import pytest

from app.inventory import catalogue
from app.inventory.catalogue import NewLocation, SkuData
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.platform.errors import Forbidden
from app.storefronts import discover, setup
from app.storefronts.ports import ShopifyUnreachable
from app.storefronts.setup import NewStorefront
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import ADMIN, WEBHOOK_SECRET, connect_shop
from tests.support.shopify import test_sync_config as sync_config

LOCATIONS = ("LDN-OXF", "LDN-COV", "WH-PRK")


async def our_catalogue(db: Database, skus: list[SkuData]) -> None:
    for code in LOCATIONS:
        await catalogue.create_location(
            context_for(db),
            ADMIN,
            NewLocation(code, f"Shop {code}", "store", 51.5, -0.12, True, True, 0),
        )
    for start in range(0, len(skus), 1000):
        await catalogue.upsert_skus(context_for(db), ADMIN, skus[start : start + 1000])


def sku(code: str, barcode: str | None = None) -> SkuData:
    return SkuData(sku=code, name=code, price_minor=500, currency="GBP", barcode=barcode)


def new_storefront(emulator: RunningEmulator, locations: list[tuple[str, str]]) -> NewStorefront:
    return NewStorefront(
        name="Discovered shop",
        shop_domain=emulator.shop.domain,
        webhook_secret=WEBHOOK_SECRET,
        locations=locations,
        access_token=emulator.access_token,
        api_base_url=emulator.base_url,
        auto_map=True,
    )


async def test_a_shop_of_5000_variants_over_3_locations_connects_in_one_call(
    db: Database, emulator: RunningEmulator
) -> None:
    ours = [sku(f"TEE-{n:04d}", f"0{n:012d}") for n in range(5000)]
    await our_catalogue(db, ours)
    shop = emulator.shop
    # Shopify locations named like ours (by code or by name), the first given explicitly.
    oxford = shop.add_location("LDN-OXF").gid
    shop.add_location("Shop LDN-COV")
    shop.add_location("Park Royal")  # matches nothing of ours
    shop.add_location("WH-PRK")
    for n in range(4990):  # by SKU (whatever the case)
        shop.add_item(f"tee-{n:04d}" if n % 2 else f"TEE-{n:04d}")
    for n in range(4990, 4995):  # their SKU differs, the barcode is the same
        shop.add_item(f"SHOP-{n}", barcode=f"0{n:012d}")
    for n in range(3):  # nothing of ours
        shop.add_item(f"THEIRS-{n}", barcode=f"99{n}")
    shop.add_item(None)  # a variant without a SKU
    shop.configure_bucket(maximum_available=2000, restore_rate=20_000)

    view = await setup.connect_storefront(
        context_for(db, sync=sync_config()),
        ADMIN,
        new_storefront(emulator, [("LDN-OXF", oxford)]),
    )

    report = view.discovery
    assert report is not None
    assert report.mapped == report.newly_mapped == view.mapped_skus == 4995
    assert report.unmatched_ours == [f"TEE-{n:04d}" for n in range(4995, 5000)]
    assert sorted(v.sku or "" for v in report.unmatched_theirs) == [
        "",
        "THEIRS-0",
        "THEIRS-1",
        "THEIRS-2",
    ]
    matched = {m.location.name: m.matched for m in report.locations}
    assert matched == {
        "LDN-OXF": "LDN-OXF",
        "Shop LDN-COV": "LDN-COV",
        "Park Royal": None,
        "WH-PRK": "WH-PRK",
    }
    assert sorted(code for code, _ in view.locations) == sorted(LOCATIONS)
    counters = shop.counters
    assert counters.by_root_field["productVariants"] == 20  # ceil(4,999 / 250) pages
    assert counters.by_root_field["locations"] == 1
    assert counters.throttled == 0
    status = await setup.sync_status(context_for(db), ADMIN, view.id)
    assert status.pending == 4995 * 3  # every mapped level is pushed on the next flush


async def test_discovery_is_rerunnable_and_maps_only_what_is_new(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=4)
    ctx = context_for(db, sync=shop.config)
    first = await discover.discover(ctx, ADMIN, shop.storefront_id)
    assert first.newly_mapped == 0 and first.mapped == 4 and first.unmatched_ours == []
    assert {m.matched for m in first.locations} == {"STORE-A", "WH-1"}

    await catalogue.upsert_skus(ctx, ADMIN, [sku("NEW-1", "4006381333931"), sku("NEW-2")])
    emulator.shop.add_item("OTHER", barcode="4006381333931")
    emulator.shop.add_item("NEW-2")
    emulator.shop.add_item("NEW-2-DUPLICATE", barcode=None)
    again = await discover.discover(ctx, ADMIN, shop.storefront_id)
    assert again.newly_mapped == 2 and again.mapped == 6
    assert [v.sku for v in again.unmatched_theirs] == ["NEW-2-DUPLICATE"]

    third = await discover.discover(ctx, ADMIN, shop.storefront_id)
    assert third.newly_mapped == 0 and third.mapped == 6


async def test_a_sku_two_shop_variants_share_is_not_guessed(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1)
    ctx = context_for(db, sync=shop.config)
    await catalogue.upsert_skus(ctx, ADMIN, [sku("TWIN")])
    emulator.shop.add_item("twin")
    emulator.shop.add_item(" TWIN ", barcode=None)
    report = await discover.discover(ctx, ADMIN, shop.storefront_id)
    assert report.unmatched_ours == ["TWIN"] and len(report.unmatched_theirs) == 2


async def test_a_shop_that_cannot_be_read_leaves_nothing_connected(
    db: Database, emulator: RunningEmulator
) -> None:
    await our_catalogue(db, [sku("TEE-1")])
    oxford = emulator.shop.add_location("LDN-OXF").gid
    emulator.state.fail_next(50, 503)
    ctx = context_for(db, sync=sync_config())
    with pytest.raises(ShopifyUnreachable):
        await setup.connect_storefront(ctx, ADMIN, new_storefront(emulator, [("LDN-OXF", oxford)]))
    assert await setup.list_storefronts(ctx, ADMIN) == []


async def test_only_admin_discovers(db: Database, emulator: RunningEmulator) -> None:
    shop = await connect_shop(db, emulator, sku_count=1)
    readonly = Principal(key_id="ro", name="ro", role=Role.READONLY)
    with pytest.raises(Forbidden):
        await discover.discover(context_for(db, sync=shop.config), readonly, shop.storefront_id)
