"""efibootmgr's device-path text read as a dialect (issue 10 item 4): every text efibootmgr
prints either reads back to the very bytes it was printed from (the first instance: libefivar
prints no other), or is refused with a TextParseError naming the field it does not carry.

Oracles: the efibootmgr -v captures generated from the corpus's efivars directories and
load options (tests/corpus/text), and efibootmgr 17 itself, run now on a fake efivarfs over
every corpus path, edk2's golden binaries and generated paths.
"""
from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import require_tool
from devpath_corpus import CORPUS, corpus_paths, file_path_list
from devpath_tables import golden_rows
from efikit.codec.devpath import DevicePath, RawNode
from efikit.codec.devpath.base import TYPE_END
from efikit.errors import Error, TextParseError
from fuzz.inputs import generated_inputs

TEXT = CORPUS / "text"
GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"


def first_instance(data: bytes) -> bytes:
    """The path up to its first End node of any kind: all that libefivar prints."""
    nodes = []
    for node in DevicePath.from_bytes(data).nodes:
        if node.type_code == TYPE_END:
            break
        nodes.append(node)
    return DevicePath(tuple(nodes)).to_bytes()


def read(text: str) -> bytes | TextParseError:
    try:
        return DevicePath.from_text(text, dialect="efibootmgr").to_bytes()
    except TextParseError as error:
        assert error.text == text and 1 <= error.column <= len(text) + 1
        return error


# ---- the captures in the corpus ------------------------------------------------------------

def _split_line(line: str, optional_data: bytes) -> str:
    """The path text of an efibootmgr -v line: efibootmgr 17 prints the optional data right
    after the path, one character per byte."""
    text = line.split("\t", 1)[1]
    return text[:len(text) - len(optional_data)] if optional_data else text


def _option_parts(option: bytes) -> tuple[bytes, bytes]:
    """(the file path list, the optional data) of an EFI_LOAD_OPTION."""
    (length,) = struct.unpack_from("<H", option, 4)
    offset = 6
    while option[offset:offset + 2] != b"\0\0":
        offset += 2
    start = offset + 2
    return option[start:start + length], option[start + length:]


def capture_pairs() -> list[tuple[str, str, bytes]]:
    """(where, efibootmgr's path text, the first path's bytes) from the generated captures."""
    pairs = []
    for capture in sorted(TEXT.glob("*.efibootmgr-v.txt")):
        machine = CORPUS / "efivars" / capture.name[:-len(".efibootmgr-v.txt")]
        for line in capture.read_text(encoding="utf-8").splitlines():
            if not line.startswith("Boot") or "\t" not in line:
                continue
            variable = machine / f"Boot{line[4:8]}-{GLOBAL}"
            if not variable.exists():
                continue
            paths, optional = _option_parts(variable.read_bytes()[4:])
            pairs.append((f"{capture.name}:{line[:8]}", _split_line(line, optional),
                          file_path_list(variable.read_bytes()[4:])[0]))
    for row in (TEXT / "loadoptions.efibootmgr17.tsv").read_text(encoding="utf-8").splitlines():
        if row.startswith("#"):
            continue
        name, rendering = row.split("\t", 1)
        option = (CORPUS / "loadoptions" / name).read_bytes()
        paths, optional = _option_parts(option)
        text = rendering.split(" | ", 1)[1]
        text = text[:len(text) - len(optional)] if optional else text
        pairs.append((name, text, file_path_list(option)[0]))
    return pairs


CAPTURES = capture_pairs()


def test_captures_are_there() -> None:
    assert len(CAPTURES) >= 150, len(CAPTURES)


@pytest.mark.parametrize(("where", "text", "data"), CAPTURES, ids=[c[0] for c in CAPTURES])
def test_capture_reads_to_its_bytes_or_is_refused(where: str, text: str, data: bytes) -> None:
    outcome = read(text)
    if isinstance(outcome, TextParseError):
        # what the field is: named in the message, after the node's keyword
        assert "efibootmgr" in outcome.expected, outcome
    else:
        assert outcome == first_instance(data), (text, DevicePath.from_bytes(data).to_text())


def test_most_captures_read_back() -> None:
    read_back = [c for c in CAPTURES if not isinstance(read(c[1]), TextParseError)]
    assert len(read_back) >= 0.9 * len(CAPTURES), (len(read_back), len(CAPTURES))


