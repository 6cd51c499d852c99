"""Staff over HTTP: admins add, list and deactivate people; a person signs in for a session
token (no API key needed for that one route) and signs out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, post
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from app.access import staff
from app.access.staff import SignInRefused, StaffView
from app.access.staff_rules import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.errors import error_response
from app.platform.http.schemas import (
    CODE_PATTERN,
    CODE_RULE,
    PLAIN_TEXT,
    Code,
    CursorQuery,
    Name,
    RequestExample,
    decode_cursor,
    encode_cursor,
)

Email = Annotated[str, Meta(min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=PLAIN_TEXT)]

NewPassword = Annotated[
    str,
    Meta(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="Never stored in clear: kept as an Argon2 hash",
    ),
]

Password = Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]

CODE_ITEM = {"type": "string", "pattern": CODE_PATTERN, "maxLength": 64, "description": CODE_RULE}


class StaffIn(Struct, forbid_unknown_fields=True):
    email: Email
    name: Name
    role: Literal["associate", "manager"]
    locations: Annotated[list[Code], Meta(min_length=1, max_length=100)]
    password: NewPassword

    example: ClassVar[RequestExample] = {
        "email": "ana.silva@example.com",
        "name": "Ana Silva",
        "role": "associate",
        "locations": ["LDN-OXF"],
        "password": "correct horse battery staple",
    }
    schema_rules: ClassVar[RequestExample] = {
        "allOf": [{"properties": {"locations": {"items": CODE_ITEM}}}]
    }  # Litestar leaves out what a list's items must be


class StaffOut(Struct):
    id: int
    email: str
    name: str
    role: str
    locations: list[str]
    created_at: datetime
    deactivated_at: datetime | None


class StaffPage(Struct):
    items: list[StaffOut]
    next_cursor: str | None


class SignInIn(Struct, forbid_unknown_fields=True):
    email: Email
    password: Password

    example: ClassVar[RequestExample] = {
        "email": "ana.silva@example.com",
        "password": "correct horse battery staple",
    }


class SessionOut(Struct):
    token: str | None
    """Send it as `Authorization: Bearer <token>`; shown in this response only."""
    expires_at: datetime
    staff: StaffOut


def _out(view: StaffView) -> StaffOut:
    return StaffOut(
        view.id,
        view.email,
        view.name,
        view.role,
        list(view.locations),
        view.created_at,
        view.deactivated_at,
    )


class StaffController(Controller):
    path = "/v1/staff"
    tags = ["auth"]

    @post(
        "/",
        summary="Add a person of the staff, who works at the given locations",
        opt={"idempotency_secret_request_fields": ("password",)},
    )
    async def create(
        self, data: JSONBody[StaffIn], ctx: ContextDep, principal: CallerDep
    ) -> StaffOut:
        return _out(
            await staff.create_staff(
                ctx,
                principal,
                email=data.email,
                name=data.name,
                role=data.role,
                locations=data.locations,
                password=data.password,
            )
        )

    @get("/", summary="The staff in the order they were added; never a password or its hash")
    async def list_page(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        cursor: CursorQuery = None,
    ) -> StaffPage:
        views = await staff.list_staff(ctx, principal, after_id=decode_cursor(cursor), limit=limit)
        next_cursor = encode_cursor(views[-1].id) if len(views) == limit else None
        return StaffPage(items=[_out(v) for v in views], next_cursor=next_cursor)

    @delete(
        "/{staff_id:int}",
        summary="Deactivate a person: no more sign-ins, sessions refused within a second",
        status_code=200,
    )
    async def deactivate(
        self,
        staff_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        ctx: ContextDep,
        principal: CallerDep,
    ) -> StaffOut:
        return _out(await staff.deactivate_staff(ctx, principal, staff_id))


def _refused(_: Request[Any, Any, Any], exc: SignInRefused) -> Response[dict[str, Any]]:
    return error_response(401, "unauthorized", exc.message, headers={"WWW-Authenticate": "Bearer"})


class SessionController(Controller):
    path = "/v1/sessions"
    tags = ["auth"]

    @post(
        "/",
        summary="Sign in with email and password: a session token for a shift (12 hours)",
        exclude_from_auth=True,
        exception_handlers={SignInRefused: _refused},
        opt={
            "idempotency_secret_fields": ("token",),
            "errors_added": (401, 429),
            "errors_dropped": (404,),
        },
    )
    async def sign_in(self, data: JSONBody[SignInIn], ctx: ContextDep) -> SessionOut:
        signed_in = await staff.sign_in(ctx, data.email, data.password)
        return SessionOut(signed_in.token, signed_in.expires_at, _out(signed_in.staff))

    @delete(
        "/current",
        summary="Sign out: the session this request was made with ends at once",
        status_code=204,
        media_type=MediaType.TEXT,
    )
    async def sign_out(
        self, request: Request[Any, str, Any], ctx: ContextDep, principal: CallerDep
    ) -> None:
        await staff.sign_out(ctx, principal, request.auth)
        request.app.state.authenticator.forget(request.auth)
