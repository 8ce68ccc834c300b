"""The fast label reader (boot list without -v) agrees with the full load-option codec."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS
from efikit.boot.summary import summarize
from efikit.codec.loadoption import LoadOption
from efikit.errors import DecodeError, Error

OPTIONS = sorted((CORPUS / "loadoptions").glob("*.bin"))


def full_ok(data: bytes) -> bool:
    try:
        LoadOption.from_bytes(data)
    except Error:
        return False
    return True


def summary_ok(data: bytes) -> bool:
    try:
        summarize(data)
    except DecodeError:
        return False
    return True


def test_corpus_is_there() -> None:
    assert len(OPTIONS) == 116  # exact: a lost corpus file must fail, not run fewer tests


@pytest.mark.parametrize("path", OPTIONS, ids=lambda p: p.name)
def test_same_fields_and_same_verdict_on_every_truncation(path: Path) -> None:
    data = path.read_bytes()
    option = LoadOption.from_bytes(data)
    summary = summarize(data)
    assert summary.attributes == int(option.attributes)
    assert summary.description == option.description
    assert summary.optional_data_length == len(option.optional_data)
    assert (summary.active, summary.hidden) == (option.active, option.hidden)
    for cut in range(len(data)):
        assert summary_ok(data[:cut]) == full_ok(data[:cut]), cut


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_never_raises_anything_but_decode_error(data: bytes) -> None:
    summary_ok(data)
    summary_ok(b"\x01\x00\x00\x00" + data)
