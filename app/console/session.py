"""Who is at the console: a server-side session holding the person's staff session token
(`oss_`, from `staff.sign_in`), resolved to a `Principal` on every request, so the lockout,
the 12-hour shift, sign-out and deactivation are the staff sessions' own. Cookies are
HttpOnly, SameSite=Lax, and Secure unless the console is reached on the loopback."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, ScopeSession, Send

from app.access.staff_rules import SESSION_LIFETIME
from app.platform.access import Principal
from app.platform.replica import identify_caller

STORE_NAME = "console_sessions"
SESSION_COOKIE = "omnistock_console"
CSRF_COOKIE = "omnistock_csrf"
PATH = "/console"
TOKEN = "token"  # the staff session token, in the server-side session only
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
FRESH_ID = "omnistock_console_fresh_session_id"


class SignInNeeded(Exception):
    """No live staff session behind this request: the page asks the person to sign in."""

    def __init__(self, ended: bool) -> None:
        super().__init__("sign in")
        self.ended = ended  # there was one, and it has ended (expired, signed out elsewhere)


class _FreshIdBackend(ServerSideSessionBackend):
    """A sign-in starts a new session id, so an id planted before it cannot ride it; and a
    session with nothing in it is neither stored nor given a cookie (a visitor who has not
    signed in costs no memory)."""

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if scope_session is not Empty and not scope_session:
            if self.config.key not in connection.cookies:
                return
            scope_session = Empty
        await super().store_in_message(scope_session, message, connection)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get("state", {}).get(FRESH_ID) is None:
            return super().get_session_id(connection)
        fresh: str = connection.scope["state"][FRESH_ID]
        return fresh


class ConsoleSessionConfig(ServerSideSessionConfig):
    _backend_class = _FreshIdBackend


def session_config() -> ConsoleSessionConfig:
    return ConsoleSessionConfig(
        key=SESSION_COOKIE,
        store=STORE_NAME,
        path=PATH,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=False,  # made Secure per request by `SecureCookies`, except on the loopback
    )


def session_store(redis_url: str | None) -> Store:
    """Redis when configured (every API replica sees every session), else this process's
    memory."""
    if redis_url is None:
        return MemoryStore()
    from litestar.stores.redis import RedisStore

    return RedisStore.with_client(url=redis_url, namespace="omnistock_console")


def csrf_config(secret_key: str | None) -> CSRFConfig:
    """Double-submit tokens, signed with a key derived from the deployment's secret (the
    development key when none is set, as for storefront secrets)."""
    base = secret_key or "omnistock-development-secret"
    secret = hashlib.sha256(b"console-csrf\x00" + base.encode()).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=PATH,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrftoken",
    )


def start_fresh_session(request: Request[Any, Any, Any], token: str) -> None:
    """Keep the staff session token under a new session id."""
    request.scope.setdefault("state", {})[FRESH_ID] = secrets.token_hex(32)
    request.set_session({TOKEN: token})


def cookie_session(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the console keeps for this browser (empty when nothing is), to read and change.
    (Not `request.session`: `.session` names the database's in this code base.)"""
    kept = request.scope.get("session")
    if not isinstance(kept, dict):
        kept = {}
        request.set_session(kept)
    return kept


async def signed_in(request: Request[Any, Any, Any]) -> Principal:
    """The person behind this request's session, checked against the staff sessions now
    (not from the one-second cache: a console request is a person's click, and an ended
    session must end the console at once)."""
    token = cookie_session(request).get(TOKEN)
    if not isinstance(token, str):
        raise SignInNeeded(ended=False)
    authenticator = request.app.state.authenticator
    authenticator.forget(token)
    principal = await authenticator.authenticate(token)
    if not isinstance(principal, Principal) or principal.email is None:
        request.clear_session()
        raise SignInNeeded(ended=True)
    identify_caller(principal.key_id)
    return principal


def staff_token(request: Request[Any, Any, Any]) -> str | None:
    token = cookie_session(request).get(TOKEN)
    return token if isinstance(token, str) else None


class SecureCookies:
    """Marks the console's cookies `Secure` unless the request came to the loopback (a
    browser on the same machine, over plain HTTP in development and tests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or _on_loopback(scope):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookies = headers.getall("set-cookie", [])
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        secure = "; secure" in cookie.lower()
                        headers.add("set-cookie", cookie if secure else f"{cookie}; Secure")
            await send(message)

        await self.app(scope, receive, send_secure)


def _on_loopback(scope: Scope) -> bool:
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOOPBACK_HOSTS
