"""How the console is mounted: its routes with their session, CSRF and cookie middleware, its
static files, its templates and its session store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.htmx import HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig

from app.console.pickups import PickupDeskController
from app.console.session import (
    STORE_NAME,
    SecureCookies,
    SignInNeeded,
    csrf_config,
    session_config,
    session_store,
    signed_in,
)
from app.console.sign_in import ConsoleCSRF, SignInController, to_sign_in
from app.console.stock import CustomerController, StockLookupController
from app.console.stockroom import CountsController, TransfersController

HERE = Path(__file__).parent
STATIC_PATH = "/console/static"


def console_routers(secret_key: str | None) -> list[Router]:
    """The console's pages, and its static files (outside the session and CSRF checks)."""
    pages = Router(
        path="/",
        route_handlers=[
            SignInController,
            PickupDeskController,
            StockLookupController,
            CustomerController,
            TransfersController,
            CountsController,
        ],
        dependencies={"me": Provide(signed_in)},
        middleware=[
            SecureCookies,
            session_config().middleware,
            DefineMiddleware(ConsoleCSRF, config=csrf_config(secret_key)),
        ],
        exception_handlers={
            SignInNeeded: to_sign_in,
        },
        request_class=HTMXRequest,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[HERE / "static"],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600, public=True),
        name="console_static",
    )
    return [pages, static]


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%d %b %H:%M UTC")


def _register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters["when"] = _when


def console_templates() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=HERE / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=_register_filters,
    )


def console_stores(redis_url: str | None) -> dict[str, Store]:
    return {STORE_NAME: session_store(redis_url)}
