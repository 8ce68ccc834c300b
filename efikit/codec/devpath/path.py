"""DevicePath: an ordered sequence of nodes (instances separated by End-Instance nodes).

A decoded path keeps its bytes and node frames and builds its node objects only when
``nodes`` is first read: printing (``to_text``) renders the nodes of the common types
straight from their payloads (base.register_text), re-encoding (``to_bytes``) gives back
the bytes. Decoding still raises every DecodeError the object model raises.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from efikit.errors import DecodeError, Error, TextParseError

from .base import (
    _CHECKS,
    _LAYOUT_TEXTS,
    _TEXTS,
    SUBTYPE_END_ENTIRE,
    SUBTYPE_END_INSTANCE,
    TYPE_END,
    EndInstanceNode,
    Node,
    decode_node,
    text_key,
)
from .framing import (
    ERR_LENGTH_PAST_END,
    ERR_LENGTH_TOO_SMALL,
    ERR_MISSING_END,
    ERR_TRUNCATED_HEADER,
    FRAMING_ERRORS,
    NodeFrame,
    frame_nodes,
    frame_nodes_python,
)
from .nodes_media import FilePathNode
from .textparse import (
    EDK2_TEXT,
    NodeText,
    TextArgs,
    TextDialect,
    not_a_node,
    resolve_keyword,
    split_keyword,
    split_nodes,
    text_dialect,
)

END_ENTIRE = b"\x7f\xff\x04\x00"
_END_ENTIRE_KEY = text_key(TYPE_END, SUBTYPE_END_ENTIRE)
_END_INSTANCE_KEY = text_key(TYPE_END, SUBTYPE_END_INSTANCE)


@dataclass(frozen=True, slots=True)
class DevicePath:
    """A device path. ``nodes`` excludes the final End-Entire node; End-Instance nodes
    separate the instances. ``terminator`` keeps the exact bytes of the final End node."""

    nodes: tuple[Node, ...] = ()
    terminator: bytes = field(default=END_ENTIRE, repr=False)
    # Only on decoded paths: the bytes and the nodes (a frame while not built yet).
    _source: _Source | None = field(default=None, init=False, repr=False, compare=False)

    # ---- binary -------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> DevicePath:
        """Decode exactly one device path; trailing bytes after its End node are an error."""
        path, end = cls.decode_at(data, 0, len(data))
        if end != len(data):
            raise DecodeError(f"{len(data) - end} byte(s) after the End-of-path node", end)
        return path

    @classmethod
    def decode_at(cls, data: bytes, start: int, end: int) -> tuple[DevicePath, int]:
        """Decode the device path at ``data[start:end]``; returns it and the offset after it."""
        if type(data) is not bytes:
            data = bytes(data)  # kept for later: must not change under us
        frames, stop = frame_nodes(data, start, end)
        last_offset, _, _, last_length = frames.pop()
        checks = _CHECKS
        items: list[_Item] = frames  # type: ignore[assignment]
        index = 0
        for offset, node_type, node_subtype, length in frames:
            # A type printable from its payload is built later (after its decode-time
            # check, if it has one); any other is decoded now.
            check = checks.get(node_type | node_subtype << 8, _DECODE_NOW)
            if check is not None:
                payload = data[offset + 4:offset + length]
                if check is _DECODE_NOW:
                    items[index] = decode_node(node_type, node_subtype, payload, offset + 4)
                else:
                    check(payload, offset + 4)
            index += 1
        terminator = data[last_offset:last_offset + last_length]
        path = object.__new__(cls)
        _TERMINATOR_SLOT.__set__(path, END_ENTIRE if terminator == END_ENTIRE else terminator)
        _SOURCE_SLOT.__set__(path, (data, items, start, stop))
        return path, stop

    def to_bytes(self) -> bytes:
        source = self._source
        if source is not None:  # decoding keeps typed nodes only where they re-encode exactly
            data, _, start, stop = source
            return data[start:stop]
        return b"".join(node.to_bytes() for node in self.nodes) + self.terminator

    # ---- text ---------------------------------------------------------------------------
    def to_text(self, display_only: bool = False) -> str:
        """What edk2's ConvertDevicePathToText prints (AllowShortcuts=FALSE)."""
        source = self._source
        if source is not None:
            return render_device_path(source[0], source[2], source[3], display_only)[0]
        parts: list[str] = []
        for node in self.nodes:
            if parts and not isinstance(node, EndInstanceNode):
                parts.append("/")
            parts.append(node.to_text(display_only))
        return "".join(parts)

    def __str__(self) -> str:
        return self.to_text()

    @classmethod
    def from_text(cls, text: str, dialect: str = "edk2") -> DevicePath:
        """Parse device-path text. ``dialect="edk2"`` (the default) reads what edk2's
        DevicePathToText prints and its common variants: keywords in any case, whitespace
        around nodes, ``File(\\path)`` and forward slashes in file paths, lower-case hex and
        GUIDs. ``dialect="efibootmgr"`` reads what efibootmgr -v (libefivar) prints, whose
        numbers and byte orders differ; a node whose efibootmgr text does not say what its
        bytes were is refused. Text that looks like a node but is not one is refused (a
        TextParseError naming the column), never read as a file name."""
        keywords = text_dialect(dialect)
        if keywords.bare_file_paths:
            _check_no_empty_node(text)
        nodes: list[Node] = []
        if keywords is EDK2_TEXT:
            _check_not_efibootmgr_text(text)
        for piece in split_nodes(text):
            if piece.text:
                node = _parse_node(text, piece, keywords)
                if node is not None:
                    nodes.append(node)
            if piece.ends_instance:
                if keywords.single_instance:
                    raise TextParseError(text, piece.column + len(piece.text) + 1,
                                         keywords.single_instance)
                nodes.append(EndInstanceNode())
        return cls(tuple(nodes))

    def text_round_trips(self) -> bool:
        """True if ``to_text()`` reads back (``from_text``) to exactly these bytes. False for
        the paths whose edk2 text drops bytes (an HD signature edk2 does not print, a Uart's
        reserved field, a short IPv4 node, ...): keep such a path as bytes, not as text."""
        return text_round_trips(self.to_text(), self.to_bytes())

    # ---- views --------------------------------------------------------------------------
    @property
    def instances(self) -> tuple[tuple[Node, ...], ...]:
        groups: list[tuple[Node, ...]] = []
        current: list[Node] = []
        for node in self.nodes:
            if isinstance(node, EndInstanceNode):
                groups.append(tuple(current))
                current = []
            else:
                current.append(node)
        groups.append(tuple(current))
        return tuple(groups)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def file_path_nodes(self) -> list[str]:
        """The text of every FILEPATH node, in order."""
        return [node.path for node in self.nodes if isinstance(node, FilePathNode)]

    def file_path(self) -> str | None:
        """The FILEPATH nodes joined into one path ('\\EFI\\x\\y.efi'), or None."""
        pieces = self.file_path_nodes()
        if not pieces:
            return None
        joined = ""
        for piece in pieces:
            if joined and not joined.endswith("\\") and not piece.startswith("\\"):
                joined += "\\"
            joined += piece
        return joined


