"""Lazy loading of the device-path node modules: the static index in lazy_index.py must say
exactly what the modules register, importing the package must load only the eager modules,
and a fresh process that loads modules on first use must give the same results as one
that has them all."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from devpath_tables import golden_rows
from efikit.codec.devpath import base, lazy_index, textparse, vendor
from efikit.codec.devpath.base import all_node_decoders
from efikit.codec.devpath.textparse import all_keywords, parse_number
from efikit.errors import TextParseError

PACKAGE = "efikit.codec.devpath"
REPO = Path(__file__).resolve().parent.parent


def _short(module: str) -> str:
    assert module.startswith(PACKAGE + "."), module
    return module[len(PACKAGE) + 1:]


def _run_fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter (same environment, so the same backend) and return
    the JSON it prints last."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"),
                                         env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


# ---- the index matches the registrations -------------------------------------------------

def test_decoder_index_matches_registrations() -> None:
    decoders = all_node_decoders()
    registered = {key: _short(module) for key, module in base._REGISTERED_BY.items()}
    assert registered == lazy_index.DECODER_MODULES, (
        "lazy_index.DECODERS_BY_MODULE is out of date; it should be:\n"
        + "\n".join(f"{m!r}: {tuple(sorted(k for k, v in registered.items() if v == m))},"
                    for m in sorted(set(registered.values()))))
    assert set(decoders) == set(lazy_index.DECODER_MODULES)
    assert not [key for key, decoder in base._DECODERS.items()
                if isinstance(decoder, base._LazyDecoder)]


def test_keyword_index_matches_registrations() -> None:
    keywords = all_keywords()
    registered = {name: _short(module)
                  for name, module in textparse._KEYWORD_REGISTERED_BY.items()}
    assert registered == lazy_index.KEYWORD_MODULES, (
        "lazy_index.KEYWORDS_BY_MODULE is out of date; it should be:\n"
        + "\n".join(f"{m!r}: {tuple(sorted(k for k, v in registered.items() if v == m))},"
                    for m in sorted(set(registered.values()))))
    assert set(keywords) == set(lazy_index.KEYWORD_MODULES)
    assert all(textparse.is_keyword(name) for name in keywords)
    assert not textparse.is_keyword("pci") and not textparse.is_keyword("NoSuchKeyword")


def test_messaging_vendor_guid_index_matches_registrations() -> None:
    all_node_decoders()
    registered = {guid: _short(decoder.__module__)
                  for guid, decoder in vendor.MESSAGING_VENDOR_DECODERS.items()}
    assert registered == lazy_index.MESSAGING_VENDOR_GUID_MODULES


def test_lazy_exports_match_the_classes() -> None:
    import efikit.codec.devpath as devpath

    all_node_decoders()
    for name, module in lazy_index.LAZY_EXPORTS.items():
        value = getattr(devpath, name)
        assert isinstance(value, type) and issubclass(value, base.Node), name
        assert value.__module__ == f"{PACKAGE}.{module}", name
        assert getattr(sys.modules[f"{PACKAGE}.{module}"], name) is value
    assert set(lazy_index.LAZY_EXPORTS) <= set(devpath.__all__)
    for name in devpath.__all__:
        assert getattr(devpath, name) is not None
    # Every node class of a lazy module is exported or deliberately internal to it.
    for module in set(lazy_index.LAZY_EXPORTS.values()):
        loaded = sys.modules[f"{PACKAGE}.{module}"]
        public = {name for name, value in vars(loaded).items()
                  if isinstance(value, type) and issubclass(value, base.Node)
                  and value.__module__ == loaded.__name__ and not name.startswith("_")
                  and (value.TYPE, value.SUBTYPE) != (-1, -1)}
        assert public <= set(lazy_index.LAZY_EXPORTS), (module, public)


def test_every_registering_module_is_listed() -> None:
    listed = set(lazy_index.NODE_MODULES)
    assert set(lazy_index.DECODERS_BY_MODULE) <= listed
    assert set(lazy_index.KEYWORDS_BY_MODULE) <= listed
    assert set(lazy_index.MESSAGING_VENDOR_GUIDS_BY_MODULE) <= listed
    node_files = {path.stem for path in (REPO / "efikit" / "codec" / "devpath").glob("*.py")}
    helpers = {"__init__", "lazy_index", "textparse", "text_efibootmgr", "framing", "path"}
    assert node_files - helpers == listed


def test_unknown_attribute_is_an_attribute_error() -> None:
    import efikit.codec.devpath as devpath

    with pytest.raises(AttributeError):
        devpath.NoSuchNode  # noqa: B018
    assert "PciNode" in dir(devpath)


# ---- what a fresh process loads -----------------------------------------------------------

_LOADED = f"sorted(m[{len(PACKAGE) + 1}:] for m in sys.modules if m.startswith('{PACKAGE}.'))"


def test_import_loads_only_the_eager_modules() -> None:
    loaded = _run_fresh(f"""
        import json, sys
        import efikit.codec.loadoption
        from efikit.codec.devpath import base
        print(json.dumps([{_LOADED}, len(base._DECODERS)]))
    """)
    assert loaded[0] == sorted({*lazy_index.EAGER_MODULES, "lazy_index"})
    # the native fast path reads the registered (type, subtype) set before anything loads
    assert loaded[1] == len(lazy_index.DECODER_MODULES)


_DECODE_STEPS = [
    "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)/\\EFI\\a.efi",
    "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)",
    "VenMsg(11111111-2222-3333-4444-555555555555)",
    "PciRoot(0x0)/Pci(0x1F,0x2)",
    "Sata(0x0,0xFFFF,0x0)",
    "VenMsg(E0C14753-F9BE-11D2-9A0C-0090273FC14D)",
]


def test_decoding_loads_only_the_modules_it_needs() -> None:
    from efikit.codec.devpath import DevicePath

    blobs = [DevicePath.from_text(text).to_bytes().hex() for text in _DECODE_STEPS]
    steps = _run_fresh(f"""
        import json, sys
        from efikit.codec.devpath import DevicePath
        steps = []
        for blob in {blobs!r}:
            before = {_LOADED}
            path = DevicePath.from_bytes(bytes.fromhex(blob))
            steps.append([path.to_text(), sorted(set({_LOADED}) - set(before)),
                          [type(node).__name__ for node in path.nodes]])
        print(json.dumps(steps))
    """)
    assert [step[0] for step in steps] == _DECODE_STEPS
    assert steps[0][1] == [] and steps[1][1] == [] and steps[2][1] == []
    assert steps[2][2] == ["VendorNode"]  # an unknown VenMsg GUID loads nothing
    assert steps[3][1] == ["nodes_acpi", "nodes_hardware"]
    assert steps[4][1] == ["nodes_messaging"]
    assert steps[5][1] == ["nodes_messaging_vendor"]
    assert steps[5][2] == ["PcAnsiNode"]


def test_parsing_loads_the_keyword_module() -> None:
    loaded = _run_fresh(f"""
        import json, sys
        from efikit.codec.devpath import DevicePath
        out = []
        for text in ["Pci(0x1,0x0)", "Uri(http://x/y)", "Path(5,1,0100000000)",
                     "Wi-Fi(home)", "\\\\NoSuchKeyword(1)"]:
            before = {_LOADED}
            path = DevicePath.from_text(text)
            out.append([path.to_text(), sorted(set({_LOADED}) - set(before))])
        print(json.dumps(out))
    """)
    assert loaded == [
        ["Pci(0x1,0x0)", ["nodes_hardware"]],
        ["Uri(http://x/y)", ["nodes_messaging", "nodes_messaging_net"]],
        ["BBS(Floppy,,0x0)", ["generic", "nodes_bbs"]],
        ["Wi-Fi(home)", ["nodes_messaging_wireless"]],
        ["\\NoSuchKeyword(1)", []],
    ]


def test_every_lazy_export_imports_in_a_fresh_process() -> None:
    names = sorted(lazy_index.LAZY_EXPORTS)
    found = _run_fresh(f"""
        import json
        import efikit.codec.devpath as devpath
        out = {{}}
        for name in {names!r}:
            exec(f"from efikit.codec.devpath import {{name}} as value")
            out[name] = value.__module__
        print(json.dumps(out))
    """)
    assert found == {name: f"{PACKAGE}.{module}"
                     for name, module in lazy_index.LAZY_EXPORTS.items()}


# ---- same results, loaded lazily or all at once ------------------------------------------

_GOLDEN_PROBE = """
    import json
    from devpath_tables import golden_rows
    from efikit.codec.devpath import DevicePath
    from efikit.errors import Error

    def text_to_hex(text):
        try:
            return DevicePath.from_text(text).to_bytes().hex()
        except Error as error:
            return f"{type(error).__name__}: {error}"

    def binary_to_text(data):
        try:
            path = DevicePath.from_bytes(data)
            return [path.to_text(), path.to_text(display_only=True), path.to_bytes().hex(),
                    [type(node).__name__ for node in path.nodes]]
        except Error as error:
            return f"{type(error).__name__}: {error}"

    def probe(text_first):
        rows = golden_rows()
        texts, binaries = {}, {}
        for phase in ("text", "binary") if text_first else ("binary", "text"):
            for row in rows:
                if phase == "text":
                    texts[row.line] = [text_to_hex(row.input_text), text_to_hex(row.full_text)]
                else:
                    binaries[row.line] = binary_to_text(row.binary)
        return {str(line): [texts[line], binaries[line]] for line in texts}