@pytest.mark.parametrize("capture", sorted(TEXT.glob("issue-*.txt")), ids=lambda p: p.name)
def test_real_machine_captures_read_or_are_refused(capture: Path) -> None:
    """Captures from bug reports (no bytes to compare): never anything but a TextParseError."""
    for line in capture.read_text(encoding="utf-8").splitlines():
        if line.startswith("Boot") and "\t" in line and "truncated" not in line:
            text = line.split("\t", 1)[1]
            try:
                DevicePath.from_text(text, dialect="efibootmgr")
            except TextParseError:
                pass


# ---- efibootmgr itself -----------------------------------------------------------------------

def efibootmgr_texts(paths: list[bytes]) -> list[str | None]:
    """What efibootmgr -v prints for each device path (written as Boot#### on a fake
    efivarfs, no optional data); None where it lists nothing. efibootmgr stops the whole
    listing at a path it cannot parse, so a batch with a gap is redone one path at a time."""
    require_tool("efibootmgr")
    texts: list[str | None] = []
    for start in range(0, len(paths), 40):
        batch = _run_efibootmgr(paths[start:start + 40])
        if any(text is None for text in batch) and len(batch) > 1:
            batch = [_run_efibootmgr([path])[0] for path in paths[start:start + 40]]
        texts += batch
    return texts


def _run_efibootmgr(paths: list[bytes]) -> list[str | None]:
    with tempfile.TemporaryDirectory() as directory:
        for number, path in enumerate(paths):
            option = struct.pack("<IH", 1, len(path)) + "x\0".encode("utf-16-le") + path
            Path(directory, f"Boot{number:04X}-{GLOBAL}").write_bytes(b"\7\0\0\0" + option)
        order = b"".join(struct.pack("<H", number) for number in range(len(paths)))
        Path(directory, f"BootOrder-{GLOBAL}").write_bytes(b"\7\0\0\0" + order)
        done = subprocess.run(["efibootmgr", "-v"], capture_output=True, text=True,
                              errors="surrogateescape",
                              env=dict(os.environ, EFIVARFS_PATH=f"{directory}/"))
    listed: dict[int, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith("Boot") and line[8:9] in ("*", " ") and "\t" in line:
            listed[int(line[4:8], 16)] = line.split("\t", 1)[1]
    return [listed.get(number) for number in range(len(paths))]


def _typed(data: bytes) -> bool:
    """Every node of the first instance has its type's layout (libefivar prints a node by
    its type alone, so the text of a node of another size says nothing of its bytes)."""
    return not any(isinstance(node, RawNode)
                   for node in DevicePath.from_bytes(first_instance(data)).nodes)


def _check_against_efibootmgr(paths: list[bytes]) -> dict[str, int]:
    counts = {"read back": 0, "refused": 0, "not listed": 0}
    for data, text in zip(paths, efibootmgr_texts(paths)):
        if text is None:
            counts["not listed"] += 1
            continue
        outcome = read(text)
        if isinstance(outcome, TextParseError):
            counts["refused"] += 1
            continue
        expected = first_instance(data)
        if outcome != expected:
            # only where edk2's own text drops the same bytes (e.g. a Uart's reserved word)
            assert not DevicePath.from_bytes(expected).text_round_trips(), (text, data.hex())
        else:
            counts["read back"] += 1
    return counts


@pytest.mark.peer
def test_efibootmgr_on_every_corpus_path() -> None:
    counts = _check_against_efibootmgr([path.data for path in corpus_paths()])
    assert counts["read back"] >= 240, counts


@pytest.mark.peer
def test_efibootmgr_on_edk2_golden_paths() -> None:
    paths = [row.binary for row in golden_rows() if _typed(row.binary)]
    counts = _check_against_efibootmgr(paths)
    assert counts["read back"] >= 250 and counts["refused"] >= 50, counts


@pytest.mark.peer
def test_efibootmgr_on_generated_paths() -> None:
    paths = []
    for data in generated_inputs(5, 3000):
        try:
            if _typed(data):
                paths.append(data)
        except Error:
            continue
    counts = _check_against_efibootmgr(paths)
    assert counts["read back"] >= 250 and counts["refused"] >= 200, counts


# ---- what the dialect reads differently, and what it refuses ---------------------------------

def test_nvme_eui_is_in_stored_order() -> None:
    text = "PciRoot(0x0)/Pci(0x1d,0x0)/NVMe(0x1,01-02-03-04-05-06-07-08)"
    ours = DevicePath.from_text(text, dialect="efibootmgr")
    assert ours.to_bytes()[-12:-4] == bytes(range(1, 9))
    assert ours.to_text().endswith("NVMe(0x1,08-07-06-05-04-03-02-01)")  # edk2's order
    # the default edk2 reading does not guess: the EUI is edk2's (reversed) order
    assert DevicePath.from_text(text).to_bytes()[-12:-4] == bytes(range(8, 0, -1))


@pytest.mark.parametrize(("text", "edk2_text"), [
    ("FvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)",
     "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)"),
    ("EDD10(0x80)", "VenHw(CF31FAC5-C24E-11D2-85F3-00A0C93EC93B,80000000)"),
    ("VenPcAnsi(aabb)", "VenMsg(E0C14753-F9BE-11D2-9A0C-0090273FC14D,AABB)"),
    ("Ata(1,0,3)", "Ata(Secondary,Master,0x3)"),
    ("Bluetooth(01:02:03:04:05:06)", "Bluetooth(010203040506)"),
    ("HD(1,GPT,c12a7328-f81f-11d2-ba4b-00a0c93ec93b,0x800,0x1000)/File(\\EFI\\a b)/File(c.efi)",
     "HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1000)/\\EFI\\a b/c.efi"),
    ("Uart(9600,7,E,1)", "Uart(9600,7,E,1)"),
])
def test_efibootmgr_spellings(text: str, edk2_text: str) -> None:
    path = DevicePath.from_text(text, dialect="efibootmgr")
    assert path.to_bytes() == DevicePath.from_text(edk2_text).to_bytes()


@pytest.mark.parametrize(("text", "column", "field"), [
    ("UsbWwid(951,1666,0,AB)", 20, "serial number"),
    ("IPv4(0.0.0.00.0.0.0,0,0)", 6, "remote address apart"),
    ("IPv6([::]:0<->[::]:0,0,0)", 6, "byte order"),
    ("Fibre(1234,5)", 7, "Fibre Channel Ex"),
    ("SAS(1234,5,0,SAS,Internal,Direct,1)", 5, "SAS Ex"),
    ("UsbClass(1,2,3,4)", 10, "device class"),
    ("Uart(115200,8,N,1)", 6, "DEFAULT"),
    ("PcieRoot()", 10, "AcpiEx"),
    ("AcpiPath(9,0102)", 12, "first half"),
    ("PciRoot(0x0)/Pci(0x1,0x0),PciRoot(0x1)", 26, "first instance"),
    ("PciRoot(0x0)/\\EFI\\x.efi", 14, "File(...)"),
    ("PciRoot(0x0)/", 14, "prints nothing"),
    ("File(\\EFI\\caf\u00e9.efi)", 6, "printable ASCII"),
])
def test_lossy_efibootmgr_text_is_refused_naming_the_field(text: str, column: int,
                                                           field: str) -> None:
    with pytest.raises(TextParseError) as caught:
        DevicePath.from_text(text, dialect="efibootmgr")
    assert caught.value.column == column, str(caught.value)
    assert field in caught.value.expected, str(caught.value)


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="efibootmgr"):
        DevicePath.from_text("Pci(0x0,0x0)", dialect="gnu-efi")


