"""Device-path text on the command line (issue 10 items 3-5): pasted text read as meant,
`--from efibootmgr`, and paths whose text does not carry their bytes never rewritten by a
command that goes through text."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from conftest import CORPUS
from efikit.boot import BootManager
from efikit.cli.main import main
from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.vars.efivarfs import EfivarfsStore
from test_boot_support import copy_machine

FWUPD = CORPUS / "efivars" / "fwupd-libfwupdplugin-tests"
HD = "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def encoded(text: str, dialect: str = "edk2") -> str:
    return DevicePath.from_text(text, dialect=dialect).to_bytes().hex()


# an HD node whose edk2 text drops bytes: an MBR signature with bytes 4-15 set
LOSSY_HD = DevicePath.from_bytes(
    struct.pack("<BBHIQQ16sBB", 4, 1, 42, 1, 0x800, 0x1000, bytes(range(1, 17)), 1, 1)
    + b"\x7f\xff\x04\x00")


@pytest.mark.parametrize("pasted", [
    f"  {HD}/\\EFI\\fedora\\shimx64.efi\r\n",
    f"{HD.lower()} / File(/EFI/fedora/shimx64.efi)",
    f"{HD}//EFI/fedora/shimx64.efi",
])
def test_devpath_encode_reads_pasted_text(capsys: pytest.CaptureFixture[str],
                                          pasted: str) -> None:
    code, out, err = cli(capsys, "devpath", "encode", pasted)
    assert (code, err) == (0, "")
    assert out.strip() == encoded(f"{HD}/\\EFI\\fedora\\shimx64.efi")


def test_devpath_encode_refuses_an_unknown_keyword(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "devpath", "encode", "PciRoot(0x0)/EDD10(0x80)")
    assert code == 2 and out == ""
    assert err.startswith("efikit: error: column 14: expected a device-path keyword, not 'EDD10'")


def test_devpath_encode_from_efibootmgr(capsys: pytest.CaptureFixture[str]) -> None:
    text = "PciRoot(0x0)/Pci(0x1d,0x0)/NVMe(0x1,01-02-03-04-05-06-07-08)"
    code, out, _ = cli(capsys, "devpath", "encode", "--from", "efibootmgr", text)
    assert code == 0 and bytes.fromhex(out.strip())[-12:-4] == bytes(range(1, 9))
    code, out, err = cli(capsys, "devpath", "encode", "--from", "efibootmgr",
                         "UsbWwid(951,1666,0,AB)")
    assert code == 2 and out == "" and "serial number" in err and "column 20" in err


def test_devpath_decode_warns_when_its_text_drops_bytes(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "devpath", "decode", LOSSY_HD.to_bytes().hex())
    assert code == 0 and out.strip() == "HD(1,MBR,0x04030201,0x800,0x1000)"
    assert "does not carry all of the path's bytes" in err
    code, out, err = cli(capsys, "devpath", "decode", "--display-only",
                         LOSSY_HD.to_bytes().hex())
    assert code == 0 and "does not carry" in err
    code, out, err = cli(capsys, "devpath", "decode", encoded(HD))
    assert (code, err) == (0, "")


def test_loadopt_encode_from_efibootmgr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "loadopt", "encode", "--label", "x", "--from", "efibootmgr",
                       "--device-path", "FvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/"
                       "FvFile(462caa21-7614-4503-836e-8ab6f4662331)")
    assert code == 0
    option = LoadOption.from_bytes(bytes.fromhex(out.strip()))
    assert option.file_paths[0].to_text() == ("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/"
                                              "FvFile(462CAA21-7614-4503-836E-8AB6F4662331)")


def test_boot_add_from_efibootmgr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    machine = copy_machine(FWUPD, tmp_path)
    text = ("PciRoot(0x0)/Pci(0x1d,0x0)/NVMe(0x1,01-02-03-04-05-06-07-08)/"
            "HD(1,GPT,c7e198db-ec30-4a23-b0fd-8e2dbc092a01,0x800,0x12c000)/"
            "File(\\EFI\\fedora\\shimx64.efi)")
    code, _, err = cli(capsys, "--vars", str(machine), "boot", "add", "-L", "nvme",
                       "--from", "efibootmgr", "--device-path", text)
    assert code == 0, err
    option = BootManager(EfivarfsStore(machine)).option(3)
    assert option.file_paths[0].to_bytes().hex() == encoded(text, "efibootmgr")
    assert option.file_paths[0].to_bytes()[26:34] == bytes(range(1, 9))  # EUI, stored order


def test_boot_edit_keeps_the_bytes_its_text_cannot_carry(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    machine = copy_machine(FWUPD, tmp_path)
    manager = BootManager(EfivarfsStore(machine))
    manager.apply(manager.plan_edit(1, device_path=LOSSY_HD))
    before = BootManager(EfivarfsStore(machine)).option(1).to_bytes()
    # the text `boot show` prints for that path, pasted back with a new label
    code, _, err = cli(capsys, "--vars", str(machine), "boot", "edit", "1", "-L", "Renamed",
                       "--device-path", LOSSY_HD.to_text() + "\r\n")
    assert code == 0, err
    assert "its bytes are kept" in err
    after = BootManager(EfivarfsStore(machine)).option(1)
    assert after.description == "Renamed"
    assert after.file_paths[0].to_bytes() == LOSSY_HD.to_bytes()
    assert after.to_bytes() != before  # the label did change
    # a different path is a change, and goes through
    code, _, err = cli(capsys, "--vars", str(machine), "boot", "edit", "1",
                       "--device-path", HD)
    assert (code, err) == (0, "")
    assert BootManager(EfivarfsStore(machine)).option(1).file_paths[0].to_text() == HD


def test_boot_add_refuses_a_typo_instead_of_a_file_name(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    machine = copy_machine(FWUPD, tmp_path)
    before = {p.name: p.read_bytes() for p in machine.iterdir()}
    code, out, err = cli(capsys, "--vars", str(machine), "boot", "add", "-L", "x",
                         "--device-path", f"{HD}/Fiel(\\EFI\\x.efi)")
    assert code == 2 and "did you mean File" in err
    assert {p.name: p.read_bytes() for p in machine.iterdir()} == before
