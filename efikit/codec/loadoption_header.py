"""The fixed part of an EFI_LOAD_OPTION: Attributes, FilePathListLength and Description,
and the one definition of the LOAD_OPTION_* attribute bits.

Apart from ``loadoption`` (which decodes the FilePathList's device paths) so that
`efikit boot list` can read labels without importing the device-path codec.
"""
from __future__ import annotations

import enum
import struct

from efikit.codec.ucs2 import decode_ucs2, find_nul_unit
from efikit.errors import DecodeError


class LoadOptionAttributes(enum.IntFlag):
    """LOAD_OPTION_* bits (UEFI 2.10, 3.1.3). Unknown bits are kept (IntFlag's KEEP boundary)."""

    ACTIVE = 0x00000001
    FORCE_RECONNECT = 0x00000002
    HIDDEN = 0x00000008
    CATEGORY_APP = 0x00000100


#: the LOAD_OPTION_CATEGORY bits and their two defined values (the others are reserved)
CATEGORY_MASK = 0x00001F00
CATEGORY_BOOT = 0x00000000
CATEGORY_APP = int(LoadOptionAttributes.CATEGORY_APP)


def read_header(data: bytes) -> tuple[int, str, int, int]:
    """(attributes, description, start, end): data[start:end] is the FilePathList and
    data[end:] the optional data. DecodeError for a short header, a description without
    NUL or a FilePathListLength that runs past the end."""
    if len(data) < 6:
        raise DecodeError(f"load option is {len(data)} bytes; the header alone needs 6",
                          len(data))
    attributes, list_length = struct.unpack_from("<IH", data, 0)
    nul = find_nul_unit(data, 6)
    if nul < 0:
        raise DecodeError("description has no NUL terminator", 6)
    description = decode_ucs2(data[6:nul], 6)
    start = nul + 2
    end = start + list_length
    if end > len(data):
        raise DecodeError(f"FilePathListLength {list_length} runs past the end of the load "
                          f"option ({len(data) - start} bytes left)", 4)
    return attributes, description, start, end
