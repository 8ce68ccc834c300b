"""edk2 variable-store flash images (OVMF_VARS.fd and friends).

Layout (MdePkg Pi/PiFirmwareVolume.h, MdeModulePkg Guid/VariableFormat.h):

* EFI_FIRMWARE_VOLUME_HEADER: ZeroVector[16], FileSystemGuid, FvLength u64 at 32, "_FVH" at 40,
  Attributes u32, HeaderLength u16 at 48, Checksum u16 at 50 (all u16 of the header sum to 0),
  ExtHeaderOffset u16, Reserved u8, Revision u8, then the block map {NumBlocks, Length} pairs
  ending with {0, 0}.
* VARIABLE_STORE_HEADER at HeaderLength: Signature GUID (authenticated or plain), Size u32
  (store including this header), Format 0x5A, State 0xFE, reserved (28 bytes).
* Variables from the next 4-byte boundary: header (StartId 0x55AA, State, Reserved, Attributes,
  [MonotonicCount u64, TimeStamp EFI_TIME, PubKeyIndex u32 in authenticated stores], NameSize,
  DataSize, VendorGuid), UCS-2 name with NUL, data; the next header at the next 4-byte boundary.
  The first StartId that is not 0x55AA ends the list; free space is erased flash (0xFF).

Everything outside the variable list (the FV header, the fault-tolerant-write area behind the
store, deleted records, padding) is kept byte for byte: open + save gives the same file.

Updates follow edk2: the old copy is marked deleted, the new one appended; when the store runs
out of room the live variables are compacted to its start (what edk2's reclaim does).
"""
from __future__ import annotations

import builtins
import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from efikit.errors import StoreError
from efikit.vars.atomic import (
    MAX_FLASH_SIZE,
    MAX_FLASH_TEXT,
    FileBacked,
    open_file_store,
)
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    Variable,
    VariableAttributes,
    VariableName,
    VariableNotFound,
    VariableStore,
    check_attributes,
    check_name,
    check_timestamp,
)

FV_SIGNATURE = b"_FVH"
FV_HEADER_MIN = 56 + 8  # fixed part + the block map's terminating {0, 0}
AUTHENTICATED_VARIABLE_GUID = uuid.UUID("aaf32c78-947b-439a-a180-2e144ec37792")
VARIABLE_GUID = uuid.UUID("ddcf3616-3275-4164-98b6-fe85707ffe7d")
VARIABLE_STORE_FORMATTED = 0x5A
VARIABLE_STORE_HEALTHY = 0xFE
STORE_HEADER_SIZE = 28

START_ID = 0x55AA
VAR_IN_DELETED_TRANSITION = 0xFE
VAR_DELETED = 0xFD
VAR_HEADER_VALID_ONLY = 0x7F
VAR_ADDED = 0x3F
STATE_IN_TRANSITION = VAR_ADDED & VAR_IN_DELETED_TRANSITION  # 0x3E: still live
STATE_REPLACED = VAR_ADDED & VAR_IN_DELETED_TRANSITION & VAR_DELETED  # 0x3C

AUTH_HEADER = struct.Struct("<HBBIQ16sIII16s")  # 60 bytes
PLAIN_HEADER = struct.Struct("<HBBIII16s")  # 32 bytes
_ZERO_TIME = bytes(16)


class CorruptStore(StoreError):
    """A varstore image whose headers or variable list are inconsistent; ``offset`` in bytes."""

    def __init__(self, source: str, offset: int, reason: str) -> None:
        super().__init__(f"{source}: corrupt edk2 varstore at offset {offset:#x}: {reason}")
        self.offset = offset
        self.reason = reason


def _align4(value: int) -> int:
    return (value + 3) & ~3


@dataclass(frozen=True)
class Record:
    """One variable header found in the store (live or not)."""

    offset: int
    state: int
    attributes: int
    monotonic_count: int
    timestamp: bytes
    pubkey_index: int
    name: str
    vendor: uuid.UUID
    data_offset: int
    data_size: int
    end: int  # offset of the next header (4-byte aligned)

    @property
    def live(self) -> bool:
        return self.state in (VAR_ADDED, STATE_IN_TRANSITION)


