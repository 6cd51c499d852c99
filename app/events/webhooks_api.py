"""Webhook endpoints over HTTP: register, read, remove, the delivery log, replay."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, Parameter, SkipValidation

from app.events import webhooks
from app.events.webhook_config import WebhookContext
from app.events.webhook_schemas import (
    ReplayIn,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointList,
    WebhookEndpointOut,
)
from app.events.webhooks import EndpointView, NewEndpoint
from app.platform.http.deps import CallerDep

WebhookContextDep = SkipValidation[WebhookContext]


def endpoint_out(view: EndpointView) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=view.id,
        url=view.url,
        types=view.types,
        locations=view.locations,
        enabled=view.enabled,
        delivered_through=view.delivered_through,
        attempts=view.attempts,
        failing_since=view.failing_since,
        next_attempt_at=view.next_attempt_at,
        disabled_at=view.disabled_at,
        disabled_reason=view.disabled_reason,
        created_at=view.created_at,
    )


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["events"]

    @post(
        "/",
        summary="Register a URL for events (Standard Webhooks); the signing secret is shown once",
        description=(
            "Deliveries start with the events after this moment, per endpoint in `seq` order. "
            "A host that resolves to a loopback, private, link-local, multicast or reserved "
            "address is refused (422) unless WEBHOOK_ALLOW_PRIVATE=1. A replay under the "
            "same Idempotency-Key answers `secret: null`: it is never stored in clear."
        ),
        opt={"idempotency_secret_fields": ("secret",)},
    )
    async def register(
        self, data: JSONBody[WebhookEndpointIn], ctx: WebhookContextDep, principal: CallerDep
    ) -> WebhookEndpointCreated:
        created = await webhooks.create_endpoint(
            ctx,
            principal,
            NewEndpoint(url=data.url, types=list(data.types), locations=data.locations),
        )
        return WebhookEndpointCreated(
            id=created.endpoint.id, secret=created.secret, endpoint=endpoint_out(created.endpoint)
        )

    @get("/", summary="Every webhook endpoint and how its delivery goes (never the secret)")
    async def list_all(self, ctx: WebhookContextDep, principal: CallerDep) -> WebhookEndpointList:
        views = await webhooks.list_endpoints(ctx, principal)
        return WebhookEndpointList(items=[endpoint_out(v) for v in views])

    @get("/{endpoint_id:uuid}", summary="One webhook endpoint")
    async def get_one(
        self, endpoint_id: FromPath[UUID], ctx: WebhookContextDep, principal: CallerDep
    ) -> WebhookEndpointOut:
        return endpoint_out(await webhooks.get_endpoint(ctx, principal, endpoint_id))

    @delete(
        "/{endpoint_id:uuid}",
        summary="Remove a webhook endpoint and its delivery log; answers what was removed",
        status_code=200,
    )
    async def remove(
        self, endpoint_id: FromPath[UUID], ctx: WebhookContextDep, principal: CallerDep
    ) -> WebhookEndpointOut:
        return endpoint_out(await webhooks.delete_endpoint(ctx, principal, endpoint_id))

    @get("/{endpoint_id:uuid}/deliveries", summary="Delivery attempts, newest first")
    async def deliveries(
        self,
        endpoint_id: FromPath[UUID],
        ctx: WebhookContextDep,
        principal: CallerDep,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> WebhookDeliveryList:
        views = await webhooks.list_deliveries(ctx, principal, endpoint_id, limit)
        return WebhookDeliveryList(
            items=[
                WebhookDeliveryOut(
                    seq=v.seq,
                    webhook_id=v.webhook_id,
                    attempt=v.attempt,
                    status_code=v.status_code,
                    error=v.error,
                    duration_ms=v.duration_ms,
                    at=v.at,
                )
                for v in views
            ]
        )

    @post(
        "/{endpoint_id:uuid}/replay",
        summary="Deliver again every wanted event after a seq; re-enables a disabled endpoint",
        status_code=200,
    )
    async def replay(
        self,
        endpoint_id: FromPath[UUID],
        data: JSONBody[ReplayIn],
        ctx: WebhookContextDep,
        principal: CallerDep,
    ) -> WebhookEndpointOut:
        return endpoint_out(await webhooks.replay_endpoint(ctx, principal, endpoint_id, data.after))
