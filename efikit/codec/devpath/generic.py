"""Generic node keywords: Path(type,subtype[,hex]) and the per-type HardwarePath, AcpiPath,
Msg, MediaPath, BbsPath. They build raw bytes and then decode them, so a known type/subtype
comes back typed (HardwarePath(1,0002) is Pci(0x2,0x0)), as in edk2."""
from __future__ import annotations

from efikit.errors import DecodeError

from .base import (
    GENERIC_TYPE_KEYWORDS,
    SUBTYPE_END_ENTIRE,
    SUBTYPE_END_INSTANCE,
    TYPE_END,
    EndInstanceNode,
    Node,
    RawNode,
    decode_node,
)
from .textparse import TextArgs, keyword


def _generic(node_type: int, subtype: int, data: bytes, args: TextArgs) -> Node | None:
    if node_type == TYPE_END and subtype == SUBTYPE_END_ENTIRE:
        if data:
            raise args.fail(len(args.values) - 1,
                            "no data on an End-of-path node (it can only end the path)")
        return None  # appending an End node is a no-op
    if node_type == TYPE_END and subtype == SUBTYPE_END_INSTANCE and not data:
        return EndInstanceNode()
    if 4 + len(data) > 0xFFFF:
        raise args.fail(len(args.values) - 1, "at most 65531 data bytes")
    try:
        return decode_node(node_type, subtype, data, 0)
    except DecodeError:
        return RawNode(node_type, subtype, data)


@keyword("Path")
def _parse_path(args: TextArgs) -> Node | None:
    args.at_most(3)
    node_type = args.uint(0, 8, name="type")
    subtype = args.uint(1, 8, name="subtype")
    return _generic(node_type, subtype, args.hex_bytes(2), args)


def _register_typed_generic(node_type: int, name: str) -> None:
    @keyword(name)
    def _parse(args: TextArgs) -> Node | None:
        args.at_most(2)
        subtype = args.uint(0, 8, name="subtype")
        return _generic(node_type, subtype, args.hex_bytes(1), args)


for _node_type, _name in GENERIC_TYPE_KEYWORDS.items():
    _register_typed_generic(_node_type, _name)
