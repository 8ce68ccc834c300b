"""The real-firmware bench: OVMF under QEMU (TCG), optionally with swtpm and Secure Boot.

One boot = one QEMU process over a GPT disk image with an ESP and a copy of an OVMF varstore.
The probe loader (fixtures/loader) reports facts as ``EFIKIT-PROBE key=value`` lines on the
serial console; `boot()` returns them per probe run together with the whole serial log, and
leaves the varstore as the firmware wrote it.

Nothing here writes EFI variables: scenarios edit the varstore copy with efikit.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Iterable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
LOADER_DIR = REPO_ROOT / "fixtures" / "loader"
PROBE_EFI = LOADER_DIR / "build" / "probe.efi"

OVMF_DIR = Path("/usr/share/OVMF")
SNAKEOIL_KEY = Path("/usr/share/ovmf/PkKek-1-snakeoil.key")
SNAKEOIL_CERT = Path("/usr/share/ovmf/PkKek-1-snakeoil.pem")
SNAKEOIL_PASSWORD = "snakeoil"

QEMU = "qemu-system-x86_64"
BENCH_TOOLS = (QEMU, "swtpm", "sgdisk", "mformat", "mmd", "mcopy", "make", "gcc")

PROBE_PREFIX = "EFIKIT-PROBE "
PROBE_LINE = re.compile(r"EFIKIT-PROBE ([A-Za-z0-9_]+)=([^\r\n]*)")
# The serial console is a terminal: strip the ANSI escape sequences OVMF's TerminalDxe sends.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]")
#: edk2's boot manager refusing a loader under Secure Boot (a stop_on pattern for boot())
SECURE_BOOT_REFUSED = (r'BdsDxe: failed to load Boot[0-9A-F]{4} "[^"]*" from [^\n]*: '
                       r'(Access Denied|Security Violation)')

# The disk layout every scenario shares: one ESP, partition 1, at a known place and GUID.
SECTOR = 512
ESP_PART_NUMBER = 1
ESP_PART_GUID = "0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293"
ESP_TYPE_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ESP_START_LBA = 2048
ESP_SIZE_LBA = 65536  # 32 MiB
DISK_SIZE_BYTES = (ESP_START_LBA + ESP_SIZE_LBA + 2048) * SECTOR
ESP_OFFSET_BYTES = ESP_START_LBA * SECTOR
# With -nodefaults the only PCI device in slot 1 is our virtio-blk disk.
DISK_DEVICE_TEXT = "PciRoot(0x0)/Pci(0x1,0x0)"
ESP_HD_TEXT = f"HD({ESP_PART_NUMBER},GPT,{ESP_PART_GUID},{hex(ESP_START_LBA)},{hex(ESP_SIZE_LBA)})"

SLOT_A_PATH = "\\EFI\\metropolis\\boot-a.efi"
SLOT_B_PATH = "\\EFI\\metropolis\\boot-b.efi"
FALLBACK_PATH = "\\EFI\\BOOT\\BOOTX64.EFI"


class BenchError(RuntimeError):
    """The bench itself failed (a tool, not the firmware under test)."""


@dataclass(frozen=True)
class Firmware:
    """One OVMF build: the read-only code flash and the varstore template it pairs with."""

    name: str
    code: Path
    vars_template: Path
    secure_boot: bool

    def missing_files(self) -> list[Path]:
        return [p for p in (self.code, self.vars_template) if not p.exists()]


PLAIN = Firmware("plain", OVMF_DIR / "OVMF_CODE_4M.fd", OVMF_DIR / "OVMF_VARS_4M.fd", False)
SECURE = Firmware(
    "secure-boot", OVMF_DIR / "OVMF_CODE_4M.secboot.fd", OVMF_DIR / "OVMF_VARS_4M.snakeoil.fd", True
)


def run(args: Sequence[str | os.PathLike[str]], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """Runs a bench tool; a failure is a BenchError naming the command and its stderr."""
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    proc = subprocess.run([str(a) for a in args], capture_output=True, env=env, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise BenchError(
            f"{' '.join(str(a) for a in args)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc  # type: ignore[no-any-return]


def build_probe() -> Path:
    """`make -C fixtures/loader`, serialized across pytest-xdist workers by a file lock."""
    (LOADER_DIR / "build").mkdir(exist_ok=True)
    with open(LOADER_DIR / "build" / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run(["make", "-s", "-C", LOADER_DIR])
    return PROBE_EFI


# --- signing -----------------------------------------------------------------------------------

def snakeoil_key_pem(workdir: Path) -> Path:
    """The snakeoil key without its password (sbsign cannot take one)."""
    out = workdir / "snakeoil.key"
    if not out.exists():
        run(["openssl", "rsa", "-in", SNAKEOIL_KEY, "-passin", f"pass:{SNAKEOIL_PASSWORD}", "-out", out])
    return out


def sbsign(src: Path, dest: Path, workdir: Path) -> Path:
    run(["sbsign", "--key", snakeoil_key_pem(workdir), "--cert", SNAKEOIL_CERT, "--output", dest, src])
    return dest


def pesign_hash(path: Path, padded: bool = False) -> str:
    """`pesign -h` (the Authenticode SHA-256 as edk2 measures it), lower-case hex."""
    args = ["pesign", "-h", "-i", path] + (["-P"] if padded else [])
    out = run(args).stdout.decode()
    match = re.search(r"\b([0-9a-fA-F]{64})\b", out)
    if not match:
        raise BenchError(f"no hash in pesign output: {out!r}")
    return match.group(1).lower()


# --- the disk image ----------------------------------------------------------------------------

def _esp_parts(esp_path: str) -> list[str]:
    parts = [p for p in PureWindowsPath(esp_path.replace("/", "\\")).parts if p not in ("\\", "/")]
    if not parts:
        raise BenchError(f"empty ESP path: {esp_path!r}")
    return parts


@dataclass(frozen=True)
class DiskImage:
    """A raw GPT disk image with one FAT ESP (partition 1, ESP_PART_GUID)."""

    path: Path

    @property
    def _image(self) -> str:
        return f"{self.path}@@{ESP_OFFSET_BYTES}"

    @classmethod
    def create(cls, path: Path, files: Mapping[str, Path | bytes] = {},
               esp_size_lba: int = ESP_SIZE_LBA) -> DiskImage:
        """A sparse image; ``esp_size_lba`` other than the default moves ESP_HD_TEXT's size."""
        with open(path, "wb") as f:
            f.truncate((ESP_START_LBA + esp_size_lba + 2048) * SECTOR)
        run([
            "sgdisk", "-o",
            "-n", f"{ESP_PART_NUMBER}:{ESP_START_LBA}:{ESP_START_LBA + esp_size_lba - 1}",
            "-t", f"{ESP_PART_NUMBER}:EF00",
            "-u", f"{ESP_PART_NUMBER}:{ESP_PART_GUID}",
            "-c", f"{ESP_PART_NUMBER}:EFI System Partition",
            path,
        ])
        # -T bounds the file system to the partition; -h/-s are a geometry mtools accepts.
        run(["mformat", "-i", f"{path}@@{ESP_OFFSET_BYTES}", "-T", str(esp_size_lba),
             "-h", "64", "-s", "32", "-v", "ESP", "::"])
        disk = cls(path)
        for esp_path, content in files.items():
            disk.write_file(esp_path, content)
        return disk

    def mkdirs(self, parts: Iterable[str]) -> None:
        existing = self.listdir_names("::/")
        current = ""
        for part in parts:
            current = f"{current}/{part}"
            if part.upper() not in existing:
                run(["mmd", "-i", self._image, f"::{current}"])
            existing = self.listdir_names(f"::{current}")

    def listdir_names(self, mtools_dir: str) -> set[str]:
        proc = subprocess.run(["mdir", "-b", "-i", self._image, mtools_dir], capture_output=True,
                              env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
        if proc.returncode != 0:
            return set()
        return {line.rstrip("/").rsplit("/", 1)[-1].upper()
                for line in proc.stdout.decode(errors="replace").splitlines() if line.strip()}

    def write_file(self, esp_path: str, content: Path | bytes) -> None:
        """Writes (or replaces) a file on the ESP, creating its directories."""
        parts = _esp_parts(esp_path)
        self.mkdirs(parts[:-1])
        target = "::/" + "/".join(parts)
        if isinstance(content, bytes):
            tmp = self.path.with_suffix(".upload")
            tmp.write_bytes(content)
            try:
                run(["mcopy", "-o", "-i", self._image, tmp, target])
            finally:
                tmp.unlink()
        else:
            run(["mcopy", "-o", "-i", self._image, content, target])

    def read_file(self, esp_path: str) -> bytes:
        return run(["mcopy", "-n", "-i", self._image, "::/" + "/".join(_esp_parts(esp_path)), "-"]).stdout

    def exists(self, esp_path: str) -> bool:
        parts = _esp_parts(esp_path)
        directory = "::/" + "/".join(parts[:-1])
        return parts[-1].upper() in self.listdir_names(directory)


def fresh_varstore(firmware: Firmware, dest: Path) -> Path:
    shutil.copyfile(firmware.vars_template, dest)
    return dest


# --- one boot ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProbeRun:
    """What one run of the probe printed: its facts in order (a key may repeat, e.g. tcg2_app)."""

    lines: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        for k, v in self.lines:
            if k == key:
                return v
        return None

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(f"probe did not report {key!r}; it reported {[k for k, _ in self.lines]}")
        return value

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.lines if k == key]

    @property
    def complete(self) -> bool:
        return self.get("end") == "1"

    def numbers(self, key: str) -> list[int]:
        """A comma-separated list of hex variable numbers (bootorder), [] for none."""
        value = self[key]
        return [] if value in ("none", "") else [int(x, 16) for x in value.split(",")]

    def number(self, key: str) -> int | None:
        """One hex variable number (bootcurrent, bootnext), None when the variable was absent."""
        value = self[key]
        return None if value == "none" else int(value, 16)

    def tcg2_apps(self) -> list[tuple[str, str]]:
        """(sha256 hex, device path text) of each PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION event."""
        out = []
        for value in self.all("tcg2_app"):
            digest, _, path = value.partition(" ")
            out.append((digest.lower(), path))
        return out


