"""What a cart may do: its states, its code, how a hold follows its lines, expiry, one
extension and the cap on what one customer holds (pure: no database, no HTTP)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from app.platform.errors import BusinessRuleViolation, InvalidTransition

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""No 0/O, 1/I/L: a code is read aloud at a counter and typed by a person."""

CODE_LENGTH = 6


class CartStatus(StrEnum):
    OPEN = "open"
    ORDERED = "ordered"  # became an order (checkout from the app or the web store)
    SOLD = "sold"  # completed at a counter as a sale


def new_code() -> str:
    """A short code the counter can type or scan (31^6, about 900 million)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return code.strip().upper()


def check_open(status: str, code: str) -> None:
    """A cart is completed once: every later attempt, from any channel, is refused."""
    if status != CartStatus.OPEN:
        raise InvalidTransition(
            f"cart {code} is already {status}; it can be completed only once",
            {"code": code, "status": status},
        )


def hold_moves(
    held: Mapping[str, int], wanted: Mapping[str, int]
) -> tuple[dict[str, int], dict[str, int]]:
    """(units to hold, units to release) per SKU to take a hold from `held` to `wanted`."""
    more = {sku: qty - held.get(sku, 0) for sku, qty in wanted.items() if qty > held.get(sku, 0)}
    less = {sku: qty - wanted.get(sku, 0) for sku, qty in held.items() if qty > wanted.get(sku, 0)}
    return more, less


def check_hold_cap(held_elsewhere: int, wanted: int, cap: int) -> None:
    """One customer holds at most `cap` units at a time, across all their carts."""
    if held_elsewhere + wanted > cap:
        raise BusinessRuleViolation(
            f"a customer may hold at most {cap} units at a time; "
            f"{held_elsewhere} are already held in other carts",
            {"max_held_units": cap, "held_elsewhere": held_elsewhere, "requested": wanted},
        )


def hold_is_live(held_until: datetime | None, now: datetime) -> bool:
    return held_until is not None and held_until > now


def extended_until(
    held_until: datetime | None, extended: bool, now: datetime, hold: timedelta
) -> datetime:
    """A live hold may be extended once, by one more hold period from its current end."""
    if held_until is None or held_until <= now:
        raise InvalidTransition("this cart holds nothing to extend", {"held_until": held_until})
    if extended:
        raise InvalidTransition(
            "this cart's hold was already extended once", {"held_until": held_until}
        )
    return held_until + hold
