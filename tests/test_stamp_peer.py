"""Stamped images against independent tools: pesign, sbverify, osslsigncode, sbsign.

Both orders a build system may use are checked here: sbsign then stamp keeps the signature
and the stamp; stamp then sbsign keeps a valid signature but loses the stamp (sbsign drops the
WIN_CERT_TYPE_EFI_GUID entry), which is why `efikit stamp set` warns on unsigned images.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import require_file, require_tool
from efikit.pe.authenticode import authenticode_hash
from efikit.pe.certtable import read_cert_table
from efikit.pe.layout import read_layout_path
from efikit.pe.stamp import clear_stamp, read_stamp, set_stamp
from efikit.pe.stamp_format import MAX_PAYLOAD, Stamp, make_stamp
from test_pe_support import FIXTURES_PE, osslsigncode_digests, pesign_hash
from test_stamp_support import (GRUB, SHIM, UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED, sbsign,
                                sbverify, snakeoil_signer, throwaway_signer, work_copy)

pytestmark = pytest.mark.peer

STAMP = make_stamp("B", {"version": "9.9", "build": "peer-test"})


def _assert_signed_stamp_keeps_everything(path: Path, cert: Path | None,
                                          osslsigncode: bool = True,
                                          stamp: Stamp = STAMP) -> None:
    original = path.read_bytes()
    pesign_before = pesign_hash(path)
    assert pesign_before == authenticode_hash(path).hex()
    set_stamp(path, stamp)
    assert read_stamp(path) == stamp
    assert pesign_hash(path) == pesign_before
    assert authenticode_hash(path).hex() == pesign_before
    if cert is not None:
        proc = sbverify(path, cert)
        assert proc.returncode == 0, proc.stderr + proc.stdout
    if osslsigncode:
        digests = osslsigncode_digests(path)
        assert digests, "osslsigncode reported no digest"
        for algorithm, current, calculated in digests:
            assert current == calculated, algorithm
    clear_stamp(path)
    assert path.read_bytes() == original


@pytest.mark.parametrize("key_source", ["throwaway", "snakeoil"])
@pytest.mark.parametrize("unsigned", [UNSIGNED_ALIGNED, UNSIGNED_UNALIGNED])
def test_sbsign_then_stamp(tmp_path: Path, key_source: str, unsigned: str) -> None:
    require_tool("sbsign", "sbverify", "pesign", "osslsigncode", "openssl")
    if key_source == "snakeoil":
        require_file("/usr/share/ovmf/PkKek-1-snakeoil.key")
        key, cert = snakeoil_signer(tmp_path)
    else:
        key, cert = throwaway_signer(tmp_path)
    signed = sbsign(work_copy(unsigned, tmp_path), tmp_path / "signed.efi", key, cert)
    _assert_signed_stamp_keeps_everything(signed, cert)


def test_stamp_then_sbsign_loses_the_stamp(tmp_path: Path) -> None:
    """The order efikit warns about: the signature is fine but the stamp is gone."""
    require_tool("sbsign", "sbverify", "openssl")
    key, cert = throwaway_signer(tmp_path)
    path = work_copy(UNSIGNED_ALIGNED, tmp_path)
    result = set_stamp(path, STAMP)
    assert any("sbsign drops" in w for w in result.warnings)
    signed = sbsign(path, tmp_path / "signed.efi", key, cert)
    assert sbverify(signed, cert).returncode == 0
    assert read_stamp(signed) is None


def test_sbsign_signs_the_padded_hash_of_a_stamped_unaligned_image(tmp_path: Path) -> None:
    """Stamping an unaligned unsigned image moves its hash to the padded one, which is exactly
    what sbsign signs (so a db entry computed either way still matches)."""
    require_tool("sbsign", "pesign", "openssl")
    path = work_copy(UNSIGNED_UNALIGNED, tmp_path)
    padded = pesign_hash(path, padded=True)
    assert padded != pesign_hash(path)
    set_stamp(path, STAMP)
    assert pesign_hash(path) == padded == authenticode_hash(path).hex()
    key, cert = throwaway_signer(tmp_path)
    signed = sbsign(work_copy(UNSIGNED_UNALIGNED, tmp_path, "fresh.efi"), tmp_path / "s.efi",
                    key, cert)
    assert pesign_hash(signed) == padded


def test_debian_shim(tmp_path: Path) -> None:
    """Microsoft-signed shim: two PKCS#7 entries (UEFI CA 2011 and 2023). The first gets the
    stamp, the second stays byte-identical. osslsigncode cannot read shim's two-entry table
    (not even before stamping), so sbverify is the peer here, anchored at the Microsoft UEFI
    CA 2011 certificate that the signature itself carries."""
    require_tool("sbverify", "pesign", "openssl")
    path = work_copy(require_file(SHIM), tmp_path, "shimx64.efi")
    with path.open("rb") as f:
        _, before = read_cert_table(f, read_layout_path(path))
    ca = _signer_issuer_certificate(before[0].data, tmp_path)
    assert sbverify(path, ca).returncode == 0
    _assert_signed_stamp_keeps_everything(path, None, osslsigncode=False)
    set_stamp(path, STAMP)
    proc = sbverify(path, ca)
    assert proc.returncode == 0, proc.stderr
    with path.open("rb") as f:
        _, after = read_cert_table(f, read_layout_path(path))
    assert len(after) == len(before) == 2
    assert after[1].data == before[1].data and after[1].length == before[1].length
    assert (after[1].offset - before[1].offset) % 8 == 0


def test_debian_grub(tmp_path: Path) -> None:
    require_tool("pesign", "osslsigncode")
    path = work_copy(require_file(GRUB), tmp_path, "grubx64.efi")
    _assert_signed_stamp_keeps_everything(path, None)


def _signer_issuer_certificate(pkcs7: bytes, tmp_path: Path) -> Path:
    from asn1crypto import cms

    info = cms.ContentInfo.load(pkcs7, strict=False)
    signed = info["content"]
    issuer = signed["signer_infos"][0]["sid"].chosen["issuer"]
    for choice in signed["certificates"]:
        certificate = choice.chosen
        if certificate.subject == issuer:
            out = tmp_path / "issuer.der"
            out.write_bytes(certificate.dump())
            pem = tmp_path / "issuer.pem"
            subprocess.run(["openssl", "x509", "-inform", "der", "-in", str(out), "-out",
                            str(pem)], check=True, capture_output=True)
            return pem
    raise AssertionError("the PKCS#7 does not carry its signer's issuer")


# Value lengths of a single "v" key: the shortest, ones that could not be stamped before
# (the serial-number length now keeps the PKCS#7 aligned), and the longest within 1 KiB.
VALUE_LENGTHS = [0, 1, 2, 10, 31, 198, 199, 245, MAX_PAYLOAD - 22]


@pytest.mark.parametrize("value_length", VALUE_LENGTHS)
@pytest.mark.parametrize("loader", ["boot-a", "shim", "grub"])
def test_any_stamp_size_keeps_signature_and_hash(tmp_path: Path, loader: str,
                                                 value_length: int) -> None:
    require_tool("sbverify", "pesign", "osslsigncode", "openssl")
    stamp = make_stamp("A", {"v": "b" * value_length})
    if loader == "boot-a":
        path = work_copy("boot-a.efi", tmp_path)
        _assert_signed_stamp_keeps_everything(path, FIXTURES_PE / "test-signer.crt",
                                              stamp=stamp)
    elif loader == "shim":
        path = work_copy(require_file(SHIM), tmp_path, "shimx64.efi")
        with path.open("rb") as f:
            _, before = read_cert_table(f, read_layout_path(path))
        ca = _signer_issuer_certificate(before[0].data, tmp_path)
        _assert_signed_stamp_keeps_everything(path, None, osslsigncode=False, stamp=stamp)
        set_stamp(path, stamp)
        proc = sbverify(path, ca)
        assert proc.returncode == 0, proc.stderr
    else:
        path = work_copy(require_file(GRUB), tmp_path, "grubx64.efi")
        _assert_signed_stamp_keeps_everything(path, None, stamp=stamp)