@dataclass(frozen=True)
class BootResult:
    serial: str  # the whole serial log, escape sequences removed
    runs: tuple[ProbeRun, ...]  # one per probe start (several when the machine reset)
    varstore: Path  # the varstore as the firmware left it
    timed_out: bool  # the hard timeout, not a stop pattern, ended QEMU
    stopped_on: str | None  # the stop pattern that ended QEMU, if any
    seconds: float

    @property
    def probe(self) -> ProbeRun:
        """The single probe run of this boot; fails when there was none or several."""
        if len(self.runs) != 1:
            raise AssertionError(f"expected one probe run, got {len(self.runs)}; serial log:\n{self.tail()}")
        return self.runs[0]

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.serial.splitlines()[-n:])

    def bds_lines(self) -> list[str]:
        return [line for line in self.serial.splitlines() if line.startswith("BdsDxe:")]


def parse_serial(raw: bytes) -> tuple[str, tuple[ProbeRun, ...]]:
    text = ANSI_ESCAPE.sub("", raw.decode("utf-8", errors="replace")).replace("\r", "")
    runs: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        match = PROBE_LINE.search(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).rstrip()
        if key == "begin" or not runs:
            runs.append([])
        if key != "begin":
            runs[-1].append((key, value))
    return text, tuple(ProbeRun(tuple(r)) for r in runs)


