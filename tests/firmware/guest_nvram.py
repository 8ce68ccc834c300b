"""Run inside the Linux guest: fill the firmware's variable store through efivarfs until the
kernel refuses even a one-byte variable (``fill``), or delete what was filled (``free``).

Independent of efikit on purpose: plain open/write/unlink and the FS_IOC_SETFLAGS ioctl.
Prints one JSON object.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import struct
import sys

EFIVARS = "/sys/firmware/efi/efivars"
GUID = "3b9a1e4d-7c2f-4a55-9e1b-0c6d2f8a7e31"
PREFIX = "EfikitFill"
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10
NV_BS_RT = 7


def _unlink(path: str) -> None:
    """Clear the immutable flag the kernel sets on new variables, then remove the file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        flags = struct.unpack("<i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(4)))[0]
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("<i", flags & ~FS_IMMUTABLE_FL))
    finally:
        os.close(fd)
    os.unlink(path)


def fill() -> dict[str, object]:
    size, number, written, refusals = 32768, 0, 0, {}
    while size >= 1:
        path = f"{EFIVARS}/{PREFIX}{number:04d}-{GUID}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(fd, struct.pack("<I", NV_BS_RT) + b"\xa5" * size)
        except OSError as exc:
            refusals[size] = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            os.close(fd)
            _unlink(path)
            size //= 2
            continue
        os.close(fd)
        number += 1
        written += size
    return {"variables": number, "bytes": written, "refusals": refusals}


def free() -> dict[str, object]:
    names = [n for n in os.listdir(EFIVARS) if n.startswith(PREFIX) and n.endswith(GUID)]
    for name in names:
        _unlink(f"{EFIVARS}/{name}")
    return {"deleted": len(names)}


if __name__ == "__main__":
    print(json.dumps(fill() if sys.argv[1:] == ["fill"] else free()))
