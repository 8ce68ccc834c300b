"""The PE certificate table: where it is, and the WIN_CERTIFICATE entries in it.

The table is the byte range named by data directory 4 (IMAGE_DIRECTORY_ENTRY_SECURITY), whose
"VirtualAddress" is a *file offset*. It holds WIN_CERTIFICATE entries, each
``dwLength (u32) | wRevision (u16) | wCertificateType (u16) | bCertificate[dwLength - 8]``,
each starting on an 8-byte boundary (the padding after an entry is not counted in dwLength).
The Authenticode hash excludes the whole table and the directory entry that points to it,
which is what lets a stamp live there without changing the PCR 4 measurement.

API for writers (the stamp module builds on this):
- ``security_directory(layout)`` gives the directory entry's file offset and the table range.
- ``parse_cert_table(table, base_offset)`` gives entries with absolute file offsets.
- ``read_cert_table(f, layout)`` does both from an open file.
- ``encode_win_certificate(cert_type, data)`` builds one entry, padded to 8 bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from efikit.errors import PEFormatError
from efikit.pe.layout import SECURITY_DIRECTORY_INDEX, PELayout

WIN_CERT_HEADER_SIZE = 8
WIN_CERT_ALIGNMENT = 8
# Bounded memory: real tables are a few KiB (two signatures ~ 20 KiB).
MAX_CERT_TABLE_SIZE = 16 << 20

WIN_CERT_REVISION_1_0 = 0x0100
WIN_CERT_REVISION_2_0 = 0x0200

WIN_CERT_TYPE_X509 = 0x0001
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
WIN_CERT_TYPE_RESERVED_1 = 0x0003
WIN_CERT_TYPE_TS_STACK_SIGNED = 0x0004
WIN_CERT_TYPE_EFI_PKCS115 = 0x0EF0
WIN_CERT_TYPE_EFI_GUID = 0x0EF1

CERT_TYPE_NAMES: dict[int, str] = {
    WIN_CERT_TYPE_X509: "X509",
    WIN_CERT_TYPE_PKCS_SIGNED_DATA: "PKCS_SIGNED_DATA",
    WIN_CERT_TYPE_RESERVED_1: "RESERVED_1",
    WIN_CERT_TYPE_TS_STACK_SIGNED: "TS_STACK_SIGNED",
    WIN_CERT_TYPE_EFI_PKCS115: "EFI_PKCS115",
    WIN_CERT_TYPE_EFI_GUID: "EFI_GUID",
}


def align8(n: int) -> int:
    return (n + WIN_CERT_ALIGNMENT - 1) & ~(WIN_CERT_ALIGNMENT - 1)


@dataclass(frozen=True)
class SecurityDirectory:
    """Where the certificate table is.

    ``entry_offset`` is the file offset of the 8-byte data directory entry (None when the
    optional header has fewer than 5 directories, so a table cannot be added without growing
    the header); ``offset``/``size`` are the table's file range (size 0: unsigned).
    """

    entry_offset: int | None
    offset: int
    size: int

    @property
    def present(self) -> bool:
        return self.size > 0

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class CertEntry:
    """One WIN_CERTIFICATE: ``offset`` is its absolute file offset, ``length`` its dwLength."""

    index: int
    offset: int
    length: int
    revision: int
    cert_type: int
    data: bytes

    @property
    def type_name(self) -> str:
        return CERT_TYPE_NAMES.get(self.cert_type, f"UNKNOWN_{self.cert_type:#06x}")

    @property
    def data_offset(self) -> int:
        return self.offset + WIN_CERT_HEADER_SIZE

    @property
    def padded_length(self) -> int:
        return align8(self.length)

    @property
    def end(self) -> int:
        """File offset just past this entry's 8-byte padding (where the next one starts)."""
        return self.offset + self.padded_length


