"""The one exception hierarchy efikit raises for bad input or failed operations."""
from __future__ import annotations


class Error(Exception):
    """Base of every error efikit raises on purpose.

    ``exit_code`` is what the CLI exits with: 1 (operation failed) or 2 (bad input / usage).
    """

    exit_code = 1


class DecodeError(Error):
    """Binary input that does not decode; ``offset`` is the byte offset of the fault."""

    exit_code = 2

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} (at byte offset {offset})")
        self.reason = reason
        self.offset = offset


class EncodeError(Error):
    """A value that cannot be encoded (e.g. a character outside the BMP in UCS-2)."""

    exit_code = 2


class TextParseError(Error):
    """Device-path (or other) text that does not parse; ``column`` is 1-based."""

    exit_code = 2

    def __init__(self, text: str, column: int, expected: str) -> None:
        super().__init__(f"column {column}: expected {expected} in {text!r}")
        self.text = text
        self.column = column
        self.expected = expected


class StoreError(Error):
    """A variable store that cannot be read or written."""


class OutputError(Error):
    """A file efikit was asked to write (an -o output, an export) that cannot be written."""


class DiskError(Error):
    """A disk image or block device whose partition table cannot be used."""


class BootError(Error):
    """A boot-manager operation that cannot be carried out."""


class PEFormatError(Error):
    """A PE/COFF file that is malformed or not what the operation needs."""

    exit_code = 2


class StampError(Error):
    """An Authenticode stamp that cannot be written, read or cleared."""


class SlotError(Error):
    """An A/B slot operation that cannot be carried out."""


class UsageError(Error):
    """Bad arguments to a library call that the CLI reports as usage errors (exit 2)."""

    exit_code = 2
