"""Bytes → text without building the object model, when the native codec can do it.

``device_path_to_text`` gives exactly what ``DevicePath.from_bytes(data).to_text(...)``
gives, same DecodeErrors included: the C renderer prints only node types whose Python
rendering it mirrors (tests/test_native_differential.py checks that on the corpus and on
generated inputs) and hands every other case, and every error but a framing error, to
the Python codec.
"""
from __future__ import annotations

from efikit.codec._backend import STATUS_OK, native_lib
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.base import _DECODERS
from efikit.codec.devpath.framing import FRAMING_ERRORS
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
