"""The issue's A/B scenarios 1-6 on memory and (fake) efivarfs stores with a directory ESP;
the firmware is simulated by the rule in test_slots_support.firmware_boot."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from efikit.boot import BootManager
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.errors import SlotError
from efikit.slots.operations import plan_commit, plan_rollback, plan_stage
from efikit.slots.plan import SlotPlan
from efikit.slots.recover import plan_recover
from efikit.slots.status import DEGRADED, HEALTHY, TRIAL_PENDING, read_status
from efikit.vars.store import EFI_GLOBAL_VARIABLE, SYSTEMD_LOADER
from test_slots_support import (
    LOADER_A,
    LOADER_B,
    PATH_B,
    boot_choice,
    firmware_boot,
    machine,
    make_esp,
    make_store,
    set_u16,
)

STORES = ["memory", "efivarfs"]


def apply(m, plan) -> None:  # type: ignore[no-untyped-def]
    plan.apply(m.store, m.esp)


@pytest.fixture(params=STORES)
def fresh(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Scenario 1's machine: both entries (created by commit on an empty store), order [A, B]."""
    m = machine(make_store(request.param, tmp_path), make_esp(tmp_path))
    apply(m, plan_commit(m, running="A"))
    return m


def _order_slots(m) -> list[str]:  # type: ignore[no-untyped-def]
    entries = {e.number: e for e in BootManager(m.store).entries()}
    out = []
    for n in BootManager(m.store).order() or ():
        path = entries[n].option.device_path.file_path()
        out.append(m.scheme.slot_of_loader(path) or path)
    return out


def test_1_fresh_install_boots_a(fresh) -> None:  # type: ignore[no-untyped-def]
    assert _order_slots(fresh) == ["A", "B"]
    status = read_status(fresh)
    assert status.slot("A").entry is not None and status.slot("B").entry is not None
    assert status.verdict == HEALTHY, status.reasons
    assert status.next_boot.slot == "A"
    assert firmware_boot(fresh) == "A"
    status = read_status(fresh)
    assert status.running == "A" and status.running_source == "BootCurrent"
    assert status.verdict == HEALTHY


