"""The one variable-store interface every backend implements.

A store maps (name, vendor GUID) to (attributes, data). Backends: efivarfs (a directory laid
out like /sys/firmware/efi/efivars), edk2 varstore files (.fd), virt-fw-vars JSON exports and
an in-memory store.

Writing, one design for all backends:

* Outside a batch, every ``set``/``delete`` takes effect at once. File-backed stores (edk2,
  JSON) rewrite their file atomically (temp file + fsync + rename) after each call.
* ``with store.batch():`` groups several changes. File-backed stores write the file once,
  atomically, when the outermost batch ends; if the block raises, nothing is written and the
  store's in-memory state returns to what it was before the batch. efivarfs cannot make several
  variables change atomically (the kernel writes each one separately): there each change still
  takes effect at once, and a batch only groups them.
* ``set`` and ``delete`` validate first and raise ``StoreError`` before touching anything.
"""
from __future__ import annotations

import builtins
import enum
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from efikit.errors import StoreError, UsageError

# --- attributes ------------------------------------------------------------------------------


class VariableAttributes(enum.IntFlag):
    """EFI variable attribute bits (UEFI spec 8.2). Unknown bits are kept (IntFlag boundary KEEP)."""

    NON_VOLATILE = 0x01
    BOOTSERVICE_ACCESS = 0x02
    RUNTIME_ACCESS = 0x04
    HARDWARE_ERROR_RECORD = 0x08
    AUTHENTICATED_WRITE_ACCESS = 0x10
    TIME_BASED_AUTHENTICATED_WRITE_ACCESS = 0x20
    APPEND_WRITE = 0x40
    ENHANCED_AUTHENTICATED_ACCESS = 0x80

    @classmethod
    def parse(cls, text: str) -> VariableAttributes:
        """``"nv,bs,rt"`` (short names, long names, or a number like ``0x7``) -> attributes."""
        text = text.strip()
        if not text:
            return cls(0)
        try:
            return cls(int(text, 0))
        except ValueError:
            pass
        value = cls(0)
        for token in text.replace("|", ",").split(","):
            key = token.strip().lower().replace("-", "_")
            if not key:
                continue
            if key in ATTRIBUTE_SHORT_NAMES:
                value |= ATTRIBUTE_SHORT_NAMES[key]
                continue
            by_long = {m.name.lower(): m for m in cls if m.name}
            if key in by_long:
                value |= by_long[key]
                continue
            try:
                value |= cls(int(key, 0))
                continue
            except ValueError:
                pass
            raise UsageError(
                f"unknown attribute {token.strip()!r}; known: {', '.join(ATTRIBUTE_SHORT_NAMES)}"
            )
        return value

    def short(self) -> str:
        """``nv,bs,rt`` form; unknown bits are appended as hex (``0x100``)."""
        parts = [s for s, bit in ATTRIBUTE_SHORT_NAMES.items() if self & bit]
        unknown = int(self) & ~ALL_KNOWN_ATTRIBUTES
        if unknown:
            parts.append(hex(unknown))
        return ",".join(parts)


ATTRIBUTE_SHORT_NAMES: dict[str, VariableAttributes] = {
    "nv": VariableAttributes.NON_VOLATILE,
    "bs": VariableAttributes.BOOTSERVICE_ACCESS,
    "rt": VariableAttributes.RUNTIME_ACCESS,
    "hr": VariableAttributes.HARDWARE_ERROR_RECORD,
    "aw": VariableAttributes.AUTHENTICATED_WRITE_ACCESS,
    "at": VariableAttributes.TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
    "ap": VariableAttributes.APPEND_WRITE,
    "ea": VariableAttributes.ENHANCED_AUTHENTICATED_ACCESS,
}
ALL_KNOWN_ATTRIBUTES = 0xFF

#: what Boot####, BootOrder and friends use
DEFAULT_ATTRIBUTES = (
    VariableAttributes.NON_VOLATILE
    | VariableAttributes.BOOTSERVICE_ACCESS
    | VariableAttributes.RUNTIME_ACCESS
)

