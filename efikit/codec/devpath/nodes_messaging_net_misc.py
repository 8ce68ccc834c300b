"""Messaging device-path nodes (type 0x03) for networks that boot entries rarely hold:
VLAN, iSCSI and DNS. Kept apart from nodes_messaging_net so that decoding a PXE or HTTP
boot entry does not build these classes (see lazy_index.py).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, Node, NodeLayoutError, register_node
from .nodes_messaging import hex_text
from .nodes_messaging_net import (_pack_error, ipv6_text, latin1_bytes, parse_ipv4, parse_ipv6,
                                  parse_latin1, upto_nul)
from .textparse import TextArgs, keyword


# ---- VLAN, iSCSI --------------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class VlanNode(Node):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x14

    vlan_id: int = 0

    def payload(self) -> bytes:
        try:
            return struct.pack("<H", self.vlan_id)
        except struct.error as exc:
            raise _pack_error("VlanNode", exc) from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != 2:
            raise NodeLayoutError
        return cls(struct.unpack("<H", payload)[0])

    def to_text(self, display_only: bool = False) -> str:
        return f"Vlan({self.vlan_id})"


@keyword("Vlan")
def _parse_vlan(args: TextArgs) -> Node:
    args.at_most(1)
    return VlanNode(args.uint(0, 16, name="VLAN id"))


ISCSI_HEADER_DIGEST_CRC32C = 0x0002
ISCSI_DATA_DIGEST_CRC32C = 0x0008
ISCSI_AUTH_NONE = 0x0800
ISCSI_AUTH_CHAP_UNI = 0x1000
ISCSI_AUTH_NAMES = {"CHAP_BI": 0, "None": ISCSI_AUTH_NONE, "CHAP_UNI": ISCSI_AUTH_CHAP_UNI}


@register_node
@dataclass(frozen=True, slots=True)
class IScsiNode(Node):
    """iSCSI(TargetName,PortalGroupTag,Lun,HeaderDigest,DataDigest,Authentication,Protocol).
    The LUN is 8 bytes printed in stored order (``lun`` reads them big-endian). The target
    name is stored NUL-terminated."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x13
    _HEAD: ClassVar[struct.Struct] = struct.Struct("<HH8sH")

    target_name: str
    portal_group_tag: int = 0
    lun: int = 0
    login_option: int = 0
    network_protocol: int = 0

    @property
    def header_digest_crc32c(self) -> bool:
        return bool(self.login_option & ISCSI_HEADER_DIGEST_CRC32C)

    @property
    def data_digest_crc32c(self) -> bool:
        return bool(self.login_option & ISCSI_DATA_DIGEST_CRC32C)

    @property
    def authentication(self) -> str:
        if self.login_option & ISCSI_AUTH_NONE:
            return "None"
        if self.login_option & ISCSI_AUTH_CHAP_UNI:
            return "CHAP_UNI"
        return "CHAP_BI"

    def payload(self) -> bytes:
        try:
            head = self._HEAD.pack(self.network_protocol, self.login_option,
                                   self.lun.to_bytes(8, "big"), self.portal_group_tag)
        except (struct.error, OverflowError) as exc:
            raise _pack_error("IScsiNode", exc) from None
        return head + latin1_bytes(self.target_name, "iSCSI target name") + b"\0"

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        size = cls._HEAD.size
        if len(payload) <= size or payload[-1] != 0:
            raise NodeLayoutError  # no terminator: edk2 would print past the node
        protocol, login, lun, tag = cls._HEAD.unpack_from(payload)
        return cls(bytes(payload[size:-1]).decode("latin-1"), tag, int.from_bytes(lun, "big"),
                   login, protocol)

    def to_text(self, display_only: bool = False) -> str:
        header = "CRC32C" if self.header_digest_crc32c else "None"
        data = "CRC32C" if self.data_digest_crc32c else "None"
        protocol = "TCP" if self.network_protocol == 0 else "reserved"
        return (f"iSCSI({upto_nul(self.target_name)},{hex_text(self.portal_group_tag)},"
                f"0x{self.lun:016X},{header},{data},{self.authentication},{protocol})")


