"""A/B scenarios 1-4 on real firmware (OVMF under QEMU): efikit edits the varstore between
boots as the OS would; the probe (copied as boot-a.efi and boot-b.efi) reports the slot it
started as, BootCurrent and BootNext. Six boots in all.

Scenarios 5 and 6 (damaged entries, stamps) run at unit level in tests/test_slots_*.py; here
the firmware's own entries (OVMF adds its UiApp, Shell and removable-media entries at every
boot) are the "other vendors" that recovery must leave alone.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from efikit.boot import BootManager
from efikit.slots.esp_locate import locate_esp, open_esp_files
from efikit.slots.machine import SlotMachine
from efikit.slots.operations import plan_commit, plan_stage
from efikit.slots.recover import plan_recover
from efikit.slots.status import read_status
from efikit.vars.edk2 import Edk2Store
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from firmware import harness

pytestmark = pytest.mark.firmware


def _machine(disk: harness.DiskImage, varstore: Path) -> SlotMachine:
    location = locate_esp(disk.path)
    return SlotMachine(Edk2Store.open(varstore), open_esp_files(None, location), location)


def _run(m: SlotMachine, plan) -> None:  # type: ignore[no-untyped-def]
    plan.apply(m.store, m.esp)


def _boot(disk: harness.DiskImage, varstore: Path) -> harness.ProbeRun:
    result = harness.boot(disk, varstore)
    probe = result.probe
    assert probe.complete, result.tail()
    return probe


def _ab_disk(make_disk, probe_efi: Path) -> harness.DiskImage:  # type: ignore[no-untyped-def]
    return make_disk({harness.SLOT_A_PATH: probe_efi, harness.SLOT_B_PATH: probe_efi,
                      harness.FALLBACK_PATH: probe_efi})


def test_stage_boot_once_then_commit(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    m = _machine(disk, varstore)
    assert m.location is not None and str(m.location.partition_guid).upper() == \
        harness.ESP_PART_GUID

    # 1. fresh install: both entries, [A, B]
    _run(m, plan_commit(m, running="A"))
    first = _boot(disk, varstore)
    assert first["slot"] == "A"
    a = first.number("bootcurrent")

    # 2. stage B: boots B once, then A again (no commit)
    m = _machine(disk, varstore)
    _run(m, plan_stage(m, "B", running="A"))
    assert read_status(m, running="A").verdict == "trial pending"
    trial = _boot(disk, varstore)
    assert trial["slot"] == "B"
    assert trial.number("bootnext") is None  # consumed before the loader started
    b = trial.number("bootcurrent")
    assert b != a
    assert _boot(disk, varstore)["slot"] == "A"

    # 3. stage B, boot it, commit (offline: the running slot is what the probe reported)
    m = _machine(disk, varstore)
    _run(m, plan_stage(m, "B", running="A"))
    trial = _boot(disk, varstore)
    assert trial["slot"] == "B"
    m = _machine(disk, varstore)
    _run(m, plan_commit(m, running=trial["slot"]))  # type: ignore[arg-type]
    assert not plan_commit(m, running="B")  # idempotent
    status = read_status(m, running="B")
    assert status.verdict == "healthy", status.reasons
    after = _boot(disk, varstore)
    assert after["slot"] == "B"
    assert after.numbers("bootorder")[:2] == [b, a]


def test_recover_after_wipe_boots_committed_slot(  # type: ignore[no-untyped-def]
    make_disk, first_boot: harness.BootResult, tmp_path: Path, probe_efi: Path
) -> None:
    """4. A varstore as OVMF left it after its first boot (its own entries), slot B committed,
    then every Boot#### and BootOrder deleted: recover rebuilds from the disk image."""
    disk = _ab_disk(make_disk, probe_efi)
    varstore = tmp_path / "vars.fd"
    shutil.copyfile(first_boot.varstore, varstore)
    m = _machine(disk, varstore)
    _run(m, plan_commit(m, running="A"))
    _run(m, plan_stage(m, "B", running="A"))
    _run(m, plan_commit(m, running="B"))  # as if B had booted and reached its healthy point
    manager = BootManager(m.store)
    with m.store.batch():
        for number in manager.numbers():
            m.store.delete(f"Boot{number:04X}", EFI_GLOBAL_VARIABLE)
        m.store.delete("BootOrder", EFI_GLOBAL_VARIABLE)
        if manager.boot_next() is not None:
            m.store.delete("BootNext", EFI_GLOBAL_VARIABLE)
    m = _machine(disk, varstore)
    assert read_status(m).verdict == "degraded"
    _run(m, plan_recover(m))  # order from BOOTX64.CSV, which commit wrote
    assert read_status(m, running="B").verdict == "healthy"
    probe = _boot(disk, varstore)
    assert probe["slot"] == "B"
    # OVMF re-created its own entries behind ours; recover leaves them alone
    m = _machine(disk, varstore)
    status = read_status(m, running="B")
    assert status.slot("B").order_position == 0
    assert not [r for r in status.reasons if "duplicate" in r]
