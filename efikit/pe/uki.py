"""Unified kernel image sections: which are present, os-release, and the per-slot command line."""
from __future__ import annotations

import shlex

from efikit.codec.slot_rule import Slot

UKI_SECTIONS = (".linux", ".initrd", ".cmdline", ".osrel", ".uname", ".splash", ".dtb",
                ".pcrsig", ".pcrpkey", ".ucode", ".profile", ".sbat")
# The seed's loader fills in the slot in this placeholder (root=PARTLABEL=METROPOLIS-SYSTEM-X
# becomes ...-SYSTEM-A or ...-SYSTEM-B: the system partitions are labelled that way).
DEFAULT_SLOT_PLACEHOLDER = "METROPOLIS-SYSTEM-X"


def is_uki(section_names: set[str]) -> bool:
    """A UKI carries at least a kernel in ``.linux``."""
    return ".linux" in section_names


def parse_os_release(data: bytes) -> dict[str, str]:
    """os-release ``KEY=value`` lines (shell quoting), comments and blank lines skipped."""
    text = data.split(b"\x00", 1)[0].decode("utf-8", "replace")
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
            value = words[0] if len(words) == 1 else " ".join(words)
        except ValueError:
            value = value.strip("\"'")
        result[key.strip()] = value
    return result


def decode_text_section(data: bytes) -> str:
    """A text section (``.cmdline``, ``.uname``) without its NUL padding and trailing newline."""
    return data.split(b"\x00", 1)[0].decode("utf-8", "replace").rstrip("\n")


def slot_replacement(placeholder: str, slot: Slot) -> str:
    """What ``placeholder`` becomes for ``slot``: its last ``X`` is the slot letter.

    A placeholder without an ``X`` is replaced by the bare slot letter.
    """
    at = placeholder.rfind("X")
    if at < 0:
        return slot
    return placeholder[:at] + slot + placeholder[at + 1:]


def cmdline_for_slot(cmdline: str, slot: Slot, placeholder: str = DEFAULT_SLOT_PLACEHOLDER) -> str:
    """The command line as the seed's loader uses it, every placeholder filled in for ``slot``."""
    if not placeholder:
        return cmdline
    return cmdline.replace(placeholder, slot_replacement(placeholder, slot))
