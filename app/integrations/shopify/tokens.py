"""Admin API tokens: static, or fetched with client credentials and cached."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import structlog

from app.integrations.shopify.errors import ShopifyRequestRejected, ShopifyUnavailable, read_error
from app.storefronts.ports import ShopifyConnection

log = structlog.get_logger("omnistock.shopify")

TOKEN_REFRESH_MARGIN_SECONDS = 300.0


# ---- tokens ----------------------------------------------------------------------------
_tokens: dict[tuple[str, str], tuple[str, float]] = {}

_tokens_lock = threading.Lock()


class TokenSource:
    """A static Admin API token, or client-credentials tokens fetched and refreshed here."""

    def __init__(
        self, connection: ShopifyConnection, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.connection = connection
        self._monotonic = monotonic
        if not connection.access_token and not (connection.client_id and connection.client_secret):
            raise ValueError("a storefront needs an access token or a client id and secret")

    @property
    def refreshable(self) -> bool:
        return not self.connection.access_token

    @property
    def _cache_key(self) -> tuple[str, str]:
        return (self.connection.base_url, self.connection.client_id or "")

    def token(self) -> str:
        if self.connection.access_token:
            return self.connection.access_token
        with _tokens_lock:
            cached = _tokens.get(self._cache_key)
            if cached is not None and cached[1] > self._monotonic():
                return cached[0]
        token, lifetime = self._fetch()
        refresh_at = self._monotonic() + max(
            lifetime * 0.5, lifetime - TOKEN_REFRESH_MARGIN_SECONDS
        )
        with _tokens_lock:
            _tokens[self._cache_key] = (token, refresh_at)
        return token

    def forget(self) -> None:
        """After a 401: the token was revoked or expired earlier than it said."""
        with _tokens_lock:
            _tokens.pop(self._cache_key, None)

    def _fetch(self) -> tuple[str, float]:
        connection = self.connection
        body = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": connection.client_id or "",
                "client_secret": connection.client_secret or "",
            }
        ).encode()
        request = urllib.request.Request(
            f"{connection.base_url}/admin/oauth/access_token",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=connection.timeout_seconds) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise ShopifyUnavailable(f"token endpoint answered {error.code}") from None
            raise ShopifyRequestRejected(
                f"client credentials refused ({error.code}): {read_error(error)}"
            ) from None
        except (OSError, ValueError) as error:
            raise ShopifyUnavailable(f"token endpoint unreachable: {error}") from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ShopifyRequestRejected("the token endpoint returned no access_token")
        expires_in = answer.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 86_400.0
        log.info("shopify access token fetched", shop=connection.shop_domain, expires_in=lifetime)
        return token, lifetime


def forget_cached_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()
