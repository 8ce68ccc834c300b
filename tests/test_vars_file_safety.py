"""Store files and variable files under hostile conditions (issue 11, items 3, 4, 5, 6, 8, 11):
owners, modes, symlinks, hard links, special files, other writers, names that could vanish."""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from efikit.boot import BootManager
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.errors import StoreError
from efikit.vars import efivarfs as efivarfs_mod
from efikit.vars.edk2 import Edk2Store
from efikit.vars.efivarfs import FS_IMMUTABLE_FL, EfivarfsStore
from efikit.vars.json_store import JsonStore, dumps, loads, write_json
from efikit.vars.open import open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableAttributes
from test_vars_efivarfs import FakeFlags
from test_vars_support import OVMF_DIR
from conftest import require_file

G = EFI_GLOBAL_VARIABLE
NV = VariableAttributes(7)
NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _fd_copy(tmp_path: Path, name: str = "vars.fd") -> Path:
    path = tmp_path / name
    shutil.copyfile(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"), path)
    return path


def _json_copy(tmp_path: Path, name: str = "vars.json") -> Path:
    path = tmp_path / name
    write_json(path, [Variable("A", G, NV, b"a")])
    return path


STORE_FILES = [pytest.param(_fd_copy, Edk2Store, id="edk2"),
               pytest.param(_json_copy, JsonStore, id="json")]


# --- item 3 / 8: owner, group, mode, symlinks, hard links of store files -------------------

@pytest.mark.parametrize("make,cls", STORE_FILES)
def test_store_save_keeps_owner_group_and_mode(tmp_path: Path, make: Any, cls: Any) -> None:
    path = make(tmp_path)
    path.chmod(0o600)
    if os.geteuid() == 0:  # root editing a VM user's store must not take it over
        os.chown(path, NOBODY, NOBODY)
    before = os.stat(path)
    store = cls.open(path)
    store.set("Added", G, b"new")
    store.close()
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, _mode(path)) == (before.st_uid, before.st_gid, 0o600)
    assert open_store(str(path)).get("Added", G) is not None


@pytest.mark.parametrize("make,cls", STORE_FILES)
def test_store_symlink_is_written_through(tmp_path: Path, make: Any, cls: Any) -> None:
    real = make(tmp_path)
    (tmp_path / "vm").mkdir()
    link = tmp_path / "vm" / real.name
    link.symlink_to(real)
    store = cls.open(link)
    store.set("Added", G, b"new")
    store.close()
    assert link.is_symlink()
    var = open_store(str(real)).get("Added", G)
    assert var is not None and var.data == b"new"


@pytest.mark.parametrize("make,cls", STORE_FILES)
def test_hard_linked_store_is_refused_unchanged(tmp_path: Path, make: Any, cls: Any) -> None:
    path = make(tmp_path)
    os.link(path, tmp_path / "second-name")
    before = path.read_bytes()
    store = cls.open(path)
    with pytest.raises(StoreError, match=r"cannot write .*: has 2 hard links.*left unchanged"):
        store.set("Added", G, b"new")
    assert path.read_bytes() == before == (tmp_path / "second-name").read_bytes()
    assert store.get("Added", G) is None  # memory rolled back too


# --- item 4: another program writes the file between read and write -------------------------

@pytest.mark.parametrize("make,cls", STORE_FILES)
def test_store_replaced_by_another_program_is_not_overwritten(
    tmp_path: Path, make: Any, cls: Any
) -> None:
    path = make(tmp_path)
    store = cls.open(path, lock=False)
    other = cls.open(path, lock=False)
    other.set("TheirChange", G, b"theirs")
    theirs = path.read_bytes()
    with pytest.raises(StoreError, match="changed since efikit read it.*nothing was written"):
        store.set("MyChange", G, b"mine")
    assert path.read_bytes() == theirs


@pytest.mark.parametrize("make,cls", STORE_FILES)
def test_store_lock_is_held_until_close(tmp_path: Path, make: Any, cls: Any) -> None:
    from efikit import fileio

    path = make(tmp_path)
    store = cls.open(path, lock=True)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # a second open file description
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        store.close()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    assert not fileio._held


# --- item 6: special files as stores ----------------------------------------------------------

