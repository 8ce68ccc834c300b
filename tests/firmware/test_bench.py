"""The bench itself: the probe boots from the fallback path and reports its facts."""
from __future__ import annotations

from pathlib import Path

import pytest

from firmware import harness

pytestmark = pytest.mark.firmware


def test_disk_image_round_trip(make_disk, probe_efi: Path) -> None:  # type: ignore[no-untyped-def]
    disk = make_disk({harness.SLOT_B_PATH: probe_efi, "\\startup.nsh": b"echo hi\r\n"})
    assert disk.read_file(harness.SLOT_B_PATH) == probe_efi.read_bytes()
    assert disk.read_file("startup.nsh") == b"echo hi\r\n"
    assert disk.exists("\\EFI\\METROPOLIS\\BOOT-B.EFI")
    assert not disk.exists(harness.SLOT_A_PATH)


def test_probe_boots_from_removable_media_path(make_disk, make_varstore, probe_efi: Path) -> None:  # type: ignore[no-untyped-def]
    disk = make_disk({harness.FALLBACK_PATH: probe_efi})
    result = harness.boot(disk, make_varstore())
    probe = result.probe
    assert probe.complete, result.tail()
    assert probe["filepath"] == harness.FALLBACK_PATH
    assert probe["slot"] == "A"
    assert probe["imagepath"] == (
        f"{harness.DISK_DEVICE_TEXT}/{harness.ESP_HD_TEXT}/{harness.FALLBACK_PATH}"
    )
    assert probe["tcg2"] == "absent"
    assert int(probe["file_size"]) == probe_efi.stat().st_size
    assert probe["stamp"] == "none"
    # OVMF's first boot creates its own entries; the one it started is BootCurrent.
    current = probe.number("bootcurrent")
    assert current is not None and current in probe.numbers("bootorder")
    assert not result.timed_out


def test_probe_reads_the_stamp_of_an_unstamped_and_a_stamped_copy(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    """The probe finds the stamp in its own file (unsigned image: WIN_CERT_TYPE_EFI_GUID entry)
    and reports it next to the slot its file name gives: the two are independent facts."""
    from efikit.pe.stamp import set_stamp
    from efikit.pe.stamp_format import make_stamp

    stamped = tmp_path / "stamped.efi"
    set_stamp(probe_efi, make_stamp("B", {"version": "2.5", "build": "bench 7"}), output=stamped)
    disk = make_disk({harness.SLOT_A_PATH: stamped, harness.FALLBACK_PATH: stamped})
    probe = harness.boot(disk, make_varstore()).probe
    assert probe["stamp"] == "B"
    assert probe["stamp_version"] == "1.0"
    assert probe.all("stamp_meta") == ["version=2.5", "build=bench 7"]
    assert int(probe["file_size"]) == stamped.stat().st_size
    assert probe["slot"] == "A"  # \EFI\BOOT\BOOTX64.EFI: the name rule's default
