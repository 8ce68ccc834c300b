#!/usr/bin/env python3
"""Benchmark: stamping a signed 512 MiB PE image in place vs `cp` of the same file.

Both sizes in one run (8 MiB and 512 MiB, each signed with sbsign and a throw-away key):
  * `cp FILE COPY` (warm page cache, the copy deleted between runs, outside the timing), and
    `cp` followed by fsync of the copy (a durable copy);
  * efikit's library call ``set_stamp`` in place, alternating slot A and B so that every run
    really rewrites the table: without fsync (like cp) and with fsync (the default; like the
    durable copy). Each is compared with its like: an fsync costs a journal commit, which on
    this virtual disk alone is more than 1/100 of a warm-cache cp.
  * `efikit stamp set` as a command, for information (interpreter start-up dominates it).
Medians of --runs runs after one warm-up. Prints a markdown table.

Usage: bench/stamp.py [--runs N] [--keep DIR]
Targets (issue 6): the library stamp at most 1/100 of cp's time at 512 MiB, and no growth
with image size (512 MiB vs 8 MiB).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _common import require_peers  # noqa: E402

from efikit.pe.authenticode import authenticode_hash  # noqa: E402
from efikit.pe.stamp import read_stamp, set_stamp  # noqa: E402
from efikit.pe.stamp_format import make_stamp  # noqa: E402

SIZES_MIB = (8, 512)


def _pe_hash_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_pe_hash", REPO / "bench" / "pe_hash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {proc.stderr.strip()[:300]}")


def signed_image(workdir: Path, size_mib: int, key: Path, cert: Path) -> Path:
    raw = workdir / f"image-{size_mib}.efi"
    _pe_hash_bench().make_image(raw, size_mib)
    signed = workdir / f"signed-{size_mib}.efi"
    run(["sbsign", "--key", str(key), "--cert", str(cert), "--output", str(signed), str(raw)])
    raw.unlink()
    with signed.open("rb+") as f:  # clean page cache state: nothing dirty left to flush
        os.fsync(f.fileno())
    return signed


def median_ms(action: Callable[[int], None], runs: int,
              between: Callable[[], None] | None = None) -> float:
    action(-1)  # warm-up
    if between:
        between()
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - start) * 1000)
        if between:
            between()
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="work directory to use and keep")
    args = parser.parse_args()
    require_peers({"cp (the reference; coreutils)": shutil.which("cp") is not None,
                   "sbsign (Debian sbsigntool)": shutil.which("sbsign") is not None,
                   "openssl (Debian openssl)": shutil.which("openssl") is not None})

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="efikit-bench-stamp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        key, cert = workdir / "k.key", workdir / "k.crt"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", "1", "-subj", "/CN=efikit bench"])
        stamps = [make_stamp("A", {"version": "1.0", "build": "bench"}),
                  make_stamp("B", {"version": "1.0", "build": "bench"})]
        efikit = [sys.executable, "-m", "efikit", "stamp", "set"]
        rows = []
        for size in SIZES_MIB:
            image = signed_image(workdir, size, key, cert)
            copy = workdir / "copy.efi"
            hash_before = authenticode_hash(image)

            def drop_copy() -> None:
                copy.unlink(missing_ok=True)

            cp_ms = median_ms(lambda i: run(["cp", str(image), str(copy)]), args.runs, drop_copy)
            def cp_durable(i: int) -> None:
                run(["cp", str(image), str(copy)])
                with copy.open("rb+") as f:
                    os.fsync(f.fileno())

            cp_sync_ms = median_ms(cp_durable, max(3, args.runs // 3), drop_copy)
            durable_ms = median_ms(lambda i: set_stamp(image, stamps[i % 2]), args.runs)
            fast_ms = median_ms(lambda i: set_stamp(image, stamps[i % 2], durable=False),
                                args.runs)
            cli_ms = median_ms(lambda i: run(efikit + [str(image), "--slot", "AB"[i % 2]]),
                               max(3, args.runs // 3))
            assert authenticode_hash(image) == hash_before
            assert read_stamp(image) is not None
            rows.append((size, cp_ms, fast_ms, cp_sync_ms, durable_ms, cli_ms))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"### efikit stamp set vs cp (medians of {args.runs} runs, warm page cache)\n")
    print("| image | cp | stamp, no fsync | ratio | cp + fsync | stamp + fsync (default) "
          "| ratio | `efikit stamp set` (whole CLI process) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, cp_ms, fast_ms, cp_sync_ms, durable_ms, cli_ms in rows:
        print(f"| {size} MiB signed | {cp_ms:.1f} ms | {fast_ms:.2f} ms | 1/{cp_ms / fast_ms:.0f} "
              f"| {cp_sync_ms:.0f} ms | {durable_ms:.2f} ms | 1/{cp_sync_ms / durable_ms:.0f} "
              f"| {cli_ms:.0f} ms |")
    small, large = rows[0], rows[-1]
    print(f"\nsize growth 8 -> 512 MiB: cp x{large[1] / small[1]:.1f}, stamp x{large[2] / small[2]:.2f} "
          f"(no fsync), x{large[4] / small[4]:.2f} (fsync)")
    print(f"target (stamp <= 1/100 of cp at 512 MiB, like for like): no fsync "
          f"{'met' if large[2] <= large[1] / 100 else 'NOT met'}, fsync "
          f"{'met' if large[4] <= large[3] / 100 else 'NOT met'}; stamp with fsync vs plain cp "
          f"1/{large[1] / large[4]:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
