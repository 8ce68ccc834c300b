"""Atomic file replacement for the file-backed stores: ``efikit.fileio`` with StoreError."""
from __future__ import annotations

from pathlib import Path

from efikit import fileio
from efikit.errors import StoreError


def atomic_write(target: Path, content: bytes) -> None:
    """Replace ``target`` with ``content`` (temp file, fsync, rename); StoreError if it fails."""
    try:
        fileio.atomic_write(target, content)
    except OSError as exc:
        raise StoreError(
            f"cannot write {target}: {exc.strerror or exc}; the file was left unchanged"
        ) from None
