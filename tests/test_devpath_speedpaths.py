"""The fast paths print exactly what the object model prints.

- ``render_device_path`` / ``fastpath.device_path_to_text_pure`` / ``load_option_to_text_pure``
  (bytes → text in one pass, node texts straight from the payloads) and
- the lazy ``DevicePath`` that ``from_bytes`` returns (nodes built on first use, text from
  the payloads, bytes kept)

against a reference that decodes every node eagerly with ``decode_node`` and prints with the
nodes' ``to_text``: same text in both modes, same DecodeError (reason and offset), same
nodes and bytes — over the corpus, generated and mutated inputs, and hypothesis paths.
"""
from __future__ import annotations

import os
import subprocess
import sys
import struct
import uuid
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efikit.codec import fastpath
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.base import decode_node
from efikit.codec.guid import guid_text
from efikit.codec.devpath.framing import frame_nodes_python
from efikit.codec.devpath.lazy_index import MESSAGING_VENDOR_GUID_MODULES
from efikit.codec.devpath.path import render_device_path
from efikit.codec.loadoption import LoadOption, path_list_error
from efikit.codec.loadoption_header import read_header
from efikit.errors import DecodeError
from fuzz.inputs import (
    corpus_device_paths,
    corpus_load_options,
    generated_inputs,
    generated_load_options,
)

END = b"\x7f\xff\x04\x00"


# ---- the reference: every node decoded at once, printed by the node loop --------------------

def reference_nodes(data: bytes, start: int, end: int) -> tuple[DevicePath, int]:
    frames, stop = frame_nodes_python(data, start, end)
    nodes = tuple(decode_node(t, s, data[o + 4:o + length], o + 4)
                  for o, t, s, length in frames[:-1])
    last, _, _, last_length = frames[-1]
    return DevicePath(nodes, data[last:last + last_length]), stop


def reference_path(data: bytes) -> DevicePath:
    path, stop = reference_nodes(data, 0, len(data))
    if stop != len(data):
        raise DecodeError(f"{len(data) - stop} byte(s) after the End-of-path node", stop)
    return path


def reference_option(data: bytes, display_only: bool) -> tuple[Any, ...]:
    attributes, description, start, end = read_header(data)
    texts = []
    position = start
    while position < end:
        try:
            path, position = reference_nodes(data, position, end)
        except DecodeError as error:
            raise path_list_error(end - start, error) from None
        texts.append(path.to_text(display_only))
    return attributes, description, tuple(texts), data[end:]


def outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return ("ok", call(*args))
    except DecodeError as error:
        return ("DecodeError", error.reason, error.offset)


def check_path(data: bytes) -> None:
    for display_only in (False, True):
        expected = outcome(lambda d: reference_path(d).to_text(display_only), data)
        assert outcome(fastpath.device_path_to_text_pure, data, display_only) == expected, \
            (data.hex(), display_only)
        assert outcome(lambda d: DevicePath.from_bytes(d).to_text(display_only),
                       data) == expected, (data.hex(), display_only)
        assert outcome(fastpath.device_path_to_text, data, display_only) == expected
    expected_path = outcome(reference_path, data)
    lazy = outcome(DevicePath.from_bytes, data)
    assert lazy[0] == expected_path[0]
    if lazy[0] != "ok":
        assert lazy == expected_path
        return
    path, reference = lazy[1], expected_path[1]
    assert path.to_bytes() == data == reference.to_bytes()
    assert path == reference and hash(path) == hash(reference)
    assert path.nodes == reference.nodes and path.terminator == reference.terminator
    assert path.to_bytes() == data  # after the nodes were built too
    assert repr(path) == repr(reference)


def check_option(data: bytes) -> None:
    for display_only in (False, True):
        expected = outcome(reference_option, data, display_only)
        pure = outcome(fastpath.load_option_to_text_pure, data, display_only)
        assert pure[0] == expected[0] and (pure[0] != "ok" or tuple(pure[1]) == expected[1]) \
            and (pure[0] == "ok" or pure == expected), (data.hex(), display_only)
        assert outcome(fastpath.load_option_to_text_python, data, display_only) == pure
        assert outcome(fastpath.load_option_to_text, data, display_only) == pure
    option = outcome(LoadOption.from_bytes, data)
    if option[0] == "ok":
        assert option[1].to_bytes() == data


