"""With PUBLIC_BASE_URL set, connecting subscribes the shop's webhooks to this service
(webhookSubscriptionCreate), they arrive signed, and deleting the storefront removes them."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.config import Settings
from app.orders.tables import Order
from app.platform.database import Database
from app.storefronts import setup, subscriptions
from app.storefronts.setup import NewStorefront
from shopify_emulator import RunningEmulator
from tests.conftest import Keys
from tests.e2e.test_storefront_api import storefront_body
from tests.support.context import context_for
from tests.support.shopify import ADMIN, RunningApp, wait_for
from tests.support.shopify import test_sync_config as sync_config

Client = AsyncTestClient[Litestar]


async def test_connecting_subscribes_the_shop_and_deleting_unsubscribes_it(
    settings: Settings, db: Database, emulator: RunningEmulator, keys: Keys
) -> None:
    del keys  # its fixture seeds our locations and SKUs
    remote = emulator.shop
    remote.add_item("TEE-1")
    store = remote.add_location("Oxford")
    with RunningApp(settings) as api:
        ctx = context_for(db, sync=sync_config(public_base_url=api.base_url))
        view = await setup.connect_storefront(
            ctx,
            ADMIN,
            NewStorefront(
                name="Subscribed shop",
                shop_domain=remote.domain,
                webhook_secret=remote.webhook_secret,  # Shopify signs with the app's secret
                locations=[("STORE-A", store.gid)],
                access_token=emulator.access_token,
                api_base_url=emulator.base_url,
                auto_map=True,
            ),
        )
        address = f"{api.base_url}/webhooks/shopify/{view.id}"
        held = {s.topic: s.address for s in remote.subscriptions.values()}
        assert held == dict.fromkeys(subscriptions.TOPICS, address)
        await setup.resync_storefront(ctx, ADMIN, view.id)
        assert remote.quantity("TEE-1", "Oxford") == 0

        remote.create_order("Oxford", [{"sku": "TEE-1", "quantity": 1}])
        assert emulator.state.webhooks.wait_idle(10)

        async def recorded() -> bool:
            async with db.sessionmaker() as session:
                return bool((await session.execute(select(Order.id))).first())

        await wait_for(recorded)

        again = await subscriptions.register_webhooks(ctx, view.id)  # re-runnable
        assert again == [] and len(remote.subscriptions) == len(subscriptions.TOPICS)

        removed = await subscriptions.delete_storefront(ctx, ADMIN, view.id)
    assert removed == len(subscriptions.TOPICS) and remote.subscriptions == {}
    assert await setup.list_storefronts(ctx, ADMIN) == []


async def test_without_public_base_url_nothing_is_subscribed_and_delete_is_over_http(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    created = await client.post(
        "/v1/storefronts", json=storefront_body(emulator), headers=keys.admin
    )
    assert created.status_code == 201 and emulator.shop.subscriptions == {}
    path = f"/v1/storefronts/{created.json()['id']}"
    assert (await client.delete(path, headers=keys.readonly)).status_code == 403
    deleted = await client.delete(path, headers=keys.admin)
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True and deleted.json()["unsubscribed"] == 0
    assert (await client.get(path, headers=keys.admin)).status_code == 404
    assert (await client.delete(path, headers=keys.admin)).status_code == 404
