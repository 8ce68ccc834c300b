"""The seed's slot rule, in the one place every layer uses it.

A loader finds its slot from its own file name: the last FILEPATH node of its LoadedImage
device path (or, for a plain path, the file name), case-insensitive suffix ``boot-a.efi`` → A,
``boot-b.efi`` → B, anything else → A (the default).

Cases the seed leaves open, decided here:
- Backslashes and forward slashes both separate directories.
- A path split over several FILEPATH nodes is judged by its last node only, exactly as the
  seed's loader does; callers pass that node's text (see ``slot_from_file_path_nodes``).
- Trailing NULs or surrounding whitespace are not part of the name.
- "Suffix" means the name ends with it: ``xboot-b.efi`` is B, like the seed's loader.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

Slot = Literal["A", "B"]

SLOT_SUFFIXES: dict[str, Slot] = {"boot-a.efi": "A", "boot-b.efi": "B"}
DEFAULT_SLOT: Slot = "A"


@dataclass(frozen=True)
class SlotFromName:
    """The slot a loader derives from its name; ``default`` is True when no suffix matched."""

    slot: Slot
    default: bool
    file_name: str

    def __str__(self) -> str:
        return f"{self.slot} (default)" if self.default else self.slot


def _last_component(path: str) -> str:
    cleaned = path.strip().rstrip("\x00").replace("/", "\\")
    return cleaned.rsplit("\\", 1)[-1]


def slot_from_file_name(path: str) -> SlotFromName:
    """Slot for a plain path (``\\EFI\\metropolis\\boot-b.efi``, ``esp/EFI/x/boot-a.efi``)."""
    name = _last_component(path)
    lowered = name.lower()
    for suffix, slot in SLOT_SUFFIXES.items():
        if lowered.endswith(suffix):
            return SlotFromName(slot, False, name)
    return SlotFromName(DEFAULT_SLOT, True, name)


def slot_from_file_path_nodes(file_path_nodes: Iterable[str]) -> SlotFromName:
    """Slot from the FILEPATH nodes of a device path: only the last node counts."""
    last = ""
    for node_text in file_path_nodes:
        last = node_text
    return slot_from_file_name(last)
