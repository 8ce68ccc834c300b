"""Which node module registers which decoder, keyword, vendor GUID and exported class.

Creating ~60 frozen slotted dataclasses (about 1 ms each on CPython 3.11) was most of the
codec's import time, so only the modules every boot entry needs (base, vendor, nodes_media,
path) load with the package; the others load the first time one of their (type, subtype)
pairs is decoded, one of their keywords is parsed, or one of their classes is imported. The
node types boot entries rarely hold sit in the *_misc modules, so that decoding the usual
ones (Pci, PciRoot, Sata, NVMe, USB, MAC/IPv4/IPv6, Uri) builds few classes.

This index says where to look without importing anything. tests/test_devpath_lazy.py checks
it against what the modules really register, so the two cannot drift apart.
"""
from __future__ import annotations

import uuid

# Module (relative to efikit.codec.devpath) → the (type, subtype) pairs it decodes.
DECODERS_BY_MODULE: dict[str, tuple[tuple[int, int], ...]] = {
    "base": ((0x7F, 0x01),),
    "vendor": ((0x01, 0x04), (0x03, 0x0A), (0x04, 0x03)),
    "nodes_hardware": ((0x01, 0x01),),
    "nodes_hardware_misc": ((0x01, 0x02), (0x01, 0x03), (0x01, 0x05), (0x01, 0x06)),
    "nodes_acpi": ((0x02, 0x01), (0x02, 0x02), (0x02, 0x03)),
    "nodes_messaging": ((0x03, 0x01), (0x03, 0x02), (0x03, 0x11), (0x03, 0x12), (0x03, 0x17)),
    "nodes_messaging_misc": ((0x03, 0x03), (0x03, 0x04), (0x03, 0x06), (0x03, 0x09),
                             (0x03, 0x0E), (0x03, 0x15), (0x03, 0x19), (0x03, 0x1A),
                             (0x03, 0x1D)),
    "nodes_messaging_usb": ((0x03, 0x05), (0x03, 0x0F), (0x03, 0x10)),
    "nodes_messaging_net": ((0x03, 0x0B), (0x03, 0x0C), (0x03, 0x0D), (0x03, 0x18)),
    "nodes_messaging_net_misc": ((0x03, 0x13), (0x03, 0x14), (0x03, 0x1F)),
    "nodes_messaging_vendor": ((0x03, 0x16),),
    "nodes_messaging_wireless": ((0x03, 0x1B), (0x03, 0x1C), (0x03, 0x1E)),
    "nodes_media": ((0x04, 0x01), (0x04, 0x04), (0x04, 0x05), (0x04, 0x06), (0x04, 0x07)),
    "nodes_media_misc": ((0x04, 0x02), (0x04, 0x08), (0x04, 0x09)),
    "nodes_bbs": ((0x05, 0x01),),
}

# Module → the text keywords it parses.
KEYWORDS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "generic": ("Path", "HardwarePath", "AcpiPath", "Msg", "MediaPath", "BbsPath"),
    "nodes_hardware": ("Pci", "VenHw"),
    "nodes_hardware_misc": ("PcCard", "MemoryMapped", "Ctrl", "BMC"),
    "nodes_acpi": ("Acpi", "PciRoot", "PcieRoot", "Floppy", "Keyboard", "Serial",
                   "ParallelPort", "AcpiEx", "AcpiExp", "AcpiAdr"),
    "nodes_messaging": ("Ata", "SCSI", "Scsi", "Sata", "NVMe", "Unit"),
    "nodes_messaging_misc": ("Fibre", "FibreEx", "I1394", "I2O", "Infiniband", "Uart", "SD",
                             "eMMC", "UFS"),
    "nodes_messaging_usb": ("USB", "UsbClass", "UsbAudio", "UsbCDCControl", "UsbHID",
                            "UsbImage", "UsbPrinter", "UsbMassStorage", "UsbHub",
                            "UsbCDCData", "UsbSmartCard", "UsbVideo", "UsbDiagnostic",
                            "UsbWireless", "UsbDeviceFirmwareUpdate", "UsbIrdaBridge",
                            "UsbTestAndMeasurement", "UsbWwid"),
    "nodes_messaging_net": ("MAC", "IPv4", "IPv6", "Uri"),
    "nodes_messaging_net_misc": ("Vlan", "iSCSI", "Dns"),
    "nodes_messaging_vendor": ("VenMsg", "VenPcAnsi", "VenVt100", "VenVt100Plus", "VenUtf8",
                               "DebugPort", "UartFlowCtrl", "UartFlowControl", "SAS",
                               "SasEx"),
    "nodes_messaging_wireless": ("Wi-Fi", "Bluetooth", "BluetoothLE"),
    "nodes_media": ("HD", "VenMedia", "File", "Media", "FvFile", "Fv", "FvVol"),
    "nodes_media_misc": ("CDROM", "Offset", "RamDisk", "VirtualDisk", "VirtualCD",
                         "PersistentVirtualDisk", "PersistentVirtualCD"),
    "nodes_bbs": ("BBS", "BIOS"),
}

