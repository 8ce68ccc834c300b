"""Hardware device-path nodes (type 0x01) rarely seen in boot entries: PcCard,
MemoryMapped, Ctrl and BMC. Kept apart from nodes_hardware so that decoding a Pci node does
not build these classes (see lazy_index.py).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .base import TYPE_HARDWARE, FixedLayoutNode, Node, register_node
from .textparse import TextArgs, keyword

# BMC interface types (IPMI): what the numbers mean; edk2 prints them as numbers.
BMC_INTERFACE_UNKNOWN = 0
BMC_INTERFACE_KCS = 1
BMC_INTERFACE_SMIC = 2
BMC_INTERFACE_BT = 3


@register_node
@dataclass(frozen=True, slots=True)
class PcCardNode(FixedLayoutNode):
    """PcCard(function): a PC Card (PCMCIA) function number."""

    TYPE: ClassVar[int] = TYPE_HARDWARE
    SUBTYPE: ClassVar[int] = 0x02
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<B")

    function: int

    def to_text(self, display_only: bool = False) -> str:
        return f"PcCard(0x{self.function:X})"


@keyword("PcCard")
def _parse_pccard(args: TextArgs) -> Node:
    args.at_most(1)
    return PcCardNode(args.uint(0, 8, name="function number"))


@register_node
@dataclass(frozen=True, slots=True)
class MemoryMappedNode(FixedLayoutNode):
    """MemoryMapped(type,start,end): a memory range of an EFI memory type."""

    TYPE: ClassVar[int] = TYPE_HARDWARE
    SUBTYPE: ClassVar[int] = 0x03
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQQ")

    memory_type: int
    start_address: int
    end_address: int

    def to_text(self, display_only: bool = False) -> str:
        return (f"MemoryMapped(0x{self.memory_type:X},0x{self.start_address:X},"
                f"0x{self.end_address:X})")


@keyword("MemoryMapped")
def _parse_memory_mapped(args: TextArgs) -> Node:
    args.at_most(3)
    return MemoryMappedNode(args.uint(0, 32, name="EFI memory type"),
                            args.uint(1, 64, name="starting address"),
                            args.uint(2, 64, name="ending address"))


@register_node
@dataclass(frozen=True, slots=True)
class ControllerNode(FixedLayoutNode):
    """Ctrl(n): a controller number."""

    TYPE: ClassVar[int] = TYPE_HARDWARE
    SUBTYPE: ClassVar[int] = 0x05
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I")

    controller: int

    def to_text(self, display_only: bool = False) -> str:
        return f"Ctrl(0x{self.controller:X})"


@keyword("Ctrl")
def _parse_ctrl(args: TextArgs) -> Node:
    args.at_most(1)
    return ControllerNode(args.uint(0, 32, name="controller number"))


@register_node
@dataclass(frozen=True, slots=True)
class BmcNode(FixedLayoutNode):
    """BMC(interface,base): a baseboard management controller (IPMI interface type)."""

    TYPE: ClassVar[int] = TYPE_HARDWARE
    SUBTYPE: ClassVar[int] = 0x06
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BQ")

    interface_type: int
    base_address: int

    def to_text(self, display_only: bool = False) -> str:
        return f"BMC(0x{self.interface_type:X},0x{self.base_address:X})"


@keyword("BMC")
def _parse_bmc(args: TextArgs) -> Node:
    args.at_most(2)
    # edk2 reads the base address as hexadecimal even without '0x'.
    return BmcNode(args.uint(0, 8, name="interface type"),
                   args.hex_uint(1, 64, name="base address"))