class _Swtpm:
    """A swtpm TPM 2.0 for one QEMU run; its state directory may persist across boots."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.socket = state_dir / "swtpm.sock"
        if self.socket.exists():
            self.socket.unlink()
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpmstate", f"dir={state_dir}", "--tpm2",
             "--ctrl", f"type=unixio,path={self.socket}", "--terminate"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError("swtpm did not start")
            time.sleep(0.05)

    def qemu_args(self) -> list[str]:
        return ["-chardev", f"socket,id=chrtpm,path={self.socket}",
                "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def qemu_command(firmware: Firmware, varstore: Path, disk: DiskImage, serial_log: Path,
                 allow_reboot: bool, memory_mib: int = 256) -> list[str]:
    machine = "q35,smm=on" if firmware.secure_boot else "q35"
    args = [
        QEMU, "-machine", machine, "-accel", "tcg", "-m", str(memory_mib), "-smp", "1",
        "-nodefaults", "-display", "none", "-serial", f"file:{serial_log}",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={firmware.code}",
        "-drive", f"if=pflash,format=raw,unit=1,file={varstore}",
        "-drive", f"file={disk.path},format=raw,if=none,id=disk0,cache=writeback",
        "-device", "virtio-blk-pci,drive=disk0",
    ]
    if firmware.secure_boot:
        args += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
    if not allow_reboot:
        args.append("-no-reboot")
    return args


def boot(
    disk: DiskImage,
    varstore: Path,
    *,
    firmware: Firmware = PLAIN,
    tpm_state: Path | None = None,
    timeout: float = 120.0,
    allow_reboot: bool = False,
    stop_on: Sequence[str] = (),
    stop_after_runs: int | None = None,
    serial_log: Path | None = None,
    memory_mib: int = 256,
    qemu_args: Sequence[str] = (),
) -> BootResult:
    """Boots the machine once (or through resets when allow_reboot) and returns what happened.

    QEMU ends by itself when the probe shuts the machine down (or resets it, with -no-reboot).
    It is killed when a `stop_on` regex shows up on the serial log, when `stop_after_runs`
    probe runs have completed (or one reported action=hang), or at the hard `timeout`.
    `qemu_args` are appended to the command line (the Linux guest's 9p shares).
    """
    serial_log = serial_log or varstore.with_suffix(".serial.log")
    if serial_log.exists():
        serial_log.unlink()
    patterns = [re.compile(p) for p in stop_on]
    tpm = _Swtpm(tpm_state) if tpm_state is not None else None
    start = time.monotonic()
    timed_out = False
    stopped_on: str | None = None
    try:
        cmd = qemu_command(firmware, varstore, disk, serial_log, allow_reboot, memory_mib)
        cmd += list(qemu_args)
        if tpm:
            cmd += tpm.qemu_args()
        err_log = serial_log.with_suffix(".qemu-stderr.log")
        with open(err_log, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                raw = serial_log.read_bytes() if serial_log.exists() else b""
                text, runs = parse_serial(raw)
                hit = next((p.pattern for p in patterns if p.search(text)), None)
                if runs and runs[-1].complete and runs[-1].get("action") == "hang":
                    hit = "action=hang"
                if stop_after_runs is not None and sum(r.complete for r in runs) >= stop_after_runs:
                    hit = f"{stop_after_runs} probe run(s)"
                if hit:
                    stopped_on = hit
                    break
                if time.monotonic() - start > timeout:
                    timed_out = True
                    break
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        stderr = err_log.read_text(errors="replace")
        if proc.returncode not in (0, -signal.SIGTERM) and not (timed_out or stopped_on):
            raise BenchError(f"QEMU failed ({proc.returncode}): {stderr.strip()}")
    finally:
        if tpm:
            tpm.stop()
    text, runs = parse_serial(serial_log.read_bytes() if serial_log.exists() else b"")
    return BootResult(text, runs, varstore, timed_out, stopped_on, time.monotonic() - start)
