"""Authenticode hash: edk2's rule, cross-checked with pesign, osslsigncode and signify."""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from conftest import require_file, require_tool
from efikit.errors import UsageError
from efikit.pe.authenticode import ALGORITHMS, authenticode_digests, authenticode_hash, hash_plan
from efikit.pe.layout import read_layout_path
from test_pe_support import (DEBIAN_LOADERS, FIXTURE_NAMES, FIXTURES_PE, fixture_builder,
                             osslsigncode_digests, pesign_hash, signify_authentihash)

# Known answers for the committed fixtures (pesign -h / -h -P agreed when they were made).
KNOWN = {
    "loader-unsigned.efi": ("d67621e85fa6c07e4753ce8bb7d42b5e0bd9ee3b8a3161806259fabb39df5926",
                            "1ae477a69b1dbb98fd9bc2936583164bf5b4f5ceb3bc9258143436119a18fa05"),
    "boot-a.efi": ("1f8508f289da6526c1f6ae822b92a34c343dd74b5341380aef821fe72dd5574d",) * 2,
    "uki-unsigned.efi": ("1f8508f289da6526c1f6ae822b92a34c343dd74b5341380aef821fe72dd5574d",) * 2,
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_answers(name: str) -> None:
    plain, padded = KNOWN[name]
    assert authenticode_hash(FIXTURES_PE / name).hex() == plain
    assert authenticode_hash(FIXTURES_PE / name, padded=True).hex() == padded


def test_signature_does_not_change_the_hash() -> None:
    # The certificate table and its directory entry are excluded: signing keeps the hash.
    unsigned = authenticode_hash(FIXTURES_PE / "uki-unsigned.efi")
    assert authenticode_hash(FIXTURES_PE / "boot-a.efi") == unsigned
    assert authenticode_hash(FIXTURES_PE / "uki-sha384.efi") == unsigned


def test_hash_plan_excludes_checksum_and_security_entry() -> None:
    path = FIXTURES_PE / "boot-a.efi"
    layout = read_layout_path(path)
    plan = hash_plan(layout)
    covered = set()
    for r in plan.ranges:
        covered.update(range(r.offset, r.offset + r.length))
    assert not covered & set(range(layout.checksum_offset, layout.checksum_offset + 4))
    entry = layout.security_directory
    assert entry is not None
    assert not covered & set(range(entry.entry_offset, entry.entry_offset + 8))
    assert max(covered) < entry.virtual_address  # nothing of the table itself
    assert plan.hashed_bytes == layout.file_size - 12 - entry.size


def test_all_algorithms_in_one_pass() -> None:
    path = FIXTURES_PE / "loader-unsigned.efi"
    digests = authenticode_digests(path, ALGORITHMS)
    assert {k: len(v) for k, v in digests.items()} == {"sha1": 20, "sha256": 32,
                                                       "sha384": 48, "sha512": 64}
    for alg in ALGORITHMS:
        assert authenticode_hash(path, alg) == digests[alg]


def test_unknown_algorithm() -> None:
    with pytest.raises(UsageError):
        authenticode_hash(FIXTURES_PE / "boot-a.efi", "md4")


def test_hash_matches_manual_edk2_computation() -> None:
    path = FIXTURES_PE / "loader-unsigned.efi"
    data = path.read_bytes()
    layout = read_layout_path(path)
    h = hashlib.sha256()
    h.update(data[:layout.checksum_offset])
    entry = layout.security_directory
    assert entry is not None
    h.update(data[layout.checksum_offset + 4:entry.entry_offset])
    h.update(data[entry.entry_offset + 8:layout.size_of_headers])
    total = layout.size_of_headers
    for s in sorted(layout.sections, key=lambda s: s.pointer_to_raw_data):
        h.update(data[s.pointer_to_raw_data:s.raw_end])
        total += s.size_of_raw_data
    h.update(data[total:])
    assert authenticode_hash(path) == h.digest()


@pytest.mark.peer
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixtures_against_pesign(name: str) -> None:
    require_tool("pesign")
    path = FIXTURES_PE / name
    assert authenticode_hash(path).hex() == pesign_hash(path)
    assert authenticode_hash(path, padded=True).hex() == pesign_hash(path, padded=True)


@pytest.mark.peer
@pytest.mark.parametrize("which", sorted(DEBIAN_LOADERS))
def test_debian_loaders_against_pesign(which: str) -> None:
    require_tool("pesign")
    path = require_file(DEBIAN_LOADERS[which])
    assert authenticode_hash(path).hex() == pesign_hash(path)
    assert authenticode_hash(path, padded=True).hex() == pesign_hash(path, padded=True)


@pytest.mark.peer
@pytest.mark.parametrize("which", sorted(DEBIAN_LOADERS))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_debian_loaders_against_signify(which: str, algorithm: str) -> None:
    path = require_file(DEBIAN_LOADERS[which])
    assert authenticode_hash(path, algorithm) == signify_authentihash(path, algorithm)


@pytest.mark.peer
@pytest.mark.parametrize("name", ["boot-a.efi", "uki-sha384.efi",
                                  "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"])
def test_signed_against_osslsigncode(name: str) -> None:
    require_tool("osslsigncode")
    path = Path(name) if name.startswith("/") else FIXTURES_PE / name
    if name.startswith("/"):
        require_file(path)
    found = osslsigncode_digests(path)
    assert found, "osslsigncode printed no digest"
    for algorithm, current, calculated in found:
        assert current == calculated
        assert authenticode_hash(path, algorithm).hex() == calculated


@pytest.mark.peer
def test_shim_two_signatures_against_its_own_digests() -> None:
    # osslsigncode refuses shim's two-entry table; the digests inside it are the reference.
    from efikit.pe.inspect import inspect_pe
    path = require_file(DEBIAN_LOADERS["shim"])
    info = inspect_pe(path)
    assert len(info.certificates) == 2
    for cert in info.certificates:
        assert cert.signature is not None and cert.matches


@pytest.mark.peer
def test_probe_loader() -> None:
    """The gnu-efi probe loader (built here if it is not yet) hashes as pesign says."""
    from firmware import harness  # noqa: PLC0415

    require_tool("pesign", "make", "gcc", "objcopy")
    require_file("/usr/lib/crt0-efi-x86_64.o")
    probe = harness.build_probe()
    assert authenticode_hash(probe).hex() == pesign_hash(probe)


section_sizes = st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=section_sizes, trailer=st.binary(max_size=40), padded=st.booleans())
def test_random_layouts_against_signify(tmp_path: Path, sizes: list[int], trailer: bytes,
                                        padded: bool) -> None:
    builder = fixture_builder()
    sections = [(b".text", builder.ENTRY_CODE, builder.SCN_CODE | builder.SCN_EXEC | builder.SCN_READ)]
    sections += [(f".d{i}".encode(), bytes((i + n) & 0xFF for n in range(size)),
                  builder.SCN_IDATA | builder.SCN_READ) for i, size in enumerate(sizes)]
    path = tmp_path / "random.efi"
    path.write_bytes(builder.build_pe(sections, trailer=trailer))
    reference = signify_authentihash(path)
    assert authenticode_hash(path) == reference
    if padded:
        data = path.read_bytes()
        # the padded variant is the plain hash of the file padded with zeros to 8 bytes
        padded_path = tmp_path / "padded.efi"
        padded_path.write_bytes(data + bytes(-len(data) % 8))
        assert authenticode_hash(path, padded=True) == authenticode_hash(padded_path)


