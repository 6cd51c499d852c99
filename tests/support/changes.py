"""Ledger changes for tests that drive `Ledger` directly."""

from __future__ import annotations

from app.inventory.ledger import Change
from app.inventory.rules import Delta, Guard, LevelKey, MovementKind


def receipt(key: LevelKey, sku: str, quantity: int, location: str = "STORE-A") -> Change:
    """`quantity` units received at the level `key` (`sku` at `location`), by a test."""
    return Change(
        key=key,
        delta=Delta(on_hand=quantity),
        kind=MovementKind.RECEIPT.value,
        guard=Guard.ON_HAND,
        channel="system",
        actor="test",
        sku=sku,
        location=location,
    )
