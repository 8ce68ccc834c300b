"""How libefivar (efibootmgr -v) spells device paths differently from edk2's text form.

Each difference is one named rule; ``libefivar_spelling`` applies them all, so a test can
check that efibootmgr shows exactly the path efikit holds.
"""
from __future__ import annotations

import re

from efikit.codec.devpath import DevicePath, FilePathNode, FvNode, Node

# libefivar prints every argument in lower case: GUIDs, 0x numbers, vendor data hex
# (edk2: HD(1,GPT,C7E198DB-...,0x800,0x12C000); libefivar: HD(1,GPT,c7e198db-...,0x800,0x12c000))
RULE_LOWER_CASE_ARGUMENTS = "lower-case arguments"
# libefivar wraps a file-path node in File(...) (edk2 prints the bare path \EFI\x\y.efi)
RULE_FILE_KEYWORD = "File(...) around file paths"
# libefivar calls the firmware-volume node FvVol(...) (edk2: Fv(...))
RULE_FVVOL = "FvVol for Fv"
# libefivar prints USB port and interface in decimal (edk2: USB(0xB,0x1); libefivar: USB(11,1))
RULE_USB_DECIMAL = "decimal USB()"

RULES = (RULE_LOWER_CASE_ARGUMENTS, RULE_FILE_KEYWORD, RULE_FVVOL, RULE_USB_DECIMAL)

_HEXISH = re.compile(r"0x[0-9a-fA-F]+|[0-9a-fA-F-]+")  # GUIDs, numbers, vendor data
_USB = re.compile(r"^USB\((0x[0-9a-fA-F]+|\d+),(0x[0-9a-fA-F]+|\d+)\)$")


def _node(node: Node) -> str:
    if isinstance(node, FilePathNode):
        return f"File({node.path})"
    text = node.to_text()
    if isinstance(node, FvNode):
        text = "FvVol" + text[len("Fv"):]
    usb = _USB.match(text)
    if usb:
        return f"USB({int(usb.group(1), 0)},{int(usb.group(2), 0)})"
    keyword, paren, args = text.partition("(")
    if not paren:
        return text
    pieces = args[:-1].split(",")
    return f"{keyword}(" + ",".join(p.lower() if _HEXISH.fullmatch(p) else p
                                    for p in pieces) + ")"


def libefivar_spelling(path: DevicePath) -> str:
    """``path`` as efibootmgr -v (libefivar) prints it."""
    return "/".join(_node(node) for node in path.nodes)


def test_rules_on_known_examples() -> None:
    path = DevicePath.from_text(
        r"HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)/\EFI\fedora\shimx64.efi")
    assert libefivar_spelling(path) == (
        r"HD(1,GPT,c7e198db-ec30-4a23-b0fd-8e2dbc092a01,0x800,0x12c000)"
        r"/File(\EFI\fedora\shimx64.efi)")
    path = DevicePath.from_text("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/"
                                "FvFile(462CAA21-7614-4503-836E-8AB6F4662331)")
    assert libefivar_spelling(path) == ("FvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/"
                                        "FvFile(462caa21-7614-4503-836e-8ab6f4662331)")
    assert libefivar_spelling(DevicePath.from_text("PciRoot(0x0)/Pci(0x14,0x0)/USB(0xB,0x1)")) \
        == "PciRoot(0x0)/Pci(0x14,0x0)/USB(11,1)"
