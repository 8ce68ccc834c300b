"""edk2 as the text oracle for the device-path codec (scenario 2).

Generates many boot entries whose device paths cover the node types and field variants
efikit's codec knows, and reads back the two texts edk2 prints for them:
- BdsDxe's `failed to load Boot#### "label" from <full text>: <status>` on the serial console;
- the UEFI Shell's `bcfg boot dump -v` (display-only text), redirected by startup.nsh to a
  UTF-16 file on the ESP.
"""
from __future__ import annotations

import random
import re
import struct
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

from efikit.codec.devpath import DevicePath, FilePathNode
from efikit.errors import Error

from firmware import harness

# Only written on the ESP of an oracle boot; `reset -s` powers the machine off.
STARTUP_NSH = "fs0:\r\nbcfg boot dump -v > fs0:\\dump.txt\r\nreset -s\r\n"
DUMP_FILE = "\\dump.txt"

# edk2's Print() buffer (PcdUefiLibMaxPrintBufferSize, 320 CHAR16s incl. the NUL) cuts longer
# BdsDxe lines: from this length on, a line is compared as a prefix.
PRINT_BUFFER_CHARS = 320
TRUNCATED_FROM = PRINT_BUFFER_CHARS - 2

# OVMF deletes entries whose optional data starts with this GUID (its auto-created ones).
OVMF_AUTO_GUID = uuid.UUID("8108AC4E-9F11-4D59-850E-E21A522C59B2")
# Boot#### numbers of the oracle entries: clear of the numbers OVMF gives its own (0000-00FF).
FIRST_NUMBER = 0x1000
BBS_TYPE = 0x05

BDS_FAILED = re.compile(r'^BdsDxe: failed to load Boot([0-9A-F]{4}) "(.*?)" from (.*?)(?:: ([A-Za-z ]+))?$')
_UNKNOWN_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\(.*\)$")

Gen = Callable[[random.Random], str]


def _guid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128))).upper()


def _hex(r: random.Random, bits: int) -> str:
    return f"0x{r.getrandbits(bits):X}"


def _bytes_hex(r: random.Random, n: int) -> str:
    return "".join(f"{r.getrandbits(8):02X}" for _ in range(n))


def _ipv4(r: random.Random) -> str:
    return ".".join(str(r.randrange(256)) for _ in range(4))


def _ipv6(r: random.Random) -> str:
    return ":".join(f"{r.getrandbits(16):x}" for _ in range(8))


