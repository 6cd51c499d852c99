"""Bearer API-key authentication."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from app.platform.replica import identify_caller

PUBLIC_PATHS = [
    "^/health",
    "^/metrics",
    "^/schema",
    "^/webhooks",
    "^/favicon.ico",
    "^/console(/|$)",
]


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException(
                "missing API key: send Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await connection.app.state.authenticator.authenticate(secret.strip())
        if principal is None:
            raise NotAuthorizedException(
                "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        identify_caller(principal.key_id)
        return AuthenticationResult(user=principal, auth=secret)


def require_metrics_token(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """`/metrics` wants `Authorization: Bearer $METRICS_TOKEN` when that token is set."""
    token: str | None = connection.app.state.settings.metrics_token
    if token is None:
        return
    scheme, _space, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise NotAuthorizedException(
            "/metrics needs the METRICS_TOKEN", headers={"WWW-Authenticate": "Bearer"}
        )
