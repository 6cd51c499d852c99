"""`omnistock staff create`: a first manager without the API, the password read from stdin (a
hidden prompt at a terminal), never from the command line."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from click.testing import CliRunner

from app.access.staff import sign_in
from app.bootstrap import build_context
from app.cli import main
from app.config import Settings
from app.platform import migrate

PASSWORD = "opening the store at nine"


@pytest.fixture
def database(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OMNISTOCK_ENV", "development")
    migrate.upgrade(url)
    return url


async def _sign_in() -> str:
    settings = replace(Settings.from_env(), redis_url=None)  # DATABASE_URL: the fixture's
    ctx = build_context(settings)
    try:
        return (await sign_in(ctx, "mia@example.com", PASSWORD)).staff.role
    finally:
        await ctx.db.dispose()


def test_a_first_manager_is_made_from_the_command_line(database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["seed-demo"]).exit_code == 0
    command = ["staff", "create", "--email", "Mia@Example.com", "--name", "Mia", "--role"]
    made = runner.invoke(
        main, [*command, "manager", "--location", "LDN-OXF"], input=PASSWORD + "\n"
    )
    assert made.exit_code == 0, made.output
    assert "mia@example.com" in made.stdout and "LDN-OXF" in made.stdout
    assert PASSWORD not in made.output
    assert asyncio.run(_sign_in()) == "manager"

    again = runner.invoke(
        main, [*command, "associate", "--location", "LDN-OXF"], input=PASSWORD + "\n"
    )
    assert again.exit_code != 0 and "has an account already" in again.output
    short = runner.invoke(
        main,
        [
            "staff",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "associate",
            "--location",
            "LDN-OXF",
        ],
        input="short\n",
    )
    assert short.exit_code != 0 and "12 to 200 characters" in short.output
