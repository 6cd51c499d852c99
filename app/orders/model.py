"""Order states and their transitions, prices, pickup codes (pure)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.platform.access import Channel
from app.platform.errors import BusinessRuleViolation, DomainError, InvalidTransition


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Fulfilment(StrEnum):
    PICKUP = "pickup"
    SHIP = "ship"


S = OrderStatus

OPEN_STATUSES = frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.READY_FOR_PICKUP})
"""Orders that still hold reserved units."""

TRANSITIONS: dict[str, dict[OrderStatus, frozenset[OrderStatus]]] = {
    "confirm": {S.CONFIRMED: frozenset({S.PENDING_PAYMENT})},
    "ready": {S.READY_FOR_PICKUP: frozenset({S.CONFIRMED})},
    "pickup": {S.PICKED_UP: frozenset({S.READY_FOR_PICKUP})},
    "ship": {S.SHIPPED: frozenset({S.CONFIRMED})},
    "cancel": {S.CANCELLED: frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.READY_FOR_PICKUP})},
    "expire": {S.EXPIRED: frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.READY_FOR_PICKUP})},
}


def next_status(
    action: str, current: OrderStatus | str, fulfilment: Fulfilment | str
) -> OrderStatus:
    """The status `action` leads to from `current`; `InvalidTransition` if it cannot happen."""
    current = OrderStatus(current)
    [(target, allowed)] = TRANSITIONS[action].items()
    if current not in allowed:
        raise InvalidTransition(
            f"cannot {action} an order that is {current}",
            {"status": current.value, "action": action},
        )
    if action in ("ready", "pickup") and fulfilment != Fulfilment.PICKUP:
        raise InvalidTransition(f"cannot {action} a ship order", {"action": action})
    if action == "ship" and fulfilment != Fulfilment.SHIP:
        raise InvalidTransition("a pickup order is handed over, not shipped", {"action": action})
    return target


# Who pays, and how much may wait unpaid ------------------------------------------------------
REMOTE_CHANNELS = frozenset({Channel.WEB, Channel.MOBILE})
"""Channels whose customers are not in front of staff: their orders must be paid through a
provider, or explicitly at the counter (pickup only). A till or an admin takes payment in
person; a Shopify order was paid on Shopify."""

UNPAID_PAYMENT_STATES = ("pending", "awaiting_payment", "not_required")
"""Payment states of an open order nobody has paid for yet (`not_required`: at the counter)."""


class PaymentsNotConfigured(BusinessRuleViolation):
    """No payment provider can take this order's payment (HTTP 422)."""

    code = "payments_not_configured"


class TooManyUnpaidOrders(BusinessRuleViolation):
    """The customer already has as many open unpaid orders as one may (HTTP 422)."""

    code = "too_many_unpaid_orders"


def check_payable(
    channel: Channel, fulfilment: Fulfilment, remote_fulfilments: frozenset[Fulfilment]
) -> None:
    """Payments fail closed: a remote order is taken only if someone can take its payment."""
    if channel not in REMOTE_CHANNELS or fulfilment in remote_fulfilments:
        return
    if remote_fulfilments:
        message = (
            f"{fulfilment.value} orders need a payment provider; orders paid at the counter "
            f"(PAYMENTS=at_counter) can only be {', '.join(sorted(remote_fulfilments))}"
        )
    else:
        message = (
            "no payment provider is configured: set STRIPE_API_KEY, or PAYMENTS=at_counter "
            "to take pickup orders paid at the counter"
        )
    raise PaymentsNotConfigured(
        message,
        {"fulfilment": fulfilment.value, "accepted": sorted(f.value for f in remote_fulfilments)},
    )


def check_unpaid_limit(open_unpaid: int, limit: int) -> None:
    """One email may hold at most `limit` open unpaid orders, so nobody can take a SKU's whole
    stock with orders they never pay for."""
    if open_unpaid >= limit:
        raise TooManyUnpaidOrders(
            f"this customer already has {open_unpaid} open unpaid order(s); pay for, collect "
            f"or cancel one first (at most {limit})",
            {"open_unpaid_orders": open_unpaid, "limit": limit},
        )


