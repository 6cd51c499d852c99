"""Signing in and out of the console, with the staff accounts' own use cases: the same
lockout after failed sign-ins, the same sessions as `POST /v1/sessions`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRFMiddleware
from litestar.params import FromQuery
from litestar.response import Redirect, Response, Template
from litestar.types import Receive, Scope, Send

from app.access import staff
from app.access.staff import SignInLocked, SignInRefused
from app.console.pages import page
from app.console.session import SignInNeeded, signed_in, staff_token, start_fresh_session
from app.platform.http.deps import ContextDep

SIGN_IN = "/console/sign-in"


class SignInController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return Redirect(path="/console/pickups")

    @get("/sign-in")
    async def sign_in_form(
        self, request: Request[Any, Any, Any], ended: FromQuery[bool] = False
    ) -> Template:
        return page(
            request,
            "sign_in.html",
            None,
            message="Your session has ended. Please sign in again." if ended else None,
        )

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any], ctx: ContextDep) -> Response[Any]:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        try:
            signed = await staff.sign_in(ctx, email, password)
        except SignInLocked:
            return page(
                request,
                "sign_in.html",
                None,
                status=429,
                email=email,
                error="Too many wrong passwords for this email. Wait 15 minutes, "
                "or ask a manager to check your account.",
            )
        except SignInRefused:
            return page(
                request,
                "sign_in.html",
                None,
                status=401,
                email=email,
                error="That email and password do not match an account.",
            )
        start_fresh_session(request, signed.token)
        return Redirect(path="/console/pickups", status_code=303)

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], ctx: ContextDep) -> Redirect:
        token = staff_token(request)
        try:
            principal = await signed_in(request)
        except SignInNeeded:
            principal = None
        if principal is not None and token is not None:
            await staff.sign_out(ctx, principal, token)
            request.app.state.authenticator.forget(token)
        request.clear_session()
        return Redirect(path=SIGN_IN, status_code=303)


def to_sign_in(request: Request[Any, Any, Any], exc: SignInNeeded) -> Response[Any]:
    """Pages need a signed-in person; htmx requests are sent to the sign-in page whole."""
    target = f"{SIGN_IN}?ended=true" if exc.ended else SIGN_IN
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


class ConsoleCSRF(CSRFMiddleware):
    """Litestar's CSRF check, answering a refused form with a page in plain words (the API's
    JSON error handlers are outside the console)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except PermissionDeniedException:  # from the check: the handler's are handled inside
            await _refused_form(scope, receive, send)


async def _refused_form(scope: Scope, receive: Receive, send: Send) -> None:
    """A form without a valid CSRF token (sent from another site, or from a page kept open
    past its cookie): nothing was done."""
    app = scope["litestar_app"]
    engine = app.template_engine
    assert engine is not None  # the console's templates (app/main.py)
    html = engine.get_template("refused.html").render(
        me=None,
        message="This form could not be accepted: it was not sent from this console's own "
        "page, or the page is too old. Nothing was changed. Go back, reload the page and try "
        "again.",
    )
    response = Response(content=html, status_code=403, media_type=MediaType.HTML)
    request: Request[Any, Any, Any] = app.request_class(scope, receive)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
