"""Inspect a PE/COFF EFI binary: what it is, what it carries, what its signatures cover.

The headers are validated by ``efikit.pe.layout`` first; pefile (fast_load, memory-mapped, its
warnings collected and never printed) then supplies the field names. Section contents are read
one section at a time with a size cap, and hashes are streamed, so a large image is never read
into memory whole.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

import pefile

from efikit.fileio import open_regular_file
from efikit.codec.slot_rule import Slot, SlotFromName, slot_from_file_name
from efikit.errors import PEFormatError
from efikit.pe.authenticode import authenticode_digests_of
from efikit.pe.certtable import (WIN_CERT_TYPE_EFI_GUID, WIN_CERT_TYPE_PKCS_SIGNED_DATA, CertEntry,
                                 read_cert_table)
from efikit.pe.checksum import compute_checksum
from efikit.pe.layout import PELayout, SectionHeader, read_layout
from efikit.pe.sbat import SbatEntry, parse_sbat
from efikit.pe.signature import AuthenticodeSignature, parse_authenticode
from efikit.pe.stamp import inspect_stamp
from efikit.pe.uki import (DEFAULT_SLOT_PLACEHOLDER, UKI_SECTIONS, cmdline_for_slot,
                           decode_text_section, is_uki, parse_os_release)

# Text sections (.sbat, .osrel, .cmdline, .uname) larger than this are not text.
MAX_TEXT_SECTION = 1 << 20
_HASH_CHUNK = 1 << 20
DLLCHAR_NX_COMPAT = 0x0100
_SCN_ALIGN_MASK = 0x00F00000

SUBSYSTEMS = {
    10: "EFI application",
    11: "EFI boot-service driver",
    12: "EFI runtime driver",
    13: "EFI ROM",
}


@dataclass(frozen=True)
class SectionInfo:
    name: str
    virtual_address: int
    virtual_size: int
    raw_offset: int
    raw_size: int
    characteristics: int
    flags: tuple[str, ...]
    access: str


@dataclass(frozen=True)
class UkiSectionInfo:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class UkiInfo:
    sections: tuple[UkiSectionInfo, ...]
    os_release: dict[str, str] | None
    cmdline: str | None
    uname: str | None
    slot: str
    placeholder: str
    cmdline_for_slot: str | None


@dataclass(frozen=True)
class CertificateInfo:
    """One WIN_CERTIFICATE and, for PKCS#7, what it signs and whether that matches the file."""

    index: int
    offset: int
    length: int
    revision: int
    cert_type: int
    type_name: str
    signature: AuthenticodeSignature | None = None
    computed_digest: bytes | None = None
    matches: bool | None = None
    matches_padded: bool | None = None
    guid: str | None = None  # WIN_CERT_TYPE_EFI_GUID: the CertType GUID that starts the data


@dataclass(frozen=True)
class StampSummary:
    """An efikit stamp in the certificate table (see efikit.pe.stamp), as the inspector shows it."""

    slot: str | None
    meta: tuple[tuple[str, str], ...]
    version: str | None
    error: str | None
    name_warning: str | None


def _stamp_summary(path: str | os.PathLike[str]) -> StampSummary | None:
    report = inspect_stamp(path)
    if report.stamp is None and report.error is None:
        return None
    stamp = report.stamp
    return StampSummary(
        slot=stamp.slot if stamp else None,
        meta=tuple(stamp.meta) if stamp else (),
        version=f"{stamp.major}.{stamp.minor}" if stamp else None,
        error=report.error,
        name_warning=report.name_warning,
    )


@dataclass(frozen=True)
class PEInfo:
    path: str
    file_size: int
    format: str
    machine: int
    machine_name: str
    subsystem: int
    subsystem_name: str
    entry_point: int
    image_base: int
    size_of_image: int
    nx_compat: bool
    dll_characteristics: tuple[str, ...]
    sections: tuple[SectionInfo, ...]
    sections_contiguous: bool
    sbat: tuple[SbatEntry, ...] | None
    uki: UkiInfo | None
    checksum_stored: int
    checksum_computed: int
    certificate_table_offset: int
    certificate_table_size: int
    certificates: tuple[CertificateInfo, ...]
    authenticode_sha256: bytes
    authenticode_sha256_padded: bytes
    slot: SlotFromName = field(default_factory=lambda: slot_from_file_name(""))
    stamp: StampSummary | None = None

    @property
    def signed(self) -> bool:
        return any(c.signature is not None for c in self.certificates)


