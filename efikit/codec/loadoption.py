"""EFI_LOAD_OPTION: the payload of Boot####, Driver####, SysPrep#### and PlatformRecovery####.

Layout: UINT32 Attributes, UINT16 FilePathListLength, CHAR16 Description[] (NUL-terminated),
EFI_DEVICE_PATH FilePathList[] (FilePathListLength bytes, one or more device paths),
UINT8 OptionalData[] (the rest).
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption_header import CATEGORY_APP as CATEGORY_APP
from efikit.codec.loadoption_header import CATEGORY_BOOT as CATEGORY_BOOT
from efikit.codec.loadoption_header import CATEGORY_MASK
from efikit.codec.loadoption_header import LoadOptionAttributes as LoadOptionAttributes
from efikit.codec.loadoption_header import read_header
from efikit.codec.ucs2 import decode_ucs2, encode_ucs2
from efikit.errors import DecodeError, EncodeError


@dataclass(frozen=True, slots=True)
class LoadOption:
    attributes: LoadOptionAttributes
    description: str
    file_paths: tuple[DevicePath, ...]
    optional_data: bytes = b""

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def create(cls, description: str, device_path: DevicePath, optional_data: bytes = b"",
               active: bool = True, hidden: bool = False) -> LoadOption:
        attributes = LoadOptionAttributes(0)
        if active:
            attributes |= LoadOptionAttributes.ACTIVE
        if hidden:
            attributes |= LoadOptionAttributes.HIDDEN
        return cls(attributes, description, (device_path,), optional_data)

    # ---- named views of the attribute bits ------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.attributes & LoadOptionAttributes.ACTIVE)

    @property
    def hidden(self) -> bool:
        return bool(self.attributes & LoadOptionAttributes.HIDDEN)

    @property
    def force_reconnect(self) -> bool:
        return bool(self.attributes & LoadOptionAttributes.FORCE_RECONNECT)

    @property
    def category(self) -> int:
        """0 = boot, 1 = application; other values are reserved but kept."""
        return (int(self.attributes) & CATEGORY_MASK) >> 8

    def with_flag(self, flag: LoadOptionAttributes, on: bool) -> LoadOption:
        # int(): IntFlag's ~flag is the complement within the known bits, which would drop
        # the unknown ones
        attributes = int(self.attributes) | flag if on else int(self.attributes) & ~int(flag)
        return replace(self, attributes=LoadOptionAttributes(attributes))

    @property
    def device_path(self) -> DevicePath | None:
        """The first (boot) device path, or None for an empty FilePathList."""
        return self.file_paths[0] if self.file_paths else None

    def optional_data_text(self) -> str | None:
        """The optional data as text when it is UCS-2 (as efibootmgr shows it), else None."""
        return ucs2_text_or_none(self.optional_data)

    # ---- binary ---------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> LoadOption:
        attributes, description, list_start, list_end = read_header(data)
        if type(data) is not bytes:
            data = bytes(data)  # the paths keep it
        paths: list[DevicePath] = []
        position = list_start
        while position < list_end:
            try:
                path, position = DevicePath.decode_at(data, position, list_end)
            except DecodeError as error:
                raise path_list_error(list_end - list_start, error) from None
            paths.append(path)
        return cls(attribute_flags(attributes), description, tuple(paths), data[list_end:])

    def to_bytes(self) -> bytes:
        file_path_list = b"".join(path.to_bytes() for path in self.file_paths)
        if len(file_path_list) > 0xFFFF:
            raise EncodeError(f"FilePathList is {len(file_path_list)} bytes; at most 65535 fit")
        attributes = int(self.attributes)
        if not 0 <= attributes <= 0xFFFFFFFF:
            raise EncodeError(f"attributes 0x{attributes:X} do not fit in 32 bits")
        return (struct.pack("<IH", attributes, len(file_path_list))
                + encode_ucs2(self.description) + file_path_list + self.optional_data)


def path_list_error(list_length: int, error: DecodeError) -> DecodeError:
    """The error of a load option whose FilePathList does not decode."""
    return DecodeError(f"FilePathListLength {list_length} disagrees with the device-path "
                       f"nodes: {error.reason}", error.offset)


_FLAGS: dict[int, LoadOptionAttributes] = {}


def attribute_flags(value: int) -> LoadOptionAttributes:
    """LoadOptionAttributes(value), remembered for the few values machines use (building
    an IntFlag costs a microsecond, more than the rest of a short option's header)."""
    flags = _FLAGS.get(value)
    if flags is None:
        flags = LoadOptionAttributes(value)
        if len(_FLAGS) < 64:
            _FLAGS[value] = flags
    return flags


def more_paths_marker(extra_paths: int) -> str:
    """What text output shows after the first device path of an option with several: edk2
    and efibootmgr print only the first, and joining them with ',' would read back as one
    multi-instance path (different bytes). Not device-path text, so it cannot be mistaken."""
    if extra_paths <= 0:
        return ""
    return f" [+{extra_paths} more device path{'s' if extra_paths > 1 else ''}]"


def paths_text(path_texts: Sequence[str]) -> str:
    """The device-path column of an option: its first path, marked if more follow."""
    if not path_texts:
        return ""
    return path_texts[0] + more_paths_marker(len(path_texts) - 1)


def ucs2_text_or_none(data: bytes) -> str | None:
    """Decode data that looks like printable UCS-2 text (optionally NUL-terminated)."""
    if len(data) < 2 or len(data) % 2:
        return None
    body = data[:-2] if data.endswith(b"\x00\x00") else data
    try:
        text = decode_ucs2(body)
    except DecodeError:
        return None
    if not text or not all(ch.isprintable() or ch in "\t" for ch in text):
        return None
    return text
