"""The context the use cases are given, built for a test's database as the processes build it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.bootstrap import AppContext, build_context
from app.config import Settings
from app.platform.database import Database


def context_for(db: Database, settings: Settings | None = None, **overrides: Any) -> AppContext:
    """`build_context` over `db`; `overrides` replace fields (e.g. `sync=`, `sender=`)."""
    settings = settings or replace(
        Settings.from_env(), database_url=db.url, redis_url=None, in_process_workers=False
    )
    ctx = build_context(settings, db)
    return replace(ctx, **overrides) if overrides else ctx
