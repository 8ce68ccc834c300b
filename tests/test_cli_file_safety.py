"""What a user meets (issue 11, items 3, 5, 6, 8, 11): special files do not hang or eat memory,
outputs follow the umask, replaced files keep owner and mode, symlinks keep pointing at the
file that changes, efivarfs names starting with '.' stay visible."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, require_file
from efikit.vars.open import open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE as G
from test_vars_support import OVMF_DIR

LOADER = r"HD(1,GPT,4c3bd2a5-8a47-4d23-9b2c-6d5e0f2f3a11,0x800,0x100000)/\EFI\x\boot.efi"
FWUPD = CORPUS / "efivars" / "fwupd-libfwupdplugin-tests"
NOBODY = 65534


def efikit(*args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process (a hang fails the test by timeout, not the whole run)."""
    def setup() -> None:
        if umask is not None:
            os.umask(umask)
    return subprocess.run([sys.executable, "-m", "efikit", *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=setup)


def _one_error_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("efikit: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- item 6: special files --------------------------------------------------------------------

def test_fifo_and_device_links_in_efivarfs_do_not_hang_boot_list(tmp_path: Path) -> None:
    efivars = tmp_path / "efivars"
    shutil.copytree(FWUPD, efivars)
    os.mkfifo(efivars / f"Boot0007-{G}")
    (efivars / f"Boot0008-{G}").symlink_to("/dev/zero")
    result = efikit("--vars", str(efivars), "boot", "list")
    assert result.returncode == 0, result.stderr
    assert "Boot0007" not in result.stdout and "Boot0008" not in result.stdout
    warnings = result.stderr.strip().splitlines()
    assert warnings == [
        f"efikit: warning: Boot0007-{G} in {efivars}: a FIFO, not a variable file; ignored",
        f"efikit: warning: Boot0008-{G} in {efivars}: a symbolic link, not a variable file; "
        "ignored",
    ]
    got = efikit("--vars", str(efivars), "vars", "get", f"Boot0008-{G}")
    assert got.returncode == 1
    assert got.stderr.strip().splitlines()[-1] == (
        f"efikit: error: variable Boot0008-{G} in {efivars} is a symbolic link, not a variable "
        "file: efikit does not read or write through it")


@pytest.mark.parametrize("command", [["loadopt", "decode"], ["devpath", "decode"]])
def test_decode_at_device_or_fifo_is_refused(command: list[str], tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _one_error_line(efikit(*command, "@/dev/zero"), 2,
                    "cannot read /dev/zero: is a character device, not a regular file")
    _one_error_line(efikit(*command, f"@{fifo}"), 2, "is a FIFO, not a regular file")
    big = tmp_path / "big.bin"
    big.write_bytes(bytes((1 << 20) + 1))
    _one_error_line(efikit(*command, f"@{big}"), 2, "larger than the 1 MiB")


def test_vars_dev_zero_is_refused() -> None:
    _one_error_line(efikit("--vars", "/dev/zero", "boot", "list"), 1,
                    "cannot read variable store /dev/zero: is a character device")


def test_output_onto_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "out.bin"
    os.mkfifo(fifo)
    _one_error_line(efikit("devpath", "encode", LOADER, "-o", str(fifo)), 1,
                    f"cannot write {fifo}: is a FIFO, not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# --- item 8: the umask and the replaced file's mode ---------------------------------------------

def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    efivars = tmp_path / "efivars"
    shutil.copytree(FWUPD, efivars)
    store = ["--vars", str(efivars)]
    runs = {
        "export.json": efikit(*store, "vars", "export", str(tmp_path / "export.json"),
                              umask=0o077),
        "backup.json": efikit(*store, "boot", "rm", "0001", "--backup",
                              str(tmp_path / "backup.json"), umask=0o077),
        "vars-backup.json": efikit(*store, "vars", "rm", f"Boot0002-{G}", "--backup",
                                   str(tmp_path / "vars-backup.json"), umask=0o077),
        "option.bin": efikit("loadopt", "encode", "--label", "x", "--device-path", LOADER,
                             "-o", str(tmp_path / "option.bin"), umask=0o077),
        "path.bin": efikit("devpath", "encode", LOADER, "-o", str(tmp_path / "path.bin"),
                           umask=0o077),
    }
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr)
        assert _mode(tmp_path / name) == 0o600, name
    new = efikit(*store, "vars", "set", "Fresh", "--data-hex", "01", umask=0o077)
    assert new.returncode == 0, new.stderr
    assert _mode(efivars / f"Fresh-{G}") == 0o600


def test_replaced_outputs_keep_their_mode_and_owner(tmp_path: Path) -> None:
    out = tmp_path / "path.bin"
    out.write_bytes(b"old")
    out.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(out, NOBODY, NOBODY)
    before = os.stat(out)
    assert efikit("devpath", "encode", LOADER, "-o", str(out), umask=0o022).returncode == 0
    after = os.stat(out)
    assert (after.st_uid, after.st_gid, _mode(out)) == (before.st_uid, before.st_gid, 0o640)
    assert out.read_bytes() != b"old"


def test_existing_backup_or_link_there_is_never_overwritten(tmp_path: Path) -> None:
    efivars = tmp_path / "efivars"
    shutil.copytree(FWUPD, efivars)
    before = sorted(p.name for p in efivars.iterdir())
    dangling = tmp_path / "backup.json"
    dangling.symlink_to(tmp_path / "elsewhere.json")
    result = efikit("--vars", str(efivars), "boot", "rm", "0001", "--backup", str(dangling))
    _one_error_line(result, 2, f"backup file {dangling} already exists")
    assert not (tmp_path / "elsewhere.json").exists()
    assert sorted(p.name for p in efivars.iterdir()) == before


# --- item 3: store files keep owner/mode; --vars symlinks keep their target -------------------

def test_vars_symlink_to_fd_writes_the_target(tmp_path: Path) -> None:
    real = tmp_path / "images" / "OVMF_VARS.fd"
    real.parent.mkdir()
    shutil.copyfile(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"), real)
    real.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(real, NOBODY, NOBODY)
    link = tmp_path / "vm-vars.fd"
    link.symlink_to(real)
    before = os.stat(real)
    result = efikit("--vars", str(link), "boot", "add", "--label", "via-link",
                    "--device-path", LOADER)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    after = os.stat(real)
    assert (after.st_uid, after.st_gid, _mode(real)) == (before.st_uid, before.st_gid, 0o600)
    store = open_store(str(real))
    assert any(b"v\x00i\x00a\x00-\x00l\x00i\x00n\x00k" in v.data for v in store.variables())


def test_hard_linked_fd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vars.fd"
    shutil.copyfile(require_file(OVMF_DIR / "OVMF_VARS_4M.fd"), path)
    os.link(path, tmp_path / "copy.fd")
    before = path.read_bytes()
    result = efikit("--vars", str(path), "boot", "add", "--label", "x", "--device-path", LOADER)
    _one_error_line(result, 1, "has 2 hard links", "left unchanged")
    assert path.read_bytes() == before


# --- item 11: names starting with '.' ---------------------------------------------------------

def test_dot_names_are_listed_and_exported(tmp_path: Path) -> None:
    efivars = tmp_path / "efivars"
    efivars.mkdir()
    assert efikit("--vars", str(efivars), "vars", "set", ".Dotted", "--data-hex",
                  "01").returncode == 0
    listed = efikit("--vars", str(efivars), "vars", "list")
    assert f".Dotted-{G}" in listed.stdout
    export = efikit("--vars", str(efivars), "vars", "export", "-")
    assert [v["name"] for v in json.loads(export.stdout)["variables"]] == [".Dotted"]


@pytest.mark.parametrize("command", [["pe", "hash"], ["pe", "inspect"], ["disk", "list"]])
def test_loader_and_disk_readers_refuse_special_files(command: list[str], tmp_path: Path) -> None:
    fifo = tmp_path / "loader.efi"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        result = efikit(*command, target)
        assert result.returncode in (1, 2), result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and target in lines[0], result.stderr
        assert "not a regular file" in lines[0], lines[0]


def test_esp_files_follow_the_umask_and_keep_their_mode(tmp_path: Path) -> None:
    from efikit.disk.esp import DirectoryEsp

    esp = DirectoryEsp(tmp_path)
    old = os.umask(0o077)
    try:
        esp.replace(r"\EFI\BOOT\BOOTX64.CSV", "boot-a.efi,A,,\n".encode("utf-16"))
    finally:
        os.umask(old)
    csv = tmp_path / "EFI" / "BOOT" / "BOOTX64.CSV"
    assert _mode(csv) == 0o600
    csv.chmod(0o644)
    esp.replace(r"\EFI\BOOT\BOOTX64.CSV", "boot-b.efi,B,,\n".encode("utf-16"))
    assert _mode(csv) == 0o644
