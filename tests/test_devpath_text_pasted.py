"""Device-path text as people paste it (issue 10): every perturbation that keeps the meaning
(blanks at the ends and around separators, CR/LF, keyword case, forward slashes in file
paths) reads to the very bytes of the original; other input reads to the same bytes or is
refused with a TextParseError naming a column. Never a silent difference.

The texts are real: edk2's golden table (inputs and its own output), edk2's text of the
corpus paths, and efikit's text of every corpus path.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devpath_corpus import corpus_paths
from devpath_tables import corpus_text_rows, golden_rows
from efikit.codec.devpath import DevicePath, FilePathNode
from efikit.codec.fastpath import device_path_text_to_bytes
from efikit.errors import TextParseError


def _real_texts() -> list[tuple[str, bytes]]:
    """(text, the bytes it stands for), for every real text that reads back exactly."""
    pairs: list[tuple[str, bytes]] = []
    for row in golden_rows():
        pairs += [(row.full_text, row.binary), (row.input_text, row.binary)]
    by_file = {path.tsv_key: path.data for path in corpus_paths() if path.tsv_key}
    pairs += [(row.full_text, by_file[row.file]) for row in corpus_text_rows()
              if row.full_text and row.file in by_file]
    for path in corpus_paths():
        decoded = DevicePath.from_bytes(path.data)
        pairs += [(decoded.to_text(), path.data)]
    seen: set[str] = set()
    usable = []
    for text, data in pairs:
        if text in seen:
            continue
        seen.add(text)
        try:
            if DevicePath.from_text(text).to_bytes() == data:
                usable.append((text, data))
        except TextParseError:
            pass
    return usable


REAL = _real_texts()


def test_there_are_enough_real_texts() -> None:
    assert len(REAL) >= 200, len(REAL)


# ---- a small independent tokenizer (the one under test is not used to perturb) -----------

def _top_level(text: str) -> list[tuple[int, int]]:
    """(start, end) of each node: split at '/' and ',' outside parentheses."""
    spans = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in "/," and depth == 0:
            spans.append((start, index))
            start = index + 1
    spans.append((start, len(text)))
    return spans


def _is_keyword_node(node: str) -> bool:
    head = node.split("(", 1)[0]
    return "(" in node and node.endswith(")") and head.replace("-", "").isalnum()


def _map_keywords(text: str, change: "callable[[str], str]") -> str:  # type: ignore[valid-type]
    out = []
    last = 0
    for start, end in _top_level(text):
        node = text[start:end]
        if _is_keyword_node(node):
            head = node.split("(", 1)[0]
            out.append(text[last:start] + change(head))
            last = start + len(head)
    out.append(text[last:])
    return "".join(out)


def _spaces_around_separators(text: str, rng: random.Random) -> str:
    out = []
    last = 0
    for _, end in _top_level(text)[:-1]:
        out.append(text[last:end])
        out.append(rng.choice([" ", "  ", "\t", ""]) + text[end] + rng.choice([" ", "", "\r\n "]))
        last = end + 1
    out.append(text[last:])
    return "".join(out)


def _forward_slash_files(text: str, rng: random.Random) -> str:
    """A file-path node '\\a\\b' (the last of its instance) as '//a/b' or 'File(/a/b)'."""
    spans = _top_level(text)
    out = []
    last = 0
    for index, (start, end) in enumerate(spans):
        node = text[start:end]
        if node.startswith("\\") and "/" not in node and node.count("(") == node.count(")") \
                and "\\\\" not in node and node != "\\" and not node.endswith("\\") \
                and (start == 0 or text[start - 1] == "/") \
                and (end == len(text) or text[end] == ","):  # a slash path runs to ','
            slashed = node.replace("\\", "/")
            choice = rng.choice(["file", "double"]) if start else "file"
            out.append(text[last:start])
            if choice == "file":
                out.append(f"File({slashed})")
            else:
                out[-1] = out[-1][:-1] + "//" + slashed[1:]
            last = end
    out.append(text[last:])
    return "".join(out)


def _swap_case(head: str) -> str:
    return head.swapcase()


PERTURBATIONS = {
    "blanks at the ends": lambda text, rng: rng.choice([" ", "\t", "\ufeff", ""]) + text
    + rng.choice(["\n", "\r\n", " \r\n", "  "]),
    "blanks around separators": _spaces_around_separators,
    "lower-case keywords": lambda text, rng: _map_keywords(text, str.lower),
    "upper-case keywords": lambda text, rng: _map_keywords(text, str.upper),
    "swapped-case keywords": lambda text, rng: _map_keywords(text, _swap_case),
    "forward slashes in file paths": _forward_slash_files,
}


def _all_at_once(text: str, rng: random.Random) -> str:
    for name in ("forward slashes in file paths", "lower-case keywords",
                 "blanks around separators", "blanks at the ends"):
        text = PERTURBATIONS[name](text, rng)
    return text


PERTURBATIONS["all of them"] = _all_at_once


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_meaning_preserving_perturbations_read_to_the_same_bytes(name: str) -> None:
    """Over every real text: the perturbed text reads to the original bytes, in the object
    model and through the native fast path alike."""
    rng = random.Random(10)
    perturb = PERTURBATIONS[name]
    changed = 0
    for text, data in REAL:
        pasted = perturb(text, rng)
        changed += pasted != text
        assert DevicePath.from_text(pasted).to_bytes() == data, (text, pasted)
        assert device_path_text_to_bytes(pasted) == data, (text, pasted)
    assert changed >= 40, changed  # the perturbation really applied to many texts


def _outcome(text: str) -> bytes | TextParseError:
    try:
        return DevicePath.from_text(text).to_bytes()
    except TextParseError as error:
        return error


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(REAL), st.randoms(use_true_random=False),
       st.lists(st.sampled_from(sorted(PERTURBATIONS)), min_size=1, max_size=4))
def test_pasted_text_reads_the_same_or_is_refused(real: tuple[str, bytes], rng: random.Random,
                                                  steps: list[str]) -> None:
    """Perturbations stacked in any order, plus the damage a paste does (a doubled or lost
    separator, a cut end): the same bytes, or a TextParseError naming a column inside the
    text. A file-path node's text is the only thing that may change with the damage,
    and only where the pasted text is plainly a path."""
    text, data = real
    pasted = text
    for step in steps:
        pasted = PERTURBATIONS[step](pasted, rng)
    assert DevicePath.from_text(pasted).to_bytes() == data, (text, pasted)
    damaged = _damage(pasted, rng)
    outcome = _outcome(damaged)
    if isinstance(outcome, TextParseError):
        assert 1 <= outcome.column <= len(damaged) + 1
        assert outcome.text == damaged
        return
    if outcome != data:
        # a different path is acceptable only when the damage itself changed a node's
        # text: every node of the result is a typed node or a file path that is plainly one
        for node in DevicePath.from_bytes(outcome).nodes:
            if isinstance(node, FilePathNode):
                assert "(" not in node.path or node.path.startswith("\\"), (damaged, node)


def _damage(text: str, rng: random.Random) -> str:
    if not text:
        return text
    position = rng.randrange(len(text))
    kind = rng.choice(["double", "drop", "cut", "none"])
    if kind == "double":
        return text[:position] + text[position] + text[position:]
    if kind == "drop":
        return text[:position] + text[position + 1:]
    if kind == "cut":
        return text[:position]
    return text


# ---- the regressions of issue 10, item 3 ---------------------------------------------------

HD = "HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x100000)"
EXPECTED = DevicePath.from_text(HD + "/\\EFI\\x.efi").to_bytes()


@pytest.mark.parametrize("pasted", [
    f"  {HD}/\\EFI\\x.efi\r\n",
    f"{HD} / \\EFI\\x.efi",
    f"{HD.lower()}/\\EFI\\x.efi",
    f"{HD}/File(/EFI/x.efi)",
    f"{HD}/file(\\EFI\\x.efi)",
    f"{HD}//EFI/x.efi",
    f"\ufeff{HD}/\\EFI\\x.efi\n",
])
def test_issue_10_pasted_forms(pasted: str) -> None:
    assert DevicePath.from_text(pasted).to_bytes() == EXPECTED
    assert device_path_text_to_bytes(pasted) == EXPECTED


@pytest.mark.parametrize(("text", "column"), [
    ("Ramdisk2(0x0,0x1000,0,77AB535A-45FC-624B-5560-F7B281D1F96E)", 1),
    ("EDD10(0x80)", 1),
    (f"{HD}/Fil(\\EFI\\x.efi)", len(HD) + 2),
])
def test_issue_10_unknown_keywords_are_refused(text: str, column: int) -> None:
    with pytest.raises(TextParseError) as caught:
        device_path_text_to_bytes(text)
    assert caught.value.column == column


def test_nearest_keyword_is_named() -> None:
    with pytest.raises(TextParseError, match="did you mean RamDisk"):
        DevicePath.from_text("RamDsk(0x0,0x1000,0,77AB535A-45FC-624B-5560-F7B281D1F96E)")


# ---- efibootmgr's spellings, read as the efibootmgr dialect ---------------------------------

def test_pasted_efibootmgr_captures_read_the_same_or_are_refused() -> None:
    """efibootmgr -v's own texts of corpus entries (test_devpath_text_efibootmgr.CAPTURES),
    pasted with blanks, line ends and keyword case changes, read with dialect='efibootmgr':
    the bytes efibootmgr printed them from, or a TextParseError; never other bytes."""
    from test_devpath_text_efibootmgr import CAPTURES, first_instance

    rng = random.Random(4)
    same = refused = 0
    for _, text, data in CAPTURES:
        expected = first_instance(data)
        for name in ("blanks at the ends", "blanks around separators", "lower-case keywords",
                     "swapped-case keywords"):
            pasted = PERTURBATIONS[name](text, rng)
            try:
                result = DevicePath.from_text(pasted, dialect="efibootmgr").to_bytes()
            except TextParseError as error:
                assert 1 <= error.column <= len(pasted) + 1
                refused += 1
                continue
            assert result == expected, (text, pasted)
            same += 1
    assert same >= 600 and refused >= 20, (same, refused)
