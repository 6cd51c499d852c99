"""A real browser (Debian's Chromium, driven by Playwright) against Omnistock served as it is
deployed (`omnistock serve` in a subprocess) on the test database.

Playwright's own browser download cannot reach the internet here, so the system's `chromium`
is used. Without it these tests skip, saying why; with `OMNISTOCK_REQUIRE_BROWSER=1` (CI) they
fail instead, so a machine without the browser cannot pass them by skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from app.access import staff
from app.platform.database import Database
from tests.conftest import Keys, World
from tests.support.context import context_for
from tests.support.processes import Fleet, service_env

PASSWORD = "a long shift password"
TABLET = {"width": 1024, "height": 768}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is not None:
        return path
    reason = "Chromium is not installed (apt-get install chromium; .ci/run installs it)"
    if os.environ.get("OMNISTOCK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and OMNISTOCK_REQUIRE_BROWSER=1 says the browser tests must run")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses root
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Console:
    """The app in its own process, and what the tests need to reach it."""

    base_url: str
    keys: Keys
    shots: Path
    browser: Browser
    problems: list[str] = field(default_factory=list)  # script errors, refused by the CSP

    async def tablet(self) -> Page:
        """A new browser profile (its own cookies) on a 1024x768 tablet."""
        context: BrowserContext = await self.browser.new_context(
            viewport=TABLET, base_url=self.base_url
        )
        page = await context.new_page()
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.problems.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    async def sign_in(self, email: str) -> Page:
        page = await self.tablet()
        await page.goto("/console")
        await expect(page.get_by_label("Email")).to_be_focused()  # its autofocus has run
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Password").press("Enter")  # by keyboard
        await expect(page.get_by_role("heading", name="Pickup desk")).to_be_visible()
        return page

    async def shot(self, page: Page, name: str) -> None:
        # caret="initial": hiding it would inject a style, which the console's CSP refuses
        await page.screenshot(path=self.shots / f"{name}.png", caret="initial")


@pytest.fixture
def server(database_url: str, world: World, tmp_path: Path) -> Iterator[str]:
    """`omnistock serve` on the test database (started after the world is arranged: the
    ledger remembers which levels exist, per process)."""
    with Fleet(tmp_path) as fleet:
        api = fleet.api(service_env(database_url, None, PAYMENTS="at_counter"))
        yield api.base_url


@pytest.fixture
def console(server: str, keys: Keys, browser: Browser, tmp_path: Path) -> Console:
    shots = tmp_path / "screens"
    shots.mkdir()
    return Console(server, keys, shots, browser)


async def add_person(db: Database, email: str, role: str, store: str) -> None:
    await staff.create_staff(
        context_for(db),
        None,
        email=email,
        name=email.split("@", maxsplit=1)[0].title(),
        role=role,
        locations=[store],
        password=PASSWORD,
    )
