"""`efikit pe`: inspect PE/COFF loaders, compute Authenticode hashes, tell a loader's slot."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from efikit.cli.common import echo_json
from efikit.pe.authenticode import ALGORITHMS, authenticode_hash
from efikit.pe.slot import slot_for
from efikit.pe.uki import DEFAULT_SLOT_PLACEHOLDER

if TYPE_CHECKING:  # pefile and asn1crypto load only when `inspect` runs
    from efikit.pe.inspect import PEInfo


@click.group("pe")
def pe() -> None:
    """Inspect PE/COFF loaders and compute Authenticode hashes."""


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[value]


def _render(info: PEInfo) -> list[str]:
    lines = [
        f"file:          {info.path} ({info.file_size} bytes)",
        f"format:        {info.format} {info.machine_name} ({info.machine:#06x})",
        f"subsystem:     {info.subsystem_name} ({info.subsystem})",
        f"entry point:   {info.entry_point:#x} (image base {info.image_base:#x}, "
        f"size {info.size_of_image:#x})",
        f"NX compatible: {'yes' if info.nx_compat else 'no'}",
        f"slot by name:  {info.slot}",
        f"checksum:      stored {info.checksum_stored:#010x}, computed "
        f"{info.checksum_computed:#010x}"
        + ("" if info.checksum_stored in (0, info.checksum_computed) else "  (MISMATCH)"),
        f"authenticode:  sha256 {info.authenticode_sha256.hex()}"
        + ("" if info.authenticode_sha256 == info.authenticode_sha256_padded
           else f"\n               padded (pesign -P, sbsign) {info.authenticode_sha256_padded.hex()}"),
        "sections:",
    ]
    for s in info.sections:
        lines.append(f"  {s.name:<12} va {s.virtual_address:#010x} vsize {s.virtual_size:#09x} "
                     f"raw {s.raw_offset:#09x}+{s.raw_size:#09x} {s.access} {' '.join(s.flags)}")
    if not info.sections_contiguous:
        lines.append("  note: section data has gaps; the Authenticode trailer starts at "
                     "SizeOfHeaders + all SizeOfRawData (edk2 / spec rule)")
    if info.sbat is not None:
        lines.append("sbat:")
        for row in info.sbat:
            lines.append("  " + ",".join((row.component, row.generation, row.vendor,
                                          row.package, row.version, row.url) + row.extra))
    if info.uki is not None:
        uki = info.uki
        lines.append("unified kernel image:")
        for section in uki.sections:
            lines.append(f"  {section.name:<9} {section.size:>10} bytes  sha256 {section.sha256}")
        if uki.os_release:
            pretty = uki.os_release.get("PRETTY_NAME") or uki.os_release.get("NAME", "")
            lines.append(f"  os-release: {pretty} (ID={uki.os_release.get('ID', '')}, "
                         f"VERSION_ID={uki.os_release.get('VERSION_ID', '')})")
        if uki.uname is not None:
            lines.append(f"  uname:      {uki.uname}")
        if uki.cmdline is not None:
            lines.append(f"  cmdline:    {uki.cmdline}")
            lines.append(f"  for slot {uki.slot}: {uki.cmdline_for_slot}")
    if info.stamp is not None:
        stamp = info.stamp
        if stamp.error:
            lines.append(f"stamp:         unreadable: {stamp.error}")
        else:
            meta = ", ".join(f"{k}={v}" for k, v in stamp.meta)
            lines.append(f"stamp:         slot {stamp.slot} (format {stamp.version})"
                         + (f"; {meta}" if meta else ""))
        if stamp.name_warning:
            lines.append(f"  warning: {stamp.name_warning}")
    if info.certificate_table_size:
        lines.append(f"certificate table: {info.certificate_table_offset:#x}+"
                     f"{info.certificate_table_size:#x}")
    else:
        lines.append("certificate table: none (unsigned)")
    for c in info.certificates:
        lines.append(f"  [{c.index}] at {c.offset:#x}: {c.type_name} rev {c.revision:#06x}, "
                     f"{c.length} bytes" + (f", GUID {c.guid}" if c.guid else ""))
        sig = c.signature
        if sig is None:
            continue
        for signer in sig.signers:
            lines.append(f"      signer:  {signer.subject or '(certificate not included)'}")
            lines.append(f"      issuer:  {signer.issuer}")
            lines.append(f"      serial:  {signer.serial:#x}")
        lines.append(f"      signs:   {sig.digest_algorithm} {sig.digest.hex()}")
        match = _yes_no(c.matches)
        if not c.matches and c.matches_padded:
            match = "only the padded (pesign -P) variant"
        lines.append(f"      matches this file: {match}")
    return lines


@pe.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
@click.option("--slot", type=click.Choice(["A", "B"], case_sensitive=False),
              help="Show a UKI command line for this slot (default: the slot of FILE's name).")
@click.option("--placeholder", default=DEFAULT_SLOT_PLACEHOLDER, show_default=True,
              help="Command-line text the loader fills in; its last 'X' becomes the slot letter.")
def inspect_cmd(file: str, as_json: bool, slot: str | None, placeholder: str) -> None:
    """Machine, subsystem, sections, .sbat, UKI parts, checksum and signatures of FILE."""
    from efikit.pe.inspect import info_to_dict, inspect_pe

    info = inspect_pe(file, slot=slot.upper() if slot else None,  # type: ignore[arg-type]
                      placeholder=placeholder)
    if as_json:
        echo_json(info_to_dict(info))
        return
    for line in _render(info):
        click.echo(line)


@pe.command("hash")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--alg", "algorithm", type=click.Choice(ALGORITHMS, case_sensitive=False),
              default="sha256", show_default=True)
@click.option("--padded", is_flag=True,
              help="Pad to 8 bytes like pesign -P and sbsign (edk2 does not pad).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def hash_cmd(file: str, algorithm: str, padded: bool, as_json: bool) -> None:
    """The Authenticode hash of FILE, as edk2 measures it into PCR 4 and checks it in db/dbx."""
    from efikit.cli.progress import byte_progress  # noqa: PLC0415

    with byte_progress(f"hashing {file}", enabled=not as_json) as progress:
        digest = authenticode_hash(file, algorithm.lower(), padded=padded, progress=progress)
    if as_json:
        echo_json({"file": file, "algorithm": algorithm.lower(), "padded": padded,
                   "digest": digest.hex()})
    else:
        click.echo(f"{digest.hex()}  {file}")


@pe.command("slot")
@click.argument("path_or_device_path")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def slot_cmd(path_or_device_path: str, as_json: bool) -> None:
    """The slot a loader at PATH_OR_DEVICE_PATH boots (seed rule: boot-a.efi / boot-b.efi)."""
    lookup = slot_for(path_or_device_path)
    if as_json:
        document: dict[str, Any] = {
            "input": path_or_device_path, "kind": lookup.kind,
            "file_path_nodes": list(lookup.file_path_nodes), "file_name": lookup.result.file_name,
            "slot": lookup.result.slot, "default": lookup.result.default,
            "display": str(lookup.result),
        }
        echo_json(document)
    else:
        click.echo(str(lookup.result))
