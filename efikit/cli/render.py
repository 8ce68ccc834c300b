"""Plain-data (JSON-ready) views of codec objects, shared by the CLI commands."""
from __future__ import annotations

import dataclasses
import enum
import ipaddress
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from efikit.codec.devpath import DevicePath, Node
from efikit.codec.loadoption import LoadOption, paths_text, ucs2_text_or_none


def plain(value: Any) -> Any:
    """The JSON value of a codec field, chosen by the field's type (never by node kind), so
    every node type serialises: bytes → hex, GUID → upper-case text, IP address → its text,
    enum/flag → its integer value, dataclass → object of its fields, tuple/list → array."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):  # before int: IntEnum and IntFlag are ints too
        member = value.value
        return member if isinstance(member, (int, str)) else str(member)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)  # a value type added later still prints (its text form)


def node_json(node: Node) -> dict[str, Any]:
    return {
        "type": node.type_code,
        "subtype": node.subtype_code,
        "kind": type(node).__name__,
        "text": node.to_text(),
        "fields": plain(node),
    }


def device_path_json(path: DevicePath) -> dict[str, Any]:
    return {
        "text": path.to_text(),
        "display_text": path.to_text(display_only=True),
        "hex": path.to_bytes().hex(),
        "nodes": [node_json(node) for node in path.nodes],
    }


def load_option_json(option: LoadOption) -> dict[str, Any]:
    return {
        "description": option.description,
        "attributes": int(option.attributes),
        "active": option.active,
        "hidden": option.hidden,
        "force_reconnect": option.force_reconnect,
        "category": option.category,
        "device_paths": [device_path_json(p) for p in option.file_paths],
        "optional_data_hex": option.optional_data.hex(),
        "optional_data_text": option.optional_data_text(),
    }


def load_option_line(option: LoadOption, display_only: bool = False) -> str:
    """'Label<TAB>device path[<TAB>optional data]' as efibootmgr -v lays it out."""
    return entry_line(option.description,
                      [p.to_text(display_only) for p in option.file_paths],
                      option.optional_data)


def entry_line(description: str, path_texts: Sequence[str], optional_data: bytes) -> str:
    """The efibootmgr -v layout from parts: of several paths the first, marked (JSON and
    `boot show` list them all); optional data shows as quoted text when it is UCS-2, else
    as hex."""
    line = f"{description}\t{paths_text(path_texts)}"
    if optional_data:
        text = ucs2_text_or_none(optional_data)
        line += f"\t{text!r}" if text is not None else f"\t0x{optional_data.hex()}"
    return line
