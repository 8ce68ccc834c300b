"""efikit.fileio: replacement keeps owner/group/mode and symlinks, refuses hard links and special
files; bounded reads open only regular files; directory locks exclude other processes."""
from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from efikit import fileio
from efikit.fileio import FileRefused, atomic_write, read_regular, replacing

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_replace_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "vars.fd"
    path.write_bytes(b"old")
    path.chmod(0o600)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert _mode(path) == 0o600


def test_replace_keeps_owner_and_group(tmp_path: Path) -> None:
    path = tmp_path / "vars.fd"
    path.write_bytes(b"old")
    path.chmod(0o640)
    if os.geteuid() == 0:  # what the issue saw: root turning a VM's store into a root file
        os.chown(path, NOBODY, NOBODY)
    before = os.stat(path)
    atomic_write(path, b"new")
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, _mode(path)) == (before.st_uid, before.st_gid, 0o640)
    assert after.st_ino != before.st_ino  # still a rename, not an in-place write


def test_replace_refuses_when_owner_cannot_be_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vars.fd"
    path.write_bytes(b"old")
    real_fstat = os.fstat

    def other_owner(fd: int) -> os.stat_result:  # the temp file looks owned by someone else
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid + 1,
                               st.st_gid, st.st_size, 0, 0, 0))

    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "fstat", other_owner)
    monkeypatch.setattr(os, "fchown", refuse)
    with pytest.raises(FileRefused, match="cannot keep its owner"):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["vars.fd"]


@pytest.mark.parametrize("umask,expected", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_new_file_follows_umask(tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "export.json", b"{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "export.json") == expected


def test_umask_is_read_without_changing_it() -> None:
    old = os.umask(0o027)
    try:
        assert fileio.current_umask() == 0o027
        assert fileio.current_umask() == 0o027
    finally:
        os.umask(old)


def test_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "store" / "OVMF_VARS.fd"
    real.parent.mkdir()
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "vm.fd"
    link.symlink_to(Path("store") / "OVMF_VARS.fd")
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
    assert _mode(real) == 0o600


def test_symlink_refused_when_not_following(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"old")
    link = tmp_path / "Boot0000-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    link.symlink_to(target)
    with pytest.raises(FileRefused, match="symbolic link"):
        atomic_write(link, b"new", follow_symlinks=False)
    assert link.is_symlink() and target.read_bytes() == b"old"


def test_hard_linked_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vars.fd"
    path.write_bytes(b"old")
    os.link(path, tmp_path / "other-name.fd")
    with pytest.raises(FileRefused, match="2 hard links") as info:
        atomic_write(path, b"new")
    assert info.value.errno == errno.EMLINK
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-name.fd", "vars.fd"]


def test_special_file_target_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "out.bin"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused, match="a FIFO, not a regular file"):
        atomic_write(fifo, b"data")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_failed_block_removes_temp_and_keeps_target(tmp_path: Path) -> None:
    path = tmp_path / "vars.json"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with replacing(path) as (fd, _):
            os.write(fd, b"half")
            raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["vars.json"]
    assert path.read_bytes() == b"old"


def test_write_all_finishes_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def one_byte(fd: int, data: bytes) -> int:
        return real(fd, bytes(data[:1]))

    monkeypatch.setattr(os, "write", one_byte)
    atomic_write(tmp_path / "x", b"abcdef")
    monkeypatch.undo()
    assert (tmp_path / "x").read_bytes() == b"abcdef"


def test_write_without_progress_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(OSError) as info:
        atomic_write(tmp_path / "x", b"abc")
    assert info.value.errno == errno.EIO
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# --- reading ---------------------------------------------------------------------------------

def test_read_refuses_fifo_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "Boot0000-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(result, fifo), daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "reading a FIFO hung"
    assert isinstance(result[0], FileRefused) and "a FIFO" in str(result[0].strerror)


def _capture(out: list[BaseException], path: Path) -> None:
    try:
        read_regular(path, 100, "a test limit")
    except BaseException as exc:  # noqa: BLE001
        out.append(exc)


def test_read_refuses_character_device() -> None:
    with pytest.raises(FileRefused, match="a character device, not a regular file"):
        read_regular("/dev/zero", 1 << 20, "a test limit")


def test_read_refuses_symlink_to_device_when_not_following(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to("/dev/zero")
    with pytest.raises(FileRefused, match="symbolic link"):
        read_regular(link, 100, "a test limit", follow_symlinks=False)
    with pytest.raises(FileRefused, match="character device"):
        read_regular(link, 100, "a test limit")


def test_read_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(FileRefused, match=r"larger than the test limit \(100 bytes\)") as info:
        read_regular(path, 100, "the test limit")
    assert info.value.errno == errno.EFBIG
    assert read_regular(path, 101, "the test limit") == b"x" * 101


def test_open_regular_accepts_block_devices_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="a directory"):
        fileio.open_regular(tmp_path, allow_block_device=True)
    fd = fileio.open_regular(__file__)
    os.close(fd)


# --- locking ---------------------------------------------------------------------------------

_HOLDER = textwrap.dedent("""
    import sys, time
    from efikit.fileio import DirectoryLock
    lock = DirectoryLock(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()
""")


def test_directory_lock_excludes_another_process(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(fileio.LockTimeout, match="locked by another process"):
            fileio.DirectoryLock(tmp_path, timeout=0.3)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(10)
    with fileio.DirectoryLock(tmp_path, timeout=5):
        pass


def test_directory_lock_is_reentrant_in_one_process(tmp_path: Path) -> None:
    outer = fileio.DirectoryLock(tmp_path, timeout=1)
    inner = fileio.DirectoryLock(tmp_path, timeout=1)  # would deadlock without sharing
    inner.release()
    holder = subprocess.run([sys.executable, "-c",
                             "import sys; from efikit.fileio import DirectoryLock as L; "
                             "L(sys.argv[1], timeout=0.2)", str(tmp_path)],
                            capture_output=True, text=True)
    assert "locked by another process" in holder.stderr  # outer still holds it
    outer.release()
    fileio.DirectoryLock(tmp_path, timeout=1).release()
