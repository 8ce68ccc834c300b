"""ESP writes under a failing file system: loaders and BOOTX64.CSV in a directory ESP and in
a disk image (mtools). ENOSPC, a short write then EFBIG, EIO and a read-only target: the
write fails with one DiskError line, and the ESP keeps the old file (no temp file left).
Through the CLI, a slot command then exits 1 with one error line."""
from __future__ import annotations

import errno
import os
import resource
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import require_tool
from efikit.disk import esp as esp_module
from efikit.disk.esp import ImageEsp
from efikit.errors import DiskError
from test_esp_files import ESP_OFFSET, SAMPLE, make_dir_esp, tree
from test_slots_failures import _invoke, _machine_files

LOADER = "\\EFI\\metropolis\\boot-a.efi"
CSV = "\\EFI\\metropolis\\BOOTX64.CSV"
NEW = b"MZ new loader " * 300


def _syscall_fault(monkeypatch: pytest.MonkeyPatch, name: str, err: int, short: bool) -> None:
    original = getattr(os, name)
    state = {"short": short}

    def failing(*args: Any) -> Any:
        if state["short"] and name == "write" and len(args[1]) > 1:
            state["short"] = False
            return original(args[0], bytes(args[1])[:len(args[1]) // 2])
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, name, failing)


FAULTS = [
    pytest.param("write", errno.ENOSPC, False, id="ENOSPC"),
    pytest.param("write", errno.EFBIG, True, id="short-then-EFBIG"),
    pytest.param("write", errno.EIO, False, id="EIO-write"),
    pytest.param("fsync", errno.EIO, False, id="EIO-fsync"),
    pytest.param("replace", errno.EROFS, False, id="EROFS-rename"),
]


@pytest.mark.parametrize("esp_path", [LOADER, CSV], ids=["loader", "csv"])
@pytest.mark.parametrize("call,err,short", FAULTS)
def test_directory_esp_write_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    esp_path: str, call: str, err: int, short: bool) -> None:
    esp = make_dir_esp(tmp_path)
    esp.replace(CSV, b"old csv")
    before = tree(tmp_path)
    with monkeypatch.context() as m:
        _syscall_fault(m, call, err, short)
        with pytest.raises(DiskError) as raised:
            esp.replace(esp_path, NEW)
    message = str(raised.value)
    assert "\n" not in message and os.strerror(err) in message and esp_path in message
    assert tree(tmp_path) == before  # old contents, no temp file


def _private_mount(script: str) -> subprocess.CompletedProcess[str]:
    require_tool("unshare", "mount")
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return subprocess.run(["unshare", *userns, "--mount", "sh", "-euc", script],
                          capture_output=True, text=True)