# One generator per node type / field variant, in edk2's full-form spelling. A template the
# codec cannot parse yet is skipped (and reported by `coverage`), so coverage grows with it.
NODE_TEMPLATES: dict[str, Gen] = {
    # hardware
    "Pci": lambda r: f"Pci(0x{r.randrange(32):X},0x{r.randrange(8):X})",
    "PcCard": lambda r: f"PcCard(0x{r.randrange(256):X})",
    "MemoryMapped": lambda r: f"MemoryMapped(0x{r.randrange(16):X},0x{r.getrandbits(32) << 12:X},0x{(r.getrandbits(32) << 12) + 0xFFF:X})",
    "VenHw": lambda r: f"VenHw({_guid(r)})",
    "VenHw+data": lambda r: f"VenHw({_guid(r)},{_bytes_hex(r, r.randrange(1, 12))})",
    "Ctrl": lambda r: f"Ctrl(0x{r.randrange(16):X})",
    "BMC": lambda r: f"BMC(0x{r.randrange(1, 4):X},0x{r.getrandbits(16):X})",
    "HardwarePath": lambda r: f"HardwarePath(0x{r.randrange(7, 255):X},{_bytes_hex(r, 4)})",
    # ACPI
    "PciRoot": lambda r: f"PciRoot(0x{r.randrange(8):X})",
    "PcieRoot": lambda r: f"PcieRoot(0x{r.randrange(8):X})",
    "Floppy": lambda r: f"Floppy(0x{r.randrange(4):X})",
    "Keyboard": lambda r: f"Keyboard(0x{r.randrange(4):X})",
    "Serial": lambda r: f"Serial(0x{r.randrange(4):X})",
    "ParallelPort": lambda r: f"ParallelPort(0x{r.randrange(4):X})",
    "Acpi": lambda r: f"Acpi(PNP{r.choice(['0C0A', '0303', '0F13', '0B00'])},0x{r.randrange(16):X})",
    "Acpi-hex": lambda r: f"Acpi(0x{r.getrandbits(32):X},0x{r.randrange(16):X})",
    "AcpiEx": lambda r: f"AcpiEx(PNP0A08,PNP0A03,0x{r.randrange(4):X},,,)",
    "AcpiExp": lambda r: f"AcpiExp(PNP0A08,PNP0A03,uid{r.randrange(100)})",
    "AcpiAdr": lambda r: f"AcpiAdr(0x{r.getrandbits(32):X})",
    "AcpiAdr-multi": lambda r: f"AcpiAdr(0x{r.getrandbits(32):X},0x{r.getrandbits(32):X})",
    # messaging
    "Ata": lambda r: f"Ata({r.choice(['Primary', 'Secondary'])},{r.choice(['Master', 'Slave'])},0x{r.randrange(8):X})",
    "Scsi": lambda r: f"Scsi(0x{r.randrange(16):X},0x{r.randrange(8):X})",
    "Fibre": lambda r: f"Fibre({_hex(r, 64)},{_hex(r, 64)})",
    "FibreEx": lambda r: f"FibreEx(0x{_bytes_hex(r, 8)},0x{_bytes_hex(r, 8)})",
    "I2O": lambda r: f"I2O(0x{r.randrange(256):X})",
    "1394": lambda r: f"1394({_bytes_hex(r, 8)})",
    "USB": lambda r: f"USB(0x{r.randrange(16):X},0x{r.randrange(4):X})",
    "UsbClass": lambda r: f"UsbClass(0x{r.getrandbits(16):X},0x{r.getrandbits(16):X},0x{r.choice([0xFF, 0xDC, 0xE0, 0x11]):X},0x{r.randrange(4):X},0x{r.randrange(4):X})",
    "UsbMassStorage": lambda r: f"UsbMassStorage(0x{r.getrandbits(16):X},0x{r.getrandbits(16):X},0x6,0x50)",
    "UsbHID": lambda r: f"UsbHID(0x{r.getrandbits(16):X},0x{r.getrandbits(16):X},0x1,0x1)",
    "UsbWwid": lambda r: f"UsbWwid(0x{r.getrandbits(16):X},0x{r.getrandbits(16):X},0x{r.randrange(4):X},\"SN{r.randrange(10**6)}\")",
    "Unit": lambda r: f"Unit(0x{r.randrange(16):X})",
    "Sata": lambda r: f"Sata(0x{r.randrange(6):X},0xFFFF,0x{r.randrange(2):X})",
    "Sata-pm": lambda r: f"Sata(0x{r.randrange(6):X},0x{r.randrange(15):X},0x0)",
    "NVMe": lambda r: f"NVMe(0x{r.randrange(1, 8):X},{'-'.join(f'{r.getrandbits(8):02X}' for _ in range(8))})",
    "UFS": lambda r: f"UFS(0x{r.randrange(8):X},0x{r.randrange(8):X})",
    "SD": lambda r: f"SD(0x{r.randrange(4):X})",
    "eMMC": lambda r: f"eMMC(0x{r.randrange(4):X})",
    "MAC": lambda r: f"MAC({_bytes_hex(r, 6)},0x1)",
    "MAC-type0": lambda r: f"MAC({_bytes_hex(r, 6)},0x0)",
    "IPv4": lambda r: f"IPv4({_ipv4(r)},{r.choice(['TCP', 'UDP'])},{r.choice(['Static', 'DHCP'])},{_ipv4(r)},{_ipv4(r)},255.255.255.0)",
    "IPv6": lambda r: f"IPv6({_ipv6(r)},{r.choice(['TCP', 'UDP'])},{r.choice(['Static', 'StatefulAutoConfigure', 'StatelessAutoConfigure'])},{_ipv6(r)},0x40,{_ipv6(r)})",
    "Vlan": lambda r: f"Vlan({r.randrange(1, 4095)})",
    "Uart": lambda r: f"Uart({r.choice([9600, 38400, 115200])},{r.choice([7, 8])},{r.choice('NEOMS')},{r.choice(['1', '1.5', '2'])})",
    "Uart-default": lambda r: "Uart(DEFAULT,DEFAULT,D,D)",
    "UartFlowCtrl": lambda r: f"UartFlowCtrl({r.choice(['None', 'Hardware', 'XonXoff'])})",
    "VenMsg": lambda r: f"VenMsg({_guid(r)})",
    "VenMsg+data": lambda r: f"VenMsg({_guid(r)},{_bytes_hex(r, r.randrange(1, 8))})",
    "VenPcAnsi": lambda r: "VenPcAnsi()",
    "VenVt100": lambda r: "VenVt100()",
    "VenVt100Plus": lambda r: "VenVt100Plus()",
    "VenUtf8": lambda r: "VenUtf8()",
    "SAS": lambda r: f"SAS(0x{_bytes_hex(r, 8)},0x{r.randrange(16):X},0x{r.randrange(4):X},NoTopology,0,0,0x0)",
    "SasEx": lambda r: f"SasEx(0x{_bytes_hex(r, 8)},0x{_bytes_hex(r, 8)},0x{r.randrange(4):X},NoTopology,0,0,0x0)",
    "iSCSI": lambda r: f"iSCSI(iqn.2024-01.org.example:t{r.randrange(100)},0x{r.randrange(4):X},0x0,None,None,None,TCP)",
    "Uri": lambda r: f"Uri(http://boot{r.randrange(100)}.example/efi/boot.efi)",
    "Dns": lambda r: f"Dns({_ipv4(r)})",
    "Bluetooth": lambda r: f"Bluetooth({_bytes_hex(r, 6)})",
    "BluetoothLE": lambda r: f"BluetoothLE({_bytes_hex(r, 6)},0x{r.randrange(2):X})",
    "Wi-Fi": lambda r: f"Wi-Fi(net{r.randrange(1000)})",
    "InfiniBand": lambda r: f"Infiniband(0x0,{_guid(r)},0x{r.getrandbits(32):X},0x{r.getrandbits(32):X},0x{r.getrandbits(32):X})",
    "Msg-raw": lambda r: f"Msg(0x{r.randrange(40, 120):X},{_bytes_hex(r, 6)})",
    # media
    "HD-GPT": lambda r: f"HD({r.randrange(1, 129)},GPT,{_guid(r)},0x{r.getrandbits(32):X},0x{r.getrandbits(32):X})",
    "HD-MBR": lambda r: f"HD({r.randrange(1, 5)},MBR,0x{r.getrandbits(32):X},0x{r.getrandbits(22):X},0x{r.getrandbits(30):X})",
    "CDROM": lambda r: f"CDROM(0x{r.randrange(4):X},0x{r.getrandbits(20):X},0x{r.getrandbits(16):X})",
    "VenMedia": lambda r: f"VenMedia({_guid(r)})",
    "File": lambda r: f"\\EFI\\oracle{r.randrange(1000)}\\loader{r.randrange(10)}.efi",
    "File-spaces": lambda r: f"\\EFI\\Oracle Vendor\\Boot Loader {r.randrange(100)}.efi",
    "Media": lambda r: f"Media({_guid(r)})",
    "Fv+FvFile": lambda r: f"Fv({_guid(r)})/FvFile({_guid(r)})",
    "Offset": lambda r: f"Offset(0x{r.getrandbits(20):X},0x{r.getrandbits(24):X})",
    "RamDisk": lambda r: f"RamDisk(0x{r.getrandbits(20) << 12:X},0x{(r.getrandbits(20) << 12) + 0xFFFFF:X},0,{_guid(r)})",
    "VirtualDisk": lambda r: f"VirtualDisk(0x{r.getrandbits(20) << 12:X},0x{(r.getrandbits(20) << 12) + 0xFFFFF:X},0)",
    "VirtualCD": lambda r: f"VirtualCD(0x{r.getrandbits(20) << 12:X},0x{(r.getrandbits(20) << 12) + 0xFFFFF:X},0)",
    "MediaPath-raw": lambda r: f"MediaPath(0x{r.randrange(0x10, 0x7F):X},{_bytes_hex(r, 5)})",
    # BIOS boot specification
    "BBS": lambda r: f"BBS({r.choice(['Floppy', 'HD', 'CDROM', 'Net'])},Legacy{r.randrange(10)},0x{r.randrange(4):X})",
    # unknown types
    "Path-raw": lambda r: f"Path(0x{r.randrange(6, 0x7F):X},0x{r.randrange(256):X},{_bytes_hex(r, 3)})",
}



