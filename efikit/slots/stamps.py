"""The one place the slot code reads an Authenticode stamp from a loader's bytes (the reader
is ``efikit.pe.stamp``): its errors become text, so a bad stamp is a status reason."""
from __future__ import annotations

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
    """The stamp in a loader's bytes; None when it has none."""
    from efikit.pe.stamp import read_stamp_bytes  # noqa: PLC0415 - pulls in asn1crypto

    try:
        stamp = read_stamp_bytes(data, "loader")
    except Error as exc:
        return LoaderStamp(None, (), str(exc))
    if stamp is None:
        return None
    return LoaderStamp(stamp.slot, stamp.meta)
