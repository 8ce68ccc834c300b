"""Error quality: bad device-path text names the column and what was expected; bad bytes
raise DecodeError with the offset of the fault. Never anything but efikit errors."""
from __future__ import annotations

import pytest

from efikit.codec.devpath import DevicePath
from efikit.errors import DecodeError, Error, TextParseError

# text, 1-based column of the fault, a piece of the "expected ..." message
TEXT_ERRORS = [
    # parentheses
    ("Pci(0x1,0x0", 4, "')' closing this '('"),
    ("PciRoot(0x0)/Pci(0x1,0x0", 17, "')' closing this '('"),
    ("Pci(0x1,(0x0)", 4, "')' closing this '('"),
    ("Pci(0x1,0x0))", 13, "'(' before this ')'"),
    ("PciRoot(0x0)/Pci(0x1,0x0))/\\x.efi", 26, "'(' before this ')'"),
    (")Pci(0x0,0x0)", 1, "not ')'"),
    ("(Pci(0x0,0x0)", 1, "not '('"),
    # numbers
    ("Pci(0xZZ,0x0)", 5, "device as a number"),
    ("PciRoot(0x0)/Pci(0x1,zero)", 22, "function as a number"),
    ("Pci(0x1,256)", 9, "function as a number from 0 to 0xff"),
    ("Pci(-1,0)", 5, "device as a number"),
    ("Ctrl(0x100000000)", 6, "controller number as a number from 0 to 0xffffffff"),
    ("PcCard(1.5)", 8, "function number"),
    ("MemoryMapped(0xB,0x1000,end)", 25, "ending address"),
    ("BMC(0x1,0xCAG)", 9, "base address in hexadecimal"),
    ("AcpiAdr(0x1,,0x2)", 13, "not an empty one"),
    ("Offset(0x0,0x10000000000000000)", 12, "ending offset"),
    ("CDROM(0x0,0x1,size)", 15, "partition size"),
    ("VirtualDisk(0x0,0x1000,65536)", 24, "instance"),
    ("BBS(HD,disk,flags)", 13, "status flags"),
    ("HD(1,MBR,0x1234567890,0x800,0x1000)", 10, "MBR disk signature"),
    ("HD(x,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1000)", 4, "partition number"),
    ("Path(256,1)", 6, "type as a number"),
    ("HardwarePath(1,0G)", 16, "data as hex digits"),
    ("HardwarePath(1,012)", 16, "even number of hex digits"),
    ("Path(0x7F,0xFF,00)", 16, "End-of-path"),
    # GUIDs and ids
    ("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A)", 4, "GUID as 8-4-4-4-12"),
    ("HD(1,GPT,1234,0x800,0x1000)", 10, "partition GUID"),
    ("Pci(0x0,0x0)/FvFile({462CAA21-7614-4503-836E-8AB6F466233X})", 21, "GUID"),
    ("VenHw(not-a-guid,00)", 7, "GUID"),
    ("RamDisk(0x0,0x1000,0,77AB535A-45FC-624B-5560)", 22, "disk type GUID"),
    ("Acpi(PNP0A0,0x0)", 6, "EISA id"),
    ("AcpiEx(PNP0A08,XYZ,0x0,,,)", 16, "CID as a compressed EISA id"),
    ("AcpiExp(PNP0A08,0,\u00e9)", 19, "printable ASCII"),
    ("BBS(HD,caf\u00e9,0x0)", 8, "printable ASCII"),
    # argument counts
    ("Pci(1,2,3)", 9, "at most 2 arguments"),
    ("PciRoot(0x0,0x1)", 13, "at most 1 argument"),
]


@pytest.mark.parametrize(("text", "column", "expected"), TEXT_ERRORS, ids=[t[0] for t in TEXT_ERRORS])
def test_text_error_names_column_and_expectation(text: str, column: int, expected: str) -> None:
    with pytest.raises(TextParseError) as caught:
        DevicePath.from_text(text)
    error = caught.value
    assert error.column == column, str(error)
    assert expected in error.expected, str(error)
    assert error.text == text
    assert f"column {column}" in str(error)
    assert error.exit_code == 2


@pytest.mark.parametrize(("pasted", "expected"), [
    # efibootmgr / libefivar spellings
    ("HD(1,GPT,927f5841-dc54-4ff4-821c-d29b59c48ab1,0x800,0x1ff800)/File(\\EFI\\FEDORA\\SHIM.EFI)",
     "HD(1,GPT,927F5841-DC54-4FF4-821C-D29B59C48AB1,0x800,0x1FF800)/\\EFI\\FEDORA\\SHIM.EFI"),
    ("FvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)",
     "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)"),
    ("BIOS(2,0,00)", "BBS(HD,,0x0)"),
    ("BBS(HD,VirtScsi(0,3,0) Disk,0x0)", "BBS(HD,VirtScsi(0,3,0) Disk,0x0)"),
    # edk2's Strtoi and friends
    ("Pci(00x1F,002)", "Pci(0x1F,0x2)"),
    ("Acpi(pnp0a03,0)", "PciRoot(0x0)"),
    ("BMC(1,ca2)", "BMC(0x1,0xCA2)"),
    ("HD(-1,MBR,0x1,0x2,0x3)", "HD(-1,MBR,0x00000001,0x2,0x3)"),
    ("Pci(0x0,0x0)/Path(127,1)/Pci(0x1,0x0)", "Pci(0x0,0x0),/Pci(0x1,0x0)"),
    ("PciRoot(0x0)/Path(0x7F,0xFF)/Pci(0x1,0x0)", "PciRoot(0x0)/Pci(0x1,0x0)"),
    ("HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1000)/EFI/BOOT/BOOTX64.EFI",
     "HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1000)/EFI/BOOT/BOOTX64.EFI"),
])
def test_pasted_spellings(pasted: str, expected: str) -> None:
    assert DevicePath.from_text(pasted).to_text() == expected