def _node(node_type: int, subtype: int, payload: bytes) -> bytes:
    return struct.pack("<BBH", node_type, subtype, 4 + len(payload)) + payload


# Node types built from bytes: for those the text parser may not know (or spells differently),
# edk2 still prints the binary, which is what the oracle compares.
BINARY_TEMPLATES: dict[str, Callable[[random.Random], bytes]] = {
    "1394-bin": lambda r: _node(3, 4, struct.pack("<IQ", 0, r.getrandbits(64))),
    "BBS-bin": lambda r: _node(5, 1, struct.pack("<HH", r.choice([1, 2, 3, 5, 0x80]), r.randrange(4))
                                + f"Legacy{r.randrange(10)}".encode("ascii") + b"\0"),
    "Pci-bin": lambda r: _node(1, 1, bytes([r.randrange(8), r.randrange(32)])),
}
END = b"\x7f\xff\x04\x00"
PCI_PREFIX_BYTES = _node(2, 1, struct.pack("<II", 0x0A0341D0, 0)) + _node(1, 1, bytes([0, 2]))

# Where a node sits: alone, after a PCI root (a full hardware path), or before a file.
PREFIXES = ("", "PciRoot(0x0)/Pci(0x2,0x0)/", "PciRoot(0x1)/Pci(0x1C,0x3)/Pci(0x0,0x0)/")
SUFFIXES = ("", "/\\EFI\\BOOT\\BOOTX64.EFI")
# Entries that must not lead with a node OVMF treats specially at boot.
MUST_BE_PREFIXED = {"Fv+FvFile", "MemoryMapped"}


