"""Messaging device-path nodes (type 0x03) rarely seen in boot entries: Fibre Channel,
IEEE 1394, I2O, InfiniBand, UART, UFS, SD and eMMC. Kept apart from nodes_messaging so
that decoding a SATA or NVMe path does not build these classes (see lazy_index.py).
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import ClassVar

from efikit.codec.guid import guid_from_bytes, guid_to_text
from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, FixedLayoutNode, Node, NodeLayoutError, register_node
from .nodes_messaging import hex_text, register_fixed_text
from .textparse import TextArgs, keyword


# ---- Fibre Channel, 1394 -----------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class FibreChannelNode(FixedLayoutNode):
    """Fibre(WWN,Lun); both little-endian UINT64 in the node."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x03
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQQ")

    reserved: int = 0
    wwn: int = 0
    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return f"Fibre({hex_text(self.wwn)},{hex_text(self.lun)})"


@keyword("Fibre")
def _parse_fibre(args: TextArgs) -> Node:
    args.at_most(2)
    return FibreChannelNode(0, args.uint(0, 64, name="WWN"), args.uint(1, 64, name="LUN"))


@register_node
@dataclass(frozen=True, slots=True)
class FibreChannelExNode(FixedLayoutNode):
    """FibreEx(WWN,Lun); both stored as big-endian byte arrays, printed as 16 hex digits."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x15
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I8s8s")

    reserved: int = 0
    wwn: int = 0
    lun: int = 0

    def payload(self) -> bytes:
        try:
            return (struct.pack("<I", self.reserved) + self.wwn.to_bytes(8, "big")
                    + self.lun.to_bytes(8, "big"))
        except (struct.error, OverflowError) as exc:
            raise EncodeError(f"FibreChannelExNode: a field is out of range ({exc})") from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != 20:
            raise NodeLayoutError
        return cls(struct.unpack_from("<I", payload)[0], int.from_bytes(payload[4:12], "big"),
                   int.from_bytes(payload[12:20], "big"))

    def to_text(self, display_only: bool = False) -> str:
        return f"FibreEx(0x{self.wwn:016X},0x{self.lun:016X})"


@keyword("FibreEx")
def _parse_fibre_ex(args: TextArgs) -> Node:
    args.at_most(2)
    return FibreChannelExNode(0, args.uint(0, 64, name="WWN"), args.uint(1, 64, name="LUN"))


@register_node
@dataclass(frozen=True, slots=True)
class I1394Node(FixedLayoutNode):
    """IEEE 1394: I1394(EUI-64), printed as 16 hex digits without 0x."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x04
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQ")

    reserved: int = 0
    eui64: int = 0  # edk2 calls it Guid; it is an IEEE EUI-64

    def to_text(self, display_only: bool = False) -> str:
        return f"I1394({self.eui64:016X})"


@keyword("I1394")
def _parse_i1394(args: TextArgs) -> Node:
    args.at_most(1)
    return I1394Node(0, args.hex_uint(0, 64, name="EUI-64"))


# ---- I2O, InfiniBand ---------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class I2ONode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x06
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I")

    tid: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return f"I2O({hex_text(self.tid)})"


@keyword("I2O")
def _parse_i2o(args: TextArgs) -> Node:
    args.at_most(1)
    return I2ONode(args.uint(0, 32, name="TID"))


@register_node
@dataclass(frozen=True, slots=True)
class InfiniBandNode(Node):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x09
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I16sQQQ")

    resource_flags: int
    port_gid: uuid.UUID
    service_id: int = 0
    target_port_id: int = 0
    device_id: int = 0

    def payload(self) -> bytes:
        try:
            return self._LAYOUT.pack(self.resource_flags, self.port_gid.bytes_le, self.service_id,
                                     self.target_port_id, self.device_id)
        except struct.error as exc:
            raise EncodeError(f"InfiniBandNode: a field is out of range ({exc})") from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != cls._LAYOUT.size:
            raise NodeLayoutError
        flags, gid, service, port, device = cls._LAYOUT.unpack(payload)
        return cls(flags, guid_from_bytes(gid), service, port, device)

    def to_text(self, display_only: bool = False) -> str:
        return (f"Infiniband({hex_text(self.resource_flags)},{guid_to_text(self.port_gid)},"
                f"{hex_text(self.service_id)},{hex_text(self.target_port_id)},"
                f"{hex_text(self.device_id)})")


