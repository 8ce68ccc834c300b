"""Messaging (type 0x03) device-path nodes: binary and text round trips, edk2 quirks,
efibootmgr spellings, and parse errors that name the column."""
from __future__ import annotations

import uuid
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efikit.codec.devpath import (
    AtaNode,
    BluetoothLENode,
    BluetoothNode,
    DebugPortNode,
    DevicePath,
    DnsNode,
    EmmcNode,
    FibreChannelExNode,
    FibreChannelNode,
    I1394Node,
    I2ONode,
    InfiniBandNode,
    IPv4Node,
    IPv6Node,
    IScsiNode,
    LogicalUnitNode,
    MacAddressNode,
    Node,
    NvmeNode,
    PcAnsiNode,
    RawNode,
    SasExNode,
    SasNode,
    SataNode,
    ScsiNode,
    SdNode,
    UartFlowControlNode,
    UartNode,
    UfsNode,
    UriNode,
    UsbClassNode,
    UsbNode,
    UsbWwidNode,
    VendorNode,
    VlanNode,
    Vt100Node,
    Vt100PlusNode,
    VtUtf8Node,
    WiFiNode,
)
from efikit.codec.devpath.base import decode_node
from efikit.errors import EncodeError, TextParseError


def u(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


# Characters that can stand inside a node's parentheses in text: no separators or parentheses.
SAFE_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="(),/\"")
LATIN1_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                            blacklist_characters="(),/\x7f")
IPV4 = st.builds(IPv4Address, u(32))
IPV6 = st.builds(IPv6Address, u(128))
GUIDS = st.builds(lambda b: uuid.UUID(bytes=b), st.binary(min_size=16, max_size=16))


def _topology_domain() -> st.SearchStrategy[int]:
    """SAS topologies whose text reads back to the same value."""
    kind_1 = st.builds(lambda flags: 0x1 | flags, st.sampled_from([0, 0x10, 0x20, 0x40, 0x70]))
    kind_2 = st.builds(lambda flags, bay: 0x2 | flags | (bay << 8),
                       st.sampled_from([0, 0x10, 0x20, 0x40, 0x70]), u(8))
    numeric = u(16).filter(lambda t: (t & 0xF) > 2 or t & 0x80)
    return st.one_of(st.just(0), kind_1, kind_2, numeric)


# Nodes whose every field shows in the text: text → node is exact.
TEXT_EXACT: st.SearchStrategy[Node] = st.one_of(
    st.builds(AtaNode, u(1), u(1), u(16)),
    st.builds(ScsiNode, u(16), u(16)),
    st.builds(FibreChannelNode, st.just(0), u(64), u(64)),
    st.builds(FibreChannelExNode, st.just(0), u(64), u(64)),
    st.builds(I1394Node, st.just(0), u(64)),
    st.builds(UsbNode, u(8), u(8)),
    st.builds(UsbClassNode, u(16), u(16), u(8), u(8), u(8)),
    st.builds(UsbWwidNode, u(16), u(16), u(16),
              st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF,
                                    blacklist_characters="()/\x7f"), max_size=20)),
    st.builds(LogicalUnitNode, u(8)),
    st.builds(SataNode, u(16), u(16), u(16)),
    st.builds(I2ONode, u(32)),
    st.builds(InfiniBandNode, u(32), GUIDS, u(64), u(64), u(64)),
    st.builds(UartNode, st.just(0), u(64), u(8), st.integers(0, 5), st.integers(0, 3)),
    st.builds(NvmeNode, u(32), u(64)),
    st.builds(UfsNode, u(8), u(8)),
    st.builds(SdNode, u(8)),
    st.builds(EmmcNode, u(8)),
    st.builds(MacAddressNode, st.binary(min_size=6, max_size=6), st.integers(0, 1)),
    st.builds(MacAddressNode, st.binary(min_size=32, max_size=32), st.integers(2, 255)),
    st.builds(IPv4Node, IPV4, IPV4, st.sampled_from([0, 6, 17, 1, 0xFFFF]), st.integers(0, 1),
              st.just(0), st.just(0), IPV4, IPV4),
    st.builds(IPv6Node, IPV6, IPV6, u(16), st.integers(0, 2), st.just(0), st.just(0), u(8), IPV6),
    st.builds(VlanNode, u(16)),
    st.builds(IScsiNode, st.text(LATIN1_TEXT, max_size=40).map(str.strip), u(16), u(64),
              st.builds(lambda h, d, a: h * 0x2 | d * 0x8 | a, st.booleans(), st.booleans(),
                        st.sampled_from([0, 0x800, 0x1000])),
              st.integers(0, 1)),
    st.builds(UriNode, st.text(LATIN1_TEXT, max_size=60)),
    st.builds(WiFiNode, st.text(LATIN1_TEXT, max_size=32).map(str.strip)),
    st.builds(BluetoothNode, st.binary(min_size=6, max_size=6)),
    st.builds(BluetoothLENode, st.binary(min_size=6, max_size=6), u(8)),
    st.builds(lambda v4: DnsNode.of(*v4), st.lists(IPV4, max_size=4)),
    st.builds(lambda v6: DnsNode.of(*v6), st.lists(IPV6, min_size=1, max_size=4)),
    st.builds(SasExNode, u(64), u(64), u(16), _topology_domain()),
    st.builds(SasNode, u(64), u(64), u(16), _topology_domain(), u(32)),
    st.builds(UartFlowControlNode, u(32)),
    st.sampled_from([PcAnsiNode(), Vt100Node(), Vt100PlusNode(), VtUtf8Node(), DebugPortNode()]),
)

