"""Load options with several device paths: text shows the first path (as edk2 and efibootmgr
do) plus a marker that is not device-path text; JSON lists every path. Over every load option
of the corpus (loadoptions/, and every Boot#### of the efivars machines and varstores)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS
from efikit.boot.changes import option_text
from efikit.cli.main import cli
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption, more_paths_marker
from efikit.vars.open import open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE

STORES = sorted(p for p in (CORPUS / "efivars").iterdir() if p.is_dir()) \
    + sorted((CORPUS / "varstores").iterdir())
OPTION_NAME = re.compile(r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-F]{4}$")
MARKER = re.compile(r" \[\+(\d+) more device paths?\]$")


def corpus_options() -> Iterator[tuple[str, bytes]]:
    for path in sorted((CORPUS / "loadoptions").glob("*.bin")):
        yield path.name, path.read_bytes()
    for store_path in STORES:
        store = open_store(str(store_path))
        for key in store.list():
            if key.vendor == EFI_GLOBAL_VARIABLE and OPTION_NAME.match(key.name):
                var = store.get(key.name, key.vendor)
                assert var is not None
                yield f"{store_path.name}/{key.name}", var.data


OPTIONS = list(corpus_options())


FLAGS_SUFFIX = re.compile(r"  \[(hidden|force-reconnect|category=\d+)(, [^\]]+)?\]$")


def _decoded_column(data: bytes, display_only: bool = False) -> str:
    """The device-path column of `loadopt decode` (without its `  [hidden, ...]` suffix)."""
    args = ["loadopt", "decode", data.hex()] + (["--display-only"] if display_only else [])
    line = FLAGS_SUFFIX.sub("", _invoke(args).rstrip("\n"))
    return line.split("\t")[1]


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _check_path_column(column: str, option: LoadOption, display_only: bool = False) -> None:
    texts = [p.to_text(display_only) for p in option.file_paths]
    if len(texts) <= 1:
        assert column == "".join(texts)
        return
    match = MARKER.search(column)
    assert match is not None, column
    assert int(match.group(1)) == len(texts) - 1
    assert column[:match.start()] == texts[0]
    assert all(text not in column for text in texts[1:] if text not in texts[0])


def test_marker_wording() -> None:
    assert more_paths_marker(1) == " [+1 more device path]"
    assert more_paths_marker(3) == " [+3 more device paths]"
    assert more_paths_marker(0) == ""


def test_every_corpus_option_shows_one_path_and_a_marker() -> None:
    multi = 0
    for name, data in OPTIONS:
        option = LoadOption.from_bytes(data)
        multi += len(option.file_paths) > 1
        for display_only in (False, True):
            _check_path_column(_decoded_column(data, display_only), option, display_only)
        _check_path_column(option_text(data).split("\t")[1], option)
    # row-count guard: the corpus and how many of its options carry several paths
    assert len(OPTIONS) >= 200
    assert multi >= 9, multi


def test_first_path_text_re_encodes_to_the_first_path() -> None:
    checked = 0
    for _, data in OPTIONS:
        option = LoadOption.from_bytes(data)
        if len(option.file_paths) < 2:
            continue
        column = _decoded_column(data)
        first = column[:MARKER.search(column).start()]  # type: ignore[union-attr]
        assert DevicePath.from_text(first).to_bytes() == option.file_paths[0].to_bytes()
        checked += 1
    assert checked >= 9


@pytest.mark.parametrize("store", STORES, ids=lambda p: p.name)
def test_boot_list_verbose_marks_extra_paths(store: Path) -> None:
    """boot list -v renders from the bytes (native fast path when built): same layout."""
    lines = _invoke(["--vars", str(store), "boot", "list", "-v"]).splitlines()
    source = open_store(str(store))
    for line in lines:
        head = re.match(r"^(Boot[0-9A-F]{4})[* ] ", line)
        if head is None or "\t" not in line:
            continue
        var = source.get(head.group(1), EFI_GLOBAL_VARIABLE)
        assert var is not None
        _check_path_column(line.split("\t")[1], LoadOption.from_bytes(var.data))


def test_json_and_show_list_every_path() -> None:
    for name, data in OPTIONS:
        option = LoadOption.from_bytes(data)
        if len(option.file_paths) < 2:
            continue
        import json
        document = json.loads(_invoke(["loadopt", "decode", data.hex(), "--json"]))
        assert [p["hex"] for p in document["device_paths"]] == [
            p.to_bytes().hex() for p in option.file_paths], name


def test_generated_options_with_two_to_four_paths(tmp_path: Path) -> None:
    """Options built here with 1-4 paths of the codec's node types, listed by boot list -v
    from a JSON store: the native/pure fast path and the object model show the same column."""
    from firmware import oracle

    from efikit.vars.json_store import write_json
    from efikit.vars.store import Variable, VariableAttributes

    paths = [entry.path for entry in oracle.generate(120)[0]]
    variables, options = [], {}
    for number in range(60):
        count = 1 + number % 4
        chosen = [paths[(number * 7 + k) % len(paths)] for k in range(count)]
        option = LoadOption(LoadOption.create(f"gen {number}", chosen[0], b"").attributes,
                            f"gen {number}", tuple(chosen), b"")
        options[f"Boot{number:04X}"] = option
        variables.append(Variable(f"Boot{number:04X}", EFI_GLOBAL_VARIABLE,
                                  VariableAttributes(7), option.to_bytes()))
    store = tmp_path / "vars.json"
    write_json(store, variables)
    lines = [line for line in _invoke(["--vars", str(store), "boot", "list", "-v"]).splitlines()
             if line.startswith("Boot")]
    assert len(lines) == len(options) == 60
    for line in lines:
        option = options[line[:8]]
        _check_path_column(line.split("\t")[1], option)
        assert _decoded_column(option.to_bytes()) == line.split("\t")[1]


def test_efibootmgr_shows_the_same_first_path() -> None:
    """efibootmgr 17's rendering of every corpus load option (text/loadoptions.efibootmgr17
    .tsv, generated with the real tool): for an option with several paths it prints the first
    path only, the path efikit shows before its marker."""
    from test_boot_libefivar import libefivar_spelling

    rows = [line.split("\t") for line in
            (CORPUS / "text" / "loadoptions.efibootmgr17.tsv").read_text().splitlines()
            if line and not line.startswith("#")]
    multi = 0
    for name, rendering in rows:
        option = LoadOption.from_bytes((CORPUS / "loadoptions" / name).read_bytes())
        if len(option.file_paths) < 2:
            continue
        multi += 1
        shown_by_efibootmgr = rendering.split(" | ", 1)[1]
        first, *others = (libefivar_spelling(p) for p in option.file_paths)
        assert shown_by_efibootmgr.startswith(first), name
        assert not any(other in shown_by_efibootmgr for other in others), name
        column = _decoded_column(option.to_bytes())
        assert column == option.file_paths[0].to_text() + more_paths_marker(len(others))
    assert len(rows) == 116 and multi == 9
