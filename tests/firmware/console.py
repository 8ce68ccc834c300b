"""Key presses on OVMF's serial console: open the Boot Manager page of OVMF's setup (UiApp).

The serial port is a QEMU socket chardev (its output also goes to a log file). A thread reads
the socket all the time: a reader that falls behind makes QEMU drop console output. The
varstore's first BootOrder entry is UiApp itself (UIAPP_TEXT), so the boot reaches UiApp's front
page without racing a hotkey; Down, Down, Enter opens its Boot Manager page, which lists the
Boot#### entries the firmware offers in its menu.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from firmware import harness

# OVMF's UiApp in its DXE firmware volume: an entry with this path starts the setup pages.
UIAPP_TEXT = ("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/"
              "FvFile(462CAA21-7614-4503-836E-8AB6F4662331)")
DOWN = b"\x1b[B"  # VT100 cursor down, as OVMF's TerminalDxe reads it
ENTER = b"\r"
FRONT_PAGE = "Select Language"
BOOT_MANAGER_PAGE = "Boot Manager Menu"


class _Console:
    def __init__(self, sock: Path, log: Path) -> None:
        self.log = log
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock.connect(str(sock))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise harness.BenchError("QEMU's serial socket did not appear") from None
                time.sleep(0.05)
        self.sock.settimeout(0.2)
        self.running = True
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while self.running:
            try:
                if not self.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def text(self) -> str:
        raw = self.log.read_bytes() if self.log.exists() else b""
        return harness.ANSI_ESCAPE.sub("", raw.decode("utf-8", errors="replace"))

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline:
                raise harness.BenchError(f"{needle!r} did not show on the console:\n"
                                         + self.text()[-2000:])
            time.sleep(0.5)

    def wait_quiet(self, seconds: float, timeout: float = 60) -> None:
        """Until the console has printed nothing for ``seconds`` (a page is drawn)."""
        deadline = time.monotonic() + timeout
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.log.stat().st_size if self.log.exists() else 0
            if now != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return
            time.sleep(0.2)

    def close(self) -> None:
        self.running = False
        self.sock.close()


def boot_manager_page(disk: harness.DiskImage, varstore: Path, timeout: float = 180) -> str:
    """The console text of UiApp's Boot Manager page (everything after its title); the
    varstore's BootOrder must start with an entry for UIAPP_TEXT."""
    workdir = varstore.parent
    sock = workdir / "serial.sock"
    log = workdir / "serial-menu.log"
    for stale in (sock, log):
        if stale.exists():
            stale.unlink()
    command = harness.qemu_command(harness.PLAIN, varstore, disk, log, allow_reboot=False)
    command[command.index("-serial") + 1] = "chardev:serial0"
    command += ["-chardev", f"socket,id=serial0,path={sock},server=on,wait=off,logfile={log}"]
    with open(workdir / "qemu-menu.stderr", "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    console = None
    try:
        console = _Console(sock, log)
        console.wait_for(FRONT_PAGE, timeout)
        console.wait_quiet(2)
        for key in (DOWN, DOWN, ENTER):
            console.sock.send(key)
            console.wait_quiet(1.5)
        console.wait_for(BOOT_MANAGER_PAGE, 60)
        console.wait_quiet(3)
        text = console.text()
        return text[text.index(BOOT_MANAGER_PAGE):]
    finally:
        if console is not None:
            console.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
