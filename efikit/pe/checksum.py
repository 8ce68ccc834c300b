"""The PE optional-header CheckSum (the imagehlp algorithm), computed by streaming.

The algorithm adds the file as little-endian 16-bit words with end-around carry (the CheckSum
field counted as zero, an odd last byte padded with zero), folds to 16 bits and adds the file
length. An end-around-carry sum is the sum modulo 0xFFFF, except that a non-zero input never
folds to 0: so each chunk is summed as one big little-endian integer (2**16 = 1 mod 0xFFFF).
"""
from __future__ import annotations

import os
from typing import BinaryIO

from efikit.fileio import open_regular_file
from efikit.pe.layout import PELayout

_CHUNK = 1 << 20
_MOD = 0xFFFF


def compute_checksum(f: BinaryIO, layout: PELayout) -> int:
    """CheckSum of the whole image open as ``f`` (including its certificate table)."""
    total = 0
    nonzero = False
    position = 0
    f.seek(0)
    while position < layout.file_size:
        chunk = f.read(min(_CHUNK, layout.file_size - position))
        if not chunk:
            break
        start = position
        position += len(chunk)
        if start <= layout.checksum_offset < position:
            at = layout.checksum_offset - start
            chunk = chunk[:at] + bytes(min(4, len(chunk) - at)) + chunk[at + 4:]
        elif start < layout.checksum_offset + 4 <= position:
            chunk = bytes(layout.checksum_offset + 4 - start) + chunk[layout.checksum_offset + 4 - start:]
        if start % 2:  # keep words aligned to the file: this chunk starts on a high byte
            chunk = b"\x00" + chunk
        value = int.from_bytes(chunk, "little")
        if value:
            nonzero = True
            total = (total + value % _MOD) % _MOD
    folded = (total or _MOD) if nonzero else 0
    return (folded + layout.file_size) & 0xFFFFFFFF


def compute_checksum_path(path: str | os.PathLike[str], layout: PELayout) -> int:
    with open_regular_file(path) as f:
        return compute_checksum(f, layout)
