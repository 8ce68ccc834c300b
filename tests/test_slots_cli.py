"""`efikit slot ...` end to end on a copy of the sample machine (edk2 varstore + GPT image,
ESP read and written through mtools), plus BOOT.CSV and the ESP locator."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require_tool
from efikit.cli.main import cli
from efikit.errors import DecodeError, DiskError, EncodeError
from efikit.slots.bootcsv import CsvEntry, encode_boot_csv, parse_boot_csv
from efikit.slots.esp_locate import locate_esp

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample-machine"
ESP_GUID = "0F1C8E5A-6C3B-4B7E-9D2A-3E5F60718293"


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path]:
    require_tool("mcopy", "mdir", "mdel", "mren", "mmd")
    disk = tmp_path / "disk.img"
    varstore = tmp_path / "OVMF_VARS.fd"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    shutil.copyfile(SAMPLE / "OVMF_VARS.fd", varstore)
    return disk, varstore


def run(varstore: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--vars", str(varstore), "slot", *args],
                                catch_exceptions=False, standalone_mode=False) \
        if code == 0 else None
    if result is not None:
        assert result.exit_code == 0, result.output
        return result.stdout
    from efikit.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(["--vars", str(varstore), "slot", *args])
    assert exc.value.code == code
    return ""


def test_locate_esp_in_sample_image() -> None:
    location = locate_esp(SAMPLE / "disk.img")
    assert (location.number, str(location.partition_guid).upper()) == (1, ESP_GUID)
    assert (location.start_lba, location.size_lba, location.byte_offset) == (2048, 12288, 1048576)
    assert location.hd_node().to_text() == f"HD(1,GPT,{ESP_GUID},0x800,0x3000)"


def test_locate_esp_refuses_disk_without_esp(tmp_path: Path) -> None:
    with pytest.raises(DiskError):
        locate_esp(SAMPLE / "OVMF_VARS.fd")


def test_status_json_schema(sample: tuple[Path, Path]) -> None:
    disk, varstore = sample
    doc = json.loads(run(varstore, "status", "--disk", str(disk), "--json"))
    assert list(doc) == ["running", "checks", "slots", "boot_order", "boot_next", "next_boot",
                         "esp", "verdict", "reasons", "notes"]
    assert doc["running"] == {"slot": None, "source": None, "boot_current": None,
                              "boot_current_path": None}
    assert doc["slots"]["A"] == {
        "loader": "\\EFI\\metropolis\\boot-a.efi", "entries": ["0000"], "entry": "0000",
        "active": True, "hd_matches_esp": True, "loader_exists": True, "loader_size": 38000,
        "stamp": None, "boot_order_position": 0}
    assert doc["boot_order"] == ["0000", "0001"]
    assert doc["next_boot"] == {"entry": "0000", "via": "BootOrder",
                                "path": "\\EFI\\metropolis\\boot-a.efi", "slot": "A"}
    assert doc["esp"]["partition_guid"] == ESP_GUID and doc["esp"]["free_bytes"] > 0
    assert doc["verdict"] == "healthy"


def test_stage_commit_recover_through_the_cli(sample: tuple[Path, Path], tmp_path: Path) -> None:
    disk, varstore = sample
    new = tmp_path / "new.efi"
    shutil.copyfile(SAMPLE.parents[0] / "pe" / "loader-unsigned.efi", new)
    before = varstore.read_bytes()
    dry = run(varstore, "stage", "B", "--loader", str(new), "--disk", str(disk), "--running",
              "A", "--dry-run")
    assert "would: " in dry and "BootNext" in dry
    assert varstore.read_bytes() == before  # a dry run writes nothing
    out = json.loads(run(varstore, "stage", "B", "--loader", str(new), "--disk", str(disk),
                         "--running", "A", "--json", "--backup", str(tmp_path / "b.json")))
    assert out["applied"] and any("file" in s for s in out["steps"])
    assert json.loads((tmp_path / "b.json").read_text())  # what it overwrote
    status = json.loads(run(varstore, "status", "--disk", str(disk), "--json", "--running", "A"))
    assert status["verdict"] == "trial pending" and status["boot_next"]["slot"] == "B"
    assert status["slots"]["B"]["loader_size"] == new.stat().st_size
    run(varstore, "commit", "--disk", str(disk), code=1)  # offline, no --running: refused
    run(varstore, "commit", "--disk", str(disk), "--running", "B")
    assert "nothing to do" in run(varstore, "commit", "--disk", str(disk), "--running", "B")
    # BootNext (B) is still pending: rollback cancels it and puts the other slot, A, first
    run(varstore, "rollback", "--disk", str(disk))
    status = json.loads(run(varstore, "status", "--disk", str(disk), "--json"))
    assert status["boot_next"] is None and status["boot_order"][0] == "0000"
    run(varstore, "recover", code=1)  # no ESP given
    assert "nothing to do" in run(varstore, "recover", "--disk", str(disk), "--prefer", "A")
    out = run(varstore, "recover", "--disk", str(disk), "--prefer", "B")
    assert "BootOrder" in out and "BOOTX64.CSV" in out
    status = json.loads(run(varstore, "status", "--disk", str(disk), "--json"))
    assert status["boot_order"][:2] == ["0001", "0000"]


def test_restage_over_a_pending_trial_through_the_cli(sample: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    """Staging B again while its trial is pending: BootNext is cleared before B's entry is
    deactivated and its loader replaced, and set again only at the end."""
    disk, varstore = sample
    pe = SAMPLE.parents[0] / "pe"
    run(varstore, "stage", "B", "--loader", str(pe / "loader-unsigned.efi"), "--disk",
        str(disk), "--running", "A")
    status = json.loads(run(varstore, "status", "--disk", str(disk), "--json", "--running", "A"))
    assert status["boot_next"]["slot"] == "B"
    out = json.loads(run(varstore, "stage", "B", "--loader", str(pe / "uki-unsigned.efi"),
                         "--disk", str(disk), "--running", "A", "--json"))
    writes = []
    for step in out["steps"]:
        writes += [(v["name"], v["action"]) for v in step.get("variables", [])]
        if "file" in step:
            writes.append((step["file"]["path"], "file"))
    b = status["slots"]["B"]["entry"]
    assert writes == [("BootNext", "delete"), (f"Boot{b}", "update"),
                      ("\\EFI\\metropolis\\boot-b.efi", "file"), (f"Boot{b}", "update"),
                      ("BootNext", "create")]
    assert "deactivate" in out["steps"][1]["what"] and "activate" in out["steps"][3]["what"]
    status = json.loads(run(varstore, "status", "--disk", str(disk), "--json", "--running", "A"))
    assert status["verdict"] == "trial pending" and status["boot_next"]["slot"] == "B"
    assert status["slots"]["B"]["active"] is True
    assert status["slots"]["B"]["loader_size"] == (pe / "uki-unsigned.efi").stat().st_size


def test_stage_refuses_a_loader_too_big_for_the_esp(sample: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    disk, varstore = sample
    huge = tmp_path / "huge.efi"
    huge.write_bytes(b"MZ" + bytes(7 * 1024 * 1024))  # the ESP is 6 MiB
    before = varstore.read_bytes()
    run(varstore, "stage", "B", "--loader", str(huge), "--disk", str(disk), "--running", "A",
        code=1)
    assert varstore.read_bytes() == before


def test_boot_csv_round_trip() -> None:
    rows = [CsvEntry("boot-b.efi", "Metropolis Slot B", "", "efikit: slot B"),
            CsvEntry("boot-a.efi", "Metropolis Slot A", "quiet", "")]
    data = encode_boot_csv(rows)
    assert data[:2] == b"\xff\xfe"  # UCS-2 LE byte order mark
    assert data.decode("utf-16-le").endswith("\r\n")
    assert parse_boot_csv(data) == rows
    # shim's own examples have no BOM sometimes and LF line ends; comment may hold commas
    plain = "shimx64.efi,Fedora,,This is the boot entry, for Fedora\n".encode("utf-16-le")
    assert parse_boot_csv(plain) == [CsvEntry("shimx64.efi", "Fedora", "",
                                              "This is the boot entry, for Fedora")]


def test_boot_csv_errors() -> None:
    with pytest.raises(DecodeError):
        parse_boot_csv(b"abc")
    with pytest.raises(EncodeError):
        encode_boot_csv([CsvEntry("a,b.efi", "x")])
    with pytest.raises(EncodeError):
        encode_boot_csv([CsvEntry("a.efi", "\U0001F600")])
