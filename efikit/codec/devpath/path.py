"""DevicePath: an ordered sequence of nodes (instances separated by End-Instance nodes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from efikit.errors import DecodeError

from .base import EndInstanceNode, Node, decode_node
from .framing import frame_nodes
from .nodes_media import FilePathNode
from .textparse import TextArgs, keyword_parser, split_keyword, split_nodes

END_ENTIRE = b"\x7f\xff\x04\x00"


@dataclass(frozen=True, slots=True)
class DevicePath:
    """A device path. ``nodes`` excludes the final End-Entire node; End-Instance nodes
    separate the instances. ``terminator`` keeps the exact bytes of the final End node."""

    nodes: tuple[Node, ...] = ()
    terminator: bytes = field(default=END_ENTIRE, repr=False)

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
        frames, stop = frame_nodes(data, start, end)
        nodes = []
        for offset, node_type, node_subtype, length in frames[:-1]:
            payload = data[offset + 4:offset + length]
            nodes.append(decode_node(node_type, node_subtype, payload, offset + 4))
        last_offset, _, _, last_length = frames[-1]
        terminator = bytes(data[last_offset:last_offset + last_length])
        return cls(tuple(nodes), END_ENTIRE if terminator == END_ENTIRE else terminator), stop

    def to_bytes(self) -> bytes:
        return b"".join(node.to_bytes() for node in self.nodes) + self.terminator

    # ---- text ---------------------------------------------------------------------------
    def to_text(self, display_only: bool = False) -> str:
        """What edk2's ConvertDevicePathToText prints (AllowShortcuts=FALSE)."""
        parts: list[str] = []
        for node in self.nodes:
            if parts and not isinstance(node, EndInstanceNode):
                parts.append("/")
            parts.append(node.to_text(display_only))
        return "".join(parts)

    def __str__(self) -> str:
        return self.to_text()

    @classmethod
    def from_text(cls, text: str) -> DevicePath:
        """Parse device-path text: everything to_text prints, plus common variants
        (``File(\\path)``, forward slashes, lower-case hex and GUIDs, efibootmgr spellings)."""
        nodes: list[Node] = []
        for piece in split_nodes(text):
            node = _parse_node(text, piece.text, piece.column)
            if node is not None:
                nodes.append(node)
            if piece.ends_instance:
                nodes.append(EndInstanceNode())
        return cls(tuple(nodes))

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


def _parse_node(whole: str, node_text: str, column: int) -> Node | None:
    split = split_keyword(node_text)
    if split is not None:
        name, inner = split
        parser = keyword_parser(name)
        if parser is not None:
            return parser(TextArgs(whole, column, name, inner))
    return FilePathNode(node_text)
