"""Device-path nodes: the base class, the registry, raw and end nodes.

Every node type is a frozen dataclass with named fields. A node type registers a decoder
for its (type, subtype); decoding checks that the typed node re-encodes to the very same
payload (unless its class declares EXACT_LAYOUT) and otherwise keeps the bytes as a
``RawNode``, so unknown or odd-sized nodes survive byte-exact.

A node type can also register a text renderer (``register_text``): the node's text straight
from its payload, built with the same formatting function as the class's ``to_text``.
``DevicePath.to_text`` uses it on decoded paths so that printing does not build the nodes.
"""
from __future__ import annotations

import importlib
import struct
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Callable, ClassVar, TypeVar

from efikit.errors import EncodeError

from .lazy_index import DECODER_MODULES, NODE_MODULES

HEADER_SIZE = 4
MAX_NODE_LENGTH = 0xFFFF

TYPE_HARDWARE = 0x01
TYPE_ACPI = 0x02
TYPE_MESSAGING = 0x03
TYPE_MEDIA = 0x04
TYPE_BBS = 0x05
TYPE_END = 0x7F
SUBTYPE_END_INSTANCE = 0x01
SUBTYPE_END_ENTIRE = 0xFF

# What edk2 prints for a node it has no specific printer for, by type.
GENERIC_TYPE_KEYWORDS: dict[int, str] = {
    TYPE_HARDWARE: "HardwarePath",
    TYPE_ACPI: "AcpiPath",
    TYPE_MESSAGING: "Msg",
    TYPE_MEDIA: "MediaPath",
    TYPE_BBS: "BbsPath",
}


class NodeLayoutError(Exception):
    """Internal: a payload that does not have the layout of the node type (→ RawNode)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One device-path node. Subclasses set TYPE and SUBTYPE and implement payload/text."""

    TYPE: ClassVar[int] = -1
    SUBTYPE: ClassVar[int] = -1
    # True when from_payload returns a node only for a payload that payload() gives back
    # byte for byte (a struct layout whose exact size it checked): decode_node then skips
    # the re-encode check. Honoured only while from_payload and payload are those of the
    # class that sets it (a subclass that overrides either one loses it).
    EXACT_LAYOUT: ClassVar[bool] = False

    @property
    def type_code(self) -> int:
        return self.TYPE

    @property
    def subtype_code(self) -> int:
        return self.SUBTYPE

    def payload(self) -> bytes:
        """The node's bytes after the 4-byte header."""
        raise NotImplementedError

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        """Build the node from its payload; raise NodeLayoutError if it does not fit.
        ``offset`` is where the payload starts in the caller's buffer (for DecodeErrors)."""
        raise NotImplementedError

    def to_text(self, display_only: bool = False) -> str:
        """edk2's DevicePathToText for this node (AllowShortcuts=FALSE)."""
        raise NotImplementedError

    def text_round_trips(self) -> bool:
        """True if ``to_text()`` reads back to exactly this node's bytes (a node whose edk2
        text drops bytes, e.g. an MBR HD node with signature bytes 4-15 set, is False)."""
        from .path import END_ENTIRE, text_round_trips  # noqa: PLC0415 - path imports base

        return text_round_trips(self.to_text(), self.to_bytes() + END_ENTIRE)

    def to_bytes(self) -> bytes:
        try:
            payload = self.payload()
        except (struct.error, ValueError, OverflowError, TypeError) as error:
            # A field out of range for its binary width (e.g. Pci device 256), or a
            # non-ASCII character in an ASCII string field.
            raise EncodeError(f"{type(self).__name__} cannot be encoded: {error}") from None
        length = HEADER_SIZE + len(payload)
        if length > MAX_NODE_LENGTH:
            raise EncodeError(f"{type(self).__name__} node is {length} bytes; a device-path "
                              f"node holds at most {MAX_NODE_LENGTH}")
        return struct.pack("<BBH", self.type_code, self.subtype_code, length) + payload


@dataclass(frozen=True, slots=True)
class RawNode(Node):
    """A node kept as bytes: unknown type/subtype, or a payload that does not fit its type."""

    node_type: int
    node_subtype: int
    data: bytes = b""

    @property
    def type_code(self) -> int:
        return self.node_type

    @property
    def subtype_code(self) -> int:
        return self.node_subtype

    def payload(self) -> bytes:
        return self.data

    def to_text(self, display_only: bool = False) -> str:
        keyword = GENERIC_TYPE_KEYWORDS.get(self.node_type)
        head = (f"{keyword}({self.node_subtype}" if keyword
                else f"Path({self.node_type},{self.node_subtype}")
        if self.data:
            return f"{head},{self.data.hex().upper()})"
        return head + ")"


