"""Authenticode stamping: carry the A/B slot (and a few strings) inside a loader's certificate
table, where neither the Authenticode hash (PCR 4, db/dbx) nor the signature looks.

- Signed image: one extra X.509 certificate in the first PKCS#7 WIN_CERTIFICATE's
  ``certificates`` set (``stamp_cert``). Later WIN_CERTIFICATE entries and nested signatures
  stay byte-identical (they only move, by a multiple of 8 bytes). The Authenticode hash and
  the signature do not change.
- Unsigned image: a WIN_CERT_TYPE_EFI_GUID entry with efikit's GUID, appended as a new table
  at the end of the file (after up to 7 zero bytes that align it to 8). For an image whose size
  is a multiple of 8 the Authenticode hash does not change; otherwise it changes once, to the
  padded hash (``pesign -h -P``), which is also what sbsign signs. sbsign drops this entry when
  it signs: sign first, then stamp.

Stamping again replaces the stamp; ``clear_stamp`` gives back the original file byte for byte.

Writes are in place and touch only the certificate table at the end of the file plus two
header fields (the security directory entry and CheckSum), so their cost does not grow with the
image. Everything is validated before the first byte is written; an invalid image is refused
with ``StampError`` and left untouched. The in-place write itself is not atomic (an image can
be hundreds of MiB; copying it is what this design avoids), but it is undone on failure: the
bytes it overwrites (a few KiB) are read first, the growth is allocated before the first byte
changes, and a failed write, truncate or fdatasync writes them back, so a full disk, a file
size limit or an I/O error leaves the original file. With ``output`` the stamped copy is built
in a temporary file next to it and renamed into place.

The CheckSum is updated incrementally from the bytes that change (the end-around-carry sum is
a sum modulo 0xFFFF), never by re-reading the file: a CheckSum that was valid stays valid, a
zero CheckSum stays zero, and one that cannot be valid for the file size is left alone.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from efikit.codec.slot_rule import slot_from_file_name
from efikit.errors import PEFormatError, StampError
from efikit.fileio import replacing, write_all
from efikit.pe.certtable import (WIN_CERT_HEADER_SIZE, WIN_CERT_REVISION_2_0,
                                 WIN_CERT_TYPE_EFI_GUID, WIN_CERT_TYPE_PKCS_SIGNED_DATA,
                                 CertEntry, SecurityDirectory, align8, encode_win_certificate,
                                 read_cert_table)
from efikit.pe.layout import PELayout, read_layout
from efikit.pe.stamp_format import STAMP_GUID_BYTES, Stamp, decode_stamp
from efikit.pe.signature import SPC_INDIRECT_DATA_OID

if TYPE_CHECKING:
    from efikit.pe.stamp_cert import SignedDataView

Container = Literal["pkcs7-certificate", "efi-guid-entry"]
HashEffect = Literal["unchanged", "padded", "unpadded"]
ChecksumAction = Literal["updated", "zero", "left-alone", "unchanged"]

GUID_TRAILER_SIZE = 8
_MOD = 0xFFFF

UNSIGNED_WARNING = (
    "the image is unsigned: the stamp is a WIN_CERT_TYPE_EFI_GUID entry, which sbsign drops "
    "when it signs. If this image will be signed, sign it first and stamp it afterwards.")


@dataclass(frozen=True)
class StampResult:
    """What a set or clear did (or, with dry_run, would do)."""

    path: str
    changed: bool
    stamp: Stamp | None  # the stamp the file carries afterwards
    previous: Stamp | None  # the stamp it carried before
    container: Container | None
    hash_effect: HashEffect
    checksum: ChecksumAction
    old_size: int
    new_size: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Analysis:
    layout: PELayout
    location: SecurityDirectory
    entries: tuple[CertEntry, ...]
    table: bytes
    pkcs7: CertEntry | None
    view: SignedDataView | None
    guid_entries: tuple[CertEntry, ...]
    stamp: Stamp | None
    container: Container | None


@dataclass(frozen=True)
class _Edit:
    """Replace the file from ``region_start`` on (old_region) by new_region; patch the header."""

    region_start: int
    old_region: bytes
    new_region: bytes
    directory_offset: int
    directory_old: bytes
    directory_new: bytes
    checksum_offset: int
    checksum_old: int
    checksum_new: int
    checksum_action: ChecksumAction
    warnings: tuple[str, ...] = field(default=())

    @property
    def old_size(self) -> int:
        return self.region_start + len(self.old_region)

    @property
    def new_size(self) -> int:
        return self.region_start + len(self.new_region)


# --- reading -------------------------------------------------------------------------------------

def _guid_stamp(entry: CertEntry) -> tuple[Stamp, int, int, int]:
    """(stamp, payload length, alignment padding, original directory VirtualAddress)."""
    body = entry.data[len(STAMP_GUID_BYTES):]
    stamp, length = decode_stamp(body)
    trailer = body[length:length + GUID_TRAILER_SIZE]
    if len(trailer) != GUID_TRAILER_SIZE or trailer[0] > 7 or trailer[1:4] != b"\0\0\0":
        raise StampError(f"efikit WIN_CERTIFICATE at {entry.offset:#x} has a malformed trailer")
    (original_va,) = struct.unpack_from("<I", trailer, 4)
    return stamp, length, trailer[0], original_va


def _analyse(f: BinaryIO, name: str) -> _Analysis:
    from efikit.pe.stamp_cert import parse_signed_data, stamp_from_certificate  # noqa: PLC0415

    try:
        layout = read_layout(f)
        location, entries = read_cert_table(f, layout)
    except PEFormatError as exc:
        raise StampError(f"{name}: {exc}") from None
    table = b""
    if location.present:
        f.seek(location.offset)
        table = f.read(location.size)
    pkcs7 = next((e for e in entries if e.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA), None)
    view: SignedDataView | None = None
    stamp: Stamp | None = None
    container: Container | None = None
    if pkcs7 is not None:
        where = f"{name}: WIN_CERTIFICATE {pkcs7.index} at {pkcs7.offset:#x}"
        try:
            view = parse_signed_data(pkcs7.data)
            _check_authenticode(view.der)
        except StampError as exc:
            raise StampError(f"{where}: {exc}") from None
        stamps = view.stamp_indexes()
        if stamps:
            stamp = stamp_from_certificate(view.certificates[stamps[0]])
            container = "pkcs7-certificate"
    guid_entries = tuple(e for e in entries if e.cert_type == WIN_CERT_TYPE_EFI_GUID
                         and e.data[:len(STAMP_GUID_BYTES)] == STAMP_GUID_BYTES)
    if stamp is None and guid_entries:
        stamp = _guid_stamp(guid_entries[0])[0]
        container = "efi-guid-entry"
    return _Analysis(layout, location, entries, table, pkcs7, view, guid_entries, stamp,
                     container)


def _check_authenticode(der: bytes) -> None:
    """Refuse a PKCS#7 that is not a complete Authenticode SignedData (asn1crypto parses every
    signer and certificate). Lighter than ``signature.parse_authenticode``, which also matches
    signers to certificates by name: stamping must cost far less than copying the image."""
    from asn1crypto import cms  # noqa: PLC0415

    try:
        signed = cms.ContentInfo.load(der, strict=True)["content"]
        content_type = signed["encap_content_info"]["content_type"].dotted
        if content_type != SPC_INDIRECT_DATA_OID:
            raise StampError(f"signed content type is {content_type}, not SpcIndirectDataContent")
        if len(signed["signer_infos"]) == 0:
            raise StampError("PKCS#7 signature has no signer")
        for signer in signed["signer_infos"]:
            signer["sid"].chosen
            signer["digest_algorithm"]["algorithm"].dotted
            signer["signature"].contents
        for certificate in signed["certificates"] or []:
            certificate.chosen["tbs_certificate"]["serial_number"].native
    except StampError:
        raise
    except Exception as exc:  # asn1crypto decodes lazily and raises many types on garbage
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StampError(f"malformed PKCS#7 signature: {reason}") from None


def read_stamp(path: str | os.PathLike[str]) -> Stamp | None:
    """The stamp of the PE image at ``path``, or None when it has none.

    Raises StampError when the certificate table, the PKCS#7 or the stamp is malformed, or the
    stamp has a major version this efikit does not read.
    """
    with Path(path).open("rb") as f:
        return _analyse(f, os.fspath(path)).stamp


def read_stamp_bytes(data: bytes, name: str = "image") -> Stamp | None:
    """``read_stamp`` of an image held in memory (a loader read from a disk image, say);
    ``name`` stands for the image in error messages."""
    return _analyse(io.BytesIO(data), name).stamp


def slot_mismatch(path: str | os.PathLike[str], stamp: Stamp | None) -> str | None:
    """A warning when the stamp's slot disagrees with the slot the file name gives, else None.

    A name without a slot suffix gives slot A by default (the seed's rule; the fallback copy
    ``\\EFI\\BOOT\\BOOTX64.EFI`` always boots A), so a stamp B there disagrees too.
    """
    if stamp is None:
        return None
    by_name = slot_from_file_name(os.fspath(path))
    if by_name.slot == stamp.slot:
        return None
    how = " by default (no boot-a/boot-b suffix)" if by_name.default else ""
    return (f"the stamp says slot {stamp.slot} but the file name {by_name.file_name!r} "
            f"boots slot {by_name.slot}{how}")


@dataclass(frozen=True)
class StampReport:
    """What ``efikit pe inspect`` shows about a stamp: the stamp, or why it cannot be read,
    and the warning when it disagrees with the file name."""

    stamp: Stamp | None
    error: str | None
    name_warning: str | None


def inspect_stamp(path: str | os.PathLike[str]) -> StampReport:
    """``read_stamp`` + ``slot_mismatch`` for an inspector: never raises StampError."""
    try:
        stamp = read_stamp(path)
    except StampError as exc:
        return StampReport(None, str(exc), None)
    return StampReport(stamp, None, slot_mismatch(path, stamp))


# --- planning ------------------------------------------------------------------------------------

def _entry_raw(a: _Analysis, entry: CertEntry) -> bytes:
    start = entry.offset - a.location.offset
    return a.table[start:min(entry.end - a.location.offset, len(a.table))]


def _table_tail(a: _Analysis) -> bytes:
    """Stray bytes after the last entry's padding (parse_cert_table tolerates zeros there)."""
    if not a.entries:
        return b""
    return a.table[a.entries[-1].end - a.location.offset:]