# Any field values the binary form holds, including those the text cannot show.
BINARY_ANY: st.SearchStrategy[Node] = st.one_of(
    TEXT_EXACT,
    st.builds(AtaNode, u(8), u(8), u(16)),
    st.builds(FibreChannelNode, u(32), u(64), u(64)),
    st.builds(UartNode, u(32), u(64), u(8), u(8), u(8)),
    st.builds(MacAddressNode, st.binary(max_size=32), u(8)),
    st.builds(IPv4Node, IPV4, IPV4, u(16), u(8), u(16), u(16), IPV4, IPV4),
    st.builds(IPv4Node, IPV4, IPV4, u(16), u(8), u(16), u(16), st.none(), st.none()),
    st.builds(IPv6Node, IPV6, IPV6, u(16), u(8), u(16), u(16), u(8), IPV6),
    st.builds(IPv6Node, IPV6, IPV6, u(16), u(8), u(16), u(16), st.none(), st.none()),
    st.builds(IScsiNode, st.text(st.characters(min_codepoint=1, max_codepoint=0xFF)), u(16),
              u(64), u(16), u(16)),
    st.builds(UriNode, st.text(st.characters(max_codepoint=0xFF))),
    st.builds(DnsNode, u(8), st.lists(st.binary(min_size=16, max_size=16), max_size=3)
              .map(tuple)),
    st.builds(SasExNode, u(64), u(64), u(16), u(16)),
    st.builds(VendorNode, st.just(3), GUIDS, st.binary(max_size=40)),
)


@settings(max_examples=400)
@given(BINARY_ANY)
def test_decode_of_encode_is_identity(node: Node) -> None:
    payload = node.payload()
    assert decode_node(node.type_code, node.subtype_code, payload, 0) == node
    path = DevicePath((node,))
    assert DevicePath.from_bytes(path.to_bytes()) == path


@settings(max_examples=400)
@given(TEXT_EXACT)
def test_text_gives_back_the_node(node: Node) -> None:
    text = node.to_text()
    parsed = DevicePath.from_text(text)
    assert parsed.nodes == (node,), text
    assert parsed.to_text() == text


@settings(max_examples=300)
@given(BINARY_ANY)
def test_text_to_bytes_to_text_is_identity(node: Node) -> None:
    text = node.to_text()
    if "x" in text.split("(", 1)[1] and isinstance(node, UartNode):
        return  # edk2 prints an unknown parity/stop-bits code as 'x': nothing to read back
    if isinstance(node, (IScsiNode, UriNode)) and ("\x00" in text or "," in text or "/" in text
                                                   or "(" in text or ")" in text):
        return  # edk2 prints these strings raw, separators included
    if isinstance(node, IPv4Node) and node.gateway is None or (
            isinstance(node, IPv6Node) and node.gateway is None):
        return  # a UEFI 2.0-size node: its text reads back (as in edk2) as a full-size node
    again = DevicePath.from_text(text).to_text()
    assert again == text


