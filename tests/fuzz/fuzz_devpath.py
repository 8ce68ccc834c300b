"""Atheris fuzz harness: device-path and load-option decoding, text, round trips, native vs pure.

    .venv/bin/python tests/fuzz/fuzz_devpath.py -atheris_runs=1000000 [CORPUS_DIR ...]

Without a corpus directory it seeds itself with every real device path and load option in
tests/corpus. For each input, as a device path and as a load option:
  * the native framing and the Python framing agree (frames, or error reason and offset);
  * the C renderers (fastpath, device paths and load options) and the pure object model
    agree in both display modes;
  * only efikit errors are raised; encode(decode(b)) == b;
  * the native text parser (fastpath.device_path_text_to_bytes) and the Python parser
    agree on the printed text and on the input read as text;
  * from_text of the printed text raises only efikit errors, and text → bytes → text is
    the identity for text the C renderer produced (file names holding ',', '/', '(' or ')'
    and empty instances excepted: edk2's text form cannot express them).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["efikit"]):
    from efikit.codec import _backend
    from efikit.codec.devpath import DevicePath, FilePathNode
    from efikit.codec.devpath import path as path_module
    from efikit.codec.devpath.framing import frame_nodes_python
    from efikit.codec.fastpath import (
        device_path_text_to_bytes,
        device_path_text_to_bytes_python,
        device_path_to_text,
        load_option_to_text,
        load_option_to_text_python,
    )
    from efikit.codec.devpath.textparse import all_keywords
    from efikit.codec.loadoption import LoadOption
    from efikit.errors import DecodeError, Error

    all_keywords()  # node modules load lazily: load (and instrument) them all here

from fuzz.inputs import corpus_load_options, seed_paths  # noqa: E402

NATIVE_FRAMING = path_module.frame_nodes
if _backend.native_lib is None or NATIVE_FRAMING is frame_nodes_python:
    sys.exit("the native codec is not active: build it (pip install -e .) and unset "
             "EFIKIT_PURE_PYTHON")


def outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return ("ok", call(*args))
    except DecodeError as error:
        return ("DecodeError", error.reason, error.offset)
    except Error as error:
        return (type(error).__name__, str(error))


def pure(call: Callable[..., Any], *args: Any) -> Any:
    """Run ``call`` with the Python framing under the object model."""
    path_module.frame_nodes = frame_nodes_python
    try:
        return outcome(call, *args)
    finally:
        path_module.frame_nodes = NATIVE_FRAMING


def model_text(data: bytes, display_only: bool) -> str:
    return DevicePath.from_bytes(data).to_text(display_only)


def load_option_view(data: bytes) -> tuple[Any, ...]:
    option = LoadOption.from_bytes(data)
    assert option.to_bytes() == data, "load option does not re-encode byte-exact"
    return (int(option.attributes), option.description,
            [p.to_text() for p in option.file_paths], option.optional_data)


def check_path(data: bytes) -> None:
    native_frames = outcome(NATIVE_FRAMING, data, 0, len(data))
    python_frames = outcome(frame_nodes_python, data, 0, len(data))
    assert native_frames == python_frames, (native_frames, python_frames)
    for display_only in (False, True):
        fast = outcome(device_path_to_text, data, display_only)
        reference = pure(model_text, data, display_only)
        assert fast == reference, (display_only, fast, reference)
    decoded = pure(DevicePath.from_bytes, data)
    if decoded[0] != "ok":
        return
    assert decoded[1].to_bytes() == data, "device path does not re-encode byte-exact"
    text = decoded[1].to_text()
    check_text(text)
    parsed = outcome(DevicePath.from_text, text)
    if parsed[0] == "ok" and _all_native(data) and _text_is_unambiguous(decoded[1]):
        assert parsed[1].to_text() == text, (text, parsed[1].to_text())


def _text_is_unambiguous(path: DevicePath) -> bool:
    """edk2's text form cannot carry a file name that is empty or holds a separator or a
    parenthesis ('gru,x64.efi' reads back as two instances), nor an empty instance
    (',,' reads back as one separator): such paths are skipped."""
    return all(path.instances[:-1]) and all(
        node.path and not _SEPARATORS.intersection(node.path)
        for node in path.nodes if isinstance(node, FilePathNode))


_SEPARATORS = frozenset(",/()")


def _all_native(data: bytes) -> bool:
    """True when the C renderer printed this path itself (no Python fallback)."""
    from efikit.codec.fastpath import registered_map

    lib = _backend.native_lib
    assert lib is not None
    return lib.devpath_to_text(data, False, registered_map())[0] == 0


def check_text(text: str) -> None:
    fast = outcome(device_path_text_to_bytes, text)
    slow = outcome(device_path_text_to_bytes_python, text)
    assert fast == slow, (text, fast, slow)


def check_load_option(data: bytes) -> None:
    native = outcome(load_option_view, data)
    reference = pure(load_option_view, data)
    assert native == reference, (native, reference)
    for display_only in (False, True):
        fast = outcome(load_option_to_text, data, display_only)
        slow = pure(load_option_to_text_python, data, display_only)
        assert fast == slow, (display_only, fast, slow)


def test_one_input(data: bytes) -> None:
    check_path(data)
    check_load_option(data)
    check_text(data.decode("utf-8", "surrogatepass") if _is_utf8(data) else
               data.decode("latin-1"))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        seeds = Path(tempfile.mkdtemp(prefix="efikit-fuzz-seeds-"))
        for index, data in enumerate(seed_paths() + corpus_load_options()):
            (seeds / f"seed{index:04d}").write_bytes(data)
        argv.append(str(seeds))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
