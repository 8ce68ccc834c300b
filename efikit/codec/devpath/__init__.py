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
from . import nodes_messaging, nodes_messaging_net, nodes_messaging_usb  # noqa: F401
from . import nodes_messaging_vendor, nodes_messaging_wireless  # noqa: F401
from .nodes_messaging import (AtaNode, EmmcNode, FibreChannelExNode, FibreChannelNode, I1394Node,
                              I2ONode, InfiniBandNode, LogicalUnitNode, NvmeNode, SataNode,
                              ScsiNode, SdNode, UartNode, UfsNode)
from .nodes_messaging_net import (DnsNode, IPv4Node, IPv6Node, IScsiNode, MacAddressNode, UriNode,
                                  VlanNode)
from .nodes_messaging_usb import UsbClassNode, UsbNode, UsbWwidNode
from .nodes_messaging_wireless import BluetoothLENode, BluetoothNode, WiFiNode
from .nodes_messaging_vendor import (DebugPortNode, PcAnsiNode, SasExNode, SasNode,
                                     UartFlowControlNode, Vt100Node, Vt100PlusNode, VtUtf8Node)
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
