"""Inputs for the native-vs-pure differential tests and the fuzz harness.

``corpus_device_paths`` / ``corpus_load_options``: every real device path and load option in
tests/corpus. ``generated_inputs``: a seeded, reproducible mix of mutated real paths,
synthesised paths built from node templates with biased field values, and plain garbage.
``evaluate``: what the *active* backend makes of each input (text in both modes, framing,
load-option decoding, text round trip), as plain comparable values, errors included.
"""
from __future__ import annotations

import random
import re
import struct
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
_LOAD_OPTION_VAR = re.compile(r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-Fa-f]{4}-")
_DEVICE_PATH_VAR = re.compile(r"^(ConIn|ConOut|ErrOut)(Dev)?-")
END = b"\x7f\xff\x04\x00"


def corpus_device_paths() -> list[bytes]:
    paths = [p.read_bytes() for p in sorted((CORPUS / "devicepaths").glob("*.dp"))]
    for var in sorted((CORPUS / "efivars").glob("*/*")):
        if _DEVICE_PATH_VAR.match(var.name):
            paths.append(var.read_bytes()[4:])
    return paths


def corpus_load_options() -> list[bytes]:
    options = [p.read_bytes() for p in sorted((CORPUS / "loadoptions").glob("*.bin"))]
    for var in sorted((CORPUS / "efivars").glob("*/*")):
        if _LOAD_OPTION_VAR.match(var.name):
            options.append(var.read_bytes()[4:])
    return options


def _split_paths(option: bytes) -> list[bytes]:
    """Device paths inside a load option's FilePathList, best effort (no validation)."""
    if len(option) < 6:
        return []
    (list_length,) = struct.unpack_from("<H", option, 4)
    offset = 6
    while offset + 1 < len(option) and option[offset:offset + 2] != b"\0\0":
        offset += 2
    blob = option[offset + 2:offset + 2 + list_length]
    paths, position, begin = [], 0, 0
    while position + 4 <= len(blob):
        node_type, subtype, length = struct.unpack_from("<BBH", blob, position)
        if length < 4:
            break
        position += length
        if (node_type, subtype) == (0x7F, 0xFF):
            paths.append(blob[begin:position])
            begin = position
    return paths


def seed_paths() -> list[bytes]:
    paths = corpus_device_paths()
    for option in corpus_load_options():
        paths.extend(_split_paths(option))
    return paths


def split_nodes(path: bytes) -> list[bytes]:
    nodes, position = [], 0
    while position + 4 <= len(path):
        length = path[position + 2] | (path[position + 3] << 8)
        if length < 4 or position + length > len(path):
            break
        nodes.append(path[position:position + length])
        position += length
    return nodes


# (type, subtype, payload length) of the nodes the C renderer prints, plus neighbours.
NODE_TEMPLATES: list[tuple[int, int, int]] = [
    (1, 1, 2), (1, 4, 16), (1, 4, 20), (2, 1, 8), (2, 3, 4), (2, 3, 8), (3, 2, 4), (3, 5, 2),
    (3, 10, 16), (3, 10, 20), (3, 11, 33), (3, 12, 23), (3, 13, 56), (3, 14, 15), (3, 15, 7),
    (3, 18, 6), (3, 23, 12), (4, 1, 38), (4, 3, 16), (4, 3, 17), (4, 5, 16), (4, 6, 16),
    (4, 7, 16), (0x7F, 1, 0), (3, 1, 4), (1, 2, 1), (1, 3, 20), (3, 17, 1), (3, 20, 2),
    (3, 24, 10), (3, 24, 0), (3, 31, 17), (5, 1, 5), (5, 1, 12), (4, 2, 20), (4, 8, 16), (4, 9, 38), (5, 1, 8), (2, 2, 20),
]
INTERESTING = bytes([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 0x11, 0x7F, 0x80, 0xFE, 0xFF, 0xFF])
ACPI_HIDS = [0x0A0341D0, 0x0A0841D0, 0x060441D0, 0x030141D0, 0x050141D0, 0x040141D0,
             0x030341D0, 0x000222F0, 0]
USB_CLASSES = [1, 2, 3, 6, 7, 8, 9, 0xA, 0xB, 0xE, 0xDC, 0xE0, 0xFE, 0xFF, 0, 4]


def _payload(rng: random.Random, node_type: int, subtype: int, length: int) -> bytes:
    if rng.random() < 0.4:
        body = bytearray(rng.getrandbits(8) for _ in range(length))
    else:
        body = bytearray(rng.choice(INTERESTING) for _ in range(length))
    if (node_type, subtype) == (2, 1) and length == 8 and rng.random() < 0.7:
        struct.pack_into("<I", body, 0, rng.choice(ACPI_HIDS))
    if (node_type, subtype) == (3, 15) and length == 7 and rng.random() < 0.7:
        body[4] = rng.choice(USB_CLASSES)
    return bytes(body)


