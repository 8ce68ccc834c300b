"""Hostile variable stores: every malformed input is a StoreError naming the file and where,
a dead edk2 record never hides the live ones, and whatever `vars list` shows, `vars export`
writes and `vars import` reads back."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import CORPUS
from efikit.errors import StoreError
from efikit.vars.edk2 import AUTH_HEADER, VAR_DELETED, CorruptStore, Edk2Store
from efikit.vars.json_store import JsonStore, dumps, loads
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableAttributes

G = EFI_GLOBAL_VARIABLE
VENDOR = uuid.UUID("3c5e7f1a-0b2d-4e6f-8a9b-1c2d3e4f5a6b")
BASE_STORE = CORPUS / "varstores" / "Foxboron_go-uefi-OVMF_VARS.fd"
NAME_SIZE_AT = 36  # NameSize in an authenticated variable header (AUTH_HEADER)
SURROGATE_NAME = "Lone\ud800Name"


def _entry(**fields: object) -> dict[str, object]:
    return {"name": "X", "guid": str(G), "attr": 7, "data": "", **fields}


def _doc(*entries: object) -> str:
    return json.dumps({"version": 2, "variables": list(entries)})


@pytest.mark.parametrize("text,words", [
    ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ('{"variables": [], "x": ' + "9" * 5000 + "}", "too large"),
    (_doc(_entry(attr=int("7" * 30))), r"variables\[0\].*attr"),
    (_doc(_entry(attr=True)), r"variables\[0\].*attr"),
    (_doc(_entry(attr=7.0)), r"variables\[0\].*attr"),
    (_doc(_entry(name=["X"])), r"variables\[0\].*name"),
    (_doc(_entry(data=None)), r"variables\[0\].*data"),
    (_doc(_entry(data="abc")), r"variables\[0\].*data"),
    (_doc(_entry(time=5)), r"variables\[0\].*time"),
    (_doc(_entry(guid=7)), r"variables\[0\].*guid"),
    (_doc(_entry(), _entry(data="00")), r"variables\[1\].*X-8be4df61.*variables\[0\]"),
    (json.dumps({"version": True, "variables": []}), "version"),
    ('{"variables": [1]}', r"variables\[0\]: expected an object"),
    (b"\xff\xfe{", "not JSON"),
])
def test_hostile_json_is_a_store_error(text: str | bytes, words: str) -> None:
    with pytest.raises(StoreError, match=words) as info:
        loads(text, "hostile.json")
    assert str(info.value).startswith("hostile.json: ")


def test_hostile_json_file_through_the_cli_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    result = _efikit("--vars", str(path), "vars", "list")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"efikit: error: {path}: JSON nested too deeply (more than the parser's limit)"]


def _image_with(tmp_path: Path, *variables: tuple[str, bytes]) -> tuple[Path, Edk2Store]:
    store = Edk2Store.from_bytes(BASE_STORE.read_bytes(), "base")
    for name, data in variables:
        store.set(name, VENDOR, data, VariableAttributes(7))
    path = tmp_path / "vars.fd"
    path.write_bytes(store.to_bytes())
    return path, Edk2Store.open(path)


def dead_key(store: Edk2Store, name: str) -> object:
    return next(key for key in store.list() if key.name == name and key.vendor == VENDOR)


def test_dead_record_with_odd_name_size_does_not_block_live_ones(tmp_path: Path) -> None:
    path, store = _image_with(tmp_path, ("Dead", b"old"), ("After", b"live"))
    assert store.authenticated
    dead = store.record("Dead", VENDOR)
    assert dead is not None
    image = bytearray(path.read_bytes())
    image[dead.offset + 2] &= VAR_DELETED
    name_size, data_size = struct.unpack_from("<II", image, dead.offset + NAME_SIZE_AT)
    # one byte moves from the name to the data: the record still ends where it did
    struct.pack_into("<II", image, dead.offset + NAME_SIZE_AT, name_size - 1, data_size + 1)
    path.write_bytes(bytes(image))
    reopened = Edk2Store.open(path)
    keys = set(reopened.list())
    assert set(store.list()) - keys == {dead_key(store, "Dead")}
    assert reopened.get("After", VENDOR).data == b"live"  # type: ignore[union-attr]
    assert any(rec.offset == dead.offset and not rec.live for rec in reopened.records())


def test_dead_record_running_past_the_store_is_corrupt_with_offset(tmp_path: Path) -> None:
    """The records behind it cannot be found without its sizes: a clear error, not a guess."""
    path, store = _image_with(tmp_path, ("Keep", b"k"), ("Dead", b"d"), ("Behind", b"b"))
    dead = store.record("Dead", VENDOR)
    assert dead is not None
    image = bytearray(path.read_bytes())
    image[dead.offset + 2] &= VAR_DELETED
    struct.pack_into("<I", image, dead.offset + NAME_SIZE_AT, 0x7FFF_FFFF)
    path.write_bytes(bytes(image))
    with pytest.raises(CorruptStore, match=f"{path}: corrupt edk2 varstore at offset "
                                           f"{dead.offset:#x}"):
        Edk2Store.open(path)


def test_live_record_running_past_the_store_is_corrupt_with_offset(tmp_path: Path) -> None:
    path, store = _image_with(tmp_path, ("Live", b"x"))
    live = store.record("Live", VENDOR)
    assert live is not None
    image = bytearray(path.read_bytes())
    struct.pack_into("<I", image, live.offset + NAME_SIZE_AT + 4, 0x7FFF_FFFF)
    path.write_bytes(bytes(image))
    with pytest.raises(CorruptStore, match=f"{path}: corrupt edk2 varstore at offset "
                                           f"{live.offset:#x}"):
        Edk2Store.open(path)


def test_record_header_cut_off_by_the_store_end_is_corrupt(tmp_path: Path) -> None:
    path, store = _image_with(tmp_path, ("Last", b"x"))
    image = bytearray(path.read_bytes())
    struct.pack_into("<H", image, store.end, 0x55AA)  # a header starts, 10 bytes before the end
    struct.pack_into("<I", image, store.store_offset + 16, store.end + 10 - store.store_offset)
    path.write_bytes(bytes(image))
    with pytest.raises(CorruptStore, match=f"offset {store.end:#x}: variable header cut off"):
        Edk2Store.open(path)


def _efikit(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env.pop("EFIKIT_VARS", None)
    return subprocess.run([sys.executable, "-m", "efikit", *args], capture_output=True,
                          env=env, timeout=120)


def test_lone_surrogate_name_lists_exports_and_imports_back(tmp_path: Path) -> None:
    path, store = _image_with(tmp_path, ("Plain", b"p"))
    # edk2 stores UCS-2 code units: a lone surrogate is a valid name there
    image = bytearray(path.read_bytes())
    rec = store.record("Plain", VENDOR)
    assert rec is not None
    name_at = rec.offset + AUTH_HEADER.size
    image[name_at:name_at + 2] = "\ud800".encode("utf-16-le", "surrogatepass")
    path.write_bytes(bytes(image))
    listed = Edk2Store.open(path)
    assert "Plain" not in {k.name for k in listed.list()}
    assert listed.get("\ud800lain", VENDOR) is not None

    text = _efikit("--vars", str(path), "vars", "list")
    assert text.returncode == 0, text.stderr
    assert f"\\ud800lain-{VENDOR}" in text.stdout.decode()
    as_json = _efikit("--vars", str(path), "vars", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert {"name": "\ud800lain", "guid": str(VENDOR)}.items() <= next(
        r for r in rows if r["guid"] == str(VENDOR)).items()
    got = _efikit("--vars", str(path), "vars", "get", f"Plain-{VENDOR}")
    assert got.returncode == 1 and b"no variable" in got.stderr

    exported = tmp_path / "all.json"
    result = _efikit("--vars", str(path), "vars", "export", str(exported))
    assert result.returncode == 0, result.stderr
    assert len(json.loads(exported.read_text())["variables"]) == len(listed.list())
    target = tmp_path / "target.json"
    target.write_text(dumps([]))
    result = _efikit("--vars", str(target), "vars", "import", str(exported))
    assert result.returncode == 0, result.stderr
    assert JsonStore.open(target).variables() == listed.variables()
    # and into an edk2 store, which writes the name back as the same code units
    copy = tmp_path / "copy.fd"
    copy.write_bytes(BASE_STORE.read_bytes())
    result = _efikit("--vars", str(copy), "vars", "import", str(exported))
    assert result.returncode == 0, result.stderr
    assert Edk2Store.open(copy).get("\ud800lain", VENDOR) is not None


def test_memory_stores_take_ucs2_code_units_but_not_nul_or_non_bmp() -> None:
    var = Variable(SURROGATE_NAME, G, VariableAttributes(7), b"x")
    assert loads(dumps([var])) == [var]
    for bad in ("A\0B", "A\U0001F600"):
        with pytest.raises(StoreError, match="variables\\[0\\]"):
            loads(_doc(_entry(name=bad)), "x.json")
