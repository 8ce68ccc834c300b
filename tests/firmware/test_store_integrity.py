"""Scenario 4: a varstore that efikit edited (deleted records left in place) and one it
compacted both boot; afterwards efikit reads its own entries and what OVMF added.

Both start from the store OVMF left after its first boot, as a machine in the field would."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from efikit.vars.edk2 import Edk2Store
from firmware import harness
from firmware.entries import read_boot_config, slot_option, write_boot_config

pytestmark = pytest.mark.firmware

A, B = 0x0010, 0x0011
SCRATCH_VENDOR = uuid.UUID("5b1e7a52-1f0c-4e57-9a43-0e6b1c9d2f11")


def _edit(varstore: Path, compact: bool) -> dict[int, object]:
    """Churn the store the way repeated installs do, then set the A/B entries first in BootOrder."""
    store = Edk2Store.open(varstore)
    for round_ in range(3):
        with store.batch():
            for i in range(20):
                store.set(f"EfikitScratch{i:02d}", SCRATCH_VENDOR, bytes([round_, i]) * 300)
        with store.batch():
            for i in range(20):
                store.delete(f"EfikitScratch{i:02d}", SCRATCH_VENDOR)
    for label in ("old label", "Metropolis Slot A"):
        write_boot_config(varstore, {A: slot_option(label, harness.SLOT_A_PATH)}, None)
    before = read_boot_config(varstore)
    assert before.order is not None
    entries = {A: slot_option("Metropolis Slot A", harness.SLOT_A_PATH),
               B: slot_option("Metropolis Slot B", harness.SLOT_B_PATH)}
    write_boot_config(varstore, entries, [A, B] + [n for n in before.order if n not in (A, B)])
    store = Edk2Store.open(varstore)
    if compact:
        store.compact()
        assert Edk2Store.open(varstore).reclaimable_bytes == 0
    else:
        assert store.reclaimable_bytes > 0
    return entries  # type: ignore[return-value]


@pytest.mark.parametrize("compact", [False, True], ids=["edited", "compacted"])
def test_efikit_edited_store_boots_and_reads_back(  # type: ignore[no-untyped-def]
    first_boot: harness.BootResult, make_disk, probe_efi: Path, tmp_path: Path, compact: bool
) -> None:
    varstore = tmp_path / "vars.fd"
    shutil.copyfile(first_boot.varstore, varstore)
    firmware_entries = read_boot_config(varstore).entries
    assert firmware_entries, "OVMF created no entries on its first boot"
    entries = _edit(varstore, compact)

    disk = make_disk({harness.SLOT_A_PATH: probe_efi, harness.SLOT_B_PATH: probe_efi,
                      harness.FALLBACK_PATH: probe_efi})
    probe = harness.boot(disk, varstore).probe
    assert probe["slot"] == "A"
    assert probe.number("bootcurrent") == A

    after = read_boot_config(varstore)
    assert after.entries[A] == entries[A] and after.entries[B] == entries[B]
    assert after.order is not None and after.order[:2] == [A, B]
    # What OVMF had added is still there and still decodes (it may rewrite, never lose, them).
    for number, option in firmware_entries.items():
        assert number in after.entries, (number, option.description)
        assert after.entries[number].description == option.description
        assert number in after.order
    for number, data in after.raw.items():
        assert after.entries[number].to_bytes() == data
    # The firmware's own writes after our edits keep the store readable and byte-stable.
    image = varstore.read_bytes()
    assert Edk2Store.from_bytes(image).to_bytes() == image
