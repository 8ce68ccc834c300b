"""Every write command, run twice with the same arguments, changes nothing the second time:
on an efivarfs directory, an edk2 .fd varstore and a virt-fw-vars JSON store the store's bytes
after the second run equal those after the first."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import require_file
from efikit.cli.main import main
from efikit.vars.efivarfs import EfivarfsStore
from test_boot_cli import FWUPD
from test_boot_support import ESP

LOADER = ESP + r"/\EFI\metropolis\boot-a.efi"
OTHER = ESP + r"/\EFI\metropolis\boot-b.efi"
WINDOWS = r"\EFI\Microsoft\Boot\bootmgfw.efi"

# In sequence on one store, each twice. The fwupd machine has Boot0000..0002; the first add
# creates Boot0003 (labelled M), the ensure Boot0004 (Slot B).
SETUP = ("(setup, run once)",)
COMMANDS: list[tuple[str, ...]] = [
    ("boot", "add", "-L", "M", "--device-path", LOADER),
    ("boot", "add", "-L", "M", "--device-path", LOADER, "--first"),
    ("boot", "ensure", "-L", "Slot B", "--device-path", OTHER, "--data", "x=1"),
    ("boot", "ensure", "-L", "Slot B", "--device-path", OTHER, "--first"),
    # select by what does not change: a rename selected by its old label finds nothing the
    # second time (exit 1, nothing changed), as it should
    ("boot", "edit", "--path", OTHER.split("/", 1)[1], "--label", "Slot B2"),
    ("boot", "edit", "--select-label", "Slot B2", "--data-hex", "00ff"),
    ("boot", "deactivate", "--label", "M"),
    ("boot", "activate", "--path", LOADER.split("/")[-1]),
    ("boot", "hide", "0003"),
    ("boot", "unhide", "Boot0003"),
    ("boot", "order", "set", "0,1,2,3,4"),
    ("boot", "order", "move", "--path", WINDOWS, "--to", "first"),
    SETUP + ("vars", "set", "BootOrder", "--data-hex", "02000000000001000300040009000200"),
    ("boot", "order", "dedupe"),
    ("boot", "order", "prune"),
    ("boot", "add", "--kind", "driver", "-L", "drv", "--device-path", LOADER),
    SETUP + ("boot", "add", "--kind", "driver", "-L", "drv2", "--device-path", OTHER),
    ("boot", "order", "--kind", "driver", "move", "0", "--to", "last"),
    ("boot", "next", "--label", "M"),
    ("boot", "next", "--clear"),
    ("boot", "timeout", "5"),
    ("boot", "timeout", "--clear"),
    SETUP + ("boot", "add", "-L", "M again", "--device-path", LOADER, "--allow-duplicate"),
    ("boot", "dedupe"),
    ("boot", "rm", "--label", "Slot B2", "--missing-ok"),
    ("boot", "rm", "--kind", "driver", "0", "--missing-ok"),
    ("vars", "set", "EfikitTest", "--data-hex", "0102", "--attrs", "nv,bs,rt"),
    ("vars", "rm", "EfikitTest"),  # the second run fails (exit 1): nothing to delete
]
SECOND_RUN_FAILS = {("vars", "rm", "EfikitTest")}


def _store(kind: str, tmp_path: Path) -> Path:
    machine = tmp_path / "efivars"
    shutil.copytree(FWUPD, machine)
    if kind == "efivarfs":
        return machine
    variables = EfivarfsStore(machine).variables()
    fd = tmp_path / "vars.fd"
    shutil.copyfile(require_file("/usr/share/OVMF/OVMF_VARS_4M.fd"), fd)
    from efikit.vars.edk2 import Edk2Store

    store = Edk2Store.open(fd)
    with store.batch():
        for var in variables:
            store.set(var.name, var.vendor, var.data, var.attributes)
    if kind == "fd":
        return fd
    from efikit.vars.json_store import write_json

    target = tmp_path / "vars.json"
    write_json(target, Edk2Store.open(fd).variables())
    return target


def _bytes(store: Path) -> dict[str, bytes]:
    if store.is_dir():
        return {p.name: p.read_bytes() for p in sorted(store.iterdir())}
    return {store.name: store.read_bytes()}


def _run(store: Path, args: tuple[str, ...]) -> int:
    """efikit ARGS on ``store``; a directory that is not a store only matters to the
    commands that use no store (they name their own with --vars)."""
    argv = list(args) if args[0] in ("--vars", "stamp") else ["--vars", str(store), *args]
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("kind", ["efivarfs", "fd", "json"])
def test_each_write_command_twice_changes_nothing_the_second_time(
        kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(kind, tmp_path)
    for args in COMMANDS:
        if args[:1] == SETUP:
            assert _run(store, args[1:]) == 0, (args, capsys.readouterr())
            continue
        before = _bytes(store)
        assert _run(store, args) == 0, (args, capsys.readouterr())
        assert _bytes(store) != before, f"{args}: the first run changed nothing"
        first = _bytes(store)
        expected = 1 if args in SECOND_RUN_FAILS else 0
        assert _run(store, args) == expected, (args, capsys.readouterr())
        assert _bytes(store) == first, f"{args}: the second run changed the store"
        capsys.readouterr()


def test_slot_and_stamp_commands_twice_change_nothing_the_second_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The A/B commands on the sample machine (.fd varstore + GPT image through mtools) and
    the stamp commands on a loader: the varstore, the disk image and the loader keep their
    bytes on the second run. (slot rollback is not here: with a trial pending it cancels
    the trial, and run again it puts the other slot first, by design.)"""
    from conftest import require_tool

    require_tool("mcopy", "mdir", "mdel", "mren", "mmd")
    sample = Path(__file__).resolve().parents[1] / "fixtures"
    varstore, disk = tmp_path / "OVMF_VARS.fd", tmp_path / "disk.img"
    shutil.copyfile(sample / "sample-machine" / "OVMF_VARS.fd", varstore)
    shutil.copyfile(sample / "sample-machine" / "disk.img", disk)
    loader = tmp_path / "boot-b.efi"
    shutil.copyfile(sample / "pe" / "boot-b.efi", loader)
    new_loader = str(sample / "pe" / "loader-unsigned.efi")
    machine = ("--vars", str(varstore), "slot")
    runs = [
        (*machine, "stage", "B", "--loader", new_loader, "--disk", str(disk), "--running", "A"),
        (*machine, "commit", "--running", "B", "--disk", str(disk)),
        (*machine, "recover", "--disk", str(disk)),
        ("stamp", "set", str(loader), "--slot", "B"),
        ("stamp", "clear", str(loader)),
    ]

    def state() -> list[bytes]:
        return [p.read_bytes() for p in (varstore, disk, loader)]

    for args in runs:
        before = state()
        assert _run(tmp_path, args) == 0, (args, capsys.readouterr())
        first = state()
        if args[2:4] != ("slot", "recover"):  # the machine is healthy: nothing to recover
            assert first != before, f"{args}: the first run changed nothing"
        assert _run(tmp_path, args) == 0, (args, capsys.readouterr())
        assert state() == first, f"{args}: the second run changed something"
        capsys.readouterr()
