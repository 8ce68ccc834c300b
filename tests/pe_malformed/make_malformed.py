#!/usr/bin/env python3
"""Generate the broken-PE corpus in tests/pe_malformed/ (committed; rerun to refresh).

Each file is one of the sample loaders in fixtures/pe/ with one fault. MANIFEST.tsv lists,
per file: the fault, a substring the PEFormatError message must contain, and whether the
Authenticode hash must fail too ("error") or can still be computed ("ok": the fault is in a
part the hash does not read, e.g. the PKCS#7 blob or the .sbat text).
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "fixtures" / "pe"


class Image:
    """A mutable PE image with the header offsets located."""

    def __init__(self, data: bytes) -> None:
        self.b = bytearray(data)
        self.pe = struct.unpack_from("<I", self.b, 0x3C)[0]
        self.coff = self.pe + 4
        self.opt = self.coff + 20
        self.nsec = struct.unpack_from("<H", self.b, self.coff + 2)[0]
        self.opt_size = struct.unpack_from("<H", self.b, self.coff + 16)[0]
        self.table = self.opt + self.opt_size
        self.secdir = self.opt + 112 + 4 * 8

    def u16(self, at: int, value: int) -> None:
        struct.pack_into("<H", self.b, at, value)

    def u32(self, at: int, value: int) -> None:
        struct.pack_into("<I", self.b, at, value)

    def get32(self, at: int) -> int:
        return int(struct.unpack_from("<I", self.b, at)[0])

    def section(self, index: int) -> int:
        return self.table + 40 * index

    @property
    def cert_offset(self) -> int:
        return self.get32(self.secdir)

    @property
    def cert_size(self) -> int:
        return self.get32(self.secdir + 4)

    def bytes(self) -> bytes:
        return bytes(self.b)


def unsigned() -> Image:
    return Image((FIXTURES / "loader-unsigned.efi").read_bytes())


def signed() -> Image:
    return Image((FIXTURES / "boot-a.efi").read_bytes())


def _replace_pkcs7(image: Image, blob: bytes) -> Image:
    """Replace the first WIN_CERTIFICATE's content, keeping the table at the end of the file."""
    start = image.cert_offset
    length = 8 + len(blob)
    entry = struct.pack("<IHH", length, 0x0200, 0x0002) + blob
    entry += b"\0" * (-len(entry) % 8)
    image.b = image.b[:start] + bytearray(entry)
    image.u32(image.secdir + 4, len(entry))
    return image


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.insert(0, 0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(chunk)
    return _der(0x06, body)


def _pkcs7_blob(image: Image) -> bytes:
    start = image.cert_offset
    length = image.get32(start)
    return bytes(image.b[start + 8:start + length])


def case(name: str, expect: str, hash_result: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        CASES.append((name, expect, hash_result, fn))
        return fn
    return register


CASES: list[tuple[str, str, str, Callable[[], bytes]]] = []


@case("empty", "truncated DOS header", "error")
def _() -> bytes:
    return b""


@case("truncated-dos-header", "truncated DOS header", "error")
def _() -> bytes:
    return unsigned().bytes()[:40]


@case("no-mz", "no 'MZ'", "error")
def _() -> bytes:
    i = unsigned()
    i.b[0:2] = b"ZM"
    return i.bytes()


@case("e-lfanew-past-eof", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(0x3C, len(i.b) + 16)
    return i.bytes()


@case("e-lfanew-huge", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(0x3C, 0xFFFFFFF0)
    return i.bytes()


@case("bad-pe-signature", "no 'PE\\0\\0' signature", "error")
def _() -> bytes:
    i = unsigned()
    i.b[i.pe:i.pe + 4] = b"PX\0\0"
    return i.bytes()


@case("truncated-coff-header", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    return i.bytes()[:i.coff + 10]


@case("zero-sections", "declares no sections", "error")
def _() -> bytes:
    i = unsigned()
    i.u16(i.coff + 2, 0)
    return i.bytes()


@case("absurd-section-count", "absurd section count 65535", "error")
def _() -> bytes:
    i = unsigned()
    i.u16(i.coff + 2, 0xFFFF)
    return i.bytes()


@case("optional-header-too-small", "smaller than the 112-byte fixed part", "error")
def _() -> bytes:
    i = unsigned()
    i.u16(i.coff + 16, 16)
    return i.bytes()


@case("optional-header-past-eof", "truncated optional header", "error")
def _() -> bytes:
    i = unsigned()
    return i.bytes()[:i.opt + 100]


@case("bad-optional-magic", "unknown optional header magic 0x0107", "error")
def _() -> bytes:
    i = unsigned()
    i.u16(i.opt, 0x107)
    return i.bytes()


@case("absurd-rva-count", "absurd NumberOfRvaAndSizes", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 108, 0xFFFFFFFF)
    return i.bytes()


@case("directories-overflow-optional-header", "do not fit in SizeOfOptionalHeader", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 108, 16)
    i.u16(i.coff + 16, 112 + 8 * 4)
    return i.bytes()


@case("file-alignment-zero", "FileAlignment 0x0 is not a power of two", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 36, 0)
    return i.bytes()


@case("section-alignment-not-power-of-two", "SectionAlignment 0x3000", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 32, 0x3000)
    return i.bytes()


@case("section-table-past-eof", "section table", "error")
def _() -> bytes:
    i = unsigned()
    return i.bytes()[:i.table + 20]


@case("size-of-headers-too-small", "SizeOfHeaders 0x100 is smaller", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 60, 0x100)
    return i.bytes()


@case("size-of-headers-past-eof", "is past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.opt + 60, 0x7FFFFFFF)
    return i.bytes()


@case("section-size-past-eof", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.section(1) + 16, 0x7FFFFF00)
    return i.bytes()


@case("section-pointer-past-eof", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.section(2) + 20, 0xFFFFF000)
    return i.bytes()


@case("overlapping-sections", "overlap in the file", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.section(1) + 20, i.get32(i.section(0) + 20))
    return i.bytes()


@case("section-overlaps-headers", "overlaps the headers", "error")
def _() -> bytes:
    i = unsigned()
    i.u32(i.section(0) + 20, 0x40)
    return i.bytes()


@case("truncated-in-section-data", "runs past the end of the file", "error")
def _() -> bytes:
    i = unsigned()
    return i.bytes()[:i.get32(i.section(1) + 20) + 100]


@case("cert-table-not-at-end", "is not at the end of the file", "error")
def _() -> bytes:
    return signed().bytes() + b"appended data after the signature"


@case("cert-table-past-eof", "runs past the end of the file", "error")
def _() -> bytes:
    i = signed()
    i.u32(i.secdir + 4, i.cert_size + 0x1000)
    return i.bytes()


@case("cert-table-truncated", "runs past the end of the file", "error")
def _() -> bytes:
    i = signed()
    return i.bytes()[:i.cert_offset + 64]


@case("cert-table-misaligned", "not aligned to 8 bytes", "error")
def _() -> bytes:
    i = signed()
    i.u32(i.secdir, i.cert_offset + 4)
    i.u32(i.secdir + 4, i.cert_size - 4)
    return i.bytes()


@case("cert-table-inside-sections", "overlaps the headers or section data", "error")
def _() -> bytes:
    i = signed()
    i.u32(i.secdir, i.cert_offset - 0x200)
    i.u32(i.secdir + 4, i.cert_size + 0x200)
    return i.bytes()


@case("cert-table-offset-huge", "runs past the end of the file", "error")
def _() -> bytes:
    i = signed()
    i.u32(i.secdir, 0xFFFFFFF8)
    return i.bytes()


@case("win-certificate-length-zero", "dwLength 0, less than its 8-byte header", "ok")
def _() -> bytes:
    i = signed()
    i.u32(i.cert_offset, 0)
    return i.bytes()


@case("win-certificate-length-four", "dwLength 4, less than its 8-byte header", "ok")
def _() -> bytes:
    i = signed()
    i.u32(i.cert_offset, 4)
    return i.bytes()


@case("win-certificate-longer-than-table", "longer than the", "ok")
def _() -> bytes:
    i = signed()
    i.u32(i.cert_offset, i.cert_size + 8)
    return i.bytes()


@case("win-certificate-length-huge", "longer than the", "ok")
def _() -> bytes:
    i = signed()
    i.u32(i.cert_offset, 0xFFFFFFFF)
    return i.bytes()


@case("win-certificate-bad-revision", "unknown revision 0x0300", "ok")
def _() -> bytes:
    i = signed()
    i.u16(i.cert_offset + 4, 0x0300)
    return i.bytes()


@case("cert-table-stray-bytes", "stray bytes", "ok")
def _() -> bytes:
    i = signed()
    i.b += b"\x01\x02\x03\x04"
    i.u32(i.secdir + 4, i.cert_size + 4)
    return i.bytes()


@case("pkcs7-garbage", "malformed PKCS#7 signature", "ok")
def _() -> bytes:
    return _replace_pkcs7(signed(), bytes((n * 37 + 11) & 0xFF for n in range(512))).bytes()


@case("pkcs7-truncated", "malformed PKCS#7 signature", "ok")
def _() -> bytes:
    i = signed()
    return _replace_pkcs7(i, _pkcs7_blob(i)[:700]).bytes()


@case("pkcs7-trailing-garbage", "garbage follow the PKCS#7 signature", "ok")
def _() -> bytes:
    i = signed()
    return _replace_pkcs7(i, _pkcs7_blob(i).rstrip(b"\0") + b"GARBAGE!").bytes()


@case("pkcs7-not-signed-data", "not signedData", "ok")
def _() -> bytes:
    blob = _der(0x30, _oid("1.2.840.113549.1.7.1") + _der(0xA0, _der(0x04, b"hello")))
    return _replace_pkcs7(signed(), blob).bytes()


@case("pkcs7-wrong-content-type", "not SpcIndirectDataContent", "ok")
def _() -> bytes:
    encap = _der(0x30, _oid("1.2.840.113549.1.7.1") + _der(0xA0, _der(0x04, b"x")))
    signed_data = _der(0x30, _der(0x02, b"\x01") + _der(0x31, b"") + encap + _der(0x31, b""))
    blob = _der(0x30, _oid("1.2.840.113549.1.7.2") + _der(0xA0, signed_data))
    return _replace_pkcs7(signed(), blob).bytes()


@case("pkcs7-no-signer", "has no signer", "ok")
def _() -> bytes:
    spc = _der(0x30, _der(0x30, _oid("1.3.6.1.4.1.311.2.1.15")) + _der(
        0x30, _der(0x30, _oid("2.16.840.1.101.3.4.2.1") + b"\x05\x00") + _der(0x04, bytes(32))))
    encap = _der(0x30, _oid("1.3.6.1.4.1.311.2.1.4") + _der(0xA0, spc))
    signed_data = _der(0x30, _der(0x02, b"\x01") + _der(0x31, b"") + encap + _der(0x31, b""))
    blob = _der(0x30, _oid("1.2.840.113549.1.7.2") + _der(0xA0, signed_data))
    return _replace_pkcs7(signed(), blob).bytes()


@case("pkcs7-absurd-length", "malformed PKCS#7 signature", "ok")
def _() -> bytes:
    return _replace_pkcs7(signed(), b"\x30\x84\xff\xff\xff\xf0" + bytes(64)).bytes()


@case("pkcs7-deep-nesting", "malformed PKCS#7 signature", "ok")
def _() -> bytes:
    return _replace_pkcs7(signed(), b"\x30\x80" * 20000 + b"\x00\x00" * 20000).bytes()


@case("sbat-not-utf8", ".sbat is not UTF-8", "ok")
def _() -> bytes:
    i = unsigned()
    sbat = i.get32(i.section(2) + 20)
    i.b[sbat:sbat + 4] = b"\xff\xfe\xfd\xfc"
    return i.bytes()


@case("sbat-short-row", ".sbat line 1 has 1 field", "ok")
def _() -> bytes:
    i = unsigned()
    sbat = i.get32(i.section(2) + 20)
    i.b[sbat:sbat + 6] = b"bogus\n"
    return i.bytes()


def main() -> int:
    for stale in HERE.glob("*.efi"):
        stale.unlink()
    lines = ["# file\tmessage must contain\tauthenticode hash"]
    for number, (name, expect, hash_result, make) in enumerate(CASES, start=1):
        file_name = f"{number:02d}-{name}.efi"
        (HERE / file_name).write_bytes(make())
        lines.append(f"{file_name}\t{expect}\t{hash_result}")
    (HERE / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")
    print(f"{len(CASES)} malformed PE files written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
