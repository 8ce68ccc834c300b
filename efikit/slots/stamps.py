"""The one place the slot code reads an Authenticode stamp from a loader's bytes.

The stamp reader lives in ``efikit.pe`` (its own issue); this module keeps the slot code
working, without stamps, until that reader exists, and turns its errors into text.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass

from efikit.codec.slot_rule import Slot
from efikit.errors import Error


@dataclass(frozen=True)
class LoaderStamp:
    """What a loader's stamp says: its slot and metadata, or why it could not be read."""

    slot: Slot | None
    meta: tuple[tuple[str, str], ...] = ()
    error: str | None = None


def read_loader_stamp(data: bytes) -> LoaderStamp | None:
    """The stamp in a loader's bytes; None when it has none (or stamps are not supported)."""
    try:
        from efikit.pe.stamp import read_stamp
    except ImportError:
        return None
    # read_stamp takes a path; the loader may live inside a disk image, so hand it a copy.
    with tempfile.NamedTemporaryFile(prefix="efikit-loader-", suffix=".efi") as handle:
        handle.write(data)
        handle.flush()
        try:
            stamp = read_stamp(handle.name)
        except Error as exc:
            return LoaderStamp(None, (), str(exc).replace(handle.name, "loader"))
    if stamp is None:
        return None
    return LoaderStamp(stamp.slot, tuple(getattr(stamp, "meta", ())))
