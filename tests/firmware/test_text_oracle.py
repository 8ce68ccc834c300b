"""Scenario 2: edk2 as the text oracle for the device-path codec.

At least 200 generated Boot#### entries (every node type and field variant the codec knows,
see oracle.NODE_TEMPLATES) are written with efikit ahead of the UEFI Shell in BootOrder. The
boot manager tries each one and prints its full-form text (`BdsDxe: failed to load ...`); the
Shell then runs startup.nsh, which saves `bcfg boot dump -v` (display-only text) to the ESP.
Both must equal efikit's `to_text` in the matching mode."""
from __future__ import annotations

import pytest

from efikit.codec.loadoption import LoadOption
from firmware import harness, oracle
from firmware.entries import read_boot_config, write_boot_config

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

ENTRY_COUNT = 240
CHUNKS = 2  # independent boots, so pytest-xdist can run them side by side


def _boot_chunk(index: int, make_disk, make_varstore):  # type: ignore[no-untyped-def]
    entries, coverage = oracle.generate(ENTRY_COUNT)
    assert len(entries) == 246, f"entries: {len(entries)}; codec coverage: {coverage}"
    chunk = list(oracle.iter_chunks(entries, -(-len(entries) // CHUNKS)))[index]
    varstore = make_varstore()
    options = {e.number: LoadOption.create(e.label, e.path) for e in chunk}
    # OVMF appends its own entries (the Shell among them) to BootOrder on this first boot.
    write_boot_config(varstore, options, [e.number for e in chunk])
    disk = make_disk(oracle.disk_files())
    result = harness.boot(disk, varstore, timeout=240)
    assert not result.timed_out, result.tail()
    dump = oracle.parse_bcfg_dump(disk.read_file(oracle.DUMP_FILE))
    return chunk, result, dump, varstore


@pytest.mark.parametrize("index", range(CHUNKS))
def test_edk2_prints_efikit_text(make_disk, make_varstore, index: int) -> None:  # type: ignore[no-untyped-def]
    chunk, result, dump, varstore = _boot_chunk(index, make_disk, make_varstore)
    failures = oracle.bds_failures(result.serial)
    stored = read_boot_config(varstore).entries

    mismatches: list[str] = []
    for entry in chunk:
        # The firmware kept the entry as written (nothing it considers stale).
        if stored.get(entry.number) is None or stored[entry.number].file_paths[0] != entry.path:
            mismatches.append(f"Boot{entry.number:04X} {entry.template}: changed or deleted by the firmware")
            continue
        full = entry.path.to_text()
        bds = failures.get(entry.number)
        if entry.path.nodes[0].type_code == oracle.BBS_TYPE:
            pass  # a legacy (BBS) entry: the UEFI boot manager skips it without a message
        elif bds is None:
            mismatches.append(f"Boot{entry.number:04X} {entry.template}: no BdsDxe line (expected {full})")
        elif bds.label != entry.label:
            mismatches.append(f"Boot{entry.number:04X}: BdsDxe label {bds.label!r}")
        elif (not full.startswith(bds.text)) if bds.truncated else (bds.text != full):
            mismatches.append(f"Boot{entry.number:04X} {entry.template} full:\n  edk2   {bds.text}\n  efikit {full}")
        display = entry.path.to_text(display_only=True)
        bcfg = dump.get(entry.number)
        if bcfg is None:
            mismatches.append(f"Boot{entry.number:04X} {entry.template}: not in bcfg dump")
        elif bcfg.device_path != display:
            mismatches.append(
                f"Boot{entry.number:04X} {entry.template} display-only:\n  edk2   {bcfg.device_path}\n  efikit {display}"
            )
    assert not mismatches, f"{len(mismatches)} disagreement(s):\n" + "\n".join(mismatches)


def test_generated_entries_cover_every_node_type_the_codec_decodes() -> None:
    """The oracle entries use every (type, subtype) the codec has a decoder for (no boot)."""
    from efikit.codec.devpath import base

    entries, coverage = oracle.generate(ENTRY_COUNT)
    seen = {(node.type_code, node.subtype_code) for e in entries for node in e.path.nodes}
    known = set(getattr(base, "_DECODERS", {})) - {(0x7F, 0x01)}  # end of instance: no entry needs it
    assert known, "codec registry not found"
    assert not known - seen, f"node types without an oracle entry: {sorted(known - seen)}; templates: {coverage}"
    assert len(entries) == 246
