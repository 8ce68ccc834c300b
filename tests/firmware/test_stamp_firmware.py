"""Stamps on real firmware (OVMF secboot build, snakeoil db, swtpm).

- sbsign, then stamp: the stamped probe boots under Secure Boot, and the PCR 4 digest logged
  for it equals the one logged for the same probe unstamped (the stamp is outside the
  Authenticode hash). The probe reads the stamp from its own file and prints it.
- stamp, then sbsign: the result boots under Secure Boot, but the stamp is gone (sbsign drops
  the WIN_CERT_TYPE_EFI_GUID entry) -- the order `efikit stamp set` warns about.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from efikit.pe.authenticode import authenticode_hash
from efikit.pe.stamp import read_stamp, set_stamp
from efikit.pe.stamp_format import make_stamp
from firmware import harness
from firmware.conftest import require_secure_bench

pytestmark = pytest.mark.firmware

STAMP = make_stamp("B", {"version": "1.0", "build": "firmware-bench"})


def _boot_secure(make_disk, make_varstore, loader: Path, name: str, tpm: Path):  # type: ignore[no-untyped-def]
    disk = make_disk({harness.FALLBACK_PATH: loader}, name=name)
    result = harness.boot(disk, make_varstore(harness.SECURE, name=name),
                          firmware=harness.SECURE, tpm_state=tpm, stop_on=[harness.SECURE_BOOT_REFUSED])
    assert result.stopped_on is None, f"Secure Boot refused {name}:\n{result.tail()}"
    probe = result.probe
    assert probe.complete, result.tail()
    assert probe["secureboot"] == "1"
    own = [d for d, path in probe.tcg2_apps()
           if path.upper().endswith(harness.FALLBACK_PATH.upper())]
    assert len(own) == 1, probe.tcg2_apps()
    return probe, own[0]


def test_signed_then_stamped_probe_boots_and_keeps_its_pcr4_digest(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    require_secure_bench()
    signed = harness.sbsign(probe_efi, tmp_path / "probe-signed.efi", tmp_path)
    stamped = tmp_path / "probe-stamped.efi"
    shutil.copyfile(signed, stamped)
    result = set_stamp(stamped, STAMP)
    assert result.container == "pkcs7-certificate" and result.hash_effect == "unchanged"
    assert read_stamp(stamped) == STAMP

    plain_probe, plain_digest = _boot_secure(make_disk, make_varstore, signed, "plain",
                                             tmp_path / "tpm-plain")
    probe, digest = _boot_secure(make_disk, make_varstore, stamped, "stamped",
                                 tmp_path / "tpm-stamped")
    assert digest == plain_digest
    assert digest == harness.pesign_hash(stamped) == authenticode_hash(stamped).hex()
    assert int(probe["file_size"]) == stamped.stat().st_size
    assert plain_probe["stamp"] == "none"

    # The probe reads its own file and prints the stamp it finds in its certificate table.
    assert probe["stamp"] == "B", probe.lines
    assert probe["stamp_version"] == "1.0"
    assert probe.all("stamp_meta") == ["version=1.0", "build=firmware-bench"]


def test_stamped_probe_under_the_other_slot_name_reports_its_own_stamp(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    """boot-b.efi stamped A (the mistake `efikit pe inspect` warns about): the name says B,
    the stamp says A, and the probe reports both as they are."""
    require_secure_bench()
    signed = harness.sbsign(probe_efi, tmp_path / "probe-signed.efi", tmp_path)
    set_stamp(signed, make_stamp("A"))
    from firmware.entries import slot_option, write_boot_config

    disk = make_disk({harness.SLOT_B_PATH: signed})
    varstore = make_varstore(harness.SECURE)
    write_boot_config(varstore, {1: slot_option("slot B", harness.SLOT_B_PATH)}, order=[1],
                      boot_next=1)
    result = harness.boot(disk, varstore, firmware=harness.SECURE, stop_on=[harness.SECURE_BOOT_REFUSED])
    assert result.stopped_on is None, result.tail()
    probe = result.probe
    assert probe["secureboot"] == "1"
    assert probe["filepath"].upper() == harness.SLOT_B_PATH.upper()
    assert probe["slot"] == "B" and probe["stamp"] == "A"
    assert probe.all("stamp_meta") == []


def test_stamped_then_signed_probe_boots_but_loses_the_stamp(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    require_secure_bench()
    stamped = tmp_path / "probe-stamped-unsigned.efi"
    shutil.copyfile(probe_efi, stamped)
    result = set_stamp(stamped, STAMP)
    assert result.container == "efi-guid-entry"
    assert any("sign it first" in w for w in result.warnings)
    signed = harness.sbsign(stamped, tmp_path / "probe-stamped-signed.efi", tmp_path)
    assert read_stamp(signed) is None
    probe, digest = _boot_secure(make_disk, make_varstore, signed, "late-signed",
                                 tmp_path / "tpm")
    assert digest == harness.pesign_hash(signed)
    assert probe["stamp"] == "none"
