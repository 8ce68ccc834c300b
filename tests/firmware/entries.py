"""Boot entries in a varstore file, written and read with efikit (store + codec) only."""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.vars.edk2 import Edk2Store
from efikit.vars.store import EFI_GLOBAL_VARIABLE

from firmware import harness

BOOT_NAME = re.compile(r"^Boot([0-9A-F]{4})$")


def slot_path(esp_path: str) -> DevicePath:
    """The seed's entry form: HD(<ESP>)/<file>, a short-form path the firmware expands."""
    return DevicePath.from_text(f"{harness.ESP_HD_TEXT}/{esp_path}")


def slot_option(label: str, esp_path: str, optional_data: bytes = b"", active: bool = True) -> LoadOption:
    return LoadOption.create(label, slot_path(esp_path), optional_data, active=active)


def pack_u16s(numbers: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(numbers)}H", *numbers)


def unpack_u16s(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}H", data[: len(data) // 2 * 2]))


def write_boot_config(
    varstore: Path,
    entries: Mapping[int, LoadOption],
    order: Sequence[int] | None,
    boot_next: int | None = None,
) -> Edk2Store:
    """Writes Boot#### entries, BootOrder (unless None) and BootNext (if given) in one batch."""
    store = Edk2Store.open(varstore)
    with store.batch():
        for number, option in entries.items():
            store.set(f"Boot{number:04X}", EFI_GLOBAL_VARIABLE, option.to_bytes())
        if order is not None:
            store.set("BootOrder", EFI_GLOBAL_VARIABLE, pack_u16s(order))
        if boot_next is not None:
            store.set("BootNext", EFI_GLOBAL_VARIABLE, pack_u16s([boot_next]))
    return store


@dataclass(frozen=True)
class BootConfig:
    entries: dict[int, LoadOption]
    raw: dict[int, bytes]
    order: list[int] | None
    boot_next: int | None


def read_boot_config(varstore: Path) -> BootConfig:
    store = Edk2Store.open(varstore)
    entries: dict[int, LoadOption] = {}
    raw: dict[int, bytes] = {}
    order: list[int] | None = None
    boot_next: int | None = None
    for name in store.list():
        if name.vendor != EFI_GLOBAL_VARIABLE:
            continue
        var = store.get(name.name, name.vendor)
        assert var is not None
        match = BOOT_NAME.match(name.name)
        if match:
            number = int(match.group(1), 16)
            raw[number] = var.data
            entries[number] = LoadOption.from_bytes(var.data)
        elif name.name == "BootOrder":
            order = unpack_u16s(var.data)
        elif name.name == "BootNext":
            boot_next = unpack_u16s(var.data)[0]
    return BootConfig(entries, raw, order, boot_next)
