"""ACPI device-path nodes (type 0x02)."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .base import TYPE_ACPI, Node, check_payload_length, register_node
from .textparse import TextArgs, keyword

PNP_EISA_VENDOR = 0x41D0  # "PNP" compressed into the low 16 bits of an EISA id

# EISA product number → edk2's alias keyword for Acpi(PNPxxxx,uid)
ACPI_ALIASES: dict[int, str] = {
    0x0A03: "PciRoot",
    0x0A08: "PcieRoot",
    0x0604: "Floppy",
    0x0301: "Keyboard",
    0x0501: "Serial",
    0x0401: "ParallelPort",
}


def eisa_id_to_text(value: int) -> str:
    """'PNP0A03' for 0x0A0341D0: three 5-bit letters, then the product number in hex."""
    letters = "".join(chr(((value >> shift) & 0x1F) + ord("A") - 1) for shift in (10, 5, 0))
    return f"{letters}{(value >> 16) & 0xFFFF:04X}"


def parse_eisa_id(text: str) -> int | None:
    """Inverse of eisa_id_to_text for 'AAA####' (any letter case), else None."""
    if len(text) != 7 or not all(c.isalpha() or c == "@" for c in text[:3]):
        return None
    try:
        product = int(text[3:], 16)
    except ValueError:
        return None
    letters = 0
    for char in text[:3]:
        letters = (letters << 5) | ((ord(char.upper()) - ord("@")) & 0x1F)
    return (product << 16) | letters


@register_node
@dataclass(frozen=True, slots=True)
class AcpiNode(Node):
    TYPE: ClassVar[int] = TYPE_ACPI
    SUBTYPE: ClassVar[int] = 0x01

    hid: int
    uid: int = 0

    def payload(self) -> bytes:
        return struct.pack("<II", self.hid, self.uid)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, 8)
        hid, uid = struct.unpack("<II", payload)
        return cls(hid, uid)

    @property
    def is_pnp(self) -> bool:
        return (self.hid & 0xFFFF) == PNP_EISA_VENDOR

    def to_text(self, display_only: bool = False) -> str:
        if self.is_pnp:
            product = self.hid >> 16
            alias = ACPI_ALIASES.get(product)
            if alias:
                return f"{alias}(0x{self.uid:X})"
            return f"Acpi(PNP{product:04X},0x{self.uid:X})"
        return f"Acpi(0x{self.hid:08X},0x{self.uid:X})"


def parse_hid(args: TextArgs, index: int) -> int:
    """An EISA id ('PNP0A03') or a number ('0x000222F0', which edk2 prints for non-PNP ids)."""
    raw = args.text(index)
    eisa = parse_eisa_id(raw)
    if eisa is not None:
        return eisa
    if raw[:2].lower() == "0x":
        return args.uint(index, 32, name="HID")
    raise args.fail(index, "an EISA id such as PNP0A03, or a number with 0x")


@keyword("Acpi")
def _parse_acpi(args: TextArgs) -> Node:
    args.at_most(2)
    return AcpiNode(parse_hid(args, 0), args.uint(1, 32, name="UID"))


def _register_alias(product: int, name: str) -> None:
    @keyword(name)
    def _parse(args: TextArgs) -> Node:
        args.at_most(1)
        return AcpiNode((product << 16) | PNP_EISA_VENDOR, args.uint(0, 32, name="UID"))


for _product, _name in ACPI_ALIASES.items():
    _register_alias(_product, _name)
