"""The boot manager's variables over any VariableStore.

Boot####/Driver####/SysPrep#### entries (PlatformRecovery#### read only), their order lists,
BootNext, BootCurrent and Timeout. Reading never fails because of one bad entry: an entry that
cannot be read or decoded is returned with ``error`` set. Changes are computed as a ``Plan``
first (see ``efikit.boot.changes``) and written by ``apply`` in one ``store.batch()``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from efikit.boot.changes import Change, Plan
from efikit.boot.numbers import (
    MAX_NUMBER,
    OptionKind,
    decode_order,
    decode_u16,
    encode_order,
    encode_u16,
    format_number,
    parse_option_name,
)
from efikit.boot.summary import OptionSummary, summarize
from efikit.errors import BootError, Error, UsageError
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    EFI_GLOBAL_VARIABLE,
    Variable,
    VariableAttributes,
    VariableStore,
)

if TYPE_CHECKING:  # the typed codec loads lazily: `boot list` without -v never needs it
    from efikit.codec.devpath import DevicePath
    from efikit.codec.loadoption import LoadOption, LoadOptionAttributes


@dataclass(frozen=True)
class BootEntry:
    """One load-option variable. ``option`` is None (and ``error`` says why) when the variable
    could not be read or decoded; it is also None when it was read with ``decode=False``, which
    fills only ``summary`` (label and flags, device paths framing-checked, not decoded)."""

    kind: OptionKind
    number: int
    name: str  # as stored: may be lower-case hex (Boot000a)
    variable: Variable | None
    option: LoadOption | None
    error: str | None = None
    summary: OptionSummary | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def canonical_name(self) -> str:
        return self.kind.variable_name(self.number)


@dataclass(frozen=True)
class BootStatus:
    """Everything ``boot list`` shows. ``problems`` lists variables that could not be read or
    decoded (each also visible as an entry with ``error`` where it is an entry)."""

    kind: OptionKind
    entries: tuple[BootEntry, ...]
    order: tuple[int, ...] | None
    boot_next: int | None
    boot_current: int | None
    timeout: int | None
    problems: tuple[str, ...] = field(default=())


class BootManager:
    """Boot-manager operations on ``store`` (variables under ``vendor``, normally EFI global)."""

    def __init__(self, store: VariableStore, vendor: uuid.UUID = EFI_GLOBAL_VARIABLE) -> None:
        self.store = store
        self.vendor = vendor

    # ---- reading ------------------------------------------------------------------------
    def _option_names(self, kind: OptionKind) -> dict[int, str]:
        """number -> stored variable name, for every ``kind`` variable under our vendor.
        If both ``Boot000A`` and ``Boot000a`` exist, the upper-case spelling wins."""
        found: dict[int, str] = {}
        for key in self.store.list():
            if key.vendor != self.vendor:
                continue
            parsed = parse_option_name(key.name)
            if parsed is None or parsed[0] is not kind:
                continue
            number = parsed[1]
            if number not in found or key.name == kind.variable_name(number):
                found[number] = key.name
        return found

    def numbers(self, kind: OptionKind = OptionKind.BOOT) -> list[int]:
        """Numbers of existing ``kind`` variables, ascending (nothing decoded)."""
        return sorted(self._option_names(kind))

    def _load(self, kind: OptionKind, number: int, name: str,
              decode: bool = True) -> BootEntry:
        try:
            variable = self.store.get(name, self.vendor)
        except Error as exc:
            return BootEntry(kind, number, name, None, None, f"cannot read: {exc}")
        if variable is None:
            return BootEntry(kind, number, name, None, None, "vanished while reading")
        try:
            if not decode:
                return BootEntry(kind, number, name, variable, None,
                                 summary=summarize(variable.data))
            from efikit.codec.loadoption import LoadOption  # noqa: PLC0415

            option = LoadOption.from_bytes(variable.data)
        except Error as exc:
            return BootEntry(kind, number, name, variable, None, f"cannot decode: {exc}")
        summary = OptionSummary(int(option.attributes), option.description,
                                len(option.optional_data))
        return BootEntry(kind, number, name, variable, option, summary=summary)

    def entries(self, kind: OptionKind = OptionKind.BOOT, *,
                decode: bool = True) -> list[BootEntry]:
        """Every ``kind`` entry by number, broken ones included (with ``error`` set).
        ``decode=False`` reads labels and flags only (``summary``), much faster to start."""
        names = self._option_names(kind)
        return [self._load(kind, n, names[n], decode) for n in sorted(names)]

    def find(self, number: int, kind: OptionKind = OptionKind.BOOT, *,
             decode: bool = True) -> BootEntry | None:
        """The entry, or None if no such variable exists (it may still be broken)."""
        names = self._option_names(kind)
        if number not in names:
            return None
        return self._load(kind, number, names[number], decode)

    def entry(self, number: int, kind: OptionKind = OptionKind.BOOT) -> BootEntry:
        """The entry (possibly broken); BootError if there is no such variable."""
        found = self.find(number, kind)
        if found is None:
            raise BootError(f"no {kind.variable_name(number)} entry")
        return found

    def option(self, number: int, kind: OptionKind = OptionKind.BOOT) -> LoadOption:
        """The decoded load option; BootError if it is missing or undecodable."""
        found = self.entry(number, kind)
        if found.option is None:
            raise BootError(f"{found.name}: {found.error}")
        return found.option

    def _get(self, name: str) -> Variable | None:
        return self.store.get(name, self.vendor)

    def order(self, kind: OptionKind = OptionKind.BOOT) -> tuple[int, ...] | None:
        """BootOrder (or DriverOrder/SysPrepOrder); None when the variable does not exist.
        Raises DecodeError for an odd-length payload."""
        name = _order_name(kind)
        var = self._get(name)
        return None if var is None else decode_order(var.data)

    def _u16(self, name: str) -> int | None:
        var = self._get(name)
        return None if var is None else decode_u16(var.data, name)

    def boot_next(self) -> int | None:
        return self._u16("BootNext")

    def boot_current(self) -> int | None:
        return self._u16("BootCurrent")

    def timeout(self) -> int | None:
        return self._u16("Timeout")

    def status(self, kind: OptionKind = OptionKind.BOOT, *, decode: bool = True) -> BootStatus:
        """All of it, never raising for one bad variable (reported in ``problems``)."""
        problems: list[str] = []
        entries = self.entries(kind, decode=decode)
        problems.extend(f"{e.name}: {e.error}" for e in entries if e.error)
        order: tuple[int, ...] | None = None
        if kind.order_name:
            try:
                order = self.order(kind)
            except Error as exc:
                problems.append(f"{kind.order_name}: {exc}")
        values: dict[str, int | None] = {"BootNext": None, "BootCurrent": None, "Timeout": None}
        if kind is OptionKind.BOOT:
            for name in values:
                try:
                    values[name] = self._u16(name)
                except Error as exc:
                    problems.append(f"{name}: {exc}")
        return BootStatus(kind, tuple(entries), order, values["BootNext"],
                          values["BootCurrent"], values["Timeout"], tuple(problems))

    # ---- planning changes -----------------------------------------------------------------
    def _change(self, name: str, data: bytes | None,
                attributes: VariableAttributes | None = None) -> Change:
        """Set ``name`` to ``data`` (None: delete), keeping its attributes unless given."""
        before = self._get(name)
        if data is None:
            return Change(name, self.vendor, before, None)
        if attributes is None:
            attributes = before.attributes if before is not None else DEFAULT_ATTRIBUTES
        return Change(name, self.vendor, before, Variable(name, self.vendor, attributes, data))

    def _order_for_change(self, kind: OptionKind) -> list[int]:
        try:
            return list(self.order(kind) or ())
        except Error as exc:
            raise BootError(f"{_order_name(kind)} is unreadable ({exc}); replace it first with "
                            "`efikit boot order set`") from None

    def _order_change(self, kind: OptionKind, numbers: list[int]) -> Change:
        return self._change(_order_name(kind), encode_order(numbers))

    def free_number(self, kind: OptionKind = OptionKind.BOOT) -> int:
        """Lowest number that is neither an existing variable nor referenced by the order list
        (nor by BootNext)."""
        used = set(self._option_names(kind))
        if kind.order_name:
            try:
                used.update(self.order(kind) or ())
            except Error:
                pass
        if kind is OptionKind.BOOT:
            try:
                nxt = self.boot_next()
            except Error:
                nxt = None
            if nxt is not None:
                used.add(nxt)
        for number in range(MAX_NUMBER + 1):
            if number not in used:
                return number
        raise BootError(f"no free {kind.value}#### number left")

    def plan_add(self, option: LoadOption, kind: OptionKind = OptionKind.BOOT, *,
                 number: int | None = None, first: bool = False,
                 add_to_order: bool = True) -> tuple[int, Plan]:
        """Create a new entry (at the lowest free number unless ``number`` is given) and add it
        to the end of the order list (or the front with ``first``)."""
        _check_writable(kind)
        _check_option(option)
        if number is None:
            number = self.free_number(kind)
        elif number in self._option_names(kind):
            raise BootError(f"{kind.variable_name(number)} already exists")
        changes = [self._change(kind.variable_name(number), option.to_bytes(), DEFAULT_ATTRIBUTES)]
        if add_to_order and kind.order_name:
            order = [n for n in self._order_for_change(kind) if n != number]
            order = [number, *order] if first else [*order, number]
            changes.append(self._order_change(kind, order))
        return number, Plan(tuple(changes))

    def plan_edit(self, number: int, kind: OptionKind = OptionKind.BOOT, *,
                  description: str | None = None,
                  device_path: DevicePath | None = None,
                  optional_data: bytes | None = None,
                  attributes: LoadOptionAttributes | None = None,
                  flags: dict[LoadOptionAttributes, bool] | None = None) -> Plan:
        """Change an entry in place: only the given fields change, everything else (other
        device paths, unknown attribute bits, the variable's own attributes) is kept."""
        _check_writable(kind)
        found = self.entry(number, kind)
        if found.option is None:
            raise BootError(f"{found.name}: {found.error}; it can only be deleted or replaced "
                            "(boot rm, then boot add)")
        option = found.option
        if description is not None:
            option = replace(option, description=description)
        if device_path is not None:
            option = replace(option, file_paths=(device_path, *option.file_paths[1:]))
        if optional_data is not None:
            option = replace(option, optional_data=optional_data)
        if attributes is not None:
            option = replace(option, attributes=type(option.attributes)(int(attributes)))
        for flag, on in (flags or {}).items():
            option = option.with_flag(flag, on)
        _check_option(option)
        return Plan((self._change(found.name, option.to_bytes()),))

    def plan_replace(self, number: int, option: LoadOption,
                     kind: OptionKind = OptionKind.BOOT) -> Plan:
        """Make an existing entry exactly ``option`` (the variable's own attributes kept)."""
        _check_writable(kind)
        _check_option(option)
        found = self.entry(number, kind)
        return Plan((self._change(found.name, option.to_bytes()),))

    def plan_set_flag(self, number: int, flag: LoadOptionAttributes, on: bool,
                      kind: OptionKind = OptionKind.BOOT) -> Plan:
        return self.plan_edit(number, kind, flags={flag: on})

    def plan_delete(self, number: int, kind: OptionKind = OptionKind.BOOT) -> Plan:
        """Delete the entry (even an undecodable one), drop it from the order list, and clear
        BootNext if it points there."""
        _check_writable(kind)
        found = self.entry(number, kind)
        # references go first: on efivarfs (no cross-variable atomicity) a crash in between
        # leaves an unreferenced entry, never a BootOrder/BootNext pointing at nothing
        changes: list[Change] = []
        if kind.order_name:
            try:
                order = list(self.order(kind) or ())
            except Error:
                order = None  # an unreadable order list must not block the delete
            if order is not None and number in order:
                changes.append(self._order_change(kind, [n for n in order if n != number]))
        if kind is OptionKind.BOOT:
            try:
                nxt = self.boot_next()
            except Error:
                nxt = None
            if nxt == number:
                changes.append(self._change("BootNext", None))
        changes.append(Change(found.name, self.vendor, found.variable, None,
                              unreadable=found.variable is None))
        return Plan(tuple(changes))

    # order lists
    def _check_exist(self, numbers: list[int], kind: OptionKind, force: bool) -> None:
        missing = sorted(set(numbers) - set(self._option_names(kind)))
        if missing and not force:
            raise BootError("no entry for " + ", ".join(kind.variable_name(n) for n in missing)
                            + " (use --force to reference it anyway)")

    def plan_order_set(self, numbers: list[int], kind: OptionKind = OptionKind.BOOT, *,
                       force: bool = False) -> Plan:
        _check_writable(kind)
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise UsageError("duplicate entry number(s) in the order: "
                             + ", ".join(format_number(n) for n in duplicates))
        self._check_exist(numbers, kind, force)
        return Plan((self._order_change(kind, numbers),))

    def plan_order_move(self, number: int, position: int,
                        kind: OptionKind = OptionKind.BOOT) -> Plan:
        """Move (or insert) ``number`` to 0-based ``position``; negative counts from the end
        (-1 = last). Positions beyond the list are clamped."""
        _check_writable(kind)
        self._check_exist([number], kind, force=False)
        order = [n for n in self._order_for_change(kind) if n != number]
        if position < 0:
            position = len(order) + 1 + position
        position = max(0, min(position, len(order)))
        order.insert(position, number)
        return Plan((self._order_change(kind, order),))

    def plan_order_dedupe(self, kind: OptionKind = OptionKind.BOOT) -> Plan:
        """Keep the first occurrence of each number."""
        _check_writable(kind)
        seen: set[int] = set()
        order = []
        for n in self._order_for_change(kind):
            if n not in seen:
                seen.add(n)
                order.append(n)
        return Plan((self._order_change(kind, order),))

    def plan_order_prune(self, kind: OptionKind = OptionKind.BOOT) -> Plan:
        """Drop numbers that have no variable (undecodable entries exist, so they stay)."""
        _check_writable(kind)
        existing = set(self._option_names(kind))
        order = [n for n in self._order_for_change(kind) if n in existing]
        return Plan((self._order_change(kind, order),))

    # BootNext, Timeout
    def plan_next(self, number: int | None, *, force: bool = False) -> Plan:
        """Set BootNext (None clears it). Refuses a number with no Boot#### unless ``force``."""
        if number is None:
            if self._get("BootNext") is None:
                return Plan()
            return Plan((self._change("BootNext", None),))
        self._check_exist([number], OptionKind.BOOT, force)
        return Plan((self._change("BootNext", encode_u16(number, "BootNext")),))

    def plan_timeout(self, seconds: int | None) -> Plan:
        """Set Timeout (None deletes it: the firmware's default applies)."""
        if seconds is None:
            if self._get("Timeout") is None:
                return Plan()
            return Plan((self._change("Timeout", None),))
        return Plan((self._change("Timeout", encode_u16(seconds, "Timeout")),))

    def apply(self, plan: Plan) -> None:
        plan.apply(self.store)


def _order_name(kind: OptionKind) -> str:
    name = kind.order_name
    if name is None:
        raise BootError(f"{kind.value}#### entries have no order list")
    return name


def _check_writable(kind: OptionKind) -> None:
    if not kind.writable:
        raise BootError(f"{kind.value}#### entries belong to the firmware; efikit only reads them")


def _check_option(option: LoadOption) -> None:
    if not option.file_paths or not option.file_paths[0].nodes:
        raise UsageError("a load option needs a non-empty device path")
    option.to_bytes()  # raises EncodeError now rather than in the middle of a batch
