"""Every store/export/backup/-o write path of the CLI under a full disk, a file size limit, an
I/O error and a read-only target: exit code non-zero, one clear line on stderr, nothing
changed on disk (issue 11, "Done means").

ENOSPC, EIO and short-write-then-EFBIG are injected into ``os.write`` in-process; EFBIG is also
produced for real by RLIMIT_FSIZE in a child process (the kernel cuts the write short, then
refuses), and the read-only target is real (chattr +i as root, who ignores modes; else
chmod a-w).
"""
from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, require_file
from efikit.cli.main import main
from efikit.vars.json_store import write_json
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableAttributes
from test_vars_support import OVMF_DIR

G = EFI_GLOBAL_VARIABLE
LOADER = r"HD(1,GPT,4c3bd2a5-8a47-4d23-9b2c-6d5e0f2f3a11,0x800,0x100000)/\EFI\x\boot.efi"


def _efivarfs(work: Path) -> list[str]:
    store = work / "efivars"
    shutil.copytree(CORPUS / "efivars" / "fwupd-libfwupdplugin-tests", store)
    return ["--vars", str(store), "vars", "set", f"BootOrder-{G}", "--data-hex", "0100000002000300"]


def _edk2(work: Path) -> list[str]:
    store = work / "vars.fd"
    shutil.copyfile(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"), store)
    return ["--vars", str(store), "boot", "add", "--label", "new", "--device-path", LOADER]


def _json_store(work: Path) -> list[str]:
    store = work / "vars.json"
    write_json(store, [Variable("A", G, VariableAttributes(7), b"a" * 64)])
    return ["--vars", str(store), "vars", "set", "B", "--data-hex", "00" * 64]


def _export(work: Path) -> list[str]:
    store = work / "efivars"
    shutil.copytree(CORPUS / "efivars" / "fwupd-libfwupdplugin-tests", store)
    return ["--vars", str(store), "vars", "export", str(work / "export.json")]


def _backup(work: Path) -> list[str]:
    store = work / "vars.json"
    write_json(store, [Variable("A", G, VariableAttributes(7), b"a" * 64)])
    return ["--vars", str(store), "vars", "rm", "A", "--backup", str(work / "backup.json")]


def _boot_backup(work: Path) -> list[str]:
    store = work / "efivars"
    shutil.copytree(CORPUS / "efivars" / "fwupd-libfwupdplugin-tests", store)
    return ["--vars", str(store), "boot", "rm", "0001", "--backup", str(work / "backup.json")]


def _loadopt(work: Path) -> list[str]:
    return ["loadopt", "encode", "--label", "x", "--device-path", LOADER,
            "-o", str(work / "option.bin")]


def _devpath(work: Path) -> list[str]:
    return ["devpath", "encode", LOADER, "-o", str(work / "path.bin")]


PATHS: dict[str, Callable[[Path], list[str]]] = {
    "efivarfs": _efivarfs, "edk2": _edk2, "json": _json_store, "export": _export,
    "backup": _backup, "boot-backup": _boot_backup, "loadopt-o": _loadopt, "devpath-o": _devpath,
}


def _tree(root: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = os.lstat(path)
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        out[str(path.relative_to(root))] = (stat.S_IMODE(st.st_mode), content)
    return out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _fail_with(code: int) -> Callable[..., int]:
    def fake(fd: int, data: Any) -> int:
        raise OSError(code, os.strerror(code))
    return fake


def _short_then_efbig() -> Callable[..., int]:
    real = os.write
    calls = {"n": 0}

    def fake(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1 and len(data) > 1:
            return real(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    return fake


INJECTED = {
    "ENOSPC": (lambda: _fail_with(errno.ENOSPC), r"no space left"),
    "EIO": (lambda: _fail_with(errno.EIO), r"I/O error|Input/output error"),
    "short-write-EFBIG": (_short_then_efbig, r"File too large|short write"),
}


def _assert_one_clear_line(code: int, err: str, words: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("efikit: error: cannot "), lines[0]
    import re
    assert re.search(words, lines[0], re.IGNORECASE), lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("fault", list(INJECTED))
@pytest.mark.parametrize("path", list(PATHS))
def test_injected_write_faults(path: str, fault: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = PATHS[path](tmp_path)
    before = _tree(tmp_path)
    make, words = INJECTED[fault]
    monkeypatch.setattr(os, "write", make())
    code, _, err = _run(argv, capsys)
    monkeypatch.undo()
    _assert_one_clear_line(code, err, words)
    assert _tree(tmp_path) == before


def _limit_file_size(limit: int) -> Callable[[], None]:
    def setup() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


@pytest.mark.parametrize("path", list(PATHS))
def test_real_file_size_limit(path: str, tmp_path: Path) -> None:
    argv = PATHS[path](tmp_path)
    before = _tree(tmp_path)
    result = subprocess.run([sys.executable, "-m", "efikit", *argv], capture_output=True,
                            text=True, preexec_fn=_limit_file_size(8), timeout=120)
    _assert_one_clear_line(result.returncode, result.stderr, r"File too large|short write")
    assert _tree(tmp_path) == before


@contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` (and what is in it) unwritable for real, even for root."""
    targets = [directory, *directory.rglob("*")]
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *map(str, targets)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, targets)], check=True)
    else:
        modes = {p: stat.S_IMODE(os.stat(p).st_mode) for p in targets}
        for p in targets:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p in reversed(targets):
                p.chmod(modes[p])


@pytest.mark.parametrize("path", list(PATHS))
def test_read_only_target(path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = PATHS[path](tmp_path)
    before = _tree(tmp_path)
    with _read_only(tmp_path):
        code, _, err = _run(argv, capsys)
    _assert_one_clear_line(code, err, r"not permitted|permission denied|EPERM|EACCES|read-only")
    assert _tree(tmp_path) == before