"""


@pytest.mark.parametrize("text_first", [True, False], ids=["text-first", "binary-first"])
def test_fresh_lazy_process_matches_fully_loaded(text_first: bool) -> None:
    assert golden_rows()
    namespace: dict[str, Any] = {}
    all_node_decoders()
    exec(textwrap.dedent(_GOLDEN_PROBE), namespace)
    expected = json.loads(json.dumps(namespace["probe"](text_first)))
    fresh = _run_fresh(textwrap.dedent(_GOLDEN_PROBE)
                       + f"\nprint(json.dumps(probe({text_first})))\n")
    assert fresh == expected


# ---- ASCII-only numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["\u0661\u0662", "0x\u0661", "\uff11", "1\u00b2", "1_0"])
def test_parse_number_takes_ascii_digits_only(text: str) -> None:
    assert parse_number(text) is None


def test_non_ascii_digits_in_text_are_an_error() -> None:
    from efikit.codec.devpath import DevicePath

    for text in ("Pci(\u0661,0x0)", "HD(-\u0661,MBR,0x1,0x1,0x1)", "Sata(\uff10,0,0)"):
        with pytest.raises(TextParseError):
            DevicePath.from_text(text)
    assert parse_number("0x1F") == 31 and parse_number("00x1f") == 31 and parse_number("42") == 42
