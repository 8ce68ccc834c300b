"""Chooses the codec backend: the cffi-compiled native module, or pure Python.

This is the only module that imports efikit._native. EFIKIT_PURE_PYTHON=1 forces pure Python.
``native_lib`` is a small Python facade over the compiled functions (None when unavailable).
"""
from __future__ import annotations

import os
from typing import Any

EXPECTED_ABI = 1


def _load() -> Any:
    if os.environ.get("EFIKIT_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from efikit import _native  # noqa: PLC0415 - optional, built by setup.py
    except ImportError:
        return None
    if _native.lib.efikit_native_abi_version() != EXPECTED_ABI:
        return None
    return None  # no native fast paths wired yet


native_lib: Any = _load()


def backend_name() -> str:
    """'native' when the C codec is in use, else 'python'."""
    return "native" if native_lib is not None else "python"
