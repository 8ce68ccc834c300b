"""efibootmgr's device-path text (libefivar's efidp_format_device_path), read as a dialect.

libefivar prints a text of its own: some numbers in hex without '0x' (USB WWID, Fibre
Channel, SAS, InfiniBand), the NVMe EUI-64 and Bluetooth addresses in stored byte order
(edk2 prints them reversed), File(...) around file paths, FvVol for Fv, EDD10(...) and
VenPcAnsi(data) for vendor nodes, and only the first instance of a path. Where its text does
not say what the bytes were, the node is refused with the field named: both IPv4 addresses
run together, IPv6 addresses in the wrong byte order, Fibre Channel and Fibre Channel Ex (SAS
and SAS Ex) printed alike, the last character of a USB WWID serial number dropped, a UART's
DEFAULT baud rate and data bits printed as 115200 and 8, half the data of an AcpiPath or
MediaPath node. Everything else it prints as edk2 does (lower-case hex, decimal where edk2
has 0x) and is read with the edk2 keyword's own parser.
Facts from libefivar 37's src/dp-*.c (read, not copied) and efibootmgr 17's output.
"""
from __future__ import annotations

import struct
import uuid

from typing import Callable

from .base import TYPE_HARDWARE, TYPE_MESSAGING, Node, decode_node
from .nodes_media import FilePathNode
from .textparse import KeywordParser, TextArgs, TextDialect, keyword_parser, parse_number

_OWN: dict[str, tuple[str, KeywordParser]] = {}

EDD10_GUID = uuid.UUID("CF31FAC5-C24E-11D2-85F3-00A0C93EC93B")
_TERMINAL_GUIDS = {
    "VenPcAnsi": uuid.UUID("E0C14753-F9BE-11D2-9A0C-0090273FC14D"),
    "VenVt100": uuid.UUID("DFA66065-B419-11D3-9A2D-0090273FC14D"),
    "VenVt100Plus": uuid.UUID("7BAEC70B-57E0-4C76-8E87-2F9E28088343"),
    "VenUtf8": uuid.UUID("AD15A0D6-8BEC-4ACF-A073-D01DE77E2D88"),
    "DebugPort": uuid.UUID("EBA4E8D2-3858-41EC-A281-2647BA9660D0"),
}
SUBTYPE_VENDOR = 0x04  # hardware (TYPE_HARDWARE) and ...
SUBTYPE_MSG_VENDOR = 0x0A  # ... messaging vendor nodes
SUBTYPE_ATAPI = 0x01
SUBTYPE_UART = 0x0E
SUBTYPE_NVME = 0x17
SUBTYPE_BLUETOOTH = 0x1B
SUBTYPE_WIFI = 0x1C
SUBTYPE_BLUETOOTH_LE = 0x1E


def _own(name: str) -> Callable[[KeywordParser], KeywordParser]:
    def register(parser: KeywordParser) -> KeywordParser:
        _OWN[name.lower()] = (name, parser)
        return parser

    return register


def _edk2(name: str, args: TextArgs) -> Node | None:
    """The edk2 keyword's parser, for a node efibootmgr prints as edk2 does."""
    parser = keyword_parser(name)
    assert parser is not None, name
    return parser(TextArgs(args.whole_text, args.column(0) - 2 - len(name), name, args.inner))


def _refuse(name: str, index: int, field: str) -> None:
    def parser(args: TextArgs) -> Node | None:
        raise args.fail(min(index, max(len(args) - 1, 0)),
                        f"{field}; efibootmgr's text of this node does not carry its bytes")

    _own(name)(parser)


_refuse("IPv4", 0, "the local and remote address apart (efibootmgr runs them together) and "
        "the gateway and subnet mask (it drops them)")
_refuse("IPv6", 0, "the addresses in network byte order (efibootmgr swaps their bytes) and "
        "the gateway and prefix length (it drops them)")
_refuse("Fibre", 0, "the node type: efibootmgr prints Fibre Channel and Fibre Channel Ex "
        "alike")
