"""The exit status of every efikit command: one table, stable across releases.

The README's table and efikit(1)'s EXIT STATUS section are generated from / checked against
``EXIT_CODES``. "Nothing to do" is success: a write command run a second time with the same
arguments exits 0 (``boot rm`` of a missing entry needs ``--missing-ok`` for that).
"""
from __future__ import annotations

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (OK, "success, including \"unchanged\" / \"nothing to do\""),
    (FAILED, "the operation failed (a missing entry, an unreadable store, a failed write); "
             "a write that failed part-way says what it had already changed (--json: each "
             "change's status)"),
    (USAGE, "bad input or usage: unknown option, malformed number, device path or file, "
            "an ambiguous --label/--path; nothing was changed"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)
