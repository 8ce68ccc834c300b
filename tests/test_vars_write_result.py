"""`efikit vars set/rm/import --json`: the shared write result (efikit.cli.write_result)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from efikit.cli.main import main
from efikit.errors import StoreError
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE as G
from test_boot_cli import FWUPD, files
from test_boot_support import copy_machine


def run(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    try:
        main(["--vars", str(store), "vars", *args, "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out else None, out.err


def export(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "import.json"
    path.write_text(json.dumps({"version": 2, "variables": [
        {"name": n, "guid": str(G), "attr": 7, "data": f"{i:02x}"} for i, n in enumerate(names)]}))
    return path


def test_set_and_rm_print_before_and_after(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = copy_machine(FWUPD, tmp_path)
    code, doc, _ = run(capsys, store, "set", "EfikitX", "--data-hex", "0102")
    assert code == 0 and doc["command"] == "vars set" and doc["result"] == "applied"
    assert [(c["name"], c["action"], c["before"], c["after"], c["attributes_after"])
            for c in doc["changes"]] == [("EfikitX", "create", None, "0102", 7)]
    assert (store / f"EfikitX-{G}").read_bytes() == b"\x07\x00\x00\x00\x01\x02"
    before = files(store)
    code, doc, _ = run(capsys, store, "set", "EfikitX", "--data-hex", "0102")
    assert (code, doc["result"], doc["changes"]) == (0, "unchanged", []) and \
        files(store) == before
    code, doc, _ = run(capsys, store, "rm", "EfikitX", "--dry-run")
    assert doc["result"] == "dry-run" and doc["changes"][0]["after"] is None
    assert (store / f"EfikitX-{G}").exists()
    code, doc, _ = run(capsys, store, "rm", "EfikitX")
    assert doc["changes"][0]["status"] == "applied" and not (store / f"EfikitX-{G}").exists()


def test_import_twice_and_a_failure_part_way(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store = copy_machine(FWUPD, tmp_path)
    source = export(tmp_path, "EfikitA", "EfikitB", "EfikitC")
    original = EfivarfsStore.set

    def failing(self: EfivarfsStore, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "EfikitB":
            raise StoreError("EfikitB: No space left on device")
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(EfivarfsStore, "set", failing)
    code, doc, err = run(capsys, store, "import", str(source))
    assert code == 1 and doc["result"] == "failed" and doc["failed_change"] == 1
    assert [(c["name"], c["status"]) for c in doc["changes"]] == [
        ("EfikitA", "applied"), ("EfikitB", "failed"), ("EfikitC", "not-applied")]
    assert err.strip().endswith("(while writing EfikitB; already applied: create EfikitA)")
    monkeypatch.setattr(EfivarfsStore, "set", original)
    code, doc, _ = run(capsys, store, "import", str(source))
    assert code == 0 and [c["name"] for c in doc["changes"]] == ["EfikitB", "EfikitC"]
    before = files(store)
    code, doc, _ = run(capsys, store, "import", str(source))
    assert doc["result"] == "unchanged" and files(store) == before
