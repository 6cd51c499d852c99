"""Demo data through the public use cases."""

from __future__ import annotations

import random

from app.inventory import catalogue
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.platform.access import Principal, Role
from app.platform.context import Context

DEMO_PRINCIPAL = Principal(key_id="demo", name="demo-seed", role=Role.ADMIN)

LOCATIONS = [
    NewLocation("LDN-OXF", "Oxford Street", "store", 51.5152, -0.1419, True, False, 1),
    NewLocation("LDN-COV", "Covent Garden", "store", 51.5117, -0.1240, True, False, 1),
    NewLocation("LDN-SHO", "Shoreditch", "store", 51.5265, -0.0798, True, False, 1),
    NewLocation("LDN-CAM", "Camden", "store", 51.5390, -0.1426, True, False, 1),
    NewLocation("LDN-KEN", "Kensington High Street", "store", 51.5010, -0.1925, True, False, 1),
    NewLocation("LDN-GRW", "Greenwich", "store", 51.4826, -0.0077, False, False, 0),
    NewLocation("WH-PRK", "Park Royal warehouse", "warehouse", 51.5300, -0.2760, False, True, 0),
]

PRODUCTS = [
    ("TEE", "Classic tee", 1800),
    ("HOOD", "Heavy hoodie", 5500),
    ("CHINO", "Slim chino", 4500),
    ("DENIM", "Straight jeans", 6500),
    ("OXF", "Oxford shirt", 4000),
    ("KNIT", "Merino knit", 7000),
    ("PARKA", "Rain parka", 12000),
    ("SOCK", "Wool socks", 900),
    ("CAP", "Cotton cap", 1500),
    ("SHORT", "Swim shorts", 3000),
]

COLOURS = [("BLK", "black"), ("NVY", "navy"), ("GRN", "olive"), ("WHT", "white")]

SIZES = ["XS", "S", "M", "L", "XL"]


def demo_skus() -> list[SkuData]:
    return [
        SkuData(
            sku=f"{code}-{colour}-{size}",
            name=f"{name}, {colour_name}, {size}",
            price_minor=price,
            currency="GBP",
        )
        for code, name, price in PRODUCTS
        for colour, colour_name in COLOURS
        for size in SIZES
    ]


async def seed_demo(ctx: Context, seed: int = 7) -> bool:
    """Create the demo catalogue and receive its opening stock. False if already seeded."""
    existing = await catalogue.list_locations(ctx)
    if existing:
        return False
    for location in LOCATIONS:
        await catalogue.create_location(ctx, DEMO_PRINCIPAL, location)
    skus = demo_skus()
    await catalogue.upsert_skus(ctx, DEMO_PRINCIPAL, skus)
    rng = random.Random(seed)
    async with ctx.uow() as uow:
        items = await CatalogueRepository.of(uow).skus_by_code([s.sku for s in skus])
        changes = []
        for stored in await CatalogueRepository.of(uow).all_locations():
            high = 60 if stored.kind == "warehouse" else 8
            for data in skus:
                quantity = rng.randint(0, high)
                if quantity:
                    changes.append(
                        Change.receive(
                            LevelKey(stored.id, items[data.sku].id),
                            quantity,
                            DEMO_PRINCIPAL,
                            sku=data.sku,
                            location=stored.code,
                            reference="demo:opening-stock",
                        )
                    )
        await Ledger.of(uow).apply(changes)
        await uow.commit()
    return True
