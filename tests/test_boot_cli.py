"""`efikit boot` end to end on efivarfs directories, .fd and .json stores."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, require_file
from efikit.boot import BootManager
from efikit.cli.main import main
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE as G
from test_boot_support import ESP, MACHINES, copy_machine

FWUPD = CORPUS / "efivars" / "fwupd-libfwupdplugin-tests"
LOADER = ESP + r"/\EFI\metropolis\boot-a.efi"


def run(capsys: pytest.CaptureFixture[str], store: Path | str,
        *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["--vars", str(store), "boot", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def fwupd(tmp_path: Path) -> Path:
    return copy_machine(FWUPD, tmp_path)


# ---- reading ----------------------------------------------------------------------------

@pytest.mark.parametrize("machine", MACHINES, ids=lambda p: p.name)
def test_list_verbose_like_efibootmgr(machine: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, copy_machine(machine, tmp_path), "list", "-v")
    assert code == 0
    reference = (CORPUS / "text" / f"{machine.name}.efibootmgr-v.txt").read_text().splitlines()
    # same lines up to the first TAB (headers, numbers, active marks, labels)
    assert [line.split("\t")[0] for line in out.splitlines()] == \
        [line.split("\t")[0] for line in reference]


def test_list_plain_and_json(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, fwupd, "list")
    assert code == 0
    assert out.splitlines() == ["BootOrder: 0000,0001,0002", "Boot0000* Linux-Firmware-Updater",
                                "Boot0001* Fedora", "Boot0002* Windows Boot Manager"]
    code, out, _ = run(capsys, fwupd, "list", "--json")
    doc = json.loads(out)
    assert doc["kind"] == "Boot" and doc["order"] == [0, 1, 2] and doc["boot_next"] is None
    assert doc["store"]["kind"] == "efivarfs"
    first = doc["entries"][0]
    assert first["name"] == "Boot0000" and first["number_hex"] == "0000"
    assert first["in_order"] and first["order_position"] == 0 and first["error"] is None
    assert first["variable_attributes"] == 7 and first["variable_attributes_text"] == "nv,bs,rt"
    assert first["option"]["description"] == "Linux-Firmware-Updater"
    assert first["option"]["device_paths"][0]["text"].endswith(r"\EFI\fedora\shimx64.efi")
    assert first["option"]["optional_data_text"] == r"\fwupdx64.efi"


def test_broken_entry_listed_and_skipped(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fwupd / f"Boot0005-{G}").write_bytes(b"\x07\x00\x00\x00\x01\x00\x00\x00\xff\x00")
    (fwupd / f"Boot0006-{G}").write_bytes(b"\x07\x00")  # shorter than the attribute word
    code, out, _ = run(capsys, fwupd, "list", "-v")
    assert code == 0
    lines = out.splitlines()
    assert lines[-2].startswith("Boot0005? <cannot decode")
    assert lines[-1].startswith("Boot0006? <cannot read")
    assert "Boot0002* Windows Boot Manager" in out
    code, out, _ = run(capsys, fwupd, "list", "--json")
    doc = json.loads(out)
    assert [e["name"] for e in doc["entries"] if e["error"]] == ["Boot0005", "Boot0006"]
    assert len(doc["problems"]) == 2
    # an unrelated change goes through; the broken entry can be removed
    assert run(capsys, fwupd, "deactivate", "1")[0] == 0
    assert run(capsys, fwupd, "rm", "6")[0] == 0
    assert not (fwupd / f"Boot0006-{G}").exists()


def test_lower_case_hex_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    machine = copy_machine(FWUPD, tmp_path)
    (machine / f"Boot0002-{G}").rename(machine / f"Boot000a-{G}")
    code, out, _ = run(capsys, machine, "list")
    assert "Boot000a* Windows Boot Manager" in out
    code, out, _ = run(capsys, machine, "show", "A")
    assert code == 0 and "label:         Windows Boot Manager" in out


def test_show(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, fwupd, "show", "Boot0000")
    assert code == 0
    assert "  label:         Linux-Firmware-Updater" in out
    assert "  optional data: '\\\\fwupdx64.efi'" in out
    assert "  BootOrder:     position 1" in out
    code, out, _ = run(capsys, fwupd, "show", "0", "--json")
    assert json.loads(out)["option"]["active"] is True
    code, _, err = run(capsys, fwupd, "show", "9")
    assert code == 1 and "no Boot0009" in err
    code, _, err = run(capsys, fwupd, "show", "zz")
    assert code == 2


def test_order_next_current_timeout_reads(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    machine = copy_machine(CORPUS / "efivars" / "efivar-test-data-vm-baytrail-x64-nosb", tmp_path)
    assert run(capsys, machine, "current")[1] == "BootCurrent: 000D\n"
    assert json.loads(run(capsys, machine, "current", "--json")[1]) == {
        "boot_current": 13, "boot_current_hex": "000D"}
    assert run(capsys, machine, "timeout")[1] == "Timeout: 0 seconds\n"
    assert json.loads(run(capsys, machine, "timeout", "--json")[1]) == {"timeout": 0}
    assert run(capsys, machine, "next")[1] == "BootNext is not set\n"
    assert json.loads(run(capsys, machine, "next", "--json")[1])["boot_next"] is None
    out = run(capsys, machine, "order")[1]
    assert out.splitlines()[:2] == ["BootOrder: 000D,000A,0001,0009,0000", "  Boot000D* Fedora"]
    assert run(capsys, machine, "order", "show")[1] == out
    doc = json.loads(run(capsys, machine, "order", "--json")[1])
    assert doc["order"] == [13, 10, 1, 9, 0] and doc["entries"][0]["label"] == "Fedora"
    assert json.loads(run(capsys, machine, "order", "show", "--json")[1]) == doc


def test_platform_recovery_read_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    machine = copy_machine(CORPUS / "efivars" / "efivar-test-data-vm-baytrail-x64-nosb", tmp_path)
    code, out, _ = run(capsys, machine, "list", "--kind", "platformrecovery")
    assert code == 0 and out.startswith("PlatformRecovery0000")
    code, _, _ = run(capsys, machine, "rm", "0", "--kind", "platformrecovery")
    assert code == 2  # not a choice for writing commands


# ---- writing ----------------------------------------------------------------------------

def test_add_edit_rm_cycle(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, fwupd, "add", "--label", "Slot A", "--device-path", LOADER,
                       "--data", "quiet", "--first")
    assert code == 0 and out.startswith("create Boot0003")
    manager = BootManager(EfivarfsStore(fwupd))
    assert manager.order() == (3, 0, 1, 2)
    new = manager.option(3)
    assert new.description == "Slot A" and new.active
    assert new.optional_data == "quiet\0".encode("utf-16-le")

    code, out, _ = run(capsys, fwupd, "edit", "3", "--label", "Slot B",
                       "--device-path", ESP + r"/\EFI\metropolis\boot-b.efi", "--no-data",
                       "--hidden")
    assert code == 0, out
    edited = manager.option(3)
    assert edited.description == "Slot B" and edited.hidden and edited.optional_data == b""
    assert edited.device_path is not None
    assert edited.device_path.file_path() == r"\EFI\metropolis\boot-b.efi"

    for command, check in (("deactivate", lambda o: not o.active),
                           ("activate", lambda o: o.active),
                           ("unhide", lambda o: not o.hidden),
                           ("hide", lambda o: o.hidden)):
        assert run(capsys, fwupd, command, "3")[0] == 0
        assert check(manager.option(3)), command

    code, _, _ = run(capsys, fwupd, "edit", "3", "--attributes", "0x109")
    assert code == 0 and int(manager.option(3).attributes) == 0x109

    assert run(capsys, fwupd, "rm", "3")[0] == 0
    assert manager.order() == (0, 1, 2) and 3 not in manager.numbers()


def test_add_usage_errors(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files(fwupd)
    assert run(capsys, fwupd, "add", "--label", "x")[0] == 2
    assert run(capsys, fwupd, "add", "--label", "x", "--device-path",
               "HD(1,GPT,notaguid,0x800,0x100)")[0] == 2
    code, _, err = run(capsys, fwupd, "add", "--label", "x", "--device-path", "Nope(1)",
                       "--dry-run")
    assert code == 2 and "expected a device-path keyword, not 'Nope'" in err  # issue 10
    assert run(capsys, fwupd, "add", "--label", "x", "--device-path", LOADER,
               "--disk", "d.img", "--part", "1", "--loader", "x")[0] == 2
    assert run(capsys, fwupd, "add", "--label", "x", "--device-path", LOADER,
               "--data", "a", "--data-hex", "00")[0] == 2
    assert run(capsys, fwupd, "edit", "1")[0] == 2
    assert files(fwupd) == before


def test_dry_run_writes_nothing(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files(fwupd)
    for args in (["add", "-L", "x", "--device-path", LOADER], ["edit", "1", "-L", "y"],
                 ["rm", "0"], ["deactivate", "2"], ["order", "set", "2,1,0"],
                 ["order", "move", "2", "--to", "first"], ["order", "dedupe"],
                 ["order", "prune"], ["next", "1"], ["timeout", "9"]):
        code, out, _ = run(capsys, fwupd, *args, "--dry-run")
        assert code == 0, args
        assert out.startswith("would ") or out == "no change\n", (args, out)
    assert files(fwupd) == before
    out = run(capsys, fwupd, "order", "set", "2,1,0", "--dry-run")[1]
    assert out.splitlines() == ["would update BootOrder:", "  was: 0000,0001,0002",
                                "  now: 0002,0001,0000"]


def test_backup_then_vars_import_restores(fwupd: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = files(fwupd)
    backup = tmp_path / "backup.json"
    code, _, err = run(capsys, fwupd, "rm", "1", "--backup", str(backup))
    assert code == 0 and "2 variable(s) saved" in err
    assert files(fwupd) != before
    doc = json.loads(backup.read_text())
    assert {e["name"] for e in doc["variables"]} == {"Boot0001", "BootOrder"}
    # `efikit vars import` restores it byte for byte
    capsys.readouterr()
    main(["--vars", str(fwupd), "vars", "import", str(backup)])
    assert files(fwupd) == before
    # a second command may not clobber the first backup
    code, _, err = run(capsys, fwupd, "rm", "1", "--backup", str(backup))
    assert code == 2 and "exists" in err


def test_backup_of_edit_on_fd_restores(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    fd = tmp_path / "vars.fd"
    shutil.copyfile(require_file("/usr/share/OVMF/OVMF_VARS_4M.ms.fd"), fd)
    assert run(capsys, fd, "add", "-L", "A", "--device-path", LOADER)[0] == 0
    before = fd.read_bytes()
    from efikit.vars.edk2 import Edk2Store
    entries = BootManager(Edk2Store.open(fd)).numbers()
    backup = tmp_path / "b.json"
    assert run(capsys, fd, "edit", f"{entries[-1]:04X}", "-L", "B", "--backup", str(backup),
               "--data", "x")[0] == 0
    assert fd.read_bytes() != before
    main(["--vars", str(fd), "vars", "import", str(backup)])
    restored = BootManager(Edk2Store.open(fd)).option(entries[-1])
    assert restored.description == "A" and restored.optional_data == b""


def test_order_commands(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manager = BootManager(EfivarfsStore(fwupd))
    assert run(capsys, fwupd, "order", "set", "2,0")[0] == 0
    assert manager.order() == (2, 0)
    assert run(capsys, fwupd, "order", "set", "2", "9")[0] == 1  # no Boot0009
    assert run(capsys, fwupd, "order", "set", "2,2")[0] == 2
    assert run(capsys, fwupd, "order", "set", "2,9,0,2x")[0] == 2
    assert run(capsys, fwupd, "order", "set", "--force", "2,9,0,0009")[0] == 2  # duplicate 9
    assert run(capsys, fwupd, "order", "set", "--force", "2,9,0,1,0")[0] == 2
    assert run(capsys, fwupd, "order", "set", "--force", "2", "9", "0", "1")[0] == 0
    assert manager.order() == (2, 9, 0, 1)
    assert run(capsys, fwupd, "order", "move", "1", "--to", "1")[0] == 0
    assert manager.order() == (1, 2, 9, 0)
    assert run(capsys, fwupd, "order", "move", "1", "--to", "last")[0] == 0
    assert manager.order() == (2, 9, 0, 1)
    assert run(capsys, fwupd, "order", "move", "1", "--to", "0")[0] == 2
    assert run(capsys, fwupd, "order", "prune")[0] == 0
    assert manager.order() == (2, 0, 1)
    (fwupd / f"BootOrder-{G}").write_bytes(b"\x07\x00\x00\x00" + bytes([1, 0, 1, 0, 2, 0]))
    assert run(capsys, fwupd, "order", "dedupe")[0] == 0
    assert manager.order() == (1, 2)


def test_next_and_timeout(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manager = BootManager(EfivarfsStore(fwupd))
    code, _, err = run(capsys, fwupd, "next", "7")
    assert code == 1 and "--force" in err
    assert run(capsys, fwupd, "next", "7", "--force")[0] == 0 and manager.boot_next() == 7
    assert run(capsys, fwupd, "next", "2")[0] == 0 and manager.boot_next() == 2
    assert run(capsys, fwupd, "next", "--clear")[0] == 0 and manager.boot_next() is None
    assert run(capsys, fwupd, "next", "2", "--clear")[0] == 2
    assert run(capsys, fwupd, "timeout", "30")[0] == 0 and manager.timeout() == 30
    assert run(capsys, fwupd, "timeout", "70000")[0] == 2
    assert run(capsys, fwupd, "timeout", "--clear")[0] == 0 and manager.timeout() is None


def test_driver_kind(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, fwupd, "add", "--kind", "driver", "-L", "drv",
               "--device-path", LOADER)[0] == 0
    assert (fwupd / f"Driver0000-{G}").exists()
    out = run(capsys, fwupd, "list", "--kind", "driver")[1]
    assert out.splitlines() == ["DriverOrder: 0000", "Driver0000* drv"]
    assert run(capsys, fwupd, "order", "--kind", "driver", "set", "0")[0] == 0


@pytest.mark.parametrize("fmt", ["fd", "json"])
def test_file_stores(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    fd = tmp_path / "vars.fd"
    shutil.copyfile(require_file("/usr/share/OVMF/OVMF_VARS_4M.fd"), fd)
    store = fd
    if fmt == "json":
        from efikit.vars.edk2 import Edk2Store
        from efikit.vars.json_store import write_json
        store = tmp_path / "vars.json"
        write_json(store, Edk2Store.open(fd).variables())
    assert run(capsys, store, "add", "-L", "A", "--device-path", LOADER)[0] == 0
    assert run(capsys, store, "next", "0")[0] == 0
    out = run(capsys, store, "list", "-v")[1]
    assert out.splitlines() == ["BootNext: 0000", "BootOrder: 0000",
                                "Boot0000* A\t" + LOADER.replace("\\", "\\")]


def test_add_from_disk_image(tmp_path: Path, fwupd: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    sgdisk = shutil.which("sgdisk")
    if sgdisk is None:
        from conftest import require_tool
        require_tool("sgdisk")
    image = tmp_path / "disk.img"
    with image.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    guid = "11111111-2222-3333-4444-555555555555"
    subprocess.run([str(sgdisk), "-n", "1:2048:+32M", "-t", "1:ef00", "-u", f"1:{guid}",
                    str(image)], check=True, capture_output=True)
    code, out, err = run(capsys, fwupd, "add", "-L", "disk", "--disk", str(image), "--part", "1",
                         "--loader", "/EFI/x/y.efi")
    assert code == 0, err
    option = BootManager(EfivarfsStore(fwupd)).option(3)
    assert option.device_path is not None
    assert option.device_path.to_text() == (
        "HD(1,GPT,11111111-2222-3333-4444-555555555555,0x800,0x10000)/\\EFI\\x\\y.efi")


def test_exit_codes_through_the_console_script(fwupd: Path) -> None:
    def efikit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "efikit", "--vars", str(fwupd), "boot",
                               *args], capture_output=True, text=True)

    assert efikit("list").returncode == 0
    missing = efikit("rm", "9")
    assert missing.returncode == 1 and missing.stderr.startswith("efikit: error: no Boot0009")
    assert efikit("show", "nothex").returncode == 2
    assert "Traceback" not in missing.stderr
