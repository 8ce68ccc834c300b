"""efikit.boot: Boot####/Driver####/SysPrep#### entries, BootOrder, BootNext, Timeout."""
from __future__ import annotations

from efikit.boot.changes import Change, Plan, write_backup
from efikit.boot.manager import BootEntry, BootManager, BootStatus
from efikit.boot.numbers import OptionKind, format_number, parse_number, parse_option_name

__all__ = [
    "BootEntry",
    "BootManager",
    "BootStatus",
    "Change",
    "OptionKind",
    "Plan",
    "format_number",
    "parse_number",
    "parse_option_name",
    "write_backup",
]
