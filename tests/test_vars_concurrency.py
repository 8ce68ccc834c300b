"""Concurrent efikit processes on one store: no lost update (issue 11, item 4).

Two processes start `efikit boot add` at the same moment (a barrier) on the same store, 20
rounds per backend; after each round both entries and both BootOrder positions must exist.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, require_file
from efikit.boot import BootManager
from efikit.vars.open import open_store
from efikit.vars.json_store import write_json
from test_vars_support import OVMF_DIR

ROUNDS = 20
LOADER = r"HD(1,GPT,4c3bd2a5-8a47-4d23-9b2c-6d5e0f2f3a11,0x800,0x100000)/\EFI\x\boot.efi"
_FORK = multiprocessing.get_context("fork")


def _child(barrier: Any, argv: list[str]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from efikit.cli.main import main

    barrier.wait()
    try:
        main(argv)
    except SystemExit as exc:
        os._exit(int(exc.code or 0))
    os._exit(0)


def _race(store: Path, argvs: list[list[str]]) -> list[int]:
    barrier = _FORK.Barrier(len(argvs))
    procs = [_FORK.Process(target=_child, args=(barrier, ["--vars", str(store), *argv]))
             for argv in argvs]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    return [proc.exitcode if proc.exitcode is not None else -1 for proc in procs]


def _fresh_store(kind: str, tmp_path: Path) -> Path:
    if kind == "edk2":
        path = tmp_path / "vars.fd"
        shutil.copyfile(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"), path)
    elif kind == "json":
        path = tmp_path / "vars.json"
        write_json(path, open_store(str(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"))).variables())
    else:
        path = tmp_path / "efivars"
        shutil.copytree(CORPUS / "efivars" / "fwupd-libfwupdplugin-tests", path)
    return path


@pytest.mark.parametrize("kind", ["edk2", "json", "efivarfs"])
def test_concurrent_boot_add_loses_nothing(kind: str, tmp_path: Path) -> None:
    lost = []
    for round_no in range(ROUNDS):
        work = tmp_path / str(round_no)
        work.mkdir()
        store = _fresh_store(kind, work)
        labels = [f"racer-{round_no}-{who}" for who in "ab"]
        # one loader per racer: boot add reuses an entry that already boots the same loader
        codes = _race(store, [["boot", "add", "--label", label, "--device-path",
                               LOADER.replace("boot.efi", f"{label}.efi")]
                              for label in labels])
        assert codes == [0, 0], f"round {round_no}: exit codes {codes}"
        reopened = open_store(str(store))
        manager = BootManager(reopened)
        entries = {e.option.description: e.number for e in manager.entries()
                   if e.option is not None}
        order = manager.order() or ()
        reopened.close()
        missing = [label for label in labels
                   if label not in entries or entries[label] not in order]
        if missing:
            lost.append((round_no, missing))
    assert lost == [], f"{len(lost)} of {ROUNDS} rounds lost an update: {lost[:3]}"
