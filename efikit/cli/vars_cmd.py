"""`efikit vars`: list, read, write, delete, export and import EFI variables in any store."""
from __future__ import annotations

import sys
from typing import Any

import click

from efikit.cli.common import echo_json, read_hex_or_file, read_input_file
from efikit.cli.store_option import open_cli_store
from efikit.errors import StoreError, UsageError
from efikit.vars.atomic import MAX_JSON_SIZE, MAX_JSON_TEXT
from efikit.vars.json_store import dumps, loads, variable_to_json, write_backup, write_json
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    EFI_GLOBAL_VARIABLE,
    Variable,
    VariableAttributes,
    VariableName,
    VariableStore,
    vendor_name,
)

NAME_HELP = "NAME-GUID (the GUID defaults to the EFI global variable GUID)"


def _key(text: str) -> VariableName:
    return VariableName.parse(text, default_vendor=EFI_GLOBAL_VARIABLE)


def _backup(path: str | None, variables: list[Variable]) -> None:
    """Save what a change overwrites, as JSON that `efikit vars import` restores."""
    if path is not None:
        write_backup(path, variables)
        click.echo(f"saved {len(variables)} variable(s) to {path}", err=True)


def _apply_json(changes: list[tuple[Variable | None, Variable | None]], dry_run: bool,
                backup: str | None) -> None:
    """--json: back up, then write (old, new) pairs in one batch (new None: delete), and print
    the write result (also when the write fails part-way)."""
    from efikit.boot.changes import Change, Plan, PlanApplyError, apply_tracked  # noqa: PLC0415
    from efikit.cli.write_result import plan_result  # noqa: PLC0415

    plan = Plan(tuple(Change(var.name, var.vendor, old, new) for old, new in changes
                      for var in [new or old] if var is not None))
    if dry_run:
        echo_json(plan_result(plan, dry_run=True))
        return
    olds = [old for old, _ in changes if old is not None]
    saved = None
    if backup is not None:
        _backup(backup, olds)
        saved = {"file": backup, "variables": len(olds)}
    try:
        apply_tracked(plan, open_cli_store())
    except PlanApplyError as failure:
        echo_json(plan_result(plan, dry_run=False, failure=failure, backup=saved))
        raise
    echo_json(plan_result(plan, dry_run=False, backup=saved))


def _describe(var: Variable) -> str:
    return f"{var.attributes.short() or '0'}, {len(var.data)} bytes"


@click.group("vars")
def vars_group() -> None:
    """EFI variables in any store (efivarfs directory, edk2 .fd, JSON export)."""


@vars_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_cmd(as_json: bool) -> None:
    """List every variable with its attributes and size."""
    store = open_cli_store()
    rows: list[dict[str, Any]] = []
    for key in store.list():
        row: dict[str, Any] = {
            "name": key.name,
            "guid": str(key.vendor),
            "vendor": vendor_name(key.vendor),
        }
        try:
            var = store.get(key.name, key.vendor)
        except StoreError as exc:
            var = None
            row["error"] = str(exc)
        if var is not None:
            row["attr"] = int(var.attributes)
            row["attributes"] = var.attributes.short().split(",") if int(var.attributes) else []
            row["size"] = len(var.data)
        rows.append(row)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        label = f"{row['name']}-{row['guid']}"
        if "error" in row:
            click.echo(f"{label}  <unreadable: {row['error']}>")
        else:
            attrs = ",".join(row["attributes"]) or "0"
            click.echo(f"{label}  {attrs}  {row['size']}")


def _hexdump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexpart:<47}  |{text}|")
    return "\n".join(lines)


@vars_group.command("get")
@click.argument("name", metavar="NAME[-GUID]")
@click.option("--raw", "mode", flag_value="raw", help="Write the payload bytes to stdout.")
@click.option("--hex", "mode", flag_value="hex", help="Print the payload as one hex string.")
@click.option("--json", "mode", flag_value="json", help="Print the variable as JSON.")
def get_cmd(name: str, mode: str | None) -> None:
    """Show one variable (attributes and a hex dump by default)."""
    key = _key(name)
    store = open_cli_store()
    var = store.get(key.name, key.vendor)
    if var is None:
        raise StoreError(f"no variable {key} in {store.source}")
    if mode == "raw":
        sys.stdout.flush()
        sys.stdout.buffer.write(var.data)
        sys.stdout.buffer.flush()
    elif mode == "hex":
        click.echo(var.data.hex())
    elif mode == "json":
        echo_json(variable_to_json(var))
    else:
        click.echo(f"{key}")
        click.echo(f"attributes: {var.attributes.short() or '0'} ({int(var.attributes):#x})")
        click.echo(f"size: {len(var.data)}")
        if var.data:
            click.echo(_hexdump(var.data))


def _read_data(data_hex: str | None, data_file: str | None) -> bytes:
    if (data_hex is None) == (data_file is None):
        raise UsageError("give exactly one of --data-hex and --data-file")
    if data_file is not None:
        return read_hex_or_file(f"@{data_file}")
    assert data_hex is not None
    cleaned = "".join(data_hex.split())
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"--data-hex is not hex: {data_hex[:40]!r}") from None