# ---- corpus and generated inputs ---------------------------------------------------------

@pytest.mark.parametrize("data", corpus_device_paths(), ids=lambda d: d.hex()[:24])
def test_corpus_paths(data: bytes) -> None:
    check_path(data)


@pytest.mark.parametrize("data", corpus_load_options(), ids=lambda d: d.hex()[:24])
def test_corpus_load_options(data: bytes) -> None:
    check_option(data)


SEED = int(os.environ.get("EFIKIT_DIFF_SEED", "1"))


def test_generated_paths() -> None:
    for data in generated_inputs(SEED + 7, 5_000):  # synthesised, mutated and garbage
        check_path(data)


def test_generated_load_options() -> None:
    for data in generated_load_options(SEED + 7, 1_000):
        check_option(data)


# ---- hypothesis: nodes near the layouts the renderers read --------------------------------

# (type, subtype) → payload sizes around the exact one (the renderers take only that one)
SIZED = {(0x01, 0x01): 2, (0x02, 0x01): 8, (0x02, 0x03): 4, (0x03, 0x01): 4, (0x03, 0x02): 4,
         (0x03, 0x05): 2, (0x03, 0x0E): 19, (0x03, 0x0F): 7, (0x03, 0x11): 1, (0x03, 0x12): 6,
         (0x03, 0x17): 12, (0x04, 0x01): 42, (0x04, 0x05): 16, (0x04, 0x06): 16,
         (0x04, 0x07): 16, (0x7F, 0x01): 0}
VENDOR = [(0x01, 0x04), (0x03, 0x0A), (0x04, 0x03)]
TYPED_GUIDS = [guid.bytes_le for guid in MESSAGING_VENDOR_GUID_MODULES]


def node(node_type: int, subtype: int, payload: bytes) -> bytes:
    return struct.pack("<BBH", node_type, subtype, 4 + len(payload)) + payload


@st.composite
def sized_nodes(draw: st.DrawFn) -> bytes:
    (node_type, subtype), size = draw(st.sampled_from(sorted(SIZED.items())))
    size = draw(st.sampled_from([size, size, size, max(0, size - 1), size + 1, size + 4]))
    payload = draw(st.binary(min_size=size, max_size=size))
    if (node_type, subtype) == (0x04, 0x01) and size == 42 and draw(st.booleans()):
        payload = payload[:40] + bytes((draw(st.integers(0, 3)), draw(st.integers(0, 3))))
    if (node_type, subtype) == (0x02, 0x01) and size == 8 and draw(st.booleans()):
        payload = struct.pack("<I", draw(st.sampled_from([0x0A0341D0, 0x0A0841D0, 0x030141D0,
                                                          0x123441D0]))) + payload[4:]
    return node(node_type, subtype, payload)


@st.composite
def vendor_nodes(draw: st.DrawFn) -> bytes:
    node_type, subtype = draw(st.sampled_from(VENDOR))
    guid = draw(st.sampled_from(TYPED_GUIDS) | st.binary(min_size=16, max_size=16))
    data = draw(st.sampled_from([b"", b"\x00\x00\x00\x00"]) | st.binary(max_size=40))
    return node(node_type, subtype, (guid + data)[:draw(st.sampled_from([16, 100, 12]))])


@st.composite
def file_path_nodes(draw: st.DrawFn) -> bytes:
    text = draw(st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)),
                        max_size=12) | st.text("\\EFIBOOTabc.,/()", max_size=20))
    raw = text.encode("utf-16-le", "surrogatepass")
    tail = draw(st.sampled_from([b"\0\0", b"\0\0", b"", b"\0", b"\0\0A\0",
                                 b"\x00\xd8\0\0", b"\x00\xdc\x00\xd8\0\0",
                                 b"\x3d\xd8\x00\xde\0\0"]))  # lone, swapped, paired
    return node(0x04, 0x04, raw + tail)


