"""Production refuses to start without its secret key (issue: without OMNISTOCK_SECRET_KEY a key
written in the source encrypted Shopify tokens, and the service started anyway)."""

from __future__ import annotations

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