def _word_sum(offset: int, data: bytes) -> int:
    """Contribution of ``data`` at file ``offset`` to the CheckSum sum, modulo 0xFFFF."""
    if not data:
        return 0
    prefix = b"\0" if offset % 2 else b""
    return int.from_bytes(prefix + data, "little") % _MOD


def _checksum(layout: PELayout, edit_parts: tuple[int, bytes, bytes, int, bytes, bytes],
              new_size: int) -> tuple[int, ChecksumAction]:
    stored = layout.stored_checksum
    if stored == 0:
        return 0, "zero"
    folded = (stored - layout.file_size) & 0xFFFFFFFF
    if not 1 <= folded <= _MOD:
        return stored, "left-alone"
    region_start, old_region, new_region, dir_offset, dir_old, dir_new = edit_parts
    total = (folded - _word_sum(region_start, old_region) + _word_sum(region_start, new_region)
             - _word_sum(dir_offset, dir_old) + _word_sum(dir_offset, dir_new)) % _MOD
    return ((total or _MOD) + new_size) & 0xFFFFFFFF, "updated"


def _make_edit(a: _Analysis, region_start: int, new_region: bytes, directory: tuple[int, int],
               warnings: tuple[str, ...] = ()) -> _Edit:
    layout = a.layout
    if a.location.entry_offset is None:
        raise StampError("the optional header has no security directory entry (fewer than 5 "
                         "data directories): there is nowhere to point at a certificate table")
    directory_offset = a.location.entry_offset
    directory_old = struct.pack("<II", layout.security_directory.virtual_address,  # type: ignore[union-attr]
                                layout.security_directory.size)  # type: ignore[union-attr]
    directory_new = struct.pack("<II", *directory)
    if a.location.present:
        if region_start > a.location.offset:
            raise StampError("internal: edit starts inside the table")  # pragma: no cover
        # Zero padding before the table (verified before writing), then the table itself.
        old_region = bytes(a.location.offset - region_start) + a.table
    else:
        old_region = b""
    new_size = region_start + len(new_region)
    checksum_new, action = _checksum(
        layout, (region_start, old_region, new_region, directory_offset, directory_old,
                 directory_new), new_size)
    return _Edit(region_start, old_region, new_region, directory_offset, directory_old,
                 directory_new, layout.checksum_offset, layout.stored_checksum, checksum_new,
                 action, warnings)