any_node = st.one_of(sized_nodes(), vendor_nodes(), file_path_nodes(),
                     st.builds(node, st.integers(0, 0xFF), st.integers(0, 0xFF),
                               st.binary(max_size=12)))


@st.composite
def node_soups(draw: st.DrawFn) -> bytes:
    body = b"".join(draw(st.lists(any_node, max_size=8)))
    ending = draw(st.sampled_from([END, END, END, END + b"\x01", b"\x7f\xff\x05\x00\x00",
                                   b"", b"\x7f\xff", b"\x01\x01\x03\x00", b"\x01\x01\xff\x00"]))
    return body + ending


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node_soups())
def test_hypothesis_paths(data: bytes) -> None:
    check_path(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(node_soups(), min_size=1, max_size=3),
       st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=6),
       st.binary(max_size=6), st.integers(0, 0xFFFFFFFF))
def test_hypothesis_load_options(paths: list[bytes], description: str, optional: bytes,
                                 attributes: int) -> None:
    file_paths = b"".join(paths)
    label = description.encode("utf-16-le", "surrogatepass") + b"\0\0"
    data = struct.pack("<IH", attributes, len(file_paths) & 0xFFFF) + label + file_paths
    check_option(data + optional)


# ---- pieces ---------------------------------------------------------------------------------

@given(st.binary(min_size=16, max_size=40), st.integers(0, 24))
def test_guid_text_is_the_uuid_text(data: bytes, offset: int) -> None:
    offset = min(offset, len(data) - 16)
    expected = str(uuid.UUID(bytes_le=data[offset:offset + 16])).upper()
    assert guid_text(data, offset) == expected


def test_render_device_path_inside_a_buffer() -> None:
    path = bytes.fromhex("02010c00d041030a00000000" "010106000001" "04040a00410042000000")
    data = b"\xAA" * 3 + path + END + b"\xBB"
    text, stop = render_device_path(data, 3, len(data))
    assert (text, stop) == ("PciRoot(0x0)/Pci(0x1,0x0)/AB", len(data) - 1)


def test_a_node_error_waits_for_the_framing() -> None:
    odd_file_path = node(0x04, 0x04, b"A")  # DecodeError from the file-path decoder
    data = odd_file_path + b"\x01\x01\x02\x00" + END  # ... but a framing fault after it
    expected = outcome(reference_path, data)
    assert expected[1] == "device-path node length is less than 4"
    assert outcome(fastpath.device_path_to_text_pure, data) == expected
    assert outcome(DevicePath.from_bytes, data)[:2] == expected[:2]


def test_decoded_paths_defer_their_nodes() -> None:
    data = bytes.fromhex("02010c00d041030a00000000010106000001") + END
    path = DevicePath.from_bytes(data)
    assert path._source is not None
    assert path.to_text() == "PciRoot(0x0)/Pci(0x1,0x0)"
    assert len(path.nodes) == 2 and DevicePath(path.nodes) == path


def test_pure_mode_uses_the_pure_fast_paths() -> None:
    """Without the native codec (forced here in a child process, so this runs in every
    environment) the public fast paths are the pure-Python ones."""
    check = ("from efikit.codec import _backend, fastpath\n"
             "assert _backend.native_lib is None\n"
             "assert fastpath.device_path_to_text is fastpath.device_path_to_text_pure\n"
             "assert fastpath.load_option_to_text is fastpath.load_option_to_text_pure\n")
    env = dict(os.environ, EFIKIT_PURE_PYTHON="1")
    result = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_boot_list_verbose_line_is_the_decoded_options_line() -> None:
    from efikit.cli.boot_cmd import _verbose_line
    from efikit.cli.render import load_option_line
    from efikit.errors import Error

    for data in corpus_load_options() + generated_load_options(SEED + 11, 1_000):
        try:
            option = LoadOption.from_bytes(data)
            expected = f"Boot0007{'*' if option.active else ' '} {load_option_line(option)}"
        except Error as error:
            expected = f"Boot0007? <cannot decode: {error}>"
        assert _verbose_line("Boot0007", data) == expected, data.hex()
