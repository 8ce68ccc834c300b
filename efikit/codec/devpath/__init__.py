"""UEFI device paths: typed nodes, binary and text forms (edk2's DevicePathToText)."""
from __future__ import annotations

# Importing the node modules registers their decoders and keywords.
from . import generic, nodes_acpi, nodes_hardware, nodes_media  # noqa: F401
from .base import EndInstanceNode, Node, RawNode
from .nodes_acpi import AcpiNode
from .nodes_hardware import PciNode
from .nodes_media import FilePathNode, FvFileNode, FvNode, HardDriveNode, MediaProtocolNode
from .path import DevicePath
from .vendor import VendorNode

__all__ = [
    "AcpiNode",
    "DevicePath",
    "EndInstanceNode",
    "FilePathNode",
    "FvFileNode",
    "FvNode",
    "HardDriveNode",
    "MediaProtocolNode",
    "Node",
    "PciNode",
    "RawNode",
    "VendorNode",
]
