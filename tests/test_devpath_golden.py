"""efikit's device-path text against edk2 itself (OVMF), row by row."""
from __future__ import annotations

import pytest

from devpath_tables import GoldenRow, golden_rows
from efikit.codec.devpath import DevicePath

ROWS = golden_rows()
GOLDEN_ROWS = 415  # exact: a truncated or emptied table must fail, not run fewer tests

# Rows where edk2's own round trip is broken, and what efikit does instead.
# key: the row's input text; value: efikit's full-form text when it deliberately differs.
EFIKIT_DIFFERS: dict[str, str] = {
    'UsbWwid(0x46d,0xc52b)': 'UsbWwid(0x46D,0xC52B,0x0,"")',  # edk2 reads past the node
}


def test_golden_table_is_complete() -> None:
    assert len(ROWS) == GOLDEN_ROWS
    assert len({row.input_text for row in ROWS}) == GOLDEN_ROWS  # no row repeated
    assert set(EFIKIT_DIFFERS) <= {row.input_text for row in ROWS}


def _id(row: GoldenRow) -> str:
    return f"L{row.line}:{row.input_text[:60]}"


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_binary_to_text_matches_edk2(row: GoldenRow) -> None:
    path = DevicePath.from_bytes(row.binary)
    assert path.to_bytes() == row.binary
    expected_full = EFIKIT_DIFFERS.get(row.input_text, row.full_text)
    assert path.to_text() == expected_full
    if row.input_text not in EFIKIT_DIFFERS:
        assert path.to_text(display_only=True) == row.display_text


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_full_text_parses_back_to_binary(row: GoldenRow) -> None:
    if row.edk2_roundtrip_ok:
        assert DevicePath.from_text(row.full_text).to_bytes() == row.binary
    else:
        # edk2 cannot read back what it printed here; efikit stays lossless on its own text.
        ours = DevicePath.from_bytes(row.binary).to_text()
        assert DevicePath.from_text(ours).to_bytes() == row.binary


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_text_round_trip_is_identity(row: GoldenRow) -> None:
    text = DevicePath.from_bytes(row.binary).to_text()
    assert DevicePath.from_text(text).to_text() == text
