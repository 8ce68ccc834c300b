"""The stamp certificate, and its byte-level splice into an Authenticode PKCS#7.

The ``certificates`` set of a PKCS#7 SignedData is not covered by the signature: it is a pool
the verifier draws on to build the signer's chain. efikit appends one extra certificate there
(``build_stamp_certificate``) and changes nothing else: the splice walks the DER headers of
ContentInfo -> [0] -> SignedData -> certificates, replaces the set's contents, and re-encodes
only those four length fields (minimal DER). Every other byte -- version, digest algorithms,
the signed SpcIndirectDataContent, the other certificates, CRLs and signerInfos (with any
nested signatures in their unauthenticated attributes) -- is copied verbatim.

The certificate is a container, not a credential: its public key is a fixed number that is
not an RSA key anyone holds, and its signature is zeros. Its subject and issuer
(``CN=efikit stamp, O=efikit``) match no real certificate, so chain building never picks it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from efikit.errors import StampError
from efikit.pe.stamp_format import STAMP_OID, Stamp, decode_stamp, encode_stamp

SIGNED_DATA_OID_DER = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2
# edk2 treats a PKCS#7 whose outer length is not in the 2-byte form as "not wrapped" and
# wraps it again, which then fails: so the whole ContentInfo must stay below 64 KiB.
MAX_PKCS7_CONTENT = 0xFFFF
MAX_FILLER = 15
# Serial number lengths the splice chooses from. The TBSCertificate is always longer than
# 255 bytes, so one more serial byte makes every enclosing element exactly one byte longer:
# eight consecutive lengths reach every residue modulo 8, whatever the payload.
SERIAL_BYTES = range(8, 16)

STAMP_SUBJECT = {"common_name": "efikit stamp", "organization_name": "efikit"}


@dataclass(frozen=True)
class _Tlv:
    """One DER element: tag byte, where it starts, its header length and content length."""

    tag: int
    start: int
    header: int
    length: int
    minimal: bool

    @property
    def content_start(self) -> int:
        return self.start + self.header

    @property
    def end(self) -> int:
        return self.start + self.header + self.length


def _tlv(buf: bytes, pos: int, end: int, what: str) -> _Tlv:
    if pos + 2 > end:
        raise StampError(f"PKCS#7: {what} is truncated at byte {pos}")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise StampError(f"PKCS#7: {what} at byte {pos} uses a multi-byte tag")
    first = buf[pos + 1]
    if first < 0x80:
        header, length, minimal = 2, first, True
    elif first == 0x80:
        raise StampError(f"PKCS#7: {what} at byte {pos} uses an indefinite length (BER)")
    else:
        count = first & 0x7F
        if count > 4 or pos + 2 + count > end:
            raise StampError(f"PKCS#7: {what} at byte {pos} has a bad length field")
        length = int.from_bytes(buf[pos + 2:pos + 2 + count], "big")
        header = 2 + count
        minimal = length >= 0x80 and len(_length_bytes(length)) == 1 + count
    if pos + header + length > end:
        raise StampError(f"PKCS#7: {what} at byte {pos} ({length} bytes) runs past its "
                         f"enclosing element (ends at {end})")
    return _Tlv(tag, pos, header, length, minimal)


def _children(buf: bytes, parent: _Tlv, what: str) -> list[_Tlv]:
    out = []
    pos = parent.content_start
    while pos < parent.end:
        child = _tlv(buf, pos, parent.end, what)
        out.append(child)
        pos = child.end
    return out


def _length_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _wrap(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length_bytes(len(content)) + content


@dataclass(frozen=True)
class SignedDataView:
    """The parts of a PKCS#7 ContentInfo the splice needs; ``length`` excludes trailing bytes."""

    der: bytes
    length: int
    before_certs: bytes  # SignedData content before the certificates field
    after_certs: bytes  # SignedData content after it (crls, signerInfos)
    certificates: tuple[bytes, ...]  # each element of the certificates set, verbatim
    had_certs_field: bool

    def stamp_indexes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.certificates) if is_stamp_certificate(c))

    def rebuild(self, certificates: tuple[bytes, ...]) -> bytes:
        """The ContentInfo with this certificates set; nothing else changes."""
        if certificates or self.had_certs_field:
            certs_field = _wrap(0xA0, b"".join(certificates))
        else:
            certs_field = b""
        signed_data = _wrap(0x30, self.before_certs + certs_field + self.after_certs)
        return _wrap(0x30, SIGNED_DATA_OID_DER + _wrap(0xA0, signed_data))


