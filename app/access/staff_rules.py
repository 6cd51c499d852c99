"""Staff: what a new person's account must be, how long a sign-in lasts, and when an email is
locked out after wrong passwords. Pure: no database, no HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.platform.access import STAFF_ROLES, Principal, Role
from app.platform.errors import BusinessRuleViolation

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
"""Long enough to resist guessing; bounded so that hashing one costs a known amount."""

MAX_EMAIL_LENGTH = 254

EMAIL_PATTERN = re.compile(r"[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+")

SESSION_PREFIX = "oss_"
"""Session tokens start with it (API keys with `osk_`), so the authenticator knows which table
to look in."""

SESSION_LIFETIME = timedelta(hours=12)
"""A shift: a person signs in when it starts; nothing slides the end."""

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
"""After this many wrong passwords for one email, that email may not try for this long."""


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively: one person, one account."""
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class NewStaff:
    email: str
    name: str
    role: Role
    locations: tuple[str, ...]


def check_new_staff(
    email: str, name: str, role: str, locations: Iterable[str], password: str
) -> NewStaff:
    """The account as it will be stored, or `BusinessRuleViolation` naming what is wrong."""
    address = normalise_email(email)
    if len(address) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(address):
        raise BusinessRuleViolation("email is not an email address", {"field": "email"})
    if role not in {r.value for r in STAFF_ROLES}:
        raise BusinessRuleViolation(
            f"role must be one of {', '.join(sorted(STAFF_ROLES))}", {"field": "role"}
        )
    codes = tuple(sorted(set(locations)))
    if not codes:
        raise BusinessRuleViolation(
            "a person works at one location at least", {"field": "locations"}
        )
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BusinessRuleViolation(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            {"field": "password"},
        )
    return NewStaff(address, name.strip() or address, Role(role), codes)


def staff_principal(
    staff_id: int, name: str, role: str, email: str, stores: Iterable[str]
) -> Principal:
    """A signed-in person as the caller: acts at their stores only, and names themself."""
    return Principal(
        key_id=f"staff:{staff_id}",
        name=name,
        role=Role(role),
        stores=frozenset(stores),
        email=email,
    )


@dataclass(frozen=True, slots=True)
class SignInAttempts:
    """Recent sign-in attempts for one email. An attempt counts as failed from the moment it
    starts until it succeeds, so parallel guesses cannot pass the limit together."""

    failures: int = 0
    last_attempt_at: datetime | None = None
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> datetime | None:
        """Until when this email may not try to sign in; None: it may now."""
        if self.locked_until is not None and self.locked_until > now:
            return self.locked_until
        if self._recent(now) and self.failures >= MAX_FAILED_SIGN_INS:
            assert self.last_attempt_at is not None
            return self.last_attempt_at + LOCKOUT  # the last attempts are still being checked
        return None

    def started(self, now: datetime) -> SignInAttempts:
        """One more attempt, counted as failed until it succeeds; stale failures forgotten."""
        failures = self.failures if self._recent(now) else 0
        return SignInAttempts(failures + 1, now, None)

    def failed(self, now: datetime) -> SignInAttempts:
        """The attempt failed: the one that reaches the limit locks the email out."""
        locked = now + LOCKOUT if self.failures >= MAX_FAILED_SIGN_INS else None
        return SignInAttempts(self.failures, self.last_attempt_at, locked)

    def _recent(self, now: datetime) -> bool:
        if self.locked_until is not None and self.locked_until <= now:
            return False  # a lockout served wipes the slate
        return self.last_attempt_at is not None and now - self.last_attempt_at < LOCKOUT
