"""Edge cases of the native renderer, each checked against the object model and, where the
answer is fixed by edk2 or the spec, against the literal text."""
from __future__ import annotations

import re
import struct
import threading

import pytest

from efikit.codec import _backend
from efikit.codec.fastpath import (
    device_path_to_text,
    device_path_to_text_python,
    load_option_to_text,
    load_option_to_text_python,
    registered_map,
)
from efikit.errors import DecodeError
from test_native_differential import require_native

END = b"\x7f\xff\x04\x00"
END_INSTANCE = b"\x7f\x01\x04\x00"
PCI_ROOT = bytes.fromhex("02010c00d041030a00000000")


def node(node_type: int, subtype: int, payload: bytes) -> bytes:
    return struct.pack("<BBH", node_type, subtype, 4 + len(payload)) + payload


def file_path(text: str) -> bytes:
    return node(4, 4, text.encode("utf-16-le") + b"\0\0")


def outcome(call, data: bytes, display_only: bool = False):  # type: ignore[no-untyped-def]
    try:
        return ("ok", call(data, display_only))
    except DecodeError as error:
        return ("error", error.reason, error.offset)


def same(data: bytes) -> tuple[object, object]:
    """Both modes agree between the C renderer and the object model; returns them."""
    results = []
    for display_only in (False, True):
        native = outcome(device_path_to_text, data, display_only)
        assert native == outcome(device_path_to_text_python, data, display_only), data.hex()
        results.append(native)
    return results[0], results[1]


def natively_rendered(data: bytes) -> bool:
    lib = _backend.native_lib
    assert lib is not None
    return lib.devpath_to_text(data, False, registered_map())[0] == 0


@pytest.fixture(autouse=True)
def _native() -> None:
    require_native()


@pytest.mark.parametrize("name", ["\\EFI\\Ünïcödé\\文件.efi", "\\\u07ff\u0800\uffff\ufffd",
                                  "\\EFI\\BOOT\\BOOTX64.EFI", "ä"])
def test_file_path_ucs2_to_utf8(name: str) -> None:
    data = PCI_ROOT + file_path(name) + END
    assert same(data)[0] == ("ok", "PciRoot(0x0)/" + name)
    assert natively_rendered(data)


def test_file_path_faults_match_python() -> None:
    surrogate = node(4, 4, "\\a".encode("utf-16-le") + b"\x00\xd8" + b"\0\0")
    odd = node(4, 4, b"\\\x00a\x00\x00")
    for data in (PCI_ROOT + surrogate + END, odd + END):
        full, _ = same(data)
        assert full[0] == "error"
    no_nul = node(4, 4, "\\a".encode("utf-16-le"))
    inner_nul = node(4, 4, "\\a\0b".encode("utf-16-le") + b"\0\0")
    assert same(no_nul + END)[0] == ("ok", "MediaPath(4,5C006100)")
    assert same(inner_nul + END)[0][1].startswith("MediaPath(4,")  # type: ignore[index]
    assert natively_rendered(no_nul + END)


def test_signed_fields_print_as_edk2() -> None:
    uart = node(3, 14, struct.pack("<IQBBB", 0, 0xFFFFFFFFFFFFFFFF, 8, 1, 1))
    assert same(uart + END)[0] == ("ok", "Uart(-1,8,N,1)")
    hd = node(4, 1, struct.pack("<IQQ16sBB", 0xFFFFFFFF, 0x800, 0x1000, bytes(16), 0, 0))
    assert same(hd + END)[0] == ("ok", "HD(-1,0,0,0x800,0x1000)")


def test_native_text_matches_the_edk2_golden_table() -> None:
    """The C renderer against edk2 itself (not only against the Python model): every row of
    the 415-row golden table, both modes; HD() rows (MBR signatures with leading zeros among
    them) are rendered by C, not handed back to Python."""
    from devpath_tables import golden_rows
    from test_devpath_golden import EFIKIT_DIFFERS, GOLDEN_ROWS

    rows = golden_rows()
    assert len(rows) == GOLDEN_ROWS
    wrong = []
    for row in rows:
        full = EFIKIT_DIFFERS.get(row.input_text, row.full_text)
        if device_path_to_text(row.binary, False) != full:
            wrong.append(f"full {full}")
        if row.input_text not in EFIKIT_DIFFERS and \
                device_path_to_text(row.binary, True) != row.display_text:
            wrong.append(f"display {row.display_text}")
    assert not wrong, "\n".join(wrong)
    # A path with a node C does not render goes to Python whole: check each HD() node alone.
    hard_drives = 0
    for row in rows:
        edk2_hd = re.findall(r"HD\([^)]*\)", row.full_text)
        ours = [hd_node + END for hd_node in _nodes(row.binary) if hd_node[:2] == b"\x04\x01"]
        assert len(ours) == len(edk2_hd), row.full_text
        for data, text in zip(ours, edk2_hd):
            assert natively_rendered(data)
            assert device_path_to_text(data, False) == text
            hard_drives += 1
    assert hard_drives == 30 and ",MBR,0x0000ABCD," in "".join(r.full_text for r in rows)


def _nodes(data: bytes) -> list[bytes]:
    out, position = [], 0
    while position < len(data):
        length = struct.unpack_from("<H", data, position + 2)[0]
        out.append(data[position:position + length])
        position += length
    return out


def test_display_only_differs_where_edk2_differs() -> None:
    ipv4 = node(3, 12, bytes(4) + bytes((192, 168, 0, 1)) + bytes(4) + b"\x06\x00\x00"
                + bytes(8))
    full, display = same(PCI_ROOT + ipv4 + END)
    assert full == ("ok", "PciRoot(0x0)/IPv4(192.168.0.1,TCP,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)")
    assert display == ("ok", "PciRoot(0x0)/IPv4(192.168.0.1)")


def test_instances_and_raw_nodes() -> None:
    data = END_INSTANCE + PCI_ROOT + END_INSTANCE + END_INSTANCE + node(0x10, 1, b"\xab") + END
    assert same(data)[0] == ("ok", ",/PciRoot(0x0),,/Path(16,1,AB)")
    assert same(node(0x7F, 1, b"\x00") + END)[0] == ("ok", "Path(127,1,00)")
    assert natively_rendered(data)


def test_framing_and_trailing_errors_match_python() -> None:
    cases = [b"", PCI_ROOT, PCI_ROOT + b"\x01\x01", PCI_ROOT + b"\x01\x01\x02\x00",
             PCI_ROOT + b"\x01\x01\x40\x00\x00\x00", PCI_ROOT + END + b"\x00"]
    for data in cases:
        full, display = same(data)
        assert full[0] == "error" and display == full


def test_load_option_description_with_00_byte_pair() -> None:
    """'AĀ' is 41 00 00 01: a search for a 00 00 byte pair would cut it."""
    path = PCI_ROOT + file_path("\\x.efi") + END
    option = struct.pack("<IH", 1, len(path)) + "AĀ\0".encode("utf-16-le") + path + b"opt"
    native = load_option_to_text(option)
    assert native == load_option_to_text_python(option)
    assert native == (1, "AĀ", ("PciRoot(0x0)/\\x.efi",), b"opt")


def test_threads_share_nothing() -> None:
    paths = [PCI_ROOT + file_path(f"\\EFI\\{i:04d}\\{'x' * (i % 50)}.efi") + END
             for i in range(200)]
    expected = [device_path_to_text_python(p) for p in paths]
    failures: list[int] = []

    def work() -> None:
        for _ in range(20):
            for index, data in enumerate(paths):
                if device_path_to_text(data) != expected[index]:
                    failures.append(index)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
