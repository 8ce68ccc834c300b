"""efivarfs: /sys/firmware/efi/efivars, or any directory laid out the same way.

Each variable is a file ``Name-<guid>`` holding a 4-byte little-endian attribute word then the
payload. The write sequence follows what the kernel needs:

* clear the immutable flag (FS_IOC_GETFLAGS/SETFLAGS) before writing or deleting, restore it
  afterwards (the kernel marks most variables immutable to stop a stray ``rm`` bricking a box);
* create a new variable with O_EXCL and remove the file again if the write fails;
* send attribute word + payload in one ``write()``: the kernel turns each write into one
  SetVariable call, so a split write would set a truncated variable.

On the real efivarfs a failed SetVariable leaves the variable as it was. A plain directory
(tests, fake efivarfs for efibootmgr's EFIVARFS_PATH) is given the same guarantee by replacing an
existing file through a temp file, fsync and rename.
"""
from __future__ import annotations

import builtins
import errno
import fcntl
import os
import struct
import uuid
from pathlib import Path

from efikit.errors import Error, StoreError
from efikit.fileio import replacing
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    Variable,
    VariableAttributes,
    VariableName,
    VariableNotFound,
    VariableStore,
    check_attributes,
    check_name,
)

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x00000010

_REFUSALS = {
    errno.ENOSPC: "the firmware has no space left for it (ENOSPC)",
    errno.EIO: "the firmware reported an I/O error (EIO)",
    errno.EINVAL: "the firmware rejected its attributes or data as invalid (EINVAL)",
    errno.EPERM: "the operation is not permitted (EPERM: not root, immutable, or write-protected)",
    errno.EACCES: "access was denied (EACCES: not root?)",
    errno.EROFS: "the store is read-only (EROFS: efivarfs mounted ro?)",
    errno.ENOTDIR: "the store is not a directory (ENOTDIR)",
}


def _refusal(exc: OSError) -> str:
    if exc.errno in _REFUSALS:
        return _REFUSALS[exc.errno]
    name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return f"{exc.strerror or 'error'} ({name})"


def _is_efivarfs(path: Path) -> bool:
    """True when ``path`` lies on the kernel's efivarfs (per /proc/self/mountinfo)."""
    try:
        real = os.path.realpath(path)
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    best, best_type = "", ""
    for line in lines:
        fields = line.split(" ")
        if len(fields) < 5 or " - " not in line:
            continue
        mount_point = fields[4].replace("\\040", " ")
        fs_type = line.split(" - ", 1)[1].split(" ")[0]
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fs_type
    return best_type == "efivarfs"


