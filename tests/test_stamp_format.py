"""The stamp payload: versioned, bounded, strict about what it reads."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efikit.errors import StampError
from efikit.pe.stamp_cert import (STAMP_OID_DER, build_stamp_certificate, is_stamp_certificate,
                                  stamp_from_certificate)
from efikit.pe.stamp_format import (MAGIC, MAX_PAYLOAD, STAMP_GUID_BYTES, STAMP_OID, Stamp,
                                    decode_stamp, encode_stamp, make_stamp)


def test_layout_is_what_the_docstring_says() -> None:
    raw = make_stamp("B", {"version": "1.2"}).to_bytes()
    assert raw[:12] == b"EFIKIT-STAMP" == MAGIC
    assert raw[12] == 1 and raw[13] == 0
    assert struct.unpack_from("<H", raw, 14)[0] == len(raw) == 18 + 1 + 7 + 2 + 3
    assert raw[16:17] == b"B" and raw[17] == 1
    assert raw[18] == 7 and raw[19:26] == b"version"
    assert struct.unpack_from("<H", raw, 26)[0] == 3 and raw[28:31] == b"1.2"


def test_round_trip_keeps_order() -> None:
    stamp = make_stamp("a", (("version", "2024.1"), ("build-id", "abc"), ("note", "é ü")))
    assert stamp.slot == "A"
    assert Stamp.from_bytes(stamp.to_bytes()) == stamp
    assert stamp.get("build-id") == "abc" and stamp.get("missing") is None


def test_unknown_major_version_is_rejected() -> None:
    raw = bytearray(make_stamp("A").to_bytes())
    raw[12] = 2
    with pytest.raises(StampError, match="major version 2"):
        decode_stamp(bytes(raw))


def test_newer_minor_version_is_read_and_extra_fields_ignored() -> None:
    raw = bytearray(make_stamp("B", {"k": "v"}).to_bytes() + b"future")
    raw[13] = 3
    struct.pack_into("<H", raw, 14, len(raw))
    stamp, length = decode_stamp(bytes(raw))
    assert (stamp.slot, stamp.meta, stamp.minor, length) == ("B", (("k", "v"),), 3, len(raw))


@pytest.mark.parametrize("slot", ["C", "", "AB"])
def test_bad_slot(slot: str) -> None:
    with pytest.raises(StampError, match="slot"):
        make_stamp(slot)


@pytest.mark.parametrize("key", ["", "a b", "x" * 65, "ключ", "a=b"])
def test_bad_key(key: str) -> None:
    with pytest.raises(StampError, match="key"):
        make_stamp("A", {key: "v"})


def test_duplicate_key_and_nul_value() -> None:
    with pytest.raises(StampError, match="twice"):
        make_stamp("A", (("a", "1"), ("a", "2")))
    with pytest.raises(StampError, match="NUL"):
        make_stamp("A", {"a": "x\x00y"})


def test_size_limit() -> None:
    ok = make_stamp("A", {"v": "x" * (MAX_PAYLOAD - 18 - 1 - 1 - 2)})
    assert len(ok.to_bytes()) == MAX_PAYLOAD
    with pytest.raises(StampError, match="limit is 1024"):
        make_stamp("A", {"v": "x" * (MAX_PAYLOAD - 18 - 1 - 1 - 2 + 1)})


@pytest.mark.parametrize("cut", [0, 5, 17, 20, 25])
def test_truncated_payloads_are_refused(cut: int) -> None:
    raw = make_stamp("B", {"version": "1.2"}).to_bytes()
    with pytest.raises(StampError):
        decode_stamp(raw[:cut])


def test_identifiers() -> None:
    assert STAMP_OID.startswith("2.25.")
    assert len(STAMP_GUID_BYTES) == 16
    assert STAMP_OID_DER[0] == 0x06 and STAMP_OID_DER[2] == 2 * 40 + 25


def test_certificate_carries_the_stamp_and_names_efikit() -> None:
    from asn1crypto import x509

    stamp = make_stamp("B", {"build": "7"})
    der = build_stamp_certificate(stamp, filler=5)
    assert is_stamp_certificate(der)
    certificate = x509.Certificate.load(der)
    assert "efikit" in certificate.subject.human_friendly
    extensions = list(certificate["tbs_certificate"]["extensions"])
    assert [(e["extn_id"].dotted, e["critical"].native) for e in extensions] == [(STAMP_OID, False)]
    assert certificate.dump(force=True) == der  # well-formed DER: re-encodes identically
    assert stamp_from_certificate(der) == stamp
    assert der.count(MAGIC) == 1


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["A", "B"]),
       st.dictionaries(st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True),
                       st.text(st.characters(blacklist_characters="\x00",
                                             blacklist_categories=("Cs",)), max_size=40),
                       max_size=8))
def test_property_round_trip(slot: str, meta: dict[str, str]) -> None:
    stamp = make_stamp(slot, meta)
    raw = encode_stamp(stamp)
    assert len(raw) <= MAX_PAYLOAD
    assert decode_stamp(raw + b"\x00" * 3) == (stamp, len(raw))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_property_decoder_only_raises_stamp_error(tail: bytes) -> None:
    try:
        decode_stamp(MAGIC + tail)
    except StampError:
        pass