def test_edk2_reading_of_efibootmgr_captures_is_the_same_or_refused() -> None:
    """Pasted without --from, efibootmgr's text is read as edk2's, which does not guess: the
    same bytes where both dialects mean the same, else a TextParseError (efibootmgr's IPv4 and
    IPv6 forms; an NVMe node next to efibootmgr's File(...))."""
    same = refused = 0
    for _, text, data in CAPTURES:
        try:
            result = DevicePath.from_text(text).to_bytes()
        except TextParseError:
            refused += 1
            continue
        assert result == first_instance(data), text
        same += 1
    assert same >= 150 and refused >= 4, (same, refused)


def test_edk2_reading_refuses_efibootmgr_nvme_text() -> None:
    nvme = "PciRoot(0x0)/Pci(0x1d,0x0)/NVMe(0x1,01-02-03-04-05-06-07-08)"
    text = nvme + "/HD(1,GPT,c7e198db-ec30-4a23-b0fd-8e2dbc092a01,0x800,0x12c000)/File(\\EFI\\x.efi)"
    with pytest.raises(TextParseError, match="--from efibootmgr") as caught:
        DevicePath.from_text(text)
    assert caught.value.column == len("PciRoot(0x0)/Pci(0x1d,0x0)/") + 1
    # efibootmgr's own reading, and edk2's text (no File(...)) read as edk2's
    assert DevicePath.from_text(text, dialect="efibootmgr").to_bytes()[26:34] == bytes(range(1, 9))
    edk2_text = text.replace("File(\\EFI\\x.efi)", "\\EFI\\x.efi")
    assert DevicePath.from_text(edk2_text).to_bytes()[26:34] == bytes(range(8, 0, -1))
