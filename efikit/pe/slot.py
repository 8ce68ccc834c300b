"""Which slot a loader boots, from a plain path or from device-path text.

The rule itself lives in ``efikit.codec.slot_rule`` (shared with the A/B manager); this module
only finds the name to judge:

- device-path text (it contains ``Keyword(...)`` nodes, e.g.
  ``HD(1,GPT,...)/\\EFI\\metropolis\\boot-b.efi``): the last FILEPATH node, as the seed's
  loader reads its LoadedImage path. A path split over several FILEPATH nodes
  (``.../\\EFI\\metropolis/boot-b.efi``) is judged by its last node only, which for the usual
  split (directory node, file node) is the file name.
- anything else is a plain path; ``\\`` and ``/`` both separate directories.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from efikit.codec.slot_rule import SlotFromName, slot_from_file_name, slot_from_file_path_nodes

_KEYWORD_NODE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\(.*\)\s*$", re.S)


@dataclass(frozen=True)
class SlotLookup:
    """The slot, and the text it was derived from (``kind``: "device-path" or "path")."""

    result: SlotFromName
    kind: str
    file_path_nodes: tuple[str, ...]


def looks_like_device_path(text: str) -> bool:
    return bool(re.search(r"[A-Za-z][A-Za-z0-9_]*\(", text))


def _split_nodes_minimal(text: str) -> list[str]:
    """'/'-separated nodes, not splitting inside parentheses (fallback without the codec)."""
    nodes: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "/" and depth == 0:
            nodes.append("".join(current))
            current = []
        else:
            current.append(ch)
    nodes.append("".join(current))
    return [n for n in nodes if n.strip()]


def _file_path_nodes(text: str) -> tuple[str, ...]:
    try:
        from efikit.codec.devpath import DevicePath
    except ImportError:
        DevicePath = None  # type: ignore[assignment,misc]
    if DevicePath is not None and hasattr(DevicePath, "from_text"):
        return tuple(DevicePath.from_text(text).file_path_nodes())
    # Fallback while the device-path codec is not available.
    nodes = []
    for node in _split_nodes_minimal(text):
        match = re.fullmatch(r"\s*File\((.*)\)\s*", node, re.S)
        if match:
            nodes.append(match.group(1))
        elif not _KEYWORD_NODE.match(node):
            nodes.append(node)
    return tuple(nodes)


def slot_for(path_or_device_path: str) -> SlotLookup:
    """The slot a loader at this path (plain or device-path text) boots."""
    if looks_like_device_path(path_or_device_path):
        nodes = _file_path_nodes(path_or_device_path)
        return SlotLookup(slot_from_file_path_nodes(nodes), "device-path", nodes)
    return SlotLookup(slot_from_file_name(path_or_device_path), "path", (path_or_device_path,))
