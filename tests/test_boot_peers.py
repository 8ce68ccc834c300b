"""Peers: efibootmgr (libefivar) on a fake efivarfs, virt-fw-vars on edk2 varstores.

efibootmgr cannot create entries without a real disk, so efikit creates them and efibootmgr
changes them with -n/-N/-o/-a/-A/-b -B/-t/-T; each side reads what the other wrote.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require_file, require_tool
from efikit.boot import BootManager
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.vars.edk2 import Edk2Store
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.json_store import JsonStore
from test_boot_libefivar import libefivar_spelling
from test_boot_support import ESP, MACHINES, copy_machine, option
from test_vars_support import venv_tool

pytestmark = pytest.mark.peer

LABELS = ("Slot A", "Slot B", "Ünïcode label")


def efibootmgr(directory: Path, *args: str) -> str:
    require_tool("efibootmgr")
    env = dict(os.environ, EFIVARFS_PATH=f"{directory}/")  # libefivar needs the slash
    done = subprocess.run(["efibootmgr", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def populated(tmp_path: Path) -> tuple[Path, BootManager]:
    directory = tmp_path / "efivars"
    directory.mkdir()
    manager = BootManager(EfivarfsStore(directory))
    for index, label in enumerate(LABELS):
        loader = rf"\EFI\metropolis\boot-{index}.efi"
        manager.apply(manager.plan_add(option(label, loader))[1])
    return directory, manager


def test_efibootmgr_lists_what_efikit_wrote(tmp_path: Path) -> None:
    directory, manager = populated(tmp_path)
    manager.apply(manager.plan_next(2) + manager.plan_timeout(4)
                  + manager.plan_set_flag(1, option("x").attributes.__class__.ACTIVE, False))
    lines = efibootmgr(directory, "-v").splitlines()
    assert lines[:3] == ["BootNext: 0002", "Timeout: 4 seconds", "BootOrder: 0000,0001,0002"]
    entries = lines[3:]
    assert len(entries) == 3
    for line, entry in zip(entries, manager.entries()):
        assert entry.option is not None and entry.option.device_path is not None
        mark = "*" if entry.option.active else " "
        assert line == (f"{entry.name}{mark} {entry.option.description}\t"
                        + libefivar_spelling(entry.option.device_path))


def test_efibootmgr_lists_efikit_optional_data(tmp_path: Path) -> None:
    directory, manager = populated(tmp_path)
    manager.apply(manager.plan_edit(0, optional_data="quiet\0".encode("utf-16-le")))
    line = efibootmgr(directory, "-v").splitlines()[1]
    # libefivar glues optional data to the path, showing UCS-2 as dotted bytes
    assert line.endswith(r"/File(\EFI\metropolis\boot-0.efi)q.u.i.e.t...")


@pytest.mark.parametrize("machine", MACHINES, ids=lambda p: p.name)
def test_efibootmgr_agrees_on_corpus_after_efikit_edit(machine: Path, tmp_path: Path) -> None:
    """efikit edits an entry in place on a real machine's dump; efibootmgr sees the edit and
    every other entry unchanged."""
    directory = copy_machine(machine, tmp_path)
    before = efibootmgr(directory, "-v").splitlines()
    manager = BootManager(EfivarfsStore(directory))
    target = manager.entries()[0]
    manager.apply(manager.plan_edit(target.number, description="efikit was here"))
    after = efibootmgr(directory, "-v").splitlines()
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(before) == len(after) and len(changed) == 1
    old, new = changed[0]
    assert target.option is not None
    assert new == old.replace(f" {target.option.description}\t", " efikit was here\t", 1)


def test_efikit_reads_what_efibootmgr_wrote(tmp_path: Path) -> None:
    directory, manager = populated(tmp_path)
    efibootmgr(directory, "-n", "0002")
    assert manager.boot_next() == 2
    efibootmgr(directory, "-o", "0002,0000,0001")
    assert manager.order() == (2, 0, 1)
    efibootmgr(directory, "-b", "0001", "-A")
    assert not manager.option(1).active
    efibootmgr(directory, "-b", "0001", "-a")
    assert manager.option(1).active
    efibootmgr(directory, "-t", "9")
    assert manager.timeout() == 9
    efibootmgr(directory, "-T")
    assert manager.timeout() is None
    efibootmgr(directory, "-N")
    assert manager.boot_next() is None
    efibootmgr(directory, "-b", "0000", "-B")
    assert manager.numbers() == [1, 2]
    assert [e.option.description for e in manager.entries() if e.option] == list(LABELS[1:])
    # efibootmgr 17 -B mangles BootOrder (2,0,1 -> 2,1,1: shifted, not shortened); whatever it
    # left, dedupe + prune repair it
    manager.apply(manager.plan_order_dedupe())
    manager.apply(manager.plan_order_prune())
    assert manager.order() == (2, 1)
    assert "BootOrder: 0002,0001" in efibootmgr(directory)


def test_efibootmgr_sees_efikit_order_and_next_changes(tmp_path: Path) -> None:
    directory, manager = populated(tmp_path)
    manager.apply(manager.plan_order_move(2, 0))
    manager.apply(manager.plan_delete(1))
    manager.apply(manager.plan_next(0))
    lines = efibootmgr(directory).splitlines()
    assert lines[:2] == ["BootNext: 0000", "BootOrder: 0002,0000"]
    assert lines[2:] == ["Boot0000* Slot A", "Boot0002* Ünïcode label"]


# ---- virt-fw-vars -------------------------------------------------------------------------

def _virt(*args: str) -> str:
    tool = venv_tool("virt-fw-vars")
    done = subprocess.run([tool, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.mark.parametrize("name", ["OVMF_VARS_4M.fd", "OVMF_VARS_4M.ms.fd",
                                  "OVMF_VARS_4M.snakeoil.fd"])
def test_virt_fw_vars_shows_entries_efikit_wrote(name: str, tmp_path: Path) -> None:
    fd = tmp_path / name
    shutil.copyfile(require_file(Path("/usr/share/OVMF") / name), fd)
    manager = BootManager(Edk2Store.open(fd))
    order = list(manager.order() or ())
    added = []
    for index, label in enumerate(LABELS):
        number, plan = manager.plan_add(option(label, rf"\EFI\metropolis\boot-{index}.efi"))
        manager.apply(plan)
        added.append(number)
    manager.apply(manager.plan_next(added[1]) + manager.plan_timeout(3))
    printed = _virt("-i", str(fd), "--print", "-v")
    for index, label in enumerate(LABELS):
        assert f'title="{label}"' in printed
        assert rf"FilePath(\EFI\metropolis\boot-{index}.efi)" in printed
    out = tmp_path / "virt.json"
    _virt("-i", str(fd), "--output-json", str(out))
    theirs = {e["name"]: e for e in json.loads(out.read_text())["variables"]}
    for entry in manager.entries():
        assert entry.variable is not None
        assert theirs[entry.name]["data"] == entry.variable.data.hex()
    assert theirs["BootOrder"]["data"] == b"".join(
        n.to_bytes(2, "little") for n in order + added).hex()
    assert theirs["BootNext"]["data"] == added[1].to_bytes(2, "little").hex()
    assert theirs["Timeout"]["data"] == "0300"


def test_efikit_reads_what_virt_fw_vars_wrote_and_json_round_trips(tmp_path: Path) -> None:
    src = require_file("/usr/share/OVMF/OVMF_VARS_4M.fd")
    fd = tmp_path / "out.fd"
    _virt("-i", str(src), "-o", str(fd), "--append-boot-filepath", r"\EFI\efikit\boot.efi",
          "--set-boot-uri", "http://example.test/boot.iso")
    from_fd = BootManager(Edk2Store.open(fd)).status()
    assert from_fd.problems == ()
    paths = [e.option.device_path.to_text() for e in from_fd.entries
             if e.option and e.option.device_path]
    assert r"\EFI\efikit\boot.efi" in paths
    assert any(p.startswith("Uri(http://example.test/boot.iso") or "Uri(" in p for p in paths)
    assert from_fd.boot_next is not None and from_fd.order

    exported = tmp_path / "virt.json"
    _virt("-i", str(fd), "--output-json", str(exported))
    from_json = BootManager(JsonStore.open(exported)).status()
    assert [(e.name, e.option) for e in from_json.entries] == \
        [(e.name, e.option) for e in from_fd.entries]
    assert (from_json.order, from_json.boot_next) == (from_fd.order, from_fd.boot_next)

    # efikit edits the JSON; virt-fw-vars applies it to a fresh .fd with --set-json
    json_manager = BootManager(JsonStore.open(exported))
    extra = LoadOption.create("from json", DevicePath.from_text(ESP + r"/\EFI\j.efi"))
    number, plan = json_manager.plan_add(extra, first=True)
    json_manager.apply(plan)
    merged = tmp_path / "merged.fd"
    _virt("-i", str(src), "-o", str(merged), "--set-json", str(exported))
    result = BootManager(Edk2Store.open(merged))
    assert result.option(number) == extra
    assert result.order() == json_manager.order()
