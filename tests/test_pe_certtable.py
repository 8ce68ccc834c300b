"""Certificate table, PE checksum and header layout."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import pefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require_file
from efikit.errors import PEFormatError
from efikit.pe.certtable import (WIN_CERT_TYPE_EFI_GUID, WIN_CERT_TYPE_PKCS_SIGNED_DATA,
                                 encode_win_certificate, parse_cert_table, read_cert_table,
                                 security_directory)
from efikit.pe.checksum import compute_checksum
from efikit.pe.layout import read_layout, read_layout_path
from test_pe_support import DEBIAN_LOADERS, FIXTURES_PE


def test_security_directory_location() -> None:
    layout = read_layout_path(FIXTURES_PE / "boot-a.efi")
    location = security_directory(layout)
    assert location.present
    assert location.entry_offset == layout.optional_header_offset + 112 + 4 * 8
    assert location.end == layout.file_size
    unsigned = security_directory(read_layout_path(FIXTURES_PE / "uki-unsigned.efi"))
    assert not unsigned.present and unsigned.entry_offset == location.entry_offset


def test_entries_have_absolute_offsets() -> None:
    path = require_file(DEBIAN_LOADERS["shim"])
    with open(path, "rb") as f:
        layout = read_layout(f)
        location, entries = read_cert_table(f, layout)
        assert [e.index for e in entries] == [0, 1]
        assert entries[0].offset == location.offset
        assert entries[1].offset == entries[0].end
        for entry in entries:
            f.seek(entry.offset)
            length, revision, cert_type = struct.unpack("<IHH", f.read(8))
            assert (length, revision, cert_type) == (entry.length, 0x200,
                                                    WIN_CERT_TYPE_PKCS_SIGNED_DATA)
            assert entry.data_offset == entry.offset + 8
            assert len(entry.data) == entry.length - 8


def test_encode_roundtrip() -> None:
    first = encode_win_certificate(WIN_CERT_TYPE_EFI_GUID, b"\x11" * 16 + b"slot=B")
    second = encode_win_certificate(WIN_CERT_TYPE_PKCS_SIGNED_DATA, b"\x30\x00")
    assert len(first) % 8 == 0 and len(second) % 8 == 0
    entries = parse_cert_table(first + second, base_offset=0x1000)
    assert [e.type_name for e in entries] == ["EFI_GUID", "PKCS_SIGNED_DATA"]
    assert entries[0].data == b"\x11" * 16 + b"slot=B"
    assert entries[1].offset == 0x1000 + len(first)
    assert entries[1].data == b"\x30\x00"


@pytest.mark.parametrize("table,message", [
    (struct.pack("<IHH", 0, 0x200, 2), "dwLength 0"),
    (struct.pack("<IHH", 100, 0x200, 2), "longer than the 8 bytes left"),
    (struct.pack("<IHH", 8, 0x999, 2), "unknown revision"),
    (encode_win_certificate(2, b"ab") + b"\x01\x02", "stray bytes"),
])
def test_bad_tables(table: bytes, message: str) -> None:
    with pytest.raises(PEFormatError, match=message):
        parse_cert_table(table)


def test_zero_tail_padding_is_tolerated() -> None:
    assert len(parse_cert_table(encode_win_certificate(2, b"ab") + b"\0\0\0\0")) == 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_parse_cert_table_total(table: bytes) -> None:
    try:
        entries = parse_cert_table(table)
    except PEFormatError:
        return
    for entry in entries:
        assert 8 <= entry.length and entry.offset + entry.length <= len(table)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=0, max_size=5000), offset=st.integers(0, 4996))
def test_checksum_matches_pefile(data: bytes, offset: int) -> None:
    offset = min(offset, max(len(data) - 4, 0)) & ~3
    if len(data) < offset + 4:
        data = data + bytes(offset + 4 - len(data))

    class FakeLayout:
        file_size = len(data)
        checksum_offset = offset

    # pefile's reference implementation needs a PE; compute it the long way instead.
    padded = data[:offset] + b"\0\0\0\0" + data[offset + 4:]
    padded += bytes(-len(padded) % 4)
    total = 0
    for (dword,) in struct.iter_unpack("<I", padded):
        total = (total & 0xFFFFFFFF) + dword + (total >> 32)
        if total > 2**32:
            total = (total & 0xFFFFFFFF) + (total >> 32)
    total = (total & 0xFFFF) + (total >> 16)
    total = total + (total >> 16)
    expected = (total & 0xFFFF) + len(data)
    assert compute_checksum(io.BytesIO(data), FakeLayout()) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("which", sorted(DEBIAN_LOADERS))
def test_checksum_of_debian_loaders(which: str) -> None:
    path = require_file(DEBIAN_LOADERS[which])
    layout = read_layout_path(path)
    with open(path, "rb") as f:
        assert compute_checksum(f, layout) == layout.stored_checksum
    pe = pefile.PE(str(path), fast_load=True)
    try:
        assert pe.generate_checksum() == layout.stored_checksum
    finally:
        pe.close()


def test_layout_fields() -> None:
    layout = read_layout_path(FIXTURES_PE / "uki-unsigned.efi")
    assert layout.is_pe32_plus and layout.sections_contiguous
    assert layout.sum_of_bytes_hashed == layout.file_size
    assert [s.name for s in layout.sections_by_file_offset][:2] == [".text", ".sbat"]


def test_headers_beyond_the_header_limit(tmp_path: Path) -> None:
    # e_lfanew near the 1 MiB header window: the section table would lie past it.
    data = bytearray((FIXTURES_PE / "loader-unsigned.efi").read_bytes())
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    headers = bytes(data[pe:pe + 24 + 240])
    new_pe = (1 << 20) - len(headers) - 8
    image = bytearray(new_pe + len(headers) + 0x10000)
    image[:pe] = data[:pe]
    struct.pack_into("<I", image, 0x3C, new_pe)
    image[new_pe:new_pe + len(headers)] = headers
    path = tmp_path / "far.efi"
    path.write_bytes(bytes(image))
    with pytest.raises(PEFormatError, match="limit for headers"):
        read_layout_path(path)


def test_checksum_with_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import efikit.pe.checksum as checksum_module
    path = FIXTURES_PE / "boot-a.efi"
    layout = read_layout_path(path)
    for chunk in (7, 64, 215, 216, 217, 218, 219, 220, 221):  # CheckSum field at 0xd8 = 216
        monkeypatch.setattr(checksum_module, "_CHUNK", chunk)
        with open(path, "rb") as f:
            assert compute_checksum(f, layout) == layout.stored_checksum, chunk


@pytest.mark.parametrize("name,symbols,expected", [
    ("/\u00b2".encode(), (0x800, 0), "/\u00b2"),   # a non-ASCII digit is not an offset
    (b"/4", (0xFFFFFF00, 0), "/4"),                # string table past the end of the file
    (b"/4", (0x800, 0x7FFFFFFF), "/4"),            # absurd symbol count
    (b"/999999", (0x800, 0), "/999999"),           # offset past the string table
])
def test_bad_long_section_names_stay_raw(tmp_path: Path, name: bytes,
                                         symbols: tuple[int, int], expected: str) -> None:
    data = bytearray((FIXTURES_PE / "loader-unsigned.efi").read_bytes())
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    struct.pack_into("<II", data, pe + 4 + 8, *symbols)
    table = pe + 24 + 240
    data[table:table + 8] = name.ljust(8, b"\0")
    path = tmp_path / "names.efi"
    path.write_bytes(bytes(data))
    assert read_layout_path(path).sections[0].name == expected
