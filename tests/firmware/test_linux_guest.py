"""The A/B flow from inside a running Linux (issue 12): Debian's kernel booted by OVMF, efikit
run in it with its defaults -- the kernel's efivarfs at /sys/firmware/efi/efivars, the ESP
found on its own among the mounts. Every boot asserts what the firmware started: BootCurrent
as the guest's kernel reads it, and the slot on the kernel command line (each slot's loader
fills in METROPOLIS-SYSTEM-X for its own slot).

Two machines, so that `-n 2` runs them side by side: the A/B flow (scenarios 1-4, seven boots)
and full NVRAM, recovery and efivarfs itself (scenarios 5-7, four boots).
"""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from efikit.slots.esp_locate import locate_esp, open_esp_files
from efikit.slots.machine import SlotMachine
from efikit.slots.operations import plan_commit
from efikit.vars.edk2 import Edk2Store
from firmware import harness
from firmware.linux_guest import GuestBoot, LinuxGuest

pytestmark = [pytest.mark.firmware, pytest.mark.linux_guest]

GUEST_NVRAM = Path(__file__).with_name("guest_nvram.py")
GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
CUSTOM = "5f0e2a4c-1d3b-4e6f-8a9b-7c6d5e4f3a2b"
EFIVARS = "/sys/firmware/efi/efivars"
STATUS = "efikit slot status --json"


def _slot_of(boot: GuestBoot) -> str:
    """The slot the booted loader started, from the kernel command line."""
    root = boot.cmdline_value("root") or ""
    assert root.startswith("PARTLABEL=METROPOLIS-SYSTEM-"), boot.report()
    return root[-1]


def _entry(status: dict, slot: str) -> int:  # type: ignore[type-arg]
    return int(status["slots"][slot]["entry"], 16)


def _ok(boot: GuestBoot, index: int) -> None:
    assert boot[index].rc == 0, boot.report()


def _started(boot: GuestBoot, number: int, label: str) -> None:
    """The firmware's own account: BdsDxe started this entry, and the kernel saw it."""
    assert f'BdsDxe: starting Boot{number:04X} "{label}"' in boot.boot.serial, boot.report()
    assert boot.boot_current == number, boot.report()


def test_ab_flow_inside_linux(linux_machine: LinuxGuest) -> None:
    m = linux_machine
    new_b = m.images.loader("B", "v2")

    # 1. A fresh install from inside Linux: no entries yet, the firmware starts the
    # removable-media fallback (slot A's loader); `slot commit` creates both entries.
    first = m.boot([STATUS, "efikit slot commit", STATUS])
    assert _slot_of(first) == "A"
    before = first[0].json()
    assert before["running"]["slot"] == "A"
    assert before["running"]["source"] == "BootCurrent (fallback)"
    assert before["esp"]["partition_guid"] == harness.ESP_PART_GUID
    assert before["esp"]["disk"] == "/dev/vda" and before["esp"]["partition"] == 1
    _ok(first, 1)
    installed = first[2].json()
    a, b = _entry(installed, "A"), _entry(installed, "B")

    # The slot A entry boots; status names A from BootCurrent, the command line agrees.
    second = m.boot([STATUS, "efikit slot stage B"])
    _started(second, a, "Metropolis Slot A")
    assert _slot_of(second) == "A"
    status = second[0].json()
    assert status["verdict"] == "healthy", status
    assert status["running"] == {"slot": "A", "source": "BootCurrent",
                                 "boot_current": f"{a:04X}",
                                 "boot_current_path": harness.SLOT_A_PATH}
    check = next(c for c in status["checks"] if c["source"] == "kernel command line")
    assert check == {"source": "kernel command line", "slot": "A", "agrees": True,
                     "value": "root=PARTLABEL=METROPOLIS-SYSTEM-A"}
    _ok(second, 1)

    # 3. The staged slot boots once (BootNext) ...
    trial = m.boot([STATUS])
    _started(trial, b, "Metropolis Slot B")
    assert _slot_of(trial) == "B"
    status = trial[0].json()
    assert status["running"]["slot"] == "B" and status["boot_next"] is None
    assert status["verdict"] == "trial pending", status

    # ... and without a commit the next boot falls back to A. 2. Stage B with a new loader.
    back = m.boot([f"efikit slot stage B --loader {shlex.quote(str(new_b))}"])
    _started(back, a, "Metropolis Slot A")
    _ok(back, 0)

    new = m.boot(["efikit slot commit", STATUS])
    _started(new, b, "Metropolis Slot B")
    assert new.cmdline_value("efikit.loader") == "v2"  # the loader stage installed
    _ok(new, 0)
    status = new[1].json()
    assert status["verdict"] == "healthy", status
    assert status["boot_order"][:2] == [f"{b:04X}", f"{a:04X}"]

    # The commit holds: B again. 4. Roll back ...
    again = m.boot(["efikit slot rollback"])
    _started(again, b, "Metropolis Slot B")
    assert again.cmdline_value("efikit.loader") == "v2"
    _ok(again, 0)

    # ... and the other slot boots.
    rolled = m.boot([STATUS])
    _started(rolled, a, "Metropolis Slot A")
    status = rolled[0].json()
    assert status["running"]["slot"] == "A" and status["verdict"] == "healthy", status


