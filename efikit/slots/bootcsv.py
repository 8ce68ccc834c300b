"""shim's BOOT.CSV / BOOT<ARCH>.CSV: the entries shim's fallback.efi recreates.

Facts from shim's README.fallback and fallback.c: the file sits in the vendor directory
(``\\EFI\\<vendor>\\BOOTX64.CSV``, else ``BOOT.CSV``), is UCS-2 little-endian with a byte order
mark, and holds one entry per line: ``file,label,options,comment``. ``file`` is relative to
the CSV's own directory; ``options`` become the entry's optional data (UCS-2).
"""
from __future__ import annotations

from dataclasses import dataclass

from efikit.errors import DecodeError, EncodeError

BOM = "\ufeff"
ARCH_CSV = "BOOTX64.CSV"
PLAIN_CSV = "BOOT.CSV"


@dataclass(frozen=True)
class CsvEntry:
    file: str
    label: str
    options: str = ""
    comment: str = ""


def parse_boot_csv(data: bytes) -> list[CsvEntry]:
    """Entries of a BOOT.CSV (BOM optional, CRLF or LF); DecodeError for bad text."""
    if len(data) % 2:
        raise DecodeError("BOOT.CSV has an odd number of bytes; it must be UCS-2", len(data) - 1)
    try:
        text = data.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"BOOT.CSV is not UCS-2: {exc.reason}", exc.start) from None
    if text.startswith(BOM):
        text = text[1:]
    entries = []
    for line in text.replace("\r", "").split("\n"):
        line = line.rstrip("\x00")
        if not line.strip():
            continue
        fields = line.split(",", 3)
        fields += [""] * (4 - len(fields))
        entries.append(CsvEntry(fields[0].strip(), fields[1].strip(), fields[2], fields[3]))
    return entries


def encode_boot_csv(entries: list[CsvEntry]) -> bytes:
    """UCS-2 LE with BOM, one CRLF-terminated line per entry."""
    lines = []
    for entry in entries:
        for name, value in (("file", entry.file), ("label", entry.label),
                            ("options", entry.options)):
            if "," in value or "\n" in value or "\r" in value:
                raise EncodeError(f"BOOT.CSV {name} may not contain a comma or line break: "
                                  f"{value!r}")
        if "\n" in entry.comment or "\r" in entry.comment:
            raise EncodeError("BOOT.CSV comment may not contain a line break")
        lines.append(f"{entry.file},{entry.label},{entry.options},{entry.comment}\r\n")
    text = BOM + "".join(lines)
    if any(ord(c) > 0xFFFF for c in text):
        raise EncodeError("BOOT.CSV text must stay in the Basic Multilingual Plane (UCS-2)")
    return text.encode("utf-16-le")
