"""BIOS Boot Specification device-path nodes (type 0x05): legacy boot entries."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from efikit.errors import EncodeError

from .base import TYPE_BBS, Node, NodeLayoutError, register_node
from .textparse import TextArgs, is_text_safe, keyword

BBS_TYPE_FLOPPY = 0x01
BBS_TYPE_HARDDRIVE = 0x02
BBS_TYPE_CDROM = 0x03
BBS_TYPE_PCMCIA = 0x04
BBS_TYPE_USB = 0x05
BBS_TYPE_EMBEDDED_NETWORK = 0x06
BBS_TYPE_BEV = 0x80
BBS_TYPE_UNKNOWN = 0xFF

BBS_TYPE_NAMES: dict[int, str] = {
    BBS_TYPE_FLOPPY: "Floppy",
    BBS_TYPE_HARDDRIVE: "HD",
    BBS_TYPE_CDROM: "CDROM",
    BBS_TYPE_PCMCIA: "PCMCIA",
    BBS_TYPE_USB: "USB",
    BBS_TYPE_EMBEDDED_NETWORK: "Network",
}


@register_node
@dataclass(frozen=True, slots=True)
class BbsNode(Node):
    """BBS(type,description,flags): a legacy BIOS boot device with its ASCII description."""

    TYPE: ClassVar[int] = TYPE_BBS
    SUBTYPE: ClassVar[int] = 0x01
    _HEAD: ClassVar[struct.Struct] = struct.Struct("<HH")

    device_type: int
    description: str
    status_flags: int = 0

    def payload(self) -> bytes:
        if not is_text_safe(self.description):
            raise EncodeError("a BBS description must be printable ASCII with balanced "
                              "parentheses (keep other bytes in a RawNode)")
        return (self._HEAD.pack(self.device_type, self.status_flags)
                + self.description.encode("ascii") + b"\0")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) < cls._HEAD.size + 1 or payload[-1] != 0:
            raise NodeLayoutError
        device_type, flags = cls._HEAD.unpack_from(payload)
        description = payload[cls._HEAD.size:-1].decode("ascii")
        # A description with a NUL inside or unbalanced parentheses cannot be read back
        # from the text: such nodes stay raw.
        if not is_text_safe(description):
            raise NodeLayoutError
        return cls(device_type, description, flags)

    def to_text(self, display_only: bool = False) -> str:
        name = BBS_TYPE_NAMES.get(self.device_type) or f"0x{self.device_type:X}"
        if display_only:
            return f"BBS({name},{self.description})"
        return f"BBS({name},{self.description},0x{self.status_flags:X})"


@keyword("BBS")
def _parse_bbs(args: TextArgs) -> Node:
    choices = {label: value for value, label in BBS_TYPE_NAMES.items()}
    device_type = args.choice(0, choices, 16, name="device type")
    if len(args) <= 2:
        flags = 0
        description = args.raw(1)
    else:
        # The description may hold commas; the flags are the last argument.
        last = len(args) - 1
        flags = args.uint(last, 16, name="status flags")
        description = ",".join(args.values[1:last])
    if not is_text_safe(description):
        raise args.fail(1, "a description in printable ASCII with balanced parentheses")
    return BbsNode(device_type, description, flags)


@keyword("BIOS")
def _parse_libefivar_bios(args: TextArgs) -> Node:
    """Old libefivar/efibootmgr spelling: BIOS(type,status,HEX) with the description's
    bytes, NUL included, in hex (e.g. 'BIOS(2,0,00)' for an empty description)."""
    args.at_most(3)
    device_type = args.uint(0, 16, name="device type")
    flags = args.uint(1, 16, name="status flags")
    raw = args.hex_bytes(2, "description")
    if not raw.endswith(b"\0") or b"\0" in raw[:-1]:
        raise args.fail(2, "the description's bytes in hex, ending with its NUL (00)")
    description = raw[:-1].decode("latin-1")
    if not is_text_safe(description):
        raise args.fail(2, "a description in printable ASCII with balanced parentheses")
    return BbsNode(device_type, description, flags)
