"""API keys (admin)."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from app.api.dependencies import CallerDep, UnitOfWorkDep
from app.api.schemas import ApiKeyIn, ApiKeyOut
from app.domain.access import Role
from app.services.keys import create_api_key


@post(
    "/v1/api-keys",
    summary="Issue an API key; the key is shown in this response only",
    tags=["auth"],
)
async def create_key(
    data: JSONBody[ApiKeyIn], uow: UnitOfWorkDep, principal: CallerDep
) -> ApiKeyOut:
    issued = await create_api_key(
        uow, principal, name=data.name, role=Role(data.role), location=data.location
    )
    return ApiKeyOut(
        id=issued.principal.key_id,
        name=issued.principal.name,
        role=issued.principal.role.value,
        location=issued.principal.location,
        key=issued.secret,
    )
