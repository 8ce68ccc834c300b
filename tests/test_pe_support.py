"""Shared helpers for the tests/test_pe_*.py modules (sample images, peers); no tests here."""
from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURES_PE = REPO / "fixtures" / "pe"
MALFORMED = Path(__file__).resolve().parent / "pe_malformed"

DEBIAN_LOADERS = {
    "shim": "/usr/lib/shim/shimx64.efi.signed",
    "grub": "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
    "systemd-boot": "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
    "systemd-stub": "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
}
FIXTURE_NAMES = ["loader-unsigned.efi", "uki-unsigned.efi", "boot-a.efi", "boot-b.efi",
                 "uki-sha384.efi"]


def fixture_builder() -> Any:
    """fixtures/pe/make_fixtures.py as a module (its PE writer builds random test images)."""
    spec = importlib.util.spec_from_file_location("efikit_pe_fixture_builder",
                                                  FIXTURES_PE / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signify_authentihash(path: Path | str, algorithm: str = "sha256") -> bytes:
    """signify's Authenticode fingerprint (an independent implementation)."""
    # signify's package import pulls in oscrypto, whose libcrypto version check fails on
    # OpenSSL 3.0.1x; the fingerprinter itself never uses it, so stub the one module.
    sys.modules.setdefault("oscrypto.asymmetric", types.ModuleType("oscrypto.asymmetric"))
    from signify.authenticode.signed_file.pe import SignedPEFingerprinter

    with open(path, "rb") as f:
        fingerprinter = SignedPEFingerprinter(f)
        fingerprinter.add_signed_pe_hashers(getattr(hashlib, algorithm))
        return bytes(fingerprinter.hashes()["authentihash"][algorithm])


def pesign_hash(path: Path | str, padded: bool = False) -> str:
    argv = ["pesign", "-h", "-i", str(path)] + (["-P"] if padded else [])
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("hash:"))
    return line.split()[1].lower()


def osslsigncode_digests(path: Path | str) -> list[tuple[str, str, str]]:
    """(algorithm, current digest, calculated digest) per signature, from osslsigncode verify."""
    proc = subprocess.run(["osslsigncode", "verify", "-in", str(path)],
                          capture_output=True, text=True)
    algorithm = current = ""
    found = []
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("Message digest algorithm") and ":" in line:
            algorithm = line.split(":", 1)[1].strip().lower()
        elif line.startswith("Current message digest"):
            current = line.split(":", 1)[1].strip().lower()
        elif line.startswith("Calculated message digest"):
            found.append((algorithm, current, line.split(":", 1)[1].strip().lower()))
    return found
