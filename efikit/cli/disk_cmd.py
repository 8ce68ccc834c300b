"""`efikit disk`: GPT partition tables and the HD() device-path node of each partition."""
from __future__ import annotations

from typing import Any

import click

from efikit.cli.common import echo_json
from efikit.disk.gpt import GptDisk, read_gpt


@click.group()
def disk() -> None:
    """GPT partition tables of disk images and block devices."""


def _disk_json(gpt: GptDisk) -> dict[str, Any]:
    return {
        "source": gpt.source,
        "sector_size": gpt.sector_size,
        "disk_size": gpt.disk_size,
        "disk_guid": str(gpt.disk_guid),
        "header": gpt.header_source,
        "warnings": list(gpt.warnings),
        "partitions": [
            {
                "number": p.number,
                "esp": p.is_esp,
                "type_guid": str(p.type_guid),
                "type": p.type_name,
                "partition_guid": str(p.partition_guid),
                "start_lba": p.start_lba,
                "last_lba": p.last_lba,
                "size_lba": p.size_lba,
                "attributes": p.attributes,
                "name": p.name,
                "hd": p.hd_text(),
            }
            for p in gpt.partitions
        ],
    }


@disk.command("list")
@click.argument("device", metavar="IMAGE_OR_DEV", type=click.Path(exists=True, dir_okay=False))
@click.option("--sector-size", type=click.Choice(["512", "4096"]),
              help="Override the sector size (default: the device's, or probed on an image).")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def list_cmd(device: str, sector_size: str | None, as_json: bool) -> None:
    """List partitions, mark the EFI System Partition, print each one's HD() node."""
    gpt = read_gpt(device, int(sector_size) if sector_size else None)
    if as_json:
        echo_json(_disk_json(gpt))
        return
    for warning in gpt.warnings:
        click.echo(f"efikit: warning: {device}: {warning}", err=True)
    click.echo(
        f"{device}: GPT, {gpt.sector_size}-byte sectors, disk GUID {str(gpt.disk_guid).upper()}"
        + (" (read from the backup header)" if gpt.header_source == "backup" else "")
    )
    for p in gpt.partitions:
        mark = "ESP" if p.is_esp else "   "
        kind = p.type_name or str(p.type_guid).upper()
        name = f" {p.name!r}" if p.name else ""
        click.echo(f"{p.number:>3} {mark} start {p.start_lba} size {p.size_lba} {kind}{name}")
        click.echo(f"        {p.hd_text()}")