def _install_offline(m: LinuxGuest) -> None:
    """Entries for A and B (A first) written into the varstore file, as an installer would."""
    location = locate_esp(m.disk.path)
    machine = SlotMachine(Edk2Store.open(m.varstore), open_esp_files(None, location), location)
    plan_commit(machine, running="A").apply(machine.store, machine.esp)


def _state(tag: str) -> str:
    """Checksums of every boot variable and of the slot loaders, into the share."""
    return (f"sha256sum {EFIVARS}/Boot* /run/esp/EFI/metropolis/* | sort > state-{tag}.txt; "
            f"ls {EFIVARS} | grep -c . >> state-{tag}.txt")


def test_full_nvram_recover_and_efivarfs_inside_linux(linux_machine: LinuxGuest) -> None:
    m = linux_machine
    _install_offline(m)
    new_b = shlex.quote(str(m.images.loader("B", "v2")))
    var = f"Efikit-{CUSTOM}"
    key = f"Key0042-{GLOBAL}"
    nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups"
    no_immutable_cap = "setpriv --bounding-set=-linux_immutable"
    first = m.boot([
        STATUS,
        # the ESP is found from the mounts: none mounted is a clear refusal; --esp overrides
        "umount /run/esp; efikit slot status; rc=$?; mount -t vfat /dev/vda1 /run/esp; exit $rc",
        "mkdir -p /run/other/EFI/metropolis && printf abc > /run/other/EFI/metropolis/boot-a.efi"
        " && efikit slot status --json --esp /run/other",
        # 6. efivarfs for real: new variables the kernel marks immutable
        f"efikit vars set {var} --data-hex 01 && lsattr {EFIVARS}/{var}",
        f"efikit vars set {var} --data-hex 0203 && lsattr {EFIVARS}/{var} && "
        f"od -An -tx1 {EFIVARS}/{var}",
        f"efikit vars rm {var}; ls {EFIVARS} | grep -c Efikit-",
        # (an EFI_KEY_OPTION: no keys, boot option 0000, then 0001)
        f"efikit vars set {key} --data-hex {'00' * 10} && "
        f"efikit vars set {key} --data-hex {'00' * 8}0100 && "
        f"lsattr {EFIVARS}/{key} && efikit vars rm {key} && ! ls {EFIVARS}/{key}",
        f"efikit vars set Bad1-{CUSTOM} --attrs 0x80 --data-hex 01; rc=$?; "
        f"ls {EFIVARS} | grep -c Bad1-; exit $rc",
        f"efikit vars set Bad2-{CUSTOM} --attrs bs,rt --data-hex 01; rc=$?; "
        f"ls {EFIVARS} | grep -c Bad2-; exit $rc",
        f"efikit vars set Imm-{CUSTOM} --data-hex 01 && {no_immutable_cap} efikit vars rm "
        f"Imm-{CUSTOM}; rc=$?; lsattr {EFIVARS}/Imm-{CUSTOM}; exit $rc",
        f"efikit vars set db-d719b2cb-3d3a-4596-a3bc-dad00e67656f --attrs nv,bs,rt,at "
        f"--data-hex {'00' * 48}",
        f"{nobody} efikit vars set User-{CUSTOM} --data-hex 01",
        # 7. full NVRAM: stage must fail before it changes anything
        f"python {GUEST_NVRAM} fill",
        _state("before"),
        f"efikit slot stage B --loader {new_b}",
        _state("after"),
        f"python {GUEST_NVRAM} free",
    ])
    status = first[0].json()
    assert status["verdict"] == "healthy", status
    a, b = _entry(status, "A"), _entry(status, "B")
    _started(first, a, "Metropolis Slot A")

    no_esp = first[1]
    assert no_esp.rc == 1 and "no EFI System Partition is mounted" in no_esp.stderr, no_esp
    assert "Traceback" not in no_esp.stderr
    other = first[2].json()
    assert other["slots"]["A"]["loader_size"] == 3 and not other["slots"]["B"]["loader_exists"]

    created, replaced, deleted, key_cycle = first[3], first[4], first[5], first[6]
    assert created.rc == 0 and created.stdout.split("\n")[1].startswith("----i"), created
    assert replaced.rc == 0 and "----i" in replaced.stdout, replaced  # the flag is back
    assert replaced.stdout.split()[-6:] == ["07", "00", "00", "00", "02", "03"], replaced
    assert deleted.rc == 1 and deleted.stdout.strip().endswith("0"), deleted  # grep found none
    assert key_cycle.rc == 0 and "----i" in key_cycle.stdout, key_cycle

    unknown_bit, runtime_only = first[7], first[8]
    assert unknown_bit.rc == 1, unknown_bit
    assert "kernel refused it (EINVAL): attribute bits 0x80" in unknown_bit.stderr, unknown_bit
    assert unknown_bit.stdout.strip() == "0", unknown_bit  # no empty variable file left behind
    assert runtime_only.rc == 1 and "(EINVAL)" in runtime_only.stderr, runtime_only
    assert "nv and rt" in runtime_only.stderr and runtime_only.stdout.strip() == "0"

    no_cap, secure, not_root = first[9], first[10], first[11]
    assert no_cap.rc == 1 and "CAP_LINUX_IMMUTABLE" in no_cap.stderr, no_cap
    assert "----i" in no_cap.stdout  # the variable is still there, still protected
    assert secure.rc == 1 and "security violation (EACCES)" in secure.stderr, secure
    assert "not root" not in secure.stderr
    assert not_root.rc == 1 and "needs root (running as uid 65534)" in not_root.stderr, not_root

    filled, failed = first[12], first[14]
    _ok(first, 12)
    assert "ENOSPC" in filled.json()["refusals"].values(), filled  # type: ignore[union-attr]
    assert failed.rc == 1 and "ENOSPC" in failed.stderr, failed
    assert "Traceback" not in failed.stderr
    share = m.share
    assert (share / "state-before.txt").read_text() == (share / "state-after.txt").read_text()
    _ok(first, 16)

    # The failed stage left a machine that boots the running slot; with room, stage completes.
    second = m.boot([f"efikit slot stage B --loader {new_b}"])
    _started(second, a, "Metropolis Slot A")
    _ok(second, 0)

    # 5. B boots and is committed; then every entry and BootOrder are wiped, and recovered.
    wipe = (f"for f in {EFIVARS}/Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-{GLOBAL}; do "
            "n=$(basename $f | cut -c5-8); efikit boot rm $n || exit 1; done; "
            f"efikit vars rm BootOrder-{GLOBAL}; ls {EFIVARS} | grep -c '^Boot[0-9A-F]\\{{4\\}}-'")
    third = m.boot(["efikit slot commit", wipe, "efikit slot recover", STATUS])
    _started(third, b, "Metropolis Slot B")
    assert third.cmdline_value("efikit.loader") == "v2"
    _ok(third, 0)
    assert third[1].stdout.strip().splitlines()[-1] == "0", third.report()  # none left
    _ok(third, 2)
    recovered = third[3].json()
    assert recovered["verdict"] == "healthy", recovered
    assert recovered["slots"]["B"]["boot_order_position"] == 0
    new_b_entry = _entry(recovered, "B")

    fourth = m.boot([STATUS])
    _started(fourth, new_b_entry, "Metropolis Slot B")
    assert _slot_of(fourth) == "B"
    assert fourth[0].json()["verdict"] == "healthy"
