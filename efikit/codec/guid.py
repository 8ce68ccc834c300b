"""EFI GUIDs: the mixed-endian binary layout and the canonical text form."""
from __future__ import annotations

import re
import struct
import uuid

from efikit.errors import DecodeError

GUID_SIZE = 16
_GUID_TEXT = re.compile(r"^\{?([0-9A-Fa-f]{8})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})-"
                        r"([0-9A-Fa-f]{4})-([0-9A-Fa-f]{12})\}?$")


def guid_from_bytes(data: bytes, offset: int = 0) -> uuid.UUID:
    """Read an EFI_GUID (Data1-3 little-endian, Data4 as bytes) at ``offset``."""
    if offset < 0 or offset + GUID_SIZE > len(data):
        raise DecodeError("truncated GUID", offset)
    return uuid.UUID(bytes_le=bytes(data[offset:offset + GUID_SIZE]))


def guid_to_bytes(guid: uuid.UUID) -> bytes:
    return guid.bytes_le


def guid_to_text(guid: uuid.UUID) -> str:
    """Upper-case 8-4-4-4-12, as edk2 prints %g."""
    return str(guid).upper()


def parse_guid(text: str) -> uuid.UUID | None:
    """Parse 8-4-4-4-12 hex (any case, optional braces); None if it is not a GUID."""
    match = _GUID_TEXT.match(text.strip())
    if match is None:
        return None
    return uuid.UUID("-".join(match.groups()))


_GUID_HEAD = struct.Struct("<IHH")
_GUID_HEAD_BIG = struct.Struct(">IHH")


def guid_text(data: bytes, offset: int = 0) -> str:
    """The EFI_GUID at data[offset:offset + 16] as edk2 prints %g (upper case): what
    guid_to_text(guid_from_bytes(...)) gives, without building a uuid.UUID."""
    # Data1-3 turned big-endian, then one hex() (faster than %08X-%04X-... formatting)
    digits = (_GUID_HEAD_BIG.pack(*_GUID_HEAD.unpack_from(data, offset))
              + data[offset + 8:offset + 16]).hex().upper()
    return "%s-%s-%s-%s-%s" % (digits[:8], digits[8:12], digits[12:16], digits[16:20],
                               digits[20:])
