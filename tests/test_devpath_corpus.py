"""Every device path of the real-world corpus: decode, re-encode byte-exact, and print what
edk2 printed for it (tests/corpus/text/edk2-devicepath-text.tsv, both forms). Text edk2 did
not print is compared with the reviewed snapshot tests/snapshots/devpath_text.txt;
EFIKIT_UPDATE_SNAPSHOTS=1 rewrites that file (review the diff before committing it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from devpath_corpus import CorpusPath, corpus_paths, file_path_list, load_option_blobs
from devpath_tables import CorpusTextRow, corpus_text_rows
from efikit.codec.devpath import DevicePath

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "devpath_text.txt"
MODES = ("full", "display")

ITEMS = corpus_paths()
_ROWS = {row.file: row for row in corpus_text_rows()}


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
    assert len(ITEMS) > 250
    # Every row of edk2's table names a corpus file we read.
    keys = {item.tsv_key for item in ITEMS}
    assert set(_ROWS) <= keys
    # ...and edk2 printed a good share of them.
    assert sum(len(texts) for texts in EDK2.values()) > 150


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


def _unverified_texts() -> dict[tuple[str, str], str]:
    """(source, mode) → our text, for every text edk2 did not print."""
    texts: dict[tuple[str, str], str] = {}
    for item in ITEMS:
        printed = EDK2.get(item.data, {})
        ours = _render(item)
        for mode in MODES:
            if mode not in printed:
                texts[(item.source, mode)] = ours[mode]
    return texts


def _read_snapshot() -> dict[tuple[str, str], str]:
    entries: dict[tuple[str, str], str] = {}
    for line in SNAPSHOT.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        source, mode, text = line.split("\t", 2)
        entries[(source, mode)] = text
    return entries


def _write_snapshot(texts: dict[tuple[str, str], str]) -> None:
    lines = ["# Device-path text efikit prints for corpus paths edk2 did not print (reviewed by eye).",
             "# columns: source (corpus-relative, '#n' = n-th path of a FilePathList) <TAB> "
             "full|display <TAB> text",
             "# Regenerate: EFIKIT_UPDATE_SNAPSHOTS=1 pytest tests/test_devpath_corpus.py"]
    lines += [f"{source}\t{mode}\t{text}" for (source, mode), text in sorted(texts.items())]
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_unverified_text_matches_reviewed_snapshot() -> None:
    texts = _unverified_texts()
    if os.environ.get("EFIKIT_UPDATE_SNAPSHOTS") == "1":
        _write_snapshot(texts)
    expected = _read_snapshot()
    assert sorted(texts) == sorted(expected), "corpus and snapshot list different paths"
    differing = [(key, expected[key], texts[key]) for key in texts if texts[key] != expected[key]]
    assert not differing, "\n".join(f"{k}:\n  snapshot {e}\n  now      {t}" for k, e, t in differing)
