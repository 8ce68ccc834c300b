"""Helpers shared by the vars tests (fault injection, peer tool paths)."""
from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import require_tool

OVMF_DIR = Path("/usr/share/OVMF")


def venv_tool(name: str) -> str:
    """A console script installed beside the running interpreter, else found on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    require_tool(name)
    return name


def failing(errno_value: int, after: int = 0) -> Callable[..., Any]:
    """An os.write replacement that raises OSError(errno_value) after ``after`` good calls."""
    real = os.write
    calls = {"n": 0}

    def fake(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno_value, os.strerror(errno_value))
        return real(fd, data)

    return fake


def crash_before_rename(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.EIO, "simulated crash before rename")


def snapshot_dir(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


FAULTS = [
    pytest.param("write", errno.ENOSPC, id="ENOSPC-write"),
    pytest.param("write", errno.EIO, id="EIO-write"),
    pytest.param("replace", errno.EIO, id="crash-before-rename"),
]


def run_cli(args: list[str], stdin: bytes | None = None) -> tuple[int, bytes, str]:
    """Run `efikit ARGS` in-process the way main() does: (exit code, stdout bytes, stderr)."""
    from click.testing import CliRunner

    from efikit.cli.main import cli
    from efikit.errors import Error

    result = CliRunner().invoke(cli, args, input=stdin, obj=None)
    stderr = result.stderr
    code = result.exit_code
    if isinstance(result.exception, Error):
        code = result.exception.exit_code
        stderr += f"efikit: error: {result.exception}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return code, result.stdout_bytes, stderr
