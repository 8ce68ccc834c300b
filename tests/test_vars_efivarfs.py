"""efivarfs store: the corpus dumps, the kernel write sequence, faults, and libefivar as a peer."""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, require_tool
from efikit.errors import StoreError
from efikit.vars import efivarfs as efivarfs_mod
from efikit.vars.efivarfs import (
    FS_IMMUTABLE_FL,
    FS_IOC_GETFLAGS,
    FS_IOC_SETFLAGS,
    EfivarfsStore,
)
from efikit.vars.store import EFI_GLOBAL_VARIABLE, VariableAttributes, VariableName, VariableNotFound
from test_vars_support import FAULTS, crash_before_rename, failing, snapshot_dir

G = EFI_GLOBAL_VARIABLE
DUMPS = sorted(p for p in (CORPUS / "efivars").iterdir() if p.is_dir())


def test_every_corpus_dump_is_there() -> None:
    assert len(DUMPS) == 8  # exact: a lost dump must fail, not run fewer tests


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_every_corpus_dump_lists_and_reads(dump: Path) -> None:
    store = EfivarfsStore(dump)
    keys = store.list()
    files = sorted(p.name for p in dump.iterdir())
    assert sorted(str(k) for k in keys) == sorted(
        f"{VariableName.parse(f).name}-{VariableName.parse(f).vendor}" for f in files
    )
    for key in keys:
        var = store.get(key.name, key.vendor)
        assert var is not None
        raw = (dump / f"{key.name}-{key.vendor}").read_bytes() if (
            dump / f"{key.name}-{key.vendor}").exists() else None
        if raw is not None:
            assert int(var.attributes) == struct.unpack_from("<I", raw)[0]
            assert var.data == raw[4:]


def test_set_get_replace_delete(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Boot0001", G, b"\x01\x00\x00\x00", VariableAttributes(7))
    path = tmp_path / f"Boot0001-{G}"
    assert path.read_bytes() == b"\x07\x00\x00\x00\x01\x00\x00\x00"
    store.set("Boot0001", G, b"\x02", VariableAttributes(7))
    assert path.read_bytes() == b"\x07\x00\x00\x00\x02"
    assert store.get("Boot0001", G).data == b"\x02"  # type: ignore[union-attr]
    assert store.list() == [VariableName("Boot0001", G)]
    store.delete("Boot0001", G)
    assert not path.exists()
    with pytest.raises(VariableNotFound):
        store.delete("Boot0001", G)
    assert list(tmp_path.iterdir()) == []


def test_append_write_in_a_plain_directory(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Log", G, b"ab", VariableAttributes(7))
    store.set("Log", G, b"cd", VariableAttributes(0x47))
    assert store.get("Log", G).data == b"abcd"  # type: ignore[union-attr]


def test_lower_case_hex_and_upper_case_guid_names(tmp_path: Path) -> None:
    (tmp_path / f"Boot000a-{G}").write_bytes(b"\x07\0\0\0x")
    (tmp_path / f"Boot000B-{str(G).upper()}").write_bytes(b"\x07\0\0\0y")
    (tmp_path / "not-a-variable").write_bytes(b"junk")
    (tmp_path / f".Boot0001-{G}.efikit-tmp").write_bytes(b"junk")
    store = EfivarfsStore(tmp_path)
    assert [k.name for k in store.list()] == ["Boot000B", "Boot000a"]
    assert store.get("Boot000a", G).data == b"x"  # type: ignore[union-attr]
    assert store.get("Boot000B", G).data == b"y"  # type: ignore[union-attr]
    store.set("Boot000B", G, b"z")  # replaces the upper-case-GUID file, no duplicate
    assert store.get("Boot000B", G).data == b"z"  # type: ignore[union-attr]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("Boot000B")]) == 1


def test_short_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / f"Bad-{G}").write_bytes(b"\x07\0")
    with pytest.raises(StoreError, match=r"Bad-8be4df61.*shorter than the 4-byte attribute"):
        EfivarfsStore(tmp_path).get("Bad", G)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a directory"):
        EfivarfsStore(tmp_path / "missing")


def test_one_write_per_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    calls: list[bytes] = []

    def spy(fd: int, data: Any) -> int:
        calls.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(os, "write", spy)
    store = EfivarfsStore(tmp_path)
    store.set("New", G, b"x" * 100)
    store.set("New", G, b"y" * 50)
    assert calls == [b"\x07\0\0\0" + b"x" * 100, b"\x07\0\0\0" + b"y" * 50]


@pytest.mark.parametrize("where,err", FAULTS)
def test_faults_leave_directory_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, err: int
) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Existing", G, b"old")
    before = snapshot_dir(tmp_path)
    if where == "write":
        monkeypatch.setattr(os, "write", failing(err))
    else:
        monkeypatch.setattr(os, "replace", crash_before_rename)
    with pytest.raises(StoreError, match="cannot write variable Existing-8be4df61") as info:
        store.set("Existing", G, b"new data")
    assert "firmware" in str(info.value) or "crash" in str(info.value)
    assert snapshot_dir(tmp_path) == before
    if where == "write":
        with pytest.raises(StoreError, match="New-8be4df61.*no space|New-8be4df61.*I/O"):
            store.set("New", G, b"data")
        assert snapshot_dir(tmp_path) == before  # the O_EXCL file it created is gone


