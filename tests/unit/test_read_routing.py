"""Which reads may go to the replica, and whose writes they must see (no database)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from app.config import Settings
from app.platform import replica as reads


@pytest.fixture(autouse=True)
def per_caller() -> Iterator[None]:
    reads.read_your_writes_by("caller")
    yield
    reads.read_your_writes_by("caller")


def test_only_a_get_request_may_read_the_replica() -> None:
    assert not reads.may_read_replica()  # workers, the CLI, the stream's tailer
    for allowed in (True, False):
        _, token = reads.begin_request(replica_allowed=allowed)
        try:
            assert reads.may_read_replica() is allowed
        finally:
            reads.end_request(token)
    assert not reads.may_read_replica()


def test_a_caller_must_see_their_own_writes_not_everyone_elses() -> None:
    _, token = reads.begin_request(replica_allowed=False)
    try:
        reads.identify_caller("key-a")
        reads.note_write()
        written = reads.writes_to_see()
        assert written > -math.inf
    finally:
        reads.end_request(token)
    _, token = reads.begin_request(replica_allowed=True)
    try:
        reads.identify_caller("key-b")
        assert reads.writes_to_see() == -math.inf  # b never wrote
        reads.read_your_writes_by("process")
        assert reads.writes_to_see() >= written  # the tests' setting: every write counts
    finally:
        reads.end_request(token)
    assert reads.writes_to_see() >= written  # no caller: this process's writes


def test_asked_again_a_request_reads_the_primary() -> None:
    state, token = reads.begin_request(replica_allowed=True)
    try:
        reads.note_served_by_replica()
        assert reads.served_by_replica()
        reads.read_again_on_primary()
        assert not reads.may_read_replica() and not state.served_by_replica
    finally:
        reads.end_request(token)


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"database_read_url": "postgresql+asyncpg://r/x"}, "needs a PostgreSQL primary"),
        (
            {
                "database_url": "postgresql+asyncpg://p/x",
                "database_read_url": "sqlite+aiosqlite:///r.db",
            },
            "must be a postgresql",
        ),
        ({"read_max_lag_seconds": 0.0}, "READ_MAX_LAG_SECONDS"),
        ({"read_max_lag_seconds": 61.0}, "READ_MAX_LAG_SECONDS"),
        ({"read_your_writes": "session"}, "READ_YOUR_WRITES"),
    ],
)
def test_replica_settings_that_make_no_sense_are_refused_at_start(
    overrides: dict[str, object], refusal: str
) -> None:
    with pytest.raises(SystemExit, match=refusal):
        Settings(**overrides).check_for_production()  # type: ignore[arg-type]
