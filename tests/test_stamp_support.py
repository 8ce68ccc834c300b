"""Shared helpers for tests/test_stamp_*.py (work copies, signing, file snapshots); no tests."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from test_pe_support import FIXTURES_PE

SIGNED_FIXTURES = ["boot-a.efi", "uki-sha384.efi"]
UNSIGNED_ALIGNED = "uki-unsigned.efi"  # 36352 bytes, a multiple of 8
UNSIGNED_UNALIGNED = "loader-unsigned.efi"  # 2571 bytes
SNAKEOIL_KEY = Path("/usr/share/ovmf/PkKek-1-snakeoil.key")
SNAKEOIL_CERT = Path("/usr/share/ovmf/PkKek-1-snakeoil.pem")
SHIM = Path("/usr/lib/shim/shimx64.efi.signed")
GRUB = Path("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")


def work_copy(source: Path | str, tmp_path: Path, name: str | None = None) -> Path:
    """A writable copy of a fixture or system file (never stamp the original)."""
    source = Path(source)
    if not source.is_absolute():
        source = FIXTURES_PE / source
    dest = tmp_path / (name or source.name)
    shutil.copyfile(source, dest)
    dest.chmod(0o644)
    return dest


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        # A fixed old mtime, so that a write within the same clock tick would still show.
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        return cls(path.read_bytes(), path.stat().st_mtime_ns)

    def unchanged(self, path: Path) -> bool:
        return path.read_bytes() == self.data and path.stat().st_mtime_ns == self.mtime_ns


def throwaway_signer(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh self-signed key and certificate made with openssl."""
    key, cert = tmp_path / "signer.key", tmp_path / "signer.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=efikit stamp test"],
                   check=True, capture_output=True)
    return key, cert


def snakeoil_signer(tmp_path: Path) -> tuple[Path, Path]:
    """OVMF's snakeoil key, decrypted (sbsign takes no password), and its certificate."""
    key = tmp_path / "snakeoil.key"
    subprocess.run(["openssl", "rsa", "-in", str(SNAKEOIL_KEY), "-passin", "pass:snakeoil",
                    "-out", str(key)], check=True, capture_output=True)
    return key, SNAKEOIL_CERT


def sbsign(src: Path, dest: Path, key: Path, cert: Path) -> Path:
    subprocess.run(["sbsign", "--key", str(key), "--cert", str(cert), "--output", str(dest),
                    str(src)], check=True, capture_output=True)
    return dest


def sbverify(path: Path, cert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sbverify", "--cert", str(cert), str(path)], capture_output=True,
                          text=True)
