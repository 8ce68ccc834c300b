"""The ``.sbat`` section: CSV rows ``component,generation,vendor,package,version,url``."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from efikit.errors import PEFormatError


@dataclass(frozen=True)
class SbatEntry:
    """One .sbat row; fields beyond the first two are optional in practice, extras are kept."""

    component: str
    generation: str
    vendor: str
    package: str
    version: str
    url: str
    extra: tuple[str, ...] = ()


def parse_sbat(data: bytes) -> tuple[SbatEntry, ...]:
    """Parse .sbat section data (NUL padding after the text is ignored)."""
    text_bytes = data.split(b"\x00", 1)[0]
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PEFormatError(f".sbat is not UTF-8 text (byte {exc.start})") from None
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise PEFormatError(f".sbat line {number} has {len(row)} field(s), needs at least 2")
        padded = row + [""] * (6 - len(row))
        rows.append(SbatEntry(padded[0], padded[1], padded[2], padded[3], padded[4], padded[5],
                               extra=tuple(padded[6:])))
    return tuple(rows)
