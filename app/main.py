"""The ASGI application: `app.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app.api.auth import PUBLIC_PATHS, ApiKeyAuthentication
from app.api.catalogue import LocationController, SkuController
from app.api.dependencies import DEPENDENCIES
from app.api.errors import EXCEPTION_HANDLERS
from app.api.health import live, ready
from app.api.idempotency import IdempotencyMiddleware
from app.api.keys import create_key
from app.api.orders import (
    CustomerController,
    OrderController,
    PosController,
    list_notifications,
    pickup_queue,
    stripe_webhook,
)
from app.api.request_context import RequestContextMiddleware
from app.api.request_metrics import RequestMetricsMiddleware
from app.api.shopify_webhooks import receive_shopify_webhook
from app.api.stock import StockController, TransferController, availability
from app.api.storefronts import StorefrontController
from app.config import Settings
from app.db.session import Database
from app.logging import configure_logging
from app.services.keys import KeyAuthenticator
from app.wiring import order_context


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    prometheus = PrometheusConfig(
        app_name="omnistock",
        prefix="omnistock",
        group_path=True,
        exclude=["/metrics", "/health"],
        middleware_class=RequestMetricsMiddleware,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.database_pool_size)
        app.state.db = db
        app.state.settings = settings
        app.state.authenticator = KeyAuthenticator(db)
        app.state.orders = order_context(db, settings)
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
            await db.dispose()

    return Litestar(
        route_handlers=[
            LocationController,
            SkuController,
            StockController,
            TransferController,
            availability,
            create_key,
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
            RequestContextMiddleware(),
            prometheus.middleware,
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
