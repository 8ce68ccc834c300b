"""Walking the node framing of a device path: the hot loop the native codec accelerates.

``frame_nodes`` returns (offset, type, subtype, length) for every node of ONE device path,
its terminating End-Entire node included, plus the offset just past it. Both backends
report the same faults with the same codes, offsets and messages (see FRAMING_ERRORS).
"""
from __future__ import annotations

from typing import Callable

from efikit.codec._backend import native_lib
from efikit.errors import DecodeError

NodeFrame = tuple[int, int, int, int]

# Error codes shared with native/devpath_framing.c.
ERR_MISSING_END = 1
ERR_TRUNCATED_HEADER = 2
ERR_LENGTH_TOO_SMALL = 3
ERR_LENGTH_PAST_END = 4

FRAMING_ERRORS: dict[int, str] = {
    ERR_MISSING_END: "device path has no End-of-path node",
    ERR_TRUNCATED_HEADER: "truncated device-path node header",
    ERR_LENGTH_TOO_SMALL: "device-path node length is less than 4",
    ERR_LENGTH_PAST_END: "device-path node length runs past the end of the data",
}


def frame_nodes_python(data: bytes, start: int, end: int) -> tuple[list[NodeFrame], int]:
    frames: list[NodeFrame] = []
    offset = start
    while True:
        remaining = end - offset
        if remaining == 0:
            raise DecodeError(FRAMING_ERRORS[ERR_MISSING_END], offset)
        if remaining < 4:
            raise DecodeError(FRAMING_ERRORS[ERR_TRUNCATED_HEADER], offset)
        node_type = data[offset]
        node_subtype = data[offset + 1]
        length = data[offset + 2] | (data[offset + 3] << 8)
        if length < 4:
            raise DecodeError(FRAMING_ERRORS[ERR_LENGTH_TOO_SMALL], offset)
        if length > remaining:
            raise DecodeError(FRAMING_ERRORS[ERR_LENGTH_PAST_END], offset)
        frames.append((offset, node_type, node_subtype, length))
        offset += length
        if node_type == 0x7F and node_subtype == 0xFF:
            return frames, offset


def _framing_error(code: int, offset: int) -> DecodeError:
    return DecodeError(FRAMING_ERRORS[code], offset)


# Measured (CPU time, the 71 corpus paths): 1.9 us per path in Python, 1.2 us native
# (the C walk, then struct.iter_unpack building the tuples; cffi indexing was slower
# than the Python loop).
frame_nodes: Callable[[bytes, int, int], tuple[list[NodeFrame], int]]
if native_lib is not None:
    frame_nodes = native_lib.make_frame_nodes(frame_nodes_python, _framing_error)
else:
    frame_nodes = frame_nodes_python
