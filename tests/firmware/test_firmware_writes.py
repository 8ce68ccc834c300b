"""Scenario 3: what OVMF writes on its first boot (its Boot#### entries, BootOrder, ConIn/ConOut
and the rest) reads back through efikit without error and re-encodes byte-exact; the text
efikit gives those device paths is the text the firmware itself printed for them."""
from __future__ import annotations

import re
import struct

import pytest

from efikit.codec.devpath import DevicePath
from efikit.codec.loadoption import LoadOption
from efikit.vars.edk2 import Edk2Store
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from firmware import harness

pytestmark = pytest.mark.firmware

LOAD_OPTION = re.compile(r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-F]{4}$")
DEVICE_PATHS = {"ConIn", "ConOut", "ErrOut", "ConInDev", "ConOutDev", "ErrOutDev"}
U16_LISTS = {"BootOrder", "DriverOrder", "SysPrepOrder", "BootCurrent", "BootNext", "Timeout"}
BDS_LOADING = re.compile(r'^BdsDxe: (?:loading|starting|failed to load) Boot([0-9A-F]{4}) "(.*)" from (.*?)(?:: [A-Za-z ]+)?$')


def _global_vars(store: Edk2Store) -> dict[str, bytes]:
    out = {}
    for name in store.list():
        var = store.get(name.name, name.vendor)
        assert var is not None, name
        if name.vendor == EFI_GLOBAL_VARIABLE:
            out[name.name] = var.data
    return out


def test_store_the_firmware_left_round_trips(first_boot: harness.BootResult) -> None:
    image = first_boot.varstore.read_bytes()
    store = Edk2Store.from_bytes(image)
    assert store.to_bytes() == image
    assert len(store.list()) > 0


def test_firmware_variables_decode_and_reencode(first_boot: harness.BootResult) -> None:
    variables = _global_vars(Edk2Store.open(first_boot.varstore))
    options = {n: v for n, v in variables.items() if LOAD_OPTION.match(n)}
    assert any(n.startswith("Boot") for n in options), sorted(variables)
    assert "BootOrder" in variables and "ConOut" in variables and "ConIn" in variables

    for name, data in options.items():
        option = LoadOption.from_bytes(data)
        assert option.to_bytes() == data, name
        for path in option.file_paths:
            assert DevicePath.from_text(path.to_text()).to_bytes() == path.to_bytes(), (name, path.to_text())
    for name in DEVICE_PATHS & variables.keys():
        path = DevicePath.from_bytes(variables[name])
        assert path.to_bytes() == variables[name], name
        assert DevicePath.from_text(path.to_text()).to_bytes() == variables[name], (name, path.to_text())
    for name in U16_LISTS & variables.keys():
        data = variables[name]
        assert len(data) % 2 == 0, name
        numbers = struct.unpack(f"<{len(data) // 2}H", data)
        assert struct.pack(f"<{len(numbers)}H", *numbers) == data

    order = struct.unpack(f"<{len(variables['BootOrder']) // 2}H", variables["BootOrder"])
    for number in order:
        assert f"Boot{number:04X}" in options, (number, sorted(options))


def test_efikit_text_matches_what_the_firmware_printed(first_boot: harness.BootResult) -> None:
    variables = _global_vars(Edk2Store.open(first_boot.varstore))
    seen = 0
    for line in first_boot.bds_lines():
        match = BDS_LOADING.match(line)
        if not match:
            continue
        number, label, text = match.groups()
        option = LoadOption.from_bytes(variables[f"Boot{number}"])
        assert option.description == label
        assert option.file_paths[0].to_text() == text, line
        seen += 1
    assert seen >= 1, first_boot.tail()
