"""The A/B flow: ``stage`` a slot for one trial boot, ``commit`` the running slot,
``rollback`` to the other one. Each returns a SlotPlan (see ``efikit.slots.plan``).

Write order, chosen so a crash after any single write still boots a present loader:

- stage: clear a BootNext aimed at the target, create the target's entry (inactive if its
  loader is about to change) and put it in BootOrder behind the running slot, deactivate it,
  replace the loader (temp file + rename), reactivate it, and only then set BootNext.
- commit / rollback: create missing entries first (outside BootOrder), then one BootOrder
  write, then the shim BOOT.CSV record on the ESP.
"""
from __future__ import annotations

from efikit.boot import BootEntry, format_number
from efikit.codec.loadoption import LoadOptionAttributes
from efikit.codec.slot_rule import Slot
from efikit.errors import Error, SlotError
from efikit.slots.bootcsv import CsvEntry, encode_boot_csv
from efikit.slots.machine import SlotMachine
from efikit.slots.plan import Planner, SlotPlan
from efikit.slots.scheme import SLOTS, other_slot
from efikit.slots.status import running_from_entry

#: room the FAT needs beyond the file itself (directory entry, cluster rounding)
ESP_SLACK = 64 * 1024


def resolve_running(machine: SlotMachine, given: Slot | None) -> Slot:
    """The running slot: ``given`` (--running), else from BootCurrent, else from the kernel
    command line; SlotError if none of them tells."""
    if given is not None:
        return given
    try:
        return _running_from_boot_current(machine)
    except SlotError:
        from_cmdline = machine.slot_from_cmdline()
        if from_cmdline is None:
            raise
        return from_cmdline[1]


def _running_from_boot_current(machine: SlotMachine) -> Slot:
    manager = machine.manager()
    try:
        current = manager.boot_current()
    except Error as exc:
        raise SlotError(f"BootCurrent is unreadable ({exc}); give --running A|B") from None
    if current is None:
        raise SlotError("no running slot known: there is no BootCurrent (an offline varstore or "
                        "a recovery environment); give --running A|B")
    slot, _ = running_from_entry(machine, manager.find(current))
    if slot is None:
        raise SlotError(f"BootCurrent {format_number(current)} is not a slot entry, so the "
                        "running slot is unknown; give --running A|B")
    return slot


def _ensure_entry(planner: Planner, slot: Slot, active: bool = True) -> BootEntry:
    """The slot's primary entry, created (outside BootOrder) when it has none."""
    sim = planner.sim
    manager = planner.manager
    entries = sim.slot_entries(manager)[slot]
    primary = sim.primary(entries, sim.safe_order(manager))
    if primary is not None:
        return primary
    hd = sim.hd_for_new_entries(manager)
    number, plan = manager.plan_add(sim.slot_option(slot, hd, active=active),
                                    add_to_order=False)
    planner.add(f"create Boot{format_number(number)} \"{sim.scheme.label(slot)}\" for slot "
                f"{slot}", plan)
    return planner.manager.entry(number)


def _set_flag(planner: Planner, entry: BootEntry, active: bool, why: str) -> None:
    current = planner.manager.entry(entry.number)
    if current.option is None or current.option.active == active:
        return
    planner.add(f"{'activate' if active else 'deactivate'} Boot{format_number(entry.number)} "
                f"({why})",
                planner.manager.plan_set_flag(entry.number, LoadOptionAttributes.ACTIVE, active))


def _order_first(planner: Planner, first: Slot) -> None:
    """One BootOrder write: both slots in it, ``first`` ahead of the other; keeps the rest."""
    sim = planner.sim
    manager = planner.manager
    order = list(sim.safe_order(manager))
    by_slot = sim.slot_entries(manager)
    a = sim.primary(by_slot[first], order)
    b = sim.primary(by_slot[other_slot(first)], order)
    assert a is not None
    new = list(order)
    if b is None:
        if a.number not in new:
            new.insert(0, a.number)
    elif a.number not in new and b.number not in new:
        new = [a.number, b.number] + new
    elif a.number in new and b.number in new:
        ia, ib = new.index(a.number), new.index(b.number)
        if ia > ib:
            new[ia], new[ib] = b.number, a.number
    elif a.number in new:
        new.insert(new.index(a.number) + 1, b.number)
    else:
        new.insert(new.index(b.number), a.number)
    if new != order:
        planner.set_order(new)


def csv_step(planner: Planner, first: Slot) -> None:
    """Record the slot order in shim's BOOTX64.CSV (present loaders only), if it changes."""
    sim = planner.sim
    if sim.esp is None:
        return
    slots = [s for s in (first, other_slot(first)) if sim.loader_present(s)]
    if not slots:
        return
    rows = [CsvEntry(sim.scheme.loader_path(s).rsplit("\\", 1)[-1], sim.scheme.label(s), "",
                     f"efikit: slot {s}") for s in slots]
    data = encode_boot_csv(rows)
    before = sim.esp.read(sim.scheme.csv_path)
    if before != data:
        planner.write_file(f"record the order {', '.join(slots)} in {sim.scheme.csv_path} "
                           "(shim's fallback reads it)", sim.scheme.csv_path, data,
                           before is not None)