def _python(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


@pytest.mark.parametrize("kind", ["directory", "image"])
def test_read_only_esp(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        esp = make_dir_esp(tmp_path)
        target = esp.root
        opener = f"DirectoryEsp(Path({str(esp.root)!r}))"
    else:
        require_tool("mcopy")
        target = tmp_path / "disk.img"
        shutil.copyfile(SAMPLE / "disk.img", target)
        opener = f"ImageEsp(Path({str(target)!r}), {ESP_OFFSET})"
    before = tree(tmp_path)
    code = ("from pathlib import Path\n"
            "from efikit.disk.esp import DirectoryEsp, ImageEsp\n"
            "from efikit.errors import DiskError\n"
            f"esp = {opener}\n"
            "try:\n"
            f"    esp.replace({LOADER!r}, b'new')\n"
            "except DiskError as exc:\n"
            "    print(exc)\n")
    proc = _private_mount(f"mount --bind {target} {target}\n"
                          f"mount -o remount,bind,ro {target}\n" + _python(code))
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    assert "Read-only file system" in line or "read-only" in line.lower(), line
    assert tree(tmp_path) == before


# --- a disk image: every mtools call that changes the FAT fails in turn ---------------------

MUTATING = ("mcopy", "mdel", "mren", "mmd")


def _image(tmp_path: Path) -> ImageEsp:
    require_tool("mcopy", "mdir", "mdel", "mren", "mmd")
    tmp_path.mkdir(parents=True, exist_ok=True)
    disk = tmp_path / "disk.img"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    return ImageEsp(disk, ESP_OFFSET)


def _image_files(esp: ImageEsp) -> dict[str, bytes | None]:
    names = esp.list_files("\\EFI\\metropolis")
    return {name: esp.read(f"\\EFI\\metropolis\\{name}") for name in names}


def _mtools_calls(monkeypatch: pytest.MonkeyPatch, fail_at: int,
                  stderr: bytes) -> list[str]:
    """Record the mutating mtools calls; the ``fail_at``-th fails (exit 1, ``stderr``),
    without running."""
    calls: list[str] = []
    run = subprocess.run

    def fake(args: list[str], **kwargs: Any) -> Any:
        if args[0] in MUTATING and not (args[0] == "mcopy" and args[-1] == "-"):
            calls.append(args[0])
            if len(calls) == fail_at:
                return subprocess.CompletedProcess(args, 1, b"", stderr)
        return run(args, **kwargs)

    monkeypatch.setattr(esp_module.subprocess, "run", fake)
    return calls


MTOOLS_ERRORS = [
    pytest.param(b"Disk full\n", id="ENOSPC"),
    pytest.param(b"write: File too large\n", id="EFBIG"),
    pytest.param(b"read/write: Input/output error\n", id="EIO"),
    pytest.param(b"Cannot open /proc/self/fd/5: Read-only file system\n", id="EROFS"),
]


@pytest.mark.parametrize("esp_path", [LOADER, CSV], ids=["replace-loader", "create-csv"])
@pytest.mark.parametrize("stderr", MTOOLS_ERRORS)
def test_image_esp_every_mtools_write_fails_in_turn(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    esp_path: str, stderr: bytes) -> None:
    counting = _image(tmp_path / "count")
    with monkeypatch.context() as m:
        calls = _mtools_calls(m, 0, b"")
        counting.replace(esp_path, NEW)
    assert "mcopy" in calls and "mren" in calls
    for fail_at, call in enumerate(list(calls), 1):
        esp = _image(tmp_path / f"at{fail_at}")
        before = _image_files(esp)
        with monkeypatch.context() as m:
            _mtools_calls(m, fail_at, stderr)
            try:
                esp.replace(esp_path, NEW)
            except DiskError as exc:
                message = str(exc)
                assert "\n" not in message and stderr.decode().strip() in message
                assert _image_files(esp) == before, f"{call} {fail_at}: ESP changed"
                continue
        # Only the best-effort calls may fail without failing the write: making a directory
        # that exists, deleting a leftover temp name before or the old file after. The new
        # file is then in place.
        assert call in ("mmd", "mdel"), f"{call} {fail_at} failed silently"
        after = _image_files(esp)
        name = esp_path.rsplit("\\", 1)[1]
        assert after[next(n for n in after if n.lower() == name.lower())] == NEW


def test_image_esp_full_fat(tmp_path: Path) -> None:
    """A real full FAT: the temp file cannot be written; the old loader stays."""
    esp = _image(tmp_path)
    before = _image_files(esp)
    with pytest.raises(DiskError) as raised:
        esp.replace(LOADER, b"x" * (esp.free_bytes() + 4096))
    assert "\n" not in str(raised.value)
    assert _image_files(esp) == before
    assert esp.read("\\EFI\\metropolis\\EFIKIT.TMP") is None


def test_image_esp_file_size_limit(tmp_path: Path) -> None:
    """RLIMIT_FSIZE below the ESP's offset: mtools may not write the image at all."""
    require_tool("mcopy")
    disk = tmp_path / "disk.img"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    before = disk.read_bytes()
    code = ("from pathlib import Path\n"
            "from efikit.disk.esp import ImageEsp\n"
            "from efikit.errors import DiskError\n"
            f"esp = ImageEsp(Path({str(disk)!r}), {ESP_OFFSET})\n"
            "try:\n"
            f"    esp.replace({LOADER!r}, b'new')\n"
            "except DiskError as exc:\n"
            "    print(exc)\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (ESP_OFFSET, ESP_OFFSET))

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          preexec_fn=limit)
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    assert "failed on" in line
    assert disk.read_bytes() == before


# --- through the CLI ------------------------------------------------------------------------

@pytest.mark.parametrize("call,err,short", FAULTS)
@pytest.mark.parametrize("command", ["stage", "commit"])
def test_cli_esp_write_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str,
                             call: str, err: int, short: bool) -> None:
    """stage writes a loader, commit the BOOTX64.CSV: one error line, the ESP unchanged."""
    varstore, esp = _machine_files(tmp_path)
    new = tmp_path / "new.efi"
    new.write_bytes(NEW)
    if command == "stage":
        args = ["stage", "B", "--loader", str(new), "--running", "A"]
    else:
        args = ["commit", "--running", "A"]
    before = tree(esp)
    with monkeypatch.context() as m:
        _syscall_fault(m, call, err, short)
        # the variable store writes with os.write too: fail only writes to the ESP
        _only_under(m, esp, call)
        code, _, stderr = _invoke(["--vars", str(varstore), "slot", *args, "--esp", str(esp)])
    assert code == 1
    [line] = [x for x in stderr.splitlines() if x.startswith("efikit: error:")]
    assert os.strerror(err) in line and "to finish, run: efikit" in line
    assert tree(esp) == before


def _only_under(monkeypatch: pytest.MonkeyPatch, root: Path, call: str) -> None:
    """Narrow the fault set by _syscall_fault to files under ``root`` (by the fd's path)."""
    failing = getattr(os, call)
    real: Callable[..., Any] = {"write": _REAL_WRITE, "fsync": _REAL_FSYNC,
                                "replace": _REAL_REPLACE}[call]
    real_root = os.path.realpath(root)

    def under(*args: Any) -> bool:
        if call == "replace":
            target = os.fspath(args[1])
        else:
            try:
                target = os.readlink(f"/proc/self/fd/{args[0]}")
            except OSError:
                return False
        return os.path.realpath(target).startswith(real_root + os.sep)

    def choose(*args: Any) -> Any:
        return failing(*args) if under(*args) else real(*args)

    monkeypatch.setattr(os, call, choose)


_REAL_WRITE = os.write
_REAL_FSYNC = os.fsync
_REAL_REPLACE = os.replace
