"""The committed broken-PE corpus: every file is a PEFormatError with a clear message.

No other exception, nothing printed (pefile's warnings stay in its list), bounded memory, and
the CLI turns each into one line on stderr with exit code 2.
"""
from __future__ import annotations

import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efikit.errors import PEFormatError
from efikit.pe.authenticode import authenticode_hash
from efikit.pe.inspect import inspect_pe
from test_pe_support import FIXTURES_PE, MALFORMED

MANIFEST = [tuple(line.split("\t")) for line in
            (MALFORMED / "MANIFEST.tsv").read_text().splitlines() if not line.startswith("#")]
NAMES = [row[0] for row in MANIFEST]
# Memory a single inspection may allocate (Python heap): the largest legitimate buffer is the
# 1 MiB hashing buffer; malformed input must not make efikit allocate what a header claims.
MEMORY_BUDGET = 8 << 20


def test_corpus_size_and_manifest_complete() -> None:
    files = sorted(p.name for p in MALFORMED.glob("*.efi"))
    assert len(files) == 46  # exact: a lost file or manifest row must fail
    assert files == sorted(NAMES)


@pytest.mark.parametrize("name,expect,hash_result", MANIFEST, ids=NAMES)
def test_inspect_raises_clear_error(name: str, expect: str, hash_result: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(PEFormatError) as caught:
            inspect_pe(MALFORMED / name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert expect in message
    assert "\n" not in message
    assert caught.value.exit_code == 2
    assert peak < MEMORY_BUDGET
    out, err = capsys.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("name,expect,hash_result", MANIFEST, ids=NAMES)
def test_hash_fails_or_is_unaffected(name: str, expect: str, hash_result: str) -> None:
    path = MALFORMED / name
    if hash_result == "error":
        with pytest.raises(PEFormatError) as caught:
            authenticode_hash(path)
        assert expect in str(caught.value)
    else:
        # the fault is in bytes the Authenticode hash never reads
        assert len(authenticode_hash(path)) == 32


def test_cli_reports_each_file_in_one_line() -> None:
    # One interpreter for the whole corpus: run efikit's entry point per file in a loop.
    script = (
        "import sys\n"
        "from efikit.cli.main import main\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        main(['pe', 'inspect', name])\n"
        "    except SystemExit as exc:\n"
        "        print(f'EXIT {exc.code}', flush=True)\n"
        "    else:\n"
        "        print('EXIT 0', flush=True)\n"
    )
    paths = [str(MALFORMED / n) for n in NAMES]
    proc = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True,
                          text=True, timeout=300)
    assert proc.stdout.split() == ["EXIT", "2"] * len(paths)
    errors = proc.stderr.splitlines()
    assert len(errors) == len(paths)
    assert all(line.startswith("efikit: error: ") for line in errors)
    assert "Traceback" not in proc.stderr


def _mutations(data: bytes, seed: int, count: int) -> bytes:
    rng = random.Random(seed)
    buf = bytearray(data)
    for _ in range(count):
        if len(buf) < 8:
            break
        choice = rng.random()
        if choice < 0.6:  # flip bytes, mostly in the headers where the structure is
            at = rng.randrange(min(len(buf), 0x400)) if rng.random() < 0.8 else rng.randrange(len(buf))
            buf[at] = rng.randrange(256)
        elif choice < 0.8:  # plant a 32-bit extreme
            at = rng.randrange(len(buf) - 4)
            buf[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\0\0\0\x80"])
        else:
            del buf[rng.randrange(len(buf)):]
    return bytes(buf)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 8),
       base=st.sampled_from(["boot-a.efi", "loader-unsigned.efi"]))
def test_fuzzed_images_only_raise_pe_format_error(tmp_path: Path, seed: int, count: int,
                                                  base: str) -> None:
    path = tmp_path / "fuzz.efi"
    path.write_bytes(_mutations((FIXTURES_PE / base).read_bytes(), seed, count))
    for operation in (inspect_pe, authenticode_hash):
        try:
            operation(path)
        except PEFormatError as exc:
            assert str(exc)
