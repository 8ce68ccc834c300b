"""Progress on the terminal for long operations, and only there.

Drawn on stderr when stderr is a terminal, the output is not --json, and the work is large
enough to be worth watching; never in a pipe, a log file or a script's captured output.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: below this much work no progress is drawn (it would only flicker)
MIN_BYTES = 16 * 1024 * 1024
_MIB = 1024 * 1024


@contextmanager
def byte_progress(label: str, *, enabled: bool = True
                  ) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing ``label: 42% (215/512 MiB)`` on stderr,
    or None when no progress should be shown. The line is erased at the end."""
    stream = sys.stderr
    if not enabled or not stream.isatty():
        yield None
        return
    shown = {"percent": -1, "drawn": False}

    def update(done: int, total: int) -> None:
        if total < MIN_BYTES:
            return
        percent = done * 100 // total
        if percent == shown["percent"]:
            return
        shown["percent"] = percent
        shown["drawn"] = True
        stream.write(f"\r{label}: {percent:3d}% ({done // _MIB}/{total // _MIB} MiB)")
        stream.flush()

    try:
        yield update
    finally:
        if shown["drawn"]:
            stream.write("\r\x1b[K")
            stream.flush()
