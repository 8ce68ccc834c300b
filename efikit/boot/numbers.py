"""Load-option variable names (Boot####, Driver####, ...) and their order lists.

Firmware writes the four hex digits in upper case as the spec says, but some firmware writes
them in lower case (``Boot000a``); both are read. efikit always writes upper case.
"""
from __future__ import annotations

import enum
import struct

from efikit.errors import DecodeError, UsageError

MAX_NUMBER = 0xFFFF
_HEX = frozenset("0123456789abcdefABCDEF")


class OptionKind(enum.Enum):
    """The families of load options; value = variable-name prefix."""

    BOOT = "Boot"
    DRIVER = "Driver"
    SYSPREP = "SysPrep"
    PLATFORM_RECOVERY = "PlatformRecovery"

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def order_name(self) -> str | None:
        """The order variable (BootOrder, DriverOrder, SysPrepOrder); None for recovery."""
        return None if self is OptionKind.PLATFORM_RECOVERY else f"{self.value}Order"

    @property
    def writable(self) -> bool:
        """PlatformRecovery#### belongs to the firmware (UEFI 3.4.2): read only here."""
        return self is not OptionKind.PLATFORM_RECOVERY

    def variable_name(self, number: int) -> str:
        return f"{self.value}{format_number(number)}"

    @classmethod
    def parse(cls, text: str) -> OptionKind:
        key = text.strip().lower().replace("-", "").replace("_", "")
        for kind in cls:
            if kind.value.lower() == key:
                return kind
        raise UsageError(f"unknown load-option kind {text!r}; known: "
                         + ", ".join(k.value.lower() for k in cls))


def format_number(number: int) -> str:
    return f"{number:04X}"


def parse_option_name(name: str) -> tuple[OptionKind, int] | None:
    """``Boot000a`` -> (BOOT, 10); None when ``name`` is not a load-option variable name."""
    for kind in OptionKind:
        prefix = kind.value
        if len(name) == len(prefix) + 4 and name.startswith(prefix):
            digits = name[len(prefix):]
            if all(ch in _HEX for ch in digits):
                return kind, int(digits, 16)
    return None


def parse_number(text: str, kind: OptionKind | None = None) -> int:
    """A user-given entry number, hex as efibootmgr reads it: ``0001``, ``1``, ``000a``,
    ``0x1A``, or the variable name ``Boot0001`` (the prefix must match ``kind`` when given)."""
    value = text.strip()
    parsed = parse_option_name(value)
    if parsed is not None:
        found_kind, number = parsed
        if kind is not None and found_kind is not kind:
            raise UsageError(f"{value} is a {found_kind.value} entry, not {kind.value}")
        return number
    digits = value[2:] if value.lower().startswith("0x") else value
    if not digits or len(digits) > 4 or not all(ch in _HEX for ch in digits):
        raise UsageError(f"not an entry number: {text!r} (expected up to 4 hex digits, "
                         "e.g. 0001 or Boot0001)")
    return int(digits, 16)


def parse_number_list(text: str, kind: OptionKind | None = None) -> list[int]:
    """``0001,0002 3`` -> [1, 2, 3] (commas or whitespace)."""
    pieces = [p for p in text.replace(",", " ").split() if p]
    if not pieces:
        raise UsageError("empty list of entry numbers")
    return [parse_number(p, kind) for p in pieces]


def decode_order(data: bytes) -> tuple[int, ...]:
    """A BootOrder-style payload: little-endian UINT16 numbers."""
    if len(data) % 2:
        raise DecodeError(f"order list has an odd length ({len(data)} bytes)", len(data) - 1)
    return struct.unpack(f"<{len(data) // 2}H", data)


def encode_order(numbers: tuple[int, ...] | list[int]) -> bytes:
    for n in numbers:
        if not 0 <= n <= MAX_NUMBER:
            raise UsageError(f"entry number {n} is outside 0000..FFFF")
    return struct.pack(f"<{len(numbers)}H", *numbers)


def decode_u16(data: bytes, what: str) -> int:
    """BootNext, BootCurrent, Timeout: one little-endian UINT16."""
    if len(data) != 2:
        raise DecodeError(f"{what} is {len(data)} bytes, expected 2", 0)
    return int(struct.unpack("<H", data)[0])


def encode_u16(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise UsageError(f"{what} {value} is outside 0..65535")
    return struct.pack("<H", value)
