"""What efivarfs refusals say: each errno with the cause that applies to this process (root or
not, CAP_LINUX_IMMUTABLE or not, the attributes given), and a failed create leaves no empty
variable file behind even though the kernel made it immutable. The real kernel's answers are
checked in tests/firmware/test_linux_guest.py; these pin the wording and the cleanup."""
from __future__ import annotations

import errno
import fcntl
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from efikit.errors import StoreError
from efikit.vars import efivarfs as efivarfs_mod
from efikit.vars.efivarfs import (
    FS_IMMUTABLE_FL,
    FS_IOC_GETFLAGS,
    FS_IOC_SETFLAGS,
    EfivarfsStore,
    _refusal,
)
from efikit.vars.store import EFI_GLOBAL_VARIABLE, VariableAttributes

G = EFI_GLOBAL_VARIABLE


def _as(monkeypatch: pytest.MonkeyPatch, uid: int, immutable_cap: bool | None = True) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    monkeypatch.setattr(efivarfs_mod, "_effective_capability", lambda bit: immutable_cap)


def test_eacces_as_root_is_the_firmware_not_missing_root(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, 0)
    text = _refusal(OSError(errno.EACCES, "Permission denied"))
    assert "security violation (EACCES)" in text and "signed update" in text
    assert "not root" not in text and "being root is not enough" in text


def test_eacces_and_eperm_as_a_user_name_root(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, 1000)
    assert _refusal(OSError(errno.EACCES, "x")) == \
        "permission denied (EACCES): changing EFI variables needs root (running as uid 1000)"
    assert _refusal(OSError(errno.EPERM, "x")) == \
        "not permitted (EPERM): changing EFI variables needs root (running as uid 1000)"


def test_eperm_as_root_names_the_immutable_flag_or_the_capability(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    _as(monkeypatch, 0, immutable_cap=False)
    assert "needs CAP_LINUX_IMMUTABLE" in _refusal(OSError(errno.EPERM, "x"))
    _as(monkeypatch, 0, immutable_cap=True)
    text = _refusal(OSError(errno.EPERM, "x"))
    assert "immutable" in text and "root" not in text


@pytest.mark.parametrize("attributes,words", [
    (0x87, "the kernel refused it (EINVAL): attribute bits 0x80 are not EFI variable attributes"),
    (0x04, "runtime access (rt) needs boot-service access (bs)"),
    (0x06, "only variables with nv and rt"),
    (0x03, "only variables with nv and rt"),
    (0x27, "authentication descriptor"),
    (0x07, "check the format of the global variables they know"),
    (None, "the kernel or the firmware refused it as invalid (EINVAL)"),
])
def test_einval_says_which_rule(attributes: int | None, words: str) -> None:
    assert words in _refusal(OSError(errno.EINVAL, "Invalid argument"), attributes)


class KernelLikeFlags:
    """New files come out immutable (as efivarfs makes variables it does not know), and an
    immutable file cannot be unlinked (EPERM), as on the real file system."""

    def __init__(self) -> None:
        self.flags: dict[int, int] = {}
        self.real_unlink = os.unlink

    def ioctl(self, fd: int, request: int, arg: Any) -> Any:
        ino = os.fstat(fd).st_ino
        if request == FS_IOC_GETFLAGS:
            return struct.pack("<iI", self.flags.setdefault(ino, FS_IMMUTABLE_FL), 0)
        if request == FS_IOC_SETFLAGS:
            self.flags[ino] = struct.unpack_from("<i", arg)[0]
            return arg
        raise AssertionError(request)

    def unlink(self, path: Any, *args: Any, **kwargs: Any) -> None:
        if self.flags.get(os.stat(path).st_ino, FS_IMMUTABLE_FL) & FS_IMMUTABLE_FL:
            raise OSError(errno.EPERM, "Operation not permitted")
        self.real_unlink(path, *args, **kwargs)


def test_failed_create_leaves_no_immutable_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = KernelLikeFlags()
    monkeypatch.setattr(fcntl, "ioctl", kernel.ioctl)
    monkeypatch.setattr(os, "unlink", kernel.unlink)
    monkeypatch.setattr(efivarfs_mod, "_is_efivarfs", lambda p: True)

    def refuse(fd: int, data: Any) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "write", refuse)
    store = EfivarfsStore(tmp_path)
    with pytest.raises(StoreError, match=r"cannot write variable Bad-8be4df61.*attribute bits 0x80"):
        store.set("Bad", G, b"x", VariableAttributes(0x87))
    assert list(tmp_path.iterdir()) == []


def test_empty_file_on_the_kernel_efivarfs_is_no_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create the firmware refused and would not delete leaves an empty file until efivarfs
    is remounted: no variable (a plain directory still calls it damaged)."""
    (tmp_path / f"db-{G}").write_bytes(b"")
    (tmp_path / f"Boot0001-{G}").write_bytes(b"\x07\0\0\0" + b"x")
    with pytest.raises(StoreError, match="0 bytes"):
        EfivarfsStore(tmp_path).variables()
    monkeypatch.setattr(efivarfs_mod, "_is_efivarfs", lambda p: True)
    store = EfivarfsStore(tmp_path)
    assert store.get("db", G) is None
    assert [v.name for v in store.variables()] == ["Boot0001"]