def check_order_size(lines: Sequence[tuple[str, int]], max_units: int) -> None:
    units = sum(quantity for _, quantity in lines)
    if units > max_units:
        raise BusinessRuleViolation(
            f"an order may hold at most {max_units} units ({units} asked)",
            {"units": units, "limit": max_units},
        )


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price_minor: int
    currency: str


def order_total(lines: Sequence[PricedLine]) -> tuple[int, str]:
    """Total in minor units and the one currency every line shares."""
    currencies = {line.currency for line in lines}
    if len(currencies) != 1:
        raise BusinessRuleViolation(
            "an order's lines must share one currency", {"currencies": sorted(currencies)}
        )
    for line in lines:
        if line.quantity <= 0:
            raise BusinessRuleViolation(f"{line.sku}: quantity must be positive")
    return sum(line.quantity * line.unit_price_minor for line in lines), currencies.pop()


def merge_lines(lines: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """One line per SKU, in first-seen order (a client may repeat a SKU)."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    return list(merged.items())


# Pickup codes --------------------------------------------------------------------------------
PICKUP_CODE_DIGITS = 6

MAX_CODE_ATTEMPTS = 5

CODE_LOCKOUT = timedelta(minutes=15)


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"


def hash_pickup_code(code: str, salt: bytes | None = None) -> str:
    """Salted, deliberately slow hash: six digits are few enough to brute-force a fast one."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, 100_000)
    return f"pbkdf2${salt.hex()}${digest.hex()}"


def pickup_code_matches(code: str, stored: str | None) -> bool:
    if not stored or not code.isdigit() or len(code) != PICKUP_CODE_DIGITS:
        return False
    _, salt_hex, digest_hex = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt_hex), 100_000)
    return hmac.compare_digest(candidate.hex(), digest_hex)


