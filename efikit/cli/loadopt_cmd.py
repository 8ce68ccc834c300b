"""`efikit loadopt`: decode and encode EFI_LOAD_OPTION payloads (Boot#### contents)."""
from __future__ import annotations

import click

from efikit.cli.common import TEXT_FROM_OPTION, echo_json, read_hex_or_file, write_output
from efikit.cli.render import load_option_json, load_option_line
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption, LoadOptionAttributes
from efikit.codec.ucs2 import encode_ucs2


@click.group()
def loadopt() -> None:
    """Decode and encode EFI load options (the payload of Boot#### variables)."""


@loadopt.command("decode")
@click.argument("data", metavar="HEX|@FILE")
@click.option("--display-only", is_flag=True, help="Short device-path form (UEFI Shell).")
@click.option("--json", "as_json", is_flag=True, help="Print all fields as JSON.")
def decode(data: str, display_only: bool, as_json: bool) -> None:
    """Print a load option: active flag, label, device path, optional data."""
    option = LoadOption.from_bytes(read_hex_or_file(data))
    if as_json:
        echo_json(load_option_json(option))
        return
    flags = "*" if option.active else " "
    extra = []
    if option.hidden:
        extra.append("hidden")
    if option.force_reconnect:
        extra.append("force-reconnect")
    if option.category:
        extra.append(f"category={option.category}")
    suffix = f"  [{', '.join(extra)}]" if extra else ""
    click.echo(f"{flags} {load_option_line(option, display_only)}{suffix}")


@loadopt.command("encode")
@click.option("--label", required=True, help="Description shown in the firmware menu.")
@click.option("--device-path", "device_path", required=True, help="Device path text.")
@TEXT_FROM_OPTION
@click.option("--data", "data_text", help="Optional data as text (stored as UCS-2).")
@click.option("--data-hex", help="Optional data as hex bytes.")
@click.option("--inactive", is_flag=True, help="Clear LOAD_OPTION_ACTIVE.")
@click.option("--hidden", is_flag=True, help="Set LOAD_OPTION_HIDDEN.")
@click.option("--app", is_flag=True, help="Category application instead of boot.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write raw bytes here.")
def encode(label: str, device_path: str, text_dialect: str, data_text: str | None, data_hex: str | None,
           inactive: bool, hidden: bool, app: bool, output: str | None) -> None:
    """Build a load option (hex on stdout, or raw bytes with -o)."""
    if data_text is not None and data_hex is not None:
        raise click.UsageError("give --data or --data-hex, not both")
    optional = b""
    if data_text is not None:
        optional = encode_ucs2(data_text)
    elif data_hex is not None:
        optional = read_hex_or_file(data_hex)
    option = LoadOption.create(label, DevicePath.from_text(device_path, dialect=text_dialect), optional,
                               active=not inactive, hidden=hidden)
    if app:
        option = option.with_flag(LoadOptionAttributes.CATEGORY_APP, True)
    write_output(option.to_bytes(), output)
