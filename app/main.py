"""The ASGI application: `app.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController

from app.access.api import ApiKeyController
from app.access.keys import KeyAuthenticator
from app.bootstrap import build_context
from app.config import Settings
from app.integrations.redis import ping_redis
from app.inventory.catalogue_api import LocationController, SkuController
from app.inventory.stock_api import StockController, TransferController, availability
from app.orders.api import OrderController, pickup_queue
from app.orders.customers_api import CustomerController, list_notifications
from app.orders.payments_api import stripe_webhook
from app.platform.http.auth import PUBLIC_PATHS, ApiKeyAuthentication, require_metrics_token
from app.platform.http.deps import DEPENDENCIES
from app.platform.http.errors import EXCEPTION_HANDLERS
from app.platform.http.health import live, ready
from app.platform.http.idempotency import IdempotencyMiddleware
from app.platform.http.limits import BodyLimitMiddleware
from app.platform.http.observability import ObservabilityMiddleware
from app.platform.logging import configure_logging
from app.pos.api import PosController
from app.storefronts.api import StorefrontController
from app.storefronts.webhooks_api import receive_shopify_webhook


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    guards = [require_metrics_token]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ctx = build_context(settings)
        app.state.ctx = ctx
        app.state.settings = settings
        app.state.authenticator = KeyAuthenticator(ctx)
        redis_url = settings.redis_url
        app.state.ping_broker = partial(ping_redis, redis_url) if redis_url else None
        workers = None
        if settings.redis_url is None and settings.in_process_workers:
            from workers.in_process import InProcessWorkers

            workers = InProcessWorkers()
            workers.start()
        try:
            yield
        finally:
            if workers is not None:
                workers.stop()
            await ctx.db.dispose()

    return Litestar(
        route_handlers=[
            LocationController,
            SkuController,
            StockController,
            TransferController,
            availability,
            ApiKeyController,
            StorefrontController,
            receive_shopify_webhook,
            OrderController,
            pickup_queue,
            PosController,
            CustomerController,
            list_notifications,
            stripe_webhook,
            live,
            ready,
            MetricsController,
        ],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            ObservabilityMiddleware(),
            BodyLimitMiddleware(settings.max_body_bytes, settings.max_webhook_body_bytes),
            DefineMiddleware(
                ApiKeyAuthentication,
                exclude=PUBLIC_PATHS,
                exclude_from_auth_key="exclude_from_auth",
            ),
            IdempotencyMiddleware(),
        ],
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        openapi_config=OpenAPIConfig(
            title="Omnistock",
            version="1.0.0",
            description="One inventory and order ledger for every sales channel.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="http", scheme="bearer", description="Authorization: Bearer <api key>"
                    )
                }
            ),
            security=[{"ApiKey": []}],
        ),
        logging_config=None,
    )


app = create_app()
