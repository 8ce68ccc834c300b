"""`efikit stamp`: write, show and clear the slot stamp in a loader's certificate table."""
from __future__ import annotations

from typing import Any

import click

from efikit.cli.common import echo_json
from efikit.errors import UsageError


@click.group("stamp")
def stamp() -> None:
    """Authenticode stamps: the slot and metadata in a loader, outside the measured hash.

    Sign first, then stamp: signing tools (sbsign) drop the stamp of an unsigned image.
    """


def _parse_meta(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta wants KEY=VALUE, not {value!r}")
        pairs.append((key, text))
    return tuple(pairs)


def _stamp_dict(stamp: Any) -> dict[str, Any] | None:
    if stamp is None:
        return None
    return {"version": f"{stamp.major}.{stamp.minor}", "slot": stamp.slot,
            "meta": dict(stamp.meta)}


def _result_dict(result: Any, dry_run: bool) -> dict[str, Any]:
    return {
        "file": result.path, "changed": result.changed, "dry_run": dry_run,
        "stamp": _stamp_dict(result.stamp), "previous": _stamp_dict(result.previous),
        "container": result.container, "authenticode_hash": result.hash_effect,
        "checksum": result.checksum, "old_size": result.old_size, "new_size": result.new_size,
        "warnings": list(result.warnings),
    }


_HASH_TEXT = {
    "unchanged": "Authenticode hash unchanged",
    "padded": "Authenticode hash changed once, to the padded hash (pesign -h -P of the original)",
    "unpadded": "Authenticode hash back to the unpadded original",
}
_CHECKSUM_TEXT = {
    "updated": "CheckSum updated", "zero": "CheckSum left at 0",
    "left-alone": "CheckSum left alone (it was not valid)", "unchanged": "CheckSum unchanged",
}


def _describe(stamp_value: Any) -> str:
    if stamp_value is None:
        return "none"
    meta = " ".join(f"{k}={v}" for k, v in stamp_value.meta)
    return f"slot {stamp_value.slot}" + (f" ({meta})" if meta else "")


def _report(result: Any, verb: str, dry_run: bool, as_json: bool,
            name_warning: str | None = None) -> None:
    """Print the result; each warning once: on stderr, and in the JSON's ``warnings``."""
    for warning in result.warnings:
        if warning.startswith("the image is unsigned"):
            click.echo(f"efikit: warning: {warning}", err=True)
    if as_json:
        document = _result_dict(result, dry_run)
        if name_warning and name_warning not in document["warnings"]:
            document["warnings"].append(name_warning)
        echo_json(document)
    else:
        _report_text(result, verb, dry_run)
    if name_warning:
        click.echo(f"efikit: warning: {name_warning}", err=True)


def _report_text(result: Any, verb: str, dry_run: bool) -> None:
    if not result.changed:
        click.echo(f"{result.path}: no stamp; nothing to {verb}")
        return
    prefix = "would " + verb if dry_run else verb
    click.echo(f"{result.path}: {prefix}: {_describe(result.previous)} -> "
               f"{_describe(result.stamp)}")
    where = {"pkcs7-certificate": "extra certificate in the PKCS#7 signature",
             "efi-guid-entry": "WIN_CERT_TYPE_EFI_GUID entry (unsigned image)"}
    if result.container:
        click.echo(f"  container: {where[result.container]}")
    click.echo(f"  {_HASH_TEXT[result.hash_effect]}; {_CHECKSUM_TEXT[result.checksum]}; "
               f"size {result.old_size} -> {result.new_size} bytes")


@stamp.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--slot", required=True, type=click.Choice(["A", "B"], case_sensitive=False),
              help="The slot this loader boots.")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE",
              help="A metadata string (version, build id, ...); repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the stamped image here (atomically) instead of in place.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def set_cmd(file: str, slot: str, meta: tuple[str, ...], output: str | None, dry_run: bool,
            as_json: bool) -> None:
    """Stamp FILE with its slot (replacing any stamp); signed images stay valid."""
    from efikit.pe.stamp import set_stamp  # noqa: PLC0415
    from efikit.pe.stamp_format import make_stamp  # noqa: PLC0415

    from efikit.pe.stamp import slot_mismatch  # noqa: PLC0415

    value = make_stamp(slot, _parse_meta(meta))
    result = set_stamp(file, value, output=output, dry_run=dry_run)
    _report(result, "stamp", dry_run, as_json, slot_mismatch(output or file, value))


@stamp.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def show_cmd(file: str, as_json: bool) -> None:
    """The stamp of FILE (and whether it agrees with FILE's name)."""
    from efikit.pe.stamp import read_stamp, slot_mismatch  # noqa: PLC0415

    value = read_stamp(file)
    warning = slot_mismatch(file, value)
    if as_json:
        document = {"file": file, "stamp": _stamp_dict(value), "name_mismatch": warning}
        echo_json(document)
        if warning:
            click.echo(f"efikit: warning: {warning}", err=True)
        return
    if value is None:
        click.echo(f"{file}: no stamp")
        return
    click.echo(f"{file}: stamp version {value.major}.{value.minor}")
    click.echo(f"  slot: {value.slot}")
    for key, text in value.meta:
        click.echo(f"  {key}: {text}")
    if warning:
        click.echo(f"efikit: warning: {warning}", err=True)


@stamp.command("clear")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the unstamped image here (atomically) instead of in place.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def clear_cmd(file: str, output: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove the stamp from FILE: the file is byte for byte what it was before stamping."""
    from efikit.pe.stamp import clear_stamp  # noqa: PLC0415

    result = clear_stamp(file, output=output, dry_run=dry_run)
    _report(result, "clear", dry_run, as_json)
