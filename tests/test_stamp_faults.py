"""Stamping under a failing file system: a full disk, a file size limit, I/O errors, a
read-only target. Every failure exits non-zero with one line and leaves the loader
byte-identical (in place: the overwritten bytes are written back; with -o: the target is
never touched and no temporary file stays behind).

Real limits where the kernel gives them without privileges (RLIMIT_FSIZE: short write, then
EFBIG) or in a private mount namespace (a full or read-only tmpfs); every single write
syscall of a stamp failed in turn by fault injection.
"""
from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import require_file, require_tool
from efikit.errors import StampError
from efikit.pe.stamp import clear_stamp, read_stamp, set_stamp
from efikit.pe.stamp_format import make_stamp
from test_pe_support import FIXTURES_PE
from test_stamp_support import (SHIM, SIGNED_FIXTURES, UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED,
                                Snapshot, sbverify, work_copy)

BIG = make_stamp("B", {"version": "x" * 600})
SMALL = make_stamp("A", {"version": "1"})
SIGNER = FIXTURES_PE / "test-signer.crt"


# Run the CLI as if the file system could not preallocate (posix_fallocate unsupported), so
# the writes themselves meet the limit: a short write, then EFBIG.
NO_FALLOCATE = """
import errno, os, sys
def unsupported(*args):
    raise OSError(errno.EOPNOTSUPP, "not supported")
os.posix_fallocate = unsupported
from efikit.cli.main import main
sys.argv[0] = "efikit"
main()
"""