@keyword("iSCSI")
def _parse_iscsi(args: TextArgs) -> Node:
    args.at_most(7)
    name = args.text(0)
    parse_latin1(args, 0, name, "a target name")
    digests = {"None": 0, "CRC32C": 1, "CRC32": 1}  # CRC32: efibootmgr's spelling
    login = (args.choice(3, digests, 1, name="header digest") * ISCSI_HEADER_DIGEST_CRC32C
             | args.choice(4, digests, 1, name="data digest") * ISCSI_DATA_DIGEST_CRC32C)
    if args.present(5):
        raw = args.text(5)
        match = [value for label, value in ISCSI_AUTH_NAMES.items() if label.lower() == raw.lower()]
        if not match:
            raise args.fail(5, "authentication (None, CHAP_UNI or CHAP_BI)")
        login |= match[0]
    protocol = args.choice(6, {"TCP": 0, "reserved": 1}, 16, name="protocol")
    return IScsiNode(name, args.uint(1, 16, name="portal group tag"), args.uint(2, 64, name="LUN"),
                     login, protocol)


# ---- DNS ---------------------------------------------------------------------------------

@register_node
@dataclass(frozen=True, slots=True)
class DnsNode(Node):
    """Dns(Server[,Server...]). Each server takes 16 bytes (EFI_IP_ADDRESS); an IPv4 server
    uses the first 4. ``servers`` keeps the 16 bytes as stored."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x1F

    is_ipv6: int = 0
    servers: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, *addresses: IPv4Address | IPv6Address) -> DnsNode:
        if len({address.version for address in addresses}) > 1:
            raise EncodeError("a DNS node holds either IPv4 or IPv6 servers, not both")
        is_ipv6 = int(bool(addresses) and addresses[0].version == 6)
        return cls(is_ipv6, tuple(address.packed.ljust(16, b"\0") for address in addresses))

    @property
    def addresses(self) -> tuple[IPv4Address | IPv6Address, ...]:
        if self.is_ipv6:
            return tuple(IPv6Address(server) for server in self.servers)
        return tuple(IPv4Address(server[:4]) for server in self.servers)

    def payload(self) -> bytes:
        if not 0 <= self.is_ipv6 <= 0xFF:
            raise EncodeError("DnsNode: is_ipv6 must fit in one byte")
        if any(len(server) != 16 for server in self.servers):
            raise EncodeError("DnsNode: every server takes exactly 16 bytes")
        return bytes((self.is_ipv6,)) + b"".join(self.servers)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) < 1 or (len(payload) - 1) % 16:
            raise NodeLayoutError
        return cls(payload[0], tuple(bytes(payload[i:i + 16]) for i in range(1, len(payload), 16)))

    def to_text(self, display_only: bool = False) -> str:
        if self.is_ipv6:
            shown = [ipv6_text(IPv6Address(server)) for server in self.servers]
        else:
            shown = [str(IPv4Address(server[:4])) for server in self.servers]
        return f"Dns({','.join(shown)})"


@keyword("Dns")
def _parse_dns(args: TextArgs) -> Node:
    # Dns() is an empty server list (edk2 drops the node instead).
    addresses: list[IPv4Address | IPv6Address] = []
    for index, raw in enumerate(args.values):
        if ":" in raw:
            addresses.append(parse_ipv6(args, index, "DNS server")[0])
        else:
            address, port = parse_ipv4(args, index, "DNS server")
            if not raw.strip() or port is not None or "/" in raw:
                raise args.fail(index, "a DNS server address")
            addresses.append(address)
        if addresses[-1].version != addresses[0].version:
            raise args.fail(index, "servers of one family (all IPv4 or all IPv6)")
    return DnsNode.of(*addresses)
