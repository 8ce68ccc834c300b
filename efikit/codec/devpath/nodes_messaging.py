"""Messaging device-path nodes (type 0x03): the storage links boot entries use (ATA, SCSI,
LUN, SATA, NVMe).

The rarer buses (Fibre Channel, 1394, I2O, InfiniBand, UART, UFS, SD, eMMC) live in
nodes_messaging_misc, USB nodes in nodes_messaging_usb, network nodes in
nodes_messaging_net, Bluetooth and Wi-Fi in nodes_messaging_wireless, vendor-GUID nodes
(VT100, UART flow control, SAS) and SasEx in nodes_messaging_vendor. Numbers print as
edk2's ``%x`` does: upper-case hex. Fields the text form does not show (reserved words) are
still kept, so the binary round trip is exact.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, ClassVar

from efikit.errors import EncodeError

from .base import (
    TYPE_MESSAGING,
    FixedLayoutNode,
    Node,
    NodeLayoutError,
    register_layout_text,
    register_node,
    register_text,
)
from .textparse import TextArgs, keyword

def hex_text(value: int) -> str:
    """edk2's ``0x%x`` (PrintLib prints hex digits in upper case)."""
    return "0x%X" % value  # %-formatting: faster than f"{:X}"


def register_fixed_text(cls: type[FixedLayoutNode], text: str | Callable[..., str]) -> None:
    """Render ``cls`` nodes from their payload with ``text``: a %-template of all the
    fields in order, or ``text(fields)``; its to_text uses the same."""
    register_layout_text(cls.TYPE, cls.SUBTYPE, cls._LAYOUT, text)


# ---- ATAPI, SCSI -------------------------------------------------------------------------

ATA_CHANNELS = {"Primary": 0, "Secondary": 1}
ATA_DRIVES = {"Master": 0, "Slave": 1}


@register_node
@dataclass(frozen=True, slots=True)
class AtaNode(FixedLayoutNode):
    """ATAPI: Ata(Primary|Secondary,Master|Slave,Lun)."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x01
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BBH")

    primary_secondary: int = 0
    slave_master: int = 0
    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return ata_text((self.primary_secondary, self.slave_master, self.lun), display_only)


def ata_text(fields: tuple[int, int, int], display_only: bool = False) -> str:
    primary_secondary, slave_master, lun = fields
    if display_only:
        return f"Ata({hex_text(lun)})"
    channel = "Secondary" if primary_secondary == 1 else "Primary"
    drive = "Slave" if slave_master == 1 else "Master"
    return f"Ata({channel},{drive},{hex_text(lun)})"


def _ata_text_at(data: bytes, start: int, end: int, display_only: bool) -> str | None:
    if end - start != AtaNode._LAYOUT.size:
        return None
    return ata_text(AtaNode._LAYOUT.unpack_from(data, start), display_only)


register_text(TYPE_MESSAGING, 0x01, _ata_text_at)  # its text depends on display_only


@keyword("Ata")
def _parse_ata(args: TextArgs) -> Node:
    args.at_most(3)
    if len(args) == 1 and args.text(0).lower() not in ("primary", "secondary"):
        # The display-only form Ata(Lun). (edk2 reads the value as the channel instead.)
        return AtaNode(lun=args.uint(0, 16, name="LUN"))
    return AtaNode(args.choice(0, ATA_CHANNELS, 8, name="channel"),
                   args.choice(1, ATA_DRIVES, 8, name="drive"),
                   args.uint(2, 16, name="LUN"))


@register_node
@dataclass(frozen=True, slots=True)
class ScsiNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x02
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HH")

    pun: int = 0
    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return SCSI_TEXT % (self.pun, self.lun)


SCSI_TEXT = "Scsi(0x%X,0x%X)"
register_fixed_text(ScsiNode, SCSI_TEXT)


@keyword("Scsi", "SCSI")  # SCSI(pun,lun): efibootmgr's spelling
def _parse_scsi(args: TextArgs) -> Node:
    args.at_most(2)
    return ScsiNode(args.uint(0, 16, name="PUN"), args.uint(1, 16, name="LUN"))


# ---- Logical unit, SATA ------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class LogicalUnitNode(FixedLayoutNode):
    """Device logical unit: Unit(Lun)."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x11
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<B")

    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return UNIT_TEXT % self.lun


UNIT_TEXT = "Unit(0x%X)"
register_fixed_text(LogicalUnitNode, UNIT_TEXT)


@keyword("Unit")
def _parse_unit(args: TextArgs) -> Node:
    args.at_most(1)
    return LogicalUnitNode(args.uint(0, 8, name="LUN"))


SATA_DIRECT = 0xFFFF  # PortMultiplierPortNumber of a device attached directly to the HBA


@register_node
@dataclass(frozen=True, slots=True)
class SataNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x12
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HHH")

    hba_port: int = 0
    port_multiplier_port: int = SATA_DIRECT
    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return SATA_TEXT % (self.hba_port, self.port_multiplier_port, self.lun)


SATA_TEXT = "Sata(0x%X,0x%X,0x%X)"
register_fixed_text(SataNode, SATA_TEXT)


@keyword("Sata")
def _parse_sata(args: TextArgs) -> Node:
    args.at_most(3)
    return SataNode(args.uint(0, 16, name="HBA port"),
                    args.uint(1, 16, SATA_DIRECT, name="port multiplier port"),
                    args.uint(2, 16, name="LUN"))


# ---- NVMe --------------------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class NvmeNode(Node):
    """NVMe(NSID,EUI-64); the EUI-64 is printed most significant byte first."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x17
    EXACT_LAYOUT: ClassVar[bool] = True

    namespace_id: int = 0
    eui64: int = 0

    def payload(self) -> bytes:
        try:
            return _NVME.pack(self.namespace_id, self.eui64)
        except struct.error as exc:
            raise EncodeError(f"NvmeNode: a field is out of range ({exc})") from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != 12:
            raise NodeLayoutError
        return cls(*_NVME.unpack(payload))

    def to_text(self, display_only: bool = False) -> str:
        return nvme_text((self.namespace_id, self.eui64))


_NVME = struct.Struct("<IQ")


def nvme_text(fields: tuple[int, int]) -> str:
    namespace_id, eui64 = fields
    eui = eui64.to_bytes(8, "big").hex("-").upper()
    return "NVMe(0x%X,%s)" % (namespace_id, eui)


register_layout_text(TYPE_MESSAGING, 0x17, _NVME, nvme_text)


def _parse_eui64(args: TextArgs, index: int) -> int:
    raw = args.text(index)
    if not raw:
        return 0
    groups = raw.split("-")
    if len(groups) == 1 and len(raw) == 16:
        groups = [raw[i:i + 2] for i in range(0, 16, 2)]
    if len(groups) != 8 or not all(
            1 <= len(g) <= 2 and all(c in "0123456789abcdefABCDEF" for c in g) for g in groups):
        raise args.fail(index, "EUI-64 as 8 hex bytes separated by '-' (00-25-38-5B-81-B2-84-52)")
    return int("".join(g.zfill(2) for g in groups), 16)


@keyword("NVMe")
def _parse_nvme(args: TextArgs) -> Node:
    args.at_most(2)
    return NvmeNode(args.uint(0, 32, name="namespace id"), _parse_eui64(args, 1))
