"""BootManager on a memory store: reading, planning, applying, dry runs and backups."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from efikit.boot import BootManager, OptionKind, Plan, write_backup
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption, LoadOptionAttributes
from efikit.errors import BootError, StoreError, UsageError
from efikit.vars.json_store import JsonStore, loads
from efikit.vars.memory import MemoryStore
from efikit.vars.store import VariableAttributes
from test_boot_support import ESP, G, memory_store, option, order_bytes, var

BROKEN = b"\x01\x00\x00\x00\xff\x00A\x00\x00\x00"  # FilePathListLength runs past the end


def three() -> MemoryStore:
    return memory_store(
        {"Boot0000": option("zero").to_bytes(), "Boot0001": option("one").to_bytes(),
         "Boot0003": option("three").to_bytes()},
        BootOrder=order_bytes(1, 0, 3), BootCurrent=order_bytes(1), Timeout=order_bytes(5))


def snapshot(store: MemoryStore) -> dict[str, bytes]:
    return {v.name: v.data for v in store.variables()}


# ---- reading ----------------------------------------------------------------------------

def test_status() -> None:
    status = BootManager(three()).status()
    assert [e.number for e in status.entries] == [0, 1, 3]
    assert [e.option.description for e in status.entries if e.option] == ["zero", "one", "three"]
    assert status.order == (1, 0, 3)
    assert (status.boot_current, status.boot_next, status.timeout) == (1, None, 5)
    assert status.problems == ()


def test_lower_case_hex_names_are_entries() -> None:
    store = memory_store({"Boot000a": option("ten").to_bytes()}, BootOrder=order_bytes(10))
    manager = BootManager(store)
    assert manager.numbers() == [10]
    assert manager.option(10).description == "ten"
    # edited in place: the variable keeps its spelling, no Boot000A twin appears
    manager.apply(manager.plan_edit(10, description="TEN"))
    assert {v.name for v in store.variables()} == {"Boot000a", "BootOrder"}
    assert manager.option(10).description == "TEN"


def test_other_vendor_and_non_option_names_ignored() -> None:
    store = three()
    store.set("BootFFFE", uuid.UUID("5990c250-676b-4ff7-8a0d-529319d0b254"), b"dell")
    store.set("BootOptionSupport", G, b"\x01\x00\x00\x00")
    assert BootManager(store).numbers() == [0, 1, 3]


def test_broken_entry_reported_not_fatal() -> None:
    store = three()
    store.set("Boot0002", G, BROKEN)
    store.set("BootNext", G, b"\x01")  # wrong size
    status = BootManager(store).status()
    broken = [e for e in status.entries if not e.ok]
    assert [e.name for e in broken] == ["Boot0002"]
    assert "cannot decode" in (broken[0].error or "")
    assert any(p.startswith("Boot0002:") for p in status.problems)
    assert any(p.startswith("BootNext:") for p in status.problems)
    assert [e.option.description for e in status.entries if e.option] == ["zero", "one", "three"]


def test_broken_entry_does_not_block_unrelated_changes() -> None:
    store = three()
    store.set("Boot0002", G, BROKEN)
    manager = BootManager(store)
    manager.apply(manager.plan_edit(1, description="uno"))
    manager.apply(manager.plan_order_set([3, 1, 0]))
    number, plan = manager.plan_add(option("new"))
    manager.apply(plan)
    assert number == 4  # 2 exists (broken), so it is not free
    with pytest.raises(BootError, match="cannot decode"):
        manager.plan_edit(2, description="x")
    manager.apply(manager.plan_delete(2))  # a broken entry can still be deleted
    assert manager.numbers() == [0, 1, 3, 4]


def test_unreadable_variable_reported() -> None:
    class Flaky(MemoryStore):
        def get(self, name: str, vendor: uuid.UUID):  # type: ignore[no-untyped-def]
            if name == "Boot0001":
                raise StoreError("EIO reading Boot0001")
            return super().get(name, vendor)

    store = Flaky(three().variables())
    status = BootManager(store).status()
    assert [e.number for e in status.entries if not e.ok] == [1]
    assert "EIO" in (status.entries[1].error or "")
    manager = BootManager(store)
    plan = manager.plan_delete(1)
    assert plan.changes[-1].unreadable and plan.overwritten() == [var("BootOrder",
                                                                     order_bytes(1, 0, 3))]
    manager.apply(plan)
    assert "Boot0001" not in {k.name for k in store.list()} and manager.numbers() == [0, 3]


# ---- creating ---------------------------------------------------------------------------

def test_add_lowest_free_number_skips_order_references() -> None:
    store = three()
    store.set("BootOrder", G, order_bytes(1, 0, 3, 2))  # 2 is referenced, without a variable
    manager = BootManager(store)
    number, plan = manager.plan_add(option("new"))
    assert number == 4
    manager.apply(plan)
    assert manager.order() == (1, 0, 3, 2, 4)
    assert manager.option(4) == option("new")
    var4 = store.get("Boot0004", G)
    assert var4 is not None and var4.attributes == VariableAttributes(7)


def test_add_first_and_explicit_number_and_empty_store() -> None:
    manager = BootManager(MemoryStore())
    number, plan = manager.plan_add(option("a"))
    manager.apply(plan)
    assert number == 0 and manager.order() == (0,)
    number, plan = manager.plan_add(option("b"), first=True)
    manager.apply(plan)
    assert number == 1 and manager.order() == (1, 0)
    number, plan = manager.plan_add(option("c"), number=0x20)
    manager.apply(plan)
    assert manager.order() == (1, 0, 0x20)
    with pytest.raises(BootError, match="already exists"):
        manager.plan_add(option("d"), number=0x20)


def test_add_skips_boot_next_target() -> None:
    store = memory_store({}, BootNext=order_bytes(0))
    assert BootManager(store).free_number() == 1


def test_add_refuses_empty_device_path() -> None:
    empty = LoadOption.create("x", DevicePath(()))
    with pytest.raises(UsageError):
        BootManager(MemoryStore()).plan_add(empty)


def test_add_keeps_order_attributes() -> None:
    store = three()
    store.set("BootOrder", G, order_bytes(1), VariableAttributes(3))
    manager = BootManager(store)
    manager.apply(manager.plan_add(option("x"))[1])
    order_var = store.get("BootOrder", G)
    assert order_var is not None and order_var.attributes == VariableAttributes(3)


def test_driver_and_sysprep_have_their_own_order() -> None:
    store = three()
    manager = BootManager(store)
    number, plan = manager.plan_add(option("drv"), OptionKind.DRIVER)
    manager.apply(plan)
    assert number == 0
    assert store.get("Driver0000", G) is not None
    assert manager.order(OptionKind.DRIVER) == (0,)
    assert manager.order() == (1, 0, 3)
    with pytest.raises(BootError, match="firmware"):
        manager.plan_add(option("x"), OptionKind.PLATFORM_RECOVERY)


# ---- editing ----------------------------------------------------------------------------

def test_edit_in_place_keeps_everything_else() -> None:
    second_path = DevicePath.from_text(r"PciRoot(0x0)/Pci(0x1,0x0)")
    odd = LoadOption(LoadOptionAttributes(0x1 | 0x40000), "old",
                     (DevicePath.from_text(f"{ESP}/\\EFI\\old.efi"), second_path), b"\x01\x02")
    store = memory_store({"Boot0005": odd.to_bytes()})
    store.set("Boot0005", G, odd.to_bytes(), VariableAttributes(0x7 | 0x40))
    manager = BootManager(store)
    new_path = DevicePath.from_text(f"{ESP}/\\EFI\\new.efi")
    manager.apply(manager.plan_edit(5, description="new", device_path=new_path))
    edited = manager.option(5)
    assert edited.description == "new"
    assert edited.file_paths == (new_path, second_path)
    assert edited.optional_data == b"\x01\x02"
    assert int(edited.attributes) == 0x40001  # unknown bit kept
    stored = store.get("Boot0005", G)
    assert stored is not None and int(stored.attributes) == 0x47  # variable attributes kept

    manager.apply(manager.plan_edit(5, optional_data=b""))
    assert manager.option(5).optional_data == b""
    manager.apply(manager.plan_edit(5, attributes=LoadOptionAttributes(0)))
    assert int(manager.option(5).attributes) == 0


@pytest.mark.parametrize("flag,on,check", [
    (LoadOptionAttributes.ACTIVE, False, lambda o: not o.active),
    (LoadOptionAttributes.HIDDEN, True, lambda o: o.hidden),
])
def test_flags(flag: LoadOptionAttributes, on: bool, check: object) -> None:
    store = three()
    manager = BootManager(store)
    manager.apply(manager.plan_set_flag(1, flag, on))
    assert check(manager.option(1))  # type: ignore[operator]
    manager.apply(manager.plan_set_flag(1, flag, not on))
    assert manager.option(1) == option("one")


def test_edit_missing_entry() -> None:
    with pytest.raises(BootError, match="no Boot0009"):
        BootManager(three()).plan_edit(9, description="x")


def test_noop_edit_is_empty_plan() -> None:
    plan = BootManager(three()).plan_edit(1, description="one")
    assert not plan and plan.describe() == ["no change"]


# ---- deleting ---------------------------------------------------------------------------

def test_delete_removes_from_order_and_boot_next() -> None:
    store = three()
    store.set("BootNext", G, order_bytes(1))
    manager = BootManager(store)
    plan = manager.plan_delete(1)
    assert [(c.name, c.action) for c in plan.changes] == [
        ("BootOrder", "update"), ("BootNext", "delete"), ("Boot0001", "delete")]
    manager.apply(plan)
    assert manager.numbers() == [0, 3]
    assert manager.order() == (0, 3)
    assert manager.boot_next() is None


def test_delete_with_unreadable_order_still_deletes() -> None:
    store = three()
    store.set("BootOrder", G, b"\x01")
    manager = BootManager(store)
    manager.apply(manager.plan_delete(3))
    assert manager.numbers() == [0, 1]


# ---- order lists, BootNext, Timeout -------------------------------------------------------

def test_order_set_checks() -> None:
    manager = BootManager(three())
    with pytest.raises(UsageError, match="duplicate"):
        manager.plan_order_set([1, 1])
    with pytest.raises(BootError, match="Boot0009"):
        manager.plan_order_set([1, 9])
    manager.apply(manager.plan_order_set([1, 9], force=True))
    assert manager.order() == (1, 9)


@pytest.mark.parametrize("number,position,expected", [
    (3, 0, (3, 1, 0)), (1, -1, (0, 3, 1)), (0, 1, (1, 0, 3)), (1, 99, (0, 3, 1)),
])
def test_order_move(number: int, position: int, expected: tuple[int, ...]) -> None:
    manager = BootManager(three())
    manager.apply(manager.plan_order_move(number, position))
    assert manager.order() == expected


def test_order_move_inserts_unlisted_entry() -> None:
    store = three()
    store.set("BootOrder", G, order_bytes(1))
    manager = BootManager(store)
    manager.apply(manager.plan_order_move(3, 0))
    assert manager.order() == (3, 1)


def test_order_dedupe_and_prune() -> None:
    store = three()
    store.set("Boot0002", G, BROKEN)
    store.set("BootOrder", G, order_bytes(1, 7, 0, 1, 2, 3, 0, 7))
    manager = BootManager(store)
    manager.apply(manager.plan_order_dedupe())
    assert manager.order() == (1, 7, 0, 2, 3)
    manager.apply(manager.plan_order_prune())
    assert manager.order() == (1, 0, 2, 3)  # broken Boot0002 exists: kept


def test_order_unreadable_blocks_only_order_edits() -> None:
    store = three()
    store.set("BootOrder", G, b"\x01\x00\x02")
    manager = BootManager(store)
    with pytest.raises(BootError, match="order set"):
        manager.plan_order_dedupe()
    manager.apply(manager.plan_order_set([0, 1]))
    assert manager.order() == (0, 1)


def test_boot_next() -> None:
    store = three()
    manager = BootManager(store)
    with pytest.raises(BootError, match="--force"):
        manager.plan_next(9)
    manager.apply(manager.plan_next(3))
    assert manager.boot_next() == 3
    manager.apply(manager.plan_next(9, force=True))
    assert manager.boot_next() == 9
    manager.apply(manager.plan_next(None))
    assert manager.boot_next() is None and store.get("BootNext", G) is None
    assert not manager.plan_next(None)


def test_timeout() -> None:
    manager = BootManager(three())
    manager.apply(manager.plan_timeout(0xFFFF))
    assert manager.timeout() == 0xFFFF
    manager.apply(manager.plan_timeout(None))
    assert manager.timeout() is None
    with pytest.raises(UsageError):
        manager.plan_timeout(0x10000)


# ---- plans: dry runs, batches, backups ------------------------------------------------------

def test_planning_writes_nothing() -> None:
    store = three()
    before = snapshot(store)
    manager = BootManager(store)
    manager.plan_add(option("x"))
    manager.plan_delete(1)
    manager.plan_order_set([3, 0, 1])
    manager.plan_next(1)
    assert snapshot(store) == before


def test_describe() -> None:
    manager = BootManager(three())
    text = "\n".join(manager.plan_add(option("new", data="hi".encode("utf-16-le")))[1].describe())
    assert "create Boot0002 (nv,bs,rt): * new\t" in text
    assert "'hi'" in text
    assert "0001,0000,0003" in text and "0001,0000,0003,0002" in text
    lines = manager.plan_delete(1).describe()
    assert lines[0] == "update BootOrder:"  # references are dropped before the entry
    assert lines[-1].startswith("delete Boot0001: * one")


def test_apply_is_one_batch() -> None:
    """A failure in the middle of a plan leaves a file-backed store untouched."""
    class FailSecond(MemoryStore):
        calls = 0

        def set(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            FailSecond.calls += 1
            if FailSecond.calls == 2:
                raise StoreError("injected")
            super().set(*args, **kwargs)

    store = FailSecond(three().variables())
    before = snapshot(store)
    manager = BootManager(store)
    _, plan = manager.plan_add(option("x"))
    with pytest.raises(StoreError, match="injected"):
        manager.apply(plan)
    assert snapshot(store) == before


def test_backup_restores_through_json_import(tmp_path: Path) -> None:
    store = three()
    store.set("BootNext", G, order_bytes(3))
    before = snapshot(store)
    manager = BootManager(store)
    plan = manager.plan_delete(3) + manager.plan_edit(1, description="changed")
    backup = tmp_path / "backup.json"
    assert write_backup(backup, plan) == 4  # Boot0003, BootOrder, BootNext, Boot0001
    manager.apply(plan)
    assert snapshot(store) != before
    doc = json.loads(backup.read_text())
    assert doc["version"] == 2
    assert {e["name"] for e in doc["variables"]} == {"Boot0003", "BootOrder", "BootNext",
                                                    "Boot0001"}
    for restored in loads(backup.read_text()):  # what `efikit vars import` does
        store.set(restored.name, restored.vendor, restored.data, restored.attributes)
    assert snapshot(store) == before
    assert JsonStore.open(backup).get("Boot0003", G) == var("Boot0003", option("three").to_bytes())


def test_backup_refuses_to_overwrite(tmp_path: Path) -> None:
    backup = tmp_path / "b.json"
    backup.write_text("precious")
    with pytest.raises(UsageError, match="exists"):
        write_backup(backup, Plan())
    assert backup.read_text() == "precious"


def test_overlapping_plans_refused() -> None:
    manager = BootManager(three())
    with pytest.raises(UsageError, match="BootOrder"):
        manager.plan_order_move(3, 0) + manager.plan_delete(1)
    combined = manager.plan_next(1) + manager.plan_timeout(2)
    assert [c.name for c in combined.changes] == ["BootNext", "Timeout"]
