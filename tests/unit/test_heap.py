"""The served process's heap: frozen while the application runs, collectable again after."""

from __future__ import annotations

import gc

import pytest

from app.platform.heap import frozen_startup_heap


def test_the_startup_heap_is_frozen_while_the_application_runs_and_released_after() -> None:
    gc.unfreeze()
    with frozen_startup_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_an_application_that_fails_still_releases_the_heap() -> None:
    gc.unfreeze()
    with pytest.raises(RuntimeError), frozen_startup_heap():
        raise RuntimeError("the application stopped")
    assert gc.get_freeze_count() == 0