def _rebuild_table(a: _Analysis, replace: dict[int, bytes], drop: set[int]) -> bytes:
    parts = []
    for entry in a.entries:
        if entry.index in drop:
            continue
        parts.append(replace.get(entry.index, _entry_raw(a, entry)))
    return b"".join(parts) + _table_tail(a)


def _spliced_pkcs7_entry(a: _Analysis, stamp: Stamp | None) -> bytes:
    from efikit.pe.stamp_cert import splice  # noqa: PLC0415

    entry = a.pkcs7
    assert entry is not None and a.view is not None
    view = a.view
    new_der = splice(view, stamp)
    trailing = entry.data[view.length:]
    delta = len(new_der) - view.length
    raw = _entry_raw(a, entry)
    new_length = entry.length + delta
    if delta % 8 == 0:
        padding = raw[entry.length:]  # kept verbatim: same count, same bytes
    else:  # only for a PKCS#7 another tool stamped: realign
        padding = bytes(align8(new_length) - new_length)
    return struct.pack("<I", new_length) + raw[4:WIN_CERT_HEADER_SIZE] + new_der + trailing + padding


def _plan_pkcs7(a: _Analysis, stamp: Stamp | None) -> _Edit:
    assert a.pkcs7 is not None
    new_entry = _spliced_pkcs7_entry(a, stamp)
    table = _rebuild_table(a, {a.pkcs7.index: new_entry}, {e.index for e in a.guid_entries})
    return _make_edit(a, a.location.offset, table, (a.location.offset, len(table)))


