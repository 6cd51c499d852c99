"""The OpenAPI UI pages under `/schema` and every file they load, served by the app itself.

Litestar's render plugins load their JavaScript and CSS from a public CDN (unpinned, with the
page's inline scripts); these load only files of this package, from the app's own origin, so
the pages work offline and `/schema`'s Content-Security-Policy (`observability.py`) allows
`'self'` and no inline script. The UIs' released files are in `vendor/`, unmodified, one
directory per package and version (README.md says where from and how to update); our own
small files are in `static/`. Every file's URL changes when the file does (the version in the
directory name, a digest of `static/`), so all of them are cached for a year.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

HERE = Path(__file__).parent
SWAGGER_UI = "swagger-ui-dist-5.35.0"
SCALAR = "scalar-api-reference-1.76.0"
ASSETS_PATH = "/schema/assets"
CACHE_CONTROL = CacheControlHeader(max_age=365 * 24 * 3600, public=True, immutable=True)

SCALAR_CONFIGURATION: dict[str, Any] = {
    "withDefaultFonts": False,  # the default loads its fonts from Scalar's CDN
    "telemetry": False,
    "agent": {"disabled": True},  # "Ask AI" talks to Scalar's service
    "showDeveloperTools": "never",
    "hideClientButton": True,  # it opens Scalar's hosted client, on another origin
}


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.iterdir() if p.is_file()):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


OWN = f"omnistock-{_digest(HERE / 'static')}"


def asset_url(directory: str, name: str) -> str:
    return f"{ASSETS_PATH}/{directory}/{name}"


FAVICON = asset_url(SWAGGER_UI, "favicon-32x32.png")
PAGE_CSS = asset_url(OWN, "ui.css")


def _page(title: str, stylesheets: list[str], body: str) -> bytes:
    links = "".join(f'\n<link rel="stylesheet" href="{html.escape(s)}">' for s in stylesheets)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" type="image/png" href="{FAVICON}">{links}
</head>
<body>
{body}
</body>
</html>
""".encode()


class ScalarPage(ScalarRenderPlugin):
    """Scalar's API reference, configured by the attributes of an empty `<script>` element (an
    empty one is not run, so no inline script is needed)."""

    def __init__(self, *, path: str = "/scalar") -> None:
        super().__init__(
            js_url=asset_url(SCALAR, "standalone.js"),
            css_url=PAGE_CSS,
            path=path,
            options=SCALAR_CONFIGURATION,
            favicon="",
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        configuration = html.escape(json.dumps(self.options or {}, separators=(",", ":")))
        body = (
            "<noscript>The API reference needs JavaScript.</noscript>\n"
            f'<script id="api-reference" data-url="{self.get_openapi_json_route(request)}"'
            f' data-configuration="{configuration}"></script>\n'
            f'<script src="{self.js_url}"></script>'
        )
        return _page(openapi_schema["info"]["title"], [self.css_url], body)


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI, started by our `swagger-ui-init.js` with the schema's URL."""

    def __init__(self, *, path: str = "/swagger") -> None:
        super().__init__(
            js_url=asset_url(SWAGGER_UI, "swagger-ui-bundle.js"),
            css_url=asset_url(SWAGGER_UI, "swagger-ui.css"),
            path=path,
            favicon="",
            style="",
        )
        # Not loaded: the page uses Swagger UI's base layout, which needs no standalone preset.
        self.standalone_preset_js_url = ""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        body = (
            "<noscript>Swagger UI needs JavaScript.</noscript>\n"
            f'<div id="swagger-ui" data-url="{self.get_openapi_json_route(request)}"></div>\n'
            f'<script src="{self.js_url}"></script>\n'
            f'<script src="{asset_url(OWN, "swagger-ui-init.js")}"></script>'
        )
        return _page(openapi_schema["info"]["title"], [self.css_url, PAGE_CSS], body)

    def receive_router(self, router: Router) -> None:
        """No `oauth2-redirect.html`: no security scheme of ours uses OAuth2."""


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The UIs: Scalar at `/schema` (and `/schema/scalar`), Swagger UI at `/schema/swagger`."""
    return [ScalarPage(), SwaggerPage()]


def asset_routers() -> list[Router]:
    """The files the pages load, under `/schema/assets`, public like the rest of `/schema`."""
    return [
        create_static_files_router(
            ASSETS_PATH,
            directories=[HERE / "vendor"],
            name="openapi_ui_vendor",
            cache_control=CACHE_CONTROL,
        ),
        create_static_files_router(
            f"{ASSETS_PATH}/{OWN}",
            directories=[HERE / "static"],
            name="openapi_ui_own",
            cache_control=CACHE_CONTROL,
        ),
    ]
