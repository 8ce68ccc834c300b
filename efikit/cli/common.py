"""Helpers shared by the CLI command modules (input parsing, file output, JSON output)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from efikit import fileio
from efikit.errors import OutputError, UsageError


def read_input_file(name: str, limit: int = fileio.MAX_VARIABLE_SIZE,
                    limit_text: str = fileio.MAX_VARIABLE_SIZE_TEXT) -> bytes:
    """The bytes of a regular file given on the command line ('-' for stdin), at most
    ``limit`` of them (by default the largest variable: what a payload can be)."""
    try:
        if name == "-":
            return fileio.read_stream_bounded(sys.stdin.buffer, limit, limit_text, "stdin")
        return fileio.read_regular(name, limit, limit_text)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def read_hex_or_file(value: str, limit: int = fileio.MAX_VARIABLE_SIZE,
                     limit_text: str = fileio.MAX_VARIABLE_SIZE_TEXT) -> bytes:
    """`@FILE` reads raw bytes from FILE ('-' for stdin; a regular file of at most ``limit``
    bytes); anything else is hex (spaces allowed)."""
    if value.startswith("@"):
        return read_input_file(value[1:], limit, limit_text)
    cleaned = "".join(value.split())
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"not hex and not @FILE: {value[:40]!r}") from None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value: Any) -> str:
    """A JSON document (sorted keys off: field order is part of the schema). Text stays as
    it is, except lone surrogates (a UCS-2 name need not be valid UTF-16): those only occur
    inside strings and are written as \\uXXXX escapes, so the output is valid UTF-8."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo_json(value: Any) -> None:
    """Print ``json_text(value)``."""
    click.echo(json_text(value))


def write_file(output: str, data: bytes) -> None:
    """Replace OUTPUT with ``data`` atomically (an existing file keeps its owner, group and
    mode, a symlink its target; a new file follows the umask); OutputError if it fails."""
    try:
        fileio.atomic_write(Path(output), data)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}; "
                          "the file was left unchanged") from None


def write_output(data: bytes, output: str | None) -> None:
    """Raw bytes to OUTPUT (atomically), or hex on stdout when no output is given."""
    if output is None:
        click.echo(data.hex())
        return
    write_file(output, data)


TEXT_FROM_OPTION = click.option(
    "--from", "text_dialect", type=click.Choice(["edk2", "efibootmgr"]), default="edk2",
    show_default=True, help="Dialect of the device-path text: edk2 (what firmware and efikit "
    "print) or efibootmgr (what efibootmgr -v prints).")