def _plan_set_unsigned(a: _Analysis, stamp: Stamp) -> _Edit:
    payload = stamp.to_bytes()
    layout = a.layout
    if a.guid_entries:
        first = a.guid_entries[0]
        _, _, pad, original_va = _guid_stamp(first)
        entry = _guid_entry(payload, pad, original_va)
        table = _rebuild_table(a, {first.index: entry}, {e.index for e in a.guid_entries[1:]})
        return _make_edit(a, a.location.offset, table, (a.location.offset, len(table)),
                          (UNSIGNED_WARNING,))
    directory = layout.security_directory
    original_va = directory.virtual_address if directory is not None else 0
    if a.location.present:
        if len(a.table) % 8:
            raise StampError(f"the certificate table is {len(a.table)} bytes, not a multiple of "
                             "8: an entry cannot be appended to it")
        table = a.table + _guid_entry(payload, 0, original_va)
        return _make_edit(a, a.location.offset, table, (a.location.offset, len(table)),
                          (UNSIGNED_WARNING,))
    pad = align8(layout.file_size) - layout.file_size
    entry = _guid_entry(payload, pad, original_va)
    effect = (f"the file size {layout.file_size} is not a multiple of 8: {pad} zero bytes go "
              "before the certificate table, so the Authenticode hash changes once, to the "
              "padded hash of the original (pesign -h -P; what sbsign signs)") if pad else (
              "the file size is a multiple of 8: the Authenticode hash does not change")
    return _make_edit(a, layout.file_size, bytes(pad) + entry,
                      (layout.file_size + pad, len(entry)), (UNSIGNED_WARNING, effect))


def _guid_entry(payload: bytes, pad: int, original_va: int) -> bytes:
    trailer = bytes([pad, 0, 0, 0]) + struct.pack("<I", original_va)
    return encode_win_certificate(WIN_CERT_TYPE_EFI_GUID, STAMP_GUID_BYTES + payload + trailer,
                                  WIN_CERT_REVISION_2_0)


