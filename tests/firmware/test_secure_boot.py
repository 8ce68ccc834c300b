"""Scenario 6: under Secure Boot (OVMF secboot build, snakeoil PK/KEK/db), the probe signed with
the snakeoil key boots and the unsigned probe is refused. With a TPM attached, the signed
probe's PCR 4 digest is the signed file's Authenticode hash, which is the unsigned file's
padded hash (`pesign -P`): sbsign pads the image to 8 bytes before the certificate table."""
from __future__ import annotations

from pathlib import Path

import pytest

from efikit.pe.authenticode import authenticode_hash
from firmware import harness
from firmware.conftest import require_secure_bench

pytestmark = pytest.mark.firmware


def test_signed_probe_boots_under_secure_boot(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    require_secure_bench()
    signed = harness.sbsign(probe_efi, tmp_path / "probe-signed.efi", tmp_path)
    disk = make_disk({harness.FALLBACK_PATH: signed})
    result = harness.boot(disk, make_varstore(harness.SECURE), firmware=harness.SECURE,
                          tpm_state=tmp_path / "tpm", stop_on=[harness.SECURE_BOOT_REFUSED])
    assert result.stopped_on is None, result.tail()
    probe = result.probe
    assert probe.complete, result.tail()
    assert probe["secureboot"] == "1"
    own = [d for d, path in probe.tcg2_apps() if path.upper().endswith(harness.FALLBACK_PATH.upper())]
    assert own == [harness.pesign_hash(signed)]
    assert own[0] == authenticode_hash(signed).hex()
    assert own[0] == harness.pesign_hash(probe_efi, padded=True)


def test_unsigned_probe_is_refused_under_secure_boot(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path
) -> None:
    require_secure_bench()
    disk = make_disk({harness.FALLBACK_PATH: probe_efi})
    result = harness.boot(disk, make_varstore(harness.SECURE), firmware=harness.SECURE,
                          stop_on=[harness.SECURE_BOOT_REFUSED, r"Shell> "], timeout=90)
    assert result.runs == (), result.tail()
    refusals = [line for line in result.bds_lines() if "Access Denied" in line or "Security Violation" in line]
    assert any(harness.DISK_DEVICE_TEXT in line for line in refusals), result.tail()
