"""API keys: the table, issuing a key (shown once, stored as a hash), listing and revoking keys,
and authenticating one."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    ForeignKey,
    String,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.access.staff_repository import StaffRepository
from app.access.staff_rules import SESSION_PREFIX, staff_principal
from app.inventory.repository import CatalogueRepository
from app.inventory.tables import Location
from app.platform.access import Permission, Principal, Role, validate_key_binding
from app.platform.context import Context
from app.platform.errors import NotFound
from app.platform.tables import Base, utcnow
from app.platform.uow import Repository


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


def _with_location_code() -> Any:
    """Keys with the code of the location a POS key is bound to."""
    return select(ApiKey, Location.code).outerjoin(Location, Location.id == ApiKey.location_id)


class ApiKeyRepository(Repository):
    async def add_api_key(self, **values: Any) -> ApiKey:
        key = ApiKey(**values)
        self.session.add(key)
        await self.session.flush()
        return key

    async def api_key_by_hash(self, key_hash: str) -> tuple[ApiKey, str | None] | None:
        result = await self.session.execute(
            _with_location_code().where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def all_keys(self) -> list[tuple[ApiKey, str | None]]:
        result = await self.session.execute(
            _with_location_code().order_by(ApiKey.created_at, ApiKey.id)
        )
        return [(key, code) for key, code in result]

    async def key_for_update(self, key_id: uuid.UUID) -> tuple[ApiKey, str | None]:
        result = await self.session.execute(
            _with_location_code().where(ApiKey.id == key_id).with_for_update(of=ApiKey)
        )
        row = result.one_or_none()
        if row is None:
            raise NotFound(f"API key {key_id} not found", {"id": str(key_id)})
        return row[0], row[1]


KEY_PREFIX = "osk_"


def _require_key_manager(principal: Principal | None) -> None:
    """Keys are managed by admin keys; `principal` is None only for the operator's CLI."""
    if principal is not None:
        principal.require(Permission.MANAGE_CATALOGUE)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    principal: Principal
    secret: str  # shown to the caller once, never stored


def hash_key(secret: str) -> str:
    """Keys are 256 random bits, so a fast unsalted hash is safe and keeps lookups O(1)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    ctx: Context,
    principal: Principal | None,
    *,
    name: str,
    role: Role,
    location: str | None = None,
) -> IssuedKey:
    """Issue a key. `principal` is None only for the operator's own CLI."""
    _require_key_manager(principal)
    validate_key_binding(role, location)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    async with ctx.uow() as uow:
        location_id = (
            (await CatalogueRepository.of(uow).location(location)).id if location else None
        )
        key = await ApiKeyRepository.of(uow).add_api_key(
            name=name,
            role=role.value,
            location_id=location_id,
            key_hash=hash_key(secret),
            prefix=secret[: len(KEY_PREFIX) + 6],
        )
        issued = IssuedKey(Principal(str(key.id), name, role, location), secret)
        await uow.commit()
    return issued


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key as listed: never its secret."""

    id: str
    name: str
    role: str
    location: str | None
    created_at: datetime
    revoked_at: datetime | None


def _view(key: ApiKey, location: str | None) -> KeyView:
    return KeyView(str(key.id), key.name, key.role, location, key.created_at, key.revoked_at)


async def list_api_keys(ctx: Context, principal: Principal | None) -> list[KeyView]:
    """Every key, revoked ones included. `principal` is None only for the operator's CLI."""
    _require_key_manager(principal)
    async with ctx.uow(readonly=True) as uow:
        return [_view(key, code) for key, code in await ApiKeyRepository.of(uow).all_keys()]


async def revoke_api_key(ctx: Context, principal: Principal | None, key_id: uuid.UUID) -> KeyView:
    """Revoke a key (again: a no-op). Every API process refuses it within `CACHE_SECONDS`."""
    _require_key_manager(principal)
    async with ctx.uow() as uow:
        key, code = await ApiKeyRepository.of(uow).key_for_update(key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
        view = _view(key, code)
        await uow.commit()
    return view


CACHE_SECONDS = 1.0
"""How long an API process trusts its last answer for a key or a staff session: a revocation or
a deactivation is honoured by every replica within this time, at the cost of one indexed read
per key per process per second."""

SEEN_EVERY = timedelta(minutes=5)
"""How stale a session's `last_seen_at` may get before a request refreshes it (one write per
session per five minutes, not one per request)."""


class KeyAuthenticator:
    """Resolves bearer API keys and staff session tokens to principals, remembering answers
    briefly to spare the database."""

    def __init__(self, ctx: Context, ttl_seconds: float = CACHE_SECONDS, max_entries: int = 10_000):
        self._ctx = ctx
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        digest = hash_key(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        if secret.startswith(SESSION_PREFIX):
            principal = await self._signed_in(digest)
        else:
            async with self._ctx.uow(readonly=True) as uow:
                found = await ApiKeyRepository.of(uow).api_key_by_hash(digest)
            principal = None
            if found is not None:
                key, location_code = found
                principal = Principal(str(key.id), key.name, Role(key.role), location_code)
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal

    def forget(self, secret: str) -> None:
        """Drop this process's answer for a secret (a session just ended here)."""
        self._cache.pop(hash_key(secret), None)

    async def _signed_in(self, digest: str) -> Principal | None:
        """The person behind a live session: not revoked, not expired, not deactivated."""
        now = utcnow()
        async with self._ctx.uow(readonly=True) as uow:
            found = await StaffRepository.of(uow).live_session(digest, now)
        if found is None:
            return None
        staff, session, codes = found
        if now - session.last_seen_at > SEEN_EVERY:
            async with self._ctx.uow() as uow:
                await StaffRepository.of(uow).mark_seen(session.id, now)
                await uow.commit()
        return staff_principal(staff.id, staff.name, staff.role, staff.email, codes)
