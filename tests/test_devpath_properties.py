"""Property tests for the non-messaging device-path nodes and the path framework:
decode(encode(x)) == x, and text → path → text is the identity."""
from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from efikit.codec.devpath import (
    AcpiAdrNode,
    AcpiExNode,
    AcpiNode,
    BbsNode,
    BmcNode,
    CdromNode,
    ControllerNode,
    DevicePath,
    EndInstanceNode,
    FilePathNode,
    FvFileNode,
    FvNode,
    HardDriveNode,
    MediaProtocolNode,
    MemoryMappedNode,
    Node,
    PcCardNode,
    PciNode,
    RamDiskNode,
    RawNode,
    RelativeOffsetNode,
    VendorNode,
)
from efikit.codec.devpath.base import _DECODERS
from efikit.codec.devpath.nodes_media import RAM_DISK_ALIASES

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
guids = st.builds(uuid.UUID, int=st.integers(0, (1 << 128) - 1))
eisa_ids = u32.map(lambda value: value & ~0x8000)  # bit 15 has no place in the text form

# Printable ASCII with no ',' and no parentheses (balanced ones are allowed, but simpler).
safe_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                   blacklist_characters=",()"), max_size=24)
# BBS descriptions may even hold commas and balanced parentheses.
bbs_text = st.lists(st.one_of(safe_ascii, st.just(","), safe_ascii.map(lambda s: f"({s})")),
                    max_size=4).map("".join)
file_names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFFFD,
                                   blacklist_categories=("Cs",),
                                   blacklist_characters="/,()\0"), min_size=1, max_size=40)

hardware_nodes = st.one_of(
    st.builds(PciNode, device=u8, function=u8),
    st.builds(PcCardNode, u8),
    st.builds(MemoryMappedNode, u32, u64, u64),
    st.builds(ControllerNode, u32),
    st.builds(BmcNode, u8, u64),
    st.builds(VendorNode, st.just(1), guids, st.binary(max_size=24)),
)
acpi_nodes = st.one_of(
    st.builds(AcpiNode, u32, u32),
    st.builds(AcpiExNode, hid=eisa_ids, cid=eisa_ids, uid=u32, hid_str=safe_ascii,
              uid_str=safe_ascii, cid_str=safe_ascii),
    st.builds(AcpiAdrNode, st.lists(u32, min_size=1, max_size=6).map(tuple)),
)
hard_drives = st.one_of(
    st.builds(HardDriveNode.gpt, u32, guids, u64, u64),
    st.builds(HardDriveNode.mbr, u32, u32, u64, u64),
    st.builds(HardDriveNode, u32, u64, u64, st.just(bytes(16)), st.just(0),
              st.integers(0, 0xFF).filter(lambda t: t not in (1, 2))),
)
media_nodes = st.one_of(
    hard_drives,
    st.builds(CdromNode, u32, u64, u64),
    st.builds(VendorNode, st.just(4), guids, st.binary(max_size=24)),
    st.builds(FilePathNode, file_names),
    st.builds(MediaProtocolNode, guids),
    st.builds(FvFileNode, guids),
    st.builds(FvNode, guids),
    st.builds(RelativeOffsetNode, u64, u64),
    st.builds(RamDiskNode, u64, u64, st.one_of(guids, st.sampled_from(list(RAM_DISK_ALIASES))),
              u16),
)
bbs_nodes = st.builds(BbsNode, u16, bbs_text, u16)


@st.composite
def raw_nodes(draw: st.DrawFn) -> RawNode:
    """Nodes no decoder claims: unknown types and subtypes, and odd End nodes."""
    node_type = draw(st.integers(1, 0xFF).filter(lambda t: t != 0x7F) | st.just(0x7F))
    subtype = draw(u8)
    data = draw(st.binary(max_size=24))
    if node_type == 0x7F:
        subtype = draw(st.integers(2, 0xFE)) if not data else draw(st.integers(1, 0xFE))
    elif (node_type, subtype) in _DECODERS:
        subtype = draw(st.integers(0x80, 0xFF).filter(lambda s: (node_type, s) not in _DECODERS))
    return RawNode(node_type, subtype, data)


our_nodes = st.one_of(hardware_nodes, acpi_nodes, media_nodes, bbs_nodes, raw_nodes())


@st.composite
def device_paths(draw: st.DrawFn) -> DevicePath:
    instances = draw(st.lists(st.lists(our_nodes, min_size=1, max_size=5), min_size=1,
                              max_size=3))
    nodes: list[Node] = []
    for index, instance in enumerate(instances):
        if index:
            nodes.append(EndInstanceNode())
        nodes.extend(instance)
    return DevicePath(tuple(nodes))


