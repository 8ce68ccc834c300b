"""Stamping PE files: hash, CheckSum, replace, clear, refusals (efikit only; peers elsewhere)."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efikit.errors import StampError
from efikit.pe import stamp_cert
from efikit.pe.authenticode import authenticode_hash
from efikit.pe.certtable import (WIN_CERT_TYPE_EFI_GUID, WIN_CERT_TYPE_PKCS_SIGNED_DATA,
                                 read_cert_table)
from efikit.pe.checksum import compute_checksum_path
from efikit.pe.layout import read_layout_path
from efikit.pe.signature import parse_authenticode
from efikit.pe.stamp import clear_stamp, inspect_stamp, read_stamp, set_stamp, slot_mismatch
from efikit.pe.stamp_cert import is_stamp_certificate, parse_signed_data
from efikit.pe.stamp_format import MAGIC, Stamp, decode_stamp, make_stamp
from test_stamp_support import (SIGNED_FIXTURES, UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED,
                                Snapshot, work_copy)

STAMP_B = make_stamp("B", {"version": "1.2.3", "build-id": "20240601.7"})
ALL_FIXTURES = SIGNED_FIXTURES + [UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED]


def entries(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return read_cert_table(f, read_layout_path(path))[1]


def checksum_valid(path: Path) -> bool:
    layout = read_layout_path(path)
    return layout.stored_checksum == compute_checksum_path(path, layout)


def set_checksum(path: Path, value: int) -> None:
    layout = read_layout_path(path)
    with path.open("r+b") as f:
        f.seek(layout.checksum_offset)
        f.write(struct.pack("<I", value))


@pytest.mark.parametrize("name", SIGNED_FIXTURES)
def test_signed_image_keeps_hash_and_signature_bytes(tmp_path: Path, name: str) -> None:
    path = work_copy(name, tmp_path)
    before_hash = authenticode_hash(path, "sha256")
    [before] = entries(path)
    result = set_stamp(path, STAMP_B)
    assert (result.changed, result.container, result.hash_effect) == (
        True, "pkcs7-certificate", "unchanged")
    assert authenticode_hash(path, "sha256") == before_hash
    [after] = entries(path)
    assert after.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA
    old_view, new_view = parse_signed_data(before.data), parse_signed_data(after.data)
    # Everything but the certificates set is byte-identical; the old certificates are kept.
    assert new_view.before_certs == old_view.before_certs
    assert new_view.after_certs == old_view.after_certs
    assert new_view.certificates[:-1] == old_view.certificates
    assert is_stamp_certificate(new_view.certificates[-1])
    old_sig, new_sig = parse_authenticode(before.data), parse_authenticode(after.data)
    assert (new_sig.digest, new_sig.signers) == (old_sig.digest, old_sig.signers)
    assert after.length - before.length == len(new_view.der) - len(old_view.der)
    assert (after.length - before.length) % 8 == 0
    assert read_stamp(path) == STAMP_B


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_restamp_replaces_and_clear_restores_bytes(tmp_path: Path, name: str) -> None:
    path = work_copy(name, tmp_path)
    original = path.read_bytes()
    set_stamp(path, STAMP_B)
    set_stamp(path, make_stamp("A", {"x": "y" * 300}))
    set_stamp(path, make_stamp("A"))
    assert read_stamp(path) == make_stamp("A")
    table = b"".join(e.data for e in entries(path))
    assert table.count(MAGIC) == 1  # never two stamps
    result = clear_stamp(path)
    assert result.changed and result.previous == make_stamp("A") and result.stamp is None
    assert path.read_bytes() == original
    assert read_stamp(path) is None
    assert clear_stamp(path).changed is False
    assert path.read_bytes() == original


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_valid_checksum_stays_valid(tmp_path: Path, name: str) -> None:
    path = work_copy(name, tmp_path)
    assert checksum_valid(path)
    assert set_stamp(path, STAMP_B).checksum == "updated"
    assert checksum_valid(path)
    assert set_stamp(path, make_stamp("A")).checksum == "updated"
    assert checksum_valid(path)
    clear_stamp(path)
    assert checksum_valid(path)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_zero_checksum_is_left_alone(tmp_path: Path, name: str) -> None:
    path = work_copy(name, tmp_path)
    set_checksum(path, 0)
    original = path.read_bytes()
    assert set_stamp(path, STAMP_B).checksum == "zero"
    assert read_layout_path(path).stored_checksum == 0
    clear_stamp(path)
    assert path.read_bytes() == original


def test_impossible_checksum_is_left_alone(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    set_checksum(path, 0xDEADBEEF)
    assert set_stamp(path, STAMP_B).checksum == "left-alone"
    assert read_layout_path(path).stored_checksum == 0xDEADBEEF


def test_wrong_but_plausible_checksum_stays_wrong_and_round_trips(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    set_checksum(path, read_layout_path(path).stored_checksum + 1)
    original = path.read_bytes()
    set_stamp(path, STAMP_B)
    assert not checksum_valid(path)
    clear_stamp(path)
    assert path.read_bytes() == original


def test_unsigned_aligned_hash_unchanged(tmp_path: Path) -> None:
    path = work_copy(UNSIGNED_ALIGNED, tmp_path)
    assert path.stat().st_size % 8 == 0
    before = authenticode_hash(path)
    result = set_stamp(path, STAMP_B)
    assert (result.container, result.hash_effect) == ("efi-guid-entry", "unchanged")
    assert any("sign it first" in w for w in result.warnings)
    assert authenticode_hash(path) == before
    [entry] = entries(path)
    assert entry.cert_type == WIN_CERT_TYPE_EFI_GUID and entry.offset == result.old_size


def test_unsigned_unaligned_hash_becomes_padded_hash(tmp_path: Path) -> None:
    path = work_copy(UNSIGNED_UNALIGNED, tmp_path)
    size = path.stat().st_size
    assert size % 8
    padded = authenticode_hash(path, padded=True)
    result = set_stamp(path, STAMP_B)
    assert result.hash_effect == "padded"
    assert any("padded hash" in w for w in result.warnings)
    assert authenticode_hash(path) == padded
    [entry] = entries(path)
    assert entry.offset == size + (-size % 8)
    assert path.read_bytes()[size:entry.offset] == bytes(-size % 8)
    # Stamping again does not pad again.
    set_stamp(path, make_stamp("A"))
    assert authenticode_hash(path) == padded


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    snap = Snapshot.of(path)
    result = set_stamp(path, STAMP_B, dry_run=True)
    assert result.changed and result.new_size > result.old_size
    assert snap.unchanged(path)


def test_output_leaves_source_untouched(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    snap = Snapshot.of(path)
    out = tmp_path / "out" / "boot-b.efi"
    out.parent.mkdir()
    set_stamp(path, STAMP_B, output=out)
    assert snap.unchanged(path)
    assert read_stamp(out) == STAMP_B
    clear_stamp(out, output=tmp_path / "cleared.efi")
    assert (tmp_path / "cleared.efi").read_bytes() == snap.data
    assert sorted(p.name for p in out.parent.iterdir()) == ["boot-b.efi"]  # no temp left


def test_slot_mismatch_warning() -> None:
    assert slot_mismatch("/esp/EFI/metropolis/boot-b.efi", make_stamp("A")) is not None
    assert slot_mismatch("/esp/EFI/metropolis/BOOT-B.EFI", make_stamp("B")) is None
    assert slot_mismatch("/esp/EFI/BOOT/BOOTX64.EFI", make_stamp("A")) is None
    assert "by default" in (slot_mismatch("/esp/EFI/BOOT/BOOTX64.EFI", make_stamp("B")) or "")
    assert slot_mismatch("boot-a.efi", None) is None


# --- refusals: clear error, file untouched --------------------------------------------------

def _table_at_end_violation(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"\0" * 8)


def _dwlength_zero(path: Path) -> None:
    [entry] = entries(path)
    with path.open("r+b") as f:
        f.seek(entry.offset)
        f.write(struct.pack("<I", 0))


def _dwlength_too_long(path: Path) -> None:
    [entry] = entries(path)
    with path.open("r+b") as f:
        f.seek(entry.offset)
        f.write(struct.pack("<I", entry.length + 64))


def _garbage_pkcs7(path: Path) -> None:
    [entry] = entries(path)
    with path.open("r+b") as f:
        f.seek(entry.data_offset + 30)
        f.write(b"\xff" * 40)


def _not_pkcs7_signed_data(path: Path) -> None:
    [entry] = entries(path)
    with path.open("r+b") as f:
        f.seek(entry.data_offset + 4)
        f.write(bytes.fromhex("06092a864886f70d010701"))  # id-data instead of signedData


def _unknown_major_stamp(path: Path) -> None:
    set_stamp(path, STAMP_B)
    data = path.read_bytes()
    at = data.rindex(MAGIC)
    with path.open("r+b") as f:
        f.seek(at + 12)
        f.write(b"\x07")


@pytest.mark.parametrize("damage, message", [
    (_table_at_end_violation, "not at the end of the file"),
    (_dwlength_zero, "dwLength 0"),
    (_dwlength_too_long, "longer than"),
    (_garbage_pkcs7, "PKCS#7"),
    (_not_pkcs7_signed_data, "signedData"),
    (_unknown_major_stamp, "major version 7"),
])
@pytest.mark.parametrize("operation", ["set", "clear", "show"])
def test_refusals_leave_the_file_untouched(tmp_path: Path, damage, message: str,  # type: ignore[no-untyped-def]
                                           operation: str) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    damage(path)
    snap = Snapshot.of(path)
    with pytest.raises(StampError, match=message):
        if operation == "set":
            set_stamp(path, STAMP_B)
        elif operation == "clear":
            clear_stamp(path)
        else:
            read_stamp(path)
    assert snap.unchanged(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_unaligned_gap_is_not_mistaken_for_padding(tmp_path: Path) -> None:
    path = work_copy(UNSIGNED_UNALIGNED, tmp_path)
    set_stamp(path, STAMP_B)
    [entry] = entries(path)
    with path.open("r+b") as f:  # a non-zero byte where efikit's alignment zeros were
        f.seek(entry.offset - 1)
        f.write(b"\x01")
    snap = Snapshot.of(path)
    with pytest.raises(StampError, match="zero padding"):
        clear_stamp(path)
    assert snap.unchanged(path)


def test_pkcs7_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    [entry] = entries(path)
    monkeypatch.setattr(stamp_cert, "MAX_PKCS7_CONTENT", entry.length + 100)
    snap = Snapshot.of(path)
    with pytest.raises(StampError, match="below 64 KiB"):
        set_stamp(path, STAMP_B)
    assert snap.unchanged(path)


def test_not_a_pe(tmp_path: Path) -> None:
    path = tmp_path / "x.efi"
    path.write_bytes(b"hello" * 30)
    with pytest.raises(StampError, match="MZ"):
        set_stamp(path, STAMP_B)


def test_inspect_stamp_never_raises(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path, "boot-b.efi")
    assert inspect_stamp(path).stamp is None
    set_stamp(path, make_stamp("A"))
    report = inspect_stamp(path)
    assert report.stamp == make_stamp("A") and report.error is None
    assert report.name_warning is not None and "boots slot B" in report.name_warning
    _unknown_major_stamp(path)
    report = inspect_stamp(path)
    assert report.stamp is None and report.error is not None and "major version" in report.error


_FUZZ_BASE: dict[str, bytes] = {}


def _stamped_bytes(name: str, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if name not in _FUZZ_BASE:
        path = work_copy(name, tmp_path_factory.mktemp("fuzz-base"))
        set_stamp(path, STAMP_B)
        _FUZZ_BASE[name] = path.read_bytes()
    return _FUZZ_BASE[name]


@pytest.mark.parametrize("name", [SIGNED_FIXTURES[0], UNSIGNED_UNALIGNED])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_tables_only_raise_stamp_errors(name: str, data: st.DataObject,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random byte changes in a stamped certificate table: every operation either works or
    raises StampError, and a refused write leaves the file as it was."""
    image = bytearray(_stamped_bytes(name, tmp_path_factory))
    table = read_layout_path_bytes(bytes(image))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(table, len(image) - 1))
        image[at] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("fuzz") / "x.efi"
    path.write_bytes(bytes(image))
    for operation in (read_stamp, lambda p: set_stamp(p, make_stamp("A")), clear_stamp):
        before = path.read_bytes()
        try:
            operation(path)
        except StampError:
            assert path.read_bytes() == before