def parse_signed_data(der: bytes) -> SignedDataView:
    """Walk a ContentInfo(SignedData) far enough to splice its certificates set."""
    outer = _tlv(der, 0, len(der), "ContentInfo")
    if outer.tag != 0x30:
        raise StampError("PKCS#7: ContentInfo is not a SEQUENCE")
    parts = _children(der, outer, "ContentInfo field")
    if len(parts) != 2 or der[parts[0].start:parts[0].end] != SIGNED_DATA_OID_DER:
        raise StampError("PKCS#7: ContentInfo is not (signedData OID, [0] content)")
    explicit = parts[1]
    if explicit.tag != 0xA0:
        raise StampError("PKCS#7: ContentInfo content is not tagged [0]")
    inner = _children(der, explicit, "SignedData")
    if len(inner) != 1 or inner[0].tag != 0x30:
        raise StampError("PKCS#7: [0] does not hold exactly one SignedData SEQUENCE")
    signed = inner[0]
    fields = _children(der, signed, "SignedData field")
    tags = [f.tag for f in fields]
    if tags[:3] != [0x02, 0x31, 0x30] or tags[-1] != 0x31 or len(fields) > 6:
        raise StampError("PKCS#7: SignedData fields are not version, digestAlgorithms, "
                         "contentInfo, [certificates], [crls], signerInfos")
    certs = next((f for f in fields[3:-1] if f.tag == 0xA0), None)
    for element in (outer, explicit, signed) + ((certs,) if certs else ()):
        if not element.minimal:
            raise StampError("PKCS#7 uses non-minimal DER lengths: it cannot be stamped "
                             "reversibly")
    if certs is not None:
        certificates = tuple(der[c.start:c.end] for c in _children(der, certs, "certificate"))
        split_start, split_end = certs.start, certs.end
    else:
        certificates = ()
        split_start = split_end = fields[2].end
    return SignedDataView(
        der=der[:outer.end],
        length=outer.end,
        before_certs=der[signed.content_start:split_start],
        after_certs=der[split_end:signed.end],
        certificates=certificates,
        had_certs_field=certs is not None,
    )


# --- the certificate ---------------------------------------------------------------------------

def _fake_modulus() -> int:
    stream = b"".join(hashlib.sha512(b"efikit stamp: not a key %d" % i).digest() for i in range(4))
    return int.from_bytes(stream, "big") | (1 << 2047) | 1


def _oid_der(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for value in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body += bytes(reversed(chunk))
    return _wrap(0x06, bytes(body))


STAMP_OID_DER = _oid_der(STAMP_OID)


@lru_cache(maxsize=1)
def _template() -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """The fixed parts of every stamp certificate, DER-encoded once with asn1crypto:
    (signature algorithm, name, validity, subject public key info, signature value)."""
    from asn1crypto import algos, core, keys, x509  # noqa: PLC0415  (heavy: only when stamping)

    algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa",
                                             "parameters": core.Null()})
    validity = x509.Validity({
        "not_before": x509.Time({"utc_time": datetime(2000, 1, 1, tzinfo=timezone.utc)}),
        "not_after": x509.Time({"general_time": datetime(9999, 12, 31, 23, 59, 59,
                                                          tzinfo=timezone.utc)}),
    })
    spki = keys.PublicKeyInfo({
        "algorithm": {"algorithm": "rsa", "parameters": core.Null()},
        "public_key": keys.RSAPublicKey({"modulus": _fake_modulus(), "public_exponent": 65537}),
    })
    signature = core.OctetBitString(bytes(256))
    return (algorithm.dump(), x509.Name.build(STAMP_SUBJECT).dump(), validity.dump(),
            spki.dump(), signature.dump())


