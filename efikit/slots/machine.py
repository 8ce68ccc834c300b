"""One A/B installation as efikit sees it: a variable store, the ESP, and the slot scheme.

Everything the status, the operations and recovery share lives here: which Boot#### entries
belong to which slot, the ``HD()`` node new entries get, and the load option of a slot.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from efikit.boot import BootEntry, BootManager
from efikit.codec.devpath import DevicePath, FilePathNode, HardDriveNode
from efikit.codec.loadoption import LoadOption
from efikit.codec.slot_rule import Slot
from efikit.disk.esp import EspFiles
from efikit.errors import Error, SlotError
from efikit.slots.esp_locate import EspLocation
from efikit.slots.scheme import SLOTS, SlotScheme
from efikit.vars.store import VariableStore


def entry_file_path(entry: BootEntry) -> str | None:
    """The file an entry starts (its FILEPATH nodes joined), or None."""
    if entry.option is None or entry.option.device_path is None:
        return None
    return entry.option.device_path.file_path()


def entry_hd(entry: BootEntry) -> HardDriveNode | None:
    if entry.option is None or entry.option.device_path is None:
        return None
    return next((n for n in entry.option.device_path.nodes if isinstance(n, HardDriveNode)), None)


@dataclass
class SlotMachine:
    """A store, optionally an ESP (its files and where it is on the disk), a scheme, and on a
    running system the kernel command line (a second opinion on the running slot)."""

    store: VariableStore
    esp: EspFiles | None = None
    location: EspLocation | None = None
    scheme: SlotScheme = field(default_factory=SlotScheme)
    kernel_cmdline: str | None = None

    def slot_from_cmdline(self) -> tuple[str, Slot] | None:
        """The command-line word naming the running slot, and the slot (see SlotScheme)."""
        if self.kernel_cmdline is None:
            return None
        return self.scheme.slot_in_cmdline(self.kernel_cmdline)

    def manager(self) -> BootManager:
        return BootManager(self.store)

    def slot_entries(self, manager: BootManager | None = None) -> dict[Slot, list[BootEntry]]:
        """Each slot's entries (decodable ones whose file is the slot's loader), by number."""
        return self.group_by_slot((manager or self.manager()).entries())

    def group_by_slot(self, entries: Iterable[BootEntry]) -> dict[Slot, list[BootEntry]]:
        """``slot_entries`` of entries already read (in their order)."""
        found: dict[Slot, list[BootEntry]] = {slot: [] for slot in SLOTS}
        for entry in entries:
            path = entry_file_path(entry)
            slot = self.scheme.slot_of_loader(path) if path else None
            if slot is not None:
                found[slot].append(entry)
        return found

    @staticmethod
    def primary(entries: list[BootEntry], order: tuple[int, ...] | list[int]) -> BootEntry | None:
        """The entry that counts: the first one in BootOrder, else the lowest number."""
        for number in order:
            for entry in entries:
                if entry.number == number:
                    return entry
        return entries[0] if entries else None

    def safe_order(self, manager: BootManager) -> tuple[int, ...]:
        try:
            return manager.order() or ()
        except Error:
            return ()

    def hd_for_new_entries(self, manager: BootManager | None = None) -> HardDriveNode:
        """The ESP's ``HD()`` node: from the GPT when the disk is known, else from an existing
        slot entry; SlotError when neither is available."""
        if self.location is not None:
            return self.location.hd_node()
        for entries in self.slot_entries(manager).values():
            for entry in entries:
                node = entry_hd(entry)
                if node is not None:
                    return node
        raise SlotError("cannot create a slot entry without the ESP's partition: give the disk "
                        "with --disk IMAGE_OR_DEVICE")

    def slot_option(self, slot: Slot, hd: HardDriveNode, active: bool = True) -> LoadOption:
        path = DevicePath((hd, FilePathNode(self.scheme.loader_path(slot))))
        return LoadOption.create(self.scheme.label(slot), path, active=active)

    def hd_matches(self, entry: BootEntry) -> bool | None:
        """Whether the entry's HD node is the ESP's (None when the ESP's place is unknown)."""
        if self.location is None:
            return None
        node = entry_hd(entry)
        return node is not None and self.location.matches(node)

    def loader_bytes(self, slot: Slot) -> bytes | None:
        if self.esp is None:
            return None
        return self.esp.read(self.scheme.loader_path(slot))

    def loader_present(self, slot: Slot) -> bool | None:
        if self.esp is None:
            return None
        return self.esp.size(self.scheme.loader_path(slot)) is not None
