"""`efikit devpath`: decode and encode UEFI device paths."""
from __future__ import annotations

import click

from efikit.cli.common import echo_json, read_hex_or_file, write_output
from efikit.cli.render import device_path_json
from efikit.codec.devpath import DevicePath


@click.group()
def devpath() -> None:
    """Decode and encode UEFI device paths (edk2 text form)."""


@devpath.command("decode")
@click.argument("data", metavar="HEX|@FILE")
@click.option("--display-only", is_flag=True, help="Short form, as the UEFI Shell shows it.")
@click.option("--json", "as_json", is_flag=True, help="Print nodes and fields as JSON.")
def decode(data: str, display_only: bool, as_json: bool) -> None:
    """Print the text form of a binary device path."""
    path = DevicePath.from_bytes(read_hex_or_file(data))
    if as_json:
        echo_json(device_path_json(path))
    else:
        click.echo(path.to_text(display_only=display_only))


@devpath.command("encode")
@click.argument("text")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write raw bytes here.")
def encode(text: str, output: str | None) -> None:
    """Encode device-path text to binary (hex on stdout, or raw bytes with -o)."""
    write_output(DevicePath.from_text(text).to_bytes(), output)
