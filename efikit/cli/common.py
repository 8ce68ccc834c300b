"""Helpers shared by the CLI command modules (input parsing, JSON output)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from efikit.errors import UsageError


def read_hex_or_file(value: str) -> bytes:
    """`@FILE` reads raw bytes from FILE ('-' for stdin); anything else is hex (spaces allowed)."""
    if value.startswith("@"):
        name = value[1:]
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
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


def write_output(data: bytes, output: str | None) -> None:
    """Raw bytes to OUTPUT (atomically), or hex on stdout when no output is given."""
    if output is None:
        click.echo(data.hex())
        return
    from efikit.fileio import atomic_write  # noqa: PLC0415

    atomic_write(Path(output), data)
