"""When two load options are "the same entry", and how a user names one without its number.

Two options boot the same thing when their device paths lead to the same loader and they pass
it the same optional data. The loader's file path is compared case-insensitively (FAT, the
ESP's file system, ignores case) and with the FILEPATH nodes joined, so ``\\EFI\\x`` +
``y.efi`` equals ``\\EFI\\X\\Y.EFI``; every other node, later device paths and the optional
data are compared byte for byte. Labels and attributes do not count: they describe an entry,
they do not change what it boots.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from efikit.codec.devpath import DevicePath
    from efikit.codec.loadoption import LoadOption


class LoaderKey(NamedTuple):
    """What an option boots: equal keys mean duplicate entries."""

    nodes: bytes  # every node of the first device path except FILEPATH nodes, encoded
    file_path: str  # the joined FILEPATH nodes, normalized (see normalize_loader_path)
    other_paths: bytes  # the device paths after the first one (initrd, ...), encoded
    optional_data: bytes


def normalize_loader_path(text: str) -> str:
    """``EFI/x/Y.efi`` -> ``\\efi\\x\\y.efi``: backslashes, one leading backslash, no trailing
    NULs or spaces, case folded. Used for matching only, never written anywhere."""
    cleaned = text.strip().rstrip("\x00").replace("/", "\\")
    while "\\\\" in cleaned:
        cleaned = cleaned.replace("\\\\", "\\")
    if cleaned and not cleaned.startswith("\\"):
        cleaned = "\\" + cleaned
    return cleaned.casefold()


def loader_path(path: DevicePath) -> str | None:
    """The normalized file path of ``path`` (its FILEPATH nodes joined), None without one."""
    joined = path.file_path()
    return None if joined is None else normalize_loader_path(joined)


def loader_key(option: LoadOption) -> LoaderKey:
    from efikit.codec.devpath import FilePathNode  # noqa: PLC0415

    first, *rest = option.file_paths
    nodes = b"".join(n.to_bytes() for n in first.nodes if not isinstance(n, FilePathNode))
    return LoaderKey(nodes, loader_path(first) or "", b"".join(p.to_bytes() for p in rest),
                     bytes(option.optional_data))
