"""The schedule's health: readiness fails when periodic jobs stop completing (issue: deployed as
the contract says, API and `omnistock worker`, nothing expired and nothing reached Shopify,
silently, because the sweeps only ran in `omnistock scheduler`)."""

from __future__ import annotations

from types import SimpleNamespace

from app.config import Settings
from workers import sweeps
from workers.schedule import intervals, stalled


def test_a_job_is_late_after_five_intervals_or_a_minute() -> None:
    every = {"expire_orders": 30.0, "flush_due_storefronts": 1.0}
    assert stalled({}, every, since=1000.0, now=1059.0) == []  # just started: grace
    assert stalled({}, every, since=1000.0, now=1151.0) == [
        "expire_orders",
        "flush_due_storefronts",
    ]
    ran = {"expire_orders": 1140.0, "flush_due_storefronts": 1140.0}
    assert stalled(ran, every, since=1000.0, now=1151.0) == []
    assert stalled(ran, every, since=1000.0, now=1201.0) == ["flush_due_storefronts"]


def test_every_periodic_job_has_an_actor() -> None:
    from workers.actors import broker

    for name in intervals(Settings()):
        assert broker.get_actor(name).actor_name == name


def test_completed_periodic_jobs_are_recorded() -> None:
    recorder = sweeps.SweepRecorder(None, ["expire_orders"])
    recorder.after_process_message(None, SimpleNamespace(actor_name="expire_orders"))  # type: ignore[arg-type]
    recorder.after_process_message(None, SimpleNamespace(actor_name="other"))  # type: ignore[arg-type]
    failed = SimpleNamespace(actor_name="expire_orders")
    before = sweeps.sweeps_in_this_process()["expire_orders"]
    recorder.after_process_message(None, failed, exception=RuntimeError())  # type: ignore[arg-type]
    recorded = sweeps.sweeps_in_this_process()
    assert recorded["expire_orders"] == before and "other" not in recorded
