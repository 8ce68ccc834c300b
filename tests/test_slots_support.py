"""Shared helpers for the slot tests: a machine (store + directory ESP), a firmware simulation,
and a fault injector that crashes after the Nth variable or file write."""
from __future__ import annotations

import builtins
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from efikit.boot import BootManager
from efikit.boot.numbers import encode_u16
from efikit.disk.esp import DirectoryEsp, EspFiles
from efikit.slots.esp_locate import EspLocation
from efikit.slots.machine import SlotMachine, entry_file_path
from efikit.slots.scheme import SlotScheme
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.memory import MemoryStore
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    EFI_GLOBAL_VARIABLE,
    Variable,
    VariableAttributes,
    VariableName,
    VariableStore,
)

REPO = Path(__file__).resolve().parents[1]
LOADER_A = REPO / "fixtures" / "pe" / "boot-a.efi"
LOADER_B = REPO / "fixtures" / "pe" / "boot-b.efi"
ESP_GUID = uuid.UUID("0f1c8e5a-6c3b-4b7e-9d2a-3e5f60718293")
LOCATION = EspLocation("disk.img", 1, ESP_GUID, 2048, 65536, 512)
SCHEME = SlotScheme()
PATH_A = SCHEME.loader_path("A")
PATH_B = SCHEME.loader_path("B")


def make_store(kind: str, tmp: Path) -> VariableStore:
    if kind == "memory":
        return MemoryStore()
    directory = tmp / "efivars"
    directory.mkdir(parents=True)
    return EfivarfsStore(directory)


def make_esp(tmp: Path, a: bytes | None = None, b: bytes | None = None,
             fallback: bool = True) -> DirectoryEsp:
    root = tmp / "esp"
    tmp.mkdir(parents=True, exist_ok=True)
    (root / "EFI" / "metropolis").mkdir(parents=True)
    (root / "EFI" / "BOOT").mkdir(parents=True)
    a = LOADER_A.read_bytes() if a is None else a
    b = LOADER_B.read_bytes() if b is None else b
    if a:
        (root / "EFI" / "metropolis" / "boot-a.efi").write_bytes(a)
    if b:
        (root / "EFI" / "metropolis" / "boot-b.efi").write_bytes(b)
    if fallback:
        shutil.copyfile(LOADER_A, root / "EFI" / "BOOT" / "BOOTX64.EFI")
    return DirectoryEsp(root)


def machine(store: VariableStore, esp: EspFiles | None) -> SlotMachine:
    return SlotMachine(store, esp, LOCATION, SCHEME)


def set_u16(store: VariableStore, name: str, value: int | None) -> None:
    if value is None:
        if store.get(name, EFI_GLOBAL_VARIABLE) is not None:
            store.delete(name, EFI_GLOBAL_VARIABLE)
        return
    store.set(name, EFI_GLOBAL_VARIABLE, encode_u16(value, name), DEFAULT_ATTRIBUTES)


def snapshot(m: SlotMachine) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(variables by name, ESP files by lower-case path) — to compare end states."""
    variables = {f"{v.name}-{v.vendor}": v.data for v in m.store.variables()}
    files: dict[str, bytes] = {}
    assert isinstance(m.esp, DirectoryEsp)
    for path in sorted(m.esp.root.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(m.esp.root)).lower()] = path.read_bytes()
    return variables, files


# --- the firmware, as the issue states its rule ------------------------------------------------

def boot_choice(m: SlotMachine) -> tuple[int | None, str | None]:
    """BootNext's entry if it exists, else the first active BootOrder entry that exists:
    (number, its loader path). (None, fallback) when neither exists."""
    manager = BootManager(m.store)
    nxt = manager.boot_next()
    if nxt is not None:
        entry = manager.find(nxt)
        if entry is not None and entry.option is not None:
            return nxt, entry_file_path(entry)
    for number in manager.order() or ():
        entry = manager.find(number)
        if entry is not None and entry.option is not None and entry.option.active:
            return number, entry_file_path(entry)
    return None, m.scheme.fallback_loader


def boots_present_loader(m: SlotMachine, allow_fallback: bool = False) -> bool:
    number, path = boot_choice(m)
    if number is None and not allow_fallback:
        return False
    assert m.esp is not None
    return path is not None and m.esp.exists(path)


def firmware_boot(m: SlotMachine) -> str:
    """One boot: consume BootNext, set BootCurrent, return the started slot ('A'/'B')."""
    manager = BootManager(m.store)
    number, path = boot_choice(m)
    set_u16(m.store, "BootNext", None)
    assert number is not None and path is not None, "nothing to boot"
    assert m.esp is not None and m.esp.exists(path), f"{path} is missing"
    set_u16(m.store, "BootCurrent", number)
    del manager
    slot = m.scheme.slot_of_loader(path)
    return slot if slot is not None else "A"


# --- fault injection ---------------------------------------------------------------------------

class Crash(Exception):
    """The simulated power loss."""


class Budget:
    """Crashes after the ``limit``-th write (it took effect); with ``fail`` the ``limit``-th
    write raises ``fail`` instead of happening."""

    def __init__(self, limit: int | None, fail: Exception | None = None) -> None:
        self.limit = limit
        self.fail = fail
        self.writes = 0

    def before(self) -> None:
        if self.fail is not None and self.limit is not None and self.writes + 1 == self.limit:
            self.writes += 1
            raise self.fail

    def tick(self) -> None:
        self.writes += 1
        if self.fail is None and self.limit is not None and self.writes >= self.limit:
            raise Crash(f"crash after write {self.writes}")


class CrashingStore(VariableStore):
    """Every set/delete takes effect at once (as on efivarfs); then the budget may crash."""

    kind = "memory"

    def __init__(self, inner: VariableStore, budget: Budget) -> None:
        super().__init__(inner.source)
        self.inner = inner
        self.budget = budget

    def list(self) -> builtins.list[VariableName]:
        return self.inner.list()

    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        return self.inner.get(name, vendor)

    def set(self, name: str, vendor: uuid.UUID, data: bytes,
            attributes: VariableAttributes = DEFAULT_ATTRIBUTES, *,
            timestamp: bytes | None = None) -> None:
        self.budget.before()
        self.inner.set(name, vendor, data, attributes)
        self.budget.tick()

    def delete(self, name: str, vendor: uuid.UUID) -> None:
        self.budget.before()
        self.inner.delete(name, vendor)
        self.budget.tick()

    @contextmanager
    def batch(self) -> Iterator[VariableStore]:
        yield self  # no rollback: a crash keeps what was written, like efivarfs


class CrashingEsp(EspFiles):
    def __init__(self, inner: EspFiles, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    def read(self, esp_path: str) -> bytes | None:
        return self.inner.read(esp_path)

    def list_files(self, esp_dir: str) -> list[str]:
        return self.inner.list_files(esp_dir)

    def replace(self, esp_path: str, data: bytes) -> None:
        self.budget.before()
        self.inner.replace(esp_path, data)
        self.budget.tick()

    def free_bytes(self) -> int:
        return self.inner.free_bytes()

    def size(self, esp_path: str) -> int | None:
        return self.inner.size(esp_path)


def crashing(m: SlotMachine, limit: int | None,
             fail: Exception | None = None) -> tuple[SlotMachine, Budget]:
    """``m`` with a store and ESP that crash after write ``limit`` (or fail it with ``fail``)."""
    budget = Budget(limit, fail)
    assert m.esp is not None
    return (SlotMachine(CrashingStore(m.store, budget), CrashingEsp(m.esp, budget), m.location,
                        m.scheme), budget)
