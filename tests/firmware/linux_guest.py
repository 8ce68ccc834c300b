"""A real Linux on the firmware bench: Debian's kernel booted by OVMF, efikit run inside it.

The guest is built from Debian packages and cached in ``build/linux-guest`` (ignored by git),
keyed by the kernel package's version:

- the kernel: ``linux-image-<abi>-amd64`` (the one ``linux-image-amd64`` depends on), fetched
  with ``apt-get download`` and unpacked with ``dpkg-deb`` (only vmlinuz and the modules the
  guest loads);
- an initramfs: ``busybox-static``, those modules (dependencies from each module's own
  ``depends=`` field: the package ships no modules.dep) and ``GUEST_INIT``;
- per slot a unified kernel image (systemd-stub + kernel + initramfs + command line): the slot's
  loader is a file that starts its own slot's system, with ``METROPOLIS-SYSTEM-X`` filled in
  for that slot, as the seed's loader did. Entries need no optional data, so entries that
  ``slot recover`` rebuilds from the files alone boot too.

The guest mounts the host's root read-only over 9p and the test's share (read-write) at the same
path it has on the host, mounts proc, sysfs, efivarfs, devtmpfs, a tmpfs on /run and the ESP at
``GUEST_ESP_MOUNT``, then runs the share's ``step.sh`` in a chroot of the host root (so the
project's venv works at its own path) and powers off. Each command of a step leaves its exit
code, stdout and stderr in the share; what the firmware booted (BootCurrent, the kernel command
line) is printed on the serial console by the init itself.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from firmware import harness

CACHE = harness.REPO_ROOT / "build" / "linux-guest"
#: busybox-static's binary (EFIKIT_GUEST_BUSYBOX names another static busybox)
BUSYBOX = Path(os.environ.get("EFIKIT_GUEST_BUSYBOX", "/bin/busybox"))
SYSTEMD_STUB = Path("/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
GUEST_TOOLS = ("apt-get", "apt-cache", "dpkg-deb", "objcopy")

#: the modules the guest loads, in this order after their dependencies
GUEST_MODULES = ("virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "efivarfs", "vfat",
                 "nls_cp437", "nls_ascii")
GUEST_ESP_MOUNT = "/run/esp"
GUEST_ESP_DEVICE = "/dev/vda1"
ESP_SIZE_LBA = 262144  # 128 MiB: three ~10 MiB loaders and room to stage a new one
PLACEHOLDER = "METROPOLIS-SYSTEM-X"
GUEST_LINE = re.compile(r"EFIKIT-GUEST ([a-z_]+)=([^\r\n]*)")

GUEST_INIT = r"""#!/bin/sh
# efikit's guest init: host root (9p, ro) + the test's share, mounts, step.sh, power off.
export PATH=/bin
say() { echo "EFIKIT-GUEST $*"; }
die() { say "error=$*"; sync; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "init=$(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /etc/efikit-modules); do insmod "/lib/modules/$m.ko" || say "insmod_failed=$m"; done
mkdir -p /share /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /share || die "mount share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro,cache=loose hostroot /host || die "mount host"
SHARE=$(cat /share/host-path)
ESP=@ESP@
mount -t proc proc /host/proc || die "mount proc"
mount -t sysfs sysfs /host/sys || die "mount sysfs"
mount -t efivarfs efivarfs /host/sys/firmware/efi/efivars || die "mount efivarfs"
mount -t devtmpfs devtmpfs /host/dev || die "mount dev"
mount -t tmpfs tmpfs /host/run || die "mount run"
mount -o bind /share "/host$SHARE" || die "bind share"
i=0; while [ ! -b @DEVICE@ ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
mkdir -p "/host$ESP"
mount -t vfat @DEVICE@ "/host$ESP" || die "mount esp"
say "cmdline=$(cat /proc/cmdline)"
bc=/host/sys/firmware/efi/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c
if [ -e $bc ]; then say "bootcurrent=$(od -An -tx1 $bc | tr -d ' \n')"; else say "bootcurrent=none"; fi
chroot /host /bin/sh -c "cd '$SHARE' && exec /bin/sh ./step.sh" > /share/step.log 2>&1
say "step_rc=$? uptime=$(cut -d' ' -f1 /proc/uptime)"
umount "/host$ESP" 2>/dev/null
sync
say "end=1"
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
"""


class GuestError(RuntimeError):
    """Building or running the guest failed (the bench, not efikit)."""


def _run(args: Sequence[str | os.PathLike[str]], cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, cwd=cwd,
                          env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if proc.returncode != 0:
        raise GuestError(f"{' '.join(str(a) for a in args)} failed ({proc.returncode}): "
                         f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return proc.stdout.decode(errors="replace")


# --- the kernel package ---------------------------------------------------------------------

@dataclass(frozen=True)
class KernelPackage:
    name: str
    version: str

    @property
    def key(self) -> str:
        return re.sub(r"[^A-Za-z0-9.+_-]", "_", f"{self.name}_{self.version}")


def _apt_cache(*args: str) -> str:
    try:
        return _run(["apt-cache", *args])
    except GuestError:
        return ""


def _update_lists_once() -> None:
    _run(["apt-get", "update", "-q"])


def current_kernel_package() -> KernelPackage:
    """The signed kernel ``linux-image-amd64`` depends on, and its candidate version."""
    for attempt in range(2):
        depends = _apt_cache("depends", "linux-image-amd64")
        names = re.findall(r"Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b", depends)
        if names:
            shown = _apt_cache("show", "--no-all-versions", names[0])
            version = re.search(r"^Version:\s*(\S+)", shown, re.M)
            if version:
                return KernelPackage(names[0], version.group(1))
        if attempt == 0:
            _update_lists_once()  # a fresh machine: no package lists yet
    raise GuestError("apt-cache cannot name the kernel linux-image-amd64 depends on")


def _modinfo_depends(ko: bytes) -> list[str]:
    """The ``depends=`` field of a module's .modinfo section (NUL-separated key=value)."""
    match = re.search(rb"(?:^|\x00)depends=([^\x00]*)\x00", ko)
    if not match:
        return []
    return [d for d in match.group(1).decode().split(",") if d]


def _extract(deb: Path, dest: Path, patterns: Sequence[str]) -> None:
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    proc = subprocess.run(["tar", "-x", "-C", str(dest), "--wildcards", *patterns],
                          stdin=tar.stdout, capture_output=True)
    assert tar.stdout is not None
    tar.stdout.close()
    tar.wait()
    if tar.returncode != 0 or proc.returncode != 0:
        raise GuestError(f"unpacking {deb.name} failed: {proc.stderr.decode(errors='replace')}")


@dataclass(frozen=True)
class Kernel:
    package: KernelPackage
    vmlinuz: Path
    modules: dict[str, Path]  # name -> .ko, the closure of GUEST_MODULES
    load_order: tuple[str, ...]


def _resolve(modules: Mapping[str, Path]) -> tuple[str, ...] | list[str]:
    """GUEST_MODULES and their dependencies, dependencies first; or the missing names."""
    order: list[str] = []
    missing: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        path = modules.get(name) or modules.get(name.replace("-", "_"))
        if path is None:
            missing.append(name)
            return
        for dep in _modinfo_depends(path.read_bytes()):
            visit(dep)
        order.append(name)

    for name in GUEST_MODULES:
        visit(name)
    return missing if missing else tuple(order)


def fetch_kernel() -> Kernel:
    """The kernel and the guest's modules, downloaded and unpacked once per package version."""
    package = current_kernel_package()
    root = CACHE / package.key
    root.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / ".unpacked"
        if not done.exists():
            debs = CACHE / "debs"
            debs.mkdir(exist_ok=True)
            os.chmod(debs, 0o777)  # apt's _apt sandbox user writes there
            wanted = f"{package.name}={package.version}"
            try:
                _run(["apt-get", "download", "-q", wanted], cwd=debs)
            except GuestError:
                _update_lists_once()
                _run(["apt-get", "download", "-q", wanted], cwd=debs)
            deb = next(iter(sorted(debs.glob(f"{package.name}_*.deb"), key=os.path.getmtime,
                                   reverse=True)))
            unpacked = root / "pkg"
            shutil.rmtree(unpacked, ignore_errors=True)
            unpacked.mkdir()
            # Modules by name (never all 4000 of them): the wanted ones, then what they need.
            names = set(GUEST_MODULES)
            while True:
                _extract(deb, unpacked, ["./boot/vmlinuz-*"] + [f"*/{n}.ko" for n in sorted(names)])
                found = {p.stem: p for p in unpacked.rglob("*.ko")}
                resolved = _resolve(found)
                if isinstance(resolved, tuple):
                    break
                if set(resolved) <= names:
                    raise GuestError(f"{deb.name} has no module(s) {', '.join(resolved)}")
                names |= set(resolved)
            deb.unlink()
            done.write_text(package.version)
        found = {p.stem: p for p in (root / "pkg").rglob("*.ko")}
        order = _resolve(found)
        if not isinstance(order, tuple):
            raise GuestError(f"cached kernel in {root} lacks modules {order}")
        vmlinuz = next((root / "pkg" / "boot").glob("vmlinuz-*"))
    return Kernel(package, vmlinuz, {n: found[n] for n in order}, order)


# --- the initramfs and the loaders -----------------------------------------------------------

def _is_static_elf(data: bytes) -> bool:
    """No PT_INTERP program header: the binary runs without a dynamic loader."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 3:
            return False
    return True


def _cpio_newc(entries: Sequence[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (path, mode, data); directories have mode 0o040755."""
    out = io.BytesIO()

    def member(name: str, mode: int, data: bytes, ino: int) -> None:
        encoded = name.encode() + b"\x00"
        header = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
        out.write(header.encode() + encoded)
        out.write(b"\x00" * (-(110 + len(encoded)) % 4))
        out.write(data)
        out.write(b"\x00" * (-len(data) % 4))

    for ino, (name, mode, data) in enumerate(entries, start=1):
        member(name, mode, data, ino)
    member("TRAILER!!!", 0, b"", 0)
    return out.getvalue()


def build_initramfs(kernel: Kernel, busybox: Path | None = None) -> bytes:
    busybox = busybox or BUSYBOX
    data = busybox.read_bytes()
    if not _is_static_elf(data):
        raise GuestError(f"{busybox} is not a static executable: install busybox-static")
    init = (GUEST_INIT.replace("@ESP@", GUEST_ESP_MOUNT)
            .replace("@DEVICE@", GUEST_ESP_DEVICE).encode())
    directory = 0o040755
    entries: list[tuple[str, int, bytes]] = [
        (d, directory, b"") for d in ("bin", "dev", "etc", "lib", "lib/modules", "proc", "sys",
                                     "run", "tmp")]
    entries.append(("bin/busybox", 0o100755, data))
    entries += [(f"bin/{tool}", 0o120777, b"busybox") for tool in (
        "sh", "mount", "umount", "insmod", "mkdir", "cat", "sleep", "od", "tr", "chroot", "sync",
        "poweroff", "echo", "cut")]
    entries.append(("init", 0o100755, init))
    entries.append(("etc/efikit-modules", 0o100644, "\n".join(kernel.load_order).encode()))
    entries += [(f"lib/modules/{n}.ko", 0o100644, p.read_bytes())
                for n, p in kernel.modules.items()]
    return gzip.compress(_cpio_newc(entries), compresslevel=6, mtime=0)


def slot_cmdline(slot: str, tag: str = "v1") -> str:
    """The command line slot ``slot``'s loader gives its kernel (placeholder filled in)."""
    system = PLACEHOLDER[:-1] + slot
    return (f"console=ttyS0 panic=-1 root=PARTLABEL={system} ro efikit.loader={tag} "
            "loglevel=4")


def build_uki(kernel: Kernel, initrd: Path, cmdline: str, out: Path) -> Path:
    """systemd-stub + kernel + initramfs + command line, one PE file (objcopy)."""
    import pefile

    stub = pefile.PE(str(SYSTEMD_STUB), fast_load=True)
    align = 0x10000
    base = stub.OPTIONAL_HEADER.ImageBase
    end = stub.OPTIONAL_HEADER.SizeOfImage
    stub.close()
    cmdline_file = out.with_suffix(".cmdline")
    cmdline_file.write_bytes(cmdline.encode() + b"\x00")
    args: list[str] = ["objcopy"]
    vma = (end + align - 1) // align * align
    for name, path in ((".cmdline", cmdline_file), (".linux", kernel.vmlinuz), (".initrd", initrd)):
        args += ["--add-section", f"{name}={path}", "--change-section-vma", f"{name}={base + vma:#x}"]
        vma = (vma + path.stat().st_size + align - 1) // align * align
    tmp = out.with_suffix(".tmp")
    _run(args + [str(SYSTEMD_STUB), str(tmp)])
    cmdline_file.unlink()
    tmp.replace(out)
    return out


@dataclass(frozen=True)
class GuestImages:
    """The built loaders: one per (slot, tag), all sharing one kernel and initramfs."""

    kernel: Kernel
    directory: Path

    def loader(self, slot: str, tag: str = "v1") -> Path:
        out = self.directory / f"boot-{slot.lower()}-{tag}.efi"
        if out.exists():
            return out
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not out.exists():
                build_uki(self.kernel, self.directory / "initrd.img", slot_cmdline(slot, tag), out)
        return out


def guest_images() -> GuestImages:
    # The guest cannot write bytecode (the host root is read-only there): compile efikit now,
    # or every efikit start in the guest compiles it again under TCG.
    _run([sys.executable, "-m", "compileall", "-q", str(harness.REPO_ROOT / "efikit")])
    kernel = fetch_kernel()
    init_hash = hashlib.sha256(GUEST_INIT.encode() + BUSYBOX.read_bytes()
                               + SYSTEMD_STUB.read_bytes()
                               + slot_cmdline("A").encode()).hexdigest()[:16]
    directory = CACHE / kernel.package.key / f"images-{init_hash}"
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        initrd = directory / "initrd.img"
        if not initrd.exists():
            tmp = directory / "initrd.tmp"
            tmp.write_bytes(build_initramfs(kernel))
            tmp.replace(initrd)
    return GuestImages(kernel, directory)


# --- one boot ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandResult:
    command: str
    rc: int
    stdout: str
    stderr: str

    def json(self) -> object:
        import json

        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"$ {self.command}\n[rc={self.rc}]\n{self.stdout}{self.stderr}"


@dataclass(frozen=True)
class GuestBoot:
    """One boot of the guest: what the firmware started and what the step printed."""

    boot: harness.BootResult
    facts: dict[str, str]
    results: tuple[CommandResult, ...]
    step_log: str

    @property
    def boot_current(self) -> int | None:
        """BootCurrent as the guest's kernel read it from efivarfs (attributes dropped)."""
        raw = self.facts.get("bootcurrent", "none")
        if raw == "none":
            return None
        data = bytes.fromhex(raw)
        return int.from_bytes(data[4:6], "little")

    @property
    def cmdline(self) -> str:
        return self.facts["cmdline"]

    def cmdline_value(self, key: str) -> str | None:
        for word in self.cmdline.split():
            if word.startswith(key + "="):
                return word.split("=", 1)[1]
        return None

    def __getitem__(self, index: int) -> CommandResult:
        return self.results[index]

    def report(self) -> str:
        return (f"facts: {self.facts}\n" + "\n".join(str(r) for r in self.results)
                + f"\nstep log:\n{self.step_log}\nserial tail:\n{self.boot.tail(40)}")


class LinuxGuest:
    """A machine (disk image + varstore) that boots the guest; one QEMU process per boot."""

    def __init__(self, workdir: Path, images: GuestImages, disk: harness.DiskImage,
                 varstore: Path) -> None:
        self.workdir = workdir
        self.images = images
        self.disk = disk
        self.varstore = varstore
        self.share = workdir / "share"
        self.share.mkdir(exist_ok=True)
        self.boots = 0

    def qemu_args(self) -> list[str]:
        return [
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                       "multidevs=remap",
            "-virtfs", f"local,path={self.share},mount_tag=share,security_model=none,"
                       "multidevs=remap",
        ]

    def boot(self, commands: Sequence[str] = (), timeout: float = 300.0) -> GuestBoot:
        """Boots once; runs ``commands`` (shell, in the host root, cwd = the share) in order."""
        self.boots += 1
        out = self.share / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        (self.share / "tmp").mkdir(exist_ok=True)
        (self.share / "host-path").write_text(str(self.share))
        for name in ("step.log",):
            (self.share / name).unlink(missing_ok=True)
        venv_bin = Path(sys.executable).parent
        lines = [
            "#!/bin/sh",
            f"export PATH={shlex.quote(str(venv_bin))}:/usr/sbin:/usr/bin:/sbin:/bin",
            f"export HOME={shlex.quote(str(self.share))} TMPDIR={shlex.quote(str(self.share / 'tmp'))}",
            "export PYTHONDONTWRITEBYTECODE=1 LC_ALL=C.UTF-8",
        ]
        for index, command in enumerate(commands):
            lines.append(f"( {command} ) > out/{index}.out 2> out/{index}.err; "
                         f"echo $? > out/{index}.rc")
        (self.share / "step.sh").write_text("\n".join(lines) + "\n")
        result = harness.boot(
            self.disk, self.varstore, timeout=timeout, memory_mib=512,
            qemu_args=self.qemu_args(), stop_on=[r"Kernel panic", r"EFIKIT-GUEST error="],
            serial_log=self.workdir / f"boot{self.boots}.serial.log",
        )
        facts = {m.group(1): m.group(2).rstrip() for m in GUEST_LINE.finditer(result.serial)}
        results = []
        for index, command in enumerate(commands):
            rc_file = out / f"{index}.rc"
            if not rc_file.exists():
                break
            results.append(CommandResult(
                command, int(rc_file.read_text().strip() or -1),
                (out / f"{index}.out").read_text(errors="replace"),
                (out / f"{index}.err").read_text(errors="replace")))
        step_log = (self.share / "step.log").read_text(errors="replace") \
            if (self.share / "step.log").exists() else ""
        guest = GuestBoot(result, facts, tuple(results), step_log)
        if facts.get("end") != "1" or len(results) != len(commands):
            raise GuestError(f"the guest did not finish its step (boot {self.boots}, "
                             f"{result.seconds:.0f} s, timed out: {result.timed_out})\n"
                             + guest.report())
        return guest