def _parse_node(whole: str, piece: NodeText, keywords: TextDialect) -> Node | None:
    node_text = piece.text
    if keywords.bare_file_paths and (piece.slash_path or split_keyword(node_text) is None):
        raise TextParseError(whole, piece.column + 1, keywords.bare_file_paths)
    if piece.slash_path:
        return _slash_path(whole, piece)
    split = split_keyword(node_text)
    if split is not None:
        name, inner = split
        found = keywords.parser(name)
        if found is not None:
            canonical, parser = found
            paren = piece.column + node_text.index("(")
            return parser(TextArgs(whole, paren - len(canonical), canonical, inner))
        raise not_a_node(whole, piece)
    if "(" in node_text or ")" in node_text:
        if not node_text.startswith("\\"):
            raise not_a_node(whole, piece)
    return FilePathNode(node_text)


# Nodes edk2 and efibootmgr print alike but mean other bytes by (NVMe EUI-64 byte order,
# numbers hex without 0x), spelled as efibootmgr prints them.
_READ_DIFFERENTLY_BY_EFIBOOTMGR = frozenset({"NVMe", "UsbWwid", "Fibre", "SAS", "Infiniband"})


def _check_not_efibootmgr_text(text: str) -> None:
    """Refuse edk2 reading of efibootmgr's text where it would give other bytes: a text with
    efibootmgr's FvVol(...) or File(\\path) (as it prints them) and a node both print alike
    (NVMe, whose EUI-64 efibootmgr prints in the other byte order, ...). The edk2 reading
    does not guess the dialect; it refuses what is likely misread."""
    if "File(" not in text and "FvVol(" not in text:
        return
    keywords = [(split, piece) for piece in split_nodes(text)
                if not piece.slash_path and (split := split_keyword(piece.text)) is not None]
    if not any(name == "FvVol" or (name == "File" and "/" not in inner)
               for (name, inner), _ in keywords):
        return
    for (name, _), piece in keywords:
        if name in _READ_DIFFERENTLY_BY_EFIBOOTMGR:
            raise TextParseError(
                text, piece.column + 1,
                f"edk2's text: this looks like efibootmgr's (File(...) or FvVol(...)), whose "
                f"{name}(...) means other bytes; read it as efibootmgr's (--from efibootmgr, "
                "dialect='efibootmgr'), or write file paths without File(...)")


