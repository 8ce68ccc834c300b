"""Native and pure-Python codecs give identical results and identical errors.

The pure-Python side runs in a subprocess with EFIKIT_PURE_PYTHON=1, so the two backends
are compared whole: framing, bytes → text in both modes, the object model, text → bytes,
and load options, over the real corpus and over 100,000 generated inputs (seeded:
EFIKIT_DIFF_SEED picks another set).
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from typing import Any

import pytest

from conftest import IN_CI, TESTS_DIR
from efikit.codec import _backend
from fuzz.inputs import (
    corpus_device_paths,
    corpus_load_options,
    evaluate_all,
    evaluate_path,
    generated_inputs,
    generated_load_options,
    generated_texts,
)

SEED = int(os.environ.get("EFIKIT_DIFF_SEED", "1"))
GENERATED_PATHS = 100_000
GENERATED_OPTIONS = 10_000

_PURE_SCRIPT = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
from efikit.codec._backend import backend_name
assert backend_name() == "python", backend_name()
from fuzz.inputs import evaluate_all
kind, inputs = pickle.load(sys.stdin.buffer)
pickle.dump(evaluate_all(kind, inputs), sys.stdout.buffer)
"""


def require_native() -> None:
    if _backend.native_lib is None:
        message = "the native codec is not built (or EFIKIT_PURE_PYTHON is set)"
        if IN_CI and not os.environ.get("EFIKIT_PURE_PYTHON"):
            pytest.fail(message)
        pytest.skip(message)


def assert_same(kind: str, inputs: list[Any]) -> list[Any]:
    # The pure-Python side works in its own process while this one does the native side.
    env = dict(os.environ, EFIKIT_PURE_PYTHON="1")
    with tempfile.TemporaryFile() as request, tempfile.TemporaryFile() as reply:
        pickle.dump((kind, inputs), request)
        request.seek(0)
        worker = subprocess.Popen([sys.executable, "-c", _PURE_SCRIPT, str(TESTS_DIR)],
                                  stdin=request, stdout=reply, stderr=subprocess.PIPE, env=env)
        native = evaluate_all(kind, inputs)
        _, errors = worker.communicate(timeout=600)
        assert worker.returncode == 0, errors.decode(errors="replace")[-3000:]
        reply.seek(0)
        pure: list[Any] = pickle.load(reply)
    mismatches = [(data, [(a, b) for a, b in zip(mine, theirs) if a != b][0])
                  for data, mine, theirs in zip(inputs, native, pure) if mine != theirs]
    assert not mismatches, (f"{len(mismatches)} of {len(inputs)} inputs differ, first: "
                            f"{mismatches[:3]}")
    return native


def assert_fastpath_matches_model(inputs: list[bytes], results: list[Any]) -> None:
    """Within the native process too: the C text equals the object model's text."""
    for data, (_, full, display, model, _) in zip(inputs, results):
        if model[0] == "ok":
            assert full == ("ok", model[1][0]) and display == ("ok", model[1][1]), data.hex()
        else:
            assert full == model and display == model, data.hex()


def test_native_backend_is_active() -> None:
    require_native()
    assert _backend.backend_name() == "native"


def test_corpus_device_paths_identical() -> None:
    require_native()
    inputs = corpus_device_paths()
    assert len(inputs) == 71  # exact: a lost corpus file must fail
    results = assert_same("path", inputs)
    assert_fastpath_matches_model(inputs, results)
    assert all(full[0] == "ok" for _, full, _, _, _ in results)


def test_corpus_load_options_identical() -> None:
    require_native()
    inputs = corpus_load_options()
    assert len(inputs) == 182  # exact: a lost corpus file must fail
    results = assert_same("option", inputs)
    assert all(result[0][0] == "ok" for result in results)


def test_generated_device_paths_identical() -> None:
    require_native()
    inputs = generated_inputs(SEED, GENERATED_PATHS)
    results = assert_same("path", inputs)
    assert_fastpath_matches_model(inputs, results)
    outcomes = {full[0] for _, full, _, _, _ in results}
    assert {"ok", "DecodeError"} <= outcomes  # the mix exercises both


def test_generated_load_options_identical() -> None:
    require_native()
    assert_same("option", generated_load_options(SEED, GENERATED_OPTIONS))


def test_text_to_bytes_identical() -> None:
    """Corpus texts, texts of generated paths and mutated texts: native parser vs Python."""
    require_native()
    texts = generated_texts(SEED, 30_000)
    results = assert_same("text", texts)
    assert sum(1 for (outcome,) in results if outcome[0] == "ok") > len(texts) // 2


def test_generated_inputs_raise_only_efikit_errors() -> None:
    """Not a backend difference but found by the same inputs: no IndexError & co."""
    require_native()
    inputs = generated_inputs(SEED + 1, 10_000)
    crashes = [(data.hex(), outcome) for data in inputs for outcome in evaluate_path(data)
               if outcome is not None and outcome[0] == "crash"]
    assert not crashes, f"{len(crashes)} crashes, first: {crashes[:3]}"


def test_native_framing_reports_python_offsets() -> None:
    require_native()
    from efikit.codec.devpath.framing import FRAMING_ERRORS, frame_nodes, frame_nodes_python
    from efikit.errors import DecodeError

    lib = _backend.native_lib
    assert lib is not None and frame_nodes is not frame_nodes_python
    cases = [b"", b"\x01", b"\x01\x01\x03\x00", b"\x01\x01\x06\x00\x00", b"\x04\x04\x04\x00",
             b"\x7f\xff\x04\x00", b"\x7f\xff\x04\x00\x00", b"\x01\x01\x06\x00\x00\x00\x7f\xff",
             b"\x01\x01\x06\x00\x00\x00\x7f\xff\x04\x00"]
    for data in cases:
        for start in range(len(data) + 1):
            for end in range(len(data) + 1):  # start > end included (the C call only)
                try:
                    expected: tuple[Any, ...] = (0, *frame_nodes_python(data, start, end))
                except DecodeError as error:
                    expected = (error.reason, error.offset)
                code, frames, position = lib.frame_nodes(data, start, end)
                native = (0, frames, position) if code == 0 else (FRAMING_ERRORS[code],
                                                                  position)
                assert native == expected, (data.hex(), start, end)
                if start <= end:
                    try:
                        through_hook: tuple[Any, ...] = (0, *frame_nodes(data, start, end))
                    except DecodeError as error:
                        through_hook = (error.reason, error.offset)
                    assert through_hook == expected, (data.hex(), start, end)


def test_non_bytes_input_takes_the_same_path() -> None:
    require_native()
    from efikit.codec.fastpath import device_path_to_text

    data = corpus_device_paths()[0]
    assert device_path_to_text(bytearray(data)) == device_path_to_text(data)
    assert device_path_to_text(memoryview(data)) == device_path_to_text(data)


def test_pure_python_is_forced_by_environment() -> None:
    env = dict(os.environ, EFIKIT_PURE_PYTHON="1")
    done = subprocess.run([sys.executable, "-c", "from efikit.codec._backend import "
                           "backend_name; print(backend_name())"], capture_output=True,
                          text=True, env=env, check=True)
    assert done.stdout.strip() == "python"
