"""Naming one entry by its number, its label or its loader path: the one resolver every
command uses.

``--label TEXT`` matches the description exactly; ``--path LOADER`` matches the loader's file
path (the FILEPATH nodes of the first device path, joined) case-insensitively, with forward
or back slashes and the leading backslash optional. A name that matches no entry, or more
than one, is refused; an ambiguous one lists what it matched.
"""
from __future__ import annotations

from dataclasses import dataclass

from efikit.boot.identity import loader_path, normalize_loader_path
from efikit.boot.manager import BootEntry, BootManager
from efikit.boot.numbers import OptionKind, parse_number
from efikit.errors import BootError, UsageError


@dataclass(frozen=True)
class EntrySelector:
    """How the user named an entry: exactly one of the three fields is set."""

    number: str | None = None  # as typed: 0001, 1, Boot0001
    label: str | None = None
    path: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.number, self.label, self.path))

    def describe(self, kind: OptionKind) -> str:
        if self.label is not None:
            return f"{kind.value}#### entry labelled {self.label!r}"
        if self.path is not None:
            return f"{kind.value}#### entry for loader {self.path!r}"
        return f"{kind.value}{self.number}"


def matches(entry: BootEntry, selector: EntrySelector) -> bool:
    """Does a decoded ``entry`` answer to the label or path of ``selector``?"""
    option = entry.option
    if option is None:
        return False
    if selector.label is not None:
        return option.description == selector.label
    if selector.path is not None:
        first = option.device_path
        return first is not None and loader_path(first) == normalize_loader_path(selector.path)
    return False


def select_entry(manager: BootManager, selector: EntrySelector,
                 kind: OptionKind = OptionKind.BOOT, *, missing_ok: bool = False) -> int | None:
    """The number of the one entry ``selector`` names. A number is returned as given (the
    command checks that it exists); a label or path must match exactly one decodable entry.
    None only with ``missing_ok`` when a label or path matches nothing."""
    given = [v for v in (selector.number, selector.label, selector.path) if v is not None]
    if len(given) != 1:
        raise UsageError("name one entry: give its number N, --label TEXT or --path LOADER"
                         if not given else "give only one of N, --label and --path")
    if selector.number is not None:
        return parse_number(selector.number, kind)
    if selector.path is not None and not normalize_loader_path(selector.path).strip("\\"):
        raise UsageError("--path is empty")
    found = [e for e in manager.entries(kind) if matches(e, selector)]
    if len(found) == 1:
        return found[0].number
    if len(found) > 1:
        raise UsageError(f"{len(found)} entries match: "
                         + ", ".join(f"{e.name} ({e.option.description if e.option else ''})"
                                     for e in found)
                         + "; name one by its number")
    if missing_ok:
        return None
    hint = ""
    if selector.label is not None:
        near = [e.name for e in manager.entries(kind) if e.option is not None
                and e.option.description.casefold() == selector.label.casefold()]
        if near:
            hint = f" (labels differ only in case: {', '.join(near)})"
    raise BootError(f"no {selector.describe(kind)}{hint}")