def _blank_edged(name: str) -> bool:
    return name != name.strip() or "\ufeff" in (name[0], name[-1])


@given(our_nodes)
@settings(max_examples=600)
def test_node_decode_encode(node: Node) -> None:
    path = DevicePath((node,))
    assert DevicePath.from_bytes(path.to_bytes()) == path


@given(our_nodes)
@settings(max_examples=600)
def test_node_text_round_trip(node: Node) -> None:
    path = DevicePath((node,))
    text = path.to_text()
    if not path.text_round_trips():
        # the one node these strategies build whose text cannot carry it: a file name with
        # blanks at an end, which the reader trims as a paste's
        assert isinstance(node, FilePathNode) and _blank_edged(node.path), text
        return
    again = DevicePath.from_text(text)
    assert again == path, text
    assert again.to_text() == text
    assert isinstance(path.to_text(display_only=True), str)


@given(device_paths())
@settings(max_examples=300)
def test_path_bytes_and_text_round_trip(path: DevicePath) -> None:
    data = path.to_bytes()
    assert DevicePath.from_bytes(data) == path
    text = path.to_text()
    if not path.text_round_trips():
        assert any(isinstance(node, FilePathNode) and _blank_edged(node.path)
                   for node in path.nodes), text
        return
    assert DevicePath.from_text(text).to_bytes() == data
    assert DevicePath.from_text(text).to_text() == text


@given(st.binary(max_size=120))
@settings(max_examples=1000)
def test_arbitrary_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    from efikit.errors import DecodeError
    try:
        path = DevicePath.from_bytes(data)
    except DecodeError:
        return
    assert path.to_bytes() == data
    path.to_text()
    path.to_text(display_only=True)


@st.composite
def framed_paths(draw: st.DrawFn) -> bytes:
    """Well-framed paths of random nodes of the known types: typed decoders see random
    payloads of plausible sizes."""
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        node_type = draw(st.sampled_from([1, 2, 4, 5, 0x7F]))
        subtype = draw(st.integers(0, 10))
        if node_type == 0x7F:
            subtype = 1
        size = draw(st.sampled_from([0, 1, 2, 4, 8, 9, 12, 16, 20, 34, 37, 38]) | st.integers(0, 48))
        payload = draw(st.binary(min_size=size, max_size=size))
        out += bytes((node_type, subtype)) + (4 + size).to_bytes(2, "little") + payload
    return out + b"\x7f\xff\x04\x00"


@given(framed_paths())
@settings(max_examples=800)
def test_random_payloads_round_trip_bytes_and_print(data: bytes) -> None:
    from efikit.errors import DecodeError, Error
    try:
        path = DevicePath.from_bytes(data)
    except DecodeError:
        return  # e.g. an odd-length file-path string
    assert path.to_bytes() == data
    text = path.to_text()
    path.to_text(display_only=True)
    if any(not instance for instance in path.instances):
        return  # an empty instance prints as ',' next to another separator: not readable
    if any(isinstance(node, FilePathNode) for node in path):
        # A file name can hold '/', ',' or parentheses, which edk2 prints verbatim.
        try:
            DevicePath.from_text(text)
        except Error:
            pass
        return
    again = DevicePath.from_text(text)
    assert again.to_text() == text
    if not any(isinstance(node, HardDriveNode) for node in path):
        # (HD's text has no place for MBRType or for the signature of unknown types.)
        assert again.to_bytes() == data


_FRAGMENTS = ["Pci(", "PciRoot(", "Acpi(", "AcpiEx(", "AcpiExp(", "AcpiAdr(", "HD(", "CDROM(",
              "BBS(", "BIOS(", "Offset(", "RamDisk(", "VirtualCD(", "MemoryMapped(", "BMC(",
              "Ctrl(", "PcCard(", "Path(", "HardwarePath(", "MediaPath(", "BbsPath(", "Fv(",
              "FvFile(", "Media(", "VenHw(", "VenMedia(", "File(", "GPT", "MBR", "PNP0A03",
              "0x", "0X", "00", "1", "7F", "FF", "-", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
              ",", "/", ")", "(", "\\", " ", "a", "\u00e9", "\0"]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map("".join))
@settings(max_examples=1500)
def test_any_text_parses_or_raises_efikit_errors_and_reaches_a_fixpoint(text: str) -> None:
    from efikit.errors import Error
    try:
        first = DevicePath.from_text(text).to_bytes()
    except Error:
        return
    printed = DevicePath.from_bytes(first).to_text()
    again = DevicePath.from_text(printed).to_bytes()
    assert DevicePath.from_bytes(again).to_text() == printed
