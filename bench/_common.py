"""Helpers shared by the benchmarks (not a benchmark: run_all.py skips files named _*)."""
from __future__ import annotations

import importlib.util
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from efikit.boot import BootManager  # noqa: E402
from efikit.codec.devpath import DevicePath  # noqa: E402
from efikit.codec.loadoption import LoadOption  # noqa: E402


def tool(name: str) -> str | None:
    """A console script beside the running interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def require_peers(peers: dict[str, bool]) -> None:
    """End the run (exit status 1) when a peer the benchmark compares against is missing.

    ``peers`` maps "what (where it comes from)" to whether it was found. A benchmark that left
    a peer out would print a table without it and verdicts over the peers that remain."""
    missing = [name for name, found in peers.items() if not found]
    if missing:
        raise SystemExit(f"{Path(sys.argv[0]).name}: missing peer(s): {'; '.join(missing)} "
                         "(make debs installs the Debian ones, make install-test the PyPI ones)")


def have_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def faster_than_all(value: float, peers: Sequence[float]) -> str:
    """Verdict of "``value`` beats every peer": with no peer measured there is nothing beaten."""
    if not peers:
        return "NO (no peer measured)"
    return "yes" if all(value < peer for peer in peers) else "NO"


def efikit_command() -> list[str]:
    """How to start efikit: its console script, else ``python -m efikit``."""
    efikit = tool("efikit")
    return [efikit] if efikit else [sys.executable, "-m", "efikit"]


def add_vendor_entries(manager: BootManager, count: int, esp: str,
                       with_data: bool = False) -> None:
    """``count`` Boot#### entries ``Entry NN`` for ``ESP/\\EFI\\vendorNN\\grubx64.efi``; every
    fifth inactive; with ``with_data`` every second one carries UCS-2 optional data."""
    for index in range(count):
        path = DevicePath.from_text(f"{esp}/\\EFI\\vendor{index:02d}\\grubx64.efi")
        data = b""
        if with_data and index % 2:
            data = f"root=/dev/sda{index % 8} quiet".encode("utf-16-le")
        option = LoadOption.create(f"Entry {index:02d}", path, data, active=index % 5 != 0)
        _, plan = manager.plan_add(option)
        manager.apply(plan)


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
