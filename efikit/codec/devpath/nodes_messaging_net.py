"""Messaging device-path nodes (type 0x03) for network boot: MAC, IPv4, IPv6, URI (VLAN,
iSCSI and DNS are in nodes_messaging_net_misc, Bluetooth and Wi-Fi in
nodes_messaging_wireless).

Strings in these nodes (URI, SSID, iSCSI target name) are byte strings that are ASCII in
practice; efikit maps bytes to characters one to one (latin-1) so any byte survives.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address, IPv6Address
from typing import ClassVar

from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, Node, NodeLayoutError, register_node
from .nodes_messaging import hex_text
from .textparse import TextArgs, keyword

ZERO_V4 = IPv4Address(0)
ZERO_V6 = IPv6Address(0)
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17
PROTOCOL_NAMES = {"TCP": PROTOCOL_TCP, "UDP": PROTOCOL_UDP}


def latin1_bytes(text: str, what: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{what}: character {exc.start} is not a single byte") from None


def parse_latin1(args: TextArgs, index: int, text: str, what: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise args.fail(index, f"{what} of single-byte characters") from None


def upto_nul(text: str) -> str:
    """What edk2's %a prints of a string: everything before the first NUL."""
    return text.split("\x00", 1)[0]


def _pack_error(cls_name: str, exc: Exception) -> EncodeError:
    return EncodeError(f"{cls_name}: a field is out of range ({exc})")


# ---- MAC ---------------------------------------------------------------------------------

MAC_ADDRESS_SIZE = 32  # EFI_MAC_ADDRESS; Ethernet (IfType 0/1) uses the first 6 bytes


