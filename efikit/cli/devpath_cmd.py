"""`efikit devpath`: decode and encode UEFI device paths."""
from __future__ import annotations

import click

from efikit.cli.common import TEXT_FROM_OPTION, echo_json, read_hex_or_file, write_output
from efikit.cli.render import device_path_json
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.path import text_round_trips
from efikit.codec.fastpath import device_path_text_to_bytes, device_path_to_text


@click.group()
def devpath() -> None:
    """Decode and encode UEFI device paths (edk2 text form)."""


@devpath.command("decode")
@click.argument("data", metavar="HEX|@FILE")
@click.option("--display-only", is_flag=True, help="Short form, as the UEFI Shell shows it.")
@click.option("--json", "as_json", is_flag=True, help="Print nodes and fields as JSON.")
def decode(data: str, display_only: bool, as_json: bool) -> None:
    """Print the text form of a binary device path."""
    raw = read_hex_or_file(data)
    if as_json:
        echo_json(device_path_json(DevicePath.from_bytes(raw)))
        return
    # the text (and DecodeError) of DevicePath.from_bytes(raw).to_text(display_only)
    text = device_path_to_text(raw, display_only)
    click.echo(text)
    full = text if not display_only else device_path_to_text(raw)
    if not text_round_trips(full, raw):
        click.echo("efikit: warning: this text does not carry all of the path's bytes "
                   "(encoding it gives other bytes); keep the bytes", err=True)


@devpath.command("encode")
@click.argument("text")
@TEXT_FROM_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write raw bytes here.")
def encode(text: str, text_dialect: str, output: str | None) -> None:
    """Encode device-path text to binary (hex on stdout, or raw bytes with -o)."""
    if text_dialect == "edk2":
        # the bytes (and TextParseError) of DevicePath.from_text(text).to_bytes()
        write_output(device_path_text_to_bytes(text), output)
    else:
        write_output(DevicePath.from_text(text, dialect=text_dialect).to_bytes(), output)