def code_attempt_allowed(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is None or locked_until <= now


def after_failed_attempt(failed: int, now: datetime) -> tuple[int, datetime | None]:
    """(failed attempts, locked until): every MAX_CODE_ATTEMPTS-th miss locks the order."""
    failed += 1
    return failed, (now + CODE_LOCKOUT if failed % MAX_CODE_ATTEMPTS == 0 else None)


# Expiry ---------------------------------------------------------------------------------------
def is_expired(
    status: OrderStatus | str,
    fulfilment: Fulfilment | str,
    created_at: datetime,
    confirmed_at: datetime | None,
    ready_at: datetime | None,
    now: datetime,
    payment_timeout: timedelta,
    pickup_hold: timedelta,
) -> bool:
    """Unpaid orders expire after the payment timeout; uncollected pickups after the hold,
    counted from when they were ready (or confirmed, if staff never marked them ready)."""
    status = OrderStatus(status)
    if status is S.PENDING_PAYMENT:
        return now - created_at >= payment_timeout
    if fulfilment == Fulfilment.PICKUP and status in (S.CONFIRMED, S.READY_FOR_PICKUP):
        since = ready_at or confirmed_at or created_at
        return now - since >= pickup_hold
    return False


def returnable(ordered: int, already_returned: int, requested: int, sku: str) -> None:
    if requested <= 0:
        raise BusinessRuleViolation(f"{sku}: return quantity must be positive")
    if already_returned + requested > ordered:
        raise BusinessRuleViolation(
            f"{sku}: only {ordered - already_returned} of {ordered} can still be returned",
            {"sku": sku, "ordered": ordered, "returned": already_returned, "requested": requested},
        )


class InvalidPickupCode(DomainError):
    code = "invalid_pickup_code"


class TooManyAttempts(DomainError):
    code = "rate_limited"


# Line-level store work (PRODUCT.md rule 8) ---------------------------------------------------
class RejectReason(StrEnum):
    DAMAGED = "damaged"
    NOT_FOUND = "not_found"
    OTHER = "other"


WORKABLE = {
    Fulfilment.PICKUP: frozenset({S.CONFIRMED, S.READY_FOR_PICKUP}),
    Fulfilment.SHIP: frozenset({S.CONFIRMED}),
}
"""Where staff may mark lines ready or reject units: a paid order not handed over yet."""


@dataclass(frozen=True, slots=True)
class LineState:
    """A line as the store works it: `quantity` is what the order still carries (rejected
    units have left it), `ready` how many of those are picked."""

    sku: str
    quantity: int
    ready: int = 0

    @property
    def remaining(self) -> int:
        """Units still to be picked."""
        return self.quantity - self.ready


@dataclass(frozen=True, slots=True)
class Rejection:
    sku: str
    quantity: int
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class LineWork:
    """What one ready/reject request does to one line."""

    sku: str
    marked_ready: int
    rejected: int
    after: LineState


def check_workable(status: OrderStatus | str, fulfilment: Fulfilment | str) -> None:
    if OrderStatus(status) not in WORKABLE[Fulfilment(fulfilment)]:
        raise InvalidTransition(
            f"cannot mark lines of a {fulfilment} order that is {status}",
            {"status": str(status), "action": "ready"},
        )


def plan_line_work(
    lines: Sequence[LineState],
    ready: Sequence[tuple[str, int]] | None,
    rejected: Sequence[Rejection],
) -> list[LineWork]:
    """The lines after staff mark `ready` units (None: every unit not rejected) and reject
    `rejected` ones. Rejected units leave the line, unready ones first; a request may mark
    ready at most the units not ready yet, and ready plus rejected at most the line's units.
    Every problem is reported at once (422, `details.lines`)."""
    by_sku = {line.sku: line for line in lines}
    asked_ready = dict(merge_lines(ready or []))
    asked_rejected = dict(merge_lines([(r.sku, r.quantity) for r in rejected]))
    problems: list[dict[str, object]] = []
    for sku in dict.fromkeys([*asked_ready, *asked_rejected]):
        line = by_sku.get(sku)
        if line is None:
            problems.append({"sku": sku, "problem": "not_in_order"})
            continue
        n_ready, n_rejected = asked_ready.get(sku, 0), asked_rejected.get(sku, 0)
        if n_ready > line.remaining or n_ready + n_rejected > line.quantity:
            problems.append(
                {
                    "sku": sku,
                    "problem": "too_many_units",
                    "quantity": line.quantity,
                    "ready": line.ready,
                    "asked_ready": n_ready,
                    "asked_rejected": n_rejected,
                }
            )
    if problems:
        raise BusinessRuleViolation("these lines cannot be marked as asked", {"lines": problems})
    work = []
    for line in lines:
        n_rejected = asked_rejected.get(line.sku, 0)
        left = line.quantity - n_rejected
        n_ready = (
            asked_ready.get(line.sku, 0)
            if ready is not None
            else max(0, line.remaining - n_rejected)
        )
        after = LineState(line.sku, left, min(line.ready + n_ready, left))
        if n_ready or n_rejected:
            work.append(LineWork(line.sku, n_ready, n_rejected, after))
    return work


def status_after_line_work(
    status: OrderStatus | str, lines_after: Sequence[LineState]
) -> str | None:
    """`cancel` when no unit is left, `ready` when a confirmed order's units are all picked
    (the code goes out then, once), else None: a part-ready order stays `confirmed`."""
    if all(line.quantity == 0 for line in lines_after):
        return "cancel"
    if OrderStatus(status) is S.CONFIRMED and all(line.remaining == 0 for line in lines_after):
        return "ready"
    return None


def plan_handover(
    lines: Sequence[LineState], handed: Sequence[tuple[str, int]] | None
) -> dict[str, int]:
    """Units handed over per SKU (None: every ready unit). Only ready units can be handed
    over, and at least one must be; the rest leave the order uncollected and uncharged."""
    by_sku = {line.sku: line for line in lines}
    asked = (
        {line.sku: line.ready for line in lines if line.ready}
        if handed is None
        else dict(merge_lines(handed))
    )
    problems: list[dict[str, object]] = []
    for sku, quantity in asked.items():
        line = by_sku.get(sku)
        if line is None:
            problems.append({"sku": sku, "problem": "not_in_order"})
        elif quantity > line.ready:
            problems.append(
                {"sku": sku, "problem": "too_many_units", "ready": line.ready, "asked": quantity}
            )
    if problems:
        raise BusinessRuleViolation("these lines cannot be handed over", {"lines": problems})
    taken = {sku: quantity for sku, quantity in asked.items() if quantity}
    if not taken:
        raise BusinessRuleViolation("a handover takes at least one unit")
    return taken


def write_off_units(rejected: int, on_hand_after_release: int) -> int:
    """Units to write off for a rejection: the rejected ones, except those the level no
    longer counts (a counter sale already took them off `on_hand`)."""
    return max(0, min(rejected, on_hand_after_release))
