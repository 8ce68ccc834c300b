"""The C codec built once with -fsanitize=address,undefined, run over the differential corpus.

A standalone gcc build (native/*.c plus native/tests/sanitize_driver.c) avoids loading ASan
into Python. The driver's answers must equal the pure-Python codec's: the same text where
the C code renders, the same framing error (reason and offset) where the input is bad.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, require_tool
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.framing import FRAMING_ERRORS, frame_nodes_python
from efikit.codec.fastpath import (
    device_path_text_to_bytes_python,
    load_option_to_text_python,
    registered_map,
)
from efikit.errors import DecodeError
from fuzz.inputs import (
    corpus_device_paths,
    corpus_load_options,
    generated_inputs,
    generated_load_options,
    generated_texts,
    seed_paths,
)

NATIVE = REPO_ROOT / "native"
SANITIZER_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                   "-fno-omit-frame-pointer", "-g", "-O1"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("gcc")
    out = tmp_path_factory.mktemp("asan") / "sanitize_driver"
    sources = sorted(str(p) for p in NATIVE.glob("*.c")) + [str(NATIVE / "tests" /
                                                                "sanitize_driver.c")]
    build = subprocess.run([shutil.which("gcc") or "gcc", "-std=c99", "-Wall", "-Wextra",
                            "-Werror", *SANITIZER_FLAGS, f"-I{NATIVE}", *sources, "-o",
                            str(out)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    return out


def run_driver(driver: Path, inputs: list[bytes], tmp_path: Path) -> list[list[str]]:
    blob = tmp_path / "inputs.bin"
    blob.write_bytes(registered_map() + b"".join(struct.pack("<I", len(d)) + d for d in inputs))
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    done = subprocess.run([str(driver), str(blob)], capture_output=True, text=True, env=env,
                          check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "runtime error" not in done.stderr, done.stderr[-4000:]
    lines = [line.split(" ") for line in done.stdout.splitlines()]
    assert len(lines) == len(inputs)
    return lines


def expected_frames(data: bytes) -> tuple[int, int]:
    try:
        frames, stop = frame_nodes_python(data, 0, len(data))
    except DecodeError as error:
        code = next(c for c, m in FRAMING_ERRORS.items() if m == error.reason)
        return -code, error.offset
    return len(frames), stop


def check(data: bytes, fields: list[str]) -> None:
    frame_rc, frame_pos = int(fields[0]), int(fields[1])
    assert (frame_rc, frame_pos) == expected_frames(data), data.hex()
    for display, (status, offset, text_hex) in enumerate(
            [fields[2:5], fields[5:8]]):
        status_code = int(status)
        if status_code in (-1, 5):
            continue  # left to Python by design (the Python codec is then the answer)
        try:
            expected = DevicePath.from_bytes(data).to_text(bool(display))
        except DecodeError as error:
            assert status_code in FRAMING_ERRORS, data.hex()
            assert (FRAMING_ERRORS[status_code], int(offset)) == (error.reason, error.offset)
            continue
        assert status_code == 0, data.hex()
        text = bytes.fromhex(text_hex).decode() if text_hex != "-" else ""
        assert text == expected, data.hex()
    status, attributes, optional_start, text_hex = fields[8:12]
    if status == "0":  # anything else is left to Python by design
        texts = (bytes.fromhex(text_hex).decode() if text_hex != "-" else "").split("\0")
        native = (int(attributes), texts[0], tuple(texts[1:]), data[int(optional_start):])
        assert native == tuple(load_option_to_text_python(data)), data.hex()
    status, binary_hex = fields[12:14]
    if status == "0":
        text = data.decode("utf-8", "surrogatepass")
        assert bytes.fromhex(binary_hex) == device_path_text_to_bytes_python(text), text


def test_sanitized_build_on_corpus(driver: Path, tmp_path: Path) -> None:
    inputs = corpus_device_paths() + seed_paths() + corpus_load_options()
    lines = run_driver(driver, inputs, tmp_path)
    for data, fields in zip(inputs, lines):
        check(data, fields)
    rendered = sum(1 for fields in lines if fields[2] == "0")
    assert rendered >= len(corpus_device_paths())  # the real paths do go through the C code
    options = sum(1 for fields in lines if fields[8] == "0")
    assert options >= len(corpus_load_options())


def test_sanitized_build_on_corpus_texts(driver: Path, tmp_path: Path) -> None:
    from efikit.codec.fastpath import device_path_to_text_python

    inputs = [device_path_to_text_python(p).encode() for p in corpus_device_paths()]
    lines = run_driver(driver, inputs, tmp_path)
    for data, fields in zip(inputs, lines):
        check(data, fields)
    assert sum(1 for fields in lines if fields[12] == "0") >= len(inputs) // 2


def test_sanitized_build_on_generated_inputs(driver: Path, tmp_path: Path) -> None:
    texts = [text.encode("utf-8", "surrogatepass") for text in generated_texts(7, 10_000)]
    inputs = generated_inputs(7, 20_000) + generated_load_options(7, 5_000) + texts
    lines = run_driver(driver, inputs, tmp_path)
    for data, fields in zip(inputs, lines):
        check(data, fields)
