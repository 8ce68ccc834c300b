"""The store interface: attributes, names, vendor GUIDs, memory store and batch semantics."""
from __future__ import annotations

import uuid

import pytest

from efikit.errors import StoreError, UsageError
from efikit.vars.memory import MemoryStore
from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    EFI_GLOBAL_VARIABLE,
    SHIM_LOCK,
    Variable,
    VariableAttributes,
    VariableName,
    VariableNotFound,
    parse_vendor,
    vendor_name,
)

G = EFI_GLOBAL_VARIABLE


def test_attributes_parse_short_names_and_numbers() -> None:
    assert VariableAttributes.parse("nv,bs,rt") == DEFAULT_ATTRIBUTES == 7
    assert VariableAttributes.parse("0x27") == 0x27
    assert VariableAttributes.parse("NV|runtime_access") == 0x5
    assert VariableAttributes.parse("") == 0
    with pytest.raises(UsageError, match="unknown attribute"):
        VariableAttributes.parse("nv,bogus")


def test_attributes_keep_unknown_bits() -> None:
    attrs = VariableAttributes(0x1000_0007)
    assert int(attrs) == 0x1000_0007
    assert attrs.short() == "nv,bs,rt,0x10000000"
    assert int(attrs | VariableAttributes.APPEND_WRITE) == 0x1000_0047
    assert VariableAttributes.parse(attrs.short()) == attrs


def test_variable_name_parse() -> None:
    key = VariableName.parse("Boot000a-8be4df61-93ca-11d2-aa0d-00e098032b8c")
    assert key == VariableName("Boot000a", G)
    assert str(key) == "Boot000a-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    assert VariableName.parse("Some-Name", G) == VariableName("Some-Name", G)
    assert VariableName.parse("X-8BE4DF61-93CA-11D2-AA0D-00E098032B8C").vendor == G
    with pytest.raises(UsageError):
        VariableName.parse("Boot0001")


def test_vendor_names() -> None:
    assert parse_vendor("global") == G
    assert parse_vendor("shim") == SHIM_LOCK
    assert parse_vendor(str(SHIM_LOCK).upper()) == SHIM_LOCK
    assert vendor_name(G) == "global"
    assert vendor_name(uuid.UUID(int=1)) is None
    with pytest.raises(UsageError):
        parse_vendor("nonsense")


def test_memory_store_set_get_delete() -> None:
    store = MemoryStore()
    store.set("Boot0001", G, b"\x01\x00", VariableAttributes(7))
    store.set("Timeout", G, b"\x05\x00")
    assert store.list() == [VariableName("Boot0001", G), VariableName("Timeout", G)]
    assert store.get("Boot0001", G) == Variable("Boot0001", G, VariableAttributes(7), b"\x01\x00")
    assert VariableName("Timeout", G) in store
    store.delete("Timeout", G)
    assert store.get("Timeout", G) is None
    with pytest.raises(VariableNotFound):
        store.delete("Timeout", G)
    with pytest.raises(StoreError):
        store.set("", G, b"")
    with pytest.raises(StoreError):
        store.set("a\0b", G, b"")


def test_batch_rolls_back_on_exception() -> None:
    store = MemoryStore()
    store.set("A", G, b"a")
    with pytest.raises(RuntimeError):
        with store.batch():
            store.set("B", G, b"b")
            store.delete("A", G)
            with store.batch():  # nested batches join the outer one
                store.set("C", G, b"c")
            raise RuntimeError("boom")
    assert [k.name for k in store.list()] == ["A"]
    with store.batch():
        store.set("B", G, b"b")
    assert [k.name for k in store.list()] == ["A", "B"]
