"""Property-based fuzzing of every operation in the app's own OpenAPI schema: whatever the
input, the answer is never a 5xx, and every error body is in the contract's shape."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from app.access.keys import create_api_key
from app.config import Settings
from app.inventory import catalogue
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.ledger import forget_known_levels
from app.main import create_app
from app.platform.access import Role
from app.platform.database import Database
from tests.conftest import ADMIN
from tests.support.context import context_for
from tests.support.database import truncate_all


async def _seed(url: str) -> str:
    db = Database(url, pool_size=2)
    try:
        await truncate_all(db.engine)
        forget_known_levels()
        await catalogue.create_location(
            context_for(db),
            ADMIN,
            NewLocation("STORE-A", "A", "store", 51.5, -0.1, True, False, 0),
        )
        await catalogue.create_sku(context_for(db), ADMIN, SkuData("TEE-1", "Tee", 1000, "GBP"))
        issued = await create_api_key(context_for(db), None, name="fuzz", role=Role.ADMIN)
        return issued.secret
    finally:
        await db.dispose()


def test_no_input_makes_a_server_error(settings: Settings) -> None:
    secret = asyncio.run(_seed(settings.database_url))
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    failures: list[str] = []
    operations = 0
    seen: Counter[tuple[str, int]] = Counter()

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis_settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            headers = {
                "Authorization": f"Bearer {secret}",
                "Idempotency-Key": f"fuzz-{abs(hash(repr(case.body)))}",
            }
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            seen[(where.split(" ", maxsplit=1)[0], response.status_code)] += 1
            if response.status_code >= 500:
                failures.append(f"{where} -> {response.status_code}: {response.text[:300]}")
            elif response.status_code >= 400:
                error = response.json().get("error", {})
                if set(error) != {"code", "message", "details"}:
                    failures.append(f"{where} -> {response.status_code} not in the error shape")

        exercise()

    assert any(status < 300 for _, status in seen), seen
    assert operations >= 15
    assert failures == [], "\n".join(failures[:20])
