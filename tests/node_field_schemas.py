"""The `fields` schema of every device-path node kind, derived from the node dataclasses'
type hints (the one declaration of a node's fields), as efikit/schemas/common.schema.json
holds it. `python tests/node_field_schemas.py` rewrites that part of the file after a node
type is added or changed; test_json_schemas checks the file against it."""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import sys
import typing
import uuid
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "efikit" / "schemas" / "common.schema.json"

_LEAVES: dict[object, dict[str, Any]] = {
    int: {"type": "integer"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    bytes: {"$ref": "#/$defs/hex"},
    uuid.UUID: {"$ref": "#/$defs/guid"},
    ipaddress.IPv4Address: {"type": "string", "format": "ipv4"},
    ipaddress.IPv6Address: {"type": "string", "format": "ipv6"},
}


def _schema_of(hint: object) -> dict[str, Any]:
    if hint in _LEAVES:
        return _LEAVES[hint]
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:
        inner = next(a for a in args if a is not type(None))
        return {"anyOf": [_schema_of(inner), {"type": "null"}]}
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _schema_of(args[0])}
    raise TypeError(f"no JSON schema for a node field of type {hint!r}: add it to _LEAVES "
                    "and to efikit.cli.render.plain")


def node_classes() -> dict[str, type]:
    """Every concrete node dataclass by kind name (what node_json prints as `kind`)."""
    from efikit.codec.devpath.base import Node, all_node_decoders

    all_node_decoders()  # imports every node module
    found: dict[str, type] = {}
    pending = list(Node.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__name__.startswith("_") and dataclasses.is_dataclass(cls) \
                and getattr(cls, "__slots__", None) is not None:
            found.setdefault(cls.__name__, cls)
    found.pop("FixedLayoutNode", None)  # a base for layouts, never a node of its own
    return dict(sorted(found.items()))


def node_field_schemas() -> dict[str, Any]:
    out = {}
    for name, cls in node_classes().items():
        hints = typing.get_type_hints(cls)
        properties = {f.name: _schema_of(hints[f.name]) for f in dataclasses.fields(cls)}
        out[name] = {"type": "object", "properties": properties,
                     "required": list(properties), "additionalProperties": False}
    return out


def node_kind_rules() -> list[dict[str, Any]]:
    return [{"if": {"properties": {"kind": {"const": name}}},
             "then": {"properties": {"fields": {"$ref": f"#/$defs/node_fields/{name}"}}}}
            for name in node_field_schemas()]


def updated_common_schema() -> dict[str, Any]:
    document = json.loads(SCHEMA_FILE.read_text())
    defs = document["$defs"]
    defs["node_fields"] = node_field_schemas()
    defs["node"]["properties"]["kind"] = {"enum": list(defs["node_fields"])}
    defs["node"]["allOf"] = node_kind_rules()
    return dict(document)


if __name__ == "__main__":
    sys.path.insert(0, str(SCHEMA_FILE.parents[2]))
    SCHEMA_FILE.write_text(json.dumps(updated_common_schema(), indent=2) + "\n")
