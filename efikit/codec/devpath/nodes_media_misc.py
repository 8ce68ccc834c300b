"""Media device-path nodes (type 0x04) rarely seen in boot entries: CDROM (El Torito),
Offset and RamDisk (with its VirtualDisk/VirtualCD/... aliases). Kept apart from nodes_media,
which every boot entry needs, so that decoding one does not build these classes (see
lazy_index.py).
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import ClassVar

from efikit.codec.guid import guid_to_text

from .base import (
    TYPE_MEDIA,
    FixedLayoutNode,
    Node,
    NodeLayoutError,
    check_payload_length,
    register_node,
)
from .nodes_media import RAM_DISK_ALIASES
from .textparse import TextArgs, keyword


@register_node
@dataclass(frozen=True, slots=True)
class CdromNode(FixedLayoutNode):
    """CDROM(entry,start,size): an El Torito boot entry, in 2048-byte sectors."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x02
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQQ")

    boot_entry: int
    partition_start: int
    partition_size: int

    def to_text(self, display_only: bool = False) -> str:
        if display_only:
            return f"CDROM(0x{self.boot_entry:X})"
        return (f"CDROM(0x{self.boot_entry:X},0x{self.partition_start:X},"
                f"0x{self.partition_size:X})")


@keyword("CDROM")
def _parse_cdrom(args: TextArgs) -> Node:
    args.at_most(3)
    return CdromNode(args.uint(0, 32, name="boot entry"),
                     args.uint(1, 64, name="partition start"),
                     args.uint(2, 64, name="partition size"))


@register_node
@dataclass(frozen=True, slots=True)
class RelativeOffsetNode(Node):
    """Offset(start,end): a byte range relative to the device before it."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x08
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQQ")

    starting_offset: int
    ending_offset: int

    def payload(self) -> bytes:
        return self._LAYOUT.pack(0, self.starting_offset, self.ending_offset)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, cls._LAYOUT.size)
        reserved, start, end = cls._LAYOUT.unpack(payload)
        if reserved:
            raise NodeLayoutError  # a non-zero Reserved word has no place in the text: keep raw
        return cls(start, end)

    def to_text(self, display_only: bool = False) -> str:
        return f"Offset(0x{self.starting_offset:X},0x{self.ending_offset:X})"


@keyword("Offset")
def _parse_offset(args: TextArgs) -> Node:
    args.at_most(2)
    return RelativeOffsetNode(args.uint(0, 64, name="starting offset"),
                              args.uint(1, 64, name="ending offset"))


@register_node
@dataclass(frozen=True, slots=True)
class RamDiskNode(Node):
    """RamDisk(start,end,instance,type GUID): a RAM disk; the four standard type GUIDs
    print as VirtualDisk, VirtualCD, PersistentVirtualDisk, PersistentVirtualCD."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x09
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<QQ16sH")

    starting_address: int
    ending_address: int
    disk_type: uuid.UUID
    instance: int = 0

    def payload(self) -> bytes:
        return self._LAYOUT.pack(self.starting_address, self.ending_address,
                                 self.disk_type.bytes_le, self.instance)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, cls._LAYOUT.size)
        start, end, guid, instance = cls._LAYOUT.unpack(payload)
        return cls(start, end, uuid.UUID(bytes_le=guid), instance)

    def to_text(self, display_only: bool = False) -> str:
        alias = RAM_DISK_ALIASES.get(self.disk_type)
        head = (f"{alias or 'RamDisk'}(0x{self.starting_address:X},0x{self.ending_address:X},"
                f"{self.instance}")
        if alias:
            return head + ")"
        return f"{head},{guid_to_text(self.disk_type)})"


@keyword("RamDisk")
def _parse_ram_disk(args: TextArgs) -> Node:
    args.at_most(4)
    return RamDiskNode(args.uint(0, 64, name="starting address"),
                       args.uint(1, 64, name="ending address"),
                       args.guid(3, "disk type GUID"),
                       args.uint(2, 16, name="instance"))


def _register_ram_disk_alias(disk_type: uuid.UUID, name: str) -> None:
    @keyword(name)
    def _parse(args: TextArgs) -> Node:
        args.at_most(3)
        return RamDiskNode(args.uint(0, 64, name="starting address"),
                           args.uint(1, 64, name="ending address"), disk_type,
                           args.uint(2, 16, name="instance"))


for _guid, _name in RAM_DISK_ALIASES.items():
    _register_ram_disk_alias(_guid, _name)
