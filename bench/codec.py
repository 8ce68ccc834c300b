"""Codec benchmark over the real corpus, in one process (`make bench`).

decode + to_text and from_text + encode, for
  (a) the C-only limit: one C call loops over the buffers, no Python object per item;
  (b) efikit with the native codec: fastpath (one C call per item, bytes ↔ text), and the
      object model on native framing;
  (c) efikit pure Python (what EFIKIT_PURE_PYTHON=1 runs): the same public fastpath call,
      which is then fastpath.*_to_text_pure (one pass over the bytes, node texts straight
      from the payloads), and the object model on the Python framing;
  (d) virt-firmware's virt.firmware.efi.devpath / bootentry.
Prints ops/s (median of several timed rounds) and ratios as a markdown table. Time is this
process's CPU time (time.process_time) and the rounds of all implementations are
interleaved, so that other work on a shared machine does not count against whichever
implementation happened to run while it was busy.
"""
from __future__ import annotations

import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from _common import have_module, require_peers

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus"
ROUNDS = 7
ROUND_SECONDS = 0.25

_LOAD_OPTION_VAR = re.compile(r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-Fa-f]{4}-")
_DEVICE_PATH_VAR = re.compile(r"^(ConIn|ConOut|ErrOut)(Dev)?-")


def corpus() -> tuple[list[bytes], list[bytes]]:
    paths = [p.read_bytes() for p in sorted((CORPUS / "devicepaths").glob("*.dp"))]
    options = [p.read_bytes() for p in sorted((CORPUS / "loadoptions").glob("*.bin"))]
    for var in sorted((CORPUS / "efivars").glob("*/*")):
        if _DEVICE_PATH_VAR.match(var.name):
            paths.append(var.read_bytes()[4:])
        elif _LOAD_OPTION_VAR.match(var.name):
            options.append(var.read_bytes()[4:])
    return paths, options


@dataclass
class Row:
    operation: str
    label: str
    ops_per_s: float | None
    note: str = ""


@dataclass
class Timed:
    """One implementation of one operation: ``run(k)`` does k passes of ``count`` ops."""

    row: Row
    count: int
    run: Callable[[int], object]
    passes: int = 1
    rates: list[float] | None = None


def loop(items: list, per_item: Callable[[object], object]) -> Callable[[int], object]:
    def run(passes: int) -> None:
        for _ in range(passes):
            for item in items:
                per_item(item)
    return run


def measure_all(candidates: list[Timed]) -> None:
    """Median ops/s of each candidate; the rounds are interleaved, so that a busy spell
    on a shared machine hits every implementation alike rather than one of them."""
    for timed in candidates:
        start = time.process_time()
        timed.run(1)
        single = max(time.process_time() - start, 1e-7)
        timed.passes = max(1, int(ROUND_SECONDS / single))
        timed.rates = []
    for _ in range(ROUNDS):
        for timed in candidates:
            start = time.process_time()
            timed.run(timed.passes)
            assert timed.rates is not None
            timed.rates.append(timed.passes * timed.count / (time.process_time() - start))
    for timed in candidates:
        assert timed.rates
        timed.row.ops_per_s = statistics.median(timed.rates)