def _section_flags(characteristics: int) -> tuple[str, ...]:
    flags = []
    known = 0
    for name, value in pefile.SECTION_CHARACTERISTICS.items():
        if not isinstance(value, int) or not isinstance(name, str):
            continue
        if value & _SCN_ALIGN_MASK or value == 0 or value & (value - 1):
            continue
        if characteristics & value:
            flags.append(name.removeprefix("IMAGE_SCN_"))
            known |= value
    align = (characteristics & _SCN_ALIGN_MASK) >> 20
    if align:
        flags.append(f"ALIGN_{1 << (align - 1)}BYTES")
        known |= characteristics & _SCN_ALIGN_MASK
    unknown = characteristics & ~known
    if unknown:
        flags.append(f"{unknown:#x}")
    return tuple(flags)


def _access(characteristics: int) -> str:
    return "".join(letter if characteristics & bit else "-" for letter, bit in
                   (("r", 0x40000000), ("w", 0x80000000), ("x", 0x20000000)))


def _data_length(section: SectionHeader) -> int:
    """Bytes of real content: VirtualSize when it is smaller (the rest is file alignment)."""
    if 0 < section.virtual_size < section.size_of_raw_data:
        return section.virtual_size
    return section.size_of_raw_data


def _read_text_section(f: BinaryIO, section: SectionHeader) -> bytes:
    length = _data_length(section)
    if length > MAX_TEXT_SECTION:
        raise PEFormatError(f"section {section.name!r} is {length} bytes, too large for text")
    f.seek(section.pointer_to_raw_data)
    return f.read(length)


def _sha256_section(f: BinaryIO, section: SectionHeader) -> str:
    digest = hashlib.sha256()
    remaining = _data_length(section)
    f.seek(section.pointer_to_raw_data)
    while remaining:
        chunk = f.read(min(remaining, _HASH_CHUNK))
        if not chunk:
            raise PEFormatError(f"file shrank while reading section {section.name!r}")
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.hexdigest()


def _pefile_view(path: str | os.PathLike[str]) -> pefile.PE:
    try:
        return pefile.PE(os.fspath(path), fast_load=True)
    except pefile.PEFormatError as exc:
        raise PEFormatError(f"pefile rejects the image: {exc.value}") from None
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise PEFormatError(f"pefile cannot parse the image: {exc}") from None


def _check_agreement(layout: PELayout, pe: pefile.PE) -> None:
    if (pe.FILE_HEADER.NumberOfSections != layout.number_of_sections
            or len(pe.sections) != layout.number_of_sections):
        raise PEFormatError(
            f"pefile sees {len(pe.sections)} sections where the header declares "
            f"{layout.number_of_sections}")


def _uki_info(f: BinaryIO, layout: PELayout, slot: Slot, placeholder: str) -> UkiInfo | None:
    by_name = {s.name: s for s in layout.sections}
    if not is_uki(set(by_name)):
        return None
    sections = tuple(UkiSectionInfo(name, _data_length(by_name[name]),
                                    _sha256_section(f, by_name[name]))
                     for name in UKI_SECTIONS if name in by_name)
    os_release = (parse_os_release(_read_text_section(f, by_name[".osrel"]))
                  if ".osrel" in by_name else None)
    cmdline = (decode_text_section(_read_text_section(f, by_name[".cmdline"]))
               if ".cmdline" in by_name else None)
    uname = (decode_text_section(_read_text_section(f, by_name[".uname"]))
             if ".uname" in by_name else None)
    return UkiInfo(
        sections=sections, os_release=os_release, cmdline=cmdline, uname=uname, slot=slot,
        placeholder=placeholder,
        cmdline_for_slot=None if cmdline is None else cmdline_for_slot(cmdline, slot, placeholder),
    )


def _certificates(entries: tuple[CertEntry, ...]) -> list[tuple[CertEntry, AuthenticodeSignature | None]]:
    decoded = []
    for entry in entries:
        signature = None
        if entry.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
            try:
                signature = parse_authenticode(entry.data)
            except PEFormatError as exc:
                raise PEFormatError(f"WIN_CERTIFICATE {entry.index} at {entry.offset:#x}: {exc}") from None
        decoded.append((entry, signature))
    return decoded


