"""PE/COFF header layout, parsed and validated by efikit itself before anything trusts it.

pefile is lenient by design (it records warnings and carries on); the Authenticode hash and the
certificate table need offsets that are known to be inside the file and consistent with each
other, so this module reads the headers with explicit bounds checks and raises
``PEFormatError`` with a message that names the fault.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from efikit.fileio import open_regular_file
from efikit.errors import PEFormatError

PE32_MAGIC = 0x10B
PE32_PLUS_MAGIC = 0x20B

DOS_HEADER_SIZE = 64
COFF_HEADER_SIZE = 20
SECTION_HEADER_SIZE = 40
DATA_DIRECTORY_SIZE = 8
# Fixed part of the optional header (before the data directories), by magic.
OPTIONAL_FIXED_SIZE = {PE32_MAGIC: 96, PE32_PLUS_MAGIC: 112}
CHECKSUM_FIELD_OFFSET = 64  # within the optional header, same for PE32 and PE32+
SECURITY_DIRECTORY_INDEX = 4

# The PE specification's own limit (the Windows loader's) on the section count.
MAX_SECTIONS = 96
MAX_DATA_DIRECTORIES = 16
# Enough for every real header block (DOS stub + headers + 96 section headers); larger is absurd.
MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class DataDirectory:
    """One optional-header data directory; ``entry_offset`` is where its 8 bytes sit in the file."""

    index: int
    virtual_address: int
    size: int
    entry_offset: int


@dataclass(frozen=True)
class SectionHeader:
    """One section-table entry (``name`` decoded, a ``/N`` long name resolved; ``raw_name``
    is the 8 stored bytes)."""

    index: int
    name: str
    raw_name: bytes
    virtual_size: int
    virtual_address: int
    size_of_raw_data: int
    pointer_to_raw_data: int
    characteristics: int
    header_offset: int

    @property
    def raw_end(self) -> int:
        return self.pointer_to_raw_data + self.size_of_raw_data


@dataclass(frozen=True)
class PELayout:
    """The validated header fields and file offsets of a PE/COFF image."""

    file_size: int
    pe_offset: int
    machine: int
    number_of_sections: int
    time_date_stamp: int
    characteristics: int
    optional_header_offset: int
    size_of_optional_header: int
    magic: int
    address_of_entry_point: int
    image_base: int
    section_alignment: int
    file_alignment: int
    size_of_image: int
    size_of_headers: int
    checksum_offset: int
    stored_checksum: int
    subsystem: int
    dll_characteristics: int
    data_directories: tuple[DataDirectory, ...]
    sections: tuple[SectionHeader, ...]

    @property
    def is_pe32_plus(self) -> bool:
        return self.magic == PE32_PLUS_MAGIC

    @property
    def security_directory(self) -> DataDirectory | None:
        """Data directory 4 (the certificate table), or None when the header has no slot for it."""
        if len(self.data_directories) > SECURITY_DIRECTORY_INDEX:
            return self.data_directories[SECURITY_DIRECTORY_INDEX]
        return None

    @property
    def sections_by_file_offset(self) -> tuple[SectionHeader, ...]:
        """Sections with raw data, in PointerToRawData order (the Authenticode hashing order)."""
        with_data = [s for s in self.sections if s.size_of_raw_data > 0]
        return tuple(sorted(with_data, key=lambda s: (s.pointer_to_raw_data, s.index)))

    @property
    def sum_of_bytes_hashed(self) -> int:
        """SizeOfHeaders plus every section's SizeOfRawData: where Authenticode's trailer starts."""
        return self.size_of_headers + sum(s.size_of_raw_data for s in self.sections)

    @property
    def end_of_section_data(self) -> int:
        ends = [s.raw_end for s in self.sections if s.size_of_raw_data > 0]
        return max(ends, default=self.size_of_headers)

    @property
    def sections_contiguous(self) -> bool:
        """True when section data follows the headers without gaps (every tool then agrees)."""
        return self.sum_of_bytes_hashed == self.end_of_section_data


def _u16(buf: bytes, offset: int) -> int:
    return int(struct.unpack_from("<H", buf, offset)[0])


def _u32(buf: bytes, offset: int) -> int:
    return int(struct.unpack_from("<I", buf, offset)[0])


def _read_at(f: BinaryIO, offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length)


def read_layout(f: BinaryIO, file_size: int | None = None) -> PELayout:
    """Parse and validate the headers of the PE image in the seekable binary file ``f``."""
    if file_size is None:
        f.seek(0, os.SEEK_END)
        file_size = f.tell()
    if file_size < DOS_HEADER_SIZE:
        raise PEFormatError(f"truncated DOS header: file is {file_size} bytes, needs {DOS_HEADER_SIZE}")
    head = _read_at(f, 0, min(file_size, MAX_HEADER_BYTES))
    if head[:2] != b"MZ":
        raise PEFormatError("not a PE/COFF image: no 'MZ' DOS signature at offset 0")
    pe_offset = _u32(head, 0x3C)
    if pe_offset < 4 or pe_offset + 4 + COFF_HEADER_SIZE > file_size:
        raise PEFormatError(
            f"PE header at e_lfanew {pe_offset:#x} runs past the end of the file "
            f"({file_size:#x} bytes): truncated file or corrupt e_lfanew")
    if pe_offset + 4 + COFF_HEADER_SIZE > len(head):
        raise PEFormatError(f"e_lfanew {pe_offset:#x} is absurdly large")
    if head[pe_offset:pe_offset + 4] != b"PE\x00\x00":
        raise PEFormatError(f"no 'PE\\0\\0' signature at e_lfanew {pe_offset:#x}")

    coff = pe_offset + 4
    machine = _u16(head, coff)
    number_of_sections = _u16(head, coff + 2)
    time_date_stamp = _u32(head, coff + 4)
    size_of_optional_header = _u16(head, coff + 16)
    characteristics = _u16(head, coff + 18)
    if number_of_sections == 0:
        raise PEFormatError("COFF header declares no sections")
    if number_of_sections > MAX_SECTIONS:
        raise PEFormatError(
            f"absurd section count {number_of_sections} (the PE limit is {MAX_SECTIONS})")

    opt = coff + COFF_HEADER_SIZE
    if opt + 2 > len(head):
        raise PEFormatError(f"truncated optional header at {opt:#x}: file ends at {file_size:#x}")
    magic = _u16(head, opt)
    if magic not in OPTIONAL_FIXED_SIZE:
        raise PEFormatError(f"unknown optional header magic {magic:#06x} (expected 0x10b or 0x20b)")
    fixed = OPTIONAL_FIXED_SIZE[magic]
    if size_of_optional_header < fixed:
        raise PEFormatError(
            f"SizeOfOptionalHeader {size_of_optional_header} is smaller than the "
            f"{fixed}-byte fixed part of a {'PE32+' if magic == PE32_PLUS_MAGIC else 'PE32'} header")
    if opt + size_of_optional_header > len(head):
        raise PEFormatError(
            f"truncated optional header: it needs bytes up to {opt + size_of_optional_header:#x}, "
            f"file ends at {file_size:#x}")

    address_of_entry_point = _u32(head, opt + 16)
    if magic == PE32_PLUS_MAGIC:
        image_base = int(struct.unpack_from("<Q", head, opt + 24)[0])
    else:
        image_base = _u32(head, opt + 28)
    section_alignment = _u32(head, opt + 32)
    file_alignment = _u32(head, opt + 36)
    size_of_image = _u32(head, opt + 56)
    size_of_headers = _u32(head, opt + 60)
    stored_checksum = _u32(head, opt + CHECKSUM_FIELD_OFFSET)
    subsystem = _u16(head, opt + 68)
    dll_characteristics = _u16(head, opt + 70)
    number_of_rva_and_sizes = _u32(head, opt + fixed - 4)
    if number_of_rva_and_sizes > MAX_DATA_DIRECTORIES:
        raise PEFormatError(
            f"absurd NumberOfRvaAndSizes {number_of_rva_and_sizes} (at most {MAX_DATA_DIRECTORIES})")
    if fixed + number_of_rva_and_sizes * DATA_DIRECTORY_SIZE > size_of_optional_header:
        raise PEFormatError(
            f"{number_of_rva_and_sizes} data directories do not fit in SizeOfOptionalHeader "
            f"{size_of_optional_header}")
    if file_alignment == 0 or file_alignment & (file_alignment - 1):
        raise PEFormatError(f"FileAlignment {file_alignment:#x} is not a power of two")
    if section_alignment == 0 or section_alignment & (section_alignment - 1):
        raise PEFormatError(f"SectionAlignment {section_alignment:#x} is not a power of two")

    directories = []
    for index in range(number_of_rva_and_sizes):
        entry = opt + fixed + index * DATA_DIRECTORY_SIZE
        directories.append(DataDirectory(index, _u32(head, entry), _u32(head, entry + 4), entry))

    table = opt + size_of_optional_header
    table_end = table + number_of_sections * SECTION_HEADER_SIZE
    if table_end > file_size:
        raise PEFormatError(
            f"section table ({number_of_sections} entries at {table:#x}) runs past the end of "
            f"the file ({file_size:#x})")
    if table_end > len(head):
        raise PEFormatError(
            f"headers end at {table_end:#x}, past the {MAX_HEADER_BYTES:#x}-byte limit for headers")
    if size_of_headers < table_end:
        raise PEFormatError(
            f"SizeOfHeaders {size_of_headers:#x} is smaller than the headers it must cover "
            f"(they end at {table_end:#x})")
    if size_of_headers > file_size:
        raise PEFormatError(
            f"SizeOfHeaders {size_of_headers:#x} is past the end of the file ({file_size:#x})")

    symbol_table, number_of_symbols = struct.unpack_from("<II", head, coff + 8)
    sections = []
    for index in range(number_of_sections):
        at = table + index * SECTION_HEADER_SIZE
        raw_name = head[at:at + 8]
        virtual_size, virtual_address, size_of_raw_data, pointer_to_raw_data = struct.unpack_from(
            "<IIII", head, at + 8)
        sections.append(SectionHeader(
            index=index,
            name=_section_name(f, file_size, raw_name, symbol_table, number_of_symbols),
            raw_name=raw_name,
            virtual_size=virtual_size,
            virtual_address=virtual_address,
            size_of_raw_data=size_of_raw_data,
            pointer_to_raw_data=pointer_to_raw_data,
            characteristics=_u32(head, at + 36),
            header_offset=at,
        ))

    layout = PELayout(
        file_size=file_size,
        pe_offset=pe_offset,
        machine=machine,
        number_of_sections=number_of_sections,
        time_date_stamp=time_date_stamp,
        characteristics=characteristics,
        optional_header_offset=opt,
        size_of_optional_header=size_of_optional_header,
        magic=magic,
        address_of_entry_point=address_of_entry_point,
        image_base=image_base,
        section_alignment=section_alignment,
        file_alignment=file_alignment,
        size_of_image=size_of_image,
        size_of_headers=size_of_headers,
        checksum_offset=opt + CHECKSUM_FIELD_OFFSET,
        stored_checksum=stored_checksum,
        subsystem=subsystem,
        dll_characteristics=dll_characteristics,
        data_directories=tuple(directories),
        sections=tuple(sections),
    )
    _check_sections(layout)
    _check_security_directory(layout)
    return layout


COFF_SYMBOL_SIZE = 18
MAX_LONG_NAME = 256


def _section_name(f: BinaryIO, file_size: int, raw_name: bytes, symbol_table: int,
                  number_of_symbols: int) -> str:
    """The section name; a ``/N`` name (GNU ld) is looked up in the COFF string table.

    Display only: when the string table is absent or the offset is bad, the ``/N`` stays.
    """
    short = raw_name.rstrip(b"\x00").decode("utf-8", "replace")
    if not (short.startswith("/") and short[1:].isascii() and short[1:].isdigit()
            and symbol_table):
        return short
    strings = symbol_table + number_of_symbols * COFF_SYMBOL_SIZE
    if strings + 4 > file_size:
        return short
    f.seek(strings)
    table_size = int(struct.unpack("<I", f.read(4))[0])
    offset = int(short[1:])
    if not 4 <= offset < table_size or strings + offset >= file_size:
        return short
    f.seek(strings + offset)
    name = f.read(MAX_LONG_NAME).split(b"\x00", 1)[0]
    return name.decode("utf-8", "replace") if name else short


def _check_sections(layout: PELayout) -> None:
    previous: SectionHeader | None = None
    for section in layout.sections_by_file_offset:
        if section.pointer_to_raw_data < layout.size_of_headers:
            raise PEFormatError(
                f"section {section.index} ({section.name!r}) data at {section.pointer_to_raw_data:#x} "
                f"overlaps the headers (SizeOfHeaders {layout.size_of_headers:#x})")
        if section.raw_end > layout.file_size:
            raise PEFormatError(
                f"section {section.index} ({section.name!r}) data {section.pointer_to_raw_data:#x}"
                f"+{section.size_of_raw_data:#x} runs past the end of the file ({layout.file_size:#x})")
        if previous is not None and section.pointer_to_raw_data < previous.raw_end:
            raise PEFormatError(
                f"sections {previous.index} ({previous.name!r}) and {section.index} "
                f"({section.name!r}) overlap in the file at {section.pointer_to_raw_data:#x}")
        previous = section


def _check_security_directory(layout: PELayout) -> None:
    directory = layout.security_directory
    if directory is None or directory.size == 0:
        return
    start, size = directory.virtual_address, directory.size
    if start % 8:
        raise PEFormatError(f"certificate table at {start:#x} is not aligned to 8 bytes")
    if start > layout.file_size or size > layout.file_size - start:
        raise PEFormatError(
            f"certificate table {start:#x}+{size:#x} runs past the end of the file "
            f"({layout.file_size:#x})")
    if start + size != layout.file_size:
        raise PEFormatError(
            f"certificate table {start:#x}+{size:#x} is not at the end of the file "
            f"({layout.file_size:#x}): {layout.file_size - start - size} bytes follow it")
    if start < layout.end_of_section_data or start < layout.size_of_headers:
        raise PEFormatError(
            f"certificate table at {start:#x} overlaps the headers or section data "
            f"(which end at {layout.end_of_section_data:#x})")
    if layout.sum_of_bytes_hashed > start:
        raise PEFormatError(
            f"headers and sections add up to {layout.sum_of_bytes_hashed:#x} bytes, past the "
            f"certificate table at {start:#x}")


def read_layout_path(path: str | os.PathLike[str]) -> PELayout:
    """``read_layout`` over a file name (OSError passes through for a missing file)."""
    with open_regular_file(path) as f:
        return read_layout(f)