# Node class → a function giving its field values in field order (fields() is slow).
_FIELD_GETTERS: dict[type, Callable[[object], tuple[object, ...]]] = {}


def _field_getter(cls: type) -> Callable[[object], tuple[object, ...]]:
    names = [f.name for f in fields(cls)]
    if len(names) == 1:
        single = attrgetter(names[0])
        return lambda node: (single(node),)
    return attrgetter(*names)


@dataclass(frozen=True, slots=True)
class FixedLayoutNode(Node):
    """A node whose payload is exactly ``_LAYOUT`` packed from the fields, in field order."""

    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("")
    EXACT_LAYOUT: ClassVar[bool] = True  # pack(unpack(payload)) == payload for '<' layouts

    def _values(self) -> tuple[object, ...]:
        getter = _FIELD_GETTERS.get(type(self))
        if getter is None:
            getter = _FIELD_GETTERS[type(self)] = _field_getter(type(self))
        return getter(self)

    def payload(self) -> bytes:
        try:
            return self._LAYOUT.pack(*self._values())
        except struct.error as exc:
            raise EncodeError(f"{type(self).__name__}: a field is out of range ({exc})") from None

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) != cls._LAYOUT.size:
            raise NodeLayoutError
        return cls(*cls._LAYOUT.unpack(payload))


@dataclass(frozen=True, slots=True)
class EndInstanceNode(Node):
    """End of one instance in a multi-instance path (printed as ',')."""

    TYPE: ClassVar[int] = TYPE_END
    SUBTYPE: ClassVar[int] = SUBTYPE_END_INSTANCE
    EXACT_LAYOUT: ClassVar[bool] = True

    def payload(self) -> bytes:
        return b""

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if payload:
            raise NodeLayoutError
        return cls()

    def to_text(self, display_only: bool = False) -> str:
        return ","

    def text_round_trips(self) -> bool:
        return True  # ',' between two instances is exact


NodeDecoder = Callable[[bytes, int], Node]
# (data, start, end, display_only) → the text of the node whose payload is data[start:end],
# or None to let the object model decide.
TextRenderer = Callable[[bytes, int, int, bool], "str | None"]
# A fixed layout's text: (node length, its Struct.unpack_from, text(fields) → str).
LayoutText = tuple[int, Callable[[bytes, int], tuple[Any, ...]], Callable[[Any], str]]
# (payload, offset) → None; raises the DecodeError the decoder would raise.
PayloadCheck = Callable[[bytes, int], None]


def text_key(node_type: int, node_subtype: int) -> int:
    """The key of the text tables: the node header's first two bytes as a little-endian
    UINT16 (what one struct read of the header gives)."""
    return node_type | node_subtype << 8


class _LazyDecoder:
    """Stands in for the decoder of a node module not imported yet: the first call imports
    the module (whose registration replaces this entry) and decodes with the real one."""

    __slots__ = ("key", "module")

    def __init__(self, key: tuple[int, int], module: str) -> None:
        self.key = key
        self.module = module

    def load(self) -> NodeDecoder:
        """The real decoder, importing its module if need be."""
        import_node_module(self.module)
        decoder = _DECODERS[self.key]
        if isinstance(decoder, _LazyDecoder):
            raise RuntimeError(f"efikit.codec.devpath.{self.module} did not register a decoder "
                               f"for {self.key} (see lazy_index.py)")
        return decoder

    def __call__(self, payload: bytes, offset: int) -> Node:
        return self.load()(payload, offset)


# Every (type, subtype) the codec knows is here from the start (the native fast path reads
# the keys); entries of modules not imported yet are _LazyDecoders.
_DECODERS: dict[tuple[int, int], NodeDecoder] = {
    key: _LazyDecoder(key, module) for key, module in DECODER_MODULES.items()}
# (type, subtype) → the module that really registered it (tests compare it to the index).
_REGISTERED_BY: dict[tuple[int, int], str] = {}
# Decoders whose nodes need no re-encode check (see Node.EXACT_LAYOUT).
_EXACT: set[tuple[int, int]] = set()
# Text straight from the payload (register_layout_text, register_text), and the DecodeError
# checks that must run at decode time for those types (see register_text); by text_key.
_LAYOUT_TEXTS: dict[int, LayoutText] = {}
_TEXTS: dict[int, TextRenderer] = {}
_CHECKS: dict[int, PayloadCheck | None] = {}  # every key of both; None: never raises

N = TypeVar("N", bound=type[Node])


