"""The shape of the code, checked: layering contracts, where sessions are used, module size."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
MAX_MODULE_LINES = 420
SESSION_OWNERS = ("repository.py", "queries.py", "ledger.py", "keys.py", "store.py", "uow.py")
"""Modules allowed to touch a unit of work's ORM session: repositories and the unit of work."""


def test_the_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run(
        [lint_imports], cwd=APP.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]


def _modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def test_only_repositories_touch_the_session() -> None:
    offenders = []
    for path in _modules():
        if path.name.endswith(SESSION_OWNERS):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "session":
                offenders.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert offenders == []


def test_no_module_is_a_book() -> None:
    too_long = {
        str(path.relative_to(APP.parent)): lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
