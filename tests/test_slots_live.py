"""The running system's side of the A/B flow, on a fake /proc, /sys and /dev: the mounted ESP
found from mountinfo + sysfs + the disk's GPT, and the kernel command line as a second opinion
on the running slot. (The real kernel: tests/firmware/test_linux_guest.py.)"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from efikit.disk.gpt import ESP_TYPE, LINUX_FS_TYPE
from efikit.disk.mounts import parse_mountinfo, partition_of
from efikit.errors import DiskError
from efikit.slots.esp_locate import find_mounted_esp, location_of_directory
from efikit.slots.machine import SlotMachine
from efikit.slots.operations import plan_commit, resolve_running
from efikit.slots.scheme import SlotScheme
from efikit.slots.status import read_status
from efikit.vars.memory import MemoryStore
from test_disk_gpt import build_gpt
from test_slots_support import make_esp, set_u16

ESP_GUID = uuid.UUID("0e3c42e4-5c5e-4b5a-a05f-2a8a3b9a2c6a")
DATA_GUID = uuid.UUID("9b8f0a7e-1c2d-4e3f-8a9b-0c1d2e3f4a5b")
OTHER_ESP_GUID = uuid.UUID("5d1e6f70-8192-4a3b-9c4d-5e6f708192a3")


class FakeSystem:
    """/proc/self/mountinfo, /sys/dev/block and /dev laid out under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mountinfo = root / "mountinfo"
        self.sysfs = root / "sys"
        self.devfs = root / "dev"
        self.devfs.mkdir(parents=True)
        (self.sysfs / "dev" / "block").mkdir(parents=True)
        self.lines = ["22 1 0:21 / /proc rw,relatime shared:5 - proc proc rw",
                      "25 1 0:23 / /run rw,nosuid shared:6 - tmpfs tmpfs rw"]
        self.mountinfo.write_text("\n".join(self.lines) + "\n")
        self.next_id = 40

    def disk(self, name: str, major: int,
             parts: list[tuple[uuid.UUID, uuid.UUID, int, int, str]]) -> None:
        """A GPT disk /dev/<name> and its partitions in sysfs (<name>1, <name>2, ...)."""
        build_gpt(self.devfs / name, parts=parts)
        for number, (_, _, first, last, _) in enumerate(parts, start=1):
            part = self.sysfs / "devices" / "virtual" / "block" / name / f"{name}{number}"
            part.mkdir(parents=True)
            (part / "partition").write_text(f"{number}\n")
            (part / "start").write_text(f"{first}\n")
            (part / "size").write_text(f"{last - first + 1}\n")
            (self.sysfs / "dev" / "block" / f"{major}:{number}").symlink_to(part)

    def mount(self, major: int, minor: int, where: str, fs_type: str = "vfat",
              root: str = "/") -> None:
        self.next_id += 1
        where_escaped = where.replace(" ", "\\040")
        self.lines.append(f"{self.next_id} 1 {major}:{minor} {root} {where_escaped} rw,relatime "
                          f"shared:9 - {fs_type} /dev/x{minor} rw,codepage=437")
        self.mountinfo.write_text("\n".join(self.lines) + "\n")

    def find(self, wanted: list[uuid.UUID] | None = None):  # type: ignore[no-untyped-def]
        return find_mounted_esp(wanted or [], self.mountinfo, self.sysfs, self.devfs)


PARTS = [(ESP_TYPE, ESP_GUID, 2048, 4095, "EFI"), (LINUX_FS_TYPE, DATA_GUID, 4096, 8000, "data")]


def test_mountinfo_fields_and_escapes() -> None:
    mounts = parse_mountinfo(
        "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n"
        "garbage line\n"
        "40 1 254:1 / /boot/efi rw - vfat /dev/vda1 rw\n")
    assert [(m.mount_point, m.fs_type, m.source, m.major, m.minor, m.root) for m in mounts] == [
        ("/mnt/with space", "ext3", "/dev/root", 98, 0, "/mnt1"),
        ("/boot/efi", "vfat", "/dev/vda1", 254, 1, "/")]


def test_partition_from_sysfs(tmp_path: Path) -> None:
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    part = partition_of(254, 2, system.sysfs, system.devfs)
    assert part is not None
    assert (part.device, part.disk, part.number, part.start_sectors, part.size_sectors) == (
        str(system.devfs / "vda2"), str(system.devfs / "vda"), 2, 4096, 3905)
    assert partition_of(0, 21, system.sysfs, system.devfs) is None


def test_the_one_mounted_esp_is_found(tmp_path: Path) -> None:
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    system.mount(254, 2, "/srv/data")  # FAT, but a Linux data partition: not an ESP
    system.mount(254, 1, "/boot/efi")
    system.mount(254, 1, "/boot/efi-again")  # the same partition twice counts once
    found = system.find()
    assert found.directory == Path("/boot/efi")
    loc = found.location
    assert (loc.disk, loc.number, loc.partition_guid, loc.start_lba, loc.size_lba) == (
        str(system.devfs / "vda"), 1, ESP_GUID, 2048, 2048)


def test_the_slot_entries_partition_wins(tmp_path: Path) -> None:
    """Two ESPs mounted: the one the slot entries' HD() names, whatever its mount order."""
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    system.disk("vdb", 253, [(ESP_TYPE, OTHER_ESP_GUID, 2048, 4095, "EFI")])
    system.mount(254, 1, "/boot/efi")
    system.mount(253, 1, "/efi")
    with pytest.raises(DiskError, match="several EFI System Partitions are mounted.*--esp"):
        system.find()
    assert system.find([OTHER_ESP_GUID]).directory == Path("/efi")
    assert system.find([ESP_GUID]).directory == Path("/boot/efi")
    # a FAT partition of another type counts when an entry names it
    system.mount(254, 2, "/srv/data")
    assert system.find([DATA_GUID]).directory == Path("/srv/data")