def _file_path(rng: random.Random) -> bytes:
    units = []
    for _ in range(rng.randrange(0, 24)):
        roll = rng.random()
        if roll < 0.75:
            units.append(rng.choice(b"\\EFI/BOOTx64.efi -_()[],")) if rng.random() < 0.8 \
                else units.append(rng.randrange(0x20, 0x7F))
        elif roll < 0.9:
            units.append(rng.choice([0xE9, 0xFC, 0x100, 0x3A9, 0x4E2D, 0xFFFD, 0xFEFF, 0x7FF,
                                     0x800]))
        elif roll < 0.95:
            units.append(rng.randrange(0xD800, 0xE000))  # surrogate: Python raises
        else:
            units.append(0)
    body = b"".join(struct.pack("<H", u) for u in units)
    if rng.random() < 0.9:
        body += b"\0\0"
    if rng.random() < 0.05:
        body += b"\x00"  # odd length
    return body


def _node(node_type: int, subtype: int, payload: bytes) -> bytes:
    return struct.pack("<BBH", node_type, subtype, 4 + len(payload)) + payload


def synthesise(rng: random.Random) -> bytes:
    nodes = []
    for _ in range(rng.randrange(0, 7)):
        roll = rng.random()
        if roll < 0.7:
            node_type, subtype, length = rng.choice(NODE_TEMPLATES)
            if rng.random() < 0.1:
                length = max(0, length + rng.choice((-1, 1, 2, -4)))
            nodes.append(_node(node_type, subtype, _payload(rng, node_type, subtype, length)))
        elif roll < 0.8:
            nodes.append(_node(4, 4, _file_path(rng)))
        elif roll < 0.85:
            text = bytes(rng.choice(b"ABC xyz-09()\x80\xe9\x00") for _ in range(rng.randrange(8)))
            if rng.random() < 0.5:
                head = struct.pack("<HH", rng.choice((1, 2, 3, 4, 5, 6, 7, 0x80, 0xFF)),
                                   rng.choice((0, 1, 0xFFFF)))
                nodes.append(_node(5, 1, head + text + b"\0"))
            else:
                nodes.append(_node(3, 0x18, text))
        else:
            node_type = rng.choice((1, 2, 3, 4, 5, 0x7F, rng.randrange(256)))
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 24)))
            nodes.append(_node(node_type, rng.randrange(256), payload))
    return b"".join(nodes) + (END if rng.random() < 0.95 else b"\x7f\xff\x05\x00\x00")


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(8)
        if op == 0 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING)
        elif op == 2 and buf:
            del buf[rng.randrange(len(buf)):]
        elif op == 3:
            at = rng.randrange(len(buf) + 1)
            buf[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 5)))
        elif op == 4 and buf:
            at = rng.randrange(len(buf))
            del buf[at:at + rng.randrange(1, 5)]
        elif op == 5:
            nodes = split_nodes(bytes(buf))
            if nodes:  # change one node's length field
                index = rng.randrange(len(nodes))
                at = sum(len(n) for n in nodes[:index]) + 2
                struct.pack_into("<H", buf, at, rng.choice((0, 1, 3, 4, 5, len(nodes[index]) + 1,
                                                            len(nodes[index]) - 1, 0xFFFF)))
        elif op == 6:
            nodes = split_nodes(bytes(buf))
            if nodes:
                node = rng.choice(nodes)
                at = rng.randrange(len(nodes) + 1)
                buf = bytearray(b"".join(nodes[:at] + [node] + nodes[at:]) + END)
        else:
            buf += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 6)))
    return bytes(buf)


def generated_inputs(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    seeds = seed_paths()
    out: list[bytes] = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.45:
            out.append(mutate(rng, rng.choice(seeds)))
        elif roll < 0.9:
            data = synthesise(rng)
            out.append(mutate(rng, data) if rng.random() < 0.2 else data)
        else:
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 48))))
    return out


def generated_load_options(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    options = corpus_load_options()
    return [mutate(rng, rng.choice(options)) for _ in range(count)]


TEXT_ALPHABET = ",/()0123456789xXaAfFgG-_.\\ PciRootHDGPTMBRUSBSataNVMeUartDEFAULTé文"


def mutate_text(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 3)):
        op = rng.randrange(5)
        at = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            del chars[min(at, len(chars) - 1)]
        elif op == 1:
            chars.insert(at, rng.choice(TEXT_ALPHABET))
        elif op == 2 and chars:
            index = min(at, len(chars) - 1)
            chars[index] = chars[index].swapcase()
        elif op == 3 and chars:
            index = min(at, len(chars) - 1)
            chars[index] = rng.choice(TEXT_ALPHABET)
        else:
            chars.insert(at, rng.choice(("/", ",", ",/", "//", "0x", "0", "FFFFFFFFF")))
    return "".join(chars)


# Nodes the native text parser reads (with values it may or may not accept).
CANONICAL_TEMPLATES: list[tuple[int, int, int]] = [
    (1, 1, 2), (2, 1, 8), (2, 3, 4), (2, 3, 12), (4, 1, 38), (4, 6, 16), (4, 7, 16),
    (1, 4, 16), (1, 4, 19), (3, 10, 16), (4, 3, 18), (3, 5, 2), (3, 18, 6), (3, 2, 4),
    (3, 23, 12), (3, 14, 15), (0x7F, 1, 0),
]


