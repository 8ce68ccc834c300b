"""UCS-2 (UTF-16LE without surrogate pairs beyond the BMP) as UEFI strings use it."""
from __future__ import annotations

from efikit.errors import DecodeError, EncodeError


def find_nul_unit(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Offset of the first NUL *code unit* (two zero bytes on a 2-byte boundary from
    ``start``), or -1. Searching for any 00 00 byte pair is wrong: "AĀ" is 41 00 00 01."""
    stop = len(data) if end is None else end
    index = start
    while True:
        index = data.find(b"\x00\x00", index, stop)
        if index < 0:
            return -1
        if (index - start) % 2 == 0:
            return index
        index += 1


def decode_ucs2(data: bytes, offset: int = 0) -> str:
    """Decode UCS-2 bytes (no terminator). ``offset`` is where ``data`` starts in the
    enclosing buffer, so errors point at the right byte."""
    if len(data) % 2:
        raise DecodeError("odd-length UCS-2 string", offset + len(data) - 1)
    text = bytes(data).decode("utf-16-le", errors="surrogatepass")
    if text.isascii():
        return text
    for index, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise DecodeError(f"UCS-2 string has a surrogate code unit U+{ord(char):04X}",
                              offset + 2 * index)
    return text


def encode_ucs2(text: str, terminate: bool = True) -> bytes:
    """Encode to UCS-2 LE, with a NUL terminator unless ``terminate`` is False."""
    if text.isascii():
        encoded = text.encode("utf-16-le")
        return encoded + b"\x00\x00" if terminate else encoded
    for index, char in enumerate(text):
        code = ord(char)
        if code > 0xFFFF:
            raise EncodeError(f"character U+{code:X} at position {index} is outside the Basic "
                              "Multilingual Plane and cannot be stored in UCS-2")
        if 0xD800 <= code <= 0xDFFF:
            raise EncodeError(f"lone surrogate U+{code:04X} at position {index} is not valid UCS-2")
    encoded = text.encode("utf-16-le")
    return encoded + b"\x00\x00" if terminate else encoded