def test_kernel_style_refusals_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EfivarfsStore(tmp_path)
    for err, words in [(errno.EINVAL, "invalid"), (errno.EPERM, "not permitted")]:
        monkeypatch.setattr(os, "write", failing(err))
        with pytest.raises(StoreError, match=f"PK-8be4df61.*{words}"):
            store.set("PK", G, b"x")
        assert list(tmp_path.iterdir()) == []


class FakeFlags:
    """fcntl.ioctl stand-in keeping FS_IMMUTABLE_FL per inode, recording the sequence."""

    def __init__(self) -> None:
        self.flags: dict[int, int] = {}
        self.log: list[str] = []

    def ioctl(self, fd: int, request: int, arg: Any) -> Any:
        ino = os.fstat(fd).st_ino
        if request == FS_IOC_GETFLAGS:
            return struct.pack("<iI", self.flags.get(ino, 0), 0)
        if request == FS_IOC_SETFLAGS:
            value = struct.unpack_from("<i", arg)[0]
            self.flags[ino] = value
            self.log.append("set" if value & FS_IMMUTABLE_FL else "clear")
            return arg
        raise AssertionError(request)


def test_immutable_flag_cleared_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Boot0001", G, b"one")
    fake = FakeFlags()
    monkeypatch.setattr(fcntl, "ioctl", fake.ioctl)
    monkeypatch.setattr(efivarfs_mod, "_is_efivarfs", lambda p: True)
    store = EfivarfsStore(tmp_path)
    assert store.kernel
    path = tmp_path / f"Boot0001-{G}"
    fake.flags[path.stat().st_ino] = FS_IMMUTABLE_FL
    store.set("Boot0001", G, b"two")
    assert fake.log == ["clear", "set"]
    assert fake.flags[path.stat().st_ino] & FS_IMMUTABLE_FL
    store.delete("Boot0001", G)
    assert fake.log == ["clear", "set", "clear"]  # nothing left to protect after the delete
    assert not path.exists()


def test_immutable_flag_restored_when_delete_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    EfivarfsStore(tmp_path).set("Boot0001", G, b"one")
    fake = FakeFlags()
    monkeypatch.setattr(fcntl, "ioctl", fake.ioctl)
    path = tmp_path / f"Boot0001-{G}"
    fake.flags[path.stat().st_ino] = FS_IMMUTABLE_FL

    def refuse(p: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "unlink", refuse)
    with pytest.raises(StoreError, match="cannot delete variable Boot0001-8be4df61.*EPERM"):
        EfivarfsStore(tmp_path).delete("Boot0001", G)
    assert fake.log == ["clear", "set"]
    assert path.exists()


def test_directory_without_flag_support_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_flags(fd: int, request: int, arg: Any) -> Any:
        raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")

    monkeypatch.setattr(fcntl, "ioctl", no_flags)
    store = EfivarfsStore(tmp_path)
    store.set("A", G, b"1")
    store.set("A", G, b"2")
    store.delete("A", G)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.peer
def test_libefivar_lists_and_reads_what_efikit_wrote(tmp_path: Path) -> None:
    require_tool("efivar")
    store = EfivarfsStore(tmp_path)
    store.set("EfikitTest", G, b"hello", VariableAttributes(7))
    env = dict(os.environ, EFIVARFS_PATH=f"{tmp_path}/")
    listing = subprocess.run(["efivar", "-l"], env=env, capture_output=True, text=True, check=True)
    assert f"{G}-EfikitTest" in listing.stdout.split()
    shown = subprocess.run(
        ["efivar", "-p", "-n", f"{G}-EfikitTest"], env=env, capture_output=True, text=True,
        check=True,
    )
    assert "Non-Volatile" in shown.stdout and "Runtime Service Access" in shown.stdout
    assert "hello" in shown.stdout


@pytest.mark.peer
def test_efikit_reads_what_libefivar_wrote(tmp_path: Path) -> None:
    require_tool("efivar")
    data = tmp_path.parent / f"{tmp_path.name}-payload.bin"
    data.write_bytes(b"\x01\x02\x03")
    efivars = tmp_path / "efivars"
    efivars.mkdir()
    env = dict(os.environ, EFIVARFS_PATH=f"{efivars}/")
    subprocess.run(
        ["efivar", "-w", "-n", f"{G}-FromEfivar", "-f", str(data), "-t", "7"],
        env=env, capture_output=True, text=True, check=True,
    )
    var = EfivarfsStore(efivars).get("FromEfivar", G)
    assert var is not None and var.data == b"\x01\x02\x03" and int(var.attributes) == 7
    shutil.rmtree(efivars)
