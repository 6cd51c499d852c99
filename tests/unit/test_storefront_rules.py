"""What a storefront is told it may sell, how pushes are batched and keyed, webhook
signatures, drift, and the client's view of Shopify's rate-limit bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.integrations.shopify.credentials import SecretBox, SecretUnreadable
from app.integrations.shopify.throttle import BucketView, _throttle_wait
from app.inventory.rules import Quantities
from app.storefronts.rules import (
    Drift,
    PendingLevel,
    find_drift,
    idempotency_key,
    plan_pushes,
    quantity_to_publish,
    sync_lag_seconds,
    webhook_delivery_key,
)
from app.storefronts.shopify_formats import shopify_gid, webhook_signature_valid
from shopify_emulator import shopify_hmac

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def level(
    n: int, *, on_hand: int = 10, generation: int = 1, item: str | None = None
) -> PendingLevel:
    return PendingLevel(
        sku_id=n,
        location_id=1,
        generation=generation,
        changed_at=T0,
        sku=f"S{n}",
        location="L1",
        quantities=Quantities(on_hand=on_hand),
        external_item_id=item or f"gid://shopify/InventoryItem/{n}",
        external_location_id="gid://shopify/Location/1",
    )


def test_storefront_sells_available_less_its_buffer_never_below_zero() -> None:
    assert quantity_to_publish(Quantities(on_hand=10, reserved=2, safety_stock=3), 1) == 4
    assert quantity_to_publish(Quantities(on_hand=10, reserved=2, safety_stock=3), 9) == 0
    assert quantity_to_publish(Quantities(on_hand=1, reserved=5), 0) == 0


def test_pushes_go_250_to_a_call() -> None:
    batches = plan_pushes([level(n) for n in range(600)], buffer=2)
    assert [len(b) for b in batches] == [250, 250, 100]
    assert {p.quantity for b in batches for p in b} == {8}


def test_one_shopify_level_is_never_named_twice_in_a_call() -> None:
    twins = [
        level(1, item="gid://shopify/InventoryItem/9"),
        level(2, item="gid://shopify/InventoryItem/9"),
        level(3),
    ]
    batches = plan_pushes(twins, buffer=0)
    assert [[p.level.sku_id for p in b] for b in batches] == [[1, 3], [2]]


def test_idempotency_key_is_stable_for_the_same_content_and_new_for_a_new_change() -> None:
    batch = plan_pushes([level(1), level(2)], 0)[0]
    same = plan_pushes([level(2), level(1)], 0)[0]
    changed = plan_pushes([level(1), level(2, generation=2)], 0)[0]
    other_value = plan_pushes([level(1), level(2, on_hand=3)], 0)[0]
    key = idempotency_key("sf", batch)
    assert key == idempotency_key("sf", same)
    assert (
        len(
            {
                key,
                idempotency_key("sf", changed),
                idempotency_key("sf", other_value),
                idempotency_key("other", batch),
            }
        )
        == 4
    )
    assert len(key) <= 255


def test_shopify_ids_are_normalised_to_gids() -> None:
    assert shopify_gid("123", "Location") == "gid://shopify/Location/123"
    assert shopify_gid(9007199254741993, "Location") == "gid://shopify/Location/9007199254741993"
    assert shopify_gid("gid://shopify/InventoryItem/5", "InventoryItem") is not None
    assert shopify_gid("gid://shopify/InventoryItem/5", "Location") is None
    assert shopify_gid("abc", "Location") is None


def test_webhook_signature_is_base64_hmac_of_the_raw_body() -> None:
    body = b'{"id":820982911946154508}'
    assert webhook_signature_valid("s3cret", body, shopify_hmac("s3cret", body))
    assert not webhook_signature_valid("s3cret", body + b" ", shopify_hmac("s3cret", body))
    assert not webhook_signature_valid("s3cret", body, shopify_hmac("other", body))
    assert not webhook_signature_valid("s3cret", body, None)


def test_webhook_deliveries_are_known_by_event_id_else_webhook_id() -> None:
    assert webhook_delivery_key("ev", "wh") == "ev"
    assert webhook_delivery_key(None, "wh") == "wh"
    assert webhook_delivery_key(" ", None) is None


def test_drift_lists_levels_that_differ() -> None:
    ours = {("A", "L1"): 3, ("B", "L1"): 0, ("C", "L1"): 2}
    theirs = {("A", "L1"): 3, ("B", "L1"): None, ("C", "L1"): 5}
    assert find_drift(ours, theirs) == [Drift("B", "L1", 0, None), Drift("C", "L1", 2, 5)]


def test_lag_is_the_age_of_the_oldest_pending_change() -> None:
    assert sync_lag_seconds(None, T0) == 0
    assert sync_lag_seconds(T0, T0 + timedelta(seconds=2.5)) == 2.5


def test_bucket_view_waits_for_the_points_a_call_needs() -> None:
    bucket = BucketView()
    assert bucket.reserve(100, now=0.0) == 0  # knows nothing yet
    bucket.observe(
        {"maximumAvailable": 2000.0, "currentlyAvailable": 50, "restoreRate": 100.0}, now=10.0
    )
    assert bucket.reserve(40, now=10.0) == 0
    assert bucket.reserve(40, now=10.0) == pytest.approx(0.3)  # 10 left: 30 more at 100/s
    assert bucket.reserve(10, now=10.3) == pytest.approx(0.1)  # the refill went to that call


def test_throttled_answer_implies_its_wait() -> None:
    cost = {
        "requestedQueryCost": 250,
        "throttleStatus": {"currentlyAvailable": 50, "restoreRate": 100.0},
    }
    assert _throttle_wait(cost, 10) == 2.0


def test_secrets_are_sealed_and_keys_can_rotate() -> None:
    old = SecretBox("old-key")
    token = old.seal("shpat_abc")
    assert "shpat_abc" not in token and old.open(token) == "shpat_abc"
    rotated = SecretBox("new-key,old-key")
    assert rotated.open(token) == "shpat_abc"
    assert not rotated.uses_development_key and SecretBox(None).uses_development_key
    try:
        SecretBox("new-key").open(token)
    except SecretUnreadable:
        pass
    else:
        raise AssertionError("a token sealed under another key must not open")