_refuse("SAS", 0, "the node type: efibootmgr prints SAS and SAS Ex alike")
_refuse("Infiniband", 1, "the port GID (efibootmgr prints it as two unpadded numbers run "
        "together)")
_refuse("UsbClass", 0, "the device class (efibootmgr omits it)")
_refuse("UsbWwid", 3, "the whole serial number (efibootmgr drops its last character)")
_refuse("AcpiContainer", 0, "the HID and UID (efibootmgr omits them)")
_refuse("EmbeddedController", 0, "the UID (efibootmgr omits it)")
_refuse("NvRoot", 0, "the NVDIMM root's UID (efibootmgr omits it)")
_refuse("NvDimm", 0, "the NVDIMM node's bytes (efibootmgr prints them decoded)")
_refuse("AcpiEx", 0, "the numeric HID and CID (efibootmgr prints the strings in their place)")
_refuse("AcpiExp", 0, "the numeric HID and CID (efibootmgr prints the strings in their place)")
_refuse("AcpiPath", 1, "all the node's data (efibootmgr prints its first half)")
_refuse("MediaPath", 1, "all the node's data (efibootmgr prints its first half)")
_refuse("iSCSI", 3, "the login options (efibootmgr prints only some of their bits)")


@_own("File")
def _file(args: TextArgs) -> Node | None:
    """File(name): the node's UCS-2 text, as it is (a '/' in it is part of the name)."""
    if not all(" " <= char <= "~" for char in args.inner):
        raise args.fail(0, "a file name in printable ASCII: efibootmgr cuts or garbles "
                           "names with other characters")
    return FilePathNode(args.inner)


def _pci_root(name: str) -> None:
    @_own(name)
    def parser(args: TextArgs) -> Node | None:
        # an ACPI HID node prints its UID as 0x%x; an AcpiEx node with this HID prints its
        # UID string here and loses its HID and CID
        if not args.raw(0).strip().lower().startswith("0x"):
            raise args.fail(0, "a UID written 0x...: efibootmgr printed an AcpiEx node's UID "
                               "string here and dropped its HID and CID")
        return _edk2(name, args)


_pci_root("PciRoot")
_pci_root("PcieRoot")


@_own("Dns")
def _dns(args: TextArgs) -> Node | None:
    for index, value in enumerate(args.values):
        if value.strip().startswith("["):
            raise args.fail(index, "an IPv4 address: efibootmgr prints IPv6 DNS servers in "
                                   "the wrong byte order")
    return _edk2("Dns", args)


@_own("Uart")
def _uart(args: TextArgs) -> Node | None:
    """Uart(baud,data bits,parity,stop bits): libefivar prints a baud rate of 0 (DEFAULT)
    as 115200 and 0 data bits as 8; parity as D N E O M S or, above 5, a number; stop bits
    as D 1 1.5 2 or, above 3, a number."""
    args.at_most(4)
    baud = args.uint(0, 64, name="baud rate")
    if baud == 115200:
        raise args.fail(0, "a baud rate other than 115200, which efibootmgr also prints for "
                           "DEFAULT (0)")
    data_bits = args.uint(1, 8, name="data bits")
    if data_bits == 8:
        raise args.fail(1, "data bits other than 8, which efibootmgr also prints for DEFAULT (0)")
    parity = _label_or_number(args, 2, ("D", "N", "E", "O", "M", "S"), "parity")
    stop_bits = _label_or_number(args, 3, ("D", "1", "1.5", "2"), "stop bits")
    return _decode(TYPE_MESSAGING, SUBTYPE_UART,
                   struct.pack("<IQBBB", 0, baud, data_bits, parity, stop_bits))


def _label_or_number(args: TextArgs, index: int, labels: tuple[str, ...], name: str) -> int:
    raw = args.raw(index).strip()
    if raw in labels:
        return labels.index(raw)
    value = parse_number(raw)
    if value is None or not len(labels) <= value <= 0xFF:
        raise args.fail(index, f"{name} as {'|'.join(labels)} or a number from "
                               f"{len(labels)} to 255")
    return value


