"""ACPI device-path nodes (type 0x02)."""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import ClassVar

from efikit.errors import EncodeError

from .base import (
    TYPE_ACPI,
    Node,
    NodeLayoutError,
    check_payload_length,
    register_layout_text,
    register_node,
    register_text,
)
from .textparse import TextArgs, is_text_safe, keyword

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


_EISA_TEXT = re.compile(r"([@-~]{3})([0-9A-Fa-f]{4})")


def eisa_id_to_text(value: int) -> str:
    """'PNP0A03' for 0x0A0341D0: three 5-bit letters, then the product number in hex.
    (Bit 15 of the id has no place in this form.)"""
    letters = "".join(chr(((value >> shift) & 0x1F) + ord("A") - 1) for shift in (10, 5, 0))
    return f"{letters}{(value >> 16) & 0xFFFF:04X}"


def eisa_text_exact(value: int) -> bool:
    """True if eisa_id_to_text(value) reads back as ``value``."""
    return not value & 0x8000


def parse_eisa_id(text: str) -> int | None:
    """Inverse of eisa_id_to_text for 'AAA####', else None. Letters count by their low five
    bits, as in edk2, so lower case works and '@' is 0."""
    match = _EISA_TEXT.fullmatch(text)
    if match is None:
        return None
    letters = 0
    for char in match.group(1):
        letters = (letters << 5) | (ord(char) & 0x1F)
    return (int(match.group(2), 16) << 16) | letters


# The whole HID of each alias → its template (one lookup for the usual PciRoot(0x0)).
_ALIAS_TEXTS: dict[int, str] = {
    product << 16 | PNP_EISA_VENDOR: name + "(0x%X)" for product, name in ACPI_ALIASES.items()}


def acpi_text(fields: tuple[int, int]) -> str:
    """Acpi(HID,UID), or the alias edk2 prints for a PNP id (PciRoot(0x0), ...)."""
    hid, uid = fields
    alias = _ALIAS_TEXTS.get(hid)
    if alias is not None:
        return alias % uid
    if (hid & 0xFFFF) == PNP_EISA_VENDOR:
        return "Acpi(PNP%04X,0x%X)" % (hid >> 16, uid)
    return "Acpi(0x%08X,0x%X)" % (hid, uid)


_ACPI = struct.Struct("<II")


@register_node
@dataclass(frozen=True, slots=True)
class AcpiNode(Node):
    TYPE: ClassVar[int] = TYPE_ACPI
    SUBTYPE: ClassVar[int] = 0x01
    EXACT_LAYOUT: ClassVar[bool] = True

    hid: int
    uid: int = 0

    def payload(self) -> bytes:
        return _ACPI.pack(self.hid, self.uid)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, 8)
        hid, uid = _ACPI.unpack(payload)
        return cls(hid, uid)

    @property
    def is_pnp(self) -> bool:
        return (self.hid & 0xFFFF) == PNP_EISA_VENDOR

    def to_text(self, display_only: bool = False) -> str:
        return acpi_text((self.hid, self.uid))


register_layout_text(TYPE_ACPI, 0x01, _ACPI, acpi_text)


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


def _eisa_or_fail(args: TextArgs, index: int, name: str) -> int:
    value = parse_eisa_id(args.text(index))
    if value is None:
        raise args.fail(index, f"{name} as a compressed EISA id such as PNP0A03")
    return value


def _split_cstrings(data: bytes, count: int) -> tuple[str, ...]:
    """``count`` NUL-terminated ASCII strings filling ``data`` exactly, each one text-safe."""
    pieces = data.split(b"\0")
    if len(pieces) != count + 1 or pieces[-1] != b"":
        raise NodeLayoutError
    strings = tuple(piece.decode("ascii") for piece in pieces[:-1])
    if not all(is_text_safe(value) and "," not in value for value in strings):
        raise NodeLayoutError  # edk2 would print text that cannot be read back
    return strings


