"""Idempotent boot-manager changes: add without duplicating, ensure an entry is exactly as
described, merge duplicate entries.

Each function computes a ``Plan`` against the store as it is now; applying it and running the
same function again yields an empty plan. "The same entry" is ``identity.loader_key``: same
loader (file path case-insensitive), same other nodes, same optional data.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from efikit.boot.changes import Change, Plan
from efikit.boot.identity import loader_key
from efikit.boot.manager import BootEntry, BootManager
from efikit.boot.numbers import OptionKind, encode_u16
from efikit.errors import BootError, Error, UsageError

if TYPE_CHECKING:
    from efikit.codec.loadoption import LoadOption


@dataclass(frozen=True)
class Outcome:
    """A plan plus what it means: the entry it is about and how it got there."""

    plan: Plan
    number: int | None = None
    #: "created", "reused", "updated", "unchanged" (add/ensure); "merged" (dedupe)
    action: str = "unchanged"
    notes: tuple[str, ...] = field(default=())


def _order(manager: BootManager, kind: OptionKind) -> list[int]:
    if kind.order_name is None:
        return []
    try:
        return list(manager.order(kind) or ())
    except Error:
        return []


def _by_order(entries: list[BootEntry], order: list[int]) -> list[BootEntry]:
    """Entries listed in the order list first (by position), then the rest by number."""
    def rank(entry: BootEntry) -> tuple[int, int]:
        position = order.index(entry.number) if entry.number in order else len(order)
        return position, entry.number
    return sorted(entries, key=rank)


def same_entries(manager: BootManager, option: LoadOption,
                 kind: OptionKind = OptionKind.BOOT) -> list[BootEntry]:
    """Existing entries that boot what ``option`` boots, earliest in the order list first."""
    key = loader_key(option)
    found = [e for e in manager.entries(kind)
             if e.option is not None and loader_key(e.option) == key]
    return _by_order(found, _order(manager, kind))


def _placement(manager: BootManager, number: int, kind: OptionKind, first: bool) -> Plan:
    """Put ``number`` first in the order list (``first``), else make sure it is listed."""
    if kind.order_name is None:
        return Plan()
    order = _order(manager, kind)
    if first:
        if order[:1] == [number] and order.count(number) == 1:
            return Plan()
        return manager.plan_order_move(number, 0, kind)
    if number in order:
        return Plan()
    return manager.plan_order_move(number, -1, kind)


def plan_add_or_reuse(manager: BootManager, option: LoadOption,
                      kind: OptionKind = OptionKind.BOOT, *, number: int | None = None,
                      first: bool = False, allow_duplicate: bool = False) -> Outcome:
    """``boot add``: create the entry, unless one already boots the same loader with the same
    data; then reuse that one (listing it in the order, first with ``first``) and say so."""
    existing = [] if allow_duplicate else same_entries(manager, option, kind)
    if number is not None and existing and number not in [e.number for e in existing]:
        raise UsageError(f"{existing[0].name} already boots this loader with this data; "
                         f"give --allow-duplicate to add {kind.variable_name(number)} as well")
    if not existing:
        created, plan = manager.plan_add(option, kind, number=number, first=first)
        return Outcome(plan, created, "created")
    chosen = next(e for e in existing if number is None or e.number == number)
    assert chosen.option is not None
    notes = [f"{chosen.name} already boots this loader with this data "
             f"(label {chosen.option.description!r}): reused it, nothing added "
             "(--allow-duplicate adds another)"]
    if chosen.option.description != option.description:
        notes.append(f"its label stays {chosen.option.description!r} "
                     "(boot ensure or boot edit changes it)")
    if chosen.option.active != option.active:
        notes.append(f"it is {'active' if chosen.option.active else 'inactive'}; "
                     "boot ensure or boot activate/deactivate changes that")
    return Outcome(_placement(manager, chosen.number, kind, first), chosen.number, "reused",
                   tuple(notes))


def plan_ensure(manager: BootManager, option: LoadOption,
                kind: OptionKind = OptionKind.BOOT, *, first: bool = False) -> Outcome:
    """``boot ensure``: make an entry exactly ``option`` (label, attributes, the one device
    path, optional data), first in the order list with ``first``, else listed in it.

    The entry to make so: the one that already boots the same loader with the same data (the
    earliest in the order list if there are several); else the one entry with the same label;
    else a new one. Several entries with the same label and none with this loader: refused."""
    from efikit.codec.loadoption import LoadOptionAttributes  # noqa: PLC0415

    notes: list[str] = []
    candidates = same_entries(manager, option, kind)
    if len(candidates) > 1:
        notes.append("also booting this loader: "
                     + ", ".join(e.name for e in candidates[1:])
                     + " (boot dedupe merges them)")
    if not candidates:
        labelled = [e for e in manager.entries(kind)
                    if e.option is not None and e.option.description == option.description]
        if len(labelled) > 1:
            raise UsageError(f"{len(labelled)} entries are labelled {option.description!r} "
                             "and none boots this loader: "
                             + ", ".join(e.name for e in labelled)
                             + "; remove or relabel all but one first")
        candidates = labelled
    if not candidates:
        created, plan = manager.plan_add(option, kind, first=first)
        return Outcome(plan, created, "created", tuple(notes))
    entry = candidates[0]
    assert entry.option is not None
    kept_bits = int(entry.option.attributes) & ~int(
        LoadOptionAttributes.ACTIVE | LoadOptionAttributes.HIDDEN)
    wanted_bits = int(option.attributes) & int(
        LoadOptionAttributes.ACTIVE | LoadOptionAttributes.HIDDEN)
    wanted = replace(option, attributes=type(option.attributes)(kept_bits | wanted_bits))
    entry_plan = Plan()
    if wanted.to_bytes() != entry.option.to_bytes():
        entry_plan = manager.plan_replace(entry.number, wanted, kind)
    placement = _placement(manager, entry.number, kind, first)
    plan = entry_plan + placement
    return Outcome(plan, entry.number, "updated" if plan else "unchanged", tuple(notes))


@dataclass(frozen=True)
class Merge:
    kept: int
    removed: tuple[int, ...]


def plan_dedupe(manager: BootManager,
                kind: OptionKind = OptionKind.BOOT) -> tuple[Plan, tuple[Merge, ...]]:
    """``boot dedupe``: entries that boot the same loader with the same data become one. The
    one earliest in the order list (else the lowest number) stays, preferring an active one:
    merging an active entry into an inactive one would stop that loader from booting. The
    others leave the order list, BootNext pointing at one of them points at the kept one, and
    they are deleted. References change before the deletes, so an interrupted run never
    leaves a dangling one.

    Only entries that start a loader file (a FILEPATH node) are merged. The firmware's own
    device entries are left alone: Lenovo firmware, for one, keeps two "PCI LAN" entries with
    the same VenMsg path, one active and hidden, one inactive, and recreates what it misses."""
    if not kind.writable:
        raise BootError(f"{kind.value}#### entries belong to the firmware; efikit only reads them")
    order = _order(manager, kind)
    groups: dict[object, list[BootEntry]] = {}
    for entry in manager.entries(kind):
        if entry.option is not None:
            key = loader_key(entry.option)
            if key.file_path:
                groups.setdefault(key, []).append(entry)
    merges: list[Merge] = []
    removed: dict[int, BootEntry] = {}
    for entries in groups.values():
        if len(entries) < 2:
            continue
        active = [e for e in entries if e.option is not None and e.option.active]
        kept = _by_order(active or entries, order)[0]
        others = [e for e in entries if e is not kept]
        merges.append(Merge(kept.number, tuple(sorted(e.number for e in others))))
        removed.update((e.number, e) for e in others)
    if not merges:
        return Plan(), ()
    changes: list[Change] = []
    if kind.order_name is not None and any(n in removed for n in order):
        changes.append(manager._order_change(kind, [n for n in order if n not in removed]))
    if kind is OptionKind.BOOT:
        try:
            boot_next = manager.boot_next()
        except Error:
            boot_next = None
        if boot_next in removed:
            kept_for = next(m.kept for m in merges if boot_next in m.removed)
            changes.append(manager._change("BootNext", encode_u16(kept_for, "BootNext")))
    for number in sorted(removed):
        entry = removed[number]
        changes.append(Change(entry.name, manager.vendor, entry.variable, None))
    return Plan(tuple(changes)), tuple(sorted(merges, key=lambda m: m.kept))
