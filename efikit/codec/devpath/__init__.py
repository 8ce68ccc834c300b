"""UEFI device paths: typed nodes, binary and text forms (edk2's DevicePathToText)."""
from __future__ import annotations

# Importing the node modules registers their decoders and keywords.
from . import generic, nodes_acpi, nodes_bbs, nodes_hardware, nodes_media  # noqa: F401
from .base import EndInstanceNode, Node, RawNode
from .nodes_acpi import AcpiAdrNode, AcpiExNode, AcpiNode
from .nodes_bbs import BbsNode
from .nodes_hardware import BmcNode, ControllerNode, MemoryMappedNode, PcCardNode, PciNode
from .nodes_media import (CdromNode, FilePathNode, FvFileNode, FvNode, HardDriveNode,
                          MediaProtocolNode, RamDiskNode, RelativeOffsetNode)
from .path import DevicePath
from .vendor import VendorNode

__all__ = [
    "AcpiAdrNode",
    "AcpiExNode",
    "AcpiNode",
    "BbsNode",
    "BmcNode",
    "CdromNode",
    "ControllerNode",
    "DevicePath",
    "EndInstanceNode",
    "FilePathNode",
    "FvFileNode",
    "FvNode",
    "HardDriveNode",
    "MediaProtocolNode",
    "MemoryMappedNode",
    "PcCardNode",
    "Node",
    "PciNode",
    "RamDiskNode",
    "RawNode",
    "RelativeOffsetNode",
    "VendorNode",
]
