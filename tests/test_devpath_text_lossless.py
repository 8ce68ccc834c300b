"""Text that does not carry a path's bytes is flagged (issue 10 item 5): edk2's text stays as
edk2 prints it, and DevicePath.text_round_trips() / Node.text_round_trips() say when reading it
back gives other bytes. Over generated paths and the corpus: either the text reads back to the
original bytes, or the path is flagged, and a flagged path always has a flagged node."""
from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devpath_corpus import corpus_paths
from efikit.codec.devpath import DevicePath
from efikit.errors import DecodeError, Error
from fuzz.inputs import mutate, seed_paths, synthesise

END = b"\x7f\xff\x04\x00"


def _node(node_type: int, subtype: int, payload: bytes) -> bytes:
    return struct.pack("<BBH", node_type, subtype, 4 + len(payload)) + payload


def _hd(signature: bytes, mbr_type: int, signature_type: int) -> bytes:
    return _node(4, 1, struct.pack("<IQQ16sBB", 1, 0x800, 0x1000, signature, mbr_type,
                                   signature_type))


# the lossy texts issue 10 found, with the text edk2 prints for them (kept)
LOSSY = [
    ("HD, signature type 0 with signature bytes", _hd(bytes(range(1, 17)), 0, 0),
     None),
    ("HD, MBR signature bytes 4-15", _hd(bytes(range(1, 17)), 1, 1),
     "HD(1,MBR,0x04030201,0x800,0x1000)"),
    ("Uart, reserved field", _node(3, 0x0E, struct.pack("<IQBBB", 7, 9600, 8, 1, 1)),
     "Uart(9600,8,N,1)"),
    ("IPv4, 19 bytes (UEFI 2.0 layout)",
     _node(3, 0x0C, bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack("<HHHB", 0, 0, 6, 0)),
     None),
]


@pytest.mark.parametrize(("what", "node", "edk2_text"), LOSSY, ids=[item[0] for item in LOSSY])
def test_lossy_texts_are_flagged(what: str, node: bytes, edk2_text: str | None) -> None:
    path = DevicePath.from_bytes(node + END)
    assert not path.text_round_trips()
    assert not path.nodes[0].text_round_trips()
    if edk2_text is not None:
        assert path.to_text() == edk2_text  # edk2's text is kept
    assert DevicePath.from_text(path.to_text()).to_bytes() != path.to_bytes()


def test_ordinary_paths_are_not_flagged() -> None:
    path = DevicePath.from_text(
        "PciRoot(0x0)/Pci(0x1,0x0)/HD(1,GPT,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,0x800,0x1000)"
        "/\\EFI\\BOOT\\BOOTX64.EFI")
    assert path.text_round_trips()
    assert all(node.text_round_trips() for node in path.nodes)


def _check(data: bytes) -> bool | None:
    """The property on one path: None if it does not decode, else its flag."""
    try:
        path = DevicePath.from_bytes(data)
    except DecodeError:
        return None
    flagged = not path.text_round_trips()
    try:
        again = DevicePath.from_text(path.to_text()).to_bytes()
    except Error:
        again = None
    # the text reads back to the original bytes, or the API flags the path
    assert again == data or flagged, path.to_text()
    # a flagged path has a node whose own text is flagged, and a path of nodes whose
    # texts all read back reads back
    nodes_ok = all(node.text_round_trips() for node in path.nodes)
    assert flagged != nodes_ok or (flagged and _path_level_loss(path)), path.to_text()
    return flagged


def _path_level_loss(path: DevicePath) -> bool:
    """What the text of a path loses beyond its nodes: an End node with a payload (the text
    has no End node), an empty instance (',' with nothing before it reads as nothing, as in
    edk2), or nodes whose texts read back alone but not side by side."""
    texts = [node.to_text() for node in path.nodes]
    return (path.terminator != END
            or any(not instance for instance in path.instances[:-1])
            or any(text.startswith(("/", ",")) for text in texts[1:]))


@settings(max_examples=600, deadline=None)
@given(st.randoms(use_true_random=False))
def test_generated_paths_read_back_or_are_flagged(rng: random.Random) -> None:
    _check(synthesise(rng))


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(seed_paths()))
def test_mutated_real_paths_read_back_or_are_flagged(rng: random.Random, seed: bytes) -> None:
    _check(mutate(rng, seed))


def test_corpus_paths_read_back_or_are_flagged() -> None:
    flags = [_check(path.data) for path in corpus_paths()]
    assert None not in flags
    # the real corpus is nearly all lossless; the rest is flagged, never silently rewritten
    assert flags.count(True) <= len(flags) // 10, (flags.count(True), len(flags))
