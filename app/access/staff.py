"""Staff: people with an email and a password who work at some stores. Admins add and
deactivate them; a person signs in for a shift and acts, named, at their own stores only."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.access.keys import hash_key
from app.access.staff_repository import StaffRepository
from app.access.staff_rules import (
    LOCKOUT,
    SESSION_LIFETIME,
    SESSION_PREFIX,
    SignInAttempts,
    check_new_staff,
    normalise_email,
)
from app.access.staff_tables import SignInAttempt, Staff
from app.platform.access import Principal, Role
from app.platform.context import Context
from app.platform.errors import AlreadyExists, DomainError, Forbidden, NotFound
from app.platform.tables import utcnow

PASSWORDS = PasswordHash((Argon2Hasher(),))


class SignInRefused(DomainError):
    """Wrong email or password, or a deactivated person: one answer for all, so a caller
    learns nothing about which emails have accounts."""

    code = "unauthorized"


class SignInLocked(DomainError):
    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class StaffView:
    """A person as listed: never a password or its hash."""

    id: int
    email: str
    name: str
    role: str
    locations: tuple[str, ...]
    created_at: datetime
    deactivated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # shown to the person once, only its hash is kept
    expires_at: datetime
    staff: StaffView


def _view(staff: Staff, locations: list[str]) -> StaffView:
    return StaffView(
        staff.id,
        staff.email,
        staff.name,
        staff.role,
        tuple(locations),
        staff.created_at,
        staff.deactivated_at,
    )


def _require_admin(principal: Principal | None) -> None:
    """Staff are managed by admin keys; `principal` is None only for the operator's CLI."""
    if principal is not None and principal.role is not Role.ADMIN:
        raise Forbidden("only admins manage staff")


async def _hash_password(password: str) -> str:
    """Argon2 takes tens of milliseconds of CPU: off the event loop, outside transactions."""
    return await asyncio.to_thread(PASSWORDS.hash, password)


@cache
def _dummy_hash() -> str:
    """What an unknown email's password is checked against, so it takes as long as a known
    one's."""
    return PASSWORDS.hash(secrets.token_urlsafe(24))


async def _verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Whether it matches, and a new hash when the stored one's parameters are out of date."""
    if password_hash is None:
        await asyncio.to_thread(PASSWORDS.verify, password, _dummy_hash())
        return False, None
    return await asyncio.to_thread(PASSWORDS.verify_and_update, password, password_hash)


async def create_staff(
    ctx: Context,
    principal: Principal | None,
    *,
    email: str,
    name: str,
    role: str,
    locations: list[str],
    password: str,
) -> StaffView:
    """Add a person who works at `locations`; the password is kept as an Argon2 hash."""
    _require_admin(principal)
    new = check_new_staff(email, name, role, locations, password)
    password_hash = await _hash_password(password)
    async with ctx.uow() as uow:
        repository = StaffRepository.of(uow)
        location_ids = await repository.location_ids(new.locations)
        missing = sorted(set(new.locations) - set(location_ids))
        if missing:
            raise NotFound(f"no location {', '.join(missing)}", {"locations": missing})
        if await repository.staff_by_email(new.email) is not None:
            raise AlreadyExists(f"{new.email} has an account already", {"email": new.email})
        staff = await repository.add_staff(
            location_ids.values(),
            email=new.email,
            name=new.name,
            role=new.role.value,
            password_hash=password_hash,
        )
        view = _view(staff, list(new.locations))
        await uow.commit()
    return view


async def list_staff(
    ctx: Context, principal: Principal | None, *, after_id: int = 0, limit: int = 100
) -> list[StaffView]:
    """People in the order they were added, deactivated ones included."""
    _require_admin(principal)
    async with ctx.uow(readonly=True) as uow:
        repository = StaffRepository.of(uow)
        people = await repository.page(after_id, limit)
        codes = await repository.location_codes(p.id for p in people)
        return [_view(p, codes.get(p.id, [])) for p in people]


async def deactivate_staff(ctx: Context, principal: Principal | None, staff_id: int) -> StaffView:
    """The person may no longer sign in, and every session of theirs ends: each API process
    refuses them within `keys.CACHE_SECONDS`. Again: a no-op."""
    _require_admin(principal)
    now = utcnow()
    async with ctx.uow() as uow:
        repository = StaffRepository.of(uow)
        staff = await repository.staff_for_update(staff_id)
        if staff.deactivated_at is None:
            staff.deactivated_at = now
        await repository.revoke_sessions_of(staff_id, now)
        view = _view(staff, (await repository.location_codes([staff_id]))[staff_id])
        await uow.commit()
    return view


def email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _attempts(row: SignInAttempt) -> SignInAttempts:
    return SignInAttempts(row.failures, row.last_attempt_at, row.locked_until)


def _store_attempts(row: SignInAttempt, attempts: SignInAttempts) -> None:
    assert attempts.last_attempt_at is not None
    row.failures = attempts.failures
    row.last_attempt_at = attempts.last_attempt_at
    row.locked_until = attempts.locked_until


async def sign_in(ctx: Context, email: str, password: str) -> SignedIn:
    """A session for a shift. Five wrong passwords for an email lock it out for 15 minutes;
    unknown emails take as long and are answered the same as wrong passwords."""
    address = normalise_email(email)
    digest = email_digest(address)
    now = utcnow()
    async with ctx.uow() as uow:
        repository = StaffRepository.of(uow)
        await repository.forget_stale_attempts(now - LOCKOUT, now)
        row = await repository.attempts_for_update(digest, now)
        retry_after = _attempts(row).retry_after(now)
        if retry_after is not None:
            raise SignInLocked(
                "too many failed sign-ins for this email; try again later",
                {"retry_after": retry_after.isoformat()},
            )
        _store_attempts(row, _attempts(row).started(now))
        staff = await repository.staff_by_email(address)
        known = None if staff is None or staff.deactivated_at else (staff.id, staff.password_hash)
        await uow.commit()

    matches, new_hash = await _verify_password(password, known[1] if known else None)

    now = utcnow()
    async with ctx.uow() as uow:
        repository = StaffRepository.of(uow)
        if not matches or known is None:
            row = await repository.attempts_for_update(digest, now)
            _store_attempts(row, _attempts(row).failed(now))
            await uow.commit()
            raise SignInRefused("wrong email or password")
        await repository.forget_attempts(digest)
        staff = await repository.staff_for_update(known[0])
        if staff.deactivated_at is not None:
            await uow.commit()
            raise SignInRefused("wrong email or password")
        if new_hash is not None and staff.password_hash == known[1]:
            staff.password_hash = new_hash
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        session = await repository.add_session(
            token_hash=hash_key(token),
            staff_id=staff.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
        )
        signed_in = SignedIn(
            token,
            session.expires_at,
            _view(staff, (await repository.location_codes([staff.id]))[staff.id]),
        )
        await uow.commit()
    return signed_in


async def sign_out(ctx: Context, principal: Principal, token: str) -> None:
    """End the session of `token`, the one this request was made with."""
    if principal.email is None or not token.startswith(SESSION_PREFIX):
        raise Forbidden("only a signed-in person has a session to end (API keys are revoked)")
    async with ctx.uow() as uow:
        await StaffRepository.of(uow).revoke_session(hash_key(token), utcnow())
        await uow.commit()