# --- vendor GUIDs ----------------------------------------------------------------------------

EFI_GLOBAL_VARIABLE = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
EFI_IMAGE_SECURITY_DATABASE = uuid.UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
SYSTEMD_LOADER = uuid.UUID("4a67b082-0a4c-41cf-b6c7-440b29bb8c4f")
SHIM_LOCK = uuid.UUID("605dab50-e046-4300-abb6-3dd810dd8b23")
MICROSOFT = uuid.UUID("77fa9abd-0359-4d32-bd60-28f4e78f784b")

#: well-known vendor GUIDs by name (first name per GUID is the canonical one)
VENDORS: dict[str, uuid.UUID] = {
    "global": EFI_GLOBAL_VARIABLE,
    "efi": EFI_GLOBAL_VARIABLE,
    "security-db": EFI_IMAGE_SECURITY_DATABASE,
    "systemd": SYSTEMD_LOADER,
    "loader": SYSTEMD_LOADER,
    "shim": SHIM_LOCK,
    "microsoft": MICROSOFT,
}


def vendor_name(vendor: uuid.UUID) -> str | None:
    """The canonical short name of a well-known vendor GUID, else None."""
    for name, guid in VENDORS.items():
        if guid == vendor:
            return name
    return None


def parse_vendor(text: str) -> uuid.UUID:
    """A vendor GUID from its text form or a well-known name (``global``, ``shim``...)."""
    key = text.strip().lower()
    if key in VENDORS:
        return VENDORS[key]
    try:
        return uuid.UUID(key)
    except ValueError:
        raise UsageError(
            f"not a GUID nor a known vendor name: {text!r} (known: {', '.join(VENDORS)})"
        ) from None


# --- values ----------------------------------------------------------------------------------

_GUID_TEXT_LEN = 36


@dataclass(frozen=True, order=True)
class VariableName:
    """A variable's key: its UCS-2 name and vendor GUID. Text form ``Name-<guid>`` (efivarfs)."""

    name: str
    vendor: uuid.UUID

    def __str__(self) -> str:
        return f"{self.name}-{self.vendor}"

    @classmethod
    def parse(cls, text: str, default_vendor: uuid.UUID | None = None) -> VariableName:
        """``Boot0001-8be4df61-...`` -> VariableName; without a GUID use ``default_vendor``."""
        if len(text) > _GUID_TEXT_LEN + 1 and text[-_GUID_TEXT_LEN - 1] == "-":
            try:
                vendor = uuid.UUID(text[-_GUID_TEXT_LEN:])
            except ValueError:
                vendor = None
            if vendor is not None:
                name = text[: -_GUID_TEXT_LEN - 1]
                if name:
                    return cls(name, vendor)
        if default_vendor is None:
            raise UsageError(f"expected NAME-GUID, got {text!r}")
        if not text:
            raise UsageError("empty variable name")
        return cls(text, default_vendor)


@dataclass(frozen=True)
class Variable:
    """One variable: key, attributes and payload (no efivarfs attribute prefix).

    ``timestamp`` is the raw 16-byte EFI_TIME an edk2 authenticated store (or a virt-fw-vars
    JSON ``time``) keeps for time-based authenticated variables; None where there is none.
    """

    name: str
    vendor: uuid.UUID
    attributes: VariableAttributes
    data: bytes
    timestamp: bytes | None = None

    @property
    def key(self) -> VariableName:
        return VariableName(self.name, self.vendor)


class VariableNotFound(StoreError):
    """``delete`` (or a caller of ``get``) on a variable the store does not have."""

    def __init__(self, name: str, vendor: uuid.UUID, source: str) -> None:
        super().__init__(f"no variable {name}-{vendor} in {source}")
        self.name = name
        self.vendor = vendor


def check_timestamp(timestamp: bytes | None) -> None:
    if timestamp is not None and len(timestamp) != 16:
        raise StoreError(f"timestamp must be a 16-byte EFI_TIME, got {len(timestamp)} bytes")