def inspect_pe(path: str | os.PathLike[str], slot: Slot | None = None,
               placeholder: str = DEFAULT_SLOT_PLACEHOLDER) -> PEInfo:
    """Everything efikit knows about the PE image at ``path``.

    ``slot`` is the slot the command line is shown for (default: the slot the file's own name
    selects, by the seed's rule).
    """
    name_slot = slot_from_file_name(os.fspath(path))
    use_slot: Slot = slot or name_slot.slot
    with open_regular_file(path) as f:
        layout = read_layout(f)
        location, entries = read_cert_table(f, layout)
        certificates = _certificates(entries)
        pe = _pefile_view(path)
        try:
            _check_agreement(layout, pe)
            machine_name = str(pefile.MACHINE_TYPE.get(layout.machine, f"{layout.machine:#06x}"))
            dll_names = tuple(
                str(name).removeprefix("IMAGE_DLLCHARACTERISTICS_")
                for name, value in pefile.DLL_CHARACTERISTICS.items()
                if isinstance(value, int) and isinstance(name, str)
                and layout.dll_characteristics & value)
            entry_point = int(pe.OPTIONAL_HEADER.AddressOfEntryPoint)
        finally:
            pe.close()

        sections = tuple(SectionInfo(
            name=s.name, virtual_address=s.virtual_address, virtual_size=s.virtual_size,
            raw_offset=s.pointer_to_raw_data, raw_size=s.size_of_raw_data,
            characteristics=s.characteristics, flags=_section_flags(s.characteristics),
            access=_access(s.characteristics)) for s in layout.sections)
        sbat_section = next((s for s in layout.sections if s.name == ".sbat"), None)
        sbat = parse_sbat(_read_text_section(f, sbat_section)) if sbat_section else None
        uki = _uki_info(f, layout, use_slot, placeholder)
        checksum = compute_checksum(f, layout)

        algorithms = {"sha256"} | {sig.digest_algorithm for _, sig in certificates
                                   if sig is not None and sig.digest_algorithm in
                                   ("sha1", "sha256", "sha384", "sha512")}
        plain, padded = authenticode_digests_of(f, layout, sorted(algorithms))

    cert_infos = []
    for entry, signature in certificates:
        computed = plain.get(signature.digest_algorithm) if signature else None
        cert_infos.append(CertificateInfo(
            index=entry.index, offset=entry.offset, length=entry.length,
            revision=entry.revision, cert_type=entry.cert_type, type_name=entry.type_name,
            signature=signature, computed_digest=computed,
            matches=None if signature is None else computed == signature.digest,
            matches_padded=None if signature is None or computed is None
            else padded[signature.digest_algorithm] == signature.digest,
            guid=str(uuid.UUID(bytes_le=entry.data[:16])).upper()
            if entry.cert_type == WIN_CERT_TYPE_EFI_GUID and len(entry.data) >= 16 else None,
        ))

    return PEInfo(
        path=os.fspath(path),
        file_size=layout.file_size,
        format="PE32+" if layout.is_pe32_plus else "PE32",
        machine=layout.machine,
        machine_name=machine_name.removeprefix("IMAGE_FILE_MACHINE_"),
        subsystem=layout.subsystem,
        subsystem_name=SUBSYSTEMS.get(layout.subsystem, f"not EFI ({layout.subsystem})"),
        entry_point=entry_point,
        image_base=layout.image_base,
        size_of_image=layout.size_of_image,
        nx_compat=bool(layout.dll_characteristics & DLLCHAR_NX_COMPAT),
        dll_characteristics=dll_names,
        sections=sections,
        sections_contiguous=layout.sections_contiguous,
        sbat=sbat,
        uki=uki,
        checksum_stored=layout.stored_checksum,
        checksum_computed=checksum,
        certificate_table_offset=location.offset,
        certificate_table_size=location.size,
        certificates=tuple(cert_infos),
        authenticode_sha256=plain["sha256"],
        authenticode_sha256_padded=padded["sha256"],
        slot=name_slot,
        stamp=_stamp_summary(path),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def info_to_dict(info: PEInfo) -> dict[str, Any]:
    """A JSON-ready dict of ``info`` (bytes as hex, the slot as its display string)."""
    data = asdict(info)
    data["slot"] = {"slot": info.slot.slot, "default": info.slot.default,
                    "display": str(info.slot)}
    data["signed"] = info.signed
    return dict(_jsonable(data))