@register_node
@dataclass(frozen=True, slots=True)
class MacAddressNode(Node):
    """MAC(Address,IfType). ``address`` is padded to the node's 32 bytes."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x0B

    address: bytes
    if_type: int = 1

    def __post_init__(self) -> None:
        if len(self.address) > MAC_ADDRESS_SIZE:
            raise EncodeError(f"MAC address of {len(self.address)} bytes; at most 32 fit")
        object.__setattr__(self, "address", bytes(self.address).ljust(MAC_ADDRESS_SIZE, b"\0"))

    @property
    def shown_size(self) -> int:
        return 6 if self.if_type in (0, 1) else MAC_ADDRESS_SIZE

    @property
    def mac(self) -> bytes:
        """The significant bytes: 6 for Ethernet (IfType 0 or 1), else all 32."""
        return self.address[:self.shown_size]

    def payload(self) -> bytes:
        if not 0 <= self.if_type <= 0xFF:
            raise EncodeError("MAC IfType must fit in one byte")
        return self.address + bytes((self.if_type,))

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != MAC_ADDRESS_SIZE + 1:
            raise NodeLayoutError
        return cls(bytes(payload[:MAC_ADDRESS_SIZE]), payload[MAC_ADDRESS_SIZE])

    def to_text(self, display_only: bool = False) -> str:
        return f"MAC({self.mac.hex().upper()},{hex_text(self.if_type)})"


def parse_hex_address(args: TextArgs, index: int, size: int, what: str) -> bytes:
    """Hex digits, optionally grouped by ':' or '-' (52:54:00:12:34:56), at most ``size`` bytes."""
    raw = args.text(index).replace(":", "").replace("-", "")
    if len(raw) % 2 or len(raw) > 2 * size or not all(c in "0123456789abcdefABCDEF" for c in raw):
        raise args.fail(index, f"{what} as up to {2 * size} hex digits")
    return bytes.fromhex(raw)


@keyword("MAC")
def _parse_mac(args: TextArgs) -> Node:
    args.at_most(2)
    if_type = args.uint(1, 8, name="IfType")
    address = parse_hex_address(args, 0, MAC_ADDRESS_SIZE, "MAC address")
    # edk2 silently zeroes an address of the wrong size; efikit wants 6 bytes (Ethernet,
    # IfType 0 or 1) or all 32.
    if len(address) != MAC_ADDRESS_SIZE and (if_type > 1 or len(address) != 6):
        raise args.fail(0, "a MAC address of 12 hex digits (IfType 0 or 1) or 64 hex digits")
    return MacAddressNode(address, if_type)


# ---- IP addresses in text ----------------------------------------------------------------

_OCTETS = r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})"
_IPV4_TEXT = re.compile(rf"^{_OCTETS}(?:/([0-9]{{1,2}}))?(?::([0-9]{{1,5}}))?$")


def parse_ipv4(args: TextArgs, index: int, what: str) -> tuple[IPv4Address, int | None]:
    """Dotted decimal (leading zeros allowed); a '/prefix' is accepted and dropped as edk2
    does; ':port' (efibootmgr's form) gives the port. Empty → 0.0.0.0."""
    raw = args.text(index)
    if not raw:
        return ZERO_V4, None
    match = _IPV4_TEXT.match(raw)
    if match is None or any(int(octet) > 255 for octet in match.groups()[:4]) or (
            match.group(5) and int(match.group(5)) > 32) or (
            match.group(6) and int(match.group(6)) > 0xFFFF):
        raise args.fail(index, f"{what} as an IPv4 address (192.168.0.1)")
    address = IPv4Address(bytes(int(octet) for octet in match.groups()[:4]))
    return address, int(match.group(6)) if match.group(6) else None


def parse_ipv6(args: TextArgs, index: int, what: str) -> tuple[IPv6Address, int | None]:
    """RFC 4291 text ('::' allowed), optionally as '[addr]' or '[addr]:port'. Empty → ::."""
    raw = args.text(index)
    if not raw:
        return ZERO_V6, None
    port: int | None = None
    if raw.startswith("["):
        close = raw.find("]")
        rest = raw[close + 1:] if close > 0 else ""
        if close < 0 or (rest and not re.fullmatch(r":[0-9]{1,5}", rest)):
            raise args.fail(index, f"{what} as an IPv6 address, optionally [addr]:port")
        port = int(rest[1:]) if rest else None
        raw = raw[1:close]
        if port is not None and port > 0xFFFF:
            raise args.fail(index, "a port from 0 to 65535")
    try:
        if "%" in raw:
            raise AddressValueError(raw)
        return IPv6Address(raw), port
    except AddressValueError:
        raise args.fail(index, f"{what} as an IPv6 address (2001:db8::1)") from None


def ipv6_text(address: IPv6Address) -> str:
    """edk2's form: eight groups of four upper-case hex digits, no '::'."""
    packed = address.packed
    return ":".join(f"{packed[i]:02X}{packed[i + 1]:02X}" for i in range(0, 16, 2))


def protocol_text(protocol: int) -> str:
    if protocol == PROTOCOL_TCP:
        return "TCP"
    if protocol == PROTOCOL_UDP:
        return "UDP"
    return hex_text(protocol)


def _parse_protocol(args: TextArgs, index: int) -> int:
    return args.choice(index, PROTOCOL_NAMES, 16, name="protocol")


# ---- IPv4 --------------------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class IPv4Node(Node):
    """IPv4(Remote,Protocol,Static|DHCP,Local,Gateway,Mask). Ports are kept but edk2 does not
    print them. ``gateway``/``subnet_mask`` are None for the 19-byte UEFI 2.0 node."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x0C
    _HEAD: ClassVar[struct.Struct] = struct.Struct("<4s4sHHHB")

    remote_address: IPv4Address = ZERO_V4
    local_address: IPv4Address = ZERO_V4
    protocol: int = 0
    static_address: int = 0  # BOOLEAN: nonzero = static, 0 = DHCP
    local_port: int = 0
    remote_port: int = 0
    gateway: IPv4Address | None = ZERO_V4
    subnet_mask: IPv4Address | None = ZERO_V4

    def payload(self) -> bytes:
        try:
            head = self._HEAD.pack(self.local_address.packed, self.remote_address.packed,
                                   self.local_port, self.remote_port, self.protocol,
                                   self.static_address)
        except struct.error as exc:
            raise _pack_error("IPv4Node", exc) from None
        if self.gateway is None and self.subnet_mask is None:
            return head
        if self.gateway is None or self.subnet_mask is None:
            raise EncodeError("IPv4Node: gateway and subnet_mask are both set or both None")
        return head + self.gateway.packed + self.subnet_mask.packed

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) not in (cls._HEAD.size, cls._HEAD.size + 8):
            raise NodeLayoutError
        local, remote, lport, rport, protocol, static = cls._HEAD.unpack_from(payload)
        gateway = mask = None
        if len(payload) > cls._HEAD.size:
            gateway = IPv4Address(bytes(payload[15:19]))
            mask = IPv4Address(bytes(payload[19:23]))
        return cls(IPv4Address(remote), IPv4Address(local), protocol, static, lport, rport,
                   gateway, mask)

    def to_text(self, display_only: bool = False) -> str:
        if display_only:
            return f"IPv4({self.remote_address})"
        text = (f"IPv4({self.remote_address},{protocol_text(self.protocol)},"
                f"{'Static' if self.static_address else 'DHCP'},{self.local_address}")
        if self.gateway is not None and self.subnet_mask is not None:
            text += f",{self.gateway},{self.subnet_mask}"
        return text + ")"


@keyword("IPv4")
def _parse_ipv4(args: TextArgs) -> Node:
    args.at_most(6)
    if len(args) == 3 and args.text(0).count(".") == 6:
        raise args.fail(0, "edk2's IPv4(remote,protocol,type,local,gateway,mask): this is "
                           "efibootmgr's text, which runs the two addresses together and drops "
                           "the gateway and mask, so it cannot give the node's bytes")
    remote, remote_port = parse_ipv4(args, 0, "remote address")
    local, local_port = parse_ipv4(args, 3, "local address")
    return IPv4Node(remote, local, _parse_protocol(args, 1),
                    args.choice(2, {"DHCP": 0, "Static": 1}, 8, name="address type"),
                    local_port or 0, remote_port or 0,
                    parse_ipv4(args, 4, "gateway")[0], parse_ipv4(args, 5, "subnet mask")[0])


# ---- IPv6 --------------------------------------------------------------------------------

IPV6_ORIGINS = {"Static": 0, "StatelessAutoConfigure": 1, "StatefulAutoConfigure": 2}
IPV6_ORIGIN_DEFAULT = 2  # edk2 stores StatefulAutoConfigure when the field is empty


@register_node
@dataclass(frozen=True, slots=True)
class IPv6Node(Node):
    """IPv6(Remote,Protocol,Origin,Local,PrefixLength,Gateway). ``prefix_length``/``gateway``
    are None for the 43-byte UEFI 2.0 node."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x0D
    _HEAD: ClassVar[struct.Struct] = struct.Struct("<16s16sHHHB")

    remote_address: IPv6Address = ZERO_V6
    local_address: IPv6Address = ZERO_V6
    protocol: int = 0
    address_origin: int = IPV6_ORIGIN_DEFAULT
    local_port: int = 0
    remote_port: int = 0
    prefix_length: int | None = 0
    gateway: IPv6Address | None = ZERO_V6

    def payload(self) -> bytes:
        try:
            head = self._HEAD.pack(self.local_address.packed, self.remote_address.packed,
                                   self.local_port, self.remote_port, self.protocol,
                                   self.address_origin)
            if self.prefix_length is None and self.gateway is None:
                return head
            if self.prefix_length is None or self.gateway is None:
                raise EncodeError("IPv6Node: prefix_length and gateway are both set or both None")
            return head + struct.pack("<B", self.prefix_length) + self.gateway.packed
        except struct.error as exc:
            raise _pack_error("IPv6Node", exc) from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) not in (cls._HEAD.size, cls._HEAD.size + 17):
            raise NodeLayoutError
        local, remote, lport, rport, protocol, origin = cls._HEAD.unpack_from(payload)
        prefix: int | None = None
        gateway: IPv6Address | None = None
        if len(payload) > cls._HEAD.size:
            prefix = payload[cls._HEAD.size]
            gateway = IPv6Address(bytes(payload[cls._HEAD.size + 1:]))
        return cls(IPv6Address(remote), IPv6Address(local), protocol, origin, lport, rport,
                   prefix, gateway)

    def to_text(self, display_only: bool = False) -> str:
        if display_only:
            return f"IPv6({ipv6_text(self.remote_address)})"
        origin = {0: "Static", 1: "StatelessAutoConfigure"}.get(self.address_origin,
                                                                 "StatefulAutoConfigure")
        text = (f"IPv6({ipv6_text(self.remote_address)},{protocol_text(self.protocol)},"
                f"{origin},{ipv6_text(self.local_address)}")
        if self.prefix_length is not None and self.gateway is not None:
            text += f",{hex_text(self.prefix_length)},{ipv6_text(self.gateway)}"
        return text + ")"