@_own("Ata")
def _ata(args: TextArgs) -> Node | None:
    """Ata(primary/secondary,master/slave,lun) as the stored numbers (edk2 prints names)."""
    args.at_most(3)
    return _decode(TYPE_MESSAGING, SUBTYPE_ATAPI,
                   struct.pack("<BBH", args.uint(0, 8, name="primary/secondary"),
                               args.uint(1, 8, name="master/slave"),
                               args.uint(2, 16, name="logical unit")))


@_own("Uri")
def _uri(args: TextArgs) -> Node | None:
    if "(" in args.inner or ")" in args.inner:
        raise args.fail(0, "a URI without parentheses: efibootmgr prints them as they are, "
                           "so where the node ends is not in its text")
    return _edk2("Uri", args)


@_own("HD")
def _hd(args: TextArgs) -> Node | None:
    if args.text(1).upper() not in ("MBR", "GPT"):
        raise args.fail(1, "MBR or GPT: efibootmgr does not print the partition format byte "
                           "of other signature types")
    return _edk2("HD", args)


@_own("NVMe")
def _nvme(args: TextArgs) -> Node | None:
    args.at_most(2)
    namespace = args.uint(0, 32, name="namespace id")
    eui = _separated_bytes(args, 1, "-", 8, "EUI-64")
    return _decode(TYPE_MESSAGING, SUBTYPE_NVME, struct.pack("<I", namespace) + eui)


@_own("EDD10")
def _edd10(args: TextArgs) -> Node | None:
    args.at_most(1)
    device = args.uint(0, 32, name="hardware device")
    return _decode(TYPE_HARDWARE, SUBTYPE_VENDOR, EDD10_GUID.bytes_le + struct.pack("<I", device))


def _terminal(name: str, guid: uuid.UUID) -> None:
    @_own(name)
    def parser(args: TextArgs) -> Node | None:
        args.at_most(1)
        return _decode(TYPE_MESSAGING, SUBTYPE_MSG_VENDOR, guid.bytes_le + args.hex_bytes(0))


for _name, _guid in _TERMINAL_GUIDS.items():
    _terminal(_name, _guid)


@_own("Bluetooth")
def _bluetooth(args: TextArgs) -> Node | None:
    args.at_most(1)
    return _decode(TYPE_MESSAGING, SUBTYPE_BLUETOOTH, _separated_bytes(args, 0, ":", 6, "address"))


@_own("BluetoothLE")
def _bluetooth_le(args: TextArgs) -> Node | None:
    args.at_most(2)
    address = _separated_bytes(args, 0, ":", 6, "address")
    return _decode(TYPE_MESSAGING, SUBTYPE_BLUETOOTH_LE,
                   address + bytes([args.uint(1, 8, name="address type")]))


@_own("Wi-Fi")
def _wifi(args: TextArgs) -> Node | None:
    args.at_most(1)
    return _decode(TYPE_MESSAGING, SUBTYPE_WIFI, _separated_bytes(args, 0, ":", 32, "SSID"))


def _separated_bytes(args: TextArgs, index: int, separator: str, count: int, name: str) -> bytes:
    pieces = args.raw(index).strip().split(separator)
    try:
        if len(pieces) == count and all(len(piece) == 2 for piece in pieces):
            return bytes(int(piece, 16) for piece in pieces)
    except ValueError:
        pass
    raise args.fail(index, f"{name} as {count} two-digit hex bytes separated by "
                           f"'{separator}', in stored order")


def _decode(node_type: int, subtype: int, payload: bytes) -> Node:
    return decode_node(node_type, subtype, payload, 0)


EFIBOOTMGR_TEXT = TextDialect(
    "efibootmgr", _OWN,
    single_instance="one instance: efibootmgr prints only the first instance of a path",
    bare_file_paths="File(...): efibootmgr prints every file path as File(...)")
