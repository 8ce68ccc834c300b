"""Scenario 1: entries efikit wrote into OVMF_VARS_4M.fd drive the firmware's boot manager.

The firmware boots the first entry in BootOrder; with BootNext set it boots that entry once,
deletes BootNext (efikit reads the varstore the firmware left and finds it gone), and the
next boot follows BootOrder again."""
from __future__ import annotations

from pathlib import Path

import pytest

from firmware import harness
from firmware.entries import read_boot_config, slot_option, write_boot_config

pytestmark = pytest.mark.firmware

A, B = 0x0010, 0x0011


def _ab_entries() -> dict[int, object]:
    return {A: slot_option("Metropolis Slot A", harness.SLOT_A_PATH),
            B: slot_option("Metropolis Slot B", harness.SLOT_B_PATH)}


def _ab_disk(make_disk, probe_efi: Path):  # type: ignore[no-untyped-def]
    return make_disk({harness.SLOT_A_PATH: probe_efi, harness.SLOT_B_PATH: probe_efi})


@pytest.mark.parametrize(("order", "slot", "current"), [([A, B], "A", A), ([B, A], "B", B)])
def test_firmware_boots_first_entry_in_boot_order(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, order: list[int], slot: str, current: int
) -> None:
    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    write_boot_config(varstore, _ab_entries(), order)  # type: ignore[arg-type]

    probe = harness.boot(disk, varstore).probe
    assert probe["slot"] == slot
    assert probe.number("bootcurrent") == current
    assert probe.numbers("bootorder")[:2] == order
    expected_file = harness.SLOT_A_PATH if slot == "A" else harness.SLOT_B_PATH
    assert probe["filepath"].upper() == expected_file.upper()
    assert probe["imagepath"].upper() == (
        f"{harness.DISK_DEVICE_TEXT}/{harness.ESP_HD_TEXT}/{expected_file}".upper()
    )


def test_boot_next_boots_once_then_boot_order(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    write_boot_config(varstore, _ab_entries(), [A, B], boot_next=B)  # type: ignore[arg-type]
    assert read_boot_config(varstore).boot_next == B

    first = harness.boot(disk, varstore).probe
    assert first["slot"] == "B"
    assert first.number("bootcurrent") == B
    assert first.number("bootnext") is None  # the boot manager deletes it before starting B

    after = read_boot_config(varstore)
    assert after.boot_next is None
    assert after.order is not None and after.order[:2] == [A, B]
    assert after.entries[A] == _ab_entries()[A]
    assert after.entries[B] == _ab_entries()[B]

    second = harness.boot(disk, varstore).probe
    assert second["slot"] == "A"
    assert second.number("bootcurrent") == A


def test_inactive_first_entry_is_skipped(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    entries = _ab_entries()
    entries[A] = slot_option("Metropolis Slot A", harness.SLOT_A_PATH, active=False)
    write_boot_config(varstore, entries, [A, B])  # type: ignore[arg-type]
    probe = harness.boot(disk, varstore).probe
    assert probe["slot"] == "B"
    assert probe.number("bootcurrent") == B


def test_load_option_data_reaches_the_loader(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    """Optional data is passed as LoadOptions; `fail` makes the probe return an error, and the
    boot manager then tries the next entry in BootOrder."""
    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    entries = _ab_entries()
    entries[A] = slot_option("Metropolis Slot A", harness.SLOT_A_PATH, "fail".encode("utf-16-le"))
    write_boot_config(varstore, entries, [A, B])  # type: ignore[arg-type]
    result = harness.boot(disk, varstore)
    assert [run["slot"] for run in result.runs] == ["A", "B"], result.tail()
    assert result.runs[0]["loadoptions"] == "fail".encode("utf-16-le").hex()
    assert result.runs[0]["action"] == "fail"
    assert result.runs[1].number("bootcurrent") == B


def test_hidden_entry_is_still_booted_from_boot_order(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    """LOAD_OPTION_HIDDEN only keeps an entry out of the firmware's menus (UEFI 2.10, 3.1.3):
    `efikit boot hide` sets bit 0x8 alone, and OVMF still boots the entry first."""
    from efikit.boot import BootManager
    from efikit.codec.loadoption import LoadOptionAttributes
    from efikit.vars.edk2 import Edk2Store

    disk = _ab_disk(make_disk, probe_efi)
    varstore = make_varstore()
    write_boot_config(varstore, _ab_entries(), [A, B])  # type: ignore[arg-type]
    manager = BootManager(Edk2Store.open(varstore))
    manager.apply(manager.plan_set_flag(A, LoadOptionAttributes.HIDDEN, True))
    raw = read_boot_config(varstore).raw[A]
    assert int.from_bytes(raw[:4], "little") == 0x00000001 | 0x00000008  # ACTIVE | HIDDEN

    probe = harness.boot(disk, varstore).probe
    assert probe["slot"] == "A"
    assert probe.number("bootcurrent") == A


def test_boot_manager_menu_leaves_out_hidden_entries(  # type: ignore[no-untyped-def]
    make_disk, make_varstore
) -> None:
    """What HIDDEN is for: OVMF's Boot Manager page (UiApp, driven over the serial console)
    lists an entry `efikit boot deactivate` changed but not one `efikit boot hide` changed.
    A wrong HIDDEN bit would show up there."""
    from efikit.boot import BootManager
    from efikit.codec.loadoption import LoadOptionAttributes
    from efikit.vars.edk2 import Edk2Store
    from firmware import console

    from efikit.codec.devpath import DevicePath
    from efikit.codec.loadoption import LoadOption

    disk = make_disk({})
    varstore = make_varstore()
    labels = {A: "efikit-visible", B: "efikit-hidden", 0x0012: "efikit-inactive"}
    entries = {n: slot_option(label, harness.SLOT_A_PATH) for n, label in labels.items()}
    setup = LoadOption.create("efikit-setup", DevicePath.from_text(console.UIAPP_TEXT))
    write_boot_config(varstore, {0x0013: setup, **entries}, [0x0013, *labels])
    manager = BootManager(Edk2Store.open(varstore))
    manager.apply(manager.plan_set_flag(B, LoadOptionAttributes.HIDDEN, True))
    manager.apply(manager.plan_set_flag(0x0012, LoadOptionAttributes.ACTIVE, False))

    page = console.boot_manager_page(disk, varstore)
    assert "efikit-visible" in page, page
    assert "efikit-inactive" in page, page  # this page leaves out HIDDEN only
    assert "efikit-hidden" not in page, page