def _record_name(raw: bytes) -> str:
    """The UCS-2 name of a record, without its NUL. Every code unit decodes (a lone surrogate
    too); a dead record's name may be any bytes, so an odd last byte is dropped there."""
    usable = raw[: len(raw) // 2 * 2]
    if usable[-2:] == b"\0\0":
        usable = usable[:-2]
    return usable.decode("utf-16-le", "surrogatepass")


class Edk2Store(FileBacked, VariableStore):
    """An edk2 varstore image held in memory; file-backed when opened from a path."""

    kind = "edk2"

    def __init__(self, image: bytes, source: str, path: Path | None = None) -> None:
        super().__init__(source)
        self.path = path
        self._image = bytearray(image)
        self._parse_layout()
        self._parse_variables()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, lock: bool = False) -> Edk2Store:
        """Read a varstore file; with ``lock`` hold its directory's lock until ``close()`` (the
        whole read-plan-write cycle). Either way a save never overwrites another writer's
        change: it fails instead."""
        p = Path(path)
        return open_file_store(p, lock, MAX_FLASH_SIZE, MAX_FLASH_TEXT, "varstore",
                               lambda image: cls(image, str(p), p))

    @classmethod
    def from_bytes(cls, image: bytes, source: str = "<edk2 image>") -> Edk2Store:
        return cls(image, source, None)

    def to_bytes(self) -> bytes:
        return bytes(self._image)

    # --- parsing --------------------------------------------------------------------------
    def _corrupt(self, offset: int, reason: str) -> CorruptStore:
        return CorruptStore(self.source, offset, reason)

    def _parse_layout(self) -> None:
        img = self._image
        if len(img) < FV_HEADER_MIN:
            raise self._corrupt(0, f"{len(img)} bytes is too short for a firmware volume header")
        if img[40:44] != FV_SIGNATURE:
            raise self._corrupt(40, f"firmware volume signature is {bytes(img[40:44])!r}, not '_FVH'")
        fv_length, _sig, _attrs, header_length, _checksum = struct.unpack_from("<Q4sIHH", img, 32)
        if header_length < FV_HEADER_MIN or header_length % 2 or header_length > len(img):
            raise self._corrupt(48, f"firmware volume HeaderLength {header_length} is impossible")
        if fv_length > len(img):
            raise self._corrupt(
                32, f"FvLength {fv_length:#x} is larger than the file ({len(img):#x} bytes)"
            )
        total = sum(struct.unpack_from(f"<{header_length // 2}H", img, 0)) & 0xFFFF
        if total:
            raise self._corrupt(
                50, f"firmware volume header checksum does not add up (sum {total:#06x}, not 0)"
            )
        pos, blocks = 56, 0
        while True:
            if pos + 8 > header_length:
                raise self._corrupt(pos, "block map has no {0, 0} terminator inside the header")
            num, length = struct.unpack_from("<II", img, pos)
            pos += 8
            if num == 0 and length == 0:
                break
            blocks += num * length
        if blocks != fv_length:
            raise self._corrupt(
                56, f"block map covers {blocks:#x} bytes but FvLength is {fv_length:#x}"
            )
        store = header_length
        if store + STORE_HEADER_SIZE > fv_length:
            raise self._corrupt(store, "no room for the variable store header")
        signature = uuid.UUID(bytes_le=bytes(img[store : store + 16]))
        if signature == AUTHENTICATED_VARIABLE_GUID:
            self.authenticated = True
        elif signature == VARIABLE_GUID:
            self.authenticated = False
        else:
            raise self._corrupt(store, f"variable store signature {signature} is not an edk2 one")
        size, fmt, state = struct.unpack_from("<IBB", img, store + 16)
        if fmt != VARIABLE_STORE_FORMATTED:
            raise self._corrupt(store + 20, f"variable store Format is {fmt:#04x}, not 0x5a")
        if state != VARIABLE_STORE_HEALTHY:
            raise self._corrupt(store + 21, f"variable store State is {state:#04x}, not 0xfe")
        if size < STORE_HEADER_SIZE or store + size > fv_length:
            raise self._corrupt(
                store + 16, f"variable store Size {size:#x} runs past FvLength {fv_length:#x}"
            )
        self.fv_length = int(fv_length)
        self.store_offset = int(store)
        self.store_end = int(store + size)
        self.vars_start = _align4(store + STORE_HEADER_SIZE)
        self._header = AUTH_HEADER if self.authenticated else PLAIN_HEADER

    def _parse_variables(self) -> None:
        img = self._image
        header = self._header
        records: list[Record] = []
        pos = self.vars_start
        while pos + header.size <= self.store_end:
            (start_id,) = struct.unpack_from("<H", img, pos)
            if start_id != START_ID:
                break
            if self.authenticated:
                (_, state, _r, attrs, count, stamp, pk, name_size, data_size, guid) = (
                    AUTH_HEADER.unpack_from(img, pos)
                )
            else:
                (_, state, _r, attrs, name_size, data_size, guid) = PLAIN_HEADER.unpack_from(
                    img, pos
                )
                count, stamp, pk = 0, _ZERO_TIME, 0
            name_offset = pos + header.size
            data_offset = name_offset + name_size
            data_end = data_offset + data_size
            record_live = state in (VAR_ADDED, STATE_IN_TRANSITION)
            if data_end > self.store_end or name_size > self.store_end or data_size > self.store_end:
                if state == VAR_HEADER_VALID_ONLY:
                    break  # an interrupted write: edk2 ignores it and so do we
                # (a dead record too: the records behind it cannot be found without its sizes)
                raise self._corrupt(
                    pos,
                    f"variable NameSize {name_size} + DataSize {data_size} run past the end of "
                    f"the store at {self.store_end:#x}",
                )
            raw_name = bytes(img[name_offset:data_offset])
            if record_live and (name_size < 2 or name_size % 2 or raw_name[-2:] != b"\0\0"):
                raise self._corrupt(
                    name_offset, f"variable name of {name_size} bytes is not NUL-terminated UCS-2"
                )
            name = _record_name(raw_name)
            if record_live and "\0" in name:
                raise self._corrupt(name_offset, f"variable name {name!r} has an embedded NUL")
            records.append(
                Record(
                    offset=pos,
                    state=state,
                    attributes=attrs,
                    monotonic_count=count,
                    timestamp=stamp,
                    pubkey_index=pk,
                    name=name,
                    vendor=uuid.UUID(bytes_le=guid),
                    data_offset=data_offset,
                    data_size=data_size,
                    end=_align4(data_end),
                )
            )
            pos = _align4(data_end)
        if pos + header.size > self.store_end and pos + 2 <= self.store_end \
                and struct.unpack_from("<H", img, pos)[0] == START_ID:
            raise self._corrupt(pos, f"variable header cut off by the end of the store at "
                                     f"{self.store_end:#x}")
        self._records = records
        self.end = min(pos, self.store_end)
        live: dict[VariableName, Record] = {}
        for rec in records:
            if rec.state == VAR_ADDED:
                live[VariableName(rec.name, rec.vendor)] = rec
        for rec in records:  # an in-transition copy counts only when no added copy exists
            if rec.state == STATE_IN_TRANSITION:
                live.setdefault(VariableName(rec.name, rec.vendor), rec)
        self._live = live

    # --- reading --------------------------------------------------------------------------
    def list(self) -> builtins.list[VariableName]:
        return builtins.list(self._live)

    def record(self, name: str, vendor: uuid.UUID) -> Record | None:
        """The live header of a variable (monotonic count, pubkey index...), or None."""
        return self._live.get(VariableName(name, vendor))

    def records(self) -> builtins.list[Record]:
        """Every header in the store, deleted ones included, in store order."""
        return builtins.list(self._records)

    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        rec = self._live.get(VariableName(name, vendor))
        if rec is None:
            return None
        data = bytes(self._image[rec.data_offset : rec.data_offset + rec.data_size])
        stamp = rec.timestamp if self.authenticated and rec.timestamp != _ZERO_TIME else None
        return Variable(name, vendor, VariableAttributes(rec.attributes), data, stamp)

    @property
    def free_bytes(self) -> int:
        """Room left at the end of the variable list (without compaction)."""
        return self.store_end - self.end

    @property
    def reclaimable_bytes(self) -> int:
        """Room compaction would give back (deleted and replaced copies)."""
        used = sum(rec.end - rec.offset for rec in self._live.values())
        return self.store_end - self.vars_start - used - self.free_bytes

    # --- writing --------------------------------------------------------------------------
    def _encode(
        self, rec_name: str, vendor: uuid.UUID, attrs: int, data: bytes,
        count: int, stamp: bytes, pk: int,
    ) -> bytes:
        name_bytes = rec_name.encode("utf-16-le", "surrogatepass") + b"\0\0"
        if self.authenticated:
            head = AUTH_HEADER.pack(
                START_ID, VAR_ADDED, 0, attrs, count, stamp, pk,
                len(name_bytes), len(data), vendor.bytes_le,
            )
        else:
            head = PLAIN_HEADER.pack(
                START_ID, VAR_ADDED, 0, attrs, len(name_bytes), len(data), vendor.bytes_le
            )
        body = head + name_bytes + data
        return body + b"\xff" * (_align4(len(body)) - len(body))

    def set(
        self,
        name: str,
        vendor: uuid.UUID,
        data: bytes,
        attributes: VariableAttributes = DEFAULT_ATTRIBUTES,
        *,
        timestamp: bytes | None = None,
    ) -> None:
        check_name(name)
        check_timestamp(timestamp)
        attrs = check_attributes(attributes)
        data = bytes(data)
        old = self._live.get(VariableName(name, vendor))
        count, pk = 0, 0
        stamp = timestamp if timestamp is not None else _ZERO_TIME
        if old is not None:
            count, pk = old.monotonic_count, old.pubkey_index
            if timestamp is None:
                stamp = old.timestamp
            same_data = self._image[old.data_offset : old.data_offset + old.data_size] == data
            if same_data and old.attributes == attrs and old.timestamp == stamp:
                return  # edk2 also skips a write that changes nothing
        blob = self._encode(name, vendor, attrs, data, count, stamp, pk)
        if len(blob) > self.store_end - self.vars_start:
            raise StoreError(
                f"variable {name}-{vendor} ({len(data)} bytes of data) does not fit in the "
                f"varstore at all ({self.store_end - self.vars_start} bytes)"
            )
        free_after_compaction = self.free_bytes + self.reclaimable_bytes
        if old is not None:
            free_after_compaction += old.end - old.offset
        if len(blob) > free_after_compaction:
            raise StoreError(
                f"varstore {self.source} is full: {name}-{vendor} needs {len(blob)} bytes, "
                f"only {free_after_compaction} would be free even after compaction"
            )
        with self._mutation():
            if old is not None:
                self._mark(old, STATE_REPLACED)
            if len(blob) > self.free_bytes or not self._is_erased(self.end, len(blob)):
                self._compact()
            self._image[self.end : self.end + len(blob)] = blob
            self._parse_variables()

    def delete(self, name: str, vendor: uuid.UUID) -> None:
        key = VariableName(name, vendor)
        if key not in self._live:
            raise VariableNotFound(name, vendor, self.source)
        with self._mutation():
            for rec in self._records:
                if rec.live and rec.name == name and rec.vendor == vendor:
                    self._mark(rec, rec.state & VAR_DELETED)
            self._parse_variables()

    def _mark(self, rec: Record, state: int) -> None:
        self._image[rec.offset + 2] = state

    def _is_erased(self, offset: int, size: int) -> bool:
        return self._image[offset : offset + size] == b"\xff" * size

    def compact(self) -> None:
        """Drop deleted copies now (edk2's reclaim), e.g. before handing the image to firmware."""
        with self._mutation():
            self._compact()

    def _compact(self) -> None:
        parts = []
        for rec in sorted(self._live.values(), key=lambda r: r.offset):
            chunk = bytearray(self._image[rec.offset : rec.end])
            chunk[2] = VAR_ADDED  # a surviving in-transition copy becomes the added one
            parts.append(bytes(chunk))
        region = b"".join(parts)
        size = self.store_end - self.vars_start
        self._image[self.vars_start : self.store_end] = region + b"\xff" * (size - len(region))
        self._parse_variables()

    # --- file I/O -------------------------------------------------------------------------
    def _snapshot(self) -> object:
        return bytes(self._image)

    def _restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, bytes)
        self._image = bytearray(snapshot)
        self._parse_variables()

    def _file_bytes(self) -> bytes:
        return self.to_bytes()