def import_node_module(name: str) -> None:
    """Import efikit.codec.devpath.<name>, which registers its decoders and keywords."""
    importlib.import_module(f"{__package__}.{name}")


def _register(key: tuple[int, int], decoder: NodeDecoder, module: str, what: str) -> None:
    if key in _REGISTERED_BY:
        raise RuntimeError(f"two {what} registered for {key}")
    _DECODERS[key] = decoder
    _REGISTERED_BY[key] = module


def _defining_class(cls: type, name: str) -> type | None:
    return next((klass for klass in cls.__mro__ if name in vars(klass)), None)


def register_node(cls: N) -> N:
    """Class decorator: decode (cls.TYPE, cls.SUBTYPE) with cls.from_payload."""
    key = (cls.TYPE, cls.SUBTYPE)
    _register(key, cls.from_payload, cls.__module__, "node classes")
    owner = _defining_class(cls, "EXACT_LAYOUT")
    if cls.EXACT_LAYOUT and owner is _defining_class(cls, "from_payload") \
            and owner is _defining_class(cls, "payload"):
        _EXACT.add(key)
    return cls


def register_text(node_type: int, node_subtype: int, render: TextRenderer,
                  check: PayloadCheck | None = None) -> None:
    """Render (type, subtype) nodes from their payload: ``render(data, start, end,
    display_only)`` returns exactly ``decode_node(t, s, data[start:end], start)
    .to_text(display_only)`` — so it formats with the node class's own function or
    template — and raises the DecodeError that decode_node raises; or it returns None to
    leave that payload to the object model. If the decoder can raise DecodeError,
    ``check(payload, offset)`` raises the same one: DevicePath.decode_at runs it, as it
    builds the node only when asked for it."""
    key = text_key(node_type, node_subtype)
    _claim_text(key, check)
    _TEXTS[key] = render


def register_layout_text(node_type: int, node_subtype: int, layout: struct.Struct,
                         text: str | Callable[[Any], str]) -> None:
    """Render (type, subtype) nodes whose payload is exactly ``layout`` (other sizes go to
    the object model) as ``text % layout.unpack(payload)`` (a %-template) or
    ``text(layout.unpack(payload))``, the same in both display modes: the node class must
    decode such payloads with ``layout`` and print with the same ``text``. (The fields
    travel as one tuple: a one-argument call is the cheapest call the interpreter makes.)"""
    key = text_key(node_type, node_subtype)
    _claim_text(key, None)
    _LAYOUT_TEXTS[key] = (4 + layout.size, layout.unpack_from,
                          text.__mod__ if isinstance(text, str) else text)


def _claim_text(key: int, check: PayloadCheck | None) -> None:
    if key in _CHECKS:
        raise RuntimeError(f"two text renderers registered for key 0x{key:04X}")
    _CHECKS[key] = check


def register_decoder(node_type: int, node_subtype: int, decoder: NodeDecoder) -> None:
    """Register a function decoder (for types whose class depends on the payload, e.g. vendor GUIDs)."""
    _register((node_type, node_subtype), decoder, getattr(decoder, "__module__", "?"), "decoders")


def all_node_decoders() -> dict[tuple[int, int], NodeDecoder]:
    """Every registered decoder by (type, subtype), after importing every node module."""
    for module in NODE_MODULES:
        import_node_module(module)
    return dict(_DECODERS)


register_node(EndInstanceNode)
register_text(TYPE_END, SUBTYPE_END_INSTANCE,
              lambda data, start, end, display_only: "," if start == end else None)


def decode_node(node_type: int, node_subtype: int, payload: bytes, offset: int) -> Node:
    """Typed node for the payload if its type is known and the bytes fit, else a RawNode.

    ``offset`` is the payload's offset in the caller's buffer. DecodeError passes through
    (e.g. an odd-length file-path string), everything else means "keep it raw".
    """
    key = (node_type, node_subtype)
    decoder = _DECODERS.get(key)
    if type(decoder) is _LazyDecoder:
        decoder = decoder.load()  # outside the try: an import failure is not a layout error
    if decoder is not None:
        try:
            node = decoder(payload, offset)
        except (NodeLayoutError, struct.error, ValueError, IndexError, UnicodeError):
            node = None
        except EncodeError:
            node = None
        if node is not None:
            if key in _EXACT:
                return node
            try:
                if node.payload() == payload:
                    return node
            except (EncodeError, struct.error, ValueError):
                pass
    return RawNode(node_type, node_subtype, bytes(payload))


def check_payload_length(payload: bytes, expected: int) -> None:
    """Raise NodeLayoutError unless the payload has exactly ``expected`` bytes."""
    if len(payload) != expected:
        raise NodeLayoutError