def test_2_stage_boots_once_then_back(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    new = (LOADER_A.parent / "loader-unsigned.efi").read_bytes()  # "a new version"
    apply(fresh, plan_stage(fresh, "B", new))
    assert fresh.esp.read(PATH_B) == new
    status = read_status(fresh)
    assert status.verdict == TRIAL_PENDING
    assert status.boot_next_slot == "B" and status.next_boot.slot == "B"
    assert _order_slots(fresh) == ["A", "B"]  # both stay in BootOrder
    assert firmware_boot(fresh) == "B"
    status = read_status(fresh)
    assert status.running == "B" and status.verdict == TRIAL_PENDING
    assert any("behind slot A" in r for r in status.reasons)
    assert firmware_boot(fresh) == "A"  # no commit: back to A


def test_2_restage_over_a_pending_trial_clears_boot_next_first(fresh) -> None:  # type: ignore[no-untyped-def]
    """A newer version arrives while slot B's trial is still pending (BootNext = B): until B's
    new loader is in place and its entry active again, the next boot must be slot A."""
    firmware_boot(fresh)
    apply(fresh, plan_stage(fresh, "B", (LOADER_A.parent / "loader-unsigned.efi").read_bytes()))
    assert BootManager(fresh.store).boot_next() == read_status(fresh).slot("B").entry
    newer = (LOADER_A.parent / "uki-unsigned.efi").read_bytes()
    plan = plan_stage(fresh, "B", newer)
    first = plan.steps[0]
    assert first.plan is not None and [(c.name, c.action) for c in first.plan.changes] == \
        [("BootNext", "delete")]
    for step in plan.steps[:-1]:  # every state the firmware could see before the last write
        SlotPlan("stage", (step,)).apply(fresh.store, fresh.esp)
        number, path = boot_choice(fresh)
        assert path is not None and fresh.scheme.slot_of_loader(path) == "A", \
            f"after {step.what!r} the next boot would start {path} (Boot{number:04X})"
    SlotPlan("stage", plan.steps[-1:]).apply(fresh.store, fresh.esp)
    assert fresh.esp.read(PATH_B) == newer
    assert read_status(fresh).verdict == TRIAL_PENDING
    assert firmware_boot(fresh) == "B"
    assert firmware_boot(fresh) == "A"


def test_3_stage_boot_commit_sticks(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    apply(fresh, plan_stage(fresh, "B"))
    assert firmware_boot(fresh) == "B"
    apply(fresh, plan_commit(fresh))  # running slot from BootCurrent
    assert _order_slots(fresh) == ["B", "A"]
    assert not plan_commit(fresh)  # idempotent
    assert read_status(fresh).verdict == HEALTHY
    assert [firmware_boot(fresh) for _ in range(3)] == ["B", "B", "B"]


def test_stage_refuses_the_running_slot_and_a_full_esp(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    with pytest.raises(SlotError, match="running slot"):
        plan_stage(fresh, "A")

    real = fresh.esp

    class Full:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(real, name)

        def free_bytes(self) -> int:
            return 1000

    fresh.esp = Full()  # type: ignore[assignment]
    with pytest.raises(SlotError, match="bytes free"):
        plan_stage(fresh, "B", b"MZ" + bytes(5000))


def test_commit_refuses_without_running_slot(fresh) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SlotError, match="--running"):
        plan_commit(fresh)
    assert read_status(fresh).running is None


def test_rollback_cancels_trial_and_restores_other_slot(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    apply(fresh, plan_stage(fresh, "B"))
    apply(fresh, plan_rollback(fresh))
    assert BootManager(fresh.store).boot_next() is None
    assert firmware_boot(fresh) == "A"
    # committed B, then roll back to A
    apply(fresh, plan_stage(fresh, "B"))
    firmware_boot(fresh)
    apply(fresh, plan_commit(fresh))
    apply(fresh, plan_rollback(fresh))
    assert _order_slots(fresh) == ["A", "B"]
    assert firmware_boot(fresh) == "A"


def _wipe(m) -> None:  # type: ignore[no-untyped-def]
    manager = BootManager(m.store)
    for n in manager.numbers():
        m.store.delete(f"Boot{n:04X}", EFI_GLOBAL_VARIABLE)
    m.store.delete("BootOrder", EFI_GLOBAL_VARIABLE)


def test_4_wiped_entries_recover_committed_slot(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    apply(fresh, plan_stage(fresh, "B"))
    firmware_boot(fresh)
    apply(fresh, plan_commit(fresh))
    _wipe(fresh)
    set_u16(fresh.store, "BootCurrent", None)
    status = read_status(fresh)
    assert status.verdict == DEGRADED
    assert any("slot A has no Boot#### entry" in r for r in status.reasons)
    assert any("BootOrder does not exist" in r for r in status.reasons)
    plan = plan_recover(fresh)
    assert any("BOOTX64.CSV" in n for n in plan.notes)  # the order commit recorded
    apply(fresh, plan)
    assert _order_slots(fresh) == ["B", "A"]
    assert read_status(fresh, running="B").verdict == HEALTHY
    assert firmware_boot(fresh) == "B"
    assert not plan_recover(fresh)  # nothing left to do


def test_4_recover_prefer_overrides(fresh) -> None:  # type: ignore[no-untyped-def]
    _wipe(fresh)
    apply(fresh, plan_recover(fresh, prefer="B"))
    assert _order_slots(fresh) == ["B", "A"]


def _option(label: str, text: str) -> bytes:
    return LoadOption.create(label, DevicePath.from_text(text)).to_bytes()


def test_5_damage_reported_and_repaired(fresh) -> None:  # type: ignore[no-untyped-def]
    store = fresh.store
    manager = BootManager(store)
    a = read_status(fresh).slot("A").entry
    b = read_status(fresh).slot("B").entry
    dup_a = store.get(f"Boot{a:04X}", EFI_GLOBAL_VARIABLE).data
    store.set("Boot0007", EFI_GLOBAL_VARIABLE, dup_a)  # duplicate of A
    other = _option("debian", "HD(2,GPT,11111111-2222-3333-4444-555555555555,0x1000,0x2000)/"
                    "\\EFI\\debian\\shimx64.efi")
    store.set("Boot0008", EFI_GLOBAL_VARIABLE, other)
    fallback = _option("UEFI Misc Device", "PciRoot(0x0)/Pci(0x1,0x0)")
    store.set("Boot0009", EFI_GLOBAL_VARIABLE, fallback)
    set_u16(store, "BootNext", 0x0042)  # points nowhere
    store.set("BootOrder", EFI_GLOBAL_VARIABLE,
              bytes.fromhex("0900") + (0x0030).to_bytes(2, "little") + (8).to_bytes(2, "little")
              + (7).to_bytes(2, "little") + b.to_bytes(2, "little") + a.to_bytes(2, "little"))
    set_u16(store, "BootCurrent", 0x0009)  # the firmware's removable-media entry

    status = read_status(fresh)
    text = "\n".join(status.reasons)
    assert status.verdict == DEGRADED
    assert "duplicate entries" in text
    assert "0030" in text and "no entry" in text
    assert "BootNext 0042 points at no entry" in text
    assert "fallback" in text
    assert status.running == "A" and status.running_source == "BootCurrent (fallback)"
    set_u16(store, "BootCurrent", None)
    assert any("no BootCurrent" in n for n in read_status(fresh).notes)

    apply(fresh, plan_recover(fresh))
    after = BootManager(store)
    assert after.boot_next() is None
    # the duplicate that came first in BootOrder (0007) is kept, the other one goes
    assert 0x0007 in after.numbers() and a not in after.numbers()
    assert store.get("Boot0008", EFI_GLOBAL_VARIABLE).data == other  # other vendor untouched
    assert store.get("Boot0009", EFI_GLOBAL_VARIABLE).data == fallback
    order = list(after.order() or ())
    assert order[:2] == [0x0007, b]  # the surviving BootOrder had (a copy of) A ahead of B
    assert set(order) == set(after.numbers()) and len(order) == len(set(order))
    status = read_status(fresh, running="A")
    assert status.verdict == HEALTHY, status.reasons
    del manager


def test_5_recover_points_boot_next_at_the_kept_duplicate(fresh) -> None:  # type: ignore[no-untyped-def]
    """A pending trial whose BootNext names a duplicate that recover removes keeps its trial:
    BootNext follows to the entry kept for the same slot."""
    store = fresh.store
    b = read_status(fresh).slot("B").entry
    store.set("Boot0007", EFI_GLOBAL_VARIABLE, store.get(f"Boot{b:04X}", EFI_GLOBAL_VARIABLE).data)
    order = list(BootManager(store).order() or ())
    store.set("BootOrder", EFI_GLOBAL_VARIABLE,
              b"".join(n.to_bytes(2, "little") for n in order + [7]))
    set_u16(store, "BootNext", 7)  # the copy of B, behind the original in BootOrder
    assert read_status(fresh).boot_next_slot == "B"
    apply(fresh, plan_recover(fresh))
    after = BootManager(store)
    assert 7 not in after.numbers()
    assert after.boot_next() == b
    assert read_status(fresh).verdict == TRIAL_PENDING
    assert firmware_boot(fresh) == "B"


def test_5_repairs_entry_pointing_at_old_partition(fresh) -> None:  # type: ignore[no-untyped-def]
    a = read_status(fresh).slot("A").entry
    fresh.store.set(f"Boot{a:04X}", EFI_GLOBAL_VARIABLE, _option(
        "Metropolis Slot A",
        "HD(1,GPT,99999999-2222-3333-4444-555555555555,0x800,0x10000)/\\EFI\\metropolis\\boot-a.efi"))
    assert any("another partition" in r for r in read_status(fresh).reasons)
    apply(fresh, plan_recover(fresh))
    assert read_status(fresh).slot("A").hd_matches_esp is True


def test_systemd_cross_checks(fresh) -> None:  # type: ignore[no-untyped-def]
    firmware_boot(fresh)
    ident = "\\EFI\\metropolis\\boot-b.efi".encode("utf-16-le") + b"\0\0"
    fresh.store.set("LoaderImageIdentifier", SYSTEMD_LOADER, ident)
    fresh.store.set("LoaderDevicePartUUID", SYSTEMD_LOADER,
                    "0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293".encode("utf-16-le") + b"\0\0")
    status = read_status(fresh)
    checks = {c.source: c for c in status.checks}
    assert checks["LoaderImageIdentifier"].agrees is False  # running A, identifier says B
    assert checks["LoaderDevicePartUUID"].agrees is True
    assert status.verdict == DEGRADED


@pytest.fixture
def stamped(tmp_path: Path):  # type: ignore[no-untyped-def]
    from efikit.pe.stamp import set_stamp
    from efikit.pe.stamp_format import make_stamp

    def _make(slot_a: str, slot_b: str):  # type: ignore[no-untyped-def]
        files = {}
        for name, src, slot in (("a", LOADER_A, slot_a), ("b", LOADER_B, slot_b)):
            copy = tmp_path / f"stamped-{name}.efi"
            shutil.copyfile(src, copy)
            set_stamp(copy, make_stamp(slot, {"version": "2.0"}))
            files[name] = copy.read_bytes()
        m = machine(make_store("memory", tmp_path), make_esp(tmp_path, files["a"], files["b"]))
        apply(m, plan_commit(m, running="A"))
        return m

    return _make


def test_6_stamps_used_and_contradiction_reported(stamped) -> None:  # type: ignore[no-untyped-def]
    good = stamped("A", "B")
    firmware_boot(good)
    status = read_status(good)
    assert status.slot("A").stamp.slot == "A" and status.slot("B").stamp.slot == "B"
    assert ("version", "2.0") in status.slot("B").stamp.meta
    assert {c.source: c.agrees for c in status.checks}["stamp"] is True
    assert status.verdict == HEALTHY


def test_6_contradicting_stamp(stamped, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = stamped("A", "A")  # boot-b.efi stamped A: the mistake stamps should catch
    status = read_status(bad)
    assert status.verdict == DEGRADED
    assert any("stamped slot A" in r and "contradicts" in r for r in status.reasons)
    _wipe(bad)
    plan = plan_recover(bad, prefer="B")
    assert any("contradict" in n for n in plan.notes)
    apply(bad, plan)
    assert _order_slots(bad) == ["A", "B"]  # the contradicted slot does not go first