def read_layout_path_bytes(image: bytes) -> int:
    import io

    from efikit.pe.layout import read_layout

    directory = read_layout(io.BytesIO(image)).security_directory
    assert directory is not None
    return directory.virtual_address


def _c_reader(image: bytes) -> Stamp | None:
    """The lookup the stamp_format docstring prescribes for C readers, step by step."""
    pe = struct.unpack_from("<I", image, 0x3C)[0]
    optional = pe + 24
    magic = struct.unpack_from("<H", image, optional)[0]
    directories = optional + (112 if magic == 0x20B else 96)
    offset, size = struct.unpack_from("<II", image, directories + 4 * 8)
    assert offset + size <= len(image)
    at = image.find(MAGIC, offset, offset + size)
    if at < 0:
        return None
    total = struct.unpack_from("<H", image, at + 14)[0]
    assert 18 <= total and at + total <= offset + size
    return decode_stamp(image[at:at + total])[0]


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_docstring_lookup_finds_the_stamp(tmp_path: Path, name: str) -> None:
    import efikit.pe.stamp_format as fmt

    path = work_copy(name, tmp_path)
    assert _c_reader(path.read_bytes()) is None
    set_stamp(path, STAMP_B)
    image = path.read_bytes()
    assert _c_reader(image) == STAMP_B
    doc = fmt.__doc__ or ""
    assert fmt.STAMP_GUID_BYTES.hex(" ") in doc and stamp_cert.STAMP_OID_DER.hex(" ") in doc
    if name in (UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED):
        [entry] = entries(path)
        assert image[entry.offset + 24:entry.offset + 36] == MAGIC
