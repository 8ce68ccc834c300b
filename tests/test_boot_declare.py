"""Idempotent boot changes: add reuses, ensure, dedupe; selection by label and path."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS
from efikit.boot.changes import Plan
from efikit.vars.efivarfs import EfivarfsStore

from efikit.boot import BootManager
from efikit.boot.declare import plan_add_or_reuse, plan_dedupe, plan_ensure, same_entries
from efikit.boot.identity import loader_key, normalize_loader_path
from efikit.boot.numbers import OptionKind
from efikit.boot.select import EntrySelector, select_entry
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.errors import BootError, UsageError
from efikit.vars.store import EFI_GLOBAL_VARIABLE as G
from test_boot_support import ESP, copy_machine, memory_store, option, order_bytes


def machine() -> BootManager:
    """Boot0000 a.efi (in order), Boot0001 b.efi, Boot0002 a.efi again with other case (not
    in order), Boot0003 a.efi with data."""
    store = memory_store({
        "Boot0000": option("A", r"\EFI\x\a.efi").to_bytes(),
        "Boot0001": option("B", r"\EFI\x\b.efi").to_bytes(),
        "Boot0002": option("A again", r"\efi\X\A.EFI").to_bytes(),
        "Boot0003": option("A data", r"\EFI\x\a.efi", data=b"x=1").to_bytes(),
    }, BootOrder=order_bytes(1, 0))
    return BootManager(store)


def applied(manager: BootManager, outcome_plan: object) -> None:
    manager.apply(outcome_plan)  # type: ignore[arg-type]


# ---- identity ---------------------------------------------------------------------------

def test_loader_key_ignores_case_label_and_file_node_split() -> None:
    split = LoadOption.create("other", DevicePath.from_text(f"{ESP}/\\EFI\\X/A.EFI"))
    assert split.file_paths[0].file_path_nodes() == ["\\EFI\\X", "A.EFI"]
    assert loader_key(split) == loader_key(option("A", r"\EFI\x\a.efi"))
    assert loader_key(option("A", r"\EFI\x\a.efi", data=b"1")) != loader_key(option("A"))
    other_disk = LoadOption.create("A", DevicePath.from_text(
        r"HD(2,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)/\EFI\x\a.efi"))
    assert loader_key(other_disk) != loader_key(option("A"))
    assert normalize_loader_path("EFI//x/Y.efi\x00 ") == "\\efi\\x\\y.efi"


# ---- add --------------------------------------------------------------------------------

def test_add_reuses_the_entry_earliest_in_the_order() -> None:
    manager = machine()
    before = manager.store.variables()
    outcome = plan_add_or_reuse(manager, option("new label", r"\EFI\X\a.efi"))
    assert outcome.action == "reused" and outcome.number == 0 and not outcome.plan
    assert "Boot0000 already boots this loader" in outcome.notes[0]
    assert "label stays 'A'" in outcome.notes[1]
    assert manager.store.variables() == before


def test_add_reuse_puts_it_in_the_order_and_first() -> None:
    manager = machine()
    manager.store.set("BootOrder", G, order_bytes(1))
    outcome = plan_add_or_reuse(manager, option("A"))
    assert outcome.number == 0  # not in the order: the lowest number among the duplicates
    applied(manager, outcome.plan)
    assert manager.order() == (1, 0)
    outcome = plan_add_or_reuse(manager, option("A"), first=True)
    applied(manager, outcome.plan)
    assert manager.order() == (0, 1)
    assert not plan_add_or_reuse(manager, option("A"), first=True).plan
    assert manager.numbers() == [0, 1, 2, 3]


def test_add_allow_duplicate_and_explicit_numbers() -> None:
    manager = machine()
    outcome = plan_add_or_reuse(manager, option("A"), allow_duplicate=True)
    assert outcome.action == "created" and outcome.number == 4
    assert plan_add_or_reuse(manager, option("A"), number=2).action == "reused"
    with pytest.raises(UsageError, match="Boot0000 already boots .* --allow-duplicate"):
        plan_add_or_reuse(manager, option("A"), number=7)
    fresh = plan_add_or_reuse(manager, option("C", r"\EFI\x\c.efi"))
    assert fresh.action == "created" and fresh.number == 4


def test_add_reuse_for_driver_entries() -> None:
    manager = BootManager(memory_store({"Driver0005": option("drv").to_bytes()},
                                       DriverOrder=order_bytes(5)))
    outcome = plan_add_or_reuse(manager, option("drv"), OptionKind.DRIVER)
    assert outcome.action == "reused" and outcome.number == 5 and not outcome.plan


# ---- ensure -----------------------------------------------------------------------------

def test_ensure_creates_then_is_unchanged() -> None:
    manager = machine()
    wanted = option("C", r"\EFI\x\c.efi")
    outcome = plan_ensure(manager, wanted, first=True)
    assert outcome.action == "created" and outcome.number == 4
    applied(manager, outcome.plan)
    assert manager.order() == (4, 1, 0) and manager.option(4) == wanted
    again = plan_ensure(manager, wanted, first=True)
    assert again.action == "unchanged" and not again.plan and again.number == 4


def test_ensure_fixes_label_flags_and_path_case_of_the_matching_entry() -> None:
    manager = machine()
    manager.apply(manager.plan_set_flag(0, type(option("x").attributes).ACTIVE, False))
    wanted = option("Renamed", r"\EFI\X\A.efi")
    outcome = plan_ensure(manager, wanted)
    assert outcome.action == "updated" and outcome.number == 0
    assert "Boot0002" in outcome.notes[0] and "boot dedupe" in outcome.notes[0]
    applied(manager, outcome.plan)
    assert manager.option(0) == wanted and manager.order() == (1, 0)
    assert not plan_ensure(manager, wanted).plan


def test_ensure_by_label_moves_a_stale_entry_to_the_new_path() -> None:
    manager = machine()
    wanted = option("B", r"\EFI\y\b2.efi")
    outcome = plan_ensure(manager, wanted, first=True)
    assert outcome.action == "updated" and outcome.number == 1
    applied(manager, outcome.plan)
    assert manager.option(1) == wanted and manager.order() == (1, 0)
    manager.apply(manager.plan_add(option("B", r"\EFI\z.efi"), number=9)[1])
    with pytest.raises(UsageError, match="2 entries are labelled 'B'"):
        plan_ensure(manager, option("B", r"\EFI\new.efi"))


def test_ensure_keeps_unknown_attribute_bits() -> None:
    manager = machine()
    raw = bytearray(option("A").to_bytes())
    raw[0:4] = (0x1 | 0x100 | 0x4000).to_bytes(4, "little")  # category app + a reserved bit
    manager.store.set("Boot0000", G, bytes(raw))
    applied(manager, plan_ensure(manager, option("A")).plan)
    assert int(manager.option(0).attributes) == 0x1 | 0x100 | 0x4000


# ---- dedupe -----------------------------------------------------------------------------

def test_dedupe_keeps_earliest_in_order_and_moves_boot_next() -> None:
    manager = machine()
    manager.store.set("BootOrder", G, order_bytes(1, 2, 0, 0x20))
    manager.store.set("BootNext", G, order_bytes(0))
    plan, merges = plan_dedupe(manager)
    assert [(m.kept, m.removed) for m in merges] == [(2, (0,))]
    assert [c.name for c in plan.changes] == ["BootOrder", "BootNext", "Boot0000"]
    manager.apply(plan)
    assert manager.order() == (1, 2, 0x20) and manager.boot_next() == 2
    assert manager.numbers() == [1, 2, 3]
    assert plan_dedupe(manager)[1] == () and not plan_dedupe(manager)[0]


def test_dedupe_without_order_keeps_lowest_number() -> None:
    manager = machine()
    manager.store.delete("BootOrder", G)
    plan, merges = plan_dedupe(manager)
    assert [(m.kept, m.removed) for m in merges] == [(0, (2,))]
    assert [c.name for c in plan.changes] == ["Boot0002"]


def test_dedupe_prefers_an_active_entry() -> None:
    manager = machine()
    manager.apply(manager.plan_set_flag(0, type(option("x").attributes).ACTIVE, False))
    plan, merges = plan_dedupe(manager)
    assert [(m.kept, m.removed) for m in merges] == [(2, (0,))]


def test_dedupe_leaves_the_firmwares_device_entries_alone(tmp_path: Path) -> None:
    # the real ThinkPad T480s: Boot001C (inactive) and Boot0023 (active, hidden) are both
    # "PCI LAN" with the same VenMsg path; merging them would delete the active one
    machine_dir = copy_machine(CORPUS / "efivars" / "go-uefi-lenovo-thinkpad-t480s", tmp_path)
    manager = BootManager(EfivarfsStore(machine_dir))
    assert loader_key(manager.option(0x1C)) == loader_key(manager.option(0x23))
    assert plan_dedupe(manager) == (Plan(), ())


def test_dedupe_refuses_platform_recovery() -> None:
    with pytest.raises(BootError, match="belong to the firmware"):
        plan_dedupe(machine(), OptionKind.PLATFORM_RECOVERY)


def test_same_entries_skips_broken_ones() -> None:
    manager = machine()
    manager.store.set("Boot0005", G, b"\x01\x00")
    assert [e.number for e in same_entries(manager, option("A"))] == [0, 2]


# ---- selection --------------------------------------------------------------------------

@pytest.mark.parametrize(("selector", "number"), [
    (EntrySelector(number="Boot0003"), 3),
    (EntrySelector(number="1"), 1),
    (EntrySelector(label="A data"), 3),
    (EntrySelector(path="efi/x/B.EFI"), 1),
    (EntrySelector(path=r"\EFI\X\b.efi"), 1),
])
def test_select_entry(selector: EntrySelector, number: int) -> None:
    assert select_entry(machine(), selector) == number


def test_select_refuses_ambiguous_and_missing() -> None:
    manager = machine()
    with pytest.raises(UsageError, match=r"3 entries match: Boot0000 \(A\), Boot0002 "
                       r"\(A again\), Boot0003 \(A data\)"):
        select_entry(manager, EntrySelector(path="/efi/x/a.efi"))
    with pytest.raises(BootError, match="no Boot#### entry labelled 'a data' "
                       r"\(labels differ only in case: Boot0003\)"):
        select_entry(manager, EntrySelector(label="a data"))
    with pytest.raises(BootError, match="no Boot#### entry for loader"):
        select_entry(manager, EntrySelector(path="b.efi"))  # exact: the whole path
    assert select_entry(manager, EntrySelector(label="gone"), missing_ok=True) is None
    with pytest.raises(UsageError, match="give only one"):
        select_entry(manager, EntrySelector(number="1", label="B"))
    with pytest.raises(UsageError, match="name one entry"):
        select_entry(manager, EntrySelector())
    with pytest.raises(UsageError, match="--path is empty"):
        select_entry(manager, EntrySelector(path="/"))