def test_entries_naming_an_unmounted_partition_warn(tmp_path: Path) -> None:
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    system.mount(254, 1, "/boot/efi")
    found = system.find([OTHER_ESP_GUID])
    assert found.directory == Path("/boot/efi")
    assert any(str(OTHER_ESP_GUID).upper() in w and "not mounted" in w
               for w in found.location.warnings)


def test_no_mounted_esp_is_a_clear_refusal(tmp_path: Path) -> None:
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    with pytest.raises(DiskError, match=r"no EFI System Partition is mounted.*--esp DIR"):
        system.find()
    system.mount(0, 50, "/mnt/usb")  # FAT without a partition (a whole-disk stick)
    system.mount(254, 1, "/boot/efi", root="/EFI")  # a bind mount of a subdirectory
    with pytest.raises(DiskError, match=r"/mnt/usb .* is not on a disk partition"):
        system.find()


def test_esp_directory_is_located_through_its_mount(tmp_path: Path) -> None:
    system = FakeSystem(tmp_path)
    system.disk("vda", 254, PARTS)
    mount_point = tmp_path / "esp"
    mount_point.mkdir()
    system.mount(254, 1, str(mount_point))
    loc = location_of_directory(mount_point, system.mountinfo, system.sysfs, system.devfs)
    assert loc is not None and loc.partition_guid == ESP_GUID and loc.number == 1
    assert location_of_directory(tmp_path, system.mountinfo, system.sysfs, system.devfs) is None


# --- the kernel command line ------------------------------------------------------------------

@pytest.mark.parametrize("cmdline,placeholder,expected", [
    ("console=ttyS0 root=PARTLABEL=METROPOLIS-SYSTEM-B ro", "METROPOLIS-SYSTEM-X",
     ("root=PARTLABEL=METROPOLIS-SYSTEM-B", "B")),
    ("root=PARTLABEL=metropolis-system-a quiet", "METROPOLIS-SYSTEM-X",
     ("root=PARTLABEL=metropolis-system-a", "A")),
    ("root=PARTLABEL=METROPOLIS-SYSTEM-X", "METROPOLIS-SYSTEM-X", None),  # not filled in
    ("a=METROPOLIS-SYSTEM-A b=METROPOLIS-SYSTEM-B", "METROPOLIS-SYSTEM-X", None),  # both
    ("root=METROPOLIS-SYSTEM-AB", "METROPOLIS-SYSTEM-X", None),  # another word
    ("slot=SYS_B quiet", "SYS_X", ("slot=SYS_B", "B")),
    ("root=PARTLABEL=METROPOLIS-SYSTEM-B", "", None),  # the check switched off
])
def test_slot_in_cmdline(cmdline: str, placeholder: str,
                         expected: tuple[str, str] | None) -> None:
    assert SlotScheme(cmdline_placeholder=placeholder).slot_in_cmdline(cmdline) == expected


def _installed(tmp_path: Path, cmdline: str | None) -> SlotMachine:
    from test_slots_support import LOCATION

    m = SlotMachine(MemoryStore(), make_esp(tmp_path), LOCATION, SlotScheme(),
                    kernel_cmdline=cmdline)
    plan_commit(m, running="A").apply(m.store, m.esp)
    return m


def _boot_current(m: SlotMachine, slot: str) -> None:
    status = read_status(m, running=slot)  # type: ignore[arg-type]
    entry = status.slot(slot).entry  # type: ignore[arg-type]
    assert entry is not None
    set_u16(m.store, "BootCurrent", entry)


def test_cmdline_agreeing_with_boot_current(tmp_path: Path) -> None:
    m = _installed(tmp_path, "console=ttyS0 root=PARTLABEL=METROPOLIS-SYSTEM-A ro")
    _boot_current(m, "A")
    status = read_status(m)
    assert status.running == "A" and status.running_source == "BootCurrent"
    check = next(c for c in status.checks if c.source == "kernel command line")
    assert (check.value, check.slot, check.agrees) == ("root=PARTLABEL=METROPOLIS-SYSTEM-A", "A",
                                                       True)
    assert status.verdict == "healthy", status.reasons


def test_cmdline_contradicting_boot_current_is_degraded(tmp_path: Path) -> None:
    m = _installed(tmp_path, "root=PARTLABEL=METROPOLIS-SYSTEM-B")
    _boot_current(m, "A")
    status = read_status(m)
    assert status.verdict == "degraded"
    assert any("kernel command line has root=PARTLABEL=METROPOLIS-SYSTEM-B (slot B)" in r
               and "BootCurrent is A" in r for r in status.reasons), status.reasons


def test_cmdline_names_the_running_slot_when_boot_current_cannot(tmp_path: Path) -> None:
    m = _installed(tmp_path, "root=PARTLABEL=METROPOLIS-SYSTEM-B")
    set_u16(m.store, "BootCurrent", 0x0042)  # an entry that is gone (wiped entries)
    status = read_status(m)
    assert (status.running, status.running_source) == ("B", "kernel command line")
    assert resolve_running(m, None) == "B"
    m.kernel_cmdline = "root=PARTLABEL=METROPOLIS-SYSTEM-X"
    status = read_status(m)
    assert status.running is None
    assert any("names no slot" in n for n in status.notes)