def efikit(*args: str, fsize: int | None = None,
           fallocate: bool = True) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    start = ["-m", "efikit"] if fallocate else ["-c", NO_FALLOCATE]
    return subprocess.run([sys.executable, *start, *args], capture_output=True,
                          text=True, preexec_fn=limit)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("efikit: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# --- RLIMIT_FSIZE: the write is cut short, then EFBIG ---------------------------------------

@pytest.mark.parametrize("fallocate", [True, False], ids=["fallocate", "short-write"])
@pytest.mark.parametrize("name", [SIGNED_FIXTURES[0], UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED])
def test_file_size_limit_in_place_restores_the_loader(tmp_path: Path, name: str,
                                                      fallocate: bool) -> None:
    path = work_copy(name, tmp_path)
    snap = Snapshot.of(path)
    # Room for part of the new table: the first write is short, the next one fails.
    proc = efikit("stamp", "set", str(path), "--slot", "A", "--meta", "version=" + "x" * 600,
                  fsize=path.stat().st_size + 100, fallocate=fallocate)
    line = one_error_line(proc)
    assert str(path) in line and "unchanged" in line
    assert path.read_bytes() == snap.data
    assert read_stamp(path) is None
    clear = efikit("stamp", "clear", str(path))
    assert clear.returncode == 0 and "nothing to clear" in clear.stdout


def test_file_size_limit_on_restamp_keeps_the_old_stamp(tmp_path: Path) -> None:
    require_tool("sbverify")
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    set_stamp(path, SMALL)
    snap = Snapshot.of(path)
    proc = efikit("stamp", "set", str(path), "--slot", "A", "--meta", "version=" + "x" * 600,
                  fsize=path.stat().st_size + 8)
    one_error_line(proc)
    assert path.read_bytes() == snap.data
    assert read_stamp(path) == SMALL
    assert sbverify(path, SIGNER).returncode == 0
    clear_stamp(path)
    assert read_stamp(path) is None and sbverify(path, SIGNER).returncode == 0


def test_file_size_limit_with_output_leaves_no_file(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    snap = Snapshot.of(path)
    out = tmp_path / "out"
    out.mkdir()
    for limit in (1000, path.stat().st_size + 100):  # the copy fails / the stamp fails
        proc = efikit("stamp", "set", str(path), "--slot", "B", "-o", str(out / "b.efi"),
                      "--meta", "version=" + "x" * 600, fsize=limit)
        line = one_error_line(proc)
        assert str(out / "b.efi") in line
        assert list(out.iterdir()) == []
    assert snap.unchanged(path)


# --- a full and a read-only file system (tmpfs in a private mount namespace) -----------------

def _in_private_mount(script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in its own mount namespace (as root, or as a user namespace's root)."""
    require_tool("unshare", "mount")
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return subprocess.run(["unshare", *userns, "--mount", "sh", "-euc", script],
                          capture_output=True, text=True)


def _full_tmpfs_script(mnt: Path, loader: Path, command: str, err: Path) -> str:
    """Mount a tmpfs on ``mnt``, copy ``loader`` there, fill the rest, run ``command``, then
    print its exit code and stderr and whether the loader is byte-identical."""
    return f"""
mount -t tmpfs -o size=4m tmpfs {mnt}
cp {loader} {mnt}/loader.efi
dd if=/dev/zero of={mnt}/fill bs=4096 2>/dev/null || true
set +e
{command} 2>{err}
echo "rc=$?"
set -e
cat {err}
cmp -s {loader} {mnt}/loader.efi && echo identical
ls -a {mnt}
"""


@pytest.mark.parametrize("loader,meta", [
    (SHIM, "x"),  # signed: its last 4 KiB page has 72 bytes free
    (FIXTURES_PE / UNSIGNED_ALIGNED, "x" * 600),  # unsigned: 512 bytes free in its last page
], ids=["signed-shim", "unsigned"])
@pytest.mark.parametrize("fallocate", [True, False], ids=["fallocate", "write"])
def test_full_file_system(tmp_path: Path, loader: Path, meta: str, fallocate: bool) -> None:
    require_file(loader)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    start = "-m efikit" if fallocate else f"-c '{NO_FALLOCATE}'"
    command = (f"{sys.executable} {start} stamp set {mnt}/loader.efi --slot A "
               f"--meta version={meta}")
    proc = _in_private_mount(_full_tmpfs_script(mnt, loader, command, tmp_path / "err"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "rc=1", proc.stdout
    assert out[1].startswith("efikit: error: ") and "No space left on device" in out[1]
    assert "unchanged" in out[1]
    assert out[2] == "identical", proc.stdout
    assert sorted(out[3:]) == [".", "..", "fill", "loader.efi"], proc.stdout


@pytest.mark.parametrize("output", [False, True], ids=["in-place", "output"])
def test_read_only_file_system(tmp_path: Path, output: bool) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    loader = FIXTURES_PE / SIGNED_FIXTURES[0]
    target = f"-o {mnt}/copy.efi" if output else ""
    script = f"""
mount -t tmpfs -o size=4m tmpfs {mnt}
cp {loader} {mnt}/loader.efi
mount -o remount,ro {mnt}
set +e
{sys.executable} -m efikit stamp set {mnt}/loader.efi --slot A {target} 2>{tmp_path}/err
echo "rc=$?"
set -e
cat {tmp_path}/err
cmp -s {loader} {mnt}/loader.efi && echo identical
ls {mnt}
"""
    proc = _in_private_mount(script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "rc=1", proc.stdout
    assert out[1].startswith("efikit: error: ") and "Read-only file system" in out[1]
    assert len(out) == 4 and out[2] == "identical" and out[3] == "loader.efi", proc.stdout


# --- every write of a stamp fails in turn (fault injection) ----------------------------------

MUTATING_CALLS = ("write", "pwrite", "ftruncate", "posix_fallocate", "fdatasync", "fsync",
                  "sendfile", "copy_file_range", "replace")


class Faults:
    """Counts the mutating syscalls of ``os``; makes the ``fail_at``-th one fail with ``err``
    (``short``: write half of the buffer first, then fail the next write)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int, err: int,
                 short: bool = False) -> None:
        self.count = 0
        self.fail_at = fail_at
        self.err = err
        self.short = short
        self.fired = False
        self.cut_short = False
        self.names: list[str] = []
        for name in MUTATING_CALLS:
            original = getattr(os, name, None)
            if original is not None:
                monkeypatch.setattr(os, name, self._wrap(name, original))
        # shutil's fast copy must go through the counted os functions
        monkeypatch.setattr(shutil, "_USE_CP_SENDFILE", False, raising=False)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            self.names.append(name)
            if self.count == self.fail_at:
                self.fired = True
                if self.short and name == "write" and len(args[1]) > 1:
                    self.cut_short = True
                    return original(args[0], bytes(args[1])[:len(args[1]) // 2])
                raise OSError(self.err, os.strerror(self.err))
            if self.cut_short:  # the rest of the short write fails
                self.cut_short = False
                raise OSError(self.err, os.strerror(self.err))
            return original(*args, **kwargs)
        return call


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    with monkeypatch.context() as m:
        yield Faults(m, 0, 0)


Operation = Callable[[Path, Path | None], object]

OPERATIONS: dict[str, tuple[str, Callable[[Path], None], Operation]] = {
    # name: (fixture, prepare the work copy, the operation on it (with -o target or None))
    "set-signed": (SIGNED_FIXTURES[0], lambda p: None,
                   lambda p, o: set_stamp(p, BIG, output=o)),
    "restamp-signed": (SIGNED_FIXTURES[0], lambda p: set_stamp(p, SMALL) and None,
                       lambda p, o: set_stamp(p, BIG, output=o)),
    "shrink-signed": (SIGNED_FIXTURES[0], lambda p: set_stamp(p, BIG) and None,
                      lambda p, o: set_stamp(p, SMALL, output=o)),
    "clear-signed": (SIGNED_FIXTURES[0], lambda p: set_stamp(p, BIG) and None,
                     lambda p, o: clear_stamp(p, output=o)),
    "set-unaligned": (UNSIGNED_UNALIGNED, lambda p: None,
                      lambda p, o: set_stamp(p, BIG, output=o)),
    "clear-unaligned": (UNSIGNED_UNALIGNED, lambda p: set_stamp(p, BIG) and None,
                        lambda p, o: clear_stamp(p, output=o)),
}

ERRORS = [pytest.param(errno.ENOSPC, False, id="ENOSPC"),
          pytest.param(errno.EFBIG, True, id="short-then-EFBIG"),
          pytest.param(errno.EIO, False, id="EIO")]


def _calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, operation: str,
           output: bool) -> list[str]:
    fixture, prepare, run = OPERATIONS[operation]
    path = work_copy(fixture, tmp_path / "count")
    prepare(path)
    with counting(monkeypatch) as faults:
        run(path, tmp_path / "count" / "out.efi" if output else None)
    return faults.names


@pytest.mark.parametrize("err,short", ERRORS)
@pytest.mark.parametrize("output", [False, True], ids=["in-place", "output"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_write_fails_in_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   operation: str, output: bool, err: int,
                                   short: bool) -> None:
    (tmp_path / "count").mkdir()
    calls = _calls(monkeypatch, tmp_path, operation, output)
    assert len(calls) >= 3
    fixture, prepare, run = OPERATIONS[operation]
    for fail_at, call in enumerate(calls, 1):
        work = tmp_path / f"at{fail_at}"
        work.mkdir()
        path = work_copy(fixture, work)
        prepare(path)
        before = Snapshot.of(path)
        target = work / "out.efi" if output else None
        if "replace" in calls[:fail_at - 1]:
            # The directory fsync after the rename: the new file is complete and in place.
            assert call == "fsync"
            with monkeypatch.context() as m:
                Faults(m, fail_at, err, short)
                run(path, target)
            assert target is not None and read_stamp(target) != read_stamp(path)
            continue
        with monkeypatch.context() as m:
            faults = Faults(m, fail_at, err, short)
            with pytest.raises(StampError) as raised:
                run(path, target)
        assert faults.fired
        message = str(raised.value)
        assert "\n" not in message and os.strerror(err) in message, (call, message)
        assert path.read_bytes() == before.data, f"{operation}: changed after {call} {fail_at}"
        if output:
            assert sorted(p.name for p in work.iterdir()) == [path.name], \
                f"{operation}: left a file behind after {call} {fail_at}"
        else:
            assert "unchanged" in message
