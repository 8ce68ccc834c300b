"""Messaging device-path nodes (type 0x03) for radio links: Bluetooth, Bluetooth LE, Wi-Fi.
The SSID is a byte string; efikit maps bytes to characters one to one (latin-1)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, Node, NodeLayoutError, register_node
from .nodes_messaging_net import latin1_bytes, parse_hex_address, parse_latin1, upto_nul
from .textparse import TextArgs, keyword


BD_ADDR_SIZE = 6


def _check_bd_addr(address: bytes) -> None:
    if len(address) != BD_ADDR_SIZE:
        raise EncodeError(f"a Bluetooth address has 6 bytes, not {len(address)}")


@register_node
@dataclass(frozen=True, slots=True)
class BluetoothNode(Node):
    """Bluetooth(BD_ADDR): 6 bytes, printed in stored order."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1B

    address: bytes

    def payload(self) -> bytes:
        _check_bd_addr(self.address)
        return bytes(self.address)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != BD_ADDR_SIZE:
            raise NodeLayoutError
        return cls(bytes(payload))

    def to_text(self, display_only: bool = False) -> str:
        return f"Bluetooth({self.address.hex().upper()})"


def _parse_bd_addr(args: TextArgs, index: int) -> bytes:
    address = parse_hex_address(args, index, BD_ADDR_SIZE, "Bluetooth address")
    if len(address) != BD_ADDR_SIZE:
        raise args.fail(index, "Bluetooth address as 12 hex digits")
    return address


@keyword("Bluetooth")
def _parse_bluetooth(args: TextArgs) -> Node:
    args.at_most(1)
    return BluetoothNode(_parse_bd_addr(args, 0))


@register_node
@dataclass(frozen=True, slots=True)
class BluetoothLENode(Node):
    """BluetoothLE(BD_ADDR,AddressType): type 0 public, 1 random."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1E

    address: bytes
    address_type: int = 0

    def payload(self) -> bytes:
        _check_bd_addr(self.address)
        if not 0 <= self.address_type <= 0xFF:
            raise EncodeError("BluetoothLE address type must fit in one byte")
        return bytes(self.address) + bytes((self.address_type,))

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != BD_ADDR_SIZE + 1:
            raise NodeLayoutError
        return cls(bytes(payload[:BD_ADDR_SIZE]), payload[BD_ADDR_SIZE])

    def to_text(self, display_only: bool = False) -> str:
        return f"BluetoothLE({self.address.hex().upper()},0x{self.address_type:02X})"


@keyword("BluetoothLE")
def _parse_bluetooth_le(args: TextArgs) -> Node:
    args.at_most(2)
    return BluetoothLENode(_parse_bd_addr(args, 0), args.uint(1, 8, name="address type"))


SSID_SIZE = 32
_EFIVAR_SSID = re.compile(r"^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}$")


@register_node
@dataclass(frozen=True, slots=True)
class WiFiNode(Node):
    """Wi-Fi(SSID): up to 32 bytes, NUL-padded in the node."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1C

    ssid: str = ""

    def payload(self) -> bytes:
        data = latin1_bytes(self.ssid, "Wi-Fi SSID")
        if len(data) > SSID_SIZE:
            raise EncodeError(f"Wi-Fi SSID of {len(data)} bytes; at most 32 fit")
        return data.ljust(SSID_SIZE, b"\0")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != SSID_SIZE:
            raise NodeLayoutError
        return cls(bytes(payload).rstrip(b"\0").decode("latin-1"))

    def to_text(self, display_only: bool = False) -> str:
        return f"Wi-Fi({upto_nul(self.ssid)})"


@keyword("Wi-Fi")
def _parse_wifi(args: TextArgs) -> Node:
    if _EFIVAR_SSID.match(args.inner):
        # efibootmgr 17 prints all 32 bytes as hex pairs joined by ':' (no SSID is that long).
        return WiFiNode(bytes.fromhex(args.inner.replace(":", "")).rstrip(b"\0").decode("latin-1"))
    # The whole text between the parentheses: an SSID may hold ','.
    data = parse_latin1(args, 0, args.inner, "an SSID")
    if len(data) > SSID_SIZE:
        raise args.fail(0, "an SSID of at most 32 bytes")
    return WiFiNode(args.inner)
