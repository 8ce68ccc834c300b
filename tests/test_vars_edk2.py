"""edk2 varstore: corpus and Debian OVMF round trips, edk2-style updates, corruption, faults,
and virt-fw-vars as a peer."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import CORPUS, require_file
from efikit.errors import StoreError
from efikit.vars.edk2 import (
    STATE_REPLACED,
    VAR_ADDED,
    VAR_DELETED,
    CorruptStore,
    Edk2Store,
)
from efikit.vars.json_store import loads
from efikit.vars.open import open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE, VariableAttributes, VariableNotFound
from test_vars_support import FAULTS, OVMF_DIR, crash_before_rename, failing, venv_tool

G = EFI_GLOBAL_VARIABLE
CORPUS_STORES = sorted((CORPUS / "varstores").iterdir())
OVMF_NAMES = [
    "OVMF_VARS.fd", "OVMF_VARS.ms.fd", "OVMF_VARS_4M.fd", "OVMF_VARS_4M.ms.fd",
    "OVMF_VARS_4M.snakeoil.fd",
]


def ovmf(name: str) -> Path:
    return require_file(OVMF_DIR / name)


def copy_of(src: Path, tmp_path: Path, name: str = "vars.fd") -> Path:
    dst = tmp_path / name
    dst.write_bytes(src.read_bytes())
    return dst


def test_corpus_stores_are_all_there() -> None:
    assert len(CORPUS_STORES) == 8  # exact: a lost varstore must fail, not run fewer tests


@pytest.mark.parametrize("path", CORPUS_STORES, ids=lambda p: p.name)
def test_corpus_store_opens_and_saves_identically(path: Path, tmp_path: Path) -> None:
    store = open_store(str(path))
    assert isinstance(store, Edk2Store)
    for var in store.variables():
        assert var.name
    out = tmp_path / "out.fd"
    store.save(out)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("name", OVMF_NAMES)
def test_debian_ovmf_store_opens_and_saves_identically(name: str, tmp_path: Path) -> None:
    path = ovmf(name)
    store = Edk2Store.open(path)
    out = tmp_path / "out.fd"
    store.save(out)
    assert out.read_bytes() == path.read_bytes()
    if ".ms" in name or "snakeoil" in name:
        keys = {k.name for k in store.list()}
        assert {"PK", "KEK", "db", "dbx"} <= keys
        pk = store.get("PK", G)
        assert pk is not None and pk.timestamp is not None and len(pk.timestamp) == 16
        assert pk.attributes & VariableAttributes.TIME_BASED_AUTHENTICATED_WRITE_ACCESS


def test_update_marks_old_copy_and_appends(tmp_path: Path) -> None:
    path = copy_of(ovmf("OVMF_VARS_4M.ms.fd"), tmp_path)
    store = Edk2Store.open(path)
    old = store.record("Timeout", G)
    assert old is not None
    end_before = store.end
    store.set("Timeout", G, b"\x07\x00", VariableAttributes(7))
    reopened = Edk2Store.open(path)
    assert reopened.get("Timeout", G).data == b"\x07\x00"  # type: ignore[union-attr]
    states = {r.offset: r.state for r in reopened.records()}
    assert states[old.offset] == STATE_REPLACED
    new = reopened.record("Timeout", G)
    assert new is not None and new.offset == end_before and new.state == VAR_ADDED
    assert new.offset % 4 == 0
    # everything before the new record, apart from the old copy's state byte, is unchanged
    before, after = ovmf("OVMF_VARS_4M.ms.fd").read_bytes(), path.read_bytes()
    diff = [i for i in range(end_before) if before[i] != after[i]]
    assert diff == [old.offset + 2]


def test_authenticated_fields_kept_on_update(tmp_path: Path) -> None:
    path = copy_of(ovmf("OVMF_VARS_4M.ms.fd"), tmp_path)
    store = Edk2Store.open(path)
    old = store.record("db", store.list()[[k.name for k in store.list()].index("db")].vendor)
    assert old is not None
    vendor = old.vendor
    data = store.get("db", vendor).data  # type: ignore[union-attr]
    store.set("db", vendor, data + b"", VariableAttributes(old.attributes))  # no change: no write
    assert Edk2Store.open(path).record("db", vendor) == old
    store.set("db", vendor, data[:-1] + b"\x00", VariableAttributes(old.attributes))
    new = Edk2Store.open(path).record("db", vendor)
    assert new is not None and new.offset != old.offset
    assert (new.timestamp, new.monotonic_count, new.pubkey_index) == (
        old.timestamp, old.monotonic_count, old.pubkey_index)


def test_delete_marks_deleted(tmp_path: Path) -> None:
    path = copy_of(ovmf("OVMF_VARS_4M.ms.fd"), tmp_path)
    store = Edk2Store.open(path)
    rec = store.record("Boot0000", G)
    assert rec is not None
    store.delete("Boot0000", G)
    reopened = Edk2Store.open(path)
    assert reopened.get("Boot0000", G) is None
    assert {r.offset: r.state for r in reopened.records()}[rec.offset] == VAR_ADDED & VAR_DELETED
    with pytest.raises(VariableNotFound):
        reopened.delete("Boot0000", G)


def test_batch_writes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_of(ovmf("OVMF_VARS_4M.fd"), tmp_path)
    store = Edk2Store.open(path)
    saves: list[int] = []
    real_save = store.save
    monkeypatch.setattr(store, "save", lambda p=None: (saves.append(1), real_save(p)))
    with store.batch():
        for i in range(5):
            store.set(f"Boot{i:04X}", G, bytes([i]) * 10)
        store.delete("Boot0002", G)
    assert saves == [1]
    assert [k.name for k in Edk2Store.open(path).list()] == [
        "Boot0000", "Boot0001", "Boot0003", "Boot0004"]


def test_plain_store_and_new_store_round_trip(tmp_path: Path) -> None:
    image = bytearray(ovmf("OVMF_VARS.fd").read_bytes())
    hl = struct.unpack_from("<H", image, 48)[0]
    image[hl:hl + 16] = uuid.UUID("ddcf3616-3275-4164-98b6-fe85707ffe7d").bytes_le
    store = Edk2Store.from_bytes(bytes(image))
    assert not store.authenticated
    store.set("Plain", G, b"abc", VariableAttributes(3))
    again = Edk2Store.from_bytes(store.to_bytes())
    assert again.get("Plain", G).data == b"abc"  # type: ignore[union-attr]
    assert again.record("Plain", G).offset + 32 + 12 + 3 <= again.end  # type: ignore[union-attr]


def test_compacts_when_full_and_refuses_when_really_full(tmp_path: Path) -> None:
    path = copy_of(ovmf("OVMF_VARS.fd"), tmp_path)  # 2M build: ~56 KiB of variables
    store = Edk2Store.open(path)
    blob = b"\xab" * 4000
    for i in range(40):  # rewriting the same variable fills the store with deleted copies
        store.set("Big", G, blob + bytes([i]))
    assert store.get("Big", G).data == blob + bytes([39])  # type: ignore[union-attr]
    assert len(store.records()) < 40  # compaction happened on the way
    with store.batch():
        for i in range(13):
            store.set(f"Fill{i}", G, blob)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is full: Fill99-8be4df61.*needs"):
        store.set("Fill99", G, blob)
    assert path.read_bytes() == before
    with pytest.raises(StoreError, match="does not fit in the varstore at all"):
        store.set("Huge", G, b"\0" * 0x10000)
    Edk2Store.open(path)  # still valid


def test_compact_keeps_live_variables(tmp_path: Path) -> None:
    src = CORPUS / "varstores" / "BUGTree1_WindowsVM-OVMF_VARS.fd"
    store = Edk2Store.open(copy_of(src, tmp_path))
    live = store.variables()
    assert store.reclaimable_bytes > 0
    store.compact()
    assert store.reclaimable_bytes == 0
    assert Edk2Store.open(tmp_path / "vars.fd").variables() == live


def _corrupt(image: bytes, offset: int, value: bytes) -> bytes:
    b = bytearray(image)
    b[offset:offset + len(value)] = value
    return bytes(b)


def _first_var_offset(image: bytes) -> int:
    return struct.unpack_from("<H", image, 48)[0] + 28


@pytest.mark.parametrize(
    "mutate,offset,words",
    [
        (lambda b: _corrupt(b, 40, b"XFVH"), 40, "signature"),
        (lambda b: _corrupt(b, 50, b"\x00\x00"), 50, "checksum"),
        (lambda b: b[:100], 32, "FvLength"),
        (lambda b: _corrupt(b, 72, bytes(16)), 72, "not an edk2 one"),
        (lambda b: _corrupt(b, 72 + 21, b"\x00"), 72 + 21, "State"),
        (lambda b: _corrupt(b, _first_var_offset(b) + 40, b"\xff\xff\xff\x00"), 72 + 28,
         "run past the end"),
    ],
    ids=["fv-signature", "fv-checksum", "truncated", "store-guid", "store-state", "var-size"],
)
def test_corruption_reported_with_offset(mutate, offset: int, words: str) -> None:  # type: ignore[no-untyped-def]
    image = mutate(ovmf("OVMF_VARS_4M.ms.fd").read_bytes())
    with pytest.raises(CorruptStore, match=words) as info:
        Edk2Store.from_bytes(image, "bad.fd")
    assert info.value.offset == offset
    assert f"offset {offset:#x}" in str(info.value)


@pytest.mark.parametrize("where,err", FAULTS)
def test_faults_leave_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, err: int
) -> None:
    path = copy_of(ovmf("OVMF_VARS_4M.ms.fd"), tmp_path)
    before = path.read_bytes()
    store = Edk2Store.open(path)
    if where == "write":
        monkeypatch.setattr(os, "write", failing(err))
    else:
        monkeypatch.setattr(os, "replace", crash_before_rename)
    with pytest.raises(StoreError, match="cannot write .*vars.fd.*left unchanged"):
        store.set("Boot0000", G, b"changed")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vars.fd"]  # no temp file left
    assert store.to_bytes() == before  # memory rolled back too
    assert store.get("Boot0000", G).data != b"changed"  # type: ignore[union-attr]


# --- peers: virt-fw-vars -------------------------------------------------------------------

def _virt_json(tool: str, fd: Path, tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "virt.json"
    subprocess.run([tool, "-i", str(fd), "--output-json", str(out)], check=True,
                   capture_output=True)
    return json.loads(out.read_text())["variables"]  # type: ignore[no-any-return]


@pytest.mark.peer
@pytest.mark.parametrize("path", CORPUS_STORES[:4] + [OVMF_DIR / "OVMF_VARS_4M.ms.fd"],
                         ids=lambda p: p.name)
def test_same_variables_as_virt_fw_vars(path: Path, tmp_path: Path) -> None:
    tool = venv_tool("virt-fw-vars")
    require_file(path)
    theirs = _virt_json(tool, path, tmp_path)
    from efikit.vars.json_store import variable_to_json
    # virt-fw-vars keys variables by name alone: same-name variables of two vendors collapse
    mine = {v.name: variable_to_json(v) for v in Edk2Store.open(path).variables()}
    assert {str(e["name"]): e for e in theirs} == mine


@pytest.mark.peer
def test_virt_fw_vars_reads_what_efikit_wrote(tmp_path: Path) -> None:
    tool = venv_tool("virt-fw-vars")
    path = copy_of(ovmf("OVMF_VARS_4M.ms.fd"), tmp_path)
    store = Edk2Store.open(path)
    with store.batch():
        store.set("Boot0000", G, b"\x01\x00\x00\x00\x04\x00A\x00\x00\x00\x7f\xff\x04\x00")
        store.set("EfikitNew", G, b"new", VariableAttributes(7))
        store.delete("Timeout", G)
    printed = subprocess.run([tool, "-i", str(path), "--print", "-v"], check=True,
                             capture_output=True, text=True)
    assert "EfikitNew" in printed.stdout + printed.stderr
    theirs = {str(e["name"]): e for e in _virt_json(tool, path, tmp_path)}
    assert theirs["EfikitNew"]["data"] == b"new".hex()
    assert theirs["Boot0000"]["data"] == "010000000400410000007fff0400"
    assert "Timeout" not in theirs
    assert theirs["PK"]["time"]  # authenticated timestamp survived


@pytest.mark.peer
@pytest.mark.parametrize("args,expect", [
    (["--set-boot-uri", "http://example.test/boot.iso"], "BootNext"),
    (["--append-boot-filepath", r"\EFI\efikit\boot.efi"], "BootOrder"),
])
def test_efikit_reads_what_virt_fw_vars_wrote(
    tmp_path: Path, args: list[str], expect: str
) -> None:
    tool = venv_tool("virt-fw-vars")
    src = ovmf("OVMF_VARS_4M.fd")
    out = tmp_path / "out.fd"
    subprocess.run([tool, "-i", str(src), "-o", str(out), *args], check=True,
                   capture_output=True)
    store = Edk2Store.open(out)
    names = {k.name for k in store.list()}
    assert expect in names
    theirs = {str(e["name"]): e for e in _virt_json(tool, out, tmp_path)}
    for var in store.variables():
        assert theirs[var.name]["data"] == var.data.hex()
    saved = tmp_path / "resaved.fd"
    store.save(saved)
    assert saved.read_bytes() == out.read_bytes()


def test_empty_json_export_loads_as_no_variables() -> None:
    assert loads('{"version": 2, "variables": []}') == []


@pytest.mark.parametrize(("ci", "outcome"), [(True, pytest.fail.Exception),
                                             (False, pytest.skip.Exception)])
def test_missing_tool_fails_under_ci_and_skips_elsewhere(
        ci: bool, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    import conftest

    monkeypatch.setattr(conftest, "IN_CI", ci)
    with pytest.raises(outcome, match="efikit-no-such-tool"):
        conftest.require_tool("efikit-no-such-tool")
    with pytest.raises(outcome, match="no-such-file"):
        conftest.require_file(Path("/nonexistent/no-such-file"))
    conftest.require_tool("sh")  # a present tool neither fails nor skips


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True),
                                                 ("", False), ("false", False)])
def test_ci_environment_variable_sets_the_ci_mode(value: str, expected: bool) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import conftest; print(conftest.IN_CI)"],
        cwd=Path(__file__).parent, env=dict(os.environ, CI=value), capture_output=True,
        text=True, check=True)
    assert done.stdout.strip() == str(expected)
