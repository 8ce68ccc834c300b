"""JSON store in virt-fw-vars' format; round trips with virt-fw-vars both ways; open_store."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS, require_file
from efikit.errors import StoreError
from efikit.vars.edk2 import Edk2Store
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.json_store import JsonStore, dumps, loads, write_json
from efikit.vars.memory import MemoryStore
from efikit.vars.open import detect_kind, open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableAttributes
from test_vars_support import FAULTS, OVMF_DIR, crash_before_rename, failing, venv_tool

G = EFI_GLOBAL_VARIABLE


def test_dumps_loads_round_trip() -> None:
    stamp = bytes(range(16))
    variables = [
        Variable("Boot0001", G, VariableAttributes(7), b"\x01\x02"),
        Variable("PK", G, VariableAttributes(0x27), b"pk", stamp),
        Variable("Unknown", G, VariableAttributes(0x8000_0007), b""),
    ]
    text = dumps(variables)
    doc = json.loads(text)
    assert doc["version"] == 2
    assert doc["variables"][0] == {"name": "Boot0001", "guid": str(G), "attr": 7, "data": "0102"}
    assert doc["variables"][1]["time"] == stamp.hex()
    assert list(doc["variables"][1]) == ["name", "guid", "attr", "data", "time"]
    assert loads(text) == variables
    assert not text.endswith("\n")


@pytest.mark.parametrize("doc,words", [
    ("not json", "not JSON"),
    ('{"variables": 3}', "variables"),
    ('{"version": 9, "variables": []}', "unsupported"),
    ('{"variables": [{"name": "X", "guid": "nope", "attr": 7, "data": ""}]}', r"variables\[0\].*GUID"),
    ('{"variables": [{"name": "X", "guid": "%s", "attr": -1, "data": ""}]}' % G, "attr"),
    ('{"variables": [{"name": "X", "guid": "%s", "attr": 7, "data": "zz"}]}' % G, "not hex"),
    ('{"variables": [{"name": "X", "guid": "%s", "attr": 7, "data": "", "time": "00"}]}' % G,
     "16 bytes"),
    ('{"variables": [{"name": "", "guid": "%s", "attr": 7, "data": ""}]}' % G, "empty"),
])
def test_malformed_json_is_a_clear_error(doc: str, words: str) -> None:
    with pytest.raises(StoreError, match=words):
        loads(doc, "x.json")


def test_json_store_file_backed(tmp_path: Path) -> None:
    path = tmp_path / "vars.json"
    write_json(path, [Variable("A", G, VariableAttributes(7), b"a")])
    store = open_store(str(path))
    assert isinstance(store, JsonStore)
    store.set("B", G, b"b")
    store.delete("A", G)
    assert loads(path.read_text()) == [Variable("B", G, VariableAttributes(7), b"b")]


@pytest.mark.parametrize("where,err", FAULTS)
def test_json_faults_leave_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, err: int
) -> None:
    path = tmp_path / "vars.json"
    write_json(path, [Variable("A", G, VariableAttributes(7), b"a")])
    before = path.read_bytes()
    store = JsonStore.open(path)
    if where == "write":
        monkeypatch.setattr("os.write", failing(err))
    else:
        monkeypatch.setattr("os.replace", crash_before_rename)
    with pytest.raises(StoreError, match="left unchanged"):
        store.set("B", G, b"b")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [k.name for k in store.list()] == ["A"]


def test_open_store_detects_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fd = tmp_path / "weird-name.bin"
    fd.write_bytes((CORPUS / "varstores" / "Foxboron_go-uefi-OVMF_VARS.fd").read_bytes())
    assert detect_kind(fd) == "edk2"
    assert isinstance(open_store(str(fd)), Edk2Store)
    assert isinstance(open_store(str(CORPUS / "efivars" / "issue-efibootmgr38")), EfivarfsStore)
    js = tmp_path / "export.json"
    write_json(js, [])
    assert isinstance(open_store(str(js)), JsonStore)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 100)
    with pytest.raises(StoreError, match="not a variable store"):
        open_store(str(junk))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "missing.fd"))
    monkeypatch.setenv("EFIKIT_VARS", str(js))
    assert isinstance(open_store(None), JsonStore)
    monkeypatch.delenv("EFIKIT_VARS")
    if not Path("/sys/firmware/efi/efivars").exists():
        with pytest.raises(StoreError, match="not booted with EFI"):
            open_store(None)


@pytest.mark.peer
def test_efikit_json_equals_virt_fw_vars_json(tmp_path: Path) -> None:
    tool = venv_tool("virt-fw-vars")
    src = require_file(OVMF_DIR / "OVMF_VARS_4M.snakeoil.fd")
    out = tmp_path / "virt.json"
    subprocess.run([tool, "-i", str(src), "--output-json", str(out)], check=True,
                   capture_output=True)
    assert dumps(Edk2Store.open(src).variables()) == out.read_text()
    assert JsonStore.open(out).variables() == Edk2Store.open(src).variables()


@pytest.mark.peer
def test_virt_fw_vars_imports_efikit_json(tmp_path: Path) -> None:
    tool = venv_tool("virt-fw-vars")
    src = require_file(OVMF_DIR / "OVMF_VARS_4M.fd")
    variables = [
        Variable("EfikitA", G, VariableAttributes(7), b"\x01\x02\x03"),
        Variable("BootOrder", G, VariableAttributes(7), b"\x01\x00\x00\x00"),
    ]
    js = tmp_path / "in.json"
    write_json(js, variables)
    out = tmp_path / "out.fd"
    subprocess.run([tool, "-i", str(src), "-o", str(out), "--set-json", str(js)], check=True,
                   capture_output=True)
    store = Edk2Store.open(out)
    for var in variables:
        assert store.get(var.name, var.vendor) == var
    # and back: efikit's import into a copy gives the same variables
    mine = MemoryStore()
    for var in JsonStore.open(js).variables():
        mine.set(var.name, var.vendor, var.data, var.attributes)
    assert mine.variables() == variables
