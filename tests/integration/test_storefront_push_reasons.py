"""Pushes say why a quantity changed: Shopify's reason for our movement, and a
referenceDocumentUri naming our document (the inventory history in the shop shows both)."""

from __future__ import annotations

from typing import Any

from app.orders import external
from app.platform.database import Database
from app.storefronts.push_reasons import (
    MIXED_REASON,
    Cause,
    batch_uri,
    document_uri,
    group_by_reason,
    reason_for,
)
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import connect_shop


def pushes(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [g for g in emulator.shop.audit_log(source="graphql") if g["mutation"]]


async def test_each_call_carries_the_reason_and_the_document_of_its_movements(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=3, locations=("STORE-A",))
    await shop.converge()  # the mapping's first push: no movement yet, a correction
    first = pushes(emulator)
    assert [g["reason"] for g in first] == ["correction"]

    await shop.receive("SKU-0000", "STORE-A", 5)
    await shop.count("STORE-A", [("SKU-0001", 4), ("SKU-0002", 9)])
    await shop.converge()
    groups = pushes(emulator)[len(first) :]
    by_reason = {g["reason"]: g for g in groups}
    assert set(by_reason) == {"received", "cycle_count_available"}
    assert by_reason["received"]["reference_document_uri"].startswith(
        "gid://omnistock/StockMovement/"
    )
    counted = by_reason["cycle_count_available"]["changes"]
    assert len([c for c in counted if c["name"] == "available"]) == 2

    view = await external.record_external_order(
        context_for(db),
        channel="shopify",
        external_id="gid://shopify/Order/1",
        lines=[("SKU-0002", 2)],
        customer_email="a@example.com",
        location="STORE-A",
    )
    await shop.converge()
    reserved = pushes(emulator)[-1]
    assert reserved["reason"] == "reservation_created"
    assert reserved["reference_document_uri"] == f"gid://omnistock/Order/{view.id}"
    assert shop.theirs("SKU-0002", "STORE-A") == 7


def test_reasons_and_documents_are_named_plainly() -> None:
    order = Cause(movement_id=7, kind="reservation", reference="order:ab-12")
    receipt = Cause(movement_id=8, kind="receipt", reference=None)
    assert reason_for(order) == "reservation_created" and reason_for(None) == "correction"
    assert reason_for(Cause(1, "something_new", None)) == "correction"
    assert document_uri(order) == "gid://omnistock/Order/ab-12"
    assert document_uri(receipt) == "gid://omnistock/StockMovement/8"
    assert document_uri(Cause(9, "count", "count:5")) == "gid://omnistock/CountSession/5"
    assert batch_uri([order, order], "gid://omnistock/StorefrontSync/k") == document_uri(order)
    assert batch_uri([order, receipt], "fallback://k") == "fallback://k"
    assert batch_uri([None], "fallback://k") == "fallback://k"


def test_a_burst_keeps_the_fewest_calls_and_a_small_round_splits_by_reason() -> None:
    small = group_by_reason(["a", "b", "c"], ["received", "damaged", "received"], 250)
    assert small == [("received", ["a", "c"]), ("damaged", ["b"])]
    levels = list(range(600))
    reasons = ["received"] * 300 + ["cycle_count_available"] * 300
    calls = group_by_reason(levels, reasons, 250)
    assert len(calls) == 3  # ceil(600 / 250), not 4
    assert [r for r, _ in calls] == ["received", "cycle_count_available", MIXED_REASON]
    assert sorted(x for _, batch in calls for x in batch) == levels
