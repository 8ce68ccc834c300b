"""Readers for the edk2 oracle tables in tests/corpus/text/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEXT_DIR = Path(__file__).resolve().parent / "corpus" / "text"


@dataclass(frozen=True)
class GoldenRow:
    line: int
    input_text: str
    binary: bytes
    full_text: str
    display_text: str
    edk2_roundtrip_ok: bool


def golden_rows() -> list[GoldenRow]:
    rows = []
    path = TEXT_DIR / "edk2-text-golden.tsv"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        rows.append(GoldenRow(number, cols[0], bytes.fromhex(cols[1]), cols[2], cols[3],
                              cols[4] == "ok"))
    return rows


@dataclass(frozen=True)
class CorpusTextRow:
    file: str  # relative to tests/corpus
    full_text: str  # '' when edk2 did not print it
    display_text: str


def corpus_text_rows() -> list[CorpusTextRow]:
    rows = []
    path = TEXT_DIR / "edk2-devicepath-text.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t") + ["", ""]
        rows.append(CorpusTextRow(cols[0], cols[1], cols[2]))
    return rows
