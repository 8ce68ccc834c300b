"""`efikit disk list` on images with 512- and 4096-byte sectors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_disk_gpt import ESP_GUID, build_gpt
from test_vars_support import run_cli


@pytest.mark.parametrize("sector", [512, 4096])
def test_disk_list_text_and_json(tmp_path: Path, sector: int) -> None:
    img = tmp_path / "disk.img"
    build_gpt(img, sector=sector)
    code, out, _ = run_cli(["disk", "list", str(img)])
    text = out.decode()
    assert code == 0
    assert f"{sector}-byte sectors" in text
    lines = text.splitlines()
    assert lines[1].split()[:2] == ["1", "ESP"]
    start = 2048 // (sector // 512)
    assert lines[2].strip() == f"HD(1,GPT,{str(ESP_GUID).upper()},{start:#x},{start:#x})".replace(
        "0X", "0x")
    code, out, _ = run_cli(["disk", "list", str(img), "--json"])
    doc = json.loads(out)
    assert doc["sector_size"] == sector
    esp = doc["partitions"][0]
    assert esp["esp"] is True and esp["partition_guid"] == str(ESP_GUID)
    assert esp["hd"].startswith("HD(1,GPT,")
    assert doc["partitions"][1]["esp"] is False


def test_disk_list_errors(tmp_path: Path) -> None:
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(65536))
    code, _, err = run_cli(["disk", "list", str(blank)])
    assert code == 1 and "no GPT found" in err
    code, _, err = run_cli(["disk", "list", str(tmp_path / "missing.img")])
    assert code == 2
