"""Every stamp up to the 1 KiB limit fits a signed loader with the PKCS#7 kept 8-byte aligned.

The stamp certificate grows with the payload; the length of its serial number brings the
PKCS#7 back to its length modulo 8. It once was filler after the payload that did this, with
a serial number hashed from payload + filler: the serial's DER length wandered, several DER
length fields grew at once near 128 and 256 bytes, and some payload lengths had no filler
that fits ("cannot keep the PKCS#7 8-byte aligned", e.g. --meta v=bbbbbbbbbb).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from efikit.pe.stamp import _analyse, read_stamp, set_stamp
from efikit.pe.stamp_cert import (SERIAL_BYTES, build_stamp_certificate, parse_signed_data,
                                  splice, stamp_from_certificate)
from efikit.pe.stamp_format import HEADER_SIZE, MAX_PAYLOAD, make_stamp
from conftest import require_file
from test_pe_support import FIXTURES_PE
from test_stamp_support import GRUB, SHIM, SIGNED_FIXTURES, Snapshot, work_copy

# one key "v": 1 byte key length + "v" + 2 bytes value length
ONE_KEY_OVERHEAD = HEADER_SIZE + 1 + 1 + 2
MAX_VALUE = MAX_PAYLOAD - ONE_KEY_OVERHEAD
SIGNED_LOADERS = [FIXTURES_PE / n for n in SIGNED_FIXTURES] + [SHIM, GRUB]


def _stamp(value_length: int):  # type: ignore[no-untyped-def]
    return make_stamp("B", {"v": "b" * value_length})


def test_value_lengths_cover_every_payload_length() -> None:
    assert len(_stamp(0).to_bytes()) == ONE_KEY_OVERHEAD
    assert len(_stamp(MAX_VALUE).to_bytes()) == MAX_PAYLOAD


def test_serial_length_reaches_every_residue_for_every_payload_length() -> None:
    """The loader-independent fact the splice relies on: for each payload, the serial number
    lengths give consecutive certificate lengths, so every residue modulo 8."""
    for value_length in range(MAX_VALUE + 1):
        stamp = _stamp(value_length)
        lengths = [len(build_stamp_certificate(stamp, 0, n)) for n in SERIAL_BYTES]
        first = lengths[0]
        assert lengths == list(range(first, first + 8)), \
            f"payload {value_length + ONE_KEY_OVERHEAD} bytes"


@pytest.mark.parametrize("loader", SIGNED_LOADERS, ids=lambda p: p.name)
def test_every_payload_length_splices_into_real_signed_loaders(loader: Path) -> None:
    require_file(loader)
    with loader.open("rb") as f:
        view = _analyse(f, str(loader)).view
    assert view is not None
    for value_length in range(MAX_VALUE + 1):
        stamp = _stamp(value_length)
        der = splice(view, stamp)
        assert (len(der) - view.length) % 8 == 0
        spliced = parse_signed_data(der)
        [index] = spliced.stamp_indexes()
        assert stamp_from_certificate(spliced.certificates[index]) == stamp
        assert spliced.certificates[:index] == view.certificates


@pytest.mark.parametrize("value", ["a", "ab", "abc", "b" * 10, "b" * 31, "b" * MAX_VALUE])
def test_cli_sized_values_stamp_and_clear(tmp_path: Path, value: str) -> None:
    """Values whose lengths failed before ("cannot keep the PKCS#7 8-byte aligned")."""
    path = work_copy("boot-a.efi", tmp_path)
    original = Snapshot.of(path)
    stamp = make_stamp("A", {"v": value})
    set_stamp(path, stamp)
    assert read_stamp(path) == stamp
    from efikit.pe.stamp import clear_stamp

    clear_stamp(path)
    assert path.read_bytes() == original.data


@pytest.mark.parametrize("serial_bytes", list(SERIAL_BYTES))
def test_serial_number_is_positive_minimal_and_of_the_asked_length(serial_bytes: int) -> None:
    from asn1crypto import x509

    for n in range(0, MAX_VALUE + 1, 37):
        der = build_stamp_certificate(_stamp(n), 0, serial_bytes)
        serial = x509.Certificate.load(der, strict=True)["tbs_certificate"]["serial_number"]
        assert len(serial.contents) == serial_bytes
        assert serial.native > 0 and serial.contents[0] >= 0x40
