"""`efikit vars`: list/get/set/rm/export/import on every backend, --dry-run and --backup."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, require_file
from efikit.vars.edk2 import Edk2Store
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.json_store import loads
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from test_vars_support import OVMF_DIR, run_cli

G = EFI_GLOBAL_VARIABLE
MACHINE = CORPUS / "efivars" / "efivar-test-data-lenovo-thinkpad-fedora-fwupd"


@pytest.fixture
def fd(tmp_path: Path) -> Path:
    path = tmp_path / "vars.fd"
    shutil.copy(require_file(OVMF_DIR / "OVMF_VARS_4M.ms.fd"), path)
    return path


@pytest.fixture
def efivars(tmp_path: Path) -> Path:
    path = tmp_path / "efivars"
    shutil.copytree(MACHINE, path)
    return path


def test_list_text_and_json(efivars: Path) -> None:
    code, out, _ = run_cli(["--vars", str(efivars), "vars", "list"])
    assert code == 0
    lines = out.decode().splitlines()
    assert f"BootOrder-{G}  nv,bs,rt  28" in lines
    assert len(lines) == len(list(efivars.iterdir()))
    code, out, _ = run_cli(["--vars", str(efivars), "vars", "list", "--json"])
    rows = json.loads(out)
    boot = next(r for r in rows if r["name"] == "BootCurrent")
    assert boot == {"name": "BootCurrent", "guid": str(G), "vendor": "global", "attr": 6,
                    "attributes": ["bs", "rt"], "size": 2}


def test_list_reports_unreadable_and_goes_on(efivars: Path) -> None:
    (efivars / f"Broken-{G}").write_bytes(b"\x07")
    code, out, _ = run_cli(["--vars", str(efivars), "vars", "list"])
    assert code == 0
    text = out.decode()
    assert f"Broken-{G}  <unreadable:" in text and f"BootOrder-{G}" in text


def test_get_modes(efivars: Path) -> None:
    raw = (efivars / f"BootOrder-{G}").read_bytes()
    base = ["--vars", str(efivars), "vars", "get"]
    assert run_cli(base + ["BootOrder", "--raw"])[1] == raw[4:]
    assert run_cli(base + [f"BootOrder-{G}", "--hex"])[1].decode().strip() == raw[4:].hex()
    doc = json.loads(run_cli(base + ["BootOrder", "--json"])[1])
    assert doc == {"name": "BootOrder", "guid": str(G), "attr": 7, "data": raw[4:].hex()}
    text = run_cli(base + ["BootOrder"])[1].decode()
    assert "attributes: nv,bs,rt (0x7)" in text and "size: 28" in text
    code, _, err = run_cli(base + ["Missing"])
    assert code == 1 and f"no variable Missing-{G}" in err
    code, _, err = run_cli(base + ["BootOrder-" + "1" * 36])
    assert code == 1


def test_set_rm_dry_run_and_backup(fd: Path, tmp_path: Path) -> None:
    base = ["--vars", str(fd), "vars"]
    before = fd.read_bytes()
    code, out, _ = run_cli(base + ["set", "Timeout", "--data-hex", "0500", "--dry-run"])
    assert code == 0 and b"would replace Timeout" in out
    assert fd.read_bytes() == before
    backup = tmp_path / "backup.json"
    code, out, _ = run_cli(base + ["set", "Timeout", "--data-hex", "05 00", "--backup",
                                   str(backup)])
    assert code == 0
    assert Edk2Store.open(fd).get("Timeout", G).data == b"\x05\x00"  # type: ignore[union-attr]
    saved = loads(backup.read_text())
    assert [(v.name, v.data) for v in saved] == [("Timeout", b"\x00\x00")]
    # restore what was overwritten
    code, out, _ = run_cli(base + ["import", str(backup)])
    assert code == 0
    assert Edk2Store.open(fd).get("Timeout", G).data == b"\x00\x00"  # type: ignore[union-attr]
    # new variable with attributes from a file
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"\x01\x02")
    vendor = "605dab50-e046-4300-abb6-3dd810dd8b23"
    code, out, _ = run_cli(base + ["set", f"MokSBState-{vendor}", "--data-file", str(payload),
                                   "--attrs", "nv,bs"])
    assert code == 0 and b"create MokSBState" in out
    var = Edk2Store.open(fd).get("MokSBState", __import__("uuid").UUID(vendor))
    assert var is not None and int(var.attributes) == 3 and var.data == b"\x01\x02"
    # rm
    code, out, _ = run_cli(base + ["rm", "Timeout", "--dry-run"])
    assert code == 0 and b"would delete" in out
    assert Edk2Store.open(fd).get("Timeout", G) is not None
    rm_backup = tmp_path / "rm-backup.json"  # a backup file is never overwritten
    code, out, _ = run_cli(base + ["rm", "Timeout", "--backup", str(rm_backup)])
    assert code == 0 and Edk2Store.open(fd).get("Timeout", G) is None
    assert [v.name for v in loads(rm_backup.read_text())] == ["Timeout"]
    code, _, err = run_cli(base + ["rm", "Timeout"])
    assert code == 1 and "no variable" in err


@pytest.mark.parametrize("args,words", [
    (["set", "X", "--data-hex", "zz"], "not hex"),
    (["set", "X"], "exactly one"),
    (["set", "X", "--data-hex", "00", "--attrs", "nv,bogus"], "unknown attribute"),
])
def test_bad_input_exits_2(efivars: Path, args: list[str], words: str) -> None:
    code, _, err = run_cli(["--vars", str(efivars), "vars", *args])
    assert code == 2 and words in err
    assert not (efivars / f"X-{G}").exists()


def test_export_import_between_backends(efivars: Path, fd: Path, tmp_path: Path) -> None:
    export = tmp_path / "machine.json"
    code, _, _ = run_cli(["--vars", str(efivars), "vars", "export", str(export)])
    assert code == 0
    exported = loads(export.read_text())
    assert len(exported) == len(list(efivars.iterdir()))
    code, out, _ = run_cli(["--vars", str(fd), "vars", "import", str(export), "--dry-run"])
    assert code == 0 and out.count(b"would ") == len(exported) - 0
    before = fd.read_bytes()
    assert fd.read_bytes() == before
    code, _, err = run_cli(["--vars", str(fd), "vars", "import", str(export)])
    assert code == 0 and "imported" in err
    store = Edk2Store.open(fd)
    for var in exported:
        got = store.get(var.name, var.vendor)
        assert got is not None and got.data == var.data and got.attributes == var.attributes
    # and into an empty efivarfs directory
    empty = tmp_path / "fresh"
    empty.mkdir()
    assert run_cli(["--vars", str(empty), "vars", "import", str(export)])[0] == 0
    assert sorted(map(str, EfivarfsStore(empty).list())) == sorted(
        map(str, EfivarfsStore(efivars).list()))
    # stdout export is the same document
    code, out, _ = run_cli(["--vars", str(efivars), "vars", "export", "-"])
    assert out.decode().strip() == export.read_text()


def test_import_rejects_bad_json(fd: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"variables": [{"name": "X"}]}')
    code, _, err = run_cli(["--vars", str(fd), "vars", "import", str(bad)])
    assert code == 2 and "guid" in err


def test_env_var_selects_the_store(efivars: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EFIKIT_VARS", str(efivars))
    code, out, _ = run_cli(["vars", "get", "BootCurrent", "--hex"])
    assert code == 0 and out.strip() == (efivars / f"BootCurrent-{G}").read_bytes()[4:].hex().encode()
