"""Without Chromium the browser tests skip, saying why, unless CI says they must run."""

from __future__ import annotations

import shutil

import pytest

from tests.browser.conftest import chromium_path


def test_a_missing_browser_is_a_failure_when_the_browser_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("OMNISTOCK_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="must run"):
        chromium_path()
    monkeypatch.delenv("OMNISTOCK_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        chromium_path()