@keyword("IPv6")
def _parse_ipv6(args: TextArgs) -> Node:
    args.at_most(6)
    if "<->" in args.text(0):
        raise args.fail(0, "edk2's IPv6(remote,protocol,origin,local,prefix,gateway): this is "
                           "efibootmgr's text, which swaps the address bytes and drops the "
                           "gateway and prefix length, so it cannot give the node's bytes")
    remote, remote_port = parse_ipv6(args, 0, "remote address")
    local, local_port = parse_ipv6(args, 3, "local address")
    return IPv6Node(remote, local, _parse_protocol(args, 1),
                    args.choice(2, IPV6_ORIGINS, 8, IPV6_ORIGIN_DEFAULT, name="address origin"),
                    local_port or 0, remote_port or 0, args.uint(4, 8, name="prefix length"),
                    parse_ipv6(args, 5, "gateway")[0])


# ---- URI ---------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class UriNode(Node):
    """Uri(text): the URI's bytes fill the node, with no terminator."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x18

    uri: str = ""

    def payload(self) -> bytes:
        return latin1_bytes(self.uri, "URI")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        return cls(bytes(payload).decode("latin-1"))

    def to_text(self, display_only: bool = False) -> str:
        return f"Uri({upto_nul(self.uri)})"


@keyword("Uri")
def _parse_uri(args: TextArgs) -> Node:
    # The whole text between the parentheses: a URI may hold ',' (edk2 stops at the first).
    parse_latin1(args, 0, args.inner, "a URI")
    return UriNode(args.inner)
