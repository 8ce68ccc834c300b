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
existing file through a temp file, fsync and rename (keeping the file's owner, group and mode).

Concurrent writers: the store holds an advisory lock on the directory until ``close()``, so
efikit processes take turns. Against other writers (efibootmgr, the firmware itself) a change
is checked against what this store read: a variable that changed, appeared or vanished since
it was read is not written (StoreError), and a new variable is created with O_EXCL, so two
writers cannot both create the same Boot####. (The check and the write are two system calls:
a writer that takes no lock can still slip in between them.)

Entries are never followed or read through when they are not regular files: a symbolic link,
FIFO or device named like a variable (impossible on the kernel's efivarfs) is a foreign entry,
reported by ``problems()`` and refused by ``get``/``set``/``delete``. Reads are bounded by
``fileio.MAX_VARIABLE_SIZE``.
"""
from __future__ import annotations

import builtins
import errno
import fcntl
import os
import stat
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from efikit import fileio
from efikit.errors import Error, StoreError
from efikit.fileio import replacing
from efikit.vars.atomic import lock_directory
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

#: attribute bits efivarfs passes to the firmware; others the kernel refuses itself (EINVAL)
KERNEL_ATTRIBUTE_MASK = 0x7F
CAP_LINUX_IMMUTABLE = 9
_AUTHENTICATED = 0x10 | 0x20  # authenticated / time-based authenticated write access

_REFUSALS = {
    errno.ENOSPC: "the firmware has no space left for it (ENOSPC; Linux also refuses writes that "
                  "would leave less than 5 KiB of the variable store free)",
    errno.EIO: "the firmware reported an I/O error (EIO)",
    errno.EROFS: "the store is read-only (EROFS: efivarfs mounted ro?)",
    errno.ENOTDIR: "the store is not a directory (ENOTDIR)",
}


def _effective_capability(bit: int) -> bool | None:
    """Whether this process holds capability ``bit`` (None when /proc does not say)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _not_root() -> str | None:
    uid = os.geteuid()
    return None if uid == 0 else f"changing EFI variables needs root (running as uid {uid})"


def _invalid(attributes: int | None) -> str:
    """Why the kernel or the firmware answered EINVAL, as far as the attributes tell."""
    if attributes is not None:
        unknown = attributes & ~KERNEL_ATTRIBUTE_MASK
        if unknown:
            return (f"the kernel refused it (EINVAL): attribute bits {unknown:#x} are not EFI "
                    f"variable attributes (given {attributes:#x})")
        if attributes & 0x4 and not attributes & 0x2:
            return (f"the firmware refused it as invalid (EINVAL): runtime access (rt) needs "
                    f"boot-service access (bs) too (given {attributes:#x})")
        if attributes and (attributes & 0x5) != 0x5:
            return (f"the firmware refused it as invalid (EINVAL): after boot, firmware accepts "
                    f"only variables with nv and rt (given {attributes:#x})")
        if attributes & _AUTHENTICATED:
            return ("the firmware refused it as invalid (EINVAL): authenticated-write "
                    "attributes need data that starts with an authentication descriptor")
    return ("the kernel or the firmware refused it as invalid (EINVAL): both check the format "
            "of the global variables they know (Boot####, BootOrder, Key####, ...), the "
            "firmware also attributes and size")


def _refusal(exc: OSError, attributes: int | None = None) -> str:
    """One clause naming why efivarfs refused, from the errno and what efikit knows."""
    if isinstance(exc, fileio.FileRefused):
        return str(exc.strerror)
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        what = "permission denied (EACCES)" if code == errno.EACCES else "not permitted (EPERM)"
        not_root = _not_root()
        if not_root:
            return f"{what}: {not_root}"
        if code == errno.EACCES:
            return ("the firmware refused it as a security violation (EACCES): an "
                    "authenticated variable (PK, KEK, db, dbx, or one with authenticated write "
                    "access) takes only a correctly signed update; being root is not enough")
        if _effective_capability(CAP_LINUX_IMMUTABLE) is False:
            return ("not permitted (EPERM): the variable is immutable and changing that flag "
                    "needs CAP_LINUX_IMMUTABLE, which this process does not have (a restricted "
                    "service or container?)")
        return "not permitted (EPERM): the variable file is immutable (lsattr shows 'i')"
    if code == errno.EINVAL:
        return _invalid(attributes)
    if code in _REFUSALS:
        return _REFUSALS[code]
    name = errno.errorcode.get(code or 0, str(code))
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
        """An fd of the variable file itself: never through a symlink, never a special file."""
        try:
            return fileio.open_regular(self.path, follow_symlinks=False)
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


_UNREAD = object()  # _seen: nothing known about the variable


class EfivarfsStore(VariableStore):
    """A directory of ``Name-<guid>`` files; every change takes effect at once.

    With ``lock`` the directory's advisory lock is held until ``close()``; without it, only
    around each change.
    """

    kind = "efivarfs"

    def __init__(self, directory: str | os.PathLike[str], *, lock: bool = False) -> None:
        path = Path(directory)
        super().__init__(str(path))
        if not path.is_dir():
            raise StoreError(f"{path} is not a directory (efivarfs layout expected)")
        self.path = path
        self.kernel = _is_efivarfs(path)
        self._lock = lock_directory(path, path) if lock else None
        # what this store last read of each variable (attribute word + payload, None: absent)
        self._seen: dict[VariableName, bytes | None] = {}
        self._listed: set[VariableName] | None = None

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """The directory lock around one check-and-write (already held with ``lock=True``)."""
        held = lock_directory(self.path, self.path) if self._lock is None else None
        try:
            yield
        finally:
            if held is not None:
                held.release()

    # --- names ----------------------------------------------------------------------------
    def _scan(self) -> tuple[dict[VariableName, str], dict[VariableName, tuple[str, str]]]:
        """Variable files by key, and foreign entries (key -> (entry, why it is not read))."""
        try:
            with os.scandir(self.path) as it:
                entries = sorted((e.name, e) for e in it)
        except OSError as exc:
            raise StoreError(f"cannot list {self.path}: {_refusal(exc)}") from None
        found: dict[VariableName, str] = {}
        foreign: dict[VariableName, tuple[str, str]] = {}
        for name, entry in entries:
            key = _parse_file_name(name)
            if key is None:
                continue
            try:
                regular = entry.is_file(follow_symlinks=False)
                mode = 0 if regular else entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue  # vanished while listing
            if not regular:
                foreign.setdefault(key, (name, f"{fileio.kind_of(mode)}, not a variable file"))
            elif key in found:
                foreign.setdefault(key, (name, f"the same variable as {found[key]} (GUIDs "
                                               "differ only in case); only that one is used"))
            else:
                found[key] = name
        return found, foreign

    def problems(self) -> builtins.list[str]:
        """Entries named like variables that efikit does not read (symlinks, FIFOs, devices,
        case-duplicates), one sentence each."""
        _, foreign = self._scan()
        return [f"{entry} in {self.path}: {why}; ignored" for entry, why in foreign.values()]

    def _foreign_error(self, label: str, why: str) -> StoreError:
        return StoreError(f"variable {label} in {self.path} is {why}: efikit does not read or "
                          "write through it")

    def _file_for(self, name: str, vendor: uuid.UUID) -> Path | None:
        """The existing file of a variable (GUID case as on disk), or None; StoreError for a
        foreign entry in its place."""
        label = f"{name}-{vendor}"
        exact = self.path / label
        try:
            mode = os.lstat(exact).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise StoreError(f"cannot read variable {label}: {_refusal(exc)}") from None
        if mode is not None:
            if stat.S_ISREG(mode):
                return exact
            raise self._foreign_error(label, f"{fileio.kind_of(mode)}, not a variable file")
        key = VariableName(name, vendor)
        found, foreign = self._scan()
        if key in found:
            return self.path / found[key]
        if key in foreign:
            raise self._foreign_error(foreign[key][0], foreign[key][1])
        return None

    # --- reading --------------------------------------------------------------------------
    def list(self) -> builtins.list[VariableName]:
        found, _ = self._scan()
        self._listed = set(found)
        return builtins.list(found)

    def _read_raw(self, name: str, vendor: uuid.UUID) -> bytes | None:
        path = self._file_for(name, vendor)
        if path is None:
            return None
        try:
            fd = fileio.open_regular(path, follow_symlinks=False)
            try:
                return fileio.read_fd_bounded(fd, fileio.MAX_VARIABLE_SIZE + 4,
                                              fileio.MAX_VARIABLE_SIZE_TEXT, str(path))
            finally:
                os.close(fd)
        except FileNotFoundError:
            return None
        except fileio.FileRefused as exc:
            raise StoreError(f"cannot read variable {name}-{vendor}: {exc.strerror}") from None
        except OSError as exc:
            raise StoreError(f"cannot read variable {name}-{vendor}: {_refusal(exc)}") from None

    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        raw = self._read_raw(name, vendor)
        self._seen[VariableName(name, vendor)] = raw
        if raw is None:
            return None
        if not raw and self.kernel:
            # The kernel's file for a variable whose creation failed (the firmware refused it,
            # and refused deleting it too): no such variable exists until efivarfs is remounted.
            return None
        if len(raw) < 4:
            raise StoreError(
                f"variable {name}-{vendor} in {self.path}: file has {len(raw)} bytes, "
                "shorter than the 4-byte attribute word"
            )
        attributes = VariableAttributes(struct.unpack_from("<I", raw)[0])
        return Variable(name, vendor, attributes, raw[4:])

    def _check_unchanged(self, name: str, vendor: uuid.UUID) -> bytes | None | object:
        """What this store expects the variable to be (``_UNREAD`` if it never looked); a
        StoreError when the variable changed since this store read or listed it."""
        key = VariableName(name, vendor)
        expected: bytes | None | object = self._seen.get(key, _UNREAD)
        if expected is _UNREAD and self._listed is not None and key not in self._listed:
            expected = None
        if expected is _UNREAD:
            return expected
        if self._read_raw(name, vendor) != expected:
            raise self._changed(f"{name}-{vendor}", expected is None)
        return expected

    def _changed(self, label: str, was_absent: bool) -> StoreError:
        what = "was created" if was_absent else "changed"
        return StoreError(f"variable {label} {what} since efikit read it (another program is "
                          "changing variables); it was not written: run the command again")

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
        key = VariableName(name, vendor)
        appending = bool(attrs & VariableAttributes.APPEND_WRITE)
        with self._changing():
            expected = self._check_unchanged(name, vendor)
            existing = self._file_for(name, vendor)
            if existing is None:
                self._create(self.path / label, label, payload, absent_expected=expected is None)
            elif self.kernel:
                self._write_kernel(existing, label, payload)
            else:
                if appending:
                    old = self._read_raw(name, vendor)
                    if old is not None:
                        payload = old + bytes(data)
                self._replace_plain(existing, label, payload)
        if self.kernel or appending:
            self._seen.pop(key, None)  # the firmware decides what it keeps: read it again
        else:
            self._seen[key] = payload

    def _create(self, path: Path, label: str, payload: bytes, absent_expected: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            if absent_expected:
                raise self._changed(label, True) from None
            raise StoreError(f"cannot create variable {label}: another program created it "
                             "at the same moment; run the command again") from None
        except OSError as exc:
            raise StoreError(f"cannot create variable {label}: {_refusal(exc)}") from None
        try:
            _write_once(fd, payload)
            if not self.kernel:
                os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            left = "" if _remove_created(path) else \
                f"; the empty file {label} it created could not be removed"
            raise StoreError(f"cannot write variable {label}: "
                             f"{_refusal(exc, _attributes_of(payload))}{left}") from None
        except BaseException:
            os.close(fd)
            _remove_created(path)
            raise
        os.close(fd)

    def _write_kernel(self, path: Path, label: str, payload: bytes) -> None:
        guard = _ImmutableGuard(path)
        guard.clear()
        try:
            fd = fileio.open_regular(path, os.O_WRONLY, follow_symlinks=False)
            try:
                _write_once(fd, payload)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot write variable {label}: "
                             f"{_refusal(exc, _attributes_of(payload))}") from None
        finally:
            guard.restore()

    def _replace_plain(self, path: Path, label: str, payload: bytes) -> None:
        guard = _ImmutableGuard(path)
        guard.clear()
        try:
            with replacing(path, follow_symlinks=False) as (fd, _):
                _write_once(fd, payload)
        except OSError as exc:
            raise StoreError(f"cannot write variable {label}: {_refusal(exc)}") from None
        finally:
            guard.restore()

    def delete(self, name: str, vendor: uuid.UUID) -> None:
        with self._changing():
            self._delete(name, vendor)
        self._seen[VariableName(name, vendor)] = None

    def _delete(self, name: str, vendor: uuid.UUID) -> None:
        self._check_unchanged(name, vendor)
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
    """The variable an entry names; None for anything else (a temp file ``.Name-guid.x.tmp``
    does not end in a GUID). A name may start with '.': firmware allows it."""
    try:
        return VariableName.parse(entry)
    except Error:
        return None


def _write_once(fd: int, payload: bytes) -> None:
    written = os.write(fd, payload)
    if written != len(payload):  # the kernel turned it into a SetVariable of a truncated value
        raise fileio.FileRefused(errno.EIO, f"short write: {written} of {len(payload)} bytes "
                                 "(file system full or file size limit?)", "<variable>")


def _attributes_of(payload: bytes) -> int:
    return int(struct.unpack_from("<I", payload)[0])


def _remove_created(path: Path) -> bool:
    """Remove a variable file this process just created and failed to write. The kernel marks
    a new variable immutable at creation (all but the ones it knows are safe to delete), so
    the flag is cleared first, or the file would stay behind, empty."""
    try:
        _ImmutableGuard(path).clear()
    except StoreError:
        pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
