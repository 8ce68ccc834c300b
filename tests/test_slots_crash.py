"""Crash safety: a power loss after every single variable or file write inside stage,
commit, rollback and recover leaves a machine that (a) still boots a present loader and
(b) reaches the same end state when the same command runs again."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from efikit.boot import BootManager
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.slots.machine import SlotMachine
from efikit.slots.operations import plan_commit, plan_rollback, plan_stage
from efikit.slots.plan import SlotPlan
from efikit.slots.recover import plan_recover
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from test_slots_support import (
    LOADER_A,
    Crash,
    boot_choice,
    boots_present_loader,
    crashing,
    firmware_boot,
    machine,
    make_esp,
    make_store,
    set_u16,
    snapshot,
)

NEW_LOADER = (LOADER_A.parent / "loader-unsigned.efi").read_bytes()
NEWER_LOADER = (LOADER_A.parent / "uki-unsigned.efi").read_bytes()


def _installed(tmp: Path, kind: str) -> SlotMachine:
    m = machine(make_store(kind, tmp), make_esp(tmp))
    plan_commit(m, running="A").apply(m.store, m.esp)
    firmware_boot(m)  # running A
    return m


def _staged_and_booted(tmp: Path, kind: str) -> SlotMachine:
    m = _installed(tmp, kind)
    plan_stage(m, "B", NEW_LOADER).apply(m.store, m.esp)
    firmware_boot(m)  # running B, A still first
    return m


def _wiped(tmp: Path, kind: str) -> SlotMachine:
    m = _staged_and_booted(tmp, kind)
    plan_commit(m).apply(m.store, m.esp)
    manager = BootManager(m.store)
    for n in manager.numbers():
        m.store.delete(f"Boot{n:04X}", EFI_GLOBAL_VARIABLE)
    m.store.delete("BootOrder", EFI_GLOBAL_VARIABLE)
    set_u16(m.store, "BootCurrent", None)
    return m


def _damaged(tmp: Path, kind: str) -> SlotMachine:
    m = _installed(tmp, kind)
    manager = BootManager(m.store)
    order = list(manager.order() or ())
    a = order[0]
    m.store.set("Boot0007", EFI_GLOBAL_VARIABLE, m.store.get(f"Boot{a:04X}",
                                                            EFI_GLOBAL_VARIABLE).data)
    other = LoadOption.create("other", DevicePath.from_text(
        "HD(1,GPT,0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293,0x800,0x10000)/\\EFI\\BOOT\\BOOTX64.EFI"))
    m.store.set("Boot0008", EFI_GLOBAL_VARIABLE, other.to_bytes())
    m.store.set("BootOrder", EFI_GLOBAL_VARIABLE, b"".join(
        n.to_bytes(2, "little") for n in [0x30, *order, 7, 8]))
    set_u16(m.store, "BootNext", 7)  # BootNext at a duplicate
    return m


Setup = Callable[[Path, str], SlotMachine]
Command = Callable[[SlotMachine], SlotPlan]

CASES: dict[str, tuple[Setup, Command, bool]] = {
    # name: (initial state, command, may the intermediate states fall back to BOOTX64.EFI)
    "stage-new-loader": (_installed, lambda m: plan_stage(m, "B", NEW_LOADER), False),
    "stage-existing": (_installed, lambda m: plan_stage(m, "B"), False),
    "commit": (_staged_and_booted, lambda m: plan_commit(m), False),
    "recover-wiped": (_wiped, lambda m: plan_recover(m), True),
    "recover-damaged": (_damaged, lambda m: plan_recover(m), False),
}


def _stage_only(tmp: Path, kind: str) -> SlotMachine:
    m = _installed(tmp, kind)
    plan_stage(m, "B", NEW_LOADER).apply(m.store, m.esp)
    return m


def _committed(tmp: Path, kind: str) -> SlotMachine:
    m = _staged_and_booted(tmp, kind)
    plan_commit(m).apply(m.store, m.esp)
    return m


def _without_b(tmp: Path, kind: str) -> SlotMachine:
    m = _installed(tmp, kind)
    manager = BootManager(m.store)
    b = list(manager.order() or ())[1]
    manager.apply(manager.plan_delete(b))
    return m


CASES["stage-missing-entry"] = (_without_b, lambda m: plan_stage(m, "B", NEW_LOADER), False)
# a newer loader arrives while B's trial (BootNext = B) is still pending
CASES["stage-over-pending-trial"] = (_stage_only, lambda m: plan_stage(m, "B", NEWER_LOADER),
                                     False)
CASES["rollback-trial"] = (_stage_only, lambda m: plan_rollback(m), False)
CASES["rollback-committed"] = (_committed, lambda m: plan_rollback(m), False)


def _writes(plan: SlotPlan) -> int:
    return sum(len(s.plan.changes) if s.plan else 1 for s in plan.steps)


@pytest.mark.parametrize("kind", ["memory", "efivarfs"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_crash_after_every_write(case: str, kind: str, tmp_path: Path) -> None:
    setup, command, allow_fallback = CASES[case]
    reference = setup(tmp_path / "reference", kind)
    plan = command(reference)
    total = _writes(plan)
    assert total >= 1, "the scenario must write something"
    plan.apply(reference.store, reference.esp)
    expected = snapshot(reference)
    if not case.startswith("rollback"):  # each rollback steps back once more, by design
        assert not command(reference), "the command is not idempotent"
    for crash_after in range(1, total + 1):
        m = setup(tmp_path / f"crash{crash_after}", kind)
        victim, budget = crashing(m, crash_after)
        with pytest.raises(Crash):
            command(victim).apply(victim.store, victim.esp)
        assert budget.writes == crash_after
        assert boots_present_loader(m, allow_fallback), \
            f"{case}: unbootable after write {crash_after} of {total}"
        if case.startswith("stage") and crash_after < total:
            # the trial starts only with stage's last write (BootNext), never half-way
            _, path = boot_choice(m)
            assert path is not None and m.scheme.slot_of_loader(path) != "B", \
                f"{case}: after write {crash_after} of {total} the next boot starts {path}"
        if crash_after == total:  # the last write finished the job: nothing left to do
            assert snapshot(m) == expected
            continue
        command(m).apply(m.store, m.esp)  # run again
        assert snapshot(m) == expected, f"{case}: rerun after write {crash_after} differs"
        assert boots_present_loader(m)


def test_every_case_has_several_write_positions(tmp_path: Path) -> None:
    counts = {}
    for name, (setup, command, _) in CASES.items():
        counts[name] = _writes(command(setup(tmp_path / name, "memory")))
    assert counts["stage-new-loader"] >= 4  # deactivate, file, activate, BootNext
    assert counts["stage-missing-entry"] >= 5  # + create the entry, + BootOrder
    assert counts["stage-over-pending-trial"] >= 5  # + clear the pending BootNext first
    assert counts["recover-wiped"] >= 3  # two entries, BootOrder
    assert all(c >= 1 for c in counts.values()), counts
