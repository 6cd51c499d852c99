"""Outgoing webhooks as pure rules: which URLs and addresses may be called, which events an
endpoint wants, how a delivery is signed (Standard Webhooks), and when a failing one is
tried again or given up. No I/O here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points: what to resolve and connect to, and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    """The path and query, as sent in the request line."""

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == default else f"{shown}:{self.port}"


def target_of(url: str) -> Target:
    """The parts of an endpoint's URL; ValueError saying why one cannot be an endpoint."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not carry credentials")
    if parts.fragment:
        raise ValueError("the URL must not have a fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        scheme=parts.scheme,
        host=parts.hostname.lower(),
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


def address_refusal(address: str) -> str | None:
    """Why this IP address may not receive webhooks (SSRF: loopback, private, link-local,
    multicast, reserved, unspecified), or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    )
    for kind, hit in checks:
        if hit:
            return f"{address} is a {kind} address"
    return None


def refusals(addresses: Collection[str]) -> list[str]:
    """Every reason to refuse a host: one of its addresses is enough (DNS may answer
    with any of them)."""
    return [reason for a in addresses if (reason := address_refusal(a)) is not None]


def wants(
    types: Collection[str],
    locations: Collection[str] | None,
    *,
    type: str,
    location: str | None,
    other_location: str | None,
) -> bool:
    """Whether an endpoint asked for this event: its type, and, when the endpoint names
    locations, where it happened (a transfer's source or destination)."""
    if type not in types:
        return False
    return locations is None or bool({location, other_location} & set(locations))


def new_secret(raw: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
    `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def retry_delay(attempt: int, *, base: float, cap: float, draw: Callable[[], float]) -> float:
    """Seconds to wait after the `attempt`-th failure: exponential backoff with full
    jitter, `draw()` (uniform in [0, 1)) times `min(cap, base * 2 ** (attempt - 1))`. Full
    jitter spreads the retries of many endpoints that failed together."""
    ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 60))
    return draw() * ceiling


@dataclass(frozen=True, slots=True)
class AfterFailure:
    """What a failed attempt leads to: the next try, or the endpoint disabled."""

    failing_since: datetime
    next_attempt_at: datetime | None
    disable: bool


def after_failure(
    *,
    now: datetime,
    failing_since: datetime | None,
    attempt: int,
    window: timedelta,
    base: float,
    cap: float,
    draw: Callable[[], float],
) -> AfterFailure:
    """Retry the same event until `window` has passed since its first failure, then give up
    and disable the endpoint (a retry due after the window is not made)."""
    since = failing_since or now
    if now - since >= window:
        return AfterFailure(since, None, disable=True)
    delay = timedelta(seconds=retry_delay(attempt, base=base, cap=cap, draw=draw))
    return AfterFailure(since, min(now + delay, since + window), disable=False)
