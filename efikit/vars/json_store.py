"""JSON variable stores in the format of ``virt-fw-vars --output-json`` / ``--set-json``.

Schema (version 2)::

    {"version": 2,
     "variables": [{"name": "Boot0000", "guid": "8be4df61-...", "attr": 7,
                    "data": "<hex>", "time": "<16-byte EFI_TIME hex, optional>"}, ...]}

``time`` is present only for variables that carry a timestamp (time-based authenticated ones
in an edk2 store). Output is indented by 4 spaces with no trailing newline, as virt-fw-vars
writes it, so the two tools' exports of the same store are byte-identical.
"""
from __future__ import annotations

import builtins
import json
import os
import uuid
from pathlib import Path
from typing import Any

from efikit.errors import StoreError, UsageError
from efikit.vars.atomic import (
    MAX_JSON_SIZE,
    MAX_JSON_TEXT,
    FileBacked,
    atomic_write,
    create_new,
    open_file_store,
)
from efikit.vars.memory import MemoryStore
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    Variable,
    VariableAttributes,
    VariableName,
    check_name,
)

JSON_VERSION = 2


def variable_to_json(var: Variable) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": var.name,
        "guid": str(var.vendor),
        "attr": int(var.attributes),
        "data": var.data.hex(),
    }
    if var.timestamp is not None and var.timestamp != bytes(16):
        entry["time"] = var.timestamp.hex()
    return entry


def dumps(variables: builtins.list[Variable]) -> str:
    """The JSON document for ``variables``, exactly as virt-fw-vars formats it."""
    doc = {"version": JSON_VERSION, "variables": [variable_to_json(v) for v in variables]}
    return json.dumps(doc, indent=4, ensure_ascii=True)


def loads(text: str | bytes, source: str = "<json>") -> builtins.list[Variable]:
    """Variables from a JSON document; StoreError naming the entry for anything malformed."""
    doc = _parse_json(text, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("variables"), list):
        raise StoreError(f"{source}: expected an object with a \"variables\" list")
    version = doc.get("version", JSON_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > JSON_VERSION:
        raise StoreError(f"{source}: unsupported JSON varstore version {version!r}")
    out = []
    first_index: dict[VariableName, int] = {}
    for index, entry in enumerate(doc["variables"]):
        var = _parse_entry(entry, f"{source}: variables[{index}]")
        earlier = first_index.setdefault(var.key, index)
        if earlier != index:
            raise StoreError(f"{source}: variables[{index}] ({var.key}) repeats "
                             f"variables[{earlier}]: which one is meant?")
        out.append(var)
    return out


def _parse_json(text: str | bytes, source: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{source}: not JSON: {exc}") from None
    except RecursionError:
        raise StoreError(f"{source}: JSON nested too deeply (more than the parser's limit)") \
            from None
    except ValueError as exc:  # an integer of more digits than int() converts
        raise StoreError(f"{source}: a number in the JSON is too large: {exc}") from None


def _parse_entry(entry: object, where: str) -> Variable:
    if not isinstance(entry, dict):
        raise StoreError(f"{where}: expected an object")
    name, guid, attr, data = (entry.get(k) for k in ("name", "guid", "attr", "data"))
    if not isinstance(name, str):
        raise StoreError(f"{where}: \"name\" must be a string")
    try:
        check_name(name)
    except StoreError as exc:
        raise StoreError(f"{where}: {exc}") from None
    if not isinstance(guid, str):
        raise StoreError(f"{where} ({name}): \"guid\" must be a string")
    try:
        vendor = uuid.UUID(guid)
    except ValueError:
        raise StoreError(f"{where} ({name}): \"guid\" {guid!r} is not a GUID") from None
    if not isinstance(attr, int) or isinstance(attr, bool) or not 0 <= attr <= 0xFFFFFFFF:
        raise StoreError(f"{where} ({name}): \"attr\" must be a 32-bit unsigned integer")
    if not isinstance(data, str):
        raise StoreError(f"{where} ({name}): \"data\" must be a hex string")
    try:
        payload = bytes.fromhex(data)
    except ValueError:
        raise StoreError(f"{where} ({name}): \"data\" is not hex") from None
    stamp = None
    time_text = entry.get("time")
    if time_text is not None:
        try:
            stamp = bytes.fromhex(time_text) if isinstance(time_text, str) else None
        except ValueError:
            stamp = None
        if stamp is None or len(stamp) != 16:
            raise StoreError(f"{where} ({name}): \"time\" must be 16 bytes of hex (EFI_TIME)")
    return Variable(name, vendor, VariableAttributes(attr), payload, stamp)


class JsonStore(FileBacked, MemoryStore):
    """A JSON export held in memory; file-backed when opened from a path."""

    kind = "json"

    def __init__(
        self, variables: builtins.list[Variable], source: str, path: Path | None = None
    ) -> None:
        super().__init__(variables, source)
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, lock: bool = False) -> JsonStore:
        """Read a JSON store file; with ``lock`` hold its directory's lock until ``close()`` (the
        whole read-plan-write cycle). Either way a save never overwrites another writer's
        change: it fails instead."""
        p = Path(path)
        return open_file_store(p, lock, MAX_JSON_SIZE, MAX_JSON_TEXT, "JSON store",
                               lambda text: cls(loads(text, str(p)), str(p), p))

    def to_json(self) -> str:
        return dumps(self.variables())

    def _file_bytes(self) -> bytes:
        return self.to_json().encode()


def write_json(path: str | os.PathLike[str], variables: builtins.list[Variable], *,
               exclusive: bool = False) -> None:
    """Export ``variables`` to a JSON file atomically (StoreError naming the file if it fails).
    An existing file keeps its owner, group and mode; a new one follows the umask.
    ``exclusive`` (backups): the file must not exist yet (FileExistsError)."""
    content = dumps(variables).encode()
    if exclusive:
        create_new(Path(path), content)
    else:
        atomic_write(Path(path), content)


def write_backup(path: str | os.PathLike[str], variables: builtins.list[Variable]) -> None:
    """Save ``variables`` (what a change overwrites) as JSON that ``efikit vars import`` and
    ``virt-fw-vars --set-json`` restore. The file must be new (created with O_EXCL, so a second
    command cannot destroy the first one's backup, and a symlink there is not followed) and
    follows the umask: under ``umask 077`` Secure Boot keys stay private."""
    try:
        write_json(path, variables, exclusive=True)
    except FileExistsError:
        raise UsageError(f"backup file {os.fspath(path)} already exists; choose another name"
                         ) from None


__all__ = ["DEFAULT_ATTRIBUTES", "JsonStore", "dumps", "loads", "variable_to_json", "write_backup",
           "write_json"]
