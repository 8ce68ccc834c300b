"""Media device-path nodes (type 0x04) that boot entries use: HD, file path, Fv/FvFile,
Media protocol, VenMedia. CDROM, Offset and RamDisk live in nodes_media_misc."""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import ClassVar

from efikit.codec.guid import guid_from_bytes, guid_text
from efikit.codec.ucs2 import decode_ucs2, encode_ucs2
from efikit.errors import DecodeError, EncodeError

from .base import (
    TYPE_MEDIA,
    FixedLayoutNode,
    Node,
    NodeLayoutError,
    check_payload_length,
    register_layout_text,
    register_node,
    register_text,
)
from .textparse import TextArgs, keyword
from .vendor import VendorNode, parse_vendor

SIGNATURE_NONE = 0
SIGNATURE_MBR = 1
SIGNATURE_GPT = 2
MBR_TYPE_PCAT = 1
MBR_TYPE_GPT = 2


def hard_drive_text(fields: tuple[int, int, int, bytes, int, int]) -> str:
    """HD() from (number, start, size, signature, MBR type, signature type)."""
    number, start, size, signature, _, signature_type = fields
    # edk2 prints the UINT32 partition number with %d: 0x80000000 and up come out negative.
    if number >> 31:
        number -= 1 << 32
    if signature_type == SIGNATURE_GPT:
        return "HD(%d,GPT,%s,0x%X,0x%X)" % (number, guid_text(signature), start, size)
    if signature_type == SIGNATURE_MBR:
        return "HD(%d,MBR,0x%08X,0x%X,0x%X)" % (
            number, int.from_bytes(signature[:4], "little"), start, size)
    return "HD(%d,%d,0,0x%X,0x%X)" % (number, signature_type, start, size)


_HARD_DRIVE = struct.Struct("<IQQ16sBB")


@register_node
@dataclass(frozen=True, slots=True)
class HardDriveNode(FixedLayoutNode):
    """HD(): a partition. ``signature`` is the raw 16 bytes (GUID for GPT, UINT32 for MBR)."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x01
    _LAYOUT: ClassVar[struct.Struct] = _HARD_DRIVE

    partition_number: int
    partition_start: int
    partition_size: int
    signature: bytes
    mbr_type: int
    signature_type: int

    @classmethod
    def gpt(cls, partition_number: int, partition_guid: uuid.UUID, start: int,
            size: int) -> HardDriveNode:
        return cls(partition_number, start, size, partition_guid.bytes_le, MBR_TYPE_GPT,
                   SIGNATURE_GPT)

    @classmethod
    def mbr(cls, partition_number: int, disk_signature: int, start: int,
            size: int) -> HardDriveNode:
        return cls(partition_number, start, size, struct.pack("<I", disk_signature) + bytes(12),
                   MBR_TYPE_PCAT, SIGNATURE_MBR)

    @property
    def partition_guid(self) -> uuid.UUID | None:
        if self.signature_type != SIGNATURE_GPT:
            return None
        return guid_from_bytes(self.signature)

    @property
    def mbr_signature(self) -> int | None:
        if self.signature_type != SIGNATURE_MBR:
            return None
        return int.from_bytes(self.signature[:4], "little")

    def to_text(self, display_only: bool = False) -> str:
        return hard_drive_text((self.partition_number, self.partition_start,
                                self.partition_size, self.signature, self.mbr_type,
                                self.signature_type))


register_layout_text(TYPE_MEDIA, 0x01, _HARD_DRIVE, hard_drive_text)


def _partition_number(args: TextArgs) -> int:
    raw = args.text(0)
    if raw.startswith("-") and raw[1:].isascii() and raw[1:].isdigit():
        value = int(raw)
        if value < -(1 << 31):
            raise args.fail(0, "partition number of at least -2147483648")
        return value & 0xFFFFFFFF  # what edk2 prints for numbers from 0x80000000
    return args.uint(0, 32, name="partition number")


@keyword("HD")
def _parse_hd(args: TextArgs) -> Node:
    args.at_most(5)
    number = _partition_number(args)
    kind = args.text(1)
    start = args.uint(3, 64, name="partition start")
    size = args.uint(4, 64, name="partition size")
    if kind.upper() == "GPT":
        return HardDriveNode.gpt(number, args.guid(2, "partition GUID"), start, size)
    if kind.upper() == "MBR":
        return HardDriveNode.mbr(number, args.uint(2, 32, name="MBR disk signature"), start, size)
    signature_type = args.uint(1, 8, name="signature type (MBR, GPT or a number)")
    return HardDriveNode(number, start, size, bytes(16), 0, signature_type)


@register_node
@dataclass(frozen=True, slots=True)
class FilePathNode(Node):
    """A file path, e.g. ``\\EFI\\BOOT\\BOOTX64.EFI`` (UCS-2, NUL-terminated)."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x04

    path: str

    def payload(self) -> bytes:
        path = self.path
        if "\0" in path:
            raise EncodeError("a file path cannot contain NUL")
        return encode_ucs2(path)

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        path = file_path_from_payload(payload, offset)
        if path is None:
            raise NodeLayoutError  # no terminator, or bytes after it: keep raw
        return cls(path)

    def to_text(self, display_only: bool = False) -> str:
        return self.path


