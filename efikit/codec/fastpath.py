"""Bytes ↔ text without building the object model.

``device_path_to_text`` gives exactly what ``DevicePath.from_bytes(data).to_text(...)``
gives, and ``load_option_to_text`` what ``LoadOption.from_bytes(data)`` plus each path's
text give, same DecodeErrors included. With the native codec, the C renderer prints only
node types whose Python rendering it mirrors (tests/test_native_differential.py checks that
on the corpus and on generated inputs) and hands every other case, and every error but a
framing error, to the Python codec. Without it, they are ``device_path_to_text_pure`` and
``load_option_to_text_pure``: one pass over the bytes that prints common nodes straight
from their payloads with the node classes' own formatting (devpath.path.render_device_path;
tests/test_devpath_speedpaths.py checks them against the object model).
``device_path_text_to_bytes`` is ``DevicePath.from_text(t).to_bytes()``; its C parser takes
only the canonical spelling of common nodes and leaves everything else (errors included) to
the Python parser.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from efikit.codec._backend import native_lib
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.base import _DECODERS
from efikit.codec.devpath.framing import FRAMING_ERRORS
from efikit.codec.devpath.path import render_device_path
from efikit.codec.devpath.textparse import _KEYWORDS, keyword_parser
from efikit.codec.loadoption import LoadOption, path_list_error
from efikit.codec.loadoption_header import read_header
from efikit.errors import DecodeError

_registered_map = b""
_registered_count = -1


def registered_map() -> bytes:
    """65536-bit map of the (type, subtype) pairs the Python codec decodes (bit t<<8|s);
    rebuilt whenever a node module registers another decoder."""
    global _registered_map, _registered_count
    if _registered_count == len(_DECODERS):
        return _registered_map
    bits = bytearray(8192)
    for node_type, node_subtype in _DECODERS:
        key = (node_type << 8) | node_subtype
        bits[key >> 3] |= 1 << (key & 7)
    _registered_map, _registered_count = bytes(bits), len(_DECODERS)
    return _registered_map


# The keywords native/devpath_parse.c parses, in the order of its KW_* bits.
NATIVE_KEYWORDS = ("Pci", "PciRoot", "PcieRoot", "Floppy", "Keyboard", "Serial",
                   "ParallelPort", "Acpi", "HD", "Fv", "FvFile", "VenHw", "VenMsg", "VenMedia",
                   "USB", "Sata", "Scsi", "NVMe", "AcpiAdr", "Uart")
_keyword_mask = 0
_keyword_count = -1


def keyword_mask() -> int:
    """Bit i set when the Python parser knows NATIVE_KEYWORDS[i] (else it is a file name).
    keyword_parser loads the node modules of lazily registered keywords."""
    global _keyword_mask, _keyword_count
    if _keyword_count != len(_KEYWORDS):
        _keyword_mask = sum(1 << i for i, name in enumerate(NATIVE_KEYWORDS)
                            if keyword_parser(name) is not None)
        _keyword_count = len(_KEYWORDS)
    return _keyword_mask


class LoadOptionText(NamedTuple):
    """A load option as text: what ``efikit boot list`` shows, without the object model.
    (An immutable NamedTuple rather than a frozen dataclass: building one is 4x cheaper,
    which is a third of the native fast path's cost.)"""

    attributes: int
    description: str
    paths: tuple[str, ...]
    optional_data: bytes


def device_path_to_text_python(data: bytes, display_only: bool = False) -> str:
    """Always through the object model (the reference for the native path)."""
    return DevicePath.from_bytes(data).to_text(display_only)


def load_option_to_text_python(data: bytes, display_only: bool = False) -> LoadOptionText:
    """Always through the object model (the reference for the native path)."""
    option = LoadOption.from_bytes(data)
    return LoadOptionText(int(option.attributes), option.description,
                          tuple(path.to_text(display_only) for path in option.file_paths),
                          option.optional_data)


def device_path_to_text_pure(data: bytes, display_only: bool = False) -> str:
    """The pure-Python fast path (device_path_to_text without the native codec)."""
    if type(data) is not bytes:
        data = bytes(data)
    text, end = render_device_path(data, 0, len(data), display_only)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} byte(s) after the End-of-path node", end)
    return text


def load_option_to_text_pure(data: bytes, display_only: bool = False) -> LoadOptionText:
    """The pure-Python fast path (load_option_to_text without the native codec)."""
    attributes, description, start, end = read_header(data)
    if type(data) is not bytes:
        data = bytes(data)
    paths: list[str] = []
    position = start
    while position < end:
        try:
            text, position = render_device_path(data, position, end, display_only)
        except DecodeError as error:
            raise path_list_error(end - start, error) from None
        paths.append(text)
    return LoadOptionText(attributes, description, tuple(paths), data[end:])


def device_path_text_to_bytes_python(text: str) -> bytes:
    """Always through the object model (the reference for the native path)."""
    return DevicePath.from_text(text).to_bytes()


def _framing_error(code: int, offset: int) -> DecodeError:
    return DecodeError(FRAMING_ERRORS[code], offset)


device_path_to_text: Callable[..., str]
load_option_to_text: Callable[..., LoadOptionText]
device_path_text_to_bytes: Callable[[str], bytes]
if native_lib is not None:
    device_path_text_to_bytes = native_lib.make_text_to_bytes(
        keyword_mask, device_path_text_to_bytes_python)
    device_path_to_text = native_lib.make_devpath_to_text(
        _DECODERS, registered_map, _framing_error, device_path_to_text_python)
    load_option_to_text = native_lib.make_load_option_to_text(
        _DECODERS, registered_map, load_option_to_text_python, LoadOptionText)
else:
    device_path_text_to_bytes = device_path_text_to_bytes_python
    device_path_to_text = device_path_to_text_pure
    load_option_to_text = load_option_to_text_pure
