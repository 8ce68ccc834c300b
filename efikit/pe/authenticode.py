"""The Authenticode hash of a PE image, exactly as edk2 computes it.

edk2 (DxeImageVerificationLib for Secure Boot, the TCG measure-boot code for PCR 4) and the
Authenticode specification hash:

1. the headers from offset 0 up to the CheckSum field, skipping its 4 bytes;
2. on to the security data directory entry, skipping its 8 bytes (when the header has one);
3. on to SizeOfHeaders;
4. every section with raw data, in PointerToRawData order, SizeOfRawData bytes each;
5. the trailer: from SUM_OF_BYTES_HASHED (SizeOfHeaders + all SizeOfRawData) up to the file
   size minus the certificate table size.

Step 5 starts at SUM_OF_BYTES_HASHED, not at the end of the last section; the two are the same
when section data is contiguous (``PELayout.sections_contiguous``), which every linker produces.

The *padded* variant (``pesign -P``, sbsign) appends zero bytes as if the file, without its
certificate table, had been padded with zeros to a multiple of 8 bytes before hashing: sbsign
pads the file that way before it signs, so for a file it signed both variants agree.

The file is streamed through a fixed buffer (``readinto``), never read whole and never mapped
whole (mapped pages count against the process's resident memory).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

from efikit.fileio import open_regular_file
from efikit.errors import PEFormatError, UsageError
from efikit.pe.layout import PELayout, read_layout

ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
# 256 KiB reads: large enough that per-call overhead vanishes, small enough for the L2 cache.
BUFFER_SIZE = 256 << 10
PAD_ALIGNMENT = 8


@dataclass(frozen=True)
class HashRange:
    """``length`` bytes of the file at ``offset`` that go into the hash, in this order."""

    offset: int
    length: int


@dataclass(frozen=True)
class HashPlan:
    """What to hash: file ranges, then ``padding`` zero bytes (padded variant only)."""

    ranges: tuple[HashRange, ...]
    padding: int

    @property
    def hashed_bytes(self) -> int:
        return sum(r.length for r in self.ranges) + self.padding


def hash_plan(layout: PELayout, padded: bool = False) -> HashPlan:
    """The byte ranges edk2 hashes for this image (``padded``: pesign -P / sbsign variant)."""
    ranges: list[HashRange] = []

    def add(start: int, end: int) -> None:
        if end > start:
            ranges.append(HashRange(start, end - start))

    add(0, layout.checksum_offset)
    after_checksum = layout.checksum_offset + 4
    directory = layout.security_directory
    if directory is not None:
        add(after_checksum, directory.entry_offset)
        add(directory.entry_offset + 8, layout.size_of_headers)
        cert_size = directory.size
    else:
        add(after_checksum, layout.size_of_headers)
        cert_size = 0
    for section in layout.sections_by_file_offset:
        add(section.pointer_to_raw_data, section.raw_end)
    trailer_start = layout.sum_of_bytes_hashed
    trailer_end = layout.file_size - cert_size
    add(trailer_start, trailer_end)
    # pesign -P pads as if the file (without its certificate table) were padded to a multiple
    # of 8, which is what sbsign does to the file before it signs.
    padding = -trailer_end % PAD_ALIGNMENT if padded else 0
    return HashPlan(tuple(ranges), padding)


def _new_hashers(algorithms: Iterable[str]) -> dict[str, "hashlib._Hash"]:
    hashers = {}
    for name in algorithms:
        key = name.lower().replace("-", "")
        if key not in ALGORITHMS:
            raise UsageError(f"unknown hash algorithm {name!r} (choose from {', '.join(ALGORITHMS)})")
        hashers[key] = hashlib.new(key)
    if not hashers:
        raise UsageError("no hash algorithm given")
    return hashers


def _stream(f: BinaryIO, plan: HashPlan, hashers: dict[str, "hashlib._Hash"],
            progress: Callable[[int, int], None] | None = None) -> None:
    """Hash ``plan``'s ranges; ``progress(done, total)`` after each chunk when given."""
    total = plan.hashed_bytes
    done = 0
    buffer = bytearray(BUFFER_SIZE)
    view = memoryview(buffer)
    updates = [h.update for h in hashers.values()]
    fd = f.fileno() if hasattr(f, "fileno") else None
    for r in plan.ranges:
        remaining, position = r.length, r.offset
        if fd is None:
            f.seek(position)
        while remaining:
            want = min(remaining, BUFFER_SIZE)
            if fd is not None:
                got = os.preadv(fd, [view[:want]], position)
            else:
                got = f.readinto(view[:want])  # type: ignore[attr-defined]
            if not got:
                raise PEFormatError(f"file shrank while hashing: no data at {position:#x}")
            chunk = view[:got]
            for update in updates:
                update(chunk)
            remaining -= got
            position += got
            if progress is not None:
                done += got
                progress(done, total)
    if plan.padding:
        zeros = bytes(plan.padding)
        for update in updates:
            update(zeros)


def authenticode_digests(path: str | os.PathLike[str], algorithms: Iterable[str] = ("sha256",),
                         padded: bool = False,
                         progress: Callable[[int, int], None] | None = None) -> dict[str, bytes]:
    """Authenticode digests of the file at ``path``, one per algorithm, in one pass
    (``progress(bytes_done, bytes_total)`` is called as it goes, when given)."""
    hashers = _new_hashers(algorithms)
    with open_regular_file(path, buffering=0) as f:
        layout = read_layout(f)
        _stream(f, hash_plan(layout, padded), hashers, progress)
    return {name: h.digest() for name, h in hashers.items()}


def authenticode_hash(path: str | os.PathLike[str], algorithm: str = "sha256",
                      padded: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> bytes:
    """The Authenticode digest of the file at ``path`` with one algorithm."""
    return next(iter(authenticode_digests(path, (algorithm,), padded, progress).values()))


def authenticode_digests_of(f: BinaryIO, layout: PELayout, algorithms: Iterable[str]
                            ) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Plain and padded digests of an already open image, in one pass over the file."""
    hashers = _new_hashers(algorithms)
    plan = hash_plan(layout, padded=True)
    _stream(f, HashPlan(plan.ranges, 0), hashers)
    plain = {name: h.digest() for name, h in hashers.items()}
    padded = {}
    for name, h in hashers.items():
        h2 = h.copy()
        h2.update(bytes(plan.padding))
        padded[name] = h2.digest()
    return plain, padded