def security_directory(layout: PELayout) -> SecurityDirectory:
    """The certificate table location of a validated layout."""
    directory = layout.security_directory
    if directory is None:
        return SecurityDirectory(None, 0, 0)
    if directory.size == 0:
        return SecurityDirectory(directory.entry_offset, directory.virtual_address, 0)
    return SecurityDirectory(directory.entry_offset, directory.virtual_address, directory.size)


def parse_cert_table(table: bytes, base_offset: int = 0) -> tuple[CertEntry, ...]:
    """Split a certificate table into WIN_CERTIFICATE entries; offsets are ``base_offset``-based.

    Strict: every entry must have a header, a dwLength of at least 8 that fits in the table,
    a known revision, and the entries must fill the table (zero padding after the last is
    tolerated only up to the 8-byte alignment).
    """
    entries: list[CertEntry] = []
    position = 0
    while position < len(table):
        at = base_offset + position
        remaining = len(table) - position
        if remaining < WIN_CERT_HEADER_SIZE:
            if table[position:].strip(b"\x00"):
                raise PEFormatError(
                    f"certificate table has {remaining} stray bytes at {at:#x}, too few for a "
                    "WIN_CERTIFICATE header")
            break
        length, revision, cert_type = struct.unpack_from("<IHH", table, position)
        if length < WIN_CERT_HEADER_SIZE:
            raise PEFormatError(
                f"WIN_CERTIFICATE {len(entries)} at {at:#x} has dwLength {length}, less than its "
                f"{WIN_CERT_HEADER_SIZE}-byte header")
        if length > remaining:
            raise PEFormatError(
                f"WIN_CERTIFICATE {len(entries)} at {at:#x} has dwLength {length}, longer than the "
                f"{remaining} bytes left in the certificate table")
        if revision not in (WIN_CERT_REVISION_1_0, WIN_CERT_REVISION_2_0):
            raise PEFormatError(
                f"WIN_CERTIFICATE {len(entries)} at {at:#x} has unknown revision {revision:#06x}")
        entries.append(CertEntry(
            index=len(entries),
            offset=at,
            length=length,
            revision=revision,
            cert_type=cert_type,
            data=bytes(table[position + WIN_CERT_HEADER_SIZE:position + length]),
        ))
        position += align8(length)
    return tuple(entries)


def read_cert_table(f: BinaryIO, layout: PELayout) -> tuple[SecurityDirectory, tuple[CertEntry, ...]]:
    """Read and split the certificate table of the (validated) image open as ``f``."""
    location = security_directory(layout)
    if not location.present:
        return location, ()
    if location.size > MAX_CERT_TABLE_SIZE:
        raise PEFormatError(
            f"certificate table of {location.size} bytes is absurdly large "
            f"(limit {MAX_CERT_TABLE_SIZE})")
    f.seek(location.offset)
    table = f.read(location.size)
    if len(table) != location.size:
        raise PEFormatError(f"certificate table at {location.offset:#x} is truncated")
    return location, parse_cert_table(table, location.offset)


def encode_win_certificate(cert_type: int, data: bytes,
                           revision: int = WIN_CERT_REVISION_2_0) -> bytes:
    """One WIN_CERTIFICATE with its zero padding to the next 8-byte boundary."""
    length = WIN_CERT_HEADER_SIZE + len(data)
    if length > 0xFFFFFFFF:
        raise PEFormatError("WIN_CERTIFICATE data is too large")
    raw = struct.pack("<IHH", length, revision, cert_type) + data
    return raw + b"\x00" * (align8(length) - length)


__all__ = [
    "CERT_TYPE_NAMES", "CertEntry", "MAX_CERT_TABLE_SIZE", "SECURITY_DIRECTORY_INDEX",
    "SecurityDirectory", "WIN_CERT_REVISION_1_0", "WIN_CERT_REVISION_2_0",
    "WIN_CERT_TYPE_EFI_GUID", "WIN_CERT_TYPE_EFI_PKCS115", "WIN_CERT_TYPE_PKCS_SIGNED_DATA",
    "WIN_CERT_TYPE_X509", "align8", "encode_win_certificate", "parse_cert_table",
    "read_cert_table", "security_directory",
]
