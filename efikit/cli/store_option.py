"""Open the variable store the root group's ``--vars`` option (or EFIKIT_VARS) names."""
from __future__ import annotations

from typing import Any

import click

from efikit.vars.store import VariableStore


def vars_source() -> str | None:
    """The ``--vars`` value from the root context, or None (meaning the default)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    obj: Any = ctx.find_root().obj
    if isinstance(obj, dict):
        value = obj.get("vars_source")
        return str(value) if value else None
    return None


def open_cli_store() -> VariableStore:
    """The store for the current command (opened once per invocation and cached)."""
    from efikit.vars.open import open_store

    ctx = click.get_current_context()
    root = ctx.find_root()
    if isinstance(root.obj, dict) and isinstance(root.obj.get("_store"), VariableStore):
        return root.obj["_store"]  # type: ignore[no-any-return]
    store = open_store(vars_source(), lock=True)
    if isinstance(root.obj, dict):
        root.obj["_store"] = store
    root.call_on_close(store.close)  # file stores hold their lock for the whole command
    problems = getattr(store, "problems", None)
    if callable(problems):  # efivarfs: entries it will not read (symlinks, FIFOs...)
        for line in problems():
            click.echo(f"efikit: warning: {line}", err=True)
    return store