# Module → the messaging vendor GUIDs (VenMsg) it decodes to typed nodes.
MESSAGING_VENDOR_GUIDS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "nodes_messaging_vendor": (
        "E0C14753-F9BE-11D2-9A0C-0090273FC14D",  # PC-ANSI
        "DFA66065-B419-11D3-9A2D-0090273FC14D",  # VT-100
        "7BAEC70B-57E0-4C76-8E87-2F9E28088343",  # VT-100+
        "AD15A0D6-8BEC-4ACF-A073-D01DE77E2D88",  # VT-UTF8
        "EBA4E8D2-3858-41EC-A281-2647BA9660D0",  # debug port
        "37499A9D-542F-4C89-A026-35DA142094E4",  # UART flow control
        "D487DDB4-008B-11D9-AFDC-001083FFCA4D",  # SAS
    ),
}

# Module → the classes efikit.codec.devpath exports from it without importing it up front.
LAZY_EXPORTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "nodes_hardware": ("PciNode",),
    "nodes_hardware_misc": ("BmcNode", "ControllerNode", "MemoryMappedNode", "PcCardNode"),
    "nodes_acpi": ("AcpiAdrNode", "AcpiExNode", "AcpiNode"),
    "nodes_bbs": ("BbsNode",),
    "nodes_messaging": ("AtaNode", "LogicalUnitNode", "NvmeNode", "SataNode", "ScsiNode"),
    "nodes_messaging_misc": ("EmmcNode", "FibreChannelExNode", "FibreChannelNode", "I1394Node",
                             "I2ONode", "InfiniBandNode", "SdNode", "UartNode", "UfsNode"),
    "nodes_media_misc": ("CdromNode", "RamDiskNode", "RelativeOffsetNode"),
    "nodes_messaging_net": ("IPv4Node", "IPv6Node", "MacAddressNode", "UriNode"),
    "nodes_messaging_net_misc": ("DnsNode", "IScsiNode", "VlanNode"),
    "nodes_messaging_usb": ("UsbClassNode", "UsbNode", "UsbWwidNode"),
    "nodes_messaging_wireless": ("BluetoothLENode", "BluetoothNode", "WiFiNode"),
    "nodes_messaging_vendor": ("DebugPortNode", "PcAnsiNode", "SasExNode", "SasNode",
                               "UartFlowControlNode", "Vt100Node", "Vt100PlusNode",
                               "VtUtf8Node"),
}

# The modules efikit.codec.devpath imports with the package (never loaded lazily).
EAGER_MODULES: tuple[str, ...] = ("base", "textparse", "vendor", "nodes_media", "framing",
                                  "path")

# Every module that registers something, in an import order without surprises.
NODE_MODULES: tuple[str, ...] = (
    "base", "vendor", "nodes_media", "nodes_media_misc", "nodes_hardware", "nodes_hardware_misc",
    "nodes_acpi", "nodes_bbs", "nodes_messaging", "nodes_messaging_misc", "nodes_messaging_usb",
    "nodes_messaging_net", "nodes_messaging_net_misc", "nodes_messaging_vendor",
    "nodes_messaging_wireless", "generic")


def _invert(by_module: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {item: module for module, items in by_module.items() for item in items}


DECODER_MODULES: dict[tuple[int, int], str] = {
    key: module for module, keys in DECODERS_BY_MODULE.items() for key in keys}
KEYWORD_MODULES: dict[str, str] = _invert(KEYWORDS_BY_MODULE)
LAZY_EXPORTS: dict[str, str] = _invert(LAZY_EXPORTS_BY_MODULE)
MESSAGING_VENDOR_GUID_MODULES: dict[uuid.UUID, str] = {
    uuid.UUID(text): module for module, texts in MESSAGING_VENDOR_GUIDS_BY_MODULE.items()
    for text in texts}
