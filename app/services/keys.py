"""API keys: created once, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from app.db.session import Database, UnitOfWork
from app.domain.access import Permission, Principal, Role, validate_key_binding

KEY_PREFIX = "osk_"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    principal: Principal
    secret: str  # shown to the caller once, never stored


def hash_key(secret: str) -> str:
    """Keys are 256 random bits, so a fast unsalted hash is safe and keeps lookups O(1)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    uow: UnitOfWork,
    principal: Principal | None,
    *,
    name: str,
    role: Role,
    location: str | None = None,
) -> IssuedKey:
    """Issue a key. `principal` is None only for the operator's own CLI."""
    if principal is not None:
        principal.require(Permission.MANAGE_CATALOGUE)
    validate_key_binding(role, location)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    async with uow:
        location_id = (await uow.catalogue.location(location)).id if location else None
        key = await uow.catalogue.add_api_key(
            name=name,
            role=role.value,
            location_id=location_id,
            key_hash=hash_key(secret),
            prefix=secret[: len(KEY_PREFIX) + 6],
        )
        await uow.commit()
        return IssuedKey(Principal(str(key.id), name, role, location), secret)


class KeyAuthenticator:
    """Resolves bearer keys to principals, remembering answers briefly to spare the database."""

    def __init__(self, db: Database, ttl_seconds: float = 10.0, max_entries: int = 10_000):
        self._db = db
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        digest = hash_key(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._db.unit_of_work(readonly=True) as uow:
            found = await uow.catalogue.api_key_by_hash(digest)
        principal = None
        if found is not None:
            key, location_code = found
            principal = Principal(str(key.id), key.name, Role(key.role), location_code)
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal
