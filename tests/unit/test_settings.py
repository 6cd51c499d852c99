"""Production refuses to start without its secret key (issue: without OMNISTOCK_SECRET_KEY a key
written in the source encrypted Shopify tokens, and the service started anyway)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from app.config import Settings
from app.main import create_app

POSTGRES = "postgresql://postgres@127.0.0.1:5432/omnistock"


def test_postgresql_means_production_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMNISTOCK_ENV", raising=False)
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    assert Settings.from_env().environment == "production"
    monkeypatch.setenv("OMNISTOCK_ENV", "development")
    assert Settings.from_env().environment == "development"
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("OMNISTOCK_ENV")
    assert Settings.from_env().environment == "development"  # the SQLite first run


def test_production_without_a_secret_key_does_not_start() -> None:
    production = replace(Settings(), environment="production", secret_key=None)
    with pytest.raises(SystemExit, match="OMNISTOCK_SECRET_KEY"):
        create_app(production)
    create_app(replace(production, secret_key="a key of our own"))  # starts


def test_payment_settings_that_make_no_sense_do_not_start() -> None:
    production = replace(Settings(), environment="production", secret_key="ours")
    with pytest.raises(SystemExit, match="PAYMENTS='cash' is not one of"):
        create_app(replace(production, payments="cash"))
    with pytest.raises(SystemExit, match="PAYMENTS=stripe needs STRIPE_API_KEY"):
        create_app(replace(production, payments="stripe"))
    for choice in (None, "at_counter", "none"):
        assert create_app(replace(production, payments=choice))
    assert replace(production, payments=None).payment_mode == "none"
    assert replace(production, stripe_api_key="sk_test_x").payment_mode == "stripe"


def test_a_worker_process_logs_json_lines() -> None:
    """Worker and scheduler logs are JSON like the API's (issue: they were plain text)."""
    code = (
        "import logging, structlog, workers.actors\n"
        "logging.getLogger('dramatiq.worker').warning('from the standard library')\n"
        "structlog.get_logger('omnistock.worker').warning('from structlog')\n"
    )
    env = {**os.environ, "OMNISTOCK_ENV": "development", "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    events = {line["event"] for line in lines}
    assert {"from the standard library", "from structlog"} <= events, done.stderr