def test_header_without_security_directory(tmp_path: Path) -> None:
    # NumberOfRvaAndSizes = 4: no security entry; only the CheckSum is skipped.
    data = bytearray((FIXTURES_PE / "loader-unsigned.efi").read_bytes())
    layout = read_layout_path(FIXTURES_PE / "loader-unsigned.efi")
    struct.pack_into("<I", data, layout.optional_header_offset + 108, 4)
    path = tmp_path / "four-dirs.efi"
    path.write_bytes(bytes(data))
    expected = hashlib.sha256(bytes(data[:layout.checksum_offset])
                              + bytes(data[layout.checksum_offset + 4:])).digest()
    assert authenticode_hash(path) == expected


@pytest.mark.peer
def test_section_gap_follows_the_spec_like_pesign(tmp_path: Path) -> None:
    # With a gap between sections the trailer starts at SUM_OF_BYTES_HASHED (spec, edk2,
    # pesign), not at the end of the last section (signify): the two rules differ here.
    require_tool("pesign")
    b = fixture_builder()
    data = bytearray(b.build_pe([(b".text", b.ENTRY_CODE, b.SCN_CODE | b.SCN_READ),
                                 (b".d", b"\x55" * 1000, b.SCN_IDATA | b.SCN_READ)]))
    path = tmp_path / "gap.efi"
    path.write_bytes(bytes(data))
    layout_before = read_layout_path(path)
    second = layout_before.sections[1]
    ptr = second.pointer_to_raw_data
    data = data[:ptr] + b"\xaa" * 0x200 + data[ptr:]
    struct.pack_into("<I", data, second.header_offset + 20, ptr + 0x200)
    path.write_bytes(bytes(data))
    layout = read_layout_path(path)
    assert not layout.sections_contiguous
    assert authenticode_hash(path).hex() == pesign_hash(path)
