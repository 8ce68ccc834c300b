"""The A/B slot scheme: where the loaders live and what their entries are called.

The defaults are the seed's: loaders ``\\EFI\\metropolis\\boot-a.efi`` / ``boot-b.efi``,
entries "Metropolis Slot A" / "Metropolis Slot B", a fallback copy at ``\\EFI\\BOOT\\BOOTX64.EFI``
that always boots slot A. The slot of a loader comes from its file name
(``efikit.codec.slot_rule``), the one rule the PE inspector uses too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from efikit.codec.slot_rule import Slot, slot_from_file_name
from efikit.errors import UsageError
from efikit.pe.uki import DEFAULT_SLOT_PLACEHOLDER, slot_replacement

SLOTS: tuple[Slot, Slot] = ("A", "B")


def other_slot(slot: Slot) -> Slot:
    return "B" if slot == "A" else "A"


def parse_slot(text: str) -> Slot:
    value = text.strip().upper()
    if value == "A":
        return "A"
    if value == "B":
        return "B"
    raise UsageError(f"slot must be A or B, not {text!r}")


@dataclass(frozen=True)
class SlotScheme:
    """Names and paths of an A/B installation."""

    vendor: str = "metropolis"
    name: str = "Metropolis"
    fallback_loader: str = "\\EFI\\BOOT\\BOOTX64.EFI"
    #: what the loader fills in per slot on the kernel command line ("" for nothing)
    cmdline_placeholder: str = DEFAULT_SLOT_PLACEHOLDER

    def loader_path(self, slot: Slot) -> str:
        """ESP path of a slot's loader, e.g. ``\\EFI\\metropolis\\boot-b.efi``."""
        return f"\\EFI\\{self.vendor}\\boot-{slot.lower()}.efi"

    def label(self, slot: Slot) -> str:
        return f"{self.name} Slot {slot}"

    @property
    def vendor_dir(self) -> str:
        return f"\\EFI\\{self.vendor}"

    @property
    def csv_path(self) -> str:
        """Where shim's fallback looks for this vendor's entries (``BOOTX64.CSV``)."""
        return f"{self.vendor_dir}\\BOOTX64.CSV"

    def is_fallback(self, esp_path: str) -> bool:
        wanted = esp_path.replace("/", "\\").lower().rstrip("\x00")
        if not wanted.startswith("\\"):
            wanted = "\\" + wanted
        return wanted == self.fallback_loader.lower()

    def slot_of_loader(self, esp_path: str) -> Slot | None:
        """The slot whose loader is ``esp_path`` (case-insensitive, either slash), else None.

        Unlike the loader's own rule (which defaults to A), this is a strict match: an entry
        only belongs to the scheme if it points at one of the scheme's two loaders.
        """
        wanted = esp_path.replace("/", "\\").lower().rstrip("\x00")
        if not wanted.startswith("\\"):
            wanted = "\\" + wanted
        for slot in SLOTS:
            if wanted == self.loader_path(slot).lower():
                return slot
        return None

    @staticmethod
    def slot_by_file_name(esp_path: str) -> Slot:
        """What a loader at ``esp_path`` will itself conclude (default A)."""
        return slot_from_file_name(esp_path).slot

    def slot_in_cmdline(self, cmdline: str) -> tuple[str, Slot] | None:
        """The word of a kernel command line that names a slot (the placeholder filled in,
        e.g. ``root=PARTLABEL=METROPOLIS-SYSTEM-B``) and that slot; None when no word does,
        or words name both slots."""
        if not self.cmdline_placeholder:
            return None
        found: dict[Slot, str] = {}
        for slot in SLOTS:
            token = re.escape(slot_replacement(self.cmdline_placeholder, slot))
            pattern = re.compile(rf"(?<![A-Za-z0-9]){token}(?![A-Za-z0-9])", re.IGNORECASE)
            word = next((w for w in cmdline.split() if pattern.search(w)), None)
            if word is not None:
                found[slot] = word
        if len(found) != 1:
            return None
        slot, word = next(iter(found.items()))
        return word, slot
