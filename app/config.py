"""Settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_PATH = Path.cwd() / "omnistock.db"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite://...) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}")
    redis_url: str | None = None
    database_pool_size: int = 20
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    order_payment_timeout_seconds: int = 900
    pickup_hold_hours: int = 168
    idempotency_ttl_hours: int = 24
    log_level: str = "INFO"
    in_process_workers: bool = True  # only without Redis: run actors inside the API

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        database_url = env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
        return cls(
            database_url=normalise_database_url(database_url),
            redis_url=env.get("REDIS_URL") or None,
            database_pool_size=_int("DATABASE_POOL_SIZE", 20),
            stripe_api_key=env.get("STRIPE_API_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            order_payment_timeout_seconds=_int("ORDER_PAYMENT_TIMEOUT_SECONDS", 900),
            pickup_hold_hours=_int("PICKUP_HOLD_HOURS", 168),
            idempotency_ttl_hours=_int("IDEMPOTENCY_TTL_HOURS", 24),
            log_level=env.get("LOG_LEVEL", "INFO"),
            in_process_workers=env.get("IN_PROCESS_WORKERS", "1") not in ("0", "false"),
        )
