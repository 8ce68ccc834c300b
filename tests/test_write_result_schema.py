"""The --json write results of the boot commands validate against
efikit/schemas/write-result.schema.json, in every outcome."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest

import efikit
from efikit.cli.main import main
from efikit.cli.write_result import file_change, result
from test_boot_cli import FWUPD, LOADER, run
from test_boot_support import copy_machine

SCHEMA = json.loads((Path(efikit.__file__).parent / "schemas" /
                     "write-result.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def write_result_commands() -> set[str]:
    """Every command whose --json prints the write result (by its --json help), and the
    commands that print it when they change something (boot next, boot timeout)."""
    from efikit.cli.main import cli
    from efikit.cli.write_result import JSON_HELP, READ_OR_WRITE_JSON_HELP

    found: set[str] = set()

    def walk(command: click.Command, path: list[str], ctx: click.Context) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name], click.Context(sub, parent=ctx))
        helps = {getattr(p, "help", None) for p in command.params if "--json" in
                 getattr(p, "opts", ())}
        if helps & {JSON_HELP, READ_OR_WRITE_JSON_HELP}:
            found.add(" ".join(path))

    walk(cli, [], click.Context(cli))
    return found


def run_json(capsys: pytest.CaptureFixture[str], store: Path,
             *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["--vars", str(store), *args, "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def check(document: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert not errors, [e.message for e in errors]


def test_every_outcome_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = copy_machine(FWUPD, tmp_path)
    runs = [
        ("add", "-L", "M", "--device-path", LOADER, "--dry-run"),
        ("add", "-L", "M", "--device-path", LOADER, "--backup", str(tmp_path / "b.json")),
        ("add", "-L", "M", "--device-path", LOADER),
        ("ensure", "-L", "M", "--device-path", LOADER, "--first"),
        ("add", "-L", "M", "--device-path", LOADER, "--allow-duplicate"),
        ("dedupe",),
        ("edit", "3", "--label", "N"),
        ("rm", "--label", "nothing", "--missing-ok"),
        ("timeout", "3"), ("next", "0"), ("next", "--clear"),
        ("order", "set", "0,1,2,3"), ("order", "move", "3", "--to", "last"),
        ("order", "dedupe"), ("order", "prune"), ("hide", "3"), ("deactivate", "3"),
        ("unhide", "3"), ("activate", "3"), ("rm", "3"),
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"version": 2, "variables": [
        {"name": "EfikitTest", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "attr": 7,
         "data": "0102"}]}))
    vars_runs = [("set", "EfikitX", "--data-hex", "01", "--dry-run"),
                 ("set", "EfikitX", "--data-hex", "01"), ("set", "EfikitX", "--data-hex", "01"),
                 ("rm", "EfikitX", "--dry-run"), ("rm", "EfikitX"),
                 ("import", str(export), "--dry-run"), ("import", str(export)),
                 ("import", str(export))]
    all_runs = [("boot", *a) for a in runs] + [("vars", *a) for a in vars_runs]
    assert {" ".join(a[:3]) if a[1] == "order" else " ".join(a[:2])
            for a in all_runs} == write_result_commands()
    results = set()
    for args in all_runs:
        code, out, err = run_json(capsys, store, *args)
        assert code == 0, err
        document = json.loads(out)
        check(document)
        results.add(document["result"])
    assert results == {"applied", "unchanged", "dry-run"}

    from efikit.errors import StoreError
    from efikit.vars.efivarfs import EfivarfsStore

    def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreError("EIO")

    monkeypatch.setattr(EfivarfsStore, "set", failing)
    code, out, _ = run(capsys, store, "timeout", "9", "--json")
    assert code == 1
    document = json.loads(out)
    check(document)
    assert document["result"] == "failed" and document["failed_change"] == 0


def test_file_changes_validate_and_the_schema_is_strict() -> None:
    document = result([file_change(r"\EFI\m\boot-b.efi", b"old", b"new", "applied")],
                      dry_run=False)
    check(document)
    assert document["changes"][0]["before"] == hashlib.sha256(b"old").hexdigest()
    assert document["changes"][0]["size_after"] == 3
    broken = dict(document, result="done")
    assert list(VALIDATOR.iter_errors(broken))
    missing = {k: v for k, v in document.items() if k != "failed_change"}
    assert list(VALIDATOR.iter_errors(missing))
