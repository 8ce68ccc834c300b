"""efikit.pe.inspect over the sample loaders and Debian's real ones."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pefile
import pytest

from conftest import require_file, require_tool
from efikit.pe.certtable import WIN_CERT_TYPE_PKCS_SIGNED_DATA
from efikit.pe.inspect import info_to_dict, inspect_pe
from efikit.pe.sbat import parse_sbat
from efikit.pe.uki import cmdline_for_slot, parse_os_release, slot_replacement
from test_pe_support import DEBIAN_LOADERS, FIXTURES_PE


def efikit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "efikit", *args], capture_output=True, text=True)


def test_plain_loader() -> None:
    info = inspect_pe(FIXTURES_PE / "loader-unsigned.efi")
    assert info.format == "PE32+"
    assert info.machine == 0x8664 and info.machine_name == "AMD64"
    assert info.subsystem == 10 and info.subsystem_name == "EFI application"
    assert info.entry_point == 0x1000
    assert info.nx_compat is True
    assert [s.name for s in info.sections] == [".text", ".data", ".sbat"]
    text = info.sections[0]
    assert text.access == "r-x" and "CNT_CODE" in text.flags
    assert info.sections[1].access == "rw-"
    assert info.checksum_stored == info.checksum_computed
    assert info.certificates == () and not info.signed
    assert info.uki is None
    assert info.sbat is not None
    assert [row.component for row in info.sbat] == ["sbat", "efikit-fixture"]
    assert info.sbat[1].version == "0.1"
    assert str(info.slot) == "A (default)"


def test_signed_uki_for_slot_b() -> None:
    info = inspect_pe(FIXTURES_PE / "boot-b.efi")
    assert str(info.slot) == "B"
    uki = info.uki
    assert uki is not None
    assert [s.name for s in uki.sections] == [".linux", ".initrd", ".cmdline", ".osrel",
                                              ".uname", ".sbat"]
    linux = next(s for s in uki.sections if s.name == ".linux")
    assert linux.size == 24 * 1024
    assert uki.os_release is not None and uki.os_release["ID"] == "metropolis"
    assert uki.os_release["PRETTY_NAME"] == "Metropolis 0.1 (efikit fixture)"
    assert uki.uname == "6.1.0-efikit-fixture"
    assert uki.cmdline is not None and "METROPOLIS-SYSTEM-X" in uki.cmdline
    assert uki.cmdline_for_slot is not None
    assert "root=PARTLABEL=METROPOLIS-SYSTEM-B " in uki.cmdline_for_slot
    assert "METROPOLIS-SYSTEM-X" not in uki.cmdline_for_slot

    assert info.signed
    (cert,) = info.certificates
    assert cert.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA and cert.revision == 0x200
    assert cert.offset == info.certificate_table_offset
    assert cert.signature is not None
    assert cert.signature.digest_algorithm == "sha256"
    assert cert.signature.digest == info.authenticode_sha256
    assert cert.matches is True and cert.matches_padded is True
    (signer,) = cert.signature.signers
    assert signer.subject == signer.issuer == "O=efikit fixtures, CN=efikit test signer"


def test_slot_override_and_placeholder() -> None:
    info = inspect_pe(FIXTURES_PE / "boot-b.efi", slot="A", placeholder="PARTLABEL=METROPOLIS-SYSTEM-X")
    assert info.uki is not None and info.uki.cmdline_for_slot is not None
    assert "root=PARTLABEL=METROPOLIS-SYSTEM-A ro" in info.uki.cmdline_for_slot


@pytest.mark.peer
def test_signer_serial_matches_openssl() -> None:
    require_tool("openssl")
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in",
                          str(FIXTURES_PE / "test-signer.crt")],
                         capture_output=True, text=True, check=True).stdout
    serial = int(out.strip().split("=", 1)[1], 16)
    info = inspect_pe(FIXTURES_PE / "boot-a.efi")
    assert info.certificates[0].signature is not None
    assert info.certificates[0].signature.signers[0].serial == serial


def test_sha384_signature() -> None:
    info = inspect_pe(FIXTURES_PE / "uki-sha384.efi")
    (cert,) = info.certificates
    assert cert.signature is not None and cert.signature.digest_algorithm == "sha384"
    assert cert.computed_digest is not None and len(cert.computed_digest) == 48
    assert cert.matches is True


def test_tampered_image_does_not_match(tmp_path: Path) -> None:
    data = bytearray((FIXTURES_PE / "boot-a.efi").read_bytes())
    linux = next(s for s in inspect_pe(FIXTURES_PE / "boot-a.efi").sections if s.name == ".linux")
    data[linux.raw_offset + 10] ^= 0xFF
    path = tmp_path / "boot-a.efi"
    path.write_bytes(bytes(data))
    info = inspect_pe(path)
    assert info.certificates[0].matches is False
    assert info.certificates[0].matches_padded is False


def test_json_document_is_complete() -> None:
    proc = efikit("pe", "inspect", "--json", str(FIXTURES_PE / "boot-b.efi"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["machine_name"] == "AMD64"
    assert doc["slot"] == {"slot": "B", "default": False, "display": "B"}
    assert doc["uki"]["cmdline_for_slot"].count("METROPOLIS-SYSTEM-B") == 2
    assert doc["certificates"][0]["signature"]["digest"] == doc["authenticode_sha256"]
    assert doc["certificates"][0]["matches"] is True
    assert doc["signed"] is True
    assert doc == info_to_dict(inspect_pe(FIXTURES_PE / "boot-b.efi")) | {"path": doc["path"]}


def test_text_output() -> None:
    proc = efikit("pe", "inspect", str(FIXTURES_PE / "boot-b.efi"))
    assert proc.returncode == 0, proc.stderr
    assert "slot by name:  B" in proc.stdout
    assert "for slot B: console=ttyS0 root=PARTLABEL=METROPOLIS-SYSTEM-B" in proc.stdout
    assert "matches this file: yes" in proc.stdout


@pytest.mark.parametrize("which", sorted(DEBIAN_LOADERS))
def test_debian_loaders(which: str) -> None:
    path = require_file(DEBIAN_LOADERS[which])
    info = inspect_pe(path)
    pe = pefile.PE(str(path), fast_load=True)
    try:
        assert info.entry_point == pe.OPTIONAL_HEADER.AddressOfEntryPoint
        assert info.checksum_computed == pe.generate_checksum()
        assert [s.raw_size for s in info.sections] == [s.SizeOfRawData for s in pe.sections]
    finally:
        pe.close()
    assert info.subsystem_name == "EFI application"
    assert info.sbat is not None and info.sbat[0].component == "sbat"
    for cert in info.certificates:
        assert cert.matches is True


def test_shim_signers() -> None:
    info = inspect_pe(require_file(DEBIAN_LOADERS["shim"]))
    subjects = [c.signature.signers[0].subject for c in info.certificates if c.signature]
    assert any(s and "Microsoft Windows UEFI Driver Publisher" in s for s in subjects)


def test_bare_systemd_stub_is_not_a_uki() -> None:
    info = inspect_pe(require_file(DEBIAN_LOADERS["systemd-stub"]))
    assert info.uki is None  # no .linux: the bare stub
    assert info.sbat is not None and any(r.component == "systemd" for r in info.sbat)


def test_sbat_parser() -> None:
    rows = parse_sbat(b'sbat,1,SBAT Version,sbat,1,https://x\n"a,b",2\n\n\x00\x00junk')
    assert rows[1].component == "a,b" and rows[1].generation == "2" and rows[1].url == ""


def test_os_release_parser() -> None:
    parsed = parse_os_release(b'# c\nNAME="A B"\nID=x\nVERSION=\'1 (y)\'\nBROKEN\n\x00')
    assert parsed == {"NAME": "A B", "ID": "x", "VERSION": "1 (y)"}


def test_cmdline_substitution() -> None:
    assert slot_replacement("METROPOLIS-SYSTEM-X", "B") == "METROPOLIS-SYSTEM-B"
    assert slot_replacement("@SLOT@", "A") == "A"
    assert cmdline_for_slot("a=METROPOLIS-SYSTEM-X b=METROPOLIS-SYSTEM-X", "B") == \
        "a=METROPOLIS-SYSTEM-B b=METROPOLIS-SYSTEM-B"
    assert cmdline_for_slot("root=@SLOT@", "A", "@SLOT@") == "root=A"
    assert cmdline_for_slot("unchanged", "B", "") == "unchanged"


def test_efi_guid_entry_shows_its_guid(tmp_path: Path) -> None:
    from efikit.pe.certtable import WIN_CERT_TYPE_EFI_GUID, encode_win_certificate
    import struct as _struct
    import uuid as _uuid
    data = bytearray((FIXTURES_PE / "loader-unsigned.efi").read_bytes())
    data += bytes(-len(data) % 8)
    guid = _uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
    entry = encode_win_certificate(WIN_CERT_TYPE_EFI_GUID, guid.bytes_le + b"payload")
    table_at = len(data)
    data += entry
    pe = _struct.unpack_from("<I", data, 0x3C)[0]
    _struct.pack_into("<II", data, pe + 24 + 112 + 32, table_at, len(entry))
    path = tmp_path / "guid.efi"
    path.write_bytes(bytes(data))
    (cert,) = inspect_pe(path).certificates
    assert cert.type_name == "EFI_GUID" and cert.signature is None and cert.matches is None
    assert cert.guid == "8BE4DF61-93CA-11D2-AA0D-00E098032B8C"


def test_long_section_names_are_resolved() -> None:
    # GNU ld writes names longer than 8 bytes as "/N", an offset into the COFF string table.
    info = inspect_pe(require_file(DEBIAN_LOADERS["shim"]))
    names = [s.name for s in info.sections]
    assert ".vendor_cert" in names and ".sbatlevel" in names
    assert not any(n.startswith("/") for n in names)


def test_padded_hash_reported_for_odd_sized_image() -> None:
    info = inspect_pe(FIXTURES_PE / "loader-unsigned.efi")
    assert info.file_size % 8 != 0
    assert info.authenticode_sha256 != info.authenticode_sha256_padded
    signed = inspect_pe(FIXTURES_PE / "boot-a.efi")  # sbsign padded it: both agree
    assert signed.authenticode_sha256 == signed.authenticode_sha256_padded


def test_stamp_is_shown_and_hash_unchanged(tmp_path: Path) -> None:
    from efikit.pe import stamp as stamp_module
    from efikit.pe.stamp_format import Stamp
    out = tmp_path / "boot-b.efi"
    stamp_module.set_stamp(FIXTURES_PE / "boot-b.efi", Stamp("B", (("build", "42"),)),
                           output=out, durable=False)
    info = inspect_pe(out)
    assert info.stamp is not None
    assert info.stamp.slot == "B" and info.stamp.meta == (("build", "42"),)
    assert info.stamp.error is None and info.stamp.name_warning is None
    assert info.certificates[0].matches is True
    assert info.authenticode_sha256 == inspect_pe(FIXTURES_PE / "boot-b.efi").authenticode_sha256
    assert inspect_pe(FIXTURES_PE / "boot-b.efi").stamp is None
