"""``slot status``: which slot runs, what each slot's entry and loader look like, what boots
next, and a verdict (healthy, trial pending, degraded) with its reasons."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from efikit.boot import BootEntry, BootManager, format_number
from efikit.codec.slot_rule import Slot, slot_from_file_path_nodes
from efikit.codec.ucs2 import decode_ucs2
from efikit.errors import Error
from efikit.slots.machine import SlotMachine, entry_file_path
from efikit.slots.scheme import SLOTS, other_slot
from efikit.slots.stamps import LoaderStamp, read_loader_stamp
from efikit.vars.memory import MemoryStore
from efikit.vars.store import SYSTEMD_LOADER

HEALTHY = "healthy"
TRIAL_PENDING = "trial pending"
DEGRADED = "degraded"


@dataclass(frozen=True)
class SlotState:
    """One slot: its loader, its entries and how they look."""

    slot: Slot
    loader: str
    entries: tuple[int, ...]  # every entry starting this loader
    entry: int | None  # the one that counts (first in BootOrder, else lowest)
    active: bool | None
    hd_matches_esp: bool | None  # None: the ESP's place is unknown
    loader_exists: bool | None  # None: the ESP's files are unknown
    loader_size: int | None
    stamp: LoaderStamp | None
    order_position: int | None  # 0-based position of ``entry`` in BootOrder


@dataclass(frozen=True)
class CrossCheck:
    """A second opinion on the running slot (LoaderImageIdentifier, ..., the stamp)."""

    source: str
    value: str
    slot: Slot | None
    agrees: bool | None


@dataclass(frozen=True)
class NextBoot:
    """What the firmware will start next, as far as efikit can tell."""

    number: int | None
    via: str  # "BootNext", "BootOrder", "fallback" or "nothing"
    path: str | None
    slot: Slot | None


@dataclass(frozen=True)
class EspInfo:
    disk: str | None
    partition: int | None
    partition_guid: uuid.UUID | None
    start_lba: int | None
    size_lba: int | None
    free_bytes: int | None


@dataclass(frozen=True)
class SlotStatus:
    running: Slot | None
    # "BootCurrent", "BootCurrent (fallback)", "kernel command line", "--running"
    running_source: str | None
    boot_current: int | None
    boot_current_path: str | None
    checks: tuple[CrossCheck, ...]
    slots: tuple[SlotState, SlotState]
    boot_order: tuple[int, ...] | None
    boot_next: int | None
    boot_next_slot: Slot | None
    next_boot: NextBoot
    esp: EspInfo | None
    verdict: str
    reasons: tuple[str, ...]
    notes: tuple[str, ...]

    def slot(self, slot: Slot) -> SlotState:
        return self.slots[SLOTS.index(slot)]


def _systemd_string(machine: SlotMachine, name: str) -> str | None:
    try:
        var = machine.store.get(name, SYSTEMD_LOADER)
        if var is None:
            return None
        data = var.data[: len(var.data) // 2 * 2]
        return decode_ucs2(data).split("\x00", 1)[0].strip()
    except Error:
        return None


def running_from_entry(machine: SlotMachine, entry: BootEntry | None) -> tuple[Slot | None, str]:
    """The slot a booted entry ran, and how it was found ("" when unknown)."""
    if entry is None or entry.option is None or entry.option.device_path is None:
        return None, ""
    path = entry.option.device_path
    nodes = path.file_path_nodes()
    joined = path.file_path()
    if not nodes or (joined is not None and machine.scheme.is_fallback(joined)):
        return "A", "fallback"  # removable-media boot: \EFI\BOOT\BOOTX64.EFI boots slot A
    by_rule = slot_from_file_path_nodes(nodes)
    if not by_rule.default or (joined and machine.scheme.slot_of_loader(joined)):
        return by_rule.slot, "entry"
    return None, ""


def predict_next_boot(machine: SlotMachine, manager: BootManager | None = None) -> NextBoot:
    """BootNext's entry if it exists, else the first active BootOrder entry whose loader is
    there (entries on other disks count as bootable), else the removable-media fallback."""
    manager = manager or machine.manager()
    try:
        boot_next = manager.boot_next()
    except Error:
        boot_next = None
    candidates: list[tuple[int, str]] = []
    if boot_next is not None:
        candidates.append((boot_next, "BootNext"))
    candidates += [(n, "BootOrder") for n in machine.safe_order(manager)]
    for number, via in candidates:
        entry = manager.find(number)
        if entry is None or entry.option is None:
            continue
        if via == "BootOrder" and not entry.option.active:
            continue
        path = entry_file_path(entry)
        on_esp = machine.hd_matches(entry) is not False
        if path and machine.esp is not None and on_esp and machine.esp.size(path) is None:
            continue  # the firmware fails to load it and moves on
        slot = machine.scheme.slot_of_loader(path) if path else None
        if slot is None and (not path or machine.scheme.is_fallback(path)) and on_esp:
            slot = "A"
        return NextBoot(number, via, path, slot)
    fallback = machine.scheme.fallback_loader
    if machine.esp is None or machine.esp.size(fallback) is not None:
        return NextBoot(None, "fallback", fallback, "A")
    return NextBoot(None, "nothing", None, None)


def read_status(machine: SlotMachine, running: Slot | None = None) -> SlotStatus:
    """Everything ``slot status`` shows; never raises for damaged variables (they become
    reasons)."""
    # One pass over the store, then every lookup is in memory (efivarfs lists are slow).
    snapshot = MemoryStore(machine.store.variables(), source=machine.store.source)
    machine = dataclasses.replace(machine, store=snapshot)
    manager = machine.manager()
    reasons: list[str] = []
    trial: list[str] = []
    notes: list[str] = []
    boot = manager.status()
    for problem in boot.problems:
        reasons.append(f"unreadable variable: {problem}")
    existing = {e.number for e in boot.entries}
    order = boot.order
    order_list = list(order or ())
    by_slot = machine.group_by_slot(boot.entries)

    # --- the running slot
    boot_current = boot.boot_current
    current_entry = next((e for e in boot.entries if e.number == boot_current), None)
    current_path = entry_file_path(current_entry) if current_entry else None
    from_current, how = running_from_entry(machine, current_entry)
    source: str | None = None
    if running is not None:
        source = "--running"
        if from_current is not None and from_current != running:
            reasons.append(f"--running {running} disagrees with BootCurrent "
                           f"{format_number(boot_current or 0)}, which started slot {from_current}")
    elif from_current is not None:
        running = from_current
        source = "BootCurrent (fallback)" if how == "fallback" else "BootCurrent"
    from_cmdline = machine.slot_from_cmdline()
    if running is None and from_cmdline is not None:
        running = from_cmdline[1]
        source = "kernel command line"
    if boot_current is None:
        notes.append("no BootCurrent (an offline varstore?): give --running A|B to name the "
                     "running slot" if source is None else "no BootCurrent")
    elif current_entry is None:
        notes.append(f"BootCurrent {format_number(boot_current)} has no Boot#### entry")
    elif from_current is None:
        notes.append(f"BootCurrent {format_number(boot_current)} ({current_path or 'no file'}) "
                     "is not a slot entry")
    if how == "fallback":
        reasons.append(f"booted through the fallback loader {machine.scheme.fallback_loader} "
                       "(or removable-media boot): the slot entries did not boot")

    checks: list[CrossCheck] = []
    if from_cmdline is not None:
        word, slot_in_cmdline = from_cmdline
        agrees_cmdline = None if source == "kernel command line" else slot_in_cmdline == running
        checks.append(CrossCheck("kernel command line", word, slot_in_cmdline, agrees_cmdline))
        if agrees_cmdline is False:
            reasons.append(f"the kernel command line has {word} (slot {slot_in_cmdline}), but "
                           f"the running slot from {source} is {running}")
    elif machine.kernel_cmdline is not None and machine.scheme.cmdline_placeholder:
        notes.append("the kernel command line names no slot (no "
                     f"{machine.scheme.cmdline_placeholder} filled in for A or B)")
    identifier = _systemd_string(machine, "LoaderImageIdentifier")
    if identifier:
        slot = machine.scheme.slot_of_loader(identifier)
        agrees = None if slot is None or running is None else slot == running
        checks.append(CrossCheck("LoaderImageIdentifier", identifier, slot, agrees))
        if agrees is False:
            reasons.append(f"LoaderImageIdentifier {identifier} is slot {slot}, but the running "
                           f"slot is {running}")
    part_uuid = _systemd_string(machine, "LoaderDevicePartUUID")
    if part_uuid:
        agrees_part: bool | None = None
        if machine.location is not None:
            try:
                agrees_part = uuid.UUID(part_uuid) == machine.location.partition_guid
            except ValueError:
                agrees_part = False
        checks.append(CrossCheck("LoaderDevicePartUUID", part_uuid, None, agrees_part))
        if agrees_part is False:
            reasons.append(f"LoaderDevicePartUUID {part_uuid} is not the ESP's partition GUID "
                           f"{machine.location.partition_guid if machine.location else ''}".upper())

    # --- each slot
    states = []
    for slot in SLOTS:
        entries = by_slot[slot]
        primary = machine.primary(entries, order_list)
        loader = machine.scheme.loader_path(slot)
        size = machine.esp.size(loader) if machine.esp is not None else None
        data = machine.esp.read(loader) if machine.esp is not None and size is not None else None
        stamp = read_loader_stamp(data) if data is not None else None
        state = SlotState(
            slot=slot, loader=loader, entries=tuple(e.number for e in entries),
            entry=primary.number if primary else None,
            active=primary.option.active if primary and primary.option else None,
            hd_matches_esp=machine.hd_matches(primary) if primary else None,
            loader_exists=None if machine.esp is None else size is not None,
            loader_size=size, stamp=stamp,
            order_position=order_list.index(primary.number)
            if primary and primary.number in order_list else None,
        )
        states.append(state)
        if primary is None:
            reasons.append(f"slot {slot} has no Boot#### entry for {loader}")
        else:
            name = f"Boot{format_number(primary.number)}"
            if len(entries) > 1:
                reasons.append(f"slot {slot} has duplicate entries: " + ", ".join(
                    f"Boot{format_number(e.number)}" for e in entries))
            if not state.active:
                reasons.append(f"slot {slot} entry {name} is inactive")
            if state.hd_matches_esp is False:
                reasons.append(f"slot {slot} entry {name} points at another partition than the "
                               "ESP")
            if state.order_position is None:
                reasons.append(f"slot {slot} entry {name} is not in BootOrder")
        if state.loader_exists is False:
            reasons.append(f"slot {slot} loader {loader} is missing from the ESP")
        if stamp is not None and stamp.error:
            reasons.append(f"slot {slot} loader stamp is unreadable: {stamp.error}")
        elif stamp is not None and stamp.slot != slot:
            reasons.append(f"slot {slot} loader {loader} is stamped slot {stamp.slot}: the stamp "
                           "contradicts the file name")
    if running is not None:
        run_stamp = states[SLOTS.index(running)].stamp
        if run_stamp is not None and run_stamp.slot is not None:
            checks.append(CrossCheck("stamp", machine.scheme.loader_path(running), run_stamp.slot,
                                     run_stamp.slot == running))

    # --- BootOrder and BootNext
    if order is None:
        if "BootOrder" not in " ".join(boot.problems):
            reasons.append("BootOrder does not exist")
    else:
        dangling = [n for n in order if n not in existing]
        if dangling:
            reasons.append("BootOrder lists numbers with no entry: " + ", ".join(
                format_number(n) for n in dict.fromkeys(dangling)))
        repeated = sorted({n for n in order if order.count(n) > 1})
        if repeated:
            reasons.append("BootOrder lists numbers twice: " + ", ".join(
                format_number(n) for n in repeated))
    boot_next = boot.boot_next
    boot_next_slot: Slot | None = None
    if boot_next is not None:
        if boot_next not in existing:
            reasons.append(f"BootNext {format_number(boot_next)} points at no entry")
        else:
            boot_next_slot = next((s for s in SLOTS if boot_next in
                                   [e.number for e in by_slot[s]]), None)
            if boot_next_slot is not None:
                trial.append(f"BootNext is Boot{format_number(boot_next)}: the next boot tries "
                             f"slot {boot_next_slot} once")
            else:
                notes.append(f"BootNext is Boot{format_number(boot_next)}, not a slot entry")
    if running is not None:
        other = other_slot(running)
        mine, theirs = states[SLOTS.index(running)], states[SLOTS.index(other)]
        if (mine.order_position is not None and theirs.order_position is not None
                and theirs.order_position < mine.order_position and boot_next_slot is None):
            trial.append(f"running slot {running} is behind slot {other} in BootOrder: "
                         f"`slot commit` keeps {running}, a reboot returns to {other}")

    esp_info = None
    if machine.location is not None or machine.esp is not None:
        free = None
        if machine.esp is not None:
            try:
                free = machine.esp.free_bytes()
            except Error as exc:
                notes.append(f"ESP free space unknown: {exc}")
        loc = machine.location
        esp_info = EspInfo(loc.disk if loc else None, loc.number if loc else None,
                           loc.partition_guid if loc else None, loc.start_lba if loc else None,
                           loc.size_lba if loc else None, free)
        if loc is not None:
            notes.extend(loc.warnings)
    else:
        notes.append("ESP unknown: give --disk or --esp to check loaders and free space")

    verdict = DEGRADED if reasons else TRIAL_PENDING if trial else HEALTHY
    return SlotStatus(
        running=running, running_source=source, boot_current=boot_current,
        boot_current_path=current_path, checks=tuple(checks), slots=(states[0], states[1]),
        boot_order=order, boot_next=boot_next, boot_next_slot=boot_next_slot,
        next_boot=predict_next_boot(machine, manager), esp=esp_info, verdict=verdict,
        reasons=tuple(reasons + trial), notes=tuple(notes),
    )
