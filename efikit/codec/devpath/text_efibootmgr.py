"""efibootmgr's device-path text (libefivar's efidp_format_device_path), read as a dialect.

libefivar prints its own text: some numbers in hex without '0x' (USB WWID, SAS, Fibre
Channel, InfiniBand), the NVMe EUI-64 in stored byte order (edk2 prints it reversed),
File(...) around file paths, FvVol for Fv, and only the first instance of a path. Where its
text does not say what the bytes were (both IPv4 addresses run together, no IPv6 gateway,
Fibre Channel and Fibre Channel Ex printed alike, ...) the node is refused, naming the field.
Facts from libefivar 37's src/dp-*.c (read, not copied).
"""
from __future__ import annotations

from .textparse import KeywordParser, TextDialect

_OWN: dict[str, tuple[str, KeywordParser]] = {}

EFIBOOTMGR_TEXT = TextDialect(
    "efibootmgr", _OWN,
    single_instance="one instance: efibootmgr prints only the first instance of a path")