def file_path_from_payload(payload: bytes, offset: int) -> str | None:
    """The path a FILEPATH payload holds; None if it is not exactly one NUL-terminated
    string; DecodeError for an odd length or a lone surrogate (as decode_ucs2)."""
    if len(payload) % 2:
        raise DecodeError("odd-length UCS-2 string in file-path node", offset)
    if payload[-2:] != b"\0\0":
        return None
    raw = payload[:-2]
    path = str(raw, "utf-16-le", "surrogatepass")
    if "\0" in path:  # an earlier NUL code unit: bytes after the terminator
        return None
    return path if path.isascii() else decode_ucs2(raw, offset)


def _check_file_path(payload: bytes, offset: int) -> None:
    """Raise what FilePathNode.from_payload raises (the common case: no error, quickly)."""
    if len(payload) % 2 == 0:
        try:
            payload.decode("utf-16-le")  # strict: fails on every lone surrogate
            return
        except UnicodeDecodeError:
            pass
    file_path_from_payload(payload, offset)


def _file_path_text_at(data: bytes, start: int, end: int, display_only: bool) -> str | None:
    path = file_path_from_payload(data[start:end], start)
    # An ASCII path re-encodes exactly; anything else goes through the object model.
    return path if path is not None and path.isascii() else None


register_text(TYPE_MEDIA, 0x04, _file_path_text_at, _check_file_path)


@keyword("File")
def _parse_file(args: TextArgs) -> Node:
    """People's File(\\path) spelling; forward slashes are path separators there, and
    blanks at either end are a paste's."""
    return FilePathNode(args.inner.strip().replace("/", "\\"))


@keyword("VenMedia")
def _parse_venmedia(args: TextArgs) -> VendorNode:
    return parse_vendor(TYPE_MEDIA, args)


def guid_only_text(keyword_name: str, guid: str) -> str:
    return f"{keyword_name}({guid})"


@dataclass(frozen=True, slots=True)
class _GuidOnlyNode(Node):
    guid: uuid.UUID
    KEYWORD: ClassVar[str] = ""
    EXACT_LAYOUT: ClassVar[bool] = True

    def payload(self) -> bytes:
        return self.guid.bytes_le

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        check_payload_length(payload, 16)
        return cls(guid_from_bytes(payload))

    def to_text(self, display_only: bool = False) -> str:
        return guid_only_text(self.KEYWORD, guid_text(self.guid.bytes_le))


@register_node
@dataclass(frozen=True, slots=True)
class FvFileNode(_GuidOnlyNode):
    """PIWG firmware file: FvFile(GUID)."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x06
    KEYWORD: ClassVar[str] = "FvFile"


@register_node
@dataclass(frozen=True, slots=True)
class FvNode(_GuidOnlyNode):
    """PIWG firmware volume: Fv(GUID)."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x07
    KEYWORD: ClassVar[str] = "Fv"


@register_node
@dataclass(frozen=True, slots=True)
class MediaProtocolNode(_GuidOnlyNode):
    """Media protocol: Media(GUID)."""

    TYPE: ClassVar[int] = TYPE_MEDIA
    SUBTYPE: ClassVar[int] = 0x05
    KEYWORD: ClassVar[str] = "Media"


def _register_guid_only_text(cls: type[_GuidOnlyNode]) -> None:
    name = cls.KEYWORD

    def render(data: bytes, start: int, end: int, display_only: bool) -> str | None:
        return guid_only_text(name, guid_text(data, start)) if end - start == 16 else None

    register_text(cls.TYPE, cls.SUBTYPE, render)


for _cls in (FvFileNode, FvNode, MediaProtocolNode):
    _register_guid_only_text(_cls)


def _register_guid_keyword(cls: type[_GuidOnlyNode], *names: str) -> None:
    @keyword(*names)
    def _parse(args: TextArgs) -> Node:
        args.at_most(1)
        return cls(args.guid(0))


_register_guid_keyword(FvFileNode, "FvFile")
_register_guid_keyword(FvNode, "Fv", "FvVol")  # FvVol: efibootmgr's spelling
_register_guid_keyword(MediaProtocolNode, "Media")


VIRTUAL_DISK_GUID = uuid.UUID("77AB535A-45FC-624B-5560-F7B281D1F96E")
VIRTUAL_CD_GUID = uuid.UUID("3D5ABD30-4175-87CE-6D64-D2ADE523C4BB")
PERSISTENT_VIRTUAL_DISK_GUID = uuid.UUID("5CEA02C9-4D07-69D3-269F-4496FBE096F9")
PERSISTENT_VIRTUAL_CD_GUID = uuid.UUID("08018188-42CD-BB48-100F-5387D53DED3D")

# RAM disk type GUID → the keyword edk2 prints instead of RamDisk(...) (RamDiskNode is in
# nodes_media_misc; the table stays here, where it has always been importable from).
RAM_DISK_ALIASES: dict[uuid.UUID, str] = {
    VIRTUAL_DISK_GUID: "VirtualDisk",
    VIRTUAL_CD_GUID: "VirtualCD",
    PERSISTENT_VIRTUAL_DISK_GUID: "PersistentVirtualDisk",
    PERSISTENT_VIRTUAL_CD_GUID: "PersistentVirtualCD",
}