def _parses(text: str) -> DevicePath | None:
    """efikit's binary for the text, or None when the codec does not know a keyword in it."""
    try:
        path = DevicePath.from_text(text)
    except Error:
        return None
    for node in path.nodes:
        if isinstance(node, FilePathNode) and _UNKNOWN_KEYWORD.match(node.path):
            return None
    return path


@dataclass(frozen=True)
class OracleEntry:
    number: int
    label: str
    template: str
    path: DevicePath


def generate(count: int, seed: int = 4) -> tuple[list[OracleEntry], dict[str, bool]]:
    """`count` entries cycling through every template the codec parses; also returns, per
    template, whether the codec knew it (the coverage to report)."""
    r = random.Random(seed)
    coverage = {name: _parses(gen(random.Random(0))) is not None for name, gen in NODE_TEMPLATES.items()}
    known = [name for name, ok in coverage.items() if ok]
    if not known:
        return [], coverage
    entries: list[OracleEntry] = []
    attempts = 0
    while len(entries) < count and attempts < count * 20:
        attempts += 1
        name = known[attempts % len(known)]
        prefix = r.choice(PREFIXES[1:] if name in MUST_BE_PREFIXED else PREFIXES)
        text = prefix + NODE_TEMPLATES[name](r) + r.choice(SUFFIXES)
        path = _parses(text)
        if path is None:
            continue
        number = FIRST_NUMBER + len(entries)
        entries.append(OracleEntry(number, f"efikit-oracle-{len(entries):03d} {name}", name, path))
    for name, make in BINARY_TEMPLATES.items():
        for with_prefix in (False, True):
            try:
                path = DevicePath.from_bytes((PCI_PREFIX_BYTES if with_prefix else b"") + make(r) + END)
            except Error:
                coverage[name] = False
                continue
            coverage[name] = True
            number = FIRST_NUMBER + len(entries)
            entries.append(OracleEntry(number, f"efikit-oracle-{len(entries):03d} {name}", name, path))
    return entries, coverage


# --- what edk2 printed -------------------------------------------------------------------------

@dataclass(frozen=True)
class BdsFailure:
    number: int
    label: str
    text: str
    status: str | None  # None when the line was cut by the print buffer
    line: str

    @property
    def truncated(self) -> bool:
        return len(self.line) >= TRUNCATED_FROM or self.status is None


def bds_failures(serial: str) -> dict[int, BdsFailure]:
    out: dict[int, BdsFailure] = {}
    for line in serial.splitlines():
        match = BDS_FAILED.match(line)
        if match:
            number = int(match.group(1), 16)
            out[number] = BdsFailure(number, match.group(2), match.group(3), match.group(4), line)
    return out


@dataclass(frozen=True)
class BcfgEntry:
    number: int
    description: str
    device_path: str
    optional: str


_OPTION = re.compile(r"^Option:\s*([0-9A-Fa-f]+)\.\s*Variable:\s*Boot([0-9A-Fa-f]{4})")
_FIELD = re.compile(r"^\s+(Desc|DevPath|Optional)\s*-\s?(.*)$")


def parse_bcfg_dump(raw: bytes) -> dict[int, BcfgEntry]:
    """`bcfg boot dump -v` output as the Shell redirected it (UTF-16 with a BOM)."""
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-16-le")
    out: dict[int, BcfgEntry] = {}
    current: dict[str, str] = {}
    number: int | None = None

    def flush() -> None:
        if number is not None:
            out[number] = BcfgEntry(number, current.get("Desc", ""), current.get("DevPath", ""),
                                    current.get("Optional", ""))

    for line in text.replace("\r", "").split("\n"):
        option = _OPTION.match(line)
        if option:
            flush()
            number, current = int(option.group(2), 16), {}
            continue
        field = _FIELD.match(line)
        if field and number is not None and field.group(1) not in current:
            current[field.group(1)] = field.group(2).rstrip()
    flush()
    return out


def iter_chunks(entries: list[OracleEntry], size: int) -> Iterator[list[OracleEntry]]:
    for i in range(0, len(entries), size):
        yield entries[i : i + size]


def disk_files() -> dict[str, bytes]:
    return {"\\startup.nsh": STARTUP_NSH.encode("ascii")}


__all__ = ["harness"]