def plan_stage(machine: SlotMachine, target: Slot, loader: bytes | None = None,
               running: Slot | None = None) -> SlotPlan:
    """Prepare ``target`` for one trial boot (BootNext), optionally installing ``loader``."""
    if running is None:
        try:
            running = resolve_running(machine, None)
        except SlotError:
            running = None
    if running == target:
        raise SlotError(f"slot {target} is the running slot; stage the other one "
                        f"({other_slot(target)})")
    planner = Planner(machine, "stage")
    scheme = machine.scheme
    path = scheme.loader_path(target)
    esp = machine.esp
    current = esp.read(path) if esp is not None else None
    replace = False
    if loader is not None:
        if esp is None:
            raise SlotError("--loader needs the ESP: give --disk or --esp")
        if not loader:
            raise SlotError("the new loader is empty")
        replace = current != loader
        if replace:
            free = esp.free_bytes()
            need = len(loader) + ESP_SLACK
            if free < need:
                raise SlotError(
                    f"the ESP has {free} bytes free but writing the {len(loader)}-byte loader "
                    f"needs about {need} (the old one stays until the new one is complete); "
                    "grow the ESP (the seed grew its ESP from 128 to 384 MiB for two loaders)")
    elif esp is not None and current is None:
        raise SlotError(f"there is no loader at {path}; give one with --loader FILE")
    elif esp is None:
        planner.notes.append("the ESP is unknown (no --disk/--esp): the loader is not checked")
    if running is None:
        planner.notes.append("the running slot is unknown: make sure it is not slot "
                             f"{target}")

    manager = planner.manager
    try:
        boot_next = manager.boot_next()
    except Error:
        boot_next = None
    targets = {e.number for e in planner.sim.slot_entries(manager)[target]}
    if replace and boot_next is not None and boot_next in targets:
        planner.add("clear BootNext while the target's loader is replaced",
                    manager.plan_next(None))
    entry = _ensure_entry(planner, target, active=not replace)
    order = list(planner.sim.safe_order(planner.manager))
    if entry.number not in order:
        other = planner.sim.primary(planner.sim.slot_entries(planner.manager)[other_slot(target)],
                                    order)
        at = order.index(other.number) + 1 if other is not None and other.number in order \
            else len(order)
        # Some firmware ignores BootNext for an entry that is not in BootOrder.
        planner.set_order(order[:at] + [entry.number] + order[at:])
    entries = planner.sim.slot_entries(planner.manager)[target]
    if replace:
        for e in entries:
            _set_flag(planner, e, False, "its loader is being replaced")
        planner.write_file(f"install the new slot {target} loader", path, loader or b"",
                           current is not None)
    for e in entries:
        _set_flag(planner, e, True, f"slot {target} is ready")
    planner.add(f"set BootNext to Boot{format_number(entry.number)}: the next boot tries slot "
                f"{target} once", planner.manager.plan_next(entry.number))
    return planner.finish()


def plan_commit(machine: SlotMachine, running: Slot | None = None) -> SlotPlan:
    """Make the running slot the permanent one (idempotent)."""
    running = resolve_running(machine, running)
    planner = Planner(machine, "commit")
    mine = _ensure_entry(planner, running)
    _set_flag(planner, mine, True, "it is the running slot")
    try:
        _ensure_entry(planner, other_slot(running))
    except SlotError as exc:
        planner.notes.append(f"slot {other_slot(running)} has no entry and none can be made: "
                             f"{exc}")
    _order_first(planner, running)
    csv_step(planner, running)
    return planner.finish()


def plan_rollback(machine: SlotMachine, running: Slot | None = None) -> SlotPlan:
    """Cancel a pending trial (BootNext), or put the slot that is not running first."""
    planner = Planner(machine, "rollback")
    manager = planner.manager
    sim = planner.sim
    try:
        boot_next = manager.boot_next()
    except Error:
        boot_next = None
    by_slot = sim.slot_entries(manager)
    trial = next((s for s in SLOTS if boot_next in [e.number for e in by_slot[s]]), None)
    if trial is not None:
        target = other_slot(trial)
    else:
        try:
            target = other_slot(resolve_running(machine, running))
        except SlotError:
            order = sim.safe_order(manager)
            first = next((s for n in order for s in SLOTS
                          if n in [e.number for e in by_slot[s]]), None)
            if first is None:
                raise
            target = other_slot(first)
            planner.notes.append(f"running slot unknown: rolling back from slot {first}, the "
                                 "first in BootOrder")
    if sim.loader_present(target) is False:
        raise SlotError(f"slot {target} has no loader at {sim.scheme.loader_path(target)}: "
                        "nothing to roll back to")
    if boot_next is not None:
        planner.add(f"clear BootNext (was {format_number(boot_next)})", manager.plan_next(None))
    entry = _ensure_entry(planner, target)
    _set_flag(planner, entry, True, f"slot {target} becomes first")
    _order_first(planner, target)
    csv_step(planner, target)
    return planner.finish()
