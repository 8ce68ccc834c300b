"""efikit: EFI variables, boot entries, device paths and PE loaders."""
from __future__ import annotations

from efikit.errors import (
    BootError,
    DecodeError,
    DiskError,
    EncodeError,
    Error,
    PEFormatError,
    SlotError,
    StampError,
    StoreError,
    TextParseError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "BootError",
    "DecodeError",
    "DiskError",
    "EncodeError",
    "Error",
    "PEFormatError",
    "SlotError",
    "StampError",
    "StoreError",
    "TextParseError",
    "UsageError",
    "__version__",
]
