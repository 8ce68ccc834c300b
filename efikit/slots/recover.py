"""``slot recover``: rebuild lost or damaged slot entries from what is on the disk.

From the ESP (found in the GPT) and the loaders on it: create a missing entry for every slot
whose loader exists, repair slot entries that point at another partition or are inactive,
remove duplicates that start the same loader, retarget or drop a BootNext that points at a
duplicate or at nothing, prune BootOrder numbers with no entry, put the slots first in the
chosen order, and record that order in shim's BOOTX64.CSV. Entries of other vendors are left
alone (their BootOrder positions keep their relative order, behind the slots).

The order: ``--prefer``; else the slots' relative order in the surviving BootOrder; else the
order recorded in BOOTX64.CSV; else A first (the seed's default). A preferred slot whose
loader is missing, or whose stamp contradicts its file name, gives way to the other.

Write order: new and repaired entries, BootNext, one BootOrder write, then deleting the
duplicates (no longer in BootOrder), then BOOTX64.CSV.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from efikit.boot import format_number
from efikit.codec.devpath import DevicePath, HardDriveNode
from efikit.codec.slot_rule import Slot
from efikit.errors import Error, SlotError
from efikit.slots.bootcsv import parse_boot_csv
from efikit.slots.machine import SlotMachine, entry_hd
from efikit.slots.operations import _ensure_entry, _set_flag, csv_step
from efikit.slots.plan import Planner, SlotPlan
from efikit.slots.scheme import SLOTS, other_slot
from efikit.slots.stamps import LoaderStamp, read_loader_stamp


@dataclass(frozen=True)
class FoundLoader:
    esp_path: str
    slot: Slot | None  # the scheme slot of this path (None: another file in the vendor dir)
    size: int
    stamp: LoaderStamp | None


def list_loaders(machine: SlotMachine) -> list[FoundLoader]:
    """The .efi files in the vendor directory, with their stamps."""
    if machine.esp is None:
        return []
    out = []
    for name in machine.esp.list_files(machine.scheme.vendor_dir):
        if not name.lower().endswith(".efi"):
            continue
        path = f"{machine.scheme.vendor_dir}\\{name}"
        data = machine.esp.read(path)
        if data is None:
            continue
        out.append(FoundLoader(path, machine.scheme.slot_of_loader(path), len(data),
                               read_loader_stamp(data)))
    return out


def _csv_order(machine: SlotMachine) -> list[Slot]:
    if machine.esp is None:
        return []
    data = machine.esp.read(machine.scheme.csv_path)
    if data is None:
        return []
    try:
        rows = parse_boot_csv(data)
    except Error:
        return []
    slots: list[Slot] = []
    for row in rows:
        slot = machine.scheme.slot_of_loader(f"{machine.scheme.vendor_dir}\\{row.file}")
        if slot is not None and slot not in slots:
            slots.append(slot)
    return slots


def choose_first(machine: SlotMachine, prefer: Slot | None,
                 loaders: list[FoundLoader], notes: list[str]) -> Slot:
    present = {f.slot for f in loaders if f.slot is not None}
    contradicted = {f.slot for f in loaders
                    if f.slot is not None and f.stamp is not None and f.stamp.slot is not None
                    and f.stamp.slot != f.slot}
    for f in loaders:
        if f.slot is not None and f.slot in contradicted:
            notes.append(f"{f.esp_path} is stamped slot {f.stamp.slot if f.stamp else '?'}: the "
                         "stamp contradicts the file name")
    if prefer is not None:
        first, why = prefer, "--prefer"
    else:
        manager = machine.manager()
        order = list(machine.safe_order(manager))
        by_slot = machine.slot_entries(manager)
        positions = {s: next((i for i, n in enumerate(order)
                              if n in [e.number for e in by_slot[s]]), None) for s in SLOTS}
        ranked = sorted((p, s) for s, p in positions.items() if p is not None)
        csv = _csv_order(machine)
        if ranked:
            first, why = ranked[0][1], "the surviving BootOrder"
        elif csv:
            first, why = csv[0], f"the order recorded in {machine.scheme.csv_path}"
        else:
            first, why = "A", "the default (no BootOrder, no BOOTX64.CSV)"
    if machine.esp is not None and first not in present and other_slot(first) in present:
        notes.append(f"slot {first} ({why}) has no loader: slot {other_slot(first)} goes first")
        return other_slot(first)
    if first in contradicted and other_slot(first) in present - contradicted:
        notes.append(f"slot {first}'s loader has a contradicting stamp: slot "
                     f"{other_slot(first)} goes first")
        return other_slot(first)
    notes.append(f"slot {first} goes first ({why})")
    return first


def _repair_path(path: DevicePath, hd: HardDriveNode) -> DevicePath:
    """The same path starting at the ESP: everything before the FILEPATH nodes becomes HD()."""
    from efikit.codec.devpath import FilePathNode

    files = tuple(n for n in path.nodes if isinstance(n, FilePathNode))
    return replace(path, nodes=(hd, *files))


def plan_recover(machine: SlotMachine, prefer: Slot | None = None) -> SlotPlan:
    if machine.esp is None:
        raise SlotError("recover needs the ESP: give the disk (--disk IMAGE_OR_DEVICE) or a "
                        "mounted ESP (--esp DIR)")
    planner = Planner(machine, "recover")
    sim = planner.sim
    loaders = list_loaders(machine)
    present = [s for s in SLOTS if sim.loader_present(s)]
    if not present:
        raise SlotError(f"no slot loader on the ESP ({sim.scheme.loader_path('A')}, "
                        f"{sim.scheme.loader_path('B')}): nothing to recover")
    first = choose_first(machine, prefer, loaders, planner.notes)

    # 1. entries: create missing ones, repair the one that counts
    hd = sim.location.hd_node() if sim.location is not None else None
    keep: dict[Slot, int] = {}
    for slot in SLOTS:
        if slot not in present and not sim.slot_entries(planner.manager)[slot]:
            planner.notes.append(f"slot {slot} has no loader and no entry: left out")
            continue
        entry = _ensure_entry(planner, slot)
        keep[slot] = entry.number
        node = entry_hd(entry)
        if hd is not None and entry.option is not None and entry.option.device_path and \
                (node is None or not sim.location.matches(node)):  # type: ignore[union-attr]
            planner.add(f"point Boot{format_number(entry.number)} at the ESP",
                        planner.manager.plan_edit(
                            entry.number, device_path=_repair_path(entry.option.device_path, hd)))
        if slot in present:
            _set_flag(planner, entry, True, f"slot {slot}'s loader is on the ESP")

    manager = planner.manager
    by_slot = sim.slot_entries(manager)
    duplicates = {e.number: keep[s] for s in SLOTS if s in keep for e in by_slot[s]
                  if e.number != keep[s]}
    existing = set(manager.numbers())

    # 2. BootNext: follow a duplicate to the kept entry, drop one that points nowhere
    try:
        boot_next = manager.boot_next()
    except Error:
        boot_next = -1
    if boot_next is not None:
        if boot_next in duplicates:
            planner.add(f"BootNext {format_number(boot_next)} is a duplicate: point it at "
                        f"Boot{format_number(duplicates[boot_next])}",
                        manager.plan_next(duplicates[boot_next]))
        elif boot_next not in existing:
            planner.add("clear BootNext, which points at no entry", manager.plan_next(None))

    # 3. BootOrder: the slots first, then everything else that exists, once each
    order = list(sim.safe_order(manager))
    ours = [keep[s] for s in (first, other_slot(first)) if s in keep]
    rest = [n for n in dict.fromkeys(order)
            if n in existing and n not in ours and n not in duplicates]
    new_order = ours + rest
    if new_order != order:
        dropped = [format_number(n) for n in dict.fromkeys(order) if n not in existing]
        what = "put the slots first in BootOrder"
        if dropped:
            what += ", dropping numbers with no entry (" + ", ".join(dropped) + ")"
        planner.add(what, planner.order_plan(new_order))

    # 4. duplicates, now outside BootOrder
    for number, kept in sorted(duplicates.items()):
        planner.add(f"delete Boot{format_number(number)}, a duplicate of "
                    f"Boot{format_number(kept)}", planner.manager.plan_delete(number))

    # 5. shim's record
    csv_step(planner, first)
    return planner.finish()


__all__ = ["FoundLoader", "list_loaders", "plan_recover", "choose_first"]
