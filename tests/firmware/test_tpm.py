"""Scenario 5: the PCR 4 measurement of the probe, as the firmware logged it in the TCG2 event
log, equals the Authenticode hash that `pesign -h` and efikit compute for the same file."""
from __future__ import annotations

from pathlib import Path

import pytest

from efikit.pe.authenticode import authenticode_hash
from firmware import harness
from firmware.conftest import require_bench

pytestmark = pytest.mark.firmware


def test_pcr4_digest_of_probe_equals_authenticode_hash(  # type: ignore[no-untyped-def]
    make_disk, make_varstore, probe_efi: Path, tmp_path: Path
) -> None:
    require_bench("pesign")
    disk = make_disk({harness.FALLBACK_PATH: probe_efi})
    result = harness.boot(disk, make_varstore(), tpm_state=tmp_path / "tpm")
    probe = result.probe
    assert probe.complete, result.tail()
    assert probe["tcg2"].startswith("present"), result.tail()

    own = [digest for digest, path in probe.tcg2_apps()
           if path.upper().endswith(harness.FALLBACK_PATH.upper())]
    assert len(own) == 1, probe.tcg2_apps()
    assert own[0] == harness.pesign_hash(probe_efi).lower()
    assert own[0] == authenticode_hash(probe_efi).hex()