def _check_no_empty_node(text: str) -> None:
    """efibootmgr prints nothing for some nodes (a USB class 254 node of another subclass):
    an empty text or an empty last node is one of those, not a shorter path."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith("/"):
        raise TextParseError(text, len(stripped) + 1,
                             "a node (efibootmgr prints nothing for some nodes)")


def _slash_path(whole: str, piece: NodeText) -> Node:
    """A file path written with forward slashes: '/EFI/x.efi' → '\\EFI\\x.efi'."""
    first = piece.text.lstrip("/\\").split("/")[0]
    split = split_keyword(first)
    if split is not None and resolve_keyword(split[0]) is not None:
        raise TextParseError(whole, piece.column + 1,
                             f"a single '/' before the {split[0]}(...) node")
    # blanks around its '/' are a paste's too; empty components are doubled slashes
    components = [part.strip() for part in _SLASHES.split(piece.text)]
    return FilePathNode("\\" + "\\".join(part for part in components if part))


_SLASHES = re.compile(r"[/\\]*/[/\\]*")


def text_round_trips(text: str, data: bytes) -> bool:
    """True if ``text`` reads back to exactly ``data``."""
    try:
        return DevicePath.from_text(text).to_bytes() == data
    except Error:
        return False


# A node of a decoded path: its frame while not built, else the node.
_Item = Union[NodeFrame, Node]
# (data, items, start, stop): data[start:stop] is the whole path, End node included.
_Source = tuple[bytes, list[_Item], int, int]

_NODES_SLOT: Any = DevicePath.__dict__["nodes"]
_TERMINATOR_SLOT: Any = DevicePath.__dict__["terminator"]
_SOURCE_SLOT: Any = DevicePath.__dict__["_source"]


class _LazyNodes:
    """``DevicePath.nodes``: the slot, filled from ``_source`` on first read."""

    def __get__(self, path: DevicePath | None, owner: type | None = None) -> Any:
        if path is None:
            return self
        try:
            return _NODES_SLOT.__get__(path, owner)
        except AttributeError:
            data, items, _, _ = _SOURCE_SLOT.__get__(path, owner)
            nodes = tuple(item if type(item) is not tuple else
                          decode_node(item[1], item[2], data[item[0] + 4:item[0] + item[3]],
                                      item[0] + 4)
                          for item in items)
            _NODES_SLOT.__set__(path, nodes)
            return nodes

    def __set__(self, path: DevicePath, value: tuple[Node, ...]) -> None:
        _NODES_SLOT.__set__(path, value)

    def __delete__(self, path: DevicePath) -> None:
        _NODES_SLOT.__delete__(path)


setattr(DevicePath, "nodes", _LazyNodes())  # the dataclass keeps its field and its slot


_DECODE_NOW: Any = object()  # decode_at: this type has no renderer, decode it now

_HEADER = struct.Struct("<HH")  # text_key(type, subtype), length


def render_device_path(data: bytes, start: int, end: int,
                       display_only: bool = False) -> tuple[str, int]:
    """The text of the device path at ``data[start:end]`` and the offset after its End
    node, in one pass over the bytes: what ``decode_at`` then ``to_text`` give, with the
    same DecodeErrors (a framing fault first, as frame_nodes_python reports it, else the
    first node's), building node objects only for types without a renderer."""
    layouts = _LAYOUT_TEXTS
    texts = _TEXTS
    header = _HEADER.unpack_from
    end_entire = _END_ENTIRE_KEY
    end_instance_key = _END_INSTANCE_KEY
    parts: list[str] = []
    append = parts.append
    offset = start
    while True:
        # the checks of framing.frame_nodes_python, in its order
        remaining = end - offset
        if remaining < 4:
            code = ERR_MISSING_END if remaining == 0 else ERR_TRUNCATED_HEADER
            raise DecodeError(FRAMING_ERRORS[code], offset)
        key, length = header(data, offset)
        if length < 4 or length > remaining:
            code = ERR_LENGTH_TOO_SMALL if length < 4 else ERR_LENGTH_PAST_END
            raise DecodeError(FRAMING_ERRORS[code], offset)
        if key == end_entire:
            return "/".join(parts), offset + length
        payload_start = offset + 4
        offset += length
        layout = layouts.get(key)
        if layout is not None:
            node_length, unpack_from, text = layout
            if length == node_length:
                append(text(unpack_from(data, payload_start)))
                continue
        elif key == end_instance_key and length == 4:
            # DevicePath.to_text's rule: ',' and no '/' before it (but '/' after it)
            if parts:
                parts[-1] += ","
            else:
                append(",")
            continue
        render = texts.get(key)
        try:
            rendered = None if render is None else render(data, payload_start, offset,
                                                          display_only)
            if rendered is None:  # (an End-Instance node with a payload is a RawNode)
                rendered = decode_node(key & 0xFF, key >> 8, data[payload_start:offset],
                                       payload_start).to_text(display_only)
        except DecodeError:
            frame_nodes_python(data, offset, end)  # a framing fault further on comes first
            raise
        append(rendered)
