"""Planned variable changes: what a boot-manager command would write, before it writes.

Every mutating boot-manager operation first computes a ``Plan`` (a tuple of ``Change``), which
the CLI can print (``--dry-run``), back up (``--backup FILE``) and then apply in one
``store.batch()``.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from efikit.boot.numbers import decode_order, decode_u16, format_number, parse_option_name
from efikit.errors import Error, UsageError
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableStore


@dataclass(frozen=True)
class Change:
    """One variable: its value before (None: absent) and after (None: deleted)."""

    name: str
    vendor: uuid.UUID
    before: Variable | None
    after: Variable | None
    #: the variable exists but could not be read (``before`` is None): a delete still applies
    unreadable: bool = False

    @property
    def action(self) -> str:
        if self.after is None:
            return "delete"
        if self.before is None and not self.unreadable:
            return "create"
        return "update"

    @property
    def is_noop(self) -> bool:
        if self.unreadable:
            return False
        if self.before is None or self.after is None:
            return self.before is None and self.after is None
        return (self.before.data == self.after.data
                and self.before.attributes == self.after.attributes
                and self.after.timestamp in (None, self.before.timestamp))


@dataclass(frozen=True)
class Plan:
    """The changes of one command, applied together; no-op changes are dropped."""

    changes: tuple[Change, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(c for c in self.changes if not c.is_noop))

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __add__(self, other: Plan) -> Plan:
        """Both plans' changes. Plans are computed against the store as it is, so two that
        change the same variable cannot be combined (the second would undo the first)."""
        mine = {(c.name, c.vendor) for c in self.changes}
        clash = sorted(c.name for c in other.changes if (c.name, c.vendor) in mine)
        if clash:
            raise UsageError(f"plans both change {', '.join(clash)}; apply them one at a time")
        return Plan(self.changes + other.changes)

    def overwritten(self) -> list[Variable]:
        """What the plan replaces or deletes (what a backup must keep)."""
        return [c.before for c in self.changes if c.before is not None]

    def describe(self) -> list[str]:
        lines: list[str] = []
        for change in self.changes:
            lines.extend(describe_change(change))
        return lines or ["no change"]

    def apply(self, store: VariableStore) -> None:
        """Write every change inside one ``store.batch()``."""
        with store.batch():
            for change in self.changes:
                _write(store, change)


def _write(store: VariableStore, change: Change) -> None:
    if change.after is None:
        store.delete(change.name, change.vendor)
    else:
        store.set(change.name, change.vendor, change.after.data, change.after.attributes,
                  timestamp=change.after.timestamp)


class PlanApplyError(Error):
    """Applying a plan failed part-way. ``applied`` are the changes that took effect (on
    efivarfs, every one before the failure; on file-backed stores none, the file is rewritten
    only at the end), ``failed`` is the change being written (None: writing the store file)."""

    def __init__(self, cause: Exception, applied: tuple[Change, ...],
                 failed: Change | None) -> None:
        detail = str(cause)
        if isinstance(cause, OSError):
            detail = (cause.strerror or detail) + (f": {cause.filename}" if cause.filename else "")
        if applied:
            done = ", ".join(f"{c.action} {_label(c)}" for c in applied)
            detail += f" (while writing {_label(failed) if failed else 'the store'}; " \
                      f"already applied: {done})"
        else:
            detail += " (nothing was changed)"
        super().__init__(detail)
        self.cause = cause
        self.applied = applied
        self.failed = failed
        self.exit_code = getattr(cause, "exit_code", 1)


def apply_tracked(plan: Plan, store: VariableStore) -> None:
    """``plan.apply(store)``, but a failure raises ``PlanApplyError`` saying which changes
    took effect and which one failed."""
    immediate = store.kind == "efivarfs"  # file stores write once, atomically, at batch end
    done: list[Change] = []
    current: Change | None = None
    try:
        with store.batch():
            for change in plan.changes:
                current = change
                _write(store, change)
                done.append(change)
            current = None
    except (Error, OSError) as exc:
        raise PlanApplyError(exc, tuple(done) if immediate else (), current) from exc


# ---- describing -----------------------------------------------------------------------------

def _label(change: Change) -> str:
    if change.vendor == EFI_GLOBAL_VARIABLE:
        return change.name
    return f"{change.name}-{change.vendor}"


def _value_text(name: str, data: bytes) -> str:
    """A one-line rendering of a boot variable's payload (falls back to hex)."""
    try:
        if name.endswith("Order"):
            return ",".join(format_number(n) for n in decode_order(data)) or "(empty)"
        if name == "Timeout":
            return f"{decode_u16(data, name)} seconds"
        if name in ("BootNext", "BootCurrent"):
            return format_number(decode_u16(data, name))
        if parse_option_name(name) is not None:
            return option_text(data)
    except Error as exc:
        return f"0x{data.hex()} (undecodable: {exc})"
    return f"0x{data.hex()}" if data else "(empty)"


def option_text(data: bytes) -> str:
    """``* Label<TAB>device path[<TAB>optional data]`` (``*`` when active)."""
    from efikit.codec.loadoption import LoadOption, paths_text  # noqa: PLC0415

    option = LoadOption.from_bytes(data)
    line = f"{'*' if option.active else ' '} {option.description}\t"
    line += paths_text([p.to_text() for p in option.file_paths])
    if option.hidden:
        line += "\t[hidden]"
    if option.optional_data:
        text = option.optional_data_text()
        line += f"\t{text!r}" if text is not None else f"\t0x{option.optional_data.hex()}"
    return line


def describe_change(change: Change) -> list[str]:
    label = _label(change)
    if change.after is None:
        if change.before is None:
            return [f"delete {label} (unreadable)"]
        return [f"delete {label}: {_value_text(change.name, change.before.data)}"]
    after = _value_text(change.name, change.after.data)
    attrs = change.after.attributes.short()
    if change.before is None:
        return [f"create {label} ({attrs}): {after}"]
    before = _value_text(change.name, change.before.data)
    lines = [f"update {label}:"]
    if change.before.data != change.after.data:
        lines.append(f"  was: {before}")
        lines.append(f"  now: {after}")
    if change.before.attributes != change.after.attributes:
        lines.append(f"  attributes: {change.before.attributes.short()} -> {attrs}")
    return lines


# ---- backups --------------------------------------------------------------------------------

def write_backup(path: str | os.PathLike[str], plan: Plan) -> int:
    """Save what ``plan`` overwrites or deletes as a virt-fw-vars JSON document (the format
    ``efikit vars import`` and ``virt-fw-vars --set-json`` read). Refuses to overwrite an
    existing file, so a second command cannot destroy the first one's backup. Returns the
    number of variables saved. Variables the plan only creates are not in the backup."""
    from efikit.vars.json_store import write_backup as save  # noqa: PLC0415

    variables = plan.overwritten()
    save(path, variables)  # UsageError if it exists, StoreError naming the file
    return len(variables)
