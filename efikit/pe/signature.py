"""Authenticode PKCS#7 signatures: what they sign and who signed them (asn1crypto).

A WIN_CERT_TYPE_PKCS_SIGNED_DATA entry holds a CMS ContentInfo whose SignedData encapsulates
an SpcIndirectDataContent (OID 1.3.6.1.4.1.311.2.1.4)::

    SpcIndirectDataContent ::= SEQUENCE {
        data          SpcAttributeTypeAndOptionalValue,
        messageDigest DigestInfo }          -- the Authenticode hash the signature covers

This module only decodes; it does not verify the signature against a trust anchor.
"""
from __future__ import annotations

from dataclasses import dataclass
from asn1crypto import algos, cms, core, x509

from efikit.errors import PEFormatError

SPC_INDIRECT_DATA_OID = "1.3.6.1.4.1.311.2.1.4"
SIGNED_DATA_OID = "1.2.840.113549.1.7.2"

# asn1crypto names -> hashlib names, for the algorithms Authenticode uses.
_DIGEST_NAMES = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
                 "md5": "md5"}

_NAME_LABELS = {
    "common_name": "CN", "organization_name": "O", "organizational_unit_name": "OU",
    "locality_name": "L", "state_or_province_name": "ST", "country_name": "C",
    "email_address": "emailAddress", "serial_number": "serialNumber",
}


class _SpcAttributeTypeAndOptionalValue(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any, {"optional": True})]


class _DigestInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("digest_algorithm", algos.DigestAlgorithm), ("digest", core.OctetString)]


class _SpcIndirectDataContent(core.Sequence):  # type: ignore[misc]
    _fields = [("data", _SpcAttributeTypeAndOptionalValue), ("message_digest", _DigestInfo)]


class _EncapsulatedContentInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("content_type", core.ObjectIdentifier),
               ("content", core.Any, {"explicit": 0, "optional": True})]


@dataclass(frozen=True)
class Signer:
    """One SignerInfo: who signed (issuer + serial; subject when the certificate is included)."""

    issuer: str
    serial: int
    subject: str | None
    digest_algorithm: str


@dataclass(frozen=True)
class AuthenticodeSignature:
    """The decoded PKCS#7 of one WIN_CERTIFICATE."""

    digest_algorithm: str
    digest: bytes
    signers: tuple[Signer, ...]
    certificates: tuple[str, ...]


def format_name(name: x509.Name) -> str:
    """An X.509 name as ``CN=..., O=..., C=...`` (most specific first, as certificates show)."""
    parts = []
    for rdn in reversed(list(name.chosen)):
        for attribute in rdn:
            label = _NAME_LABELS.get(attribute["type"].native, attribute["type"].dotted)
            value = attribute["value"].native
            parts.append(f"{label}={value}")
    return ", ".join(parts)


def _digest_name(algorithm: algos.DigestAlgorithm) -> str:
    name = algorithm["algorithm"].native
    return _DIGEST_NAMES.get(str(name), str(name))


def _decode(der: bytes) -> AuthenticodeSignature:
    info = cms.ContentInfo.load(der, strict=False)
    trailing = der[len(info.dump()):]
    if trailing.strip(b"\x00"):
        raise PEFormatError(f"{len(trailing)} bytes of garbage follow the PKCS#7 signature")
    if info["content_type"].dotted != SIGNED_DATA_OID:
        raise PEFormatError(
            f"PKCS#7 content type is {info['content_type'].dotted}, not signedData")
    signed: cms.SignedData = info["content"]
    # Re-read the encapsulated content with our own spec: other libraries (signify) register
    # their own class for this OID in asn1crypto's global tables.
    encapsulated = _EncapsulatedContentInfo.load(signed["encap_content_info"].dump())
    content_type = encapsulated["content_type"].dotted
    if content_type != SPC_INDIRECT_DATA_OID:
        raise PEFormatError(
            f"signed content type is {content_type}, not SpcIndirectDataContent "
            f"({SPC_INDIRECT_DATA_OID})")
    content = encapsulated["content"]
    if isinstance(content, core.Void) or content is None:
        raise PEFormatError("signature has no SpcIndirectDataContent")
    indirect = content.parse(_SpcIndirectDataContent)
    message_digest = indirect["message_digest"]
    digest_algorithm = _digest_name(message_digest["digest_algorithm"])
    digest = bytes(message_digest["digest"].native)

    certificates: list[x509.Certificate] = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            certificates.append(choice.chosen)
    signers = []
    for signer_info in signed["signer_infos"]:
        sid = signer_info["sid"]
        if sid.name != "issuer_and_serial_number":
            raise PEFormatError("signer identified by subject key id, not issuer and serial")
        issuer_name = sid.chosen["issuer"]
        serial = int(sid.chosen["serial_number"].native)
        subject = None
        for certificate in certificates:
            tbs = certificate["tbs_certificate"]
            if tbs["serial_number"].native == serial and tbs["issuer"] == issuer_name:
                subject = format_name(tbs["subject"])
                break
        signers.append(Signer(format_name(issuer_name), serial, subject,
                              _digest_name(signer_info["digest_algorithm"])))
    if not signers:
        raise PEFormatError("PKCS#7 signature has no signer")
    return AuthenticodeSignature(
        digest_algorithm=digest_algorithm,
        digest=digest,
        signers=tuple(signers),
        certificates=tuple(format_name(c["tbs_certificate"]["subject"]) for c in certificates),
    )


def parse_authenticode(der: bytes) -> AuthenticodeSignature:
    """Decode an Authenticode PKCS#7 blob; anything malformed is a ``PEFormatError``."""
    try:
        return _decode(der)
    except PEFormatError:
        raise
    except Exception as exc:  # asn1crypto decodes lazily and raises many types on garbage
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PEFormatError(f"malformed PKCS#7 signature: {reason}") from None
