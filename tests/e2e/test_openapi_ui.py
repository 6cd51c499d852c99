"""The OpenAPI UI loads nothing from another origin (issue "The edges hold": its pages were blank
offline, and a compromised CDN would have run script on our origin): every file its pages load
is served by the app, without a key, pinned and cached, and `/schema`'s CSP allows this origin
only."""

from __future__ import annotations

import json
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.platform.http import openapi_ui

Client = AsyncTestClient[Litestar]

PAGES = ["/schema", "/schema/scalar", "/schema/swagger"]
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}
ROOT = Path(__file__).resolve().parents[2]


class Page(HTMLParser):
    """What a page loads: every `src` and `href` (no `<a>` links on these pages), and the text
    of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline_scripts: list[str] = []
        self.elements: dict[str, dict[str, str | None]] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.loads += [value or "" for name, value in attrs if name in ("src", "href")]
        if "id" in found:
            self.elements[found["id"] or ""] = found
        if tag == "script" and "src" not in found:
            self._in_script = True
            self.inline_scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts[-1] += data


async def page(client: Client, path: str) -> Page:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parsed = Page()
    parsed.feed(response.text)
    return parsed


@pytest.mark.parametrize("path", PAGES)
async def test_a_ui_page_loads_files_of_this_origin_only_and_runs_no_inline_script(
    client: Client, path: str
) -> None:
    parsed = await page(client, path)
    assert parsed.loads, "the page loads its UI"
    for url in parsed.loads:
        assert url.startswith("/schema/assets/"), url
        assert not url.startswith("//") and "://" not in url, url
    assert all(not script.strip() for script in parsed.inline_scripts)


async def test_every_file_the_pages_load_is_served_without_a_key_typed_and_cached(
    client: Client,
) -> None:
    loads = {url for path in PAGES for url in (await page(client, path)).loads}
    assert any(url.endswith("/swagger-ui-bundle.js") for url in loads)
    assert any(url.endswith("/standalone.js") for url in loads)
    for url in sorted(loads):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.content
        suffix = Path(url).suffix
        assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
        cache = response.headers["cache-control"]
        assert "immutable" in cache and "public" in cache, url
        max_age = re.search(r"max-age=(\d+)", cache)
        assert max_age and int(max_age[1]) >= 30 * 24 * 3600, url
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_files_are_pinned_by_their_urls(client: Client) -> None:
    """A year-long cache is safe only because a new version, or a change to our own files, is a
    new URL."""
    loads = {url for path in PAGES for url in (await page(client, path)).loads}
    for url in loads:
        directory = url.removeprefix("/schema/assets/").split("/")[0]
        assert directory in (openapi_ui.SWAGGER_UI, openapi_ui.SCALAR, openapi_ui.OWN), url
        assert re.search(r"-\d+\.\d+\.\d+$|^omnistock-[0-9a-f]{12}$", directory), url


async def test_scalar_is_told_to_fetch_no_fonts_and_send_no_telemetry(client: Client) -> None:
    reference = (await page(client, "/schema")).elements["api-reference"]
    assert reference["data-url"] == "/schema/openapi.json"
    configuration = json.loads(reference["data-configuration"] or "")
    assert configuration["withDefaultFonts"] is False
    assert configuration["telemetry"] is False


async def test_swagger_ui_fetches_our_schema_and_no_validator(client: Client) -> None:
    swagger = (await page(client, "/schema/swagger")).elements["swagger-ui"]
    assert swagger["data-url"] == "/schema/openapi.json"
    init = (openapi_ui.HERE / "static" / "swagger-ui-init.js").read_text()
    assert "validatorUrl: null" in init


@pytest.mark.parametrize(
    "path",
    [*PAGES, "/schema/openapi.json", f"/schema/assets/{openapi_ui.OWN}/ui.css"],
)
async def test_the_schema_pages_csp_allows_this_origin_only(client: Client, path: str) -> None:
    response = await client.get(path)
    csp = response.headers["content-security-policy"]
    policy = {name: sources for name, *sources in (d.split() for d in csp.split(";"))}
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["font-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for name, sources in policy.items():
        for source in sources:
            assert source in ("'self'", "'none'", "'unsafe-inline'", "data:"), (name, source)
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_api_keeps_its_csp_that_loads_nothing(client: Client) -> None:
    for path in ("/v1/skus", "/health/live"):
        csp = (await client.get(path)).headers["content-security-policy"]
        assert csp == "default-src 'none'; frame-ancestors 'none'", path


async def test_no_page_is_left_that_we_do_not_serve_locally(client: Client) -> None:
    assert (await client.get("/schema/oauth2-redirect.html")).status_code == 404


def test_every_file_of_the_ui_is_in_the_installed_package() -> None:
    """The Docker image installs the package (not editable): a file the package data misses
    would be a 404 there."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["app.platform.http.openapi_ui"]
    shipped = {path for pattern in patterns for path in openapi_ui.HERE.glob(pattern)}
    wanted = {
        path
        for path in openapi_ui.HERE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    assert wanted <= shipped, sorted(str(p.relative_to(openapi_ui.HERE)) for p in wanted - shipped)