def build_stamp_certificate(stamp: Stamp, filler: int = 0,
                            serial_bytes: int = SERIAL_BYTES[0]) -> bytes:
    """DER of the self-issued container certificate carrying ``stamp`` (+ ``filler`` zeros),
    with a serial number of exactly ``serial_bytes`` content bytes.

    The fixed parts come from asn1crypto (``_template``); the two variable ones -- serial
    number and the stamp extension -- are assembled here, because building a certificate
    with asn1crypto takes milliseconds and stamping must cost far less than copying the file.
    """
    if serial_bytes not in SERIAL_BYTES:
        raise ValueError(f"serial_bytes must be in {SERIAL_BYTES}")
    algorithm, name, validity, spki, signature = _template()
    payload = encode_stamp(stamp) + bytes(filler)
    # Positive and minimal whatever the hash: top byte 0x40..0x7F.
    serial = bytearray(hashlib.sha256(payload).digest()[:serial_bytes])
    serial[0] = (serial[0] & 0x3F) | 0x40
    serial_der = _wrap(0x02, bytes(serial))
    # Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (omitted), extnValue }
    extension = _wrap(0x30, STAMP_OID_DER + _wrap(0x04, _wrap(0x04, payload)))
    extensions = _wrap(0xA3, _wrap(0x30, extension))
    version = bytes.fromhex("a003020102")  # [0] INTEGER 2 (v3)
    tbs = _wrap(0x30, version + serial_der + algorithm + name + validity + name + spki
                + extensions)
    return _wrap(0x30, tbs + algorithm + signature)


def is_stamp_certificate(der: bytes) -> bool:
    """True for a certificate element that carries efikit's stamp extension."""
    return STAMP_OID_DER in der


def stamp_from_certificate(der: bytes) -> Stamp:
    """The stamp inside a stamp certificate (StampError when it is malformed)."""
    certificate = _tlv(der, 0, len(der), "stamp certificate")
    parts = _children(der, certificate, "stamp certificate")
    if certificate.tag != 0x30 or len(parts) != 3 or parts[0].tag != 0x30:
        raise StampError("the stamp certificate is not a Certificate SEQUENCE")
    fields = _children(der, parts[0], "stamp certificate field")
    if not fields or fields[-1].tag != 0xA3:
        raise StampError("the stamp certificate has no extensions")
    wrapper = _children(der, fields[-1], "stamp certificate extensions")
    if len(wrapper) != 1:
        raise StampError("the stamp certificate's extensions are malformed")
    extensions = wrapper[0]
    raw = None
    for extension in _children(der, extensions, "stamp certificate extension"):
        items = _children(der, extension, "stamp certificate extension field")
        if items and der[items[0].start:items[0].end] == STAMP_OID_DER:
            value = items[-1]
            if value.tag != 0x04:
                raise StampError("the stamp extension value is not an OCTET STRING")
            inner = _children(der, value, "stamp extension value")
            if len(inner) != 1 or inner[0].tag != 0x04:
                raise StampError("the stamp extension does not hold one OCTET STRING")
            raw = der[inner[0].content_start:inner[0].end]
            break
    if raw is None:
        raise StampError("the stamp certificate has no stamp extension")
    stamp, length = decode_stamp(raw)
    if len(raw) - length > MAX_FILLER or raw[length:].strip(b"\x00"):
        raise StampError("the stamp certificate has unexpected bytes after the stamp")
    return stamp


def splice(view: SignedDataView, stamp: Stamp | None) -> bytes:
    """The ContentInfo with every stamp certificate removed and, if ``stamp``, one appended.

    The new length is congruent to the current one modulo 8 (the stamp certificate's serial
    number length is chosen for it), so the WIN_CERTIFICATE keeps its padding and the entries
    after it stay aligned.
    """
    kept = tuple(c for c in view.certificates if not is_stamp_certificate(c))
    if stamp is None:
        result = view.rebuild(kept)
    else:
        base = len(view.rebuild(kept + (build_stamp_certificate(stamp),)))
        serial_bytes = SERIAL_BYTES[0] + (view.length - base) % 8
        result = view.rebuild(kept + (build_stamp_certificate(stamp, 0, serial_bytes),))
    outer = _tlv(result, 0, len(result), "stamped ContentInfo")
    if outer.length > MAX_PKCS7_CONTENT:
        raise StampError(f"the stamped PKCS#7 would be {len(result)} bytes; edk2 needs it "
                         "below 64 KiB (a 2-byte DER length)")
    if stamp is not None and (len(result) - view.length) % 8:  # pragma: no cover - SERIAL_BYTES
        raise StampError("internal: the stamped PKCS#7 is not 8-byte aligned")
    return result
