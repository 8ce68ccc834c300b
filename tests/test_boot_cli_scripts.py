"""`efikit boot` for scripts: add reuses, ensure, dedupe, selection by label/path, --json
write results (applied, dry run, failed part-way)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from efikit.boot import BootManager
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE as G
from test_boot_cli import FWUPD, LOADER, files, run
from test_boot_support import ESP, copy_machine

SLOT_A = ESP + r"/\EFI\m\boot-a.efi"


@pytest.fixture
def fwupd(tmp_path: Path) -> Path:
    return copy_machine(FWUPD, tmp_path)


def doc(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> tuple[int, Any, str]:
    code, out, err = run(capsys, store, *args, "--json")
    return code, json.loads(out) if out else None, err


def test_add_twice_reuses_the_entry(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER)[0] == 0
    before = files(fwupd)
    code, out, _ = run(capsys, fwupd, "add", "-L", "M2", "--device-path",
                       LOADER.replace(r"\EFI\metropolis", r"\efi\METROPOLIS"))
    assert code == 0
    assert out.splitlines()[0].startswith(
        "Boot0003 already boots this loader with this data (label 'M'): reused it")
    assert files(fwupd) == before
    code, out, _ = run(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER,
                       "--allow-duplicate")
    assert code == 0 and out.startswith("create Boot0004")


def test_add_reuse_with_first_reorders_once(fwupd: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER)
    code, result, _ = doc(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER, "--first")
    assert code == 0 and result["action"] == "reused" and result["entry"] == "Boot0003"
    assert [c["name"] for c in result["changes"]] == ["BootOrder"]
    assert result["changes"][0]["after"] == "0300000001000200"
    code, result, _ = doc(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER, "--first")
    assert result["result"] == "unchanged" and result["changes"] == []


def test_ensure_create_update_unchanged(fwupd: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, fwupd, "ensure", "-L", "Slot A", "--device-path", SLOT_A,
                       "--first")
    assert code == 0 and out.startswith("create Boot0003")
    assert BootManager(EfivarfsStore(fwupd)).order() == (3, 0, 1, 2)
    before = files(fwupd)
    code, out, _ = run(capsys, fwupd, "ensure", "-L", "Slot A", "--device-path", SLOT_A,
                       "--first")
    assert (code, out) == (0, "Boot0003: unchanged\n") and files(fwupd) == before
    # other data: no entry boots this, the one labelled "Slot A" becomes it
    code, result, _ = doc(capsys, fwupd, "ensure", "-L", "Slot A", "--device-path",
                          SLOT_A, "--data", "x", "--inactive")
    assert result["action"] == "updated" and result["entry"] == "Boot0003"
    option = BootManager(EfivarfsStore(fwupd)).option(3)
    assert option.active is False and option.optional_data_text() == "x"
    assert BootManager(EfivarfsStore(fwupd)).numbers() == [0, 1, 2, 3]


def test_dedupe_dry_run_then_merge(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for label in ("M", "M copy"):
        run(capsys, fwupd, "add", "-L", label, "--device-path", LOADER, "--allow-duplicate")
    run(capsys, fwupd, "next", "4")
    before = files(fwupd)
    code, out, _ = run(capsys, fwupd, "dedupe", "--dry-run")
    assert code == 0 and files(fwupd) == before
    assert out.splitlines()[:2] == ["keep Boot0003, merge Boot0004", "would update BootOrder:"]
    code, result, _ = doc(capsys, fwupd, "dedupe")
    assert result["merges"] == [{"kept": "Boot0003", "removed": ["Boot0004"]}]
    assert [(c["name"], c["action"]) for c in result["changes"]] == [
        ("BootOrder", "update"), ("BootNext", "update"), ("Boot0004", "delete")]
    assert not (fwupd / f"Boot0004-{G}").exists()
    assert BootManager(EfivarfsStore(fwupd)).boot_next() == 3


def test_selection_by_label_and_path(fwupd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, fwupd, "show", "--label", "Fedora")
    assert code == 0 and out.startswith("Boot0001\n")
    code, _, err = run(capsys, fwupd, "show", "--path", "/efi/FEDORA/shimx64.efi")
    assert code == 2 and err.strip() == (
        "efikit: error: 2 entries match: Boot0000 (Linux-Firmware-Updater), "
        "Boot0001 (Fedora); name one by its number")
    code, _, err = run(capsys, fwupd, "deactivate", "--label", "fedora")
    assert code == 1 and "labels differ only in case: Boot0001" in err
    assert run(capsys, fwupd, "deactivate", "--label", "Fedora")[0] == 0
    assert run(capsys, fwupd, "edit", "--select-label", "Fedora", "--label", "F")[0] == 0
    assert run(capsys, fwupd, "next", "--path", r"\EFI\Microsoft\Boot\bootmgfw.efi")[0] == 0
    assert run(capsys, fwupd, "order", "move", "--label", "F", "--to", "first")[0] == 0
    manager = BootManager(EfivarfsStore(fwupd))
    assert manager.option(1).description == "F" and not manager.option(1).active
    assert manager.boot_next() == 2 and manager.order() == (1, 0, 2)
    assert run(capsys, fwupd, "rm", "--label", "F")[0] == 0
    code, out, _ = run(capsys, fwupd, "rm", "--label", "F", "--missing-ok")
    assert (code, out) == (0, "no Boot#### entry labelled 'F': nothing to do\n")
    assert run(capsys, fwupd, "rm", "--label", "F")[0] == 1


def test_json_write_result_dry_run_and_applied(fwupd: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = files(fwupd)
    code, result, _ = doc(capsys, fwupd, "timeout", "7", "--dry-run")
    assert code == 0 and files(fwupd) == before
    assert result["schema"] == "efikit-write-result/1" and result["command"] == "boot timeout"
    assert result["result"] == "dry-run" and result["dry_run"] is True
    assert result["changes"] == [{
        "type": "variable", "name": "Timeout", "guid": str(G), "action": "create",
        "before": None, "after": "0700", "attributes_before": None, "attributes_after": 7,
        "text": ["create Timeout (nv,bs,rt): 7 seconds"], "status": "planned"}]
    code, result, _ = doc(capsys, fwupd, "rm", "1", "--backup", str(fwupd.parent / "b.json"))
    assert result["result"] == "applied"
    assert result["backup"] == {"file": str(fwupd.parent / "b.json"), "variables": 2}
    assert [(c["name"], c["action"], c["status"]) for c in result["changes"]] == [
        ("BootOrder", "update", "applied"), ("Boot0001", "delete", "applied")]
    assert result["changes"][0]["before"] == "000001000200"
    assert result["changes"][1]["after"] is None
    code, result, _ = doc(capsys, fwupd, "order", "prune")
    assert result["result"] == "unchanged" and result["command"] == "boot order prune"


def test_json_failure_on_efivarfs_says_what_was_applied(
        fwupd: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from efikit.errors import StoreError

    original = EfivarfsStore.set

    def failing(self: EfivarfsStore, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "BootOrder":
            raise StoreError("cannot write BootOrder: No space left on device")
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(EfivarfsStore, "set", failing)
    code, result, err = doc(capsys, fwupd, "add", "-L", "M", "--device-path", LOADER)
    assert code == 1
    assert err.strip() == ("efikit: error: cannot write BootOrder: No space left on device "
                           "(while writing BootOrder; already applied: create Boot0003)")
    assert result["result"] == "failed" and result["failed_change"] == 1
    assert [(c["name"], c["status"]) for c in result["changes"]] == [
        ("Boot0003", "applied"), ("BootOrder", "failed")]
    assert (fwupd / f"Boot0003-{G}").exists()


def test_json_failure_on_fd_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import require_file
    from efikit.vars.edk2 import Edk2Store

    fd = tmp_path / "vars.fd"
    fd.write_bytes(require_file("/usr/share/OVMF/OVMF_VARS_4M.fd").read_bytes())
    before = fd.read_bytes()

    def broken_flush(self: Edk2Store) -> None:
        raise OSError(28, "No space left on device", str(fd))

    monkeypatch.setattr(Edk2Store, "_flush", broken_flush)
    code, result, err = doc(capsys, fd, "add", "-L", "M", "--device-path", LOADER)
    assert code == 1 and fd.read_bytes() == before
    assert err.strip() == f"efikit: error: No space left on device: {fd} (nothing was changed)"
    assert result["failed_change"] is None
    assert [c["status"] for c in result["changes"]] == ["not-applied", "not-applied"]