@keyword("Infiniband")
def _parse_infiniband(args: TextArgs) -> Node:
    args.at_most(5)
    return InfiniBandNode(args.uint(0, 32, name="flags"), args.guid(1, "port GID"),
                          args.uint(2, 64, name="service id"),
                          args.uint(3, 64, name="target port id"),
                          args.uint(4, 64, name="device id"))


# ---- UART --------------------------------------------------------------------------------

UART_PARITY_LETTERS = "DNEOMS"  # index = parity code
UART_PARITY_WORDS = ("default", "none", "even", "odd", "mark", "space")
UART_STOP_BITS = ("D", "1", "1.5", "2")  # index = stop-bits code


@register_node
@dataclass(frozen=True, slots=True)
class UartNode(FixedLayoutNode):
    """Uart(Baud,DataBits,Parity,StopBits). 0 means "default" for every field (DEFAULT / D)."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x0E
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IQBBB")

    reserved: int = 0
    baud_rate: int = 0
    data_bits: int = 0
    parity: int = 0
    stop_bits: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return uart_text((self.reserved, self.baud_rate, self.data_bits, self.parity,
                          self.stop_bits))


def uart_text(fields: tuple[int, int, int, int, int]) -> str:
    _, baud_rate, data_bits, parity, stop_bits = fields
    if baud_rate == 0:
        baud = "DEFAULT"
    else:  # edk2 prints %ld: values above INT64_MAX come out negative
        baud = str(baud_rate - (1 << 64) if baud_rate >= 1 << 63 else baud_rate)
    data = "DEFAULT" if data_bits == 0 else str(data_bits)
    parity_text = UART_PARITY_LETTERS[parity] if parity < 6 else "x"
    stop = UART_STOP_BITS[stop_bits] if stop_bits < 4 else "x"
    return f"Uart({baud},{data},{parity_text},{stop})"


register_fixed_text(UartNode, uart_text)


def _parse_uart_baud(args: TextArgs) -> int:
    raw = args.text(0)
    if raw.upper() == "DEFAULT":
        return 0  # UEFI: 0 = the device's default (edk2 would store 115200)
    if raw.startswith("-") and raw[1:].isascii() and raw[1:].isdigit():
        value = int(raw)  # edk2 prints bauds above INT64_MAX as negative numbers
        if value >= -(1 << 63):
            return value + (1 << 64)
    return args.uint(0, 64, name="baud rate (or DEFAULT)")


def _parse_uart_parity(args: TextArgs) -> int:
    raw = args.text(2)
    if not raw:
        return 0
    upper = raw.upper()
    if len(raw) == 1 and upper in UART_PARITY_LETTERS:
        return UART_PARITY_LETTERS.index(upper)
    if raw.lower() in UART_PARITY_WORDS:
        return UART_PARITY_WORDS.index(raw.lower())
    return args.uint(2, 8, name="parity (D, N, E, O, M, S or a number)")


def _parse_uart_stop_bits(args: TextArgs) -> int:
    raw = args.text(3)
    if not raw:
        return 0
    if raw.upper() in UART_STOP_BITS:
        return UART_STOP_BITS.index(raw.upper())
    return args.uint(3, 8, name="stop bits (D, 1, 1.5, 2 or a number with 0x)")


@keyword("Uart")
def _parse_uart(args: TextArgs) -> Node:
    args.at_most(4)
    data_bits = 0 if args.text(1).upper() == "DEFAULT" else args.uint(
        1, 8, name="data bits (or DEFAULT)")
    return UartNode(0, _parse_uart_baud(args), data_bits, _parse_uart_parity(args),
                    _parse_uart_stop_bits(args))


# ---- UFS, SD, eMMC -----------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class UfsNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x19
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BB")

    pun: int = 0
    lun: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return f"UFS({hex_text(self.pun)},{hex_text(self.lun)})"


@keyword("UFS")
def _parse_ufs(args: TextArgs) -> Node:
    args.at_most(2)
    return UfsNode(args.uint(0, 8, name="PUN"), args.uint(1, 8, name="LUN"))


@register_node
@dataclass(frozen=True, slots=True)
class SdNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1A
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<B")

    slot_number: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return f"SD({hex_text(self.slot_number)})"


@register_node
@dataclass(frozen=True, slots=True)
class EmmcNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1D
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<B")

    slot_number: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return f"eMMC({hex_text(self.slot_number)})"


@keyword("SD")
def _parse_sd(args: TextArgs) -> Node:
    args.at_most(1)
    return SdNode(args.uint(0, 8, name="slot number"))


@keyword("eMMC")
def _parse_emmc(args: TextArgs) -> Node:
    args.at_most(1)
    return EmmcNode(args.uint(0, 8, name="slot number"))