def main() -> int:
    from efikit.codec import _backend
    from efikit.codec.devpath import DevicePath
    from efikit.codec.devpath import path as path_module
    from efikit.codec.devpath.framing import frame_nodes_python
    from efikit.codec.fastpath import (
        device_path_text_to_bytes,
        device_path_to_text,
        device_path_to_text_pure,
        keyword_mask,
        load_option_to_text,
        load_option_to_text_pure,
        load_option_to_text_python,
        registered_map,
    )

    native_framing = path_module.frame_nodes
    lib = _backend.native_lib
    paths, options = corpus()
    texts = [DevicePath.from_bytes(p).to_text() for p in paths]
    rows: list[Row] = []
    timed: list[Timed] = []

    def add(op: str, label: str, count: int, run: Callable[[int], object],
            note: str = "") -> None:
        row = Row(op, label, None, note)
        rows.append(row)
        timed.append(Timed(row, count, run))

    def pure(run: Callable[[int], object]) -> Callable[[int], object]:
        """Run with the Python framing under the object model (= EFIKIT_PURE_PYTHON=1)."""
        def wrapped(passes: int) -> object:
            path_module.frame_nodes = frame_nodes_python
            try:
                return run(passes)
            finally:
                path_module.frame_nodes = native_framing
        return wrapped

    def c_loop(run: Callable[[int], int]) -> Callable[[int], object]:
        def checked(passes: int) -> int:
            result = run(passes)
            assert result >= 0
            return result
        return checked

    require_peers({"virt-firmware (PyPI virt-firmware)": have_module("virt.firmware.efi")})
    from virt.firmware.efi import bootentry as virt_bootentry
    from virt.firmware.efi import devpath as virt_devpath

    # ---- device paths: decode + to_text --------------------------------------------------
    op = f"device path decode + to_text ({len(paths)} paths)"
    if lib is not None:
        handled = [p for p in paths if lib.devpath_to_text(p, False, registered_map())[0] == 0]
        add(op, "(a) C-only loop", len(handled),
            c_loop(lambda n, h=handled: lib.bench_to_text(h, n, False, registered_map())),
            f"{len(handled)}/{len(paths)} paths rendered natively")
        add(op, "(b) efikit native: fastpath.device_path_to_text", len(paths),
            loop(paths, device_path_to_text))
        add(op, "(b) efikit native: DevicePath.from_bytes().to_text()", len(paths),
            loop(paths, lambda p: DevicePath.from_bytes(p).to_text()),
            "object model on the native framing")
    add(op, "(c) efikit pure Python: fastpath.device_path_to_text", len(paths),
        pure(loop(paths, device_path_to_text_pure)),
        "same call as (b); without the native codec it is device_path_to_text_pure")
    add(op, "(c) efikit pure Python: DevicePath.from_bytes().to_text()", len(paths),
        pure(loop(paths, lambda p: DevicePath.from_bytes(p).to_text())), "object model")
    add(op, "(d) virt-firmware: str(DevicePath(bytes))", len(paths),
        loop(paths, lambda p: str(virt_devpath.DevicePath(p))))

    # ---- load options: decode + to_text --------------------------------------------------
    op = f"load option decode + to_text ({len(options)} options)"
    if lib is not None:
        handled = [o for o in options if lib.load_option_to_text(o, False, registered_map())]
        add(op, "(a) C-only loop", len(handled),
            c_loop(lambda n, h=handled: lib.bench_to_text(h, n, True, registered_map())),
            f"{len(handled)}/{len(options)} options rendered natively")
        add(op, "(b) efikit native: fastpath.load_option_to_text", len(options),
            loop(options, load_option_to_text))
    add(op, "(c) efikit pure Python: fastpath.load_option_to_text", len(options),
        pure(loop(options, load_option_to_text_pure)),
        "same call as (b); without the native codec it is load_option_to_text_pure")
    add(op, "(c) efikit pure Python: LoadOption.from_bytes() + to_text()", len(options),
        pure(loop(options, load_option_to_text_python)), "object model")
    add(op, "(d) virt-firmware: str(BootEntry(bytes))", len(options),
        loop(options, lambda o: str(virt_bootentry.BootEntry(o))))

    # ---- device paths: from_text + encode ------------------------------------------------
    op = f"device path from_text + encode ({len(texts)} texts)"
    if lib is not None:
        handled_texts = [t for t in texts if lib.bench_from_text([t], 1, keyword_mask()) >= 0]
        add(op, "(a) C-only loop", len(handled_texts),
            c_loop(lambda n: lib.bench_from_text(handled_texts, n, keyword_mask())),
            f"{len(handled_texts)}/{len(texts)} texts parsed natively")
        add(op, "(b) efikit native: fastpath.device_path_text_to_bytes", len(texts),
            loop(texts, device_path_text_to_bytes))
    add(op, "(c) efikit pure Python: DevicePath.from_text().to_bytes()", len(texts),
        pure(loop(texts, lambda t: DevicePath.from_text(t).to_bytes())))
    decoded = [virt_devpath.DevicePath(p) for p in paths]
    virt_encode = Timed(Row(op, "virt encode", None), len(decoded), loop(decoded, bytes))

    measure_all([*timed, virt_encode])
    rows.append(Row(op, "(d) virt-firmware", None,
                    "has no text parser; encode alone, bytes(DevicePath): "
                    f"{virt_encode.row.ops_per_s:,.0f} ops/s"))

    print_table(rows, _backend.backend_name())
    return 0


def print_table(rows: list[Row], backend: str) -> None:
    print(f"efikit codec benchmark — Python {sys.version.split()[0]}, active backend: "
          f"{backend}, median of {ROUNDS} rounds\n")
    print("| operation | implementation | ops/s | µs/op | × virt-firmware | × pure Python | note |")
    print("|---|---|---:|---:|---:|---:|---|")
    for row in rows:
        same_op = [r for r in rows if r.operation == row.operation]
        virt = next((r.ops_per_s for r in same_op if r.label.startswith("(d)")), None)
        pure = next((r.ops_per_s for r in same_op if r.label.startswith("(c)")), None)
        if row.ops_per_s is None:
            print(f"| {row.operation} | {row.label} | – | – | – | – | {row.note} |")
            continue
        vs_virt = f"{row.ops_per_s / virt:.2f}" if virt else "–"
        vs_pure = f"{row.ops_per_s / pure:.2f}" if pure else "–"
        print(f"| {row.operation} | {row.label} | {row.ops_per_s:,.0f} | "
              f"{1e6 / row.ops_per_s:.2f} | {vs_virt} | {vs_pure} | {row.note} |")


if __name__ == "__main__":
    sys.exit(main())
