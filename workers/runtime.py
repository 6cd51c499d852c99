"""What actors share inside one worker process: settings and a database per event loop."""

from __future__ import annotations

import asyncio

from app.config import Settings
from app.db.session import Database

_databases: dict[int, Database] = {}


def settings() -> Settings:
    return Settings.from_env()


def database() -> Database:
    """The Database bound to the running event loop (async engines cannot cross loops)."""
    loop_id = id(asyncio.get_running_loop())
    db = _databases.get(loop_id)
    if db is None:
        current = settings()
        db = _databases[loop_id] = Database(current.database_url, pool_size=5)
    return db
