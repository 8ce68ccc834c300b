"""What the file-backed stores (edk2, JSON) share: the atomic write, with StoreError."""
from __future__ import annotations

import os
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


class FileBacked:
    """Mixin for a store held in memory and written to ``path`` as a whole: outside a batch
    every change is saved at once (``_flush``); ``save`` writes ``_file_bytes()`` atomically."""

    source: str
    path: Path | None

    def _file_bytes(self) -> bytes:
        raise NotImplementedError

    def _flush(self) -> None:
        if self.path is not None:
            self.save()

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the store atomically to ``path`` (default: the file it was opened from)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise StoreError(f"{self.source} was not opened from a file: give save() a path")
        atomic_write(target, self._file_bytes())
