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
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from efikit.boot import BootManager  # noqa: E402
from efikit.codec.devpath import DevicePath  # noqa: E402
from efikit.codec.loadoption import LoadOption  # noqa: E402
from efikit.vars.edk2 import Edk2Store  # noqa: E402
from efikit.vars.efivarfs import EfivarfsStore  # noqa: E402

OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
ESP = "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)"
HEAVY = ("pefile", "asn1crypto")


def tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def populate(manager: BootManager, count: int) -> None:
    for index in range(count):
        path = DevicePath.from_text(f"{ESP}/\\EFI\\vendor{index:02d}\\grubx64.efi")
        data = f"root=/dev/sda{index % 8} quiet".encode("utf-16-le") if index % 2 else b""
        option = LoadOption.create(f"Entry {index:02d}", path, data, active=index % 5 != 0)
        _, plan = manager.plan_add(option)
        manager.apply(plan)
    manager.apply(manager.plan_timeout(5) + manager.plan_next(3))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], env: dict[str, str],
                 runs: int) -> tuple[float, float, str]:
    """Median wall and CPU (user+sys) time in ms; one untimed warm-up; last run's output.
    CPU time is reported too because wall time on a shared machine swings with its load."""
    out = ""
    wall, cpu = [], []
    for attempt in range(runs + 1):
        cpu_before = _child_cpu()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        elapsed = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        out = done.stdout
        if attempt:
            wall.append(elapsed)
            cpu.append((_child_cpu() - cpu_before) * 1000)
    return statistics.median(wall), statistics.median(cpu), out


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

    efikit = tool("efikit")
    efikit_cmd = [efikit] if efikit else [sys.executable, "-m", "efikit"]
    with tempfile.TemporaryDirectory(prefix="efikit-bench-") as tmp:
        efivars = Path(tmp) / "efivars"
        efivars.mkdir()
        populate(BootManager(EfivarfsStore(efivars)), args.entries)
        fd = Path(tmp) / "OVMF_VARS_4M.fd"
        have_fd = OVMF_VARS.exists()
        if have_fd:
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
        efibootmgr = shutil.which("efibootmgr")
        ebm_ms = None
        if efibootmgr:
            ebm_ms = measure("efibootmgr -v (same dir, EFIVARFS_PATH)", [efibootmgr, "-v"])
        fd_ms = virt_ms = None
        if have_fd:
            fd_ms = measure("efikit boot list -v (edk2 .fd)",
                            [*efikit_cmd, "--vars", str(fd), "boot", "list", "-v"])
            virt = tool("virt-fw-vars")
            if virt:
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
    print(f"- `efikit boot list -v` / `efibootmgr -v`: "
          + (f"{verbose_ms / ebm_ms:.2f}x" if ebm_ms else "efibootmgr missing"))
    if fd_ms and virt_ms:
        print(f"- `efikit boot list -v` on .fd / `virt-fw-vars --print`: {fd_ms / virt_ms:.2f}x")
    print(f"- heavy modules imported by `boot list -v` (python -X importtime): "
          + (", ".join(heavy) if heavy else "none (pefile, asn1crypto absent)"))
    if heavy:
        sys.exit(1)


if __name__ == "__main__":
    main()
