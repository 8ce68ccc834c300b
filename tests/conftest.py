"""Shared test fixtures: the corpus and external tools.

With CI=true a missing peer or firmware tool FAILS the test; elsewhere it skips.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
CORPUS = TESTS_DIR / "corpus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(*names: str) -> None:
    """Fail under CI, skip elsewhere, when an external tool is missing."""
    missing = [n for n in names if shutil.which(n) is None and not Path(n).exists()]
    if missing:
        message = f"required tool(s) missing: {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def require_file(path: str | Path) -> Path:
    """Fail under CI, skip elsewhere, when a file from a Debian package is missing."""
    p = Path(path)
    if not p.exists():
        message = f"required file missing: {p}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return p


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS
