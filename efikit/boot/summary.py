"""The label and flags of a load option, read without decoding its device paths.

`efikit boot list` (labels only) runs on every boot of an engineer's console and must start
fast: importing the typed device-path codec costs more than the listing itself. This reads
the fixed header and the description, and walks the FilePathList's node framing (type,
subtype, length) so a structurally broken entry is still reported as broken.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from efikit.codec.loadoption_header import LoadOptionAttributes, read_header
from efikit.errors import DecodeError

_END_TYPE = 0x7F
_END_ENTIRE = 0xFF


@dataclass(frozen=True)
class OptionSummary:
    attributes: int
    description: str
    optional_data_length: int

    @property
    def active(self) -> bool:
        return bool(self.attributes & LoadOptionAttributes.ACTIVE)

    @property
    def hidden(self) -> bool:
        return bool(self.attributes & LoadOptionAttributes.HIDDEN)


def summarize(data: bytes) -> OptionSummary:
    """Header, description and framing checks of an EFI_LOAD_OPTION; DecodeError if broken."""
    attributes, description, start, end = read_header(data)
    _check_framing(data, start, end)
    return OptionSummary(attributes, description, len(data) - end)


def _check_framing(data: bytes, start: int, end: int) -> None:
    """Every device path in data[start:end] is a run of well-framed nodes ending in End."""
    # Not DevicePath.decode_at (as LoadOption.from_bytes): that imports the device-path codec.
    if start == end:
        return
    position = start
    ended = False
    while position < end:
        if end - position < 4:
            raise DecodeError("device-path node header truncated", position)
        node_type, node_subtype, length = struct.unpack_from("<BBH", data, position)
        if length < 4 or position + length > end:
            raise DecodeError(f"device-path node length {length} is invalid", position + 2)
        position += length
        ended = node_type == _END_TYPE and node_subtype == _END_ENTIRE
    if not ended:
        raise DecodeError("device path does not end with an End-of-path node", end)
