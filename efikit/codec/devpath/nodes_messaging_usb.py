"""Messaging device-path nodes (type 0x03) for USB: USB, UsbClass and its class keywords
(UsbAudio ... UsbTestAndMeasurement), UsbWwid."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from efikit.errors import EncodeError

from .base import TYPE_MESSAGING, FixedLayoutNode, Node, NodeLayoutError, register_node
from .nodes_messaging import hex_text, register_fixed_text
from .textparse import TextArgs, keyword


@register_node
@dataclass(frozen=True, slots=True)
class UsbNode(FixedLayoutNode):
    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x05
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BB")

    parent_port: int = 0
    interface: int = 0

    def to_text(self, display_only: bool = False) -> str:
        return USB_TEXT % (self.parent_port, self.interface)


USB_TEXT = "USB(0x%X,0x%X)"
register_fixed_text(UsbNode, USB_TEXT)


@keyword("USB")
def _parse_usb(args: TextArgs) -> Node:
    args.at_most(2)
    return UsbNode(args.uint(0, 8, name="parent port"), args.uint(1, 8, name="interface"))


USB_CLASS_KEYWORDS: dict[int, str] = {
    0x01: "UsbAudio",
    0x02: "UsbCDCControl",
    0x03: "UsbHID",
    0x06: "UsbImage",
    0x07: "UsbPrinter",
    0x08: "UsbMassStorage",
    0x09: "UsbHub",
    0x0A: "UsbCDCData",
    0x0B: "UsbSmartCard",
    0x0E: "UsbVideo",
    0xDC: "UsbDiagnostic",
    0xE0: "UsbWireless",
}
USB_CLASS_APPLICATION = 0xFE
USB_APPLICATION_KEYWORDS: dict[int, str] = {
    0x01: "UsbDeviceFirmwareUpdate",
    0x02: "UsbIrdaBridge",
    0x03: "UsbTestAndMeasurement",
}
USB_ANY_ID = 0xFFFF
USB_ANY_CODE = 0xFF


@register_node
@dataclass(frozen=True, slots=True)
class UsbClassNode(FixedLayoutNode):
    """UsbClass(VID,PID,Class,SubClass,Protocol); 0xFFFF/0xFF are wildcards."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x0F
    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HHBBB")

    vendor_id: int = USB_ANY_ID
    product_id: int = USB_ANY_ID
    device_class: int = USB_ANY_CODE
    device_subclass: int = USB_ANY_CODE
    device_protocol: int = USB_ANY_CODE

    def to_text(self, display_only: bool = False) -> str:
        return usb_class_text((self.vendor_id, self.product_id, self.device_class,
                               self.device_subclass, self.device_protocol))


def usb_class_text(fields: tuple[int, int, int, int, int]) -> str:
    vendor_id, product_id, device_class, device_subclass, device_protocol = fields
    ids = f"{hex_text(vendor_id)},{hex_text(product_id)}"
    name = USB_CLASS_KEYWORDS.get(device_class)
    if name is not None:
        return f"{name}({ids},{hex_text(device_subclass)},{hex_text(device_protocol)})"
    if device_class == USB_CLASS_APPLICATION:
        name = USB_APPLICATION_KEYWORDS.get(device_subclass)
        if name is not None:
            return f"{name}({ids},{hex_text(device_protocol)})"
    return (f"UsbClass({ids},{hex_text(device_class)},{hex_text(device_subclass)},"
            f"{hex_text(device_protocol)})")


register_fixed_text(UsbClassNode, usb_class_text)


def _usb_ids(args: TextArgs) -> tuple[int, int]:
    return (args.uint(0, 16, USB_ANY_ID, name="vendor id"),
            args.uint(1, 16, USB_ANY_ID, name="product id"))


@keyword("UsbClass")
def _parse_usb_class(args: TextArgs) -> Node:
    args.at_most(5)
    return UsbClassNode(*_usb_ids(args), args.uint(2, 8, USB_ANY_CODE, name="class"),
                        args.uint(3, 8, USB_ANY_CODE, name="subclass"),
                        args.uint(4, 8, USB_ANY_CODE, name="protocol"))


def _register_usb_class_alias(device_class: int, name: str) -> None:
    @keyword(name)
    def _parse(args: TextArgs) -> Node:
        args.at_most(4)
        return UsbClassNode(*_usb_ids(args), device_class,
                            args.uint(2, 8, USB_ANY_CODE, name="subclass"),
                            args.uint(3, 8, USB_ANY_CODE, name="protocol"))


def _register_usb_application_alias(subclass: int, name: str) -> None:
    @keyword(name)
    def _parse(args: TextArgs) -> Node:
        args.at_most(3)
        return UsbClassNode(*_usb_ids(args), USB_CLASS_APPLICATION, subclass,
                            args.uint(2, 8, USB_ANY_CODE, name="protocol"))


for _class, _name in USB_CLASS_KEYWORDS.items():
    _register_usb_class_alias(_class, _name)
for _subclass, _name in USB_APPLICATION_KEYWORDS.items():
    _register_usb_application_alias(_subclass, _name)


@register_node
@dataclass(frozen=True, slots=True)
class UsbWwidNode(Node):
    """UsbWwid(VID,PID,Interface,"Serial"): the serial is UCS-2 filling the rest of the node,
    normally without a terminator. edk2 prints it up to the first NUL."""

    TYPE: ClassVar[int] = TYPE_MESSAGING
    SUBTYPE: ClassVar[int] = 0x10

    vendor_id: int = 0
    product_id: int = 0
    interface: int = 0
    serial_number: str = ""

    def payload(self) -> bytes:
        try:
            head = struct.pack("<HHH", self.interface, self.vendor_id, self.product_id)
        except struct.error as exc:
            raise EncodeError(f"UsbWwidNode: a field is out of range ({exc})") from None
        for index, char in enumerate(self.serial_number):
            if ord(char) > 0xFFFF or 0xD800 <= ord(char) <= 0xDFFF:
                raise EncodeError(f"UsbWwid serial number: character {index} is not UCS-2")
        return head + self.serial_number.encode("utf-16-le")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Node:
        if len(payload) < 6 or len(payload) % 2:
            raise NodeLayoutError
        interface, vendor_id, product_id = struct.unpack_from("<HHH", payload)
        serial = bytes(payload[6:]).decode("utf-16-le", errors="surrogatepass")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in serial):
            raise NodeLayoutError
        return cls(vendor_id, product_id, interface, serial)

    def to_text(self, display_only: bool = False) -> str:
        serial = self.serial_number.split("\x00", 1)[0]
        return (f"UsbWwid({hex_text(self.vendor_id)},{hex_text(self.product_id)},"
                f"{hex_text(self.interface)},\"{serial}\")")


@keyword("UsbWwid")
def _parse_usb_wwid(args: TextArgs) -> Node:
    # The serial is everything after the third comma (so it may hold commas), quotes optional.
    serial = ",".join(args.values[3:])
    if len(serial) >= 2 and serial[0] == '"' and serial[-1] == '"':
        serial = serial[1:-1]
    if any(ord(char) > 0xFFFF for char in serial):
        raise args.fail(3, "a serial number of UCS-2 characters (none outside the BMP)")
    return UsbWwidNode(args.uint(0, 16, name="vendor id"), args.uint(1, 16, name="product id"),
                       args.uint(2, 16, name="interface"), serial)
