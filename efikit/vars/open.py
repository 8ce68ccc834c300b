"""Open a variable store from a user-given source, detecting its kind."""
from __future__ import annotations

import os
from pathlib import Path

from efikit import fileio
from efikit.errors import StoreError
from efikit.vars.store import VariableStore

EFIVARS_DIR = "/sys/firmware/efi/efivars"
_FV_SIGNATURE_OFFSET = 40
_FV_SIGNATURE = b"_FVH"


def default_source() -> str:
    """``$EFIKIT_VARS`` if set, else the kernel's efivarfs mount point."""
    return os.environ.get("EFIKIT_VARS") or EFIVARS_DIR


def detect_kind(path: Path) -> str:
    """'efivarfs' for a directory, 'edk2' for a firmware volume, 'json' for a .json file."""
    if path.is_dir():
        return "efivarfs"
    if path.suffix.lower() == ".json":
        return "json"
    try:
        with fileio.open_regular_file(path) as f:
            head = f.read(_FV_SIGNATURE_OFFSET + 4)
    except OSError as exc:
        raise StoreError(f"cannot read variable store {path}: {exc.strerror or exc}") from None
    if head[_FV_SIGNATURE_OFFSET:] == _FV_SIGNATURE:
        return "edk2"
    if path.suffix.lower() == ".fd":
        return "edk2"  # let the edk2 parser say precisely what is wrong
    if head.lstrip()[:1] == b"{":
        return "json"
    raise StoreError(
        f"{path}: not a variable store (expected an efivarfs directory, an edk2 .fd varstore "
        "or a .json export)"
    )


def open_store(source: str | None = None, *, lock: bool = False) -> VariableStore:
    """Open ``source`` (or the default) as the matching backend; with ``lock`` the store holds
    an advisory lock on its directory until ``close()`` (see efikit.vars.atomic)."""
    explicit = source is not None
    text = source if source is not None else default_source()
    path = Path(text)
    if not path.exists():
        if not explicit and text == EFIVARS_DIR:
            raise StoreError(
                f"{EFIVARS_DIR} does not exist: this machine was not booted with EFI (or efivarfs "
                "is not mounted); give a store with --vars SOURCE or EFIKIT_VARS"
            )
        raise StoreError(f"variable store {text} does not exist")
    kind = detect_kind(path)
    if kind == "efivarfs":
        from efikit.vars.efivarfs import EfivarfsStore

        return EfivarfsStore(path, lock=lock)
    if kind == "edk2":
        from efikit.vars.edk2 import Edk2Store

        return Edk2Store.open(path, lock=lock)
    from efikit.vars.json_store import JsonStore

    return JsonStore.open(path, lock=lock)
