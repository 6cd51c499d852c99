"""POST /v1/api-keys."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import post
from litestar.params import JSONBody
from msgspec import Meta, Struct

from app.access.keys import create_api_key
from app.platform.access import Role
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.schemas import PLAIN_TEXT, Code


@post(
    "/v1/api-keys",
    summary="Issue an API key; the key is shown in this response only",
    tags=["auth"],
)
async def create_key(data: JSONBody[ApiKeyIn], ctx: ContextDep, principal: CallerDep) -> ApiKeyOut:
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


# api keys -----------------------------------------------------------------------------------
class ApiKeyIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=PLAIN_TEXT)]
    role: Literal["admin", "storefront", "mobile", "pos", "readonly"]
    location: Code | None = None


class ApiKeyOut(Struct):
    id: str
    name: str
    role: str
    location: str | None
    key: str = msgspec.field(name="key")
