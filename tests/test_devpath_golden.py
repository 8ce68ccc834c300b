"""efikit's device-path text against edk2 itself (OVMF), row by row."""
from __future__ import annotations

import pytest

from devpath_tables import GoldenRow, golden_rows
from efikit.codec.devpath import DevicePath
from efikit.errors import TextParseError

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


# Rows whose input edk2 reads as a file name (a keyword in the wrong case, an unknown
# keyword) and efikit reads as meant or refuses (issue 10): what efikit makes of the text.
# edk2's bytes (a file-path node holding that text) print the same, and are flagged as a
# path whose text does not read back.
EFIKIT_READS_AS_MEANT: dict[str, str | None] = {
    "pci(0x0,0x0)": "Pci(0x0,0x0)",
    "PCIROOT(0x0)/Pci(0x1,0x0)": "PciRoot(0x0)/Pci(0x1,0x0)",
    "Foo(1,2)": None,  # refused: not a keyword
}


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
    if row.input_text in EFIKIT_READS_AS_MEANT:
        meant = EFIKIT_READS_AS_MEANT[row.input_text]
        if meant is None:
            with pytest.raises(TextParseError, match="not a device-path keyword|keyword"):
                DevicePath.from_text(row.full_text)
        else:
            assert DevicePath.from_text(row.full_text).to_text() == meant
        assert not DevicePath.from_bytes(row.binary).text_round_trips()
    elif row.edk2_roundtrip_ok:
        assert DevicePath.from_text(row.full_text).to_bytes() == row.binary
    else:
        # edk2 cannot read back what it printed here; efikit stays lossless on its own text.
        ours = DevicePath.from_bytes(row.binary).to_text()
        assert DevicePath.from_text(ours).to_bytes() == row.binary


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_text_round_trip_is_identity(row: GoldenRow) -> None:
    if row.input_text in EFIKIT_READS_AS_MEANT:
        return  # see test_full_text_parses_back_to_binary
    assert DevicePath.from_bytes(row.binary).text_round_trips()
    text = DevicePath.from_bytes(row.binary).to_text()
    assert DevicePath.from_text(text).to_text() == text
