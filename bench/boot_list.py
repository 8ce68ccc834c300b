#!/usr/bin/env python3
"""Benchmark: `efikit boot list -v` on a store with 64 boot entries.

One run compares, on the same 64 entries:
  * efikit on a fake efivarfs directory vs `efibootmgr -v` on that directory (EFIVARFS_PATH);
  * efikit on an edk2 .fd (a copy of OVMF_VARS_4M.fd) vs `virt-fw-vars -i X --print`;
  * `efikit boot list` (no -v) vs `python3 -c 'import click'`: the start-up floor of any click
    CLI (target: efikit within 2x);
and checks with `python -X importtime` that pefile and asn1crypto are not imported on this path.
Medians of --runs runs (after one warm-up). Prints a markdown table.

Usage: bench/boot_list.py [--runs N] [--entries N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import add_vendor_entries, efikit_command, require_peers, time_command, tool

from efikit.boot import BootManager
from efikit.vars.edk2 import Edk2Store
from efikit.vars.efivarfs import EfivarfsStore

OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
ESP = "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)"
HEAVY = ("pefile", "asn1crypto")


def populate(manager: BootManager, count: int) -> None:
    add_vendor_entries(manager, count, ESP, with_data=True)
    manager.apply(manager.plan_timeout(5) + manager.plan_next(3))


def heavy_imports(argv: list[str], env: dict[str, str]) -> tuple[list[str], int]:
    """Top-level heavy packages imported (per -X importtime) and the total import time (us)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env,
                          capture_output=True, text=True)
    found: set[str] = set()
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = [f.strip() for f in line[len("import time:"):].split("|")]
        if not fields[0].isdigit():
            continue
        module = fields[2].strip()
        if module.split(".")[0] in HEAVY:
            found.add(module.split(".")[0])
        if not line[len("import time:"):].split("|")[2].startswith("  "):
            total += int(fields[1])  # cumulative time of top-level imports
    return sorted(found), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--entries", type=int, default=64)
    args = parser.parse_args()

    efikit_cmd = efikit_command()
    efibootmgr, virt = shutil.which("efibootmgr"), tool("virt-fw-vars")
    require_peers({"efibootmgr (Debian efibootmgr)": efibootmgr is not None,
                   "virt-fw-vars (PyPI virt-firmware)": virt is not None,
                   f"{OVMF_VARS} (Debian ovmf)": OVMF_VARS.exists()})
    assert efibootmgr is not None and virt is not None
    with tempfile.TemporaryDirectory(prefix="efikit-bench-") as tmp:
        efivars = Path(tmp) / "efivars"
        efivars.mkdir()
        populate(BootManager(EfivarfsStore(efivars)), args.entries)
        fd = Path(tmp) / "OVMF_VARS_4M.fd"
        shutil.copyfile(OVMF_VARS, fd)
        populate(BootManager(Edk2Store.open(fd)), args.entries)
        env = dict(os.environ, EFIVARFS_PATH=f"{efivars}/")
        env.pop("EFIKIT_VARS", None)

        rows: list[tuple[str, float, float, str]] = []
        cpu_of: dict[str, float] = {}

        def measure(label: str, argv: list[str], expect_entries: bool = True) -> float:
            ms, cpu_ms, out = time_command(argv, env, args.runs)
            cpu_of[label] = cpu_ms
            if expect_entries:
                listed = sum(1 for line in out.splitlines() if line.startswith("Boot")
                             and line[4:8].isalnum() and line[8:9] in ("*", " "))
                note = f"{listed} entries listed"
                if listed < args.entries and "virt-fw-vars" not in label:
                    raise SystemExit(f"{label}: listed {listed} of {args.entries} entries")
            else:
                note = ""
            rows.append((label, ms, cpu_ms, note))
            return ms

        click_ms = measure("python3 -c 'import click' (floor)",
                           [sys.executable, "-c", "import click"], expect_entries=False)
        plain_ms = measure("efikit boot list (efivarfs dir)",
                           [*efikit_cmd, "--vars", str(efivars), "boot", "list"])
        verbose_ms = measure("efikit boot list -v (efivarfs dir)",
                             [*efikit_cmd, "--vars", str(efivars), "boot", "list", "-v"])
        ebm_ms = measure("efibootmgr -v (same dir, EFIVARFS_PATH)", [efibootmgr, "-v"])
        fd_ms = measure("efikit boot list -v (edk2 .fd)",
                        [*efikit_cmd, "--vars", str(fd), "boot", "list", "-v"])
        virt_ms = measure("virt-fw-vars -i X.fd --print (same .fd)",
                          [virt, "-i", str(fd), "--print"], expect_entries=False)
        rows[-1] = (*rows[-1][:3], "prints every variable")

        heavy, _ = heavy_imports(["-m", "efikit", "--vars", str(efivars), "boot", "list", "-v"],
                                 env)

    print(f"`efikit boot list` with {args.entries} entries; medians of {args.runs} runs (ms); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| command | wall ms | CPU ms | wall ratio | CPU ratio | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    click_label = "python3 -c 'import click' (floor)"
    refs = {
        "efikit boot list (efivarfs dir)": (click_label, "vs import click"),
        "efikit boot list -v (efivarfs dir)": ("efibootmgr -v (same dir, EFIVARFS_PATH)",
                                               "vs efibootmgr -v"),
        "efikit boot list -v (edk2 .fd)": ("virt-fw-vars -i X.fd --print (same .fd)",
                                           "vs virt-fw-vars"),
    }
    wall_of = {label: ms for label, ms, _, _ in rows}
    for label, ms, cpu_ms, note in rows:
        ref = refs.get(label)
        wall_ratio = cpu_ratio = ""
        if ref and ref[0] in wall_of:
            wall_ratio = f"{ms / wall_of[ref[0]]:.2f}x {ref[1]}"
            if cpu_of[ref[0]] > 0:
                cpu_ratio = f"{cpu_ms / cpu_of[ref[0]]:.2f}x"
        print(f"| {label} | {ms:.1f} | {cpu_ms:.1f} | {wall_ratio} | {cpu_ratio} | {note} |")
    print()
    target = plain_ms / click_ms
    print(f"- `efikit boot list` / `import click` (wall): {target:.2f}x "
          f"(target <= 2x: {'met' if target <= 2 else 'NOT met'})")
    print(f"- `efikit boot list -v` / `efibootmgr -v`: {verbose_ms / ebm_ms:.2f}x")
    print(f"- `efikit boot list -v` on .fd / `virt-fw-vars --print`: {fd_ms / virt_ms:.2f}x")
    print(f"- heavy modules imported by `boot list -v` (python -X importtime): "
          + (", ".join(heavy) if heavy else "none (pefile, asn1crypto absent)"))
    if heavy:
        sys.exit(1)


if __name__ == "__main__":
    main()