# ---- edk2 quirks and efikit's lossless choices ---------------------------------------------

def _one(text: str) -> Node:
    nodes = DevicePath.from_text(text).nodes
    assert len(nodes) == 1
    return nodes[0]


def test_uart_default_reads_back_as_zero() -> None:
    node = UartNode(0, 0, 0, 0, 0)
    assert node.to_text() == "Uart(DEFAULT,DEFAULT,D,D)"
    assert _one("Uart(DEFAULT,DEFAULT,D,D)") == node
    assert _one("Uart(115200)") == UartNode(0, 115200, 0, 0, 0)


def test_uart_baud_above_int64_prints_negative_and_reads_back() -> None:
    node = UartNode(0, (1 << 64) - 2, 8, 1, 1)
    assert node.to_text() == "Uart(-2,8,N,1)"
    assert _one(node.to_text()) == node


def test_uart_stop_bits_names_and_numbers() -> None:
    assert _one("Uart(9600,7,E,1.5)").stop_bits == 2  # type: ignore[attr-defined]
    assert _one("Uart(9600,7,E,2)").stop_bits == 3  # type: ignore[attr-defined]
    assert _one("Uart(9600,7,E,0x2)").stop_bits == 2  # type: ignore[attr-defined]
    assert _one("Uart(9600,7,none,1)").parity == 1  # type: ignore[attr-defined]


def test_usb_wwid_empty_serial_prints_empty_quotes() -> None:
    node = UsbWwidNode(0x46D, 0xC52B, 0, "")
    assert node.to_bytes().hex() == "03100a0000006d042bc5"
    assert node.to_text() == 'UsbWwid(0x46D,0xC52B,0x0,"")'
    assert _one(node.to_text()) == node


def test_usb_wwid_serial_may_hold_commas_and_has_optional_quotes() -> None:
    assert _one('UsbWwid(1,2,3,"a,b")') == UsbWwidNode(1, 2, 3, "a,b")
    assert _one("UsbWwid(1,2,3,SN1)") == UsbWwidNode(1, 2, 3, "SN1")


def test_usb_class_wildcards_and_aliases() -> None:
    assert _one("UsbClass()") == UsbClassNode()
    assert _one("UsbHID(,,,)") == UsbClassNode(0xFFFF, 0xFFFF, 3, 0xFF, 0xFF)
    assert _one("UsbIrdaBridge(0x66F,0x4200,0x0)") == UsbClassNode(0x66F, 0x4200, 0xFE, 2, 0)
    assert UsbClassNode(1, 2, 0xFE, 7, 1).to_text() == "UsbClass(0x1,0x2,0xFE,0x7,0x1)"


def test_ata_display_form_reads_as_lun() -> None:
    node = AtaNode(1, 1, 7)
    assert node.to_text(display_only=True) == "Ata(0x7)"
    assert _one("Ata(0x7)") == AtaNode(0, 0, 7)
    assert _one("Ata(Secondary)") == AtaNode(1, 0, 0)


def test_legacy_ipv4_and_ipv6_nodes_stay_typed() -> None:
    v4 = decode_node(3, 0x0C, bytes(15), 0)
    assert isinstance(v4, IPv4Node) and v4.gateway is None
    assert v4.to_text() == "IPv4(0.0.0.0,0x0,DHCP,0.0.0.0)"
    v6 = decode_node(3, 0x0D, bytes(39), 0)
    assert isinstance(v6, IPv6Node) and v6.prefix_length is None
    assert v6.to_text().endswith(",Static,0000:0000:0000:0000:0000:0000:0000:0000)")
    assert v4.payload() == bytes(15) and v6.payload() == bytes(39)


@pytest.mark.parametrize("text", ["IPv4(1.2.3.4:15.6.7.8:2,6,1)", "IPv4(0.0.0.00.0.0.0,0,0)",
                                  "IPv6([120:b80d:::100]:<->[120:b80d:::500]:,11,1)",
                                  "IPv6([::]:<->[::]:,0,0)"])
