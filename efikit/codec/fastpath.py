"""Bytes → text without building the object model, when the native codec can do it.

``device_path_to_text`` gives exactly what ``DevicePath.from_bytes(data).to_text(...)``
gives, same DecodeErrors included: the C renderer prints only node types whose Python
rendering it mirrors (tests/test_native_differential.py checks that on the corpus and on
generated inputs) and hands every other case, and every error but a framing error, to
the Python codec.
"""
from __future__ import annotations

from dataclasses import dataclass

from efikit.codec._backend import STATUS_OK, native_lib
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.base import _DECODERS
from efikit.codec.devpath.framing import FRAMING_ERRORS
from efikit.codec.loadoption import LoadOption
from efikit.errors import DecodeError

_registered_map = b""
_registered_count = -1


def registered_map() -> bytes:
    """65536-bit map of the (type, subtype) pairs the Python codec decodes (bit t<<8|s)."""
    global _registered_map, _registered_count
    if _registered_count != len(_DECODERS):
        bits = bytearray(8192)
        for node_type, node_subtype in _DECODERS:
            key = (node_type << 8) | node_subtype
            bits[key >> 3] |= 1 << (key & 7)
        _registered_map, _registered_count = bytes(bits), len(_DECODERS)
    return _registered_map


def device_path_to_text(data: bytes, display_only: bool = False) -> str:
    """The edk2 text of one whole device path (AllowShortcuts=FALSE)."""
    lib = native_lib
    if lib is not None:
        if type(data) is not bytes:
            data = bytes(data)
        if lib.accepts(data, len(data)):
            status, text, offset = lib.devpath_to_text(data, display_only, registered_map())
            if status == STATUS_OK:
                return text
            message = FRAMING_ERRORS.get(status)
            if message is not None:
                raise DecodeError(message, offset)
    return DevicePath.from_bytes(data).to_text(display_only)


def device_path_to_text_python(data: bytes, display_only: bool = False) -> str:
    """The same, always through the object model (the reference for the native path)."""
    return DevicePath.from_bytes(data).to_text(display_only)


@dataclass(frozen=True, slots=True)
class LoadOptionText:
    """A load option as text: what ``efikit boot list`` shows, without the object model."""

    attributes: int
    description: str
    paths: tuple[str, ...]
    optional_data: bytes


def load_option_to_text(data: bytes, display_only: bool = False) -> LoadOptionText:
    """``LoadOption.from_bytes(data)`` with each device path's text; same errors."""
    lib = native_lib
    if lib is not None:
        if type(data) is not bytes:
            data = bytes(data)
        if lib.accepts(data, len(data)):
            done = lib.load_option_to_text(data, display_only, registered_map())
            if done is not None:
                attributes, optional_start, texts = done
                return LoadOptionText(attributes, texts[0], tuple(texts[1:]),
                                      data[optional_start:])
    return load_option_to_text_python(data, display_only)


def load_option_to_text_python(data: bytes, display_only: bool = False) -> LoadOptionText:
    option = LoadOption.from_bytes(data)
    return LoadOptionText(int(option.attributes), option.description,
                          tuple(path.to_text(display_only) for path in option.file_paths),
                          option.optional_data)
