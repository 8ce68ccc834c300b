"""Fixtures of the real-firmware tier: the probe loader, disk images, varstores, a TPM."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import require_file, require_tool
from firmware import harness

if TYPE_CHECKING:
    from firmware import linux_guest


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


@pytest.fixture(scope="session")
def linux_images() -> "linux_guest.GuestImages":
    """The Linux guest's loaders (Debian's kernel, busybox-static, systemd-stub), built once
    per kernel package version into build/linux-guest."""
    from firmware import linux_guest

    require_bench(*linux_guest.GUEST_TOOLS)
    require_file(linux_guest.BUSYBOX)
    require_file(linux_guest.SYSTEMD_STUB)
    return linux_guest.guest_images()


@pytest.fixture
def linux_machine(tmp_path: Path, linux_images):  # type: ignore[no-untyped-def]
    """A fresh OVMF varstore and a 128 MiB ESP holding slot A's loader (as boot-a.efi and the
    removable-media fallback) and slot B's; ``.boot(commands)`` boots the guest once."""
    from firmware import linux_guest

    a = linux_images.loader("A")
    disk = harness.DiskImage.create(tmp_path / "disk.img", {
        harness.FALLBACK_PATH: a, harness.SLOT_A_PATH: a,
        harness.SLOT_B_PATH: linux_images.loader("B"),
    }, esp_size_lba=linux_guest.ESP_SIZE_LBA)
    varstore = harness.fresh_varstore(harness.PLAIN, tmp_path / "vars.fd")
    return linux_guest.LinuxGuest(tmp_path, linux_images, disk, varstore)