def test_efibootmgr_ip_forms_are_refused(text: str) -> None:
    """efibootmgr's IPv4/IPv6 text drops the gateway (and mask or prefix length): the edk2
    reading refuses it rather than fill them in (issue 10: no guessing)."""
    with pytest.raises(TextParseError, match="efibootmgr's text") as caught:
        DevicePath.from_text(text)
    assert caught.value.column == 6


@pytest.mark.parametrize(("text", "expected"), [
    ("Sata(0,65535,0)", "Sata(0x0,0xFFFF,0x0)"),
    ("MAC(525400123456,1)", "MAC(525400123456,0x1)"),
    ("MAC(52:54:00:12:34:56,1)", "MAC(525400123456,0x1)"),
    ("NVMe(0x1,3a-5a-27-02-30-00-0f-a6)", "NVMe(0x1,3A-5A-27-02-30-00-0F-A6)"),
    ("NVMe(1,3A5A270230000FA6)", "NVMe(0x1,3A-5A-27-02-30-00-0F-A6)"),
    ("SCSI(0,3)", "Scsi(0x0,0x3)"),
    ("USB(11,1)", "USB(0xB,0x1)"),
    ("Ata(1,1,3)", "Ata(Secondary,Slave,0x3)"),
    ("UFS(1,0x02)", "UFS(0x1,0x2)"),
    ("I1394(0x301bfffe04a5c2)", "I1394(00301BFFFE04A5C2)"),
    ("Bluetooth(00:11:22:33:44:55)", "Bluetooth(001122334455)"),
    ("BluetoothLE(00:11:22:33:44:55,1)", "BluetoothLE(001122334455,0x01)"),
    ("UartFlowControl(Hardware)", "VenMsg(37499A9D-542F-4C89-A026-35DA142094E4,01000000)"),
    ("iSCSI(iqn.x:t1,1,0x5,CRC32,None,CHAP_UNI,TCP)",
     "iSCSI(iqn.x:t1,0x1,0x0000000000000005,CRC32C,None,CHAP_UNI,TCP)"),
    ("Wi-Fi(48:6f:6d:65" + ":00" * 28 + ")", "Wi-Fi(Home)"),
    ("VenVt100()", "VenMsg(DFA66065-B419-11D3-9A2D-0090273FC14D)"),
])
def test_efibootmgr_and_pasted_spellings(text: str, expected: str) -> None:
    assert DevicePath.from_text(text).to_text() == expected


def test_venmsg_with_well_known_guid_parses_to_typed_node() -> None:
    assert _one("VenMsg(dfa66065-b419-11d3-9a2d-0090273fc14d)") == Vt100Node()
    assert _one("VenMsg(37499A9D-542F-4C89-A026-35DA142094E4,02000000)") == \
        UartFlowControlNode(flow_control_map=2)
    # A known GUID with unexpected data stays a generic vendor node.
    odd = _one("VenMsg(DFA66065-B419-11D3-9A2D-0090273FC14D,00)")
    assert type(odd) is VendorNode and odd.data == b"\0"


def test_sas_keyword_matches_edk2_bytes() -> None:
    node = _one("SAS(0x5000c50012345678,0x0,0x0,SAS,Internal,3,0x2,0x0)")
    assert isinstance(node, SasNode) and node.device_topology == 0x1C2
    assert node.to_bytes().hex() == ("030a2c00b4dd87d48b00d911afdc001083ffca4d00000000785634120"
                                     "0c500500000000000000000c2010000")


def test_non_ascii_bytes_survive_in_strings() -> None:
    for node in (UriNode("http://h/\xe9\xff"), WiFiNode("caf\xe9"), IScsiNode("iqn.\xe4", 1)):
        data = DevicePath((node,)).to_bytes()
        back = DevicePath.from_bytes(data)
        assert back.nodes == (node,)
        assert DevicePath.from_text(back.to_text()).to_bytes() == data


def test_uri_may_hold_commas() -> None:
    assert _one("Uri(http://h/a,b?c=d)") == UriNode("http://h/a,b?c=d")


def test_dns_empty_is_a_node() -> None:
    assert _one("Dns()") == DnsNode(0, ())
    assert DnsNode(0, ()).to_text() == "Dns()"


