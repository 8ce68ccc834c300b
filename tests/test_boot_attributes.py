"""LOAD_OPTION_* attribute bits against the UEFI specification and two outside tools.

The specification's values are written out literally here (UEFI 2.10, 3.1.3 "Load
Options"), never taken from efikit's constants; efibootmgr's -a/-A (libefivar's
LOAD_OPTION_ACTIVE) and virt-firmware's LOAD_OPTION_* flags must agree with them and with
efikit bit for bit. The firmware side is in tests/firmware/test_boot_entries.py: OVMF skips
an entry without ACTIVE, and still boots one that `efikit boot hide` marked HIDDEN (HIDDEN only
keeps an entry out of OVMF's menus, which these tests do not drive).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from efikit.boot import BootManager
from efikit.boot.summary import summarize
from efikit.cli.main import cli
from efikit.codec.loadoption import LoadOption, LoadOptionAttributes
from efikit.vars.efivarfs import EfivarfsStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from test_boot_peers import efibootmgr
from test_boot_support import option

# UEFI 2.10, 3.1.3: the attribute bits of EFI_LOAD_OPTION
SPEC_ACTIVE = 0x00000001
SPEC_FORCE_RECONNECT = 0x00000002
SPEC_HIDDEN = 0x00000008
SPEC_CATEGORY = 0x00001F00
SPEC_CATEGORY_BOOT = 0x00000000
SPEC_CATEGORY_APP = 0x00000100
UNKNOWN_BIT = 0x40000000  # reserved: must survive every edit


def with_attributes(data: bytes, attributes: int) -> bytes:
    """A load option's bytes with its UINT32 Attributes replaced."""
    return struct.pack("<I", attributes) + data[4:]


def attributes_of(data: bytes) -> int:
    return int(struct.unpack_from("<I", data)[0])


def views(data: bytes) -> dict[str, object]:
    decoded = LoadOption.from_bytes(data)
    summary = summarize(data)
    assert (summary.active, summary.hidden) == (decoded.active, decoded.hidden)
    return {"active": decoded.active, "force_reconnect": decoded.force_reconnect,
            "hidden": decoded.hidden, "category": decoded.category}


BASE = option("attribute probe").to_bytes()
NONE = {"active": False, "force_reconnect": False, "hidden": False, "category": 0}


@pytest.mark.parametrize(("attributes", "expected"), [
    (0, NONE),
    (SPEC_ACTIVE, {**NONE, "active": True}),
    (SPEC_FORCE_RECONNECT, {**NONE, "force_reconnect": True}),
    (SPEC_HIDDEN, {**NONE, "hidden": True}),
    (SPEC_CATEGORY_APP, {**NONE, "category": 1}),
    (SPEC_CATEGORY, {**NONE, "category": 0x1F}),  # reserved categories are reported, kept
    (0x4 | 0x10 | 0x20 | 0x80 | UNKNOWN_BIT, NONE),  # bits the spec does not define
    (SPEC_ACTIVE | SPEC_HIDDEN | SPEC_FORCE_RECONNECT | SPEC_CATEGORY_APP,
     {"active": True, "force_reconnect": True, "hidden": True, "category": 1}),
], ids=lambda v: hex(v) if isinstance(v, int) else "")
def test_each_spec_bit_decodes_to_its_named_view(attributes: int,
                                                 expected: dict[str, object]) -> None:
    data = with_attributes(BASE, attributes)
    assert views(data) == expected
    assert LoadOption.from_bytes(data).to_bytes() == data  # unknown bits are kept


def test_encoded_bits_are_the_spec_values() -> None:
    assert attributes_of(option("x").to_bytes()) == SPEC_ACTIVE
    created = LoadOption.create("x", option("x").file_paths[0], active=False, hidden=True)
    assert attributes_of(created.to_bytes()) == SPEC_HIDDEN
    flags = {"ACTIVE": SPEC_ACTIVE, "FORCE_RECONNECT": SPEC_FORCE_RECONNECT,
             "HIDDEN": SPEC_HIDDEN, "CATEGORY_APP": SPEC_CATEGORY_APP}
    assert {f.name: f.value for f in LoadOptionAttributes} == flags
    for name, value in flags.items():
        off = option("x").with_flag(LoadOptionAttributes.ACTIVE, False)
        assert attributes_of(off.with_flag(LoadOptionAttributes[name], True).to_bytes()) == value