@pytest.mark.parametrize("text", ["Pci", "bootx64.efi", "\\EFI\\(odd) name.efi",
                                  "\\Pci(0x1,0x0)", "\\EFI\\x.efi (old)"])
def test_plain_paths_are_file_paths_like_edk2(text: str) -> None:
    path = DevicePath.from_text(text)
    assert path.file_path() == text


# issue 10: edk2 turns these into file-path nodes; efikit refuses, naming the column
NOT_NODES = [
    ("Foo(1,2)", 1, "not 'Foo'"),
    ("EDD10(0x80)", 1, "not 'EDD10'"),
    ("PciRoot(0x0)/Pcie(0x1,0x0)", 14, "did you mean Pci"),
    ("HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x1,0x2)/VenHW2(x)", 56, "not 'VenHW2'"),
    ("Pci(0x1,0x0)junk", 13, "'/' or ',' after ')'"),
    ("x(1).efi", 5, "'/' or ',' after ')'"),
    ("PciRoot(0x0)//Pci(0x1,0x0)", 14, "a single '/' before the Pci(...) node"),
]


@pytest.mark.parametrize(("text", "column", "expected"), NOT_NODES, ids=[t[0] for t in NOT_NODES])
def test_text_shaped_like_a_node_is_refused(text: str, column: int, expected: str) -> None:
    with pytest.raises(TextParseError) as caught:
        DevicePath.from_text(text)
    assert caught.value.column == column, str(caught.value)
    assert expected in caught.value.expected, str(caught.value)


# hex, offset of the fault, reason
DECODE_ERRORS = [
    ("", 0, "no End-of-path node"),
    ("01010600001f", 6, "no End-of-path node"),
    ("7fff04", 0, "truncated device-path node header"),
    ("01010600001f7f", 6, "truncated device-path node header"),
    ("0101", 0, "truncated device-path node header"),
    ("010103000000", 0, "length is less than 4"),
    ("01010600001f010100007fff0400", 6, "length is less than 4"),
    ("01010600001f01010a0000007fff", 6, "runs past the end"),
    ("0101ff00", 0, "runs past the end"),
    ("01010600001f7fff0400aa", 10, "after the End-of-path node"),
    ("040407004100427fff0400", 4, "odd-length UCS-2"),
]


@pytest.mark.parametrize(("hex_data", "offset", "reason"), DECODE_ERRORS,
                         ids=[d[0] or "empty" for d in DECODE_ERRORS])
def test_decode_error_has_offset_and_reason(hex_data: str, offset: int, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        DevicePath.from_bytes(bytes.fromhex(hex_data))
    assert caught.value.offset == offset, str(caught.value)
    assert reason in caught.value.reason
    assert f"offset {offset}" in str(caught.value)


def test_decode_at_reports_offsets_in_the_callers_buffer() -> None:
    data = b"\xAA" * 10 + bytes.fromhex("01010600001f0101")
    with pytest.raises(DecodeError) as caught:
        DevicePath.decode_at(data, 10, len(data))
    assert caught.value.offset == 16


def test_odd_sized_known_nodes_survive_as_raw_nodes() -> None:
    # A Pci node with a trailing byte, an HD node one byte short, BBS without its NUL.
    for hex_data in ("010107000002ff", "040129" + "00" * 38, "05010c000200000041424344"):
        data = bytes.fromhex(hex_data) + bytes.fromhex("7fff0400")
        path = DevicePath.from_bytes(data)
        assert path.to_bytes() == data
        assert DevicePath.from_text(path.to_text()).to_bytes() == data


def test_only_efikit_errors_escape_on_garbage_text() -> None:
    for text in ["(", ")", "((", "Pci(", "HD(,,,,)", "AcpiAdr(,)", "BBS()", "BBS(,,)",
                 "RamDisk()", "Acpi()", "AcpiEx()", "AcpiExp()", "Path()", "Path(1)",
                 "VenHw()", "MemoryMapped(,,)", "Offset(,)", "CDROM()", "BMC(,)", "Fv()"]:
        try:
            DevicePath.from_text(text)
        except Error:
            pass


def test_unencodable_node_values_raise_encode_error() -> None:
    from efikit.codec.devpath import (AcpiAdrNode, AcpiExNode, BbsNode, FilePathNode,
                                      MemoryMappedNode, PciNode)
    from efikit.errors import EncodeError

    for node in [PciNode(device=256, function=0), MemoryMappedNode(-1, 0, 0),
                 BbsNode(2, "caf\u00e9"), BbsNode(2, "half (open"), AcpiAdrNode(()),
                 AcpiExNode(hid=0x8000, cid=0, uid=0), AcpiExNode(0, 0, 0, hid_str="a,b"),
                 FilePathNode("a\0b")]:
        with pytest.raises(EncodeError):
            DevicePath((node,)).to_bytes()
