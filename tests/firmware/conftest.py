"""Fixtures of the real-firmware tier: the probe loader, disk images, varstores, a TPM."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require_file, require_tool
from firmware import harness


def require_bench(*extra_tools: str, firmware: harness.Firmware = harness.PLAIN) -> None:
    require_tool(*harness.BENCH_TOOLS, *extra_tools)
    for path in (firmware.code, firmware.vars_template):
        require_file(path)
    require_file("/usr/lib/crt0-efi-x86_64.o")


def require_secure_bench() -> None:
    """The Secure Boot bench: OVMF secboot build, sbsign/openssl/pesign, the snakeoil key."""
    require_bench("sbsign", "openssl", "pesign", firmware=harness.SECURE)
    require_file(harness.SNAKEOIL_KEY)
    require_file(harness.SNAKEOIL_CERT)


@pytest.fixture(scope="session")
def probe_efi() -> Path:
    """The probe loader, built once per worker (the build itself is serialized by a lock)."""
    require_bench()
    return harness.build_probe()


@pytest.fixture
def make_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_disk({esp_path: file or bytes}, name="disk") -> DiskImage in the test's tmp dir."""

    def _make(files: dict[str, Path | bytes], name: str = "disk") -> harness.DiskImage:
        return harness.DiskImage.create(tmp_path / f"{name}.img", files)

    return _make


@pytest.fixture
def make_varstore(tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_varstore(firmware=PLAIN, name="vars") -> a fresh copy of the firmware's template."""

    def _make(firmware: harness.Firmware = harness.PLAIN, name: str = "vars") -> Path:
        require_file(firmware.vars_template)
        return harness.fresh_varstore(firmware, tmp_path / f"{name}.fd")

    return _make


@pytest.fixture(scope="session")
def first_boot(tmp_path_factory: pytest.TempPathFactory, probe_efi: Path) -> harness.BootResult:
    """One boot of a pristine OVMF_VARS_4M.fd copy over a disk holding the probe at the fallback
    path and at both slot paths: the varstore it leaves holds what OVMF writes on first boot.
    Tests copy `first_boot.varstore` before changing it."""
    workdir = tmp_path_factory.mktemp("first-boot")
    disk = harness.DiskImage.create(workdir / "disk.img", {
        harness.FALLBACK_PATH: probe_efi,
        harness.SLOT_A_PATH: probe_efi,
        harness.SLOT_B_PATH: probe_efi,
    })
    varstore = harness.fresh_varstore(harness.PLAIN, workdir / "vars.fd")
    result = harness.boot(disk, varstore)
    assert result.probe.complete, result.tail()
    return result
