"""Every device path in the real-world corpus, with where it came from (for the tests)."""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

LOAD_OPTION_VAR = re.compile(r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-Fa-f]{4}-")
DEVICE_PATH_VAR = re.compile(r"^(ConIn|ConOut|ErrOut)(Dev)?-")


@dataclass(frozen=True)
class CorpusPath:
    source: str  # corpus-relative file, plus '#n' for the n-th path of a FilePathList
    data: bytes  # exactly one device path (End-Entire included)
    tsv_key: str | None  # the row of edk2-devicepath-text.tsv describing it, if any


def file_path_list(option: bytes) -> list[bytes]:
    """The device paths of an EFI_LOAD_OPTION, cut by hand: UINT32 Attributes,
    UINT16 FilePathListLength, NUL-terminated UCS-2 Description, then the list."""
    (path_list_length,) = struct.unpack_from("<H", option, 4)
    offset = 6
    while option[offset:offset + 2] != b"\0\0":
        offset += 2
    start = offset + 2
    blob = option[start:start + path_list_length]
    assert len(blob) == path_list_length, "FilePathListLength runs past the option"
    paths = []
    position = 0
    while position < len(blob):
        begin = position
        while True:
            node_type, subtype, length = struct.unpack_from("<BBH", blob, position)
            position += length
            if (node_type, subtype) == (0x7F, 0xFF):
                break
        paths.append(blob[begin:position])
    return paths


def _load_option_paths(option: bytes) -> list[bytes]:
    from efikit.codec.loadoption import LoadOption

    return [path.to_bytes() for path in LoadOption.from_bytes(option).file_paths]


def load_option_blobs() -> list[tuple[str, bytes]]:
    """(corpus-relative name, EFI_LOAD_OPTION bytes) for every load option in the corpus."""
    blobs = [(f.relative_to(CORPUS).as_posix(), f.read_bytes())
             for f in sorted((CORPUS / "loadoptions").glob("*.bin"))]
    blobs += [(f.relative_to(CORPUS).as_posix(), f.read_bytes()[4:])
              for f in sorted((CORPUS / "efivars").glob("*/*")) if LOAD_OPTION_VAR.match(f.name)]
    return blobs


def corpus_paths() -> list[CorpusPath]:
    items: list[CorpusPath] = []
    for dp in sorted((CORPUS / "devicepaths").glob("*.dp")):
        rel = dp.relative_to(CORPUS).as_posix()
        items.append(CorpusPath(rel, dp.read_bytes(), rel))
    for bin_file in sorted((CORPUS / "loadoptions").glob("*.bin")):
        rel = bin_file.relative_to(CORPUS).as_posix()
        for index, path in enumerate(_load_option_paths(bin_file.read_bytes())):
            # edk2 prints the FilePathList as one device path: it stops at the first End.
            items.append(CorpusPath(f"{rel}#{index}", path, rel if index == 0 else None))
    for var in sorted((CORPUS / "efivars").glob("*/*")):
        rel = var.relative_to(CORPUS).as_posix()
        payload = var.read_bytes()[4:]  # efivarfs: attribute word first
        if LOAD_OPTION_VAR.match(var.name):
            for index, path in enumerate(_load_option_paths(payload)):
                items.append(CorpusPath(f"{rel}#{index}", path, None))
        elif DEVICE_PATH_VAR.match(var.name):
            items.append(CorpusPath(rel, payload, None))
    return items
