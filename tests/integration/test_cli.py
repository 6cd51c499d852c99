"""The operator's commands (issue: compose created no admin key; no command listed or revoked
keys)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import main
from app.events.log_repository import forget_codes
from app.inventory.ledger import forget_known_levels
from app.platform import migrate


@pytest.fixture
def database(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OMNISTOCK_ENV", "development")
    migrate.upgrade(url)
    # A new database gives ids again: what the process cached by id belongs to another one.
    forget_codes()
    forget_known_levels()
    return url


def test_a_first_admin_key_is_made_once_then_listed_and_revoked(database: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["keys", "create", "--role", "admin", "--first"])
    assert first.exit_code == 0, first.output
    secret = first.stdout.strip()
    assert secret.startswith("osk_")
    again = runner.invoke(main, ["keys", "create", "--role", "admin", "--first"])
    assert again.exit_code == 0 and "osk_" not in again.stdout

    listed = runner.invoke(main, ["keys", "list"])
    [line] = listed.stdout.strip().splitlines()
    key_id = line.split()[0]
    assert "admin" in line and "active" in line and secret not in listed.stdout
    revoked = runner.invoke(main, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and key_id in revoked.stdout
    assert "revoked" in runner.invoke(main, ["keys", "list"]).stdout
    after = runner.invoke(main, ["keys", "create", "--role", "admin", "--first"])
    assert after.stdout.strip().startswith("osk_")  # none active any more: a new first key


def test_audit_prints_the_open_findings_and_fails_while_any_is_open(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    from datetime import timedelta

    from app.audit import rules

    monkeypatch.setattr(rules, "MARGIN", timedelta(0))
    runner = CliRunner()
    assert runner.invoke(main, ["seed-demo"]).exit_code == 0
    clean = runner.invoke(main, ["audit"])
    assert clean.exit_code == 0, clean.output
    assert "full audit" in clean.stdout and "no open findings" in clean.stdout
    assert "0 examined" in runner.invoke(main, ["audit"]).stdout

    path = database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:  # a level changed behind the ledger's back
        connection.execute(
            "UPDATE stock_levels SET on_hand = on_hand + 7, updated_at = datetime('now')"
            " WHERE rowid = (SELECT min(rowid) FROM stock_levels)"
        )
    assert runner.invoke(main, ["audit"]).exit_code == 0  # no movement: not looked at
    found = runner.invoke(main, ["audit", "--full"])
    assert found.exit_code == 1, found.output
    assert "OPEN fold" in found.stdout and "on_hand +7" in found.stdout
    still = runner.invoke(main, ["audit"])
    assert still.exit_code == 1 and "1 examined" in still.stdout
