"""API keys over HTTP: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from msgspec import Meta, Struct

from app.access.keys import KeyView, create_api_key, list_api_keys, revoke_api_key
from app.platform.access import Role
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.schemas import PLAIN_TEXT, Code


class ApiKeyIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=PLAIN_TEXT)]
    role: Literal["admin", "storefront", "mobile", "pos", "readonly"]
    location: Code | None = None


class ApiKeyOut(Struct):
    id: str
    name: str
    role: str
    location: str | None
    key: str | None
    """The secret: in the response that issued the key only (null in an idempotent replay)."""


class ApiKeyListed(Struct):
    id: str
    name: str
    role: str
    location: str | None
    created_at: datetime
    revoked_at: datetime | None


def _listed(view: KeyView) -> ApiKeyListed:
    return ApiKeyListed(
        view.id, view.name, view.role, view.location, view.created_at, view.revoked_at
    )


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["auth"]

    @post(
        "/",
        summary="Issue an API key; the key is shown in this response only",
        opt={"idempotency_secret_fields": ("key",)},
    )
    async def create(
        self, data: JSONBody[ApiKeyIn], ctx: ContextDep, principal: CallerDep
    ) -> ApiKeyOut:
        issued = await create_api_key(
            ctx, principal, name=data.name, role=Role(data.role), location=data.location
        )
        return ApiKeyOut(
            id=issued.principal.key_id,
            name=issued.principal.name,
            role=issued.principal.role.value,
            location=issued.principal.location,
            key=issued.secret,
        )

    @get("/", summary="Every key, revoked ones too; never a secret")
    async def list_all(self, ctx: ContextDep, principal: CallerDep) -> list[ApiKeyListed]:
        return [_listed(view) for view in await list_api_keys(ctx, principal)]

    @delete(
        "/{key_id:uuid}",
        summary="Revoke a key: refused by every API process within a second",
        status_code=200,
    )
    async def revoke(
        self, key_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> ApiKeyListed:
        return _listed(await revoke_api_key(ctx, principal, key_id))
