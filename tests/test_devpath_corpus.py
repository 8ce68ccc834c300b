"""Every device path of the real-world corpus: decode, re-encode byte-exact, and print what
edk2 printed for it: tests/corpus/text/edk2-devicepath-text.tsv (both forms) and, for the paths
that table lacks, tests/edk2_text/corpus-ovmf.tsv, recorded from OVMF itself by
tests/firmware/corpus_oracle.py (and checked against a live boot in the firmware tier)."""
from __future__ import annotations

import pytest

from devpath_corpus import CorpusPath, corpus_paths, file_path_list, load_option_blobs
from devpath_tables import CorpusTextRow, corpus_text_rows
from efikit.codec.devpath import DevicePath
from firmware.corpus_oracle import EXCEPTION_BBS, EXCEPTION_DELETED, Row, needed, read_record

MODES = ("full", "display")

ITEMS = corpus_paths()
_ROWS = {row.file: row for row in corpus_text_rows()}
# Exact sizes: an emptied or truncated corpus or table must fail, not run fewer tests.
CORPUS_PATHS = 262
EDK2_TABLE_ROWS = 163
LOAD_OPTIONS = 182


def _edk2_texts() -> dict[bytes, dict[str, str]]:
    """What edk2 printed, by device-path bytes (so efivarfs copies of a load option
    find the text edk2 printed for the same bytes elsewhere in the corpus)."""
    texts: dict[bytes, dict[str, str]] = {}
    for item in ITEMS:
        row: CorpusTextRow | None = _ROWS.get(item.tsv_key) if item.tsv_key else None
        if row is None:
            continue
        known = texts.setdefault(item.data, {})
        for mode, text in zip(MODES, (row.full_text, row.display_text)):
            if text:
                assert known.get(mode, text) == text, f"edk2 table disagrees with itself: {item}"
                known[mode] = text
    return texts


EDK2 = _edk2_texts()


def _render(item: CorpusPath) -> dict[str, str]:
    path = DevicePath.from_bytes(item.data)
    return {"full": path.to_text(), "display": path.to_text(display_only=True)}


def test_corpus_is_complete() -> None:
    assert len(ITEMS) == CORPUS_PATHS
    assert len(_ROWS) == EDK2_TABLE_ROWS
    assert len(OPTIONS) == LOAD_OPTIONS
    # Every row of edk2's table names a corpus file we read.
    keys = {item.tsv_key for item in ITEMS}
    assert set(_ROWS) <= keys
    # ...and edk2 printed a good share of them.
    assert sum(len(texts) for texts in EDK2.values()) == 195


OPTIONS = load_option_blobs()


@pytest.mark.parametrize(("name", "option"), OPTIONS, ids=[name for name, _ in OPTIONS])
def test_load_option_paths_match_an_independent_cut(name: str, option: bytes) -> None:
    from efikit.codec.loadoption import LoadOption

    paths = LoadOption.from_bytes(option).file_paths
    assert [path.to_bytes() for path in paths] == file_path_list(option)


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.source)
def test_decodes_and_reencodes_byte_exact(item: CorpusPath) -> None:
    path = DevicePath.from_bytes(item.data)
    assert path.to_bytes() == item.data


@pytest.mark.parametrize("item", [i for i in ITEMS if i.data in EDK2], ids=lambda i: i.source)
def test_text_matches_edk2(item: CorpusPath) -> None:
    ours = _render(item)
    for mode, text in EDK2[item.data].items():
        assert ours[mode] == text, mode


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.source)
def test_full_text_parses_back_to_the_same_bytes(item: CorpusPath) -> None:
    text = DevicePath.from_bytes(item.data).to_text()
    again = DevicePath.from_text(text)
    assert again.to_bytes() == item.data
    assert again.to_text() == text


# --- corpus paths edk2's table does not cover: what OVMF printed for them ---------------------

RECORD = read_record()
RECORD_ROWS = 121  # one per (device path, text form) missing from edk2's table
# Reviewed: the texts edk2 prints nowhere on OVMF (the reason is in the record's last column).
EXCEPTIONS = {EXCEPTION_BBS: 5, EXCEPTION_DELETED: 4}
PRINTED = [row for row in RECORD if row.text]


def test_record_covers_every_corpus_path_edk2s_table_lacks() -> None:
    assert len(RECORD) == RECORD_ROWS
    wanted = {(item.data.hex(), mode) for item in needed() for mode in item.modes}
    assert {(row.hex, row.mode) for row in RECORD} == wanted
    assert len(wanted) == RECORD_ROWS


def test_exceptions_are_the_reviewed_ones() -> None:
    reasons: dict[str, int] = {}
    for row in RECORD:
        if not row.text:
            reasons[row.how] = reasons.get(row.how, 0) + 1
    assert reasons == EXCEPTIONS


@pytest.mark.parametrize("row", PRINTED, ids=lambda row: f"{row.source}:{row.mode}")
def test_text_matches_what_ovmf_printed(row: Row) -> None:
    path = DevicePath.from_bytes(bytes.fromhex(row.hex))
    assert path.to_text(display_only=row.mode == "display") == row.text, row.how
