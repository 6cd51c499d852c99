"""The pure rules of outgoing webhooks: the SSRF guard's address classes, which URLs may be
endpoints, which events an endpoint wants, the signature (checked against the
`standardwebhooks` package, an independent implementation), and backoff with full jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from standardwebhooks import Webhook

from app.events.model import EVENT_TYPES
from app.events.webhook_rules import (
    address_refusal,
    after_failure,
    new_secret,
    retry_delay,
    signature,
    target_of,
    wants,
)
from app.events.webhook_schemas import EventType

REFUSED = [
    "127.0.0.1",
    "127.8.9.1",
    "::1",
    "10.0.0.7",
    "172.16.4.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "fc00::5",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "100.64.0.1",  # carrier-grade NAT
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.1.2.3",
]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "https:///nohost",
        "https://example.com:99999/",
        "https://example.com/#frag",
        "gopher://example.com",
    ],
)
def test_only_plain_http_and_https_urls_are_endpoints(url: str) -> None:
    with pytest.raises(ValueError):
        target_of(url)


def test_a_target_keeps_the_host_for_the_host_header() -> None:
    assert target_of("https://Hooks.Example.com/in?x=1").host_header == "hooks.example.com"
    target = target_of("http://[2001:db8::1]:8080/a")
    assert (target.host, target.port, target.path) == ("2001:db8::1", 8080, "/a")
    assert target.host_header == "[2001:db8::1]:8080"


def test_an_endpoint_wants_its_types_at_its_locations() -> None:
    types = {"stock.changed", "transfer.shipped"}
    assert wants(types, None, type="stock.changed", location="A", other_location=None)
    assert not wants(types, None, type="order.created", location="A", other_location=None)
    assert wants(types, ["B"], type="transfer.shipped", location="A", other_location="B")
    assert not wants(types, ["C"], type="stock.changed", location="A", other_location=None)


def test_the_signature_is_what_standard_webhooks_verifies() -> None:
    secret = new_secret(bytes(range(32)))
    assert secret.startswith("whsec_")
    body = b'{"seq":1,"id":"e1","type":"stock.changed","data":{}}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, "msg_1", timestamp, body),
    }
    assert Webhook(secret).verify(body, headers) == {
        "seq": 1,
        "id": "e1",
        "type": "stock.changed",
        "data": {},
    }
    headers["webhook-id"] = "msg_2"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(body, headers)


def test_backoff_grows_exponentially_to_its_cap_with_full_jitter() -> None:
    ceilings = [retry_delay(n, base=5, cap=3600, draw=lambda: 0.999999) for n in range(1, 14)]
    assert ceilings[:4] == pytest.approx([5, 10, 20, 40], rel=1e-5)
    assert max(ceilings) == pytest.approx(3600, rel=1e-5)
    assert retry_delay(3, base=5, cap=3600, draw=lambda: 0.0) == 0.0
    assert retry_delay(3, base=5, cap=3600, draw=lambda: 0.5) == 10.0
    assert retry_delay(10_000, base=5, cap=60, draw=lambda: 0.5) == 30.0


def test_a_failing_event_is_retried_within_the_window_then_the_endpoint_is_disabled() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    window = timedelta(hours=24)
    plan = after_failure(
        now=first, failing_since=None, attempt=1, window=window, base=5, cap=3600, draw=lambda: 1
    )
    assert (plan.failing_since, plan.disable) == (first, False)
    assert plan.next_attempt_at == first + timedelta(seconds=5)
    late = after_failure(
        now=first + timedelta(hours=23, minutes=59),
        failing_since=first,
        attempt=30,
        window=window,
        base=5,
        cap=3600,
        draw=lambda: 1,
    )
    assert late.next_attempt_at == first + window  # the last try at the window's end
    over = after_failure(
        now=first + window,
        failing_since=first,
        attempt=31,
        window=window,
        base=5,
        cap=3600,
        draw=lambda: 1,
    )
    assert over.disable and over.next_attempt_at is None


def test_an_endpoint_may_ask_for_every_event_type_and_no_other() -> None:
    assert set(get_args(EventType)) == EVENT_TYPES