@register_node
@dataclass(frozen=True, slots=True)
class AcpiExNode(Node):
    """Expanded ACPI device: numeric HID/UID/CID plus the HID, UID and CID strings
    (stored in that order, each NUL-terminated). Printed as AcpiEx(...) or AcpiExp(...)."""

    TYPE: ClassVar[int] = TYPE_ACPI
    SUBTYPE: ClassVar[int] = 0x02
    _HEAD: ClassVar[struct.Struct] = struct.Struct("<III")

    hid: int
    cid: int
    uid: int
    hid_str: str = ""
    uid_str: str = ""
    cid_str: str = ""

    def payload(self) -> bytes:
        if not (eisa_text_exact(self.hid) and eisa_text_exact(self.cid)):
            raise EncodeError("AcpiEx HID and CID must be compressed EISA ids (bit 15 clear)")
        for value in (self.hid_str, self.uid_str, self.cid_str):
            if "," in value or not is_text_safe(value):
                raise EncodeError("AcpiEx strings must be printable ASCII without ',' and with "
                                  "balanced parentheses (keep other bytes in a RawNode)")
        strings = b"".join(s.encode("ascii") + b"\0"
                           for s in (self.hid_str, self.uid_str, self.cid_str))
        return self._HEAD.pack(self.hid, self.uid, self.cid) + strings

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) < cls._HEAD.size + 3:
            raise NodeLayoutError
        hid, uid, cid = cls._HEAD.unpack_from(payload)
        if not (eisa_text_exact(hid) and eisa_text_exact(cid)):
            raise NodeLayoutError  # the text form would lose bit 15
        hid_str, uid_str, cid_str = _split_cstrings(payload[cls._HEAD.size:], 3)
        return cls(hid, cid, uid, hid_str, uid_str, cid_str)

    def to_text(self, display_only: bool = False) -> str:
        hid_num = self.hid >> 16
        cid_num = self.cid >> 16
        if display_only:
            root = None
            if hid_num == 0x0A03 or (cid_num == 0x0A03 and hid_num != 0x0A08):
                root = "PciRoot"
            elif hid_num == 0x0A08 or cid_num == 0x0A08:
                root = "PcieRoot"
            if root is not None:
                return f"{root}({self.uid_str})" if self.uid == 0 else f"{root}(0x{self.uid:X})"
        hid_text = eisa_id_to_text(self.hid)
        cid_text = eisa_id_to_text(self.cid)
        # edk2 picks AcpiExp whatever the numeric UID; AcpiExp has no place for it, so a
        # non-zero UID keeps the lossless AcpiEx form in the full text.
        if (not self.hid_str and not self.cid_str and self.uid_str
                and (display_only or self.uid == 0)):
            return f"AcpiExp({hid_text},{cid_text if self.cid else '0'},{self.uid_str})"
        if display_only:
            return (f"AcpiEx({self.hid_str if self.hid == 0 else hid_text},"
                    f"{self.cid_str if self.cid == 0 else cid_text},"
                    f"{self.uid_str if self.uid == 0 else f'0x{self.uid:X}'})")
        return (f"AcpiEx({hid_text},{cid_text},0x{self.uid:X},{self.hid_str},{self.cid_str},"
                f"{self.uid_str})")


def _string_arg(args: TextArgs, index: int, name: str) -> str:
    value = args.ascii(index, name)
    if not is_text_safe(value):
        raise args.fail(index, f"{name} with balanced parentheses")
    return value


@keyword("AcpiEx")
def _parse_acpi_ex(args: TextArgs) -> Node:
    args.at_most(6)
    return AcpiExNode(hid=_eisa_or_fail(args, 0, "HID"), cid=_eisa_or_fail(args, 1, "CID"),
                      uid=args.uint(2, 32, name="UID"),
                      hid_str=_string_arg(args, 3, "HID string"),
                      cid_str=_string_arg(args, 4, "CID string"),
                      uid_str=_string_arg(args, 5, "UID string"))


@keyword("AcpiExp")
def _parse_acpi_exp(args: TextArgs) -> Node:
    args.at_most(3)
    cid_text = args.text(1)
    cid = 0 if cid_text in ("", "0") else _eisa_or_fail(args, 1, "CID (or 0)")
    return AcpiExNode(hid=_eisa_or_fail(args, 0, "HID"), cid=cid, uid=0,
                      uid_str=_string_arg(args, 2, "UID string"))


@register_node
@dataclass(frozen=True, slots=True)
class AcpiAdrNode(Node):
    """AcpiAdr(adr[,adr...]): _ADR values of a display output device (one or more)."""

    TYPE: ClassVar[int] = TYPE_ACPI
    SUBTYPE: ClassVar[int] = 0x03
    EXACT_LAYOUT: ClassVar[bool] = True

    addresses: tuple[int, ...]

    def payload(self) -> bytes:
        if not self.addresses:
            raise EncodeError("an AcpiAdr node needs at least one _ADR value")
        return struct.pack(f"<{len(self.addresses)}I", *self.addresses)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        addresses = _acpi_addresses(payload)
        if addresses is None:
            raise NodeLayoutError
        return cls(addresses)

    def to_text(self, display_only: bool = False) -> str:
        return acpi_adr_text(self.addresses)


def _acpi_addresses(payload: bytes) -> tuple[int, ...] | None:
    if not payload or len(payload) % 4:
        return None
    return struct.unpack(f"<{len(payload) // 4}I", payload)


ACPI_ADR_ONE_TEXT = "AcpiAdr(0x%X)"
_ONE_ADDRESS = struct.Struct("<I")


def acpi_adr_text(addresses: tuple[int, ...]) -> str:
    if len(addresses) == 1:
        return ACPI_ADR_ONE_TEXT % addresses
    return "AcpiAdr(" + ",".join(["0x%X" % value for value in addresses]) + ")"


def _acpi_adr_text_at(data: bytes, start: int, end: int, display_only: bool) -> str | None:
    if end - start == 4:  # the usual single display output
        return ACPI_ADR_ONE_TEXT % _ONE_ADDRESS.unpack_from(data, start)
    addresses = _acpi_addresses(data[start:end])
    return None if addresses is None else acpi_adr_text(addresses)


register_text(TYPE_ACPI, 0x03, _acpi_adr_text_at)


@keyword("AcpiAdr")
def _parse_acpi_adr(args: TextArgs) -> Node:
    values: list[int] = []
    for index in range(len(args)):
        if not args.present(index):
            # edk2 stops at the first empty value; refuse to drop values silently.
            if any(args.present(later) for later in range(index + 1, len(args))):
                raise args.fail(index, "a display device _ADR value, not an empty one")
            break
        values.append(args.uint(index, 32, name="_ADR value"))
    if 4 * len(values) > 0xFFFF - 4:
        raise args.fail(len(args) - 1, "fewer _ADR values (the node is limited to 64 KiB)")
    return AcpiAdrNode(tuple(values) or (0,))
