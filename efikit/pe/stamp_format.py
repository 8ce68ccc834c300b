"""The efikit stamp: a slot letter and a few key/value strings, in at most 1 KiB.

Byte format (version 1.0), for readers in any language (the probe loader reads it in C)
======================================================================================

All integers are little-endian. The payload is::

    offset  size  field
    0       12    magic: the ASCII bytes "EFIKIT-STAMP" (45 46 49 4B 49 54 2D 53 54 41 4D 50)
    12      1     major version: 1. A reader must reject any other major version.
    13      1     minor version: 0. A reader accepts any minor version of its major version
                  and ignores fields it does not know (they can only appear inside N, after
                  the pairs below).
    14      2     N: total payload length in bytes, magic included, 18 <= N <= 1024
    16      1     slot: the ASCII letter 'A' (0x41) or 'B' (0x42)
    17      1     K: number of key/value pairs (0..255)
    18      ...   K pairs, each:
                      1 byte   key length (1..64)
                      ...      key, ASCII [A-Za-z0-9._-]
                      2 bytes  value length
                      ...      value, UTF-8 (no NUL)
    ...     ...   (minor > 0 only) further fields, up to offset N

Where the payload lives in a PE image
-------------------------------------
Always inside the certificate table: data directory 4 (IMAGE_DIRECTORY_ENTRY_SECURITY) of the
optional header; its VirtualAddress is a *file offset* and its Size the table's size. A reader
searches the bytes of that table (and only those: the magic may appear in code or data, e.g.
in a reader's own string constants) for the 12-byte magic; the payload starts at the magic.
There is at most one stamp per image. The two containers are:

- Signed image: an extra X.509 certificate (subject ``CN=efikit stamp, O=efikit``) appended
  to the ``certificates`` set of the first WIN_CERT_TYPE_PKCS_SIGNED_DATA entry's PKCS#7. The
  certificate carries a non-critical extension with OID ``STAMP_OID`` (2.25 UUID arc; DER
  ``06 13 69 cf d9 92 e9 d5 f4 c2 b8 e1 95 8c de e2 db dd e7 a0 48``) whose extnValue holds
  the DER ``OCTET STRING`` of *payload || filler*; readers accept 0..15 zero bytes of filler
  (efikit writes none). The length of the certificate's serial number (8..15 bytes) keeps the
  PKCS#7 length congruent modulo 8, so the table keeps its alignment. The payload is not
  aligned to anything inside the table. The certificate's signature is not valid: it is a
  container, never a trust anchor.
- Unsigned image: a WIN_CERTIFICATE_UEFI_GUID entry: dwLength (4), wRevision 0x0200 (2),
  wCertificateType 0x0EF1 = WIN_CERT_TYPE_EFI_GUID (2), CertType = ``STAMP_GUID`` (16 bytes,
  EFI_GUID layout: ``a6 25 d9 27 48 af 30 4e 95 19 7b 15 bb b9 d0 48``), then CertData =
  *payload || trailer* (the payload starts 24 bytes into the entry), the trailer being
  8 bytes: 1 byte = zero bytes inserted before the table to align it to 8 (0..7), 3 zero
  bytes, 4 bytes = the security directory's VirtualAddress before stamping (so that clearing
  restores the file byte for byte); then zero padding to 8 bytes. edk2 skips
  WIN_CERT_TYPE_EFI_GUID entries whose GUID is not EFI_CERT_TYPE_PKCS7_GUID.

A C reader, in short: read e_lfanew (u32 at 0x3C); the optional header starts 24 bytes after
it; its magic (u16) is 0x20B (PE32+: data directories at +112) or 0x10B (PE32: at +96);
directory 4 is 8 bytes at +32 from there: (file offset u32, size u32). Check offset+size is
within the file, memmem the 12-byte magic in [offset, offset+size), check 18 <= N and
magic offset + N <= offset + size, then read the header and pairs as above.
"""
from __future__ import annotations

import re
import struct
import uuid
from dataclasses import dataclass
from typing import Literal

from efikit.errors import StampError

Slot = Literal["A", "B"]

MAGIC = b"EFIKIT-STAMP"
MAJOR_VERSION = 1
MINOR_VERSION = 0
HEADER_SIZE = 18
MAX_PAYLOAD = 1024
MAX_KEY_LENGTH = 64
_KEY_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# efikit's own identifier, in both of its spellings: an OID in the 2.25 (UUID) arc for the
# certificate extension, and the same UUID as the EFI GUID of a WIN_CERT_TYPE_EFI_GUID entry.
STAMP_UUID = uuid.UUID("27d925a6-af48-4e30-9519-7b15bbb9d048")
STAMP_OID = f"2.25.{STAMP_UUID.int}"
STAMP_GUID = STAMP_UUID
STAMP_GUID_BYTES = STAMP_UUID.bytes_le  # EFI_GUID layout (first three fields little-endian)


