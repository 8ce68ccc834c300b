"""Progress for long operations: on a terminal only, never in a pipe or with --json."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from efikit.pe.authenticode import authenticode_hash

REPO = Path(__file__).resolve().parents[1]
EFIKIT = Path(sys.executable).parent / "efikit"


def big_loader(tmp_path: Path) -> Path:
    """An unsigned loader with 20 MiB of trailing data (hashed, as edk2 does)."""
    path = tmp_path / "big.efi"
    data = (REPO / "fixtures" / "pe" / "loader-unsigned.efi").read_bytes()
    path.write_bytes(data + bytes(20 * 1024 * 1024))
    return path


def run_with_tty_stderr(*args: str) -> tuple[int, str, str]:
    """Run efikit with stderr on a pseudo-terminal; stdout stays a pipe."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(EFIKIT), *args], stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    stdout = process.stdout.read().decode() if process.stdout else ""
    os.close(controller)
    return process.wait(), stdout, seen.decode()


def test_library_reports_progress_up_to_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    digest = authenticode_hash(big_loader(tmp_path), progress=lambda d, t: calls.append((d, t)))
    assert digest == authenticode_hash(big_loader(tmp_path))
    totals = {t for _, t in calls}
    assert len(totals) == 1 and calls[-1][0] == totals.pop() > 20 * 1024 * 1024
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_pe_hash_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    loader = big_loader(tmp_path)
    code, stdout, terminal = run_with_tty_stderr("pe", "hash", str(loader))
    assert code == 0 and stdout.endswith(f"  {loader}\n")
    assert f"\rhashing {loader}: 100% (20/20 MiB)" in terminal
    assert terminal.endswith("\r\x1b[K")  # the line is erased at the end
    code, stdout, terminal = run_with_tty_stderr("pe", "hash", "--json", str(loader))
    assert code == 0 and '"digest"' in stdout and terminal == ""
    piped = subprocess.run([str(EFIKIT), "pe", "hash", str(loader)], capture_output=True,
                           text=True)
    assert piped.returncode == 0 and piped.stderr == ""


def test_no_progress_for_small_files_on_a_terminal() -> None:
    code, _, terminal = run_with_tty_stderr(
        "pe", "hash", str(REPO / "fixtures" / "pe" / "loader-unsigned.efi"))
    assert code == 0 and terminal == ""