class _ImmutableGuard:
    """Clear FS_IMMUTABLE_FL on a file for the duration of a change; restore it afterwards.

    Filesystems without the flag (tmpfs answers ENOTTY) are fine: nothing to clear.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cleared = False

    def _flags_fd(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None

    def clear(self) -> None:
        fd = self._flags_fd()
        if fd is None:
            return
        try:
            try:
                raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(8))
            except OSError:
                return  # no flag support here
            flags = struct.unpack_from("<i", raw)[0]
            if not flags & FS_IMMUTABLE_FL:
                return
            try:
                fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("<iI", flags & ~FS_IMMUTABLE_FL, 0))
            except OSError as exc:
                raise StoreError(
                    f"cannot clear the immutable flag of {self.path.name}: {_refusal(exc)}"
                ) from None
            self.cleared = True
        finally:
            os.close(fd)

    def restore(self) -> None:
        if not self.cleared:
            return
        self.cleared = False
        fd = self._flags_fd()
        if fd is None:
            return  # the file is gone (deleted): nothing to protect
        try:
            raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(8))
            flags = struct.unpack_from("<i", raw)[0]
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("<iI", flags | FS_IMMUTABLE_FL, 0))
        except OSError:
            pass  # best effort: the change itself has been made
        finally:
            os.close(fd)


class EfivarfsStore(VariableStore):
    """A directory of ``Name-<guid>`` files; every change takes effect at once."""

    kind = "efivarfs"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        path = Path(directory)
        super().__init__(str(path))
        if not path.is_dir():
            raise StoreError(f"{path} is not a directory (efivarfs layout expected)")
        self.path = path
        self.kernel = _is_efivarfs(path)

    # --- names ----------------------------------------------------------------------------
    def _scan(self) -> dict[VariableName, str]:
        try:
            entries = sorted(os.listdir(self.path))
        except OSError as exc:
            raise StoreError(f"cannot list {self.path}: {_refusal(exc)}") from None
        found: dict[VariableName, str] = {}
        for entry in entries:
            key = _parse_file_name(entry)
            if key is not None and key not in found:
                found[key] = entry
        return found

    def _file_for(self, name: str, vendor: uuid.UUID) -> Path | None:
        """The existing file of a variable (GUID case as on disk), or None."""
        exact = self.path / f"{name}-{vendor}"
        if exact.is_file():
            return exact
        for key, entry in self._scan().items():
            if key == VariableName(name, vendor):
                return self.path / entry
        return None

    # --- reading --------------------------------------------------------------------------
    def list(self) -> builtins.list[VariableName]:
        return builtins.list(self._scan())

    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        path = self._file_for(name, vendor)
        if path is None:
            return None
        try:
            raw = _read_all(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read variable {name}-{vendor}: {_refusal(exc)}") from None
        if len(raw) < 4:
            raise StoreError(
                f"variable {name}-{vendor} in {self.path}: file has {len(raw)} bytes, "
                "shorter than the 4-byte attribute word"
            )
        attributes = VariableAttributes(struct.unpack_from("<I", raw)[0])
        return Variable(name, vendor, attributes, raw[4:])

    # --- writing --------------------------------------------------------------------------
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
        if "/" in name:
            raise StoreError(f"variable name {name!r} cannot be a file name (contains '/')")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
            raise StoreError(f"variable name {name!r} cannot be an efivarfs file name (a lone "
                             "UTF-16 surrogate has no UTF-8 form)")
        attrs = check_attributes(attributes)
        payload = struct.pack("<I", attrs) + bytes(data)
        label = f"{name}-{vendor}"
        existing = self._file_for(name, vendor)
        if existing is None:
            self._create(self.path / label, label, payload)
        elif self.kernel:
            self._write_kernel(existing, label, payload)
        else:
            if attrs & VariableAttributes.APPEND_WRITE:
                old = self.get(name, vendor)
                if old is not None:
                    payload = struct.pack("<I", int(old.attributes)) + old.data + bytes(data)
            self._replace_plain(existing, label, payload)

    def _create(self, path: Path, label: str, payload: bytes) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create variable {label}: {_refusal(exc)}") from None
        try:
            _write_once(fd, payload)
            if not self.kernel:
                os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            _unlink_quietly(path)
            raise StoreError(f"cannot write variable {label}: {_refusal(exc)}") from None
        except BaseException:
            os.close(fd)
            _unlink_quietly(path)
            raise
        os.close(fd)

    def _write_kernel(self, path: Path, label: str, payload: bytes) -> None:
        guard = _ImmutableGuard(path)
        guard.clear()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                _write_once(fd, payload)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot write variable {label}: {_refusal(exc)}") from None
        finally:
            guard.restore()

    def _replace_plain(self, path: Path, label: str, payload: bytes) -> None:
        guard = _ImmutableGuard(path)
        guard.clear()
        try:
            with replacing(path) as (fd, _):
                _write_once(fd, payload)
                os.fchmod(fd, 0o644)
                os.fsync(fd)
        except OSError as exc:
            raise StoreError(f"cannot write variable {label}: {_refusal(exc)}") from None
        finally:
            guard.restore()

    def delete(self, name: str, vendor: uuid.UUID) -> None:
        path = self._file_for(name, vendor)
        if path is None:
            raise VariableNotFound(name, vendor, self.source)
        guard = _ImmutableGuard(path)
        guard.clear()
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise VariableNotFound(name, vendor, self.source) from None
        except OSError as exc:
            raise StoreError(f"cannot delete variable {name}-{vendor}: {_refusal(exc)}") from None
        finally:
            guard.restore()


def _parse_file_name(entry: str) -> VariableName | None:
    if entry.startswith("."):
        return None
    try:
        return VariableName.parse(entry)
    except Error:
        return None


def _read_all(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _write_once(fd: int, payload: bytes) -> None:
    written = os.write(fd, payload)
    if written != len(payload):
        raise OSError(errno.EIO, f"short write: {written} of {len(payload)} bytes")


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
