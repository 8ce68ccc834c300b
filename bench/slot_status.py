#!/usr/bin/env python3
"""Benchmark: `efikit slot status` on a store with 64 boot entries vs `efibootmgr -v`.

Both read the same fake efivarfs directory (efibootmgr through EFIVARFS_PATH=dir/): 62 other
entries plus the two slot entries, BootOrder, BootCurrent and BootNext. `slot status` decodes
every entry, finds the slots and judges the state; efibootmgr only prints the entries. Rows:
`slot status` without an ESP (variables only, the work efibootmgr does), `slot status --esp DIR`
(also reads both loaders and their stamps), `--json`, and the library call in-process.
Medians of --runs runs after one warm-up; wall and CPU time. Prints a markdown table.

Usage: bench/slot_status.py [--runs N] [--entries N]
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
from efikit.slots.esp_locate import EspLocation  # noqa: E402
from efikit.slots.machine import SlotMachine  # noqa: E402
from efikit.slots.operations import plan_commit  # noqa: E402
from efikit.slots.status import read_status  # noqa: E402
from efikit.vars.efivarfs import EfivarfsStore  # noqa: E402

GUID = "0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293"
ESP = f"HD(1,GPT,{GUID},0x800,0x10000)"


def tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def populate(store: EfivarfsStore, count: int, esp_dir: Path) -> None:
    import uuid

    from efikit.disk.esp import DirectoryEsp

    manager = BootManager(store)
    for index in range(count - 2):
        path = DevicePath.from_text(f"{ESP}/\\EFI\\vendor{index:02d}\\grubx64.efi")
        option = LoadOption.create(f"Entry {index:02d}", path, active=index % 5 != 0)
        _, plan = manager.plan_add(option)
        manager.apply(plan)
    location = EspLocation("bench", 1, uuid.UUID(GUID), 0x800, 0x10000, 512)
    machine = SlotMachine(store, DirectoryEsp(esp_dir), location)
    plan_commit(machine, running="A").apply(store, machine.esp)
    a = machine.slot_entries()["A"][0].number
    b = machine.slot_entries()["B"][0].number
    manager.apply(manager.plan_next(b))
    store.set("BootCurrent", manager.vendor, a.to_bytes(2, "little"))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    wall, cpu = [], []
    for attempt in range(runs + 1):
        before = _child_cpu()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        elapsed = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        if attempt:
            wall.append(elapsed)
            cpu.append((_child_cpu() - before) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--entries", type=int, default=64)
    args = parser.parse_args()
    efikit = tool("efikit")
    base = [efikit] if efikit else [sys.executable, "-m", "efikit"]
    efibootmgr = shutil.which("efibootmgr")
    with tempfile.TemporaryDirectory(prefix="efikit-bench-") as tmp:
        efivars = Path(tmp) / "efivars"
        efivars.mkdir()
        esp = Path(tmp) / "esp"
        (esp / "EFI" / "metropolis").mkdir(parents=True)
        for slot in "ab":
            shutil.copyfile(REPO / "fixtures" / "pe" / f"boot-{slot}.efi",
                            esp / "EFI" / "metropolis" / f"boot-{slot}.efi")
        store = EfivarfsStore(efivars)
        populate(store, args.entries, esp)
        env = dict(os.environ, EFIVARFS_PATH=f"{efivars}/")
        rows: list[tuple[str, float, float]] = []
        if efibootmgr:
            rows.append(("`efibootmgr -v` (peer)", *time_command([efibootmgr, "-v"], env,
                                                                 args.runs)))
        status = [*base, "--vars", str(efivars), "slot", "status"]
        rows.append(("`efikit slot status`", *time_command(status, env, args.runs)))
        rows.append(("`efikit slot status --json`",
                     *time_command([*status, "--json"], env, args.runs)))
        rows.append(("`efikit slot status --esp DIR` (+ loaders, stamps)",
                     *time_command([*status, "--esp", str(esp)], env, args.runs)))
        library = []
        for attempt in range(args.runs + 1):
            start = time.perf_counter()
            read_status(SlotMachine(EfivarfsStore(efivars)))
            if attempt:
                library.append((time.perf_counter() - start) * 1000)
        lib_ms = statistics.median(library)
        rows.append(("library `read_status()` in-process", lib_ms, lib_ms))
    peer = rows[0][1] if efibootmgr else None
    print(f"{args.entries} boot entries on a fake efivarfs, median of {args.runs} runs\n")
    print("| command | wall ms | CPU ms | wall vs efibootmgr |")
    print("| --- | ---: | ---: | ---: |")
    for name, wall, cpu in rows:
        ratio = f"{wall / peer:.2f}x" if peer else "n/a"
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {ratio} |")
    if not efibootmgr:
        print("\n(efibootmgr not installed: no peer row)")


if __name__ == "__main__":
    main()