@pytest.mark.parametrize(("command", "start", "end"), [
    ("deactivate", SPEC_ACTIVE | SPEC_HIDDEN | UNKNOWN_BIT, SPEC_HIDDEN | UNKNOWN_BIT),
    ("activate", SPEC_HIDDEN | SPEC_CATEGORY_APP, SPEC_ACTIVE | SPEC_HIDDEN | SPEC_CATEGORY_APP),
    ("hide", SPEC_ACTIVE | SPEC_FORCE_RECONNECT, SPEC_ACTIVE | SPEC_FORCE_RECONNECT | SPEC_HIDDEN),
    ("unhide", SPEC_ACTIVE | SPEC_HIDDEN | UNKNOWN_BIT, SPEC_ACTIVE | UNKNOWN_BIT),
])
def test_cli_flag_commands_change_exactly_their_spec_bit(command: str, start: int, end: int,
                                                         tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Boot0004", EFI_GLOBAL_VARIABLE, with_attributes(BASE, start))
    result = CliRunner().invoke(cli, ["--vars", str(tmp_path), "boot", command, "4"])
    assert result.exit_code == 0, result.output
    stored = store.get("Boot0004", EFI_GLOBAL_VARIABLE)
    assert stored is not None and stored.data == with_attributes(BASE, end)


def test_boot_show_names_the_bits(tmp_path: Path) -> None:
    store = EfivarfsStore(tmp_path)
    store.set("Boot0004", EFI_GLOBAL_VARIABLE,
              with_attributes(BASE, SPEC_HIDDEN | SPEC_CATEGORY_APP))
    result = CliRunner().invoke(cli, ["--vars", str(tmp_path), "boot", "show", "4"])
    assert result.exit_code == 0, result.output
    lines = [line.split(":", 1) for line in result.output.splitlines() if ":" in line]
    fields = {k.strip(): v.strip() for k, v in lines}
    assert (fields["active"], fields["hidden"], fields["category"]) == ("no", "yes",
                                                                       "application")
    assert fields["attributes"] == "0x00000108"
    listed = CliRunner().invoke(cli, ["--vars", str(tmp_path), "boot", "list", "--json"])
    entry = json.loads(listed.output)["entries"][0]["option"]
    assert (entry["attributes"], entry["active"], entry["hidden"], entry["category"]) == \
        (SPEC_HIDDEN | SPEC_CATEGORY_APP, False, True, 1)


# ---- efibootmgr (libefivar) ----------------------------------------------------------------

@pytest.mark.peer
def test_efibootmgr_active_flag_is_the_spec_bit(tmp_path: Path) -> None:
    """efibootmgr -A / -a flip only bit 0x1 of an entry carrying every other bit; efikit's
    deactivate / activate write the same bytes, and efikit reads efibootmgr's result."""
    every_bit = SPEC_ACTIVE | SPEC_FORCE_RECONNECT | SPEC_HIDDEN | SPEC_CATEGORY_APP | UNKNOWN_BIT
    theirs_dir, ours_dir = tmp_path / "theirs", tmp_path / "ours"
    stores = []
    for directory in (theirs_dir, ours_dir):
        directory.mkdir()
        store = EfivarfsStore(directory)
        store.set("Boot0001", EFI_GLOBAL_VARIABLE, with_attributes(BASE, every_bit))
        stores.append(store)
    theirs, ours = stores

    efibootmgr(theirs_dir, "-b", "0001", "-A")
    data = theirs.get("Boot0001", EFI_GLOBAL_VARIABLE).data  # type: ignore[union-attr]
    assert attributes_of(data) == every_bit & ~SPEC_ACTIVE
    assert views(data) == {"active": False, "force_reconnect": True, "hidden": True,
                           "category": 1}
    manager = BootManager(ours)
    manager.apply(manager.plan_set_flag(1, LoadOptionAttributes.ACTIVE, False))
    assert ours.get("Boot0001", EFI_GLOBAL_VARIABLE).data == data  # type: ignore[union-attr]
    assert efibootmgr(theirs_dir).splitlines()[-1] == "Boot0001  attribute probe"

    efibootmgr(theirs_dir, "-b", "0001", "-a")
    data = theirs.get("Boot0001", EFI_GLOBAL_VARIABLE).data  # type: ignore[union-attr]
    assert attributes_of(data) == every_bit
    manager.apply(manager.plan_set_flag(1, LoadOptionAttributes.ACTIVE, True))
    assert ours.get("Boot0001", EFI_GLOBAL_VARIABLE).data == data  # type: ignore[union-attr]
    assert efibootmgr(theirs_dir).splitlines()[-1] == "Boot0001* attribute probe"


# ---- virt-firmware ---------------------------------------------------------------------------

@pytest.mark.peer
def test_virt_firmware_flags_are_the_spec_values_and_efikits() -> None:
    bootentry = pytest.importorskip("virt.firmware.efi.bootentry")
    assert (bootentry.LOAD_OPTION_ACTIVE, bootentry.LOAD_OPTION_FORCE_RECONNECT,
            bootentry.LOAD_OPTION_HIDDEN, bootentry.LOAD_OPTION_CATEGORY,
            bootentry.LOAD_OPTION_CATEGORY_BOOT, bootentry.LOAD_OPTION_CATEGORY_APP) == (
        SPEC_ACTIVE, SPEC_FORCE_RECONNECT, SPEC_HIDDEN, SPEC_CATEGORY, SPEC_CATEGORY_BOOT,
        SPEC_CATEGORY_APP)
    cases = {
        "active": bootentry.LOAD_OPTION_ACTIVE,
        "force_reconnect": bootentry.LOAD_OPTION_FORCE_RECONNECT,
        "hidden": bootentry.LOAD_OPTION_HIDDEN,
    }
    for name, flag in cases.items():
        # virt-firmware writes the attributes, efikit reads them
        entry = bootentry.BootEntry(data=BASE)
        entry.attr = flag | bootentry.LOAD_OPTION_CATEGORY_APP
        data = bytes(entry)
        assert views(data) == {**NONE, name: True, "category": 1}, name
        # efikit writes them, virt-firmware reads them
        ours = option("x").with_flag(LoadOptionAttributes.ACTIVE, False) \
            .with_flag(LoadOptionAttributes[name.upper()], True)
        parsed = bootentry.BootEntry(data=ours.to_bytes())
        assert parsed.attr == flag, name
        assert parsed.attr & bootentry.LOAD_OPTION_CATEGORY == bootentry.LOAD_OPTION_CATEGORY_BOOT