def _plan_clear_unsigned(a: _Analysis) -> _Edit:
    first = a.guid_entries[0]
    _, _, pad, original_va = _guid_stamp(first)
    drop = {e.index for e in a.guid_entries}
    table = _rebuild_table(a, {}, drop)
    if table.strip(b"\0"):
        return _make_edit(a, a.location.offset, table, (a.location.offset, len(table)))
    region_start = a.location.offset - pad
    edit = _make_edit(a, region_start, b"", (original_va, 0))
    return edit


def _plan(a: _Analysis, stamp: Stamp | None) -> _Edit | None:
    """The edit that sets ``stamp`` (or clears, for None); None when there is nothing to do."""
    if a.pkcs7 is not None:
        if stamp is None and a.stamp is None:
            return None
        return _plan_pkcs7(a, stamp)
    if stamp is not None:
        return _plan_set_unsigned(a, stamp)
    if not a.guid_entries:
        return None
    return _plan_clear_unsigned(a)


# --- writing -------------------------------------------------------------------------------------

def _check_alignment_padding(fd: int, edit: _Edit, table_offset: int) -> None:
    if edit.region_start < table_offset:
        gap = os.pread(fd, table_offset - edit.region_start, edit.region_start)
        if gap.strip(b"\0"):
            raise StampError("the bytes before the certificate table are not the zero padding "
                             "efikit inserted: refusing to remove them")


@dataclass(frozen=True)
class _Saved:
    """The bytes an in-place edit overwrites, read back from the file before the first write."""

    size: int
    tail: bytes  # the file from the edit's region_start to its end
    directory: bytes
    checksum: bytes