def _mutating(func: Any) -> Any:
    from efikit.cli.write_result import JSON_HELP  # noqa: PLC0415

    func = click.option("--backup", metavar="FILE", type=click.Path(dir_okay=False),
                        help="Save what is overwritten as JSON (restore with vars import).")(func)
    func = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)(func)
    func = click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")(func)
    return func


@vars_group.command("set")
@click.argument("name", metavar="NAME[-GUID]")
@click.option("--data-hex", metavar="HEX", help="Payload as hex.")
@click.option("--data-file", metavar="FILE", help="Payload from a file ('-' for stdin).")
@click.option("--attrs", metavar="LIST",
              help="Attributes, e.g. nv,bs,rt or 0x7 (default: the existing variable's, else nv,bs,rt).")
@_mutating
def set_cmd(name: str, data_hex: str | None, data_file: str | None, attrs: str | None,
            dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Create or replace a variable."""
    key = _key(name)
    data = _read_data(data_hex, data_file)
    store = open_cli_store()
    old = store.get(key.name, key.vendor)
    if attrs is not None:
        attributes = VariableAttributes.parse(attrs)
    else:
        attributes = old.attributes if old is not None else DEFAULT_ATTRIBUTES
    new = Variable(key.name, key.vendor, attributes, data)
    verb = "would " if dry_run else ""
    if old is None:
        message = f"{verb}create {key}: {_describe(new)}"
    elif old.data == data and old.attributes == attributes:
        message = f"{key} already has this value: nothing to do"
        dry_run = True
    else:
        message = f"{verb}replace {key}: {_describe(old)} -> {_describe(new)}"
    if as_json:
        _apply_json([(old, new)], dry_run, backup)
        return
    if dry_run:
        click.echo(message)
        return
    _backup(backup, [old] if old is not None else [])
    store.set(key.name, key.vendor, data, attributes)
    click.echo(message)


@vars_group.command("rm")
@click.argument("name", metavar="NAME[-GUID]")
@_mutating
def rm_cmd(name: str, dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Delete a variable."""
    key = _key(name)
    store = open_cli_store()
    old = store.get(key.name, key.vendor)
    if old is None:
        raise StoreError(f"no variable {key} in {store.source}")
    if as_json:
        _apply_json([(old, None)], dry_run, backup)
        return
    if dry_run:
        click.echo(f"would delete {key}: {_describe(old)}")
        return
    _backup(backup, [old])
    store.delete(key.name, key.vendor)
    click.echo(f"deleted {key}")


def _readable(store: VariableStore) -> list[Variable]:
    out = []
    for key in store.list():
        try:
            var = store.get(key.name, key.vendor)
        except StoreError as exc:
            click.echo(f"efikit: warning: skipping {key}: {exc}", err=True)
            continue
        if var is not None:
            out.append(var)
    return out


@vars_group.command("export")
@click.argument("output", metavar="FILE.json")
def export_cmd(output: str) -> None:
    """Write every variable to a JSON file ('-' for stdout) in virt-fw-vars' format."""
    store = open_cli_store()
    variables = _readable(store)
    if output == "-":
        click.echo(dumps(variables))
        return
    write_json(output, variables)
    click.echo(f"exported {len(variables)} variable(s) to {output}", err=True)


@vars_group.command("import")
@click.argument("source", metavar="FILE.json")
@_mutating
def import_cmd(source: str, dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Set every variable of a JSON export (as written by vars export or virt-fw-vars)."""
    text = read_input_file(source, MAX_JSON_SIZE, MAX_JSON_TEXT)
    try:
        incoming = loads(text, source)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    store = open_cli_store()
    changes: list[tuple[Variable, Variable | None]] = []
    for var in incoming:
        old = store.get(var.name, var.vendor)
        if old is not None and old.data == var.data and old.attributes == var.attributes and (
            var.timestamp is None or old.timestamp == var.timestamp
        ):
            continue
        changes.append((var, old))
    if as_json:
        _apply_json([(old, new) for new, old in changes], dry_run, backup)
        return
    verb = "would " if dry_run else ""
    for var, old in changes:
        if old is None:
            click.echo(f"{verb}create {var.key}: {_describe(var)}")
        else:
            click.echo(f"{verb}replace {var.key}: {_describe(old)} -> {_describe(var)}")
    unchanged = len(incoming) - len(changes)
    if dry_run or not changes:
        click.echo(f"{len(changes)} to change, {unchanged} unchanged", err=True)
        return
    _backup(backup, [old for _, old in changes if old is not None])
    with store.batch():
        for var, _ in changes:
            store.set(var.name, var.vendor, var.data, var.attributes, timestamp=var.timestamp)
    click.echo(f"imported {len(changes)} variable(s), {unchanged} unchanged", err=True)


__all__ = ["vars_group"]
