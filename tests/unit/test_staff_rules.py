"""The pure rules of staff accounts: what a new account must be, who a signed-in person is, and
when an email is locked out after wrong passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.access.staff_rules import (
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    SignInAttempts,
    check_new_staff,
    staff_principal,
)
from app.platform.access import Permission, Role
from app.platform.errors import BusinessRuleViolation, Forbidden

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GOOD = "twelve chars!"


def test_a_new_account_is_normalised() -> None:
    new = check_new_staff(" Ana@Example.COM ", "Ana", "manager", ["B", "A", "B"], GOOD)
    assert (new.email, new.role, new.locations) == ("ana@example.com", Role.MANAGER, ("A", "B"))


@pytest.mark.parametrize(
    ("email", "role", "locations", "password", "field"),
    [
        ("ana", "associate", ["A"], GOOD, "email"),
        ("ana@example", "associate", ["A"], GOOD, "email"),
        ("a b@example.com", "associate", ["A"], GOOD, "email"),
        ("ana@example.com", "admin", ["A"], GOOD, "role"),
        ("ana@example.com", "pos", ["A"], GOOD, "role"),
        ("ana@example.com", "associate", [], GOOD, "locations"),
        ("ana@example.com", "associate", ["A"], "x" * 11, "password"),
        ("ana@example.com", "associate", ["A"], "x" * 201, "password"),
    ],
)
def test_a_new_account_is_refused(
    email: str, role: str, locations: list[str], password: str, field: str
) -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        check_new_staff(email, "Ana", role, locations, password)
    assert refused.value.details == {"field": field}


def test_a_signed_in_person_acts_named_at_their_stores_only() -> None:
    ana = staff_principal(7, "Ana", "associate", "ana@example.com", ["STORE-A", "STORE-B"])
    assert ana.key_id == "staff:7" and ana.actor == "ana@example.com"
    ana.require(Permission.SELL_AT_COUNTER, at_location="STORE-B")
    with pytest.raises(Forbidden):
        ana.require(Permission.SELL_AT_COUNTER, at_location="STORE-C")
    with pytest.raises(Forbidden):
        ana.require(Permission.MANAGE_STORE, at_location="STORE-A")
    boss = staff_principal(8, "Bo", "manager", "bo@example.com", ["STORE-A"])
    boss.require(Permission.MANAGE_STORE, at_location="STORE-A")


def _failed_times(attempts: SignInAttempts, times: int, now: datetime) -> SignInAttempts:
    for _ in range(times):
        assert attempts.retry_after(now) is None
        attempts = attempts.started(now).failed(now)
    return attempts


def test_the_fifth_wrong_password_locks_the_email_for_fifteen_minutes() -> None:
    attempts = _failed_times(SignInAttempts(), MAX_FAILED_SIGN_INS, NOW)
    assert attempts.retry_after(NOW) == NOW + LOCKOUT
    assert attempts.retry_after(NOW + LOCKOUT - timedelta(seconds=1)) == NOW + LOCKOUT
    later = NOW + LOCKOUT
    assert attempts.retry_after(later) is None
    assert attempts.started(later).failures == 1  # a lockout served wipes the slate


def test_attempts_being_checked_count_as_failures() -> None:
    """Five guesses in flight at once: a sixth is refused before any of them is answered."""
    attempts = SignInAttempts()
    for _ in range(MAX_FAILED_SIGN_INS):
        attempts = attempts.started(NOW)
    assert attempts.locked_until is None
    assert attempts.retry_after(NOW) == NOW + LOCKOUT


def test_old_failures_are_forgotten() -> None:
    attempts = _failed_times(SignInAttempts(), MAX_FAILED_SIGN_INS - 1, NOW)
    much_later = NOW + LOCKOUT
    attempts = attempts.started(much_later).failed(much_later)
    assert attempts.failures == 1 and attempts.retry_after(much_later) is None