@dataclass(frozen=True)
class Stamp:
    """A decoded stamp: the slot, ordered key/value metadata, and the version it was read as."""

    slot: Slot
    meta: tuple[tuple[str, str], ...] = ()
    major: int = MAJOR_VERSION
    minor: int = MINOR_VERSION

    def get(self, key: str) -> str | None:
        for k, v in self.meta:
            if k == key:
                return v
        return None

    def to_bytes(self) -> bytes:
        return encode_stamp(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Stamp:
        return decode_stamp(data)[0]


def make_stamp(slot: str, meta: dict[str, str] | tuple[tuple[str, str], ...] = ()) -> Stamp:
    """A validated version-1.0 stamp (raises StampError for a bad slot, key, value or size)."""
    letter = slot.strip().upper()
    if letter not in ("A", "B"):
        raise StampError(f"slot must be A or B, not {slot!r}")
    pairs = tuple(meta.items()) if isinstance(meta, dict) else tuple(meta)
    stamp = Stamp(letter, pairs)  # type: ignore[arg-type]
    encode_stamp(stamp)  # validates
    return stamp


def encode_stamp(stamp: Stamp) -> bytes:
    if stamp.slot not in ("A", "B"):
        raise StampError(f"slot must be A or B, not {stamp.slot!r}")
    if stamp.major != MAJOR_VERSION or stamp.minor != MINOR_VERSION:
        raise StampError(f"efikit writes stamp version {MAJOR_VERSION}.{MINOR_VERSION} only")
    if len(stamp.meta) > 255:
        raise StampError(f"{len(stamp.meta)} metadata entries: at most 255")
    body = bytearray()
    seen: set[str] = set()
    for key, value in stamp.meta:
        if not _KEY_PATTERN.fullmatch(key):
            raise StampError(f"metadata key {key!r} must be 1-{MAX_KEY_LENGTH} characters of "
                             "A-Z a-z 0-9 . _ -")
        if key in seen:
            raise StampError(f"metadata key {key!r} given twice")
        seen.add(key)
        if "\x00" in value:
            raise StampError(f"metadata value for {key!r} contains a NUL character")
        raw = value.encode("utf-8")
        body += bytes([len(key)]) + key.encode("ascii") + struct.pack("<H", len(raw) & 0xFFFF)
        body += raw
    total = HEADER_SIZE + len(body)
    if total > MAX_PAYLOAD:
        raise StampError(f"stamp would be {total} bytes; the limit is {MAX_PAYLOAD} "
                         "(shorten the metadata)")
    header = MAGIC + struct.pack("<BBHcB", MAJOR_VERSION, MINOR_VERSION, total,
                                 stamp.slot.encode("ascii"), len(stamp.meta))
    return bytes(header + body)


def decode_stamp(data: bytes) -> tuple[Stamp, int]:
    """Decode a payload at the start of ``data``; returns the stamp and its length N.

    Bytes after N are not looked at (the containers put filler or a trailer there).
    """
    if len(data) < HEADER_SIZE or data[:len(MAGIC)] != MAGIC:
        raise StampError("no efikit stamp magic 'EFIKIT-STAMP' where the stamp should start")
    major, minor, total, slot_byte, count = struct.unpack_from("<BBHcB", data, len(MAGIC))
    if major != MAJOR_VERSION:
        raise StampError(f"stamp has major version {major}; this efikit reads version "
                         f"{MAJOR_VERSION} only (upgrade efikit)")
    if not HEADER_SIZE <= total <= MAX_PAYLOAD:
        raise StampError(f"stamp length {total} is outside {HEADER_SIZE}..{MAX_PAYLOAD}")
    if total > len(data):
        raise StampError(f"stamp claims {total} bytes but only {len(data)} are there")
    slot = slot_byte.decode("latin-1")
    if slot not in ("A", "B"):
        raise StampError(f"stamp slot byte {slot_byte!r} is neither 'A' nor 'B'")
    position = HEADER_SIZE
    pairs: list[tuple[str, str]] = []
    for index in range(count):
        if position + 1 > total:
            raise StampError(f"stamp metadata entry {index} runs past the stamp length {total}")
        key_length = data[position]
        key_end = position + 1 + key_length
        if key_length == 0 or key_end + 2 > total:
            raise StampError(f"stamp metadata entry {index} has a bad key length {key_length}")
        key = data[position + 1:key_end].decode("ascii", "replace")
        if not _KEY_PATTERN.fullmatch(key):
            raise StampError(f"stamp metadata entry {index} has an invalid key {key!r}")
        (value_length,) = struct.unpack_from("<H", data, key_end)
        value_end = key_end + 2 + value_length
        if value_end > total:
            raise StampError(f"stamp metadata value {key!r} runs past the stamp length {total}")
        try:
            value = data[key_end + 2:value_end].decode("utf-8")
        except UnicodeDecodeError:
            raise StampError(f"stamp metadata value {key!r} is not UTF-8") from None
        pairs.append((key, value))
        position = value_end
    if minor == MINOR_VERSION and position != total:
        raise StampError(f"stamp version 1.0 has {total - position} unexplained bytes at the end")
    return Stamp(slot, tuple(pairs), major, minor), total  # type: ignore[arg-type,unused-ignore]


__all__ = [
    "HEADER_SIZE", "MAGIC", "MAJOR_VERSION", "MAX_PAYLOAD", "MINOR_VERSION", "STAMP_GUID",
    "STAMP_GUID_BYTES", "STAMP_OID", "STAMP_UUID", "Slot", "Stamp", "decode_stamp",
    "encode_stamp", "make_stamp",
]
