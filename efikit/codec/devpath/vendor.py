"""Vendor-defined nodes (VenHw, VenMsg, VenMedia): a GUID plus opaque data.

edk2 prints every vendor node as ``Ven<Type>(GUID[,HEX])`` (AllowShortcuts=FALSE), so
the well-known messaging GUIDs (VT100, UART flow control, SAS, ...) are typed subclasses
for the model and for parsing their keywords, while printing stays the generic form.
"""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from typing import Callable

from efikit.codec.guid import guid_from_bytes, guid_text

from .base import (
    Node,
    NodeLayoutError,
    import_node_module,
    register_decoder,
    register_text,
)
from .lazy_index import MESSAGING_VENDOR_GUID_MODULES
from .textparse import TextArgs

VENDOR_KEYWORDS: dict[int, str] = {0x01: "VenHw", 0x03: "VenMsg", 0x04: "VenMedia"}
VENDOR_SUBTYPES: dict[int, int] = {0x01: 0x04, 0x03: 0x0A, 0x04: 0x03}


@dataclass(frozen=True, slots=True)
class VendorNode(Node):
    """Generic vendor node. ``vendor_type`` is 1 (hardware), 3 (messaging) or 4 (media)."""

    vendor_type: int
    guid: uuid.UUID
    data: bytes = b""

    @property
    def type_code(self) -> int:
        return self.vendor_type

    @property
    def subtype_code(self) -> int:
        return VENDOR_SUBTYPES[self.vendor_type]

    def payload(self) -> bytes:
        return self.guid.bytes_le + self.vendor_data()

    def vendor_data(self) -> bytes:
        return self.data

    def to_text(self, display_only: bool = False) -> str:
        return vendor_text(self.vendor_type, guid_text(self.guid.bytes_le), self.vendor_data())


def vendor_text(vendor_type: int, guid: str, data: bytes) -> str:
    if data:
        return "%s(%s,%s)" % (VENDOR_KEYWORDS[vendor_type], guid, data.hex().upper())
    return "%s(%s)" % (VENDOR_KEYWORDS[vendor_type], guid)


# Messaging vendor GUID → decoder(data) for typed subclasses, filled by
# nodes_messaging_vendor when it is imported (lazy_index knows the GUIDs before that).
# A decoder returns a node whose payload() is GUID + data, or raises NodeLayoutError:
# so a typed node prints exactly as the generic VendorNode of the same bytes.
GuidDecoder = Callable[[bytes], Node]
MESSAGING_VENDOR_DECODERS: dict[uuid.UUID, GuidDecoder] = {}


def _vendor_decoder(vendor_type: int) -> Callable[[bytes, int], Node]:
    def decode(payload: bytes, offset: int) -> Node:
        if len(payload) < 16:
            raise NodeLayoutError
        guid = guid_from_bytes(payload)
        data = bytes(payload[16:])
        if vendor_type == 0x03:
            special = MESSAGING_VENDOR_DECODERS.get(guid)
            if special is None and guid in MESSAGING_VENDOR_GUID_MODULES:
                module = MESSAGING_VENDOR_GUID_MODULES[guid]
                import_node_module(module)
                special = MESSAGING_VENDOR_DECODERS.get(guid)
                if special is None:
                    raise RuntimeError(f"efikit.codec.devpath.{module} did not register VenMsg "
                                       f"{guid} (see lazy_index.py)")
            if special is not None:
                try:
                    node = special(data)
                    if node.payload() == payload:
                        return node
                except (NodeLayoutError, ValueError, IndexError):
                    pass
        return VendorNode(vendor_type, guid, data)

    return decode


# What _vendor_decoder imports for a well-known VenMsg GUID, by the GUID's bytes.
_TYPED_GUID_MODULES: dict[bytes, tuple[str, str]] = {
    guid.bytes_le: (module, f"{__package__}.{module}")
    for guid, module in MESSAGING_VENDOR_GUID_MODULES.items()}


def _check_messaging_vendor(payload: bytes, offset: int) -> None:
    """Decoding a well-known VenMsg loads its typed node module even while the node itself
    is not built (as decoding it does: import failures show at decode time)."""
    found = _TYPED_GUID_MODULES.get(payload[:16])
    if found is not None and found[1] not in sys.modules:
        import_node_module(found[0])


def _vendor_text_at(vendor_type: int) -> Callable[[bytes, int, int, bool], str | None]:
    def render(data: bytes, start: int, end: int, display_only: bool) -> str | None:
        if end - start < 16:
            return None
        return vendor_text(vendor_type, guid_text(data, start), data[start + 16:end])

    return render


for _type, _subtype in VENDOR_SUBTYPES.items():
    register_decoder(_type, _subtype, _vendor_decoder(_type))
    register_text(_type, _subtype, _vendor_text_at(_type),
                  _check_messaging_vendor if _type == 0x03 else None)


def parse_vendor(vendor_type: int, args: TextArgs) -> VendorNode:
    """VenHw/VenMsg/VenMedia(GUID[,HEX])."""
    args.at_most(2)
    return VendorNode(vendor_type, args.guid(0), args.hex_bytes(1))


