"""The ``--json`` result of a write command: the plan it applied, or would apply.

One document for every write command (schema: ``efikit/schemas/write-result.schema.json``)::

    {"schema": "efikit-write-result/1", "command": "boot add", "dry_run": false,
     "result": "applied" | "unchanged" | "dry-run" | "failed",
     "changes": [{"type": "variable", "name", "guid", "action": "create"|"update"|"delete",
                  "before": HEX|null, "after": HEX|null,
                  "attributes_before": INT|null, "attributes_after": INT|null,
                  "text": [LINE...], "status": "applied"|"planned"|"failed"|"not-applied"},
                 {"type": "file", "path", "action", "before": SHA256|null, "after": SHA256|null,
                  "size_before": INT|null, "size_after": INT|null, "text", "status"}],
     "failed_change": INDEX|null, "error": TEXT|null, "backup": {"file", "variables"}|null,
     "notes": [TEXT...], ...command-specific fields}

``before``/``after`` of a variable are its payload in hex (null: absent); of a file, the
SHA-256 of its contents (loaders are too large to repeat). On failure ``status`` says which
changes took effect, which one failed and which were never written.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from efikit.boot.changes import Change, Plan, PlanApplyError

SCHEMA_ID = "efikit-write-result/1"
#: the --json help of a command whose JSON is only this write result (tests find them by it)
JSON_HELP = "Print the write result as JSON (what changed, before and after)."
#: the --json help of a command that reads or writes (boot next, boot timeout)
READ_OR_WRITE_JSON_HELP = "Print JSON: the value read, or the write result when changing it."


def command_name() -> str:
    """``boot order move`` for the running command (the program name left out)."""
    ctx = click.get_current_context(silent=True)
    return " ".join(ctx.command_path.split()[1:]) if ctx is not None else ""


def variable_change(change: Change, status: str) -> dict[str, Any]:
    from efikit.boot.changes import describe_change  # noqa: PLC0415

    before, after = change.before, change.after
    return {
        "type": "variable", "name": change.name, "guid": str(change.vendor),
        "action": change.action,
        "before": before.data.hex() if before is not None else None,
        "after": after.data.hex() if after is not None else None,
        "attributes_before": int(before.attributes) if before is not None else None,
        "attributes_after": int(after.attributes) if after is not None else None,
        "text": describe_change(change),
        "status": status,
    }


def file_change(path: str, before: bytes | None, after: bytes | None, status: str,
                text: list[str] | None = None) -> dict[str, Any]:
    """A file a command writes (``after`` None: deleted)."""
    import hashlib  # noqa: PLC0415

    def digest(data: bytes | None) -> str | None:
        return None if data is None else hashlib.sha256(data).hexdigest()

    action = "delete" if after is None else "create" if before is None else "update"
    return {"type": "file", "path": path, "action": action,
            "before": digest(before), "after": digest(after),
            "size_before": None if before is None else len(before),
            "size_after": None if after is None else len(after),
            "text": text or [f"{action} {path}"], "status": status}


def result(changes: list[dict[str, Any]], *, dry_run: bool, error: str | None = None,
           failed_change: int | None = None, backup: dict[str, Any] | None = None,
           notes: tuple[str, ...] | list[str] = (), **extra: Any) -> dict[str, Any]:
    if error is not None:
        outcome = "failed"
    elif not changes:
        outcome = "unchanged"
    else:
        outcome = "dry-run" if dry_run else "applied"
    return {"schema": SCHEMA_ID, "command": command_name(), "dry_run": dry_run,
            "result": outcome, "changes": changes, "failed_change": failed_change,
            "error": error, "backup": backup, "notes": list(notes), **extra}


def plan_result(plan: Plan, *, dry_run: bool, failure: PlanApplyError | None = None,
                backup: dict[str, Any] | None = None,
                notes: tuple[str, ...] | list[str] = (), **extra: Any) -> dict[str, Any]:
    """The result of a boot-manager ``Plan`` (applied, planned, or failed part-way)."""
    if failure is None:
        status = "planned" if dry_run else "applied"
        return result([variable_change(c, status) for c in plan.changes], dry_run=dry_run,
                      backup=backup, notes=notes, **extra)
    applied = {id(c) for c in failure.applied}
    changes, failed_index = [], None
    for index, change in enumerate(plan.changes):
        if change is failure.failed:
            status, failed_index = "failed", index
        else:
            status = "applied" if id(change) in applied else "not-applied"
        changes.append(variable_change(change, status))
    return result(changes, dry_run=False, error=str(failure), failed_change=failed_index,
                  backup=backup, notes=notes, **extra)
