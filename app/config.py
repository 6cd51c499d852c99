"""Settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_PATH = Path.cwd() / "omnistock.db"


LOOPBACK = ("http://127.0.0.1:", "http://localhost:")

PAYMENT_MODES = ("stripe", "at_counter", "none")

READ_YOUR_WRITES = ("caller", "process")


def _prefixes(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


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
    warehouses_first: bool = True  # ship orders: warehouses before stores
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "Omnistock <no-reply@localhost>"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    secret_key: str | None = None  # OMNISTOCK_SECRET_KEY: encrypts storefront credentials
    environment: str = "development"  # OMNISTOCK_ENV; production when the database is PostgreSQL
    shopify_api_version: str = "2026-10"
    shopify_timeout_seconds: float = 10.0
    storefront_flush_seconds: float = 1.0
    shopify_order_sweep_seconds: float = 600.0  # SHOPIFY_ORDER_SWEEP_SECONDS
    public_base_url: str | None = None  # PUBLIC_BASE_URL: how Shopify reaches our webhooks
    max_body_bytes: int = 1_048_576  # MAX_BODY_BYTES: larger request bodies are 413
    max_webhook_body_bytes: int = 5_242_880  # MAX_WEBHOOK_BODY_BYTES: the same for /webhooks/*
    metrics_token: str | None = None  # METRICS_TOKEN: when set, /metrics wants it as a bearer
    shopify_api_base_urls: tuple[str, ...] = ()  # SHOPIFY_API_BASE_URLS: allowed api_base_url
    payments: str | None = None  # PAYMENTS: at_counter | none; Stripe when STRIPE_API_KEY is set
    max_order_units: int = 10_000  # MAX_ORDER_UNITS: units in one order
    max_open_unpaid_orders: int = 3  # MAX_OPEN_UNPAID_ORDERS: per customer email, web and app
    event_retention_days: int = 30  # EVENT_RETENTION_DAYS: the event log keeps at least this
    webhook_allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE=1: loopback/private targets
    webhook_timeout_seconds: float = 10.0  # WEBHOOK_TIMEOUT_SECONDS: one delivery attempt
    webhook_retry_hours: float = 24.0  # WEBHOOK_RETRY_HOURS: then the endpoint is disabled
    webhook_retry_base_seconds: float = 5.0  # WEBHOOK_RETRY_BASE_SECONDS: first backoff ceiling
    webhook_retry_max_seconds: float = 3600.0  # WEBHOOK_RETRY_MAX_SECONDS: backoff ceiling
    webhook_deliver_seconds: float = 1.0  # WEBHOOK_DELIVER_SECONDS: the delivery job's interval
    stream_heartbeat_seconds: float = 15.0  # STREAM_HEARTBEAT_SECONDS: comment lines
    stream_max_per_key: int = 10  # STREAM_MAX_PER_KEY: open streams per key (or person)
    stream_buffer_events: int = 1000  # STREAM_BUFFER_EVENTS: a client further behind is dropped
    stream_poll_seconds: float = 1.0  # STREAM_POLL_SECONDS: the log is read this often anyway
    cart_hold_minutes: int = 30  # CART_HOLD_MINUTES: how long a cart holds its units
    max_held_units: int = 20  # MAX_HELD_UNITS: units one customer may hold in carts
    movement_archive_months: int = 24  # MOVEMENT_ARCHIVE_MONTHS: months of movements kept
    ledger_archive: str = "schema"  # LEDGER_ARCHIVE: schema | file (gzip CSV in ARCHIVE_DIR)
    archive_dir: str | None = None  # ARCHIVE_DIR: where LEDGER_ARCHIVE=file writes
    database_read_url: str | None = None  # DATABASE_READ_URL: a streaming replica for reads
    read_max_lag_seconds: float = 1.0  # READ_MAX_LAG_SECONDS: staler than this, read the primary
    read_catch_up_seconds: float = 0.0  # READ_CATCH_UP_SECONDS: wait this long for own writes
    read_your_writes: str = "caller"  # READ_YOUR_WRITES: caller | process

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def payment_mode(self) -> str:
        """`stripe` when a key is set; otherwise what PAYMENTS says, `none` when unset."""
        return "stripe" if self.stripe_api_key else (self.payments or "none")

    def check_for_production(self) -> None:
        """Refuse to run without what the deployment needs, or with settings that make no
        sense: fail loudly at start, not on the first storefront token encrypted with the
        published development key. (No payment provider is a legal choice: web and app orders
        are then refused, and `build_context`'s caller logs it.)"""
        if self.payments not in (None, *PAYMENT_MODES):
            raise SystemExit(f"PAYMENTS={self.payments!r} is not one of {', '.join(PAYMENT_MODES)}")
        if self.payments == "stripe" and not self.stripe_api_key:
            raise SystemExit("PAYMENTS=stripe needs STRIPE_API_KEY")
        if self.ledger_archive not in ("schema", "file"):
            raise SystemExit(f"LEDGER_ARCHIVE={self.ledger_archive!r} is not one of schema, file")
        if self.ledger_archive == "file" and not (
            self.archive_dir and Path(self.archive_dir).is_dir()
        ):
            raise SystemExit("LEDGER_ARCHIVE=file needs ARCHIVE_DIR, an existing directory")
        if self.movement_archive_months < 1:
            raise SystemExit("MOVEMENT_ARCHIVE_MONTHS must be at least 1")
        self._check_read_replica()
        if self.environment != "production":
            return
        if not self.secret_key:
            raise SystemExit(
                "OMNISTOCK_SECRET_KEY is not set: in production (OMNISTOCK_ENV=production, the "
                "default with PostgreSQL) storefront secrets must be encrypted with a key of "
                "your own. Set it, or OMNISTOCK_ENV=development for a trial."
            )

    def _check_read_replica(self) -> None:
        """A replica only makes sense beside a PostgreSQL primary (whether it is reachable and
        in recovery is checked when the database is built: `ReadReplica.check`)."""
        if self.read_your_writes not in READ_YOUR_WRITES:
            raise SystemExit(
                f"READ_YOUR_WRITES={self.read_your_writes!r} is not one of "
                f"{', '.join(READ_YOUR_WRITES)}"
            )
        if not 0 < self.read_max_lag_seconds <= 60 or self.read_catch_up_seconds < 0:
            raise SystemExit(
                "READ_MAX_LAG_SECONDS must be in (0, 60] and READ_CATCH_UP_SECONDS >= 0"
            )
        if self.database_read_url is None:
            return
        if self.is_sqlite:
            raise SystemExit(
                "DATABASE_READ_URL is set but DATABASE_URL is SQLite: a read replica needs a "
                "PostgreSQL primary. Unset DATABASE_READ_URL."
            )
        if not self.database_read_url.startswith("postgresql"):
            raise SystemExit("DATABASE_READ_URL must be a postgresql:// URL of a streaming replica")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        database_url = env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
        environment = env.get("OMNISTOCK_ENV") or (
            "development" if database_url.startswith("sqlite") else "production"
        )
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
            warehouses_first=env.get("SOURCING_WAREHOUSES_FIRST", "1") not in ("0", "false"),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int("SMTP_PORT", 25),
            smtp_from=env.get("SMTP_FROM", "Omnistock <no-reply@localhost>"),
            smtp_user=env.get("SMTP_USER") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_starttls=env.get("SMTP_STARTTLS", "0") in ("1", "true"),
            secret_key=env.get("OMNISTOCK_SECRET_KEY") or None,
            environment=environment,
            shopify_api_version=env.get("SHOPIFY_API_VERSION") or "2026-10",
            shopify_timeout_seconds=float(env.get("SHOPIFY_TIMEOUT_SECONDS") or 10.0),
            storefront_flush_seconds=float(env.get("STOREFRONT_FLUSH_SECONDS") or 1.0),
            shopify_order_sweep_seconds=float(env.get("SHOPIFY_ORDER_SWEEP_SECONDS") or 600.0),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            max_body_bytes=_int("MAX_BODY_BYTES", 1_048_576),
            max_webhook_body_bytes=_int("MAX_WEBHOOK_BODY_BYTES", 5_242_880),
            metrics_token=env.get("METRICS_TOKEN") or None,
            payments=(env.get("PAYMENTS") or "").strip().lower() or None,
            max_order_units=_int("MAX_ORDER_UNITS", 10_000),
            max_open_unpaid_orders=_int("MAX_OPEN_UNPAID_ORDERS", 3),
            event_retention_days=_int("EVENT_RETENTION_DAYS", 30),
            webhook_allow_private=env.get("WEBHOOK_ALLOW_PRIVATE", "0") in ("1", "true"),
            webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT_SECONDS") or 10.0),
            webhook_retry_hours=float(env.get("WEBHOOK_RETRY_HOURS") or 24.0),
            webhook_retry_base_seconds=float(env.get("WEBHOOK_RETRY_BASE_SECONDS") or 5.0),
            webhook_retry_max_seconds=float(env.get("WEBHOOK_RETRY_MAX_SECONDS") or 3600.0),
            webhook_deliver_seconds=float(env.get("WEBHOOK_DELIVER_SECONDS") or 1.0),
            stream_heartbeat_seconds=float(env.get("STREAM_HEARTBEAT_SECONDS") or 15.0),
            stream_max_per_key=_int("STREAM_MAX_PER_KEY", 10),
            stream_buffer_events=_int("STREAM_BUFFER_EVENTS", 1000),
            stream_poll_seconds=float(env.get("STREAM_POLL_SECONDS") or 1.0),
            cart_hold_minutes=_int("CART_HOLD_MINUTES", 30),
            max_held_units=_int("MAX_HELD_UNITS", 20),
            movement_archive_months=_int("MOVEMENT_ARCHIVE_MONTHS", 24),
            ledger_archive=(env.get("LEDGER_ARCHIVE") or "schema").strip().lower(),
            archive_dir=env.get("ARCHIVE_DIR") or None,
            database_read_url=(
                normalise_database_url(env["DATABASE_READ_URL"])
                if env.get("DATABASE_READ_URL")
                else None
            ),
            read_max_lag_seconds=float(env.get("READ_MAX_LAG_SECONDS") or 1.0),
            read_catch_up_seconds=float(env.get("READ_CATCH_UP_SECONDS") or 0.0),
            read_your_writes=(env.get("READ_YOUR_WRITES") or "caller").strip().lower(),
            shopify_api_base_urls=_prefixes(
                env.get("SHOPIFY_API_BASE_URLS"),
                # a trial may point a storefront at the local emulator; production at nothing
                default=LOOPBACK if environment == "development" else (),
            ),
        )
