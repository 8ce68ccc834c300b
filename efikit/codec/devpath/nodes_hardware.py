"""Hardware device-path nodes (type 0x01) that boot entries use: Pci and VenHw (PcCard,
MemoryMapped, Ctrl and BMC are in nodes_hardware_misc)."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .base import TYPE_HARDWARE, Node, check_payload_length, register_layout_text, register_node
from .textparse import TextArgs, keyword
from .vendor import VendorNode, parse_vendor


_PCI = struct.Struct("<BB")


def pci_text(fields: tuple[int, int]) -> str:
    """Pci(Device,Function) from (function, device), the payload's order."""
    function, device = fields
    return "Pci(0x%X,0x%X)" % (device, function)  # %-formatting: twice as fast as f"{:X}"


@register_node
@dataclass(frozen=True, slots=True)
class PciNode(Node):
    TYPE: ClassVar[int] = TYPE_HARDWARE
    SUBTYPE: ClassVar[int] = 0x01
    EXACT_LAYOUT: ClassVar[bool] = True

    device: int
    function: int

    def payload(self) -> bytes:
        return bytes((self.function, self.device))

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, 2)
        return cls(device=payload[1], function=payload[0])

    def to_text(self, display_only: bool = False) -> str:
        return pci_text((self.function, self.device))


register_layout_text(TYPE_HARDWARE, 0x01, _PCI, pci_text)


@keyword("Pci")
def _parse_pci(args: TextArgs) -> Node:
    args.at_most(2)
    return PciNode(device=args.uint(0, 8, name="device"), function=args.uint(1, 8, name="function"))


@keyword("VenHw")
def _parse_venhw(args: TextArgs) -> VendorNode:
    return parse_vendor(TYPE_HARDWARE, args)
