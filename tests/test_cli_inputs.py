"""Input handling shared by several commands: stdin data files, backups that must not be
overwritten, attribute ranges every store checks."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from efikit.cli.main import cli
from efikit.errors import StoreError, UsageError
from efikit.vars.memory import MemoryStore

DEVICE_PATH = r"HD(1,GPT,41A9D88F-708C-4E7C-9834-4F28AD823ED8,0x800,0x1E000)/\EFI\metropolis\boot-a.efi"


def _efivarfs(tmp_path: Path) -> Path:
    directory = tmp_path / "efivars"
    directory.mkdir()
    return directory


def test_memory_store_refuses_attributes_wider_than_32_bits() -> None:
    store = MemoryStore()
    with pytest.raises(StoreError, match="32 bits"):
        store.set("X", uuid.uuid4(), b"1", 1 << 32)  # type: ignore[arg-type]
    assert store.list() == []


def test_boot_add_reads_optional_data_from_stdin(tmp_path: Path) -> None:
    efivars = _efivarfs(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["--vars", str(efivars), "boot", "add", "--label", "A",
                                 "--device-path", DEVICE_PATH, "--data-file", "-"],
                           input=b"\x01\x02\x03")
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["--vars", str(efivars), "boot", "show", "0000", "--json"])
    assert '"optional_data_hex": "010203"' in shown.output


def test_vars_backup_refuses_to_overwrite_an_existing_file(tmp_path: Path) -> None:
    efivars = _efivarfs(tmp_path)
    backup = tmp_path / "backup.json"
    backup.write_text("keep me")
    runner = CliRunner()
    result = runner.invoke(cli, ["--vars", str(efivars), "vars", "set",
                                 "Test-8be4df61-93ca-11d2-aa0d-00e098032b8c",
                                 "--data-hex", "01", "--backup", str(backup)])
    assert isinstance(result.exception, UsageError)  # the CLI's main() maps it to exit code 2
    assert "already exists" in str(result.exception)
    assert backup.read_text() == "keep me"
    assert list(efivars.iterdir()) == []
