"""The ASGI application: `app.main:app`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import structlog
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController

from app.access.api import ApiKeyController
from app.access.keys import KeyAuthenticator
from app.access.staff_api import SessionController, StaffController
from app.audit.api import AuditController
from app.bootstrap import build_context, event_signal, stream_slots, stream_wakeups
from app.carts.api import CartController
from app.config import Settings
from app.console.web import console_routers, console_stores, console_templates
from app.events.api import EventController
from app.events.stream import StreamHub
from app.events.stream_api import NO_COMPRESSION, StreamController
from app.events.webhooks_api import WebhookEndpointController
from app.integrations.redis import last_sweeps, ping_redis
from app.inventory.catalogue_api import LocationController, SkuController
from app.inventory.counts_api import CountController
from app.inventory.stock_api import StockController, TransferController, availability
from app.orders.api import OrderController, pickup_queue
from app.orders.customers_api import CustomerController, list_notifications
from app.orders.payments_api import stripe_webhook
from app.platform.heap import frozen_startup_heap
from app.platform.http.auth import PUBLIC_PATHS, ApiKeyAuthentication, require_metrics_token
from app.platform.http.deps import DEPENDENCIES
from app.platform.http.errors import EXCEPTION_HANDLERS
from app.platform.http.health import live, ready
from app.platform.http.idempotency import IdempotencyMiddleware
from app.platform.http.input_checks import check_input
from app.platform.http.limits import BodyLimitMiddleware
from app.platform.http.observability import ObservabilityMiddleware
from app.platform.http.openapi import OpenAPIContract
from app.platform.http.openapi_ui import asset_routers, render_plugins
from app.platform.http.read_routing import ReadRoutingMiddleware
from app.platform.logging import configure_logging
from app.pos.api import PosController
from app.storefronts.api import StorefrontController
from app.storefronts.webhooks_api import receive_shopify_webhook
from workers.schedule import intervals, stalled
from workers.sweeps import SWEEPS_KEY, sweeps_in_this_process


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    guards = [require_metrics_token]


def readiness_checks(settings: Settings) -> dict[str, Callable[[], None]]:
    """What `/health/ready` checks besides the database: Redis, and that the periodic jobs run
    (whoever runs them: the workers, or this process when there is no Redis)."""
    started = time.time()
    every = intervals(settings)
    if settings.redis_url:
        redis_url = settings.redis_url
        last_runs: Callable[[], dict[str, float]] = partial(last_sweeps, redis_url, SWEEPS_KEY)
        checks = {"redis": partial(ping_redis, redis_url)}
    elif settings.in_process_workers:
        last_runs, checks = sweeps_in_this_process, {}
    else:
        return {}  # nothing here runs the schedule (tests, benchmarks)

    def schedule() -> None:
        late = stalled(last_runs(), every, started, time.time())
        if late:
            raise RuntimeError(f"no completed run for 5 intervals: {', '.join(late)}")

    return {**checks, "schedule": schedule}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    settings.check_for_production()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ctx = build_context(settings, event_signal=event_signal(settings))
        await ctx.db.check_replica()
        if settings.payment_mode != "stripe":
            structlog.get_logger("omnistock.startup").warning(
                "no payment provider (STRIPE_API_KEY)",
                payments=settings.payment_mode,
                web_and_app_orders="pickup only, paid when collected"
                if settings.payment_mode == "at_counter"
                else "refused",
            )
        app.state.ctx = ctx
        app.state.settings = settings
        app.state.authenticator = KeyAuthenticator(ctx)
        app.state.readiness_checks = readiness_checks(settings)
        app.state.streams = streams = StreamHub(
            ctx,
            stream_wakeups(settings),
            stream_slots(settings),
            buffer=settings.stream_buffer_events,
            max_per_key=settings.stream_max_per_key,
            heartbeat_seconds=settings.stream_heartbeat_seconds,
            poll_seconds=settings.stream_poll_seconds,
        )
        await streams.start()
        workers = None
        if settings.redis_url is None and settings.in_process_workers:
            from workers.in_process import InProcessWorkers

            workers = InProcessWorkers()
            workers.start()
        try:
            with frozen_startup_heap():
                yield
        finally:
            await streams.stop()
            if workers is not None:
                workers.stop()
            await ctx.db.dispose()

    return Litestar(
        route_handlers=[
            LocationController,
            SkuController,
            StockController,
            TransferController,
            CountController,
            availability,
            ApiKeyController,
            StaffController,
            SessionController,
            StorefrontController,
            receive_shopify_webhook,
            OrderController,
            pickup_queue,
            PosController,
            CustomerController,
            CartController,
            list_notifications,
            EventController,
            StreamController,
            WebhookEndpointController,
            AuditController,
            stripe_webhook,
            live,
            ready,
            MetricsController,
            *asset_routers(),
            *console_routers(settings.secret_key),
        ],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_input,
        middleware=[
            ObservabilityMiddleware(),
            ReadRoutingMiddleware,
            BodyLimitMiddleware(settings.max_body_bytes, settings.max_webhook_body_bytes),
            DefineMiddleware(
                ApiKeyAuthentication,
                exclude=PUBLIC_PATHS,
                exclude_from_auth_key="exclude_from_auth",
            ),
            IdempotencyMiddleware(),
        ],
        plugins=[OpenAPIContract()],
        template_config=console_templates(),
        stores=console_stores(settings.redis_url),
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, exclude_opt_key=NO_COMPRESSION
        ),
        openapi_config=OpenAPIConfig(
            title="Omnistock",
            version="1.0.0",
            description="One inventory and order ledger for every sales channel.",
            path="/schema",
            render_plugins=render_plugins(),
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
