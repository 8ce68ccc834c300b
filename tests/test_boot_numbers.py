"""Load-option variable names and user-given entry numbers."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efikit.boot.numbers import (
    OptionKind,
    decode_order,
    decode_u16,
    encode_order,
    parse_number,
    parse_number_list,
    parse_option_name,
)
from efikit.errors import DecodeError, UsageError


@pytest.mark.parametrize("name,expected", [
    ("Boot0001", (OptionKind.BOOT, 1)),
    ("Boot000a", (OptionKind.BOOT, 10)),  # lower-case hex, as some firmware writes
    ("Boot000A", (OptionKind.BOOT, 10)),
    ("BootFFFF", (OptionKind.BOOT, 0xFFFF)),
    ("Driver0010", (OptionKind.DRIVER, 0x10)),
    ("SysPrep0002", (OptionKind.SYSPREP, 2)),
    ("PlatformRecovery0000", (OptionKind.PLATFORM_RECOVERY, 0)),
])
def test_option_names(name: str, expected: tuple[OptionKind, int]) -> None:
    assert parse_option_name(name) == expected


@pytest.mark.parametrize("name", [
    "BootOrder", "BootNext", "BootCurrent", "Boot001", "Boot00001", "Boot00G1", "boot0001",
    "BootOptionSupport", "Boot", "Key0000", "DriverOrder",
])
def test_not_option_names(name: str) -> None:
    assert parse_option_name(name) is None


@pytest.mark.parametrize("text,number", [
    ("0001", 1), ("1", 1), ("000a", 10), ("A", 10), ("0x1A", 0x1A), ("10", 0x10),
    ("Boot0003", 3), ("boot0003".title(), 3), (" 0002 ", 2), ("FFFF", 0xFFFF),
])
def test_parse_number_is_hex_like_efibootmgr(text: str, number: int) -> None:
    assert parse_number(text, OptionKind.BOOT) == number


@pytest.mark.parametrize("text", ["", "12345", "xyz", "-1", "0x", "Boot00G1"])
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_number(text)


def test_parse_number_kind_mismatch() -> None:
    with pytest.raises(UsageError, match="Driver"):
        parse_number("Driver0001", OptionKind.BOOT)


def test_number_list() -> None:
    assert parse_number_list("0001,0002 000A") == [1, 2, 10]
    with pytest.raises(UsageError):
        parse_number_list(" , ")


@given(st.lists(st.integers(0, 0xFFFF), max_size=50))
def test_order_round_trip(numbers: list[int]) -> None:
    assert list(decode_order(encode_order(numbers))) == numbers


def test_order_and_u16_errors() -> None:
    with pytest.raises(DecodeError):
        decode_order(b"\x01\x00\x02")
    with pytest.raises(DecodeError):
        decode_u16(b"\x01", "Timeout")
    with pytest.raises(UsageError):
        encode_order([0x10000])


def test_kinds() -> None:
    assert OptionKind.BOOT.order_name == "BootOrder"
    assert OptionKind.SYSPREP.order_name == "SysPrepOrder"
    assert OptionKind.PLATFORM_RECOVERY.order_name is None
    assert not OptionKind.PLATFORM_RECOVERY.writable
    assert OptionKind.parse("platform-recovery") is OptionKind.PLATFORM_RECOVERY
    assert OptionKind.BOOT.variable_name(10) == "Boot000A"
    with pytest.raises(UsageError):
        OptionKind.parse("nope")
