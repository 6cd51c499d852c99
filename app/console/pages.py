"""What every console page shares: rendering with the person and their store, errors in plain
words, notices after a redirect, and doing a form's work once however often it is sent."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from app.console.session import cookie_session
from app.platform.access import Principal, Role
from app.platform.errors import DomainError
from app.platform.idempotency import store
from app.platform.idempotency.store import IdempotentRequest, KeyAlreadyUsed

T = TypeVar("T")

NOTICE = "notice"
FORM_TOKEN = "form_token"
_FORM_TOKEN = re.compile(r"[0-9a-f]{32}")

STATUS_OF = {
    "not_found": 404,
    "forbidden": 403,
    "invalid_state": 409,
    "insufficient_stock": 409,
    "conflict": 409,
    "rate_limited": 429,
}


def store_of(principal: Principal) -> str:
    """The store the console works for: the person's first (most work at one)."""
    return sorted(principal.store_codes)[0]


def new_form_token() -> str:
    return uuid.uuid4().hex


def page(
    request: Request[Any, Any, Any],
    template: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> Template:
    """A page (or, for an htmx request that targets one part, `partial` instead)."""
    notice = None
    if principal is not None:
        notice = cookie_session(request).pop(NOTICE, None)
    partial = context.pop("partial", None)
    htmx = getattr(request, "htmx", None)
    name = partial if partial and htmx and htmx.target == context.get("target") else template
    return Template(
        template_name=name,
        status_code=status,
        context={
            "me": principal,
            "store": store_of(principal) if principal else None,
            "is_manager": principal is not None and principal.role is Role.MANAGER,
            "notice": notice,
            "form_token": new_form_token(),
            **context,
        },
    )


def done(request: Request[Any, Any, Any], notice: str, to: str) -> Redirect:
    """After a form's work: say what happened on the next page (POST, redirect, GET)."""
    cookie_session(request)[NOTICE] = notice
    return Redirect(path=to, status_code=303)


def plain_words(exc: DomainError) -> str:
    """A use case's refusal as the person at the desk reads it."""
    message = exc.message.rstrip(".")
    return message[:1].upper() + message[1:] + "."


def status_of(exc: DomainError) -> int:
    return STATUS_OF.get(exc.code, 422)


async def once(
    request: Request[Any, Any, Any],
    principal: Principal,
    form: FormMultiDict,
    work: Callable[[], Awaitable[T]],
) -> T | None:
    """Run a form's work unless this very form was sent before (a double click, a resubmit
    after the back button): the form's token is its Idempotency-Key, claimed by the work's
    first write transaction as the API's keys are. None when it had been done already."""
    token = str(form.get(FORM_TOKEN, ""))
    if not _FORM_TOKEN.fullmatch(token):
        return await work()
    fields = sorted(
        (name, str(value))
        for name, value in form.multi_items()
        if name not in {FORM_TOKEN, "_csrf_token"}
    )
    fingerprint = hashlib.sha256(repr((request.url.path, fields)).encode()).hexdigest()
    claim = IdempotentRequest(
        scope=principal.key_id, key=f"console:{token}", request_hash=fingerprint
    )
    handle = store.begin_request(claim)
    try:
        return await work()
    except KeyAlreadyUsed:
        return None
    finally:
        store.end_request(handle)
