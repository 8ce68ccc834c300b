"""UEFI device paths: typed nodes, binary and text forms (edk2's DevicePathToText).

Only the nodes nearly every boot entry has (HD, file path, Fv/FvFile, vendor, End) load
with the package; the other node modules load on first use (see lazy_index.py), and their
classes are still importable from here: ``from efikit.codec.devpath import PciNode``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import EndInstanceNode, Node, RawNode
from .lazy_index import LAZY_EXPORTS
from .nodes_media import FilePathNode, FvFileNode, FvNode, HardDriveNode, MediaProtocolNode
from .path import DevicePath
from .vendor import VendorNode

if TYPE_CHECKING:
    from .nodes_acpi import AcpiAdrNode, AcpiExNode, AcpiNode
    from .nodes_bbs import BbsNode
    from .nodes_hardware import PciNode
    from .nodes_hardware_misc import BmcNode, ControllerNode, MemoryMappedNode, PcCardNode
    from .nodes_media_misc import CdromNode, RamDiskNode, RelativeOffsetNode
    from .nodes_messaging import AtaNode, LogicalUnitNode, NvmeNode, SataNode, ScsiNode
    from .nodes_messaging_misc import (EmmcNode, FibreChannelExNode, FibreChannelNode,
                                       I1394Node, I2ONode, InfiniBandNode, SdNode, UartNode,
                                       UfsNode)
    from .nodes_messaging_net import IPv4Node, IPv6Node, MacAddressNode, UriNode
    from .nodes_messaging_net_misc import DnsNode, IScsiNode, VlanNode
    from .nodes_messaging_usb import UsbClassNode, UsbNode, UsbWwidNode
    from .nodes_messaging_vendor import (DebugPortNode, PcAnsiNode, SasExNode, SasNode,
                                         UartFlowControlNode, Vt100Node, Vt100PlusNode,
                                         VtUtf8Node)
    from .nodes_messaging_wireless import BluetoothLENode, BluetoothNode, WiFiNode


def __getattr__(name: str) -> Any:
    """The node classes of modules not imported yet (PEP 562)."""
    module = LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY_EXPORTS))


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

# Messaging (type 0x03) nodes.
__all__ += [
    "AtaNode",
    "BluetoothLENode",
    "BluetoothNode",
    "DebugPortNode",
    "DnsNode",
    "EmmcNode",
    "FibreChannelExNode",
    "FibreChannelNode",
    "I1394Node",
    "I2ONode",
    "IPv4Node",
    "IPv6Node",
    "IScsiNode",
    "InfiniBandNode",
    "LogicalUnitNode",
    "MacAddressNode",
    "NvmeNode",
    "PcAnsiNode",
    "SasExNode",
    "SasNode",
    "SataNode",
    "ScsiNode",
    "SdNode",
    "UartFlowControlNode",
    "UartNode",
    "UfsNode",
    "UriNode",
    "UsbClassNode",
    "UsbNode",
    "UsbWwidNode",
    "VlanNode",
    "Vt100Node",
    "Vt100PlusNode",
    "VtUtf8Node",
    "WiFiNode",
]