def canonical_path(rng: random.Random) -> bytes:
    nodes = []
    for _ in range(rng.randrange(1, 7)):
        if rng.random() < 0.2:
            nodes.append(_node(4, 4, _file_path(rng)))
            continue
        node_type, subtype, length = rng.choice(CANONICAL_TEMPLATES)
        body = bytearray(_payload(rng, node_type, subtype, length))
        if (node_type, subtype) == (4, 1):
            body[37] = rng.choice((1, 2, 2, 0))
        elif (node_type, subtype) == (3, 14):
            body[13], body[14] = rng.randrange(7), rng.randrange(5)
        nodes.append(_node(node_type, subtype, bytes(body)))
    return b"".join(nodes) + END


def generated_texts(seed: int, count: int) -> list[str]:
    """Texts efikit prints for corpus, canonical and synthesised paths; half mutated."""
    from efikit.codec.fastpath import device_path_to_text_python
    from efikit.errors import Error

    rng = random.Random(seed)
    printed: list[str] = []
    sources = seed_paths() + [canonical_path(rng) for _ in range(count // 2)]
    for data in sources + generated_inputs(seed, count):
        try:
            printed.append(device_path_to_text_python(data))
        except Error:
            continue
        if len(printed) >= count:
            break
    return [mutate_text(rng, text) if rng.random() < 0.5 else text for text in printed]


# ---- evaluation with the active backend --------------------------------------------------
def _outcome(call: Any, *args: Any) -> Any:
    from efikit.errors import DecodeError, Error

    try:
        return ("ok", call(*args))
    except DecodeError as error:
        return ("DecodeError", error.reason, error.offset)
    except Error as error:
        return (type(error).__name__, str(error))
    except Exception as error:  # noqa: BLE001 - a bug either way; recorded, compared, reported
        return ("crash", type(error).__name__, str(error))


def _decode_and_render(data: bytes) -> tuple[str, str, bool]:
    from efikit.codec.devpath import DevicePath

    path = DevicePath.from_bytes(data)
    return path.to_text(), path.to_text(display_only=True), path.to_bytes() == data


def _text_round_trip(text: str) -> bytes:
    from efikit.codec.devpath import DevicePath

    return DevicePath.from_text(text).to_bytes()


def _frame(data: bytes) -> tuple[list[tuple[int, int, int, int]], int]:
    from efikit.codec.devpath.framing import frame_nodes

    return frame_nodes(data, 0, len(data))


def _load_option(data: bytes) -> tuple[int, str, list[str], bytes, bool]:
    from efikit.codec.fastpath import device_path_to_text
    from efikit.codec.loadoption import LoadOption

    option = LoadOption.from_bytes(data)
    texts = [device_path_to_text(path.to_bytes()) for path in option.file_paths]
    return (int(option.attributes), option.description, texts, option.optional_data,
            option.to_bytes() == data)


def _load_option_text(data: bytes, display_only: bool) -> Any:
    from efikit.codec.fastpath import load_option_to_text, load_option_to_text_python

    fast = _outcome(load_option_to_text, data, display_only)
    assert fast == _outcome(load_option_to_text_python, data, display_only), data.hex()
    return fast


def evaluate_path(data: bytes, parse_text: bool = True) -> tuple[Any, ...]:
    """Everything the active backend says about one device-path input (the text → bytes
    round trip of the printed text only when ``parse_text``)."""
    from efikit.codec.fastpath import device_path_to_text

    full = _outcome(device_path_to_text, data, False)
    display = _outcome(device_path_to_text, data, True)
    model = _outcome(_decode_and_render, data)
    parsed = _outcome(_text_round_trip, full[1]) if parse_text and full[0] == "ok" else None
    return (_outcome(_frame, data), full, display, model, parsed)


def evaluate_text(text: str) -> tuple[Any, ...]:
    """fastpath text → bytes, which must equal the object model's in this process too."""
    from efikit.codec.fastpath import device_path_text_to_bytes, device_path_text_to_bytes_python

    fast = _outcome(device_path_text_to_bytes, text)
    assert fast == _outcome(device_path_text_to_bytes_python, text), text
    return (fast,)


def evaluate_all(kind: str, inputs: list[Any]) -> list[tuple[Any, ...]]:
    """evaluate_path (text round trip for every 8th input), evaluate_load_option or
    evaluate_text."""
    if kind == "option":
        return [evaluate_load_option(data) for data in inputs]
    if kind == "text":
        return [evaluate_text(text) for text in inputs]
    return [evaluate_path(data, index % 8 == 0) for index, data in enumerate(inputs)]


def evaluate_load_option(data: bytes) -> tuple[Any, ...]:
    return (_outcome(_load_option, data), _load_option_text(data, False),
            _load_option_text(data, True))
