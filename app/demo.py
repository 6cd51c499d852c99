"""Demo data through the public use cases."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

from app.access.staff import create_staff
from app.inventory import catalogue
from app.inventory.availability import stock_level
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.transfers import create_transfer
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.model import Fulfilment
from app.orders.placing import place_order
from app.platform.access import Principal, Role
from app.platform.context import Context
from app.platform.errors import AlreadyExists

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


# The staff console's demo: people to sign in as, and work waiting at their store's desk --------
DEMO_STORE = "LDN-OXF"
DEMO_STAFF_PASSWORD = "omnistock demo shift"
"""The demo people's password: a demo's, printed by `omnistock demo`, never for real use."""

DEMO_STAFF = [
    ("associate", "ana.associate@example.com", "Ana Silva"),
    ("manager", "max.manager@example.com", "Max Okafor"),
]

DEMO_PICKUPS = [
    ("grace@example.com", "Grace Hopper", "+44 20 7946 0018", [("TEE", 1), ("SOCK", 2)]),
    ("alan@example.com", "Alan Turing", "+44 20 7946 0102", [("HOOD", 1)]),
    ("ada@example.com", "Ada Lovelace", "+44 20 7946 0555", [("CAP", 1), ("CHINO", 1)]),
]


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    role: str
    email: str
    password: str
    store: str


async def seed_demo_staff(ctx: Context) -> list[DemoSignIn]:
    """An associate and a manager of the demo store (once; the same sign-ins every start)."""
    for role, email, name in DEMO_STAFF:
        with contextlib.suppress(AlreadyExists):  # made at an earlier start
            await create_staff(
                ctx,
                None,
                email=email,
                name=name,
                role=role,
                locations=[DEMO_STORE],
                password=DEMO_STAFF_PASSWORD,
            )
    return [
        DemoSignIn(role, email, DEMO_STAFF_PASSWORD, DEMO_STORE) for role, email, _ in DEMO_STAFF
    ]


async def seed_desk_work(ctx: OrderContext) -> int:
    """Pickup orders waiting at the demo store and a transfer on its way there, placed through
    the use cases (web orders paid at the counter). Lines the random opening stock cannot fill
    are left out. Returns how many orders were placed."""
    levels = {}
    placed = 0
    for email, name, phone, wanted in DEMO_PICKUPS:
        lines = []
        for product, quantity in wanted:
            for sku in _skus_of(product):
                if sku not in levels:
                    levels[sku] = (await stock_level(ctx, sku, DEMO_STORE)).available
                if levels[sku] >= quantity:
                    levels[sku] -= quantity
                    lines.append((sku, quantity))
                    break
        if not lines:
            continue
        await place_order(
            ctx,
            DEMO_PRINCIPAL,
            NewOrder(
                email=email,
                name=name,
                phone=phone,
                lines=lines,
                fulfilment=Fulfilment.PICKUP,
                pickup_location=DEMO_STORE,
            ),
        )
        placed += 1
    for sku in _skus_of("PARKA"):
        if (await stock_level(ctx, sku, "WH-PRK")).available >= 6:
            await create_transfer(
                ctx,
                DEMO_PRINCIPAL,
                from_location="WH-PRK",
                to_location=DEMO_STORE,
                lines=[(sku, 6)],
            )
            break
    return placed


def _skus_of(product: str) -> list[str]:
    return [f"{product}-{colour}-{size}" for colour, _ in COLOURS for size in ("M", "L", "S")]
