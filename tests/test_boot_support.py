"""Helpers shared by the boot tests (no tests here)."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import CORPUS
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.vars.memory import MemoryStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableAttributes

G = EFI_GLOBAL_VARIABLE
NV_BS_RT = VariableAttributes(7)
ESP = "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)"
MACHINES = sorted(p for p in (CORPUS / "efivars").iterdir() if p.is_dir())
MACHINE_COUNT = 8  # the corpus's efivarfs dumps; guarded by test_boot_corpus


def option(label: str, loader: str = r"\EFI\x\a.efi", data: bytes = b"",
           active: bool = True) -> LoadOption:
    return LoadOption.create(label, DevicePath.from_text(f"{ESP}/{loader}"), data, active=active)


def var(name: str, data: bytes, attributes: VariableAttributes = NV_BS_RT) -> Variable:
    return Variable(name, G, attributes, data)


def order_bytes(*numbers: int) -> bytes:
    return b"".join(n.to_bytes(2, "little") for n in numbers)


def memory_store(entries: dict[str, bytes], **extra: bytes) -> MemoryStore:
    """A store with the given Boot#### payloads and extra variables (BootOrder=...)."""
    variables = [var(name, data) for name, data in entries.items()]
    variables += [var(name, data) for name, data in extra.items()]
    return MemoryStore(variables)


def copy_machine(machine: Path, tmp_path: Path) -> Path:
    target = tmp_path / machine.name
    shutil.copytree(machine, target)
    return target