def _read_exact(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise OSError(errno.EIO, f"short read of {length} bytes at offset {offset}")
    return data


def _write_at(fd: int, data: bytes, offset: int) -> None:
    """Write every byte of ``data`` at ``offset`` (short writes continue; errors raise)."""
    os.lseek(fd, offset, os.SEEK_SET)
    write_all(fd, data)


def _save(fd: int, edit: _Edit) -> _Saved:
    size = os.fstat(fd).st_size
    return _Saved(size, _read_exact(fd, size - edit.region_start, edit.region_start),
                  _read_exact(fd, len(edit.directory_old), edit.directory_offset),
                  _read_exact(fd, 4, edit.checksum_offset))


def _reserve(fd: int, old_size: int, new_size: int) -> None:
    """Allocate the bytes the file grows by before anything is overwritten, so that a full
    file system or a file size limit fails here, with the file still intact."""
    if new_size <= old_size:
        return
    try:
        os.posix_fallocate(fd, old_size, new_size - old_size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        # No preallocation on this file system: the writes below find out instead.


def _write_edit(fd: int, edit: _Edit, saved: _Saved, durable: bool) -> None:
    _reserve(fd, saved.size, edit.new_size)
    if edit.new_region:
        _write_at(fd, edit.new_region, edit.region_start)
    if edit.new_size < saved.size:
        os.ftruncate(fd, edit.new_size)
    if edit.directory_new != edit.directory_old:
        _write_at(fd, edit.directory_new, edit.directory_offset)
    if edit.checksum_new != edit.checksum_old:
        _write_at(fd, struct.pack("<I", edit.checksum_new), edit.checksum_offset)
    if durable:
        os.fdatasync(fd)  # data and file size; mtime alone need not be durable


def _restore(fd: int, edit: _Edit, saved: _Saved) -> None:
    _write_at(fd, saved.checksum, edit.checksum_offset)
    _write_at(fd, saved.directory, edit.directory_offset)
    _write_at(fd, saved.tail, edit.region_start)
    os.ftruncate(fd, saved.size)
    os.fdatasync(fd)


def _apply(fd: int, edit: _Edit, durable: bool, name: str) -> None:
    """Write ``edit`` in place; on any failure write back what was there and raise StampError.

    The overwritten bytes are few (the certificate table and two header fields), so they are
    kept in memory until the new ones are durable.
    """
    saved = _save(fd, edit)
    try:
        _write_edit(fd, edit, saved, durable)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        try:
            _restore(fd, edit, saved)
        except OSError as again:
            raise StampError(
                f"{name}: writing the stamp failed ({reason}) and so did restoring the original "
                f"bytes ({again.strerror or again}): the loader may be damaged; copy it again "
                "from its source") from None
        raise StampError(f"{name}: writing the stamp failed ({reason}); the file is "
                         "unchanged") from None


def _hash_effect(a: _Analysis, edit: _Edit) -> HashEffect:
    """How the Authenticode hash changes: it covers the file up to the certificate table."""
    old_end = a.location.offset if a.location.present else a.layout.file_size
    new_va, new_size = struct.unpack("<II", edit.directory_new)
    new_end = new_va if new_size else edit.new_size
    if new_end == old_end:
        return "unchanged"
    return "padded" if new_end > old_end else "unpadded"


def _run(path: str | os.PathLike[str], stamp: Stamp | None, output: str | os.PathLike[str] | None,
         dry_run: bool, durable: bool) -> StampResult:
    source = Path(path)
    target = Path(output) if output is not None else source
    in_place = output is None or _same_file(source, target)
    name = os.fspath(source)
    if dry_run:
        with source.open("rb") as f:
            return _do(f, name, stamp, write=False, durable=durable)
    if in_place:
        try:
            handle = source.open("r+b", buffering=0)
        except OSError as exc:
            raise StampError(f"{name}: cannot open it for writing ({exc.strerror or exc}); the "
                             "file is unchanged") from None
        with handle as f:
            return _do(f, name, stamp, write=True, durable=durable)
    # Validate the source before making a copy, then stamp the copy and rename it into place.
    with source.open("rb") as f:
        _do(f, name, stamp, write=False, durable=durable)
    written = os.fspath(target)
    try:
        with replacing(target) as (_, temp):
            shutil.copyfile(source, temp)
            shutil.copymode(source, temp)
            with temp.open("r+b", buffering=0) as f:
                return _do(f, name, stamp, write=True, durable=True, written=written)
    except OSError as exc:
        raise StampError(f"{written}: cannot write the stamped image ({exc.strerror or exc}); "
                         f"{'it is unchanged' if target.exists() else 'nothing was written'}"
                         ) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _do(f: BinaryIO, name: str, stamp: Stamp | None, write: bool, durable: bool,
        written: str | None = None) -> StampResult:
    """Analyse, plan and (with ``write``) apply; ``written`` names the file being written in
    errors when it is not ``name`` (a copy headed for -o)."""
    a = _analyse(f, name)
    edit = _plan(a, stamp)
    if edit is None:
        return StampResult(name, False, a.stamp, a.stamp, a.container, "unchanged", "unchanged",
                           a.layout.file_size, a.layout.file_size)
    if a.location.present and edit.region_start < a.location.offset:
        _check_alignment_padding(f.fileno(), edit, a.location.offset)
    if write:
        _apply(f.fileno(), edit, durable, written or name)
    container: Container | None
    if stamp is None:
        container = None
    else:
        container = "pkcs7-certificate" if a.pkcs7 is not None else "efi-guid-entry"
    return StampResult(name, True, stamp, a.stamp, container, _hash_effect(a, edit),
                       edit.checksum_action, edit.old_size, edit.new_size, edit.warnings)


def set_stamp(path: str | os.PathLike[str], stamp: Stamp,
              output: str | os.PathLike[str] | None = None, dry_run: bool = False,
              durable: bool = True) -> StampResult:
    """Stamp the PE image at ``path`` (in place, or into ``output``); replaces any stamp.

    ``durable`` fsyncs the file after the in-place write.
    """
    return _run(path, stamp, output, dry_run, durable)


def clear_stamp(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
                dry_run: bool = False, durable: bool = True) -> StampResult:
    """Remove the stamp, giving back the file as it was before it was first stamped."""
    return _run(path, None, output, dry_run, durable)


__all__ = ["StampReport", "StampResult", "UNSIGNED_WARNING", "clear_stamp", "inspect_stamp",
           "read_stamp", "read_stamp_bytes", "set_stamp", "slot_mismatch"]
