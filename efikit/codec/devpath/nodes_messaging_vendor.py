"""Messaging vendor nodes with a well-known GUID, and SAS / SasEx.

edk2 prints every messaging vendor node as ``VenMsg(GUID[,HEX])`` (AllowShortcuts=FALSE),
so these typed subclasses print exactly like a generic VendorNode; they exist for the model
(named fields) and to parse their own keywords: VenPcAnsi(), VenVt100(), VenVt100Plus(),
VenUtf8(), DebugPort(), UartFlowCtrl(...), SAS(...).
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, Node, NodeLayoutError, decode_node, register_node
from .nodes_messaging import hex_text
from .textparse import TextArgs, keyword
from .vendor import MESSAGING_VENDOR_DECODERS, VENDOR_SUBTYPES, VendorNode, parse_vendor

PC_ANSI_GUID = uuid.UUID("E0C14753-F9BE-11D2-9A0C-0090273FC14D")
VT100_GUID = uuid.UUID("DFA66065-B419-11D3-9A2D-0090273FC14D")
VT100_PLUS_GUID = uuid.UUID("7BAEC70B-57E0-4C76-8E87-2F9E28088343")
VT_UTF8_GUID = uuid.UUID("AD15A0D6-8BEC-4ACF-A073-D01DE77E2D88")
DEBUG_PORT_GUID = uuid.UUID("EBA4E8D2-3858-41EC-A281-2647BA9660D0")
UART_FLOW_CONTROL_GUID = uuid.UUID("37499A9D-542F-4C89-A026-35DA142094E4")
SAS_GUID = uuid.UUID("D487DDB4-008B-11D9-AFDC-001083FFCA4D")

MSG_VENDOR_SUBTYPE = VENDOR_SUBTYPES[TYPE_MESSAGING]


def _fixed(value: Any) -> Any:
    """A vendor field a subclass fixes (not an __init__ argument, not in repr)."""
    return field(default=value, init=False, repr=False)


# ---- GUID-only nodes: terminal types and the debug port ----------------------------------

@dataclass(frozen=True, slots=True)
class PcAnsiNode(VendorNode):
    """VenPcAnsi(): PC-ANSI terminal."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(PC_ANSI_GUID)
    data: bytes = _fixed(b"")
    KEYWORD: ClassVar[str] = "VenPcAnsi"


@dataclass(frozen=True, slots=True)
class Vt100Node(VendorNode):
    """VenVt100(): VT-100 terminal."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(VT100_GUID)
    data: bytes = _fixed(b"")
    KEYWORD: ClassVar[str] = "VenVt100"


@dataclass(frozen=True, slots=True)
class Vt100PlusNode(VendorNode):
    """VenVt100Plus(): VT-100+ terminal."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(VT100_PLUS_GUID)
    data: bytes = _fixed(b"")
    KEYWORD: ClassVar[str] = "VenVt100Plus"


@dataclass(frozen=True, slots=True)
class VtUtf8Node(VendorNode):
    """VenUtf8(): VT-UTF8 terminal."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(VT_UTF8_GUID)
    data: bytes = _fixed(b"")
    KEYWORD: ClassVar[str] = "VenUtf8"


@dataclass(frozen=True, slots=True)
class DebugPortNode(VendorNode):
    """DebugPort(): the debug port's messaging vendor node."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(DEBUG_PORT_GUID)
    data: bytes = _fixed(b"")
    KEYWORD: ClassVar[str] = "DebugPort"


# (Typed as factories: mypy does not see that these subclasses fix the inherited fields.)
GUID_ONLY_NODES: tuple[Callable[[], VendorNode], ...] = (PcAnsiNode, Vt100Node, Vt100PlusNode,
                                                         VtUtf8Node, DebugPortNode)


def _register_guid_only(cls: Callable[[], VendorNode]) -> None:
    def decode(data: bytes) -> Node:
        if data:
            raise NodeLayoutError
        return cls()

    MESSAGING_VENDOR_DECODERS[cls().guid] = decode

    @keyword(getattr(cls, "KEYWORD"))
    def _parse(args: TextArgs) -> Node:
        args.at_most(0)
        return cls()