def check_attributes(attributes: VariableAttributes | int) -> int:
    """The attributes as an int; StoreError unless they fit the 32-bit field."""
    attrs = int(attributes)
    if not 0 <= attrs <= 0xFFFFFFFF:
        raise StoreError(f"attributes {attrs:#x} do not fit in 32 bits")
    return attrs


def check_name(name: str) -> None:
    """Reject names no store can hold (empty, NUL, beyond UCS-2). A lone surrogate is a
    UCS-2 code unit like any other: firmware stores it, so a name read from one store can be
    written to another (efivarfs, whose file names are UTF-8, refuses it itself)."""
    if not name:
        raise StoreError("variable name is empty")
    if "\x00" in name:
        raise StoreError(f"variable name {name!r} contains NUL")
    if any(ord(c) > 0xFFFF for c in name):
        raise StoreError(f"variable name {name!r} is not UCS-2 (a character beyond U+FFFF)")


# --- the interface ---------------------------------------------------------------------------


class VariableStore(ABC):
    """Abstract store. Subclasses implement list/get/set/delete and, if file-backed, the
    ``_snapshot``/``_restore``/``_flush`` hooks that make ``batch`` atomic."""

    #: "efivarfs", "edk2", "json" or "memory"
    kind: str = "abstract"

    def __init__(self, source: str) -> None:
        self.source = source
        self._batch_depth = 0

    # reading
    @abstractmethod
    def list(self) -> builtins.list[VariableName]:
        """Every variable's key, in the store's own order."""

    @abstractmethod
    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        """The variable, or None if the store does not have it."""

    def variables(self) -> builtins.list[Variable]:
        """Every variable, read in ``list()`` order (skips ones that vanish meanwhile)."""
        out = []
        for key in self.list():
            var = self.get(key.name, key.vendor)
            if var is not None:
                out.append(var)
        return out

    def __contains__(self, key: object) -> bool:
        return isinstance(key, VariableName) and self.get(key.name, key.vendor) is not None

    # writing
    @abstractmethod
    def set(
        self,
        name: str,
        vendor: uuid.UUID,
        data: bytes,
        attributes: VariableAttributes = DEFAULT_ATTRIBUTES,
        *,
        timestamp: bytes | None = None,
    ) -> None:
        """Create or replace a variable.

        ``timestamp`` (16-byte EFI_TIME) is kept by stores that have a place for it (edk2
        authenticated stores, JSON); None keeps the replaced copy's timestamp there. Others
        ignore it.
        """

    @abstractmethod
    def delete(self, name: str, vendor: uuid.UUID) -> None:
        """Remove a variable; ``VariableNotFound`` if it does not exist."""

    @contextmanager
    def batch(self) -> Iterator[VariableStore]:
        """Group changes: file-backed stores write once at the end, nothing on an exception."""
        if self._batch_depth == 0:
            snapshot = self._snapshot()
        self._batch_depth += 1
        try:
            yield self
        except BaseException:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._restore(snapshot)
            raise
        self._batch_depth -= 1
        if self._batch_depth == 0:
            try:
                self._flush()
            except BaseException:
                self._restore(snapshot)
                raise

    @property
    def in_batch(self) -> bool:
        return self._batch_depth > 0

    @contextmanager
    def _mutation(self) -> Iterator[None]:
        """Wrap one in-memory change: outside a batch, write it now, and undo it if the write
        fails, so memory and file never disagree."""
        if self._batch_depth:
            yield
            return
        snapshot = self._snapshot()
        try:
            yield
            self._flush()
        except BaseException:
            self._restore(snapshot)
            raise

    # hooks for file-backed stores; defaults suit stores that apply changes directly
    def _snapshot(self) -> object:
        return None

    def _restore(self, snapshot: object) -> None:
        return None

    def _flush(self) -> None:
        return None

    def close(self) -> None:
        """Release resources (no-op for all current backends)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source}>"