@pytest.mark.parametrize("suffix", [".fd", ".json", ""])
def test_store_special_files_refused_without_hanging(tmp_path: Path, suffix: str) -> None:
    fifo = tmp_path / f"fifo{suffix}"
    os.mkfifo(fifo)
    for source in (str(fifo), "/dev/zero"):
        with pytest.raises(StoreError, match="a (FIFO|character device), not a regular file"):
            _with_deadline(lambda: open_store(source))
    with pytest.raises(StoreError, match="character device"):
        Edk2Store.open("/dev/zero")
    with pytest.raises(StoreError, match="character device"):
        JsonStore.open("/dev/zero")


def _with_deadline(func: Any, seconds: float = 10) -> Any:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(("ok", func()))
        except BaseException as exc:  # noqa: BLE001
            result.append(("err", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung"
    kind, value = result[0]
    if kind == "err":
        raise value
    return value


def test_oversized_store_files_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from efikit.vars import atomic

    path = _fd_copy(tmp_path)
    monkeypatch.setattr("efikit.vars.edk2.MAX_FLASH_SIZE", 1024)
    with pytest.raises(StoreError, match=r"larger than the 64 MiB a flash image can be \(1024"):
        Edk2Store.open(path)
    assert atomic.MAX_FLASH_SIZE == 64 << 20


# --- item 11: JSON names that would collapse --------------------------------------------------

def test_json_guids_differing_in_case_are_refused() -> None:
    doc = {"version": 2, "variables": [
        {"name": "Boot0000", "guid": str(G), "attr": 7, "data": "00"},
        {"name": "Boot0000", "guid": str(G).upper(), "attr": 7, "data": "01"},
    ]}
    import json

    with pytest.raises(StoreError, match=r"variables\[1\] \(Boot0000-8be4df61.*\) repeats "
                                         r"variables\[0\]"):
        loads(json.dumps(doc), "x.json")
    same = json.loads(dumps([Variable("A", G, NV, b"")]))
    same["variables"].append(dict(same["variables"][0]))
    with pytest.raises(StoreError, match="repeats"):
        loads(json.dumps(same), "x.json")


# --- efivarfs: items 3/8 (modes), 5 (symlinks), 6 (special files), 11 (dot names), 4 ----------

def test_efivarfs_replace_keeps_mode_and_owner(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Secret", G, b"one")
    path = tmp_path / f"Secret-{G}"
    path.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    before = os.stat(path)
    store.set("Secret", G, b"two")
    after = os.stat(path)
    assert (after.st_uid, after.st_gid, _mode(path)) == (before.st_uid, before.st_gid, 0o600)
    assert path.read_bytes()[4:] == b"two"


def test_efivarfs_new_variable_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        EfivarfsStore(tmp_path).set("New", G, b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / f"New-{G}") == 0o600


def test_efivarfs_symlink_never_followed_and_target_keeps_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"\x07\0\0\0precious")
    efivars = tmp_path / "efivars"
    efivars.mkdir()
    link = efivars / f"Boot0000-{G}"
    link.symlink_to(outside)
    fake = FakeFlags()
    fake.flags[outside.stat().st_ino] = FS_IMMUTABLE_FL
    monkeypatch.setattr(fcntl, "ioctl", fake.ioctl)
    monkeypatch.setattr(efivarfs_mod, "_is_efivarfs", lambda p: True)
    for kernel in (True, False):
        monkeypatch.setattr(efivarfs_mod, "_is_efivarfs", lambda p, k=kernel: k)
        store = EfivarfsStore(efivars)
        assert store.list() == []
        assert store.problems() == [f"Boot0000-{G} in {efivars}: a symbolic link, not a "
                                    "variable file; ignored"]
        for action in (lambda: store.get("Boot0000", G),
                       lambda: store.set("Boot0000", G, b"evil"),
                       lambda: store.delete("Boot0000", G)):
            with pytest.raises(StoreError, match="a symbolic link, not a variable file: efikit "
                                                 "does not read or write through it"):
                action()
        store.close()
    assert fake.log == []  # the guard never touched the target's flag
    assert fake.flags[outside.stat().st_ino] == FS_IMMUTABLE_FL
    assert outside.read_bytes() == b"\x07\0\0\0precious" and link.is_symlink()


def test_efivarfs_fifo_and_device_entries_do_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / f"Boot0001-{G}")
    (tmp_path / f"Boot0002-{G}").symlink_to("/dev/zero")
    EfivarfsStore(tmp_path).set("Boot0003", G, b"fine")
    store = EfivarfsStore(tmp_path)
    names = _with_deadline(lambda: [k.name for k in store.list()])
    assert names == ["Boot0003"]
    assert [line.split(":")[1].strip() for line in store.problems()] == [
        "a FIFO, not a variable file; ignored", "a symbolic link, not a variable file; ignored"]
    with pytest.raises(StoreError, match="Boot0001.*a FIFO"):
        _with_deadline(lambda: store.get("Boot0001", G))
    manager = BootManager(store)
    assert [e.number for e in _with_deadline(manager.entries)] == [3]


def test_efivarfs_oversized_variable_refused(tmp_path: Path) -> None:
    from efikit import fileio

    (tmp_path / f"Huge-{G}").write_bytes(b"\x07\0\0\0" + bytes(fileio.MAX_VARIABLE_SIZE + 1))
    with pytest.raises(StoreError, match=r"Huge-8be4df61.*larger than the 1 MiB efikit accepts"):
        EfivarfsStore(tmp_path).get("Huge", G)


def test_efivarfs_dot_names_are_listed_and_exported(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set(".Hidden", G, b"dot")
    store.set("Plain", G, b"p")
    assert sorted(k.name for k in store.list()) == [".Hidden", "Plain"]
    assert [v.name for v in loads(dumps(store.variables()))] == [".Hidden", "Plain"]


def test_efivarfs_case_duplicate_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / f"Boot0000-{G}").write_bytes(b"\x07\0\0\0lower")
    (tmp_path / f"Boot0000-{str(G).upper()}").write_bytes(b"\x07\0\0\0upper")
    store = EfivarfsStore(tmp_path)
    assert len(store.list()) == 1
    assert store.problems() == [
        f"Boot0000-{G} in {tmp_path}: the same variable as Boot0000-{str(G).upper()} (GUIDs "
        "differ only in case); only that one is used; ignored"]


def test_efivarfs_hard_linked_variable_refused(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Linked", G, b"one")
    os.link(tmp_path / f"Linked-{G}", tmp_path / "elsewhere")
    with pytest.raises(StoreError, match="Linked-8be4df61.*has 2 hard links"):
        store.set("Linked", G, b"two")
    assert (tmp_path / "elsewhere").read_bytes()[4:] == b"one"


def _option(label: str) -> LoadOption:
    return LoadOption.create(label, DevicePath.from_text(r"\EFI\x\boot.efi"), b"")


def test_efivarfs_plan_refused_when_another_writer_took_the_number(tmp_path: Path) -> None:
    mine = BootManager(EfivarfsStore(tmp_path, lock=False))
    theirs = BootManager(EfivarfsStore(tmp_path, lock=False))
    number, plan = mine.plan_add(_option("mine"))
    their_number, their_plan = theirs.plan_add(_option("theirs"))
    assert number == their_number == 0
    theirs.apply(their_plan)
    after_theirs = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    with pytest.raises(StoreError, match="Boot0000-8be4df61.* was created since efikit read it"):
        mine.apply(plan)
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == after_theirs


def test_efivarfs_changed_variable_is_not_overwritten_or_deleted(tmp_path: Path) -> None:
    EfivarfsStore(tmp_path).set("Shared", G, b"v1")
    mine = EfivarfsStore(tmp_path, lock=False)
    assert mine.get("Shared", G) is not None
    EfivarfsStore(tmp_path, lock=False).set("Shared", G, b"v2")
    with pytest.raises(StoreError, match="Shared-8be4df61.* changed since efikit read it"):
        mine.set("Shared", G, b"mine")
    with pytest.raises(StoreError, match="changed since efikit read it"):
        mine.delete("Shared", G)
    assert (tmp_path / f"Shared-{G}").read_bytes()[4:] == b"v2"
    assert mine.get("Shared", G).data == b"v2"  # type: ignore[union-attr]
    mine.set("Shared", G, b"mine")  # after reading it again the change goes through
    assert (tmp_path / f"Shared-{G}").read_bytes()[4:] == b"mine"
