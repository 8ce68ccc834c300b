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
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from _common import REPO, add_vendor_entries, efikit_command, require_peers, time_command

from efikit.boot import BootManager
from efikit.disk.esp import DirectoryEsp
from efikit.slots.esp_locate import EspLocation
from efikit.slots.machine import SlotMachine
from efikit.slots.operations import plan_commit
from efikit.slots.status import read_status
from efikit.vars.efivarfs import EfivarfsStore

GUID = "0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293"
ESP = f"HD(1,GPT,{GUID},0x800,0x10000)"


def populate(store: EfivarfsStore, count: int, esp_dir: Path) -> None:
    manager = BootManager(store)
    add_vendor_entries(manager, count - 2, ESP)
    location = EspLocation("bench", 1, uuid.UUID(GUID), 0x800, 0x10000, 512)
    machine = SlotMachine(store, DirectoryEsp(esp_dir), location)
    plan_commit(machine, running="A").apply(store, machine.esp)
    a = machine.slot_entries()["A"][0].number
    b = machine.slot_entries()["B"][0].number
    manager.apply(manager.plan_next(b))
    store.set("BootCurrent", manager.vendor, a.to_bytes(2, "little"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--entries", type=int, default=64)
    args = parser.parse_args()
    base = efikit_command()
    efibootmgr = shutil.which("efibootmgr")
    require_peers({"efibootmgr (Debian efibootmgr)": efibootmgr is not None})
    assert efibootmgr is not None
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

        def measure(label: str, argv: list[str]) -> None:
            wall, cpu, _ = time_command(argv, env, args.runs)
            rows.append((label, wall, cpu))

        measure("`efibootmgr -v` (peer)", [efibootmgr, "-v"])
        status = [*base, "--vars", str(efivars), "slot", "status"]
        measure("`efikit slot status`", status)
        measure("`efikit slot status --json`", [*status, "--json"])
        measure("`efikit slot status --esp DIR` (+ loaders, stamps)", [*status, "--esp", str(esp)])
        library = []
        for attempt in range(args.runs + 1):
            start = time.perf_counter()
            read_status(SlotMachine(EfivarfsStore(efivars)))
            if attempt:
                library.append((time.perf_counter() - start) * 1000)
        lib_ms = statistics.median(library)
        rows.append(("library `read_status()` in-process", lib_ms, lib_ms))
    peer = rows[0][1]
    print(f"{args.entries} boot entries on a fake efivarfs, median of {args.runs} runs\n")
    print("| command | wall ms | CPU ms | wall vs efibootmgr |")
    print("| --- | ---: | ---: | ---: |")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / peer:.2f}x |")


if __name__ == "__main__":
    main()