for _cls in GUID_ONLY_NODES:
    _register_guid_only(_cls)


# ---- UART flow control -------------------------------------------------------------------

UART_FLOW_CONTROL_NAMES = {"None": 0, "Hardware": 1, "XonXoff": 2}


@dataclass(frozen=True, slots=True)
class UartFlowControlNode(VendorNode):
    """UartFlowCtrl(None|Hardware|XonXoff): a VenMsg with a UINT32 FlowControlMap."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(UART_FLOW_CONTROL_GUID)
    data: bytes = _fixed(b"")
    flow_control_map: int = 0

    def vendor_data(self) -> bytes:
        try:
            return struct.pack("<I", self.flow_control_map)
        except struct.error as exc:
            raise EncodeError(f"UartFlowControlNode: flow_control_map out of range ({exc})") \
                from None


def _decode_uart_flow_control(data: bytes) -> Node:
    if len(data) != 4:
        raise NodeLayoutError
    return UartFlowControlNode(flow_control_map=struct.unpack("<I", data)[0])


MESSAGING_VENDOR_DECODERS[UART_FLOW_CONTROL_GUID] = _decode_uart_flow_control


@keyword("UartFlowCtrl", "UartFlowControl")  # UartFlowControl: efibootmgr's spelling
def _parse_uart_flow_control(args: TextArgs) -> Node:
    args.at_most(1)
    # edk2 stores 0 for a number; efikit takes the number (efibootmgr prints values > 2 so).
    return UartFlowControlNode(
        flow_control_map=args.choice(0, UART_FLOW_CONTROL_NAMES, 32, name="flow control"))


# ---- SAS topology (shared by SAS and SasEx) ----------------------------------------------

TOPOLOGY_MASK = 0x0F
TOPOLOGY_BIT_SATA = 0x10
TOPOLOGY_BIT_EXTERNAL = 0x20
TOPOLOGY_BIT_EXPANDED = 0x40
TOPOLOGY_BIT_7 = 0x80


def topology_text(topology: int) -> str:
    """The four SASSATA,Location,Connect,DriveBay fields as edk2 prints them."""
    kind = topology & TOPOLOGY_MASK
    if kind == 0 and not topology & TOPOLOGY_BIT_7:
        return "NoTopology,0,0,0"
    if kind <= 2 and not topology & TOPOLOGY_BIT_7:
        text = ("SATA," if topology & TOPOLOGY_BIT_SATA else "SAS,") \
            + ("External," if topology & TOPOLOGY_BIT_EXTERNAL else "Internal,") \
            + ("Expanded," if topology & TOPOLOGY_BIT_EXPANDED else "Direct,")
        if kind == 1:
            return text + "0"
        return text + hex_text(((topology >> 8) & 0xFF) + 1)
    return f"{hex_text(topology)},0,0,0"


def _require_zero(args: TextArgs, first: int, last: int, why: str) -> None:
    for index in range(first, last + 1):
        if args.present(index) and args.uint(index, 64, name="0") != 0:
            raise args.fail(index, f"0 or nothing ({why})")


def parse_topology(args: TextArgs, index: int) -> int:
    """SASSATA,Location,Connect,DriveBay starting at argument ``index``."""
    kind = args.text(index)
    if kind.lower() == "notopology":
        _require_zero(args, index + 1, index + 3, "NoTopology has no location or drive bay")
        return 0
    if kind.upper() in ("SAS", "SATA"):
        bay = args.uint(index + 3, 16, name="drive bay (0 for none, else 1-256)")
        if bay > 256:
            raise args.fail(index + 3, "drive bay (0 for none, else 1-256)")
        topology = 0x1 if bay == 0 else 0x2 | ((bay - 1) << 8)
        if kind.upper() == "SATA":
            topology |= TOPOLOGY_BIT_SATA
        location = args.choice(index + 1, {"Internal": 0, "External": 1}, 1, name="location")
        connect = args.choice(index + 2, {"Direct": 0, "Expanded": 1}, 2, name="connect")
        return topology | (location << 5) | (connect << 6)
    topology = args.uint(index, 16, name="topology (NoTopology, SAS, SATA or a number)")
    _require_zero(args, index + 1, index + 3, "a numeric topology says everything")
    return topology


# ---- SAS (vendor GUID) -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SasNode(VendorNode):
    """SAS(Address,Lun,RTP,SASSATA,Location,Connect,DriveBay,Reserved): a VenMsg.
    Construct with keyword arguments (type checkers see the inherited vendor fields)."""

    vendor_type: int = _fixed(TYPE_MESSAGING)
    guid: uuid.UUID = _fixed(SAS_GUID)
    data: bytes = _fixed(b"")
    sas_address: int = 0
    lun: int = 0
    relative_target_port: int = 0
    device_topology: int = 0
    reserved: int = 0

    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQQHH")

    def vendor_data(self) -> bytes:
        try:
            return self._LAYOUT.pack(self.reserved, self.sas_address, self.lun,
                                     self.device_topology, self.relative_target_port)
        except struct.error as exc:
            raise EncodeError(f"SasNode: a field is out of range ({exc})") from None


def _decode_sas(data: bytes) -> Node:
    if len(data) != SasNode._LAYOUT.size:
        raise NodeLayoutError
    reserved, address, lun, topology, port = SasNode._LAYOUT.unpack(data)
    return SasNode(sas_address=address, lun=lun, relative_target_port=port,
                   device_topology=topology, reserved=reserved)


MESSAGING_VENDOR_DECODERS[SAS_GUID] = _decode_sas


@keyword("SAS")
def _parse_sas(args: TextArgs) -> Node:
    args.at_most(8)
    return SasNode(sas_address=args.uint(0, 64, name="SAS address"),
                   lun=args.uint(1, 64, name="LUN"),
                   relative_target_port=args.uint(2, 16, name="relative target port"),
                   device_topology=parse_topology(args, 3),
                   reserved=args.uint(7, 32, name="reserved"))


# ---- SasEx (subtype 0x16) ----------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class SasExNode(Node):
    """SasEx(Address,Lun,RTP,SASSATA,Location,Connect,DriveBay); address and LUN are stored
    big-endian and printed as 16 hex digits."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x16

    sas_address: int = 0
    lun: int = 0
    relative_target_port: int = 0
    device_topology: int = 0

    def payload(self) -> bytes:
        try:
            return (self.sas_address.to_bytes(8, "big") + self.lun.to_bytes(8, "big")
                    + struct.pack("<HH", self.device_topology, self.relative_target_port))
        except (struct.error, OverflowError) as exc:
            raise EncodeError(f"SasExNode: a field is out of range ({exc})") from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != 20:
            raise NodeLayoutError
        topology, port = struct.unpack_from("<HH", payload, 16)
        return cls(int.from_bytes(payload[0:8], "big"), int.from_bytes(payload[8:16], "big"),
                   port, topology)

    def to_text(self, display_only: bool = False) -> str:
        return (f"SasEx(0x{self.sas_address:016X},0x{self.lun:016X},"
                f"{hex_text(self.relative_target_port)},{topology_text(self.device_topology)})")


@keyword("SasEx")
def _parse_sas_ex(args: TextArgs) -> Node:
    args.at_most(7)
    return SasExNode(args.uint(0, 64, name="SAS address"), args.uint(1, 64, name="LUN"),
                     args.uint(2, 16, name="relative target port"), parse_topology(args, 3))


# ---- VenMsg ------------------------------------------------------------------------------

@keyword("VenMsg")
def _parse_venmsg(args: TextArgs) -> Node:
    generic = parse_vendor(TYPE_MESSAGING, args)
    # A well-known GUID comes back as its typed node, exactly as decoding the bytes would.
    return decode_node(TYPE_MESSAGING, MSG_VENDOR_SUBTYPE, generic.payload(), 0)