@pytest.mark.parametrize(("node_type", "subtype", "payload"), [
    (3, 0x10, bytes(7)),  # UsbWwid with an odd-length serial
    (3, 0x10, bytes(6) + b"\x00\xd8"),  # UsbWwid with a lone surrogate
    (3, 0x13, bytes(14) + b"abc"),  # iSCSI name without its NUL
    (3, 0x1F, bytes(5)),  # DNS with a partial address
    (3, 0x0B, bytes(32)),  # MAC one byte short
    (3, 0x0C, bytes(20)),  # IPv4 of neither known size
    (3, 0x1C, bytes(31)),  # Wi-Fi SSID short
])
def test_odd_payloads_stay_raw(node_type: int, subtype: int, payload: bytes) -> None:
    node = decode_node(node_type, subtype, payload, 0)
    assert isinstance(node, RawNode)
    assert node.payload() == payload


@pytest.mark.parametrize("node", [
    WiFiNode("x" * 33),
    WiFiNode("\u0100"),
    UriNode("\u20ac"),
    MacAddressNode(b"\0" * 6, 300),
    BluetoothNode(b"\0" * 5),
    UsbNode(256, 0),
    NvmeNode(0, 1 << 64),
    DnsNode(0, (b"\0" * 4,)),
])
def test_unencodable_values_raise_encode_error(node: Node) -> None:
    with pytest.raises(EncodeError):
        node.to_bytes()


def test_mac_address_longer_than_32_bytes_is_refused() -> None:
    with pytest.raises(EncodeError):
        MacAddressNode(bytes(33))


# ---- parse errors name the column ----------------------------------------------------------

@pytest.mark.parametrize(("text", "bad"), [
    ("Sata(0x1,zz,0)", "zz"),
    ("USB(256,0)", "256"),
    ("Scsi(0x1,0x10000)", "0x10000"),
    ("PciRoot(0x0)/Pci(0x1,0x0)/NVMe(0x1,00-11)", "00-11"),
    ("NVMe(0x1,00-11-22-33-44-55-66-GG)", "00-11-22"),
    ("IPv4(300.1.1.1)", "300.1.1.1"),
    ("IPv4(10.0.0.1,TCP,Sometimes)", "Sometimes"),
    ("IPv4(10.0.0.1,XTP)", "XTP"),
    ("IPv6(2001:db8::g)", "2001:db8::g"),
    ("IPv6(::1,TCP,Static,::1,0x100)", "0x100"),
    ("MAC(zz,0x1)", "zz"),
    ("MAC(,0x1)", ",0x1"),
    ("MAC(001122334455,0x6)", "001122334455"),
    ("MAC(0011223344,0x1)", "0011223344"),
    ("Bluetooth(0011)", "0011"),
    ("Wi-Fi(" + "x" * 33 + ")", "x" * 33),
    ("Uart(115200,8,Q,1)", "Q,"),
    ("Uart(fast,8,N,1)", "fast"),
    ("Uart(115200,8,N,3.5)", "3.5"),
    ("SasEx(0x1,0x0,0x0,SAS,Elsewhere,Direct,0)", "Elsewhere"),
    ("SasEx(0x1,0x0,0x0,SAS,Internal,Direct,257)", "257"),
    ("SasEx(0x1,0x0,0x0,NoTopology,1,0,0)", "1,0,0"),
    ("iSCSI(iqn.x,0x1,0x0,MD5)", "MD5"),
    ("iSCSI(iqn.x,0x1,0x0,None,None,Kerberos)", "Kerberos"),
    ("Dns(1.1.1.1,::1)", "::1"),
    ("Dns(1.1.1.1:53)", "1.1.1.1:53"),
    ("UartFlowCtrl(Sometimes)", "Sometimes"),
    ("UsbHID(0x1,0x2,0x3,0x4,0x5)", "0x5"),
    ("VenPcAnsi(1)", "1"),
    ("Infiniband(0x0,not-a-guid)", "not-a-guid"),
    ("Vlan(65536)", "65536"),
    ("IPv4(1.2.3.100.6.7.8,6,1)", "1.2.3.100"),
])
def test_parse_errors_name_the_column(text: str, bad: str) -> None:
    with pytest.raises(TextParseError) as caught:
        DevicePath.from_text(text)
    assert caught.value.column == text.index(bad) + 1, caught.value
    assert caught.value.expected
