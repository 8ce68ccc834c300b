"""OVMF prints, today, exactly the corpus texts recorded in tests/edk2_text/corpus-ovmf.tsv
(two boots: the corpus entries, then UiApp's entry alone; see corpus_oracle). The unit tier
compares efikit's text with that record (tests/test_devpath_corpus.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from firmware import corpus_oracle
from firmware.conftest import require_bench

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def test_ovmf_prints_the_recorded_corpus_text(tmp_path: Path) -> None:
    require_bench()
    live = corpus_oracle.run_oracle(tmp_path)
    recorded = corpus_oracle.read_record()
    assert len(recorded) == 121
    differing = [(old, new) for old, new in zip(recorded, live) if old != new]
    assert not differing and len(live) == len(recorded), "\n".join(
        f"{old.source} {old.mode}:\n  recorded {old.text or old.how}\n  live     {new.text or new.how}"
        for old, new in differing)
