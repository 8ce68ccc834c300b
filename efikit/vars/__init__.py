"""efikit.vars: one VariableStore interface over efivarfs, edk2 varstores, JSON and memory.

``open_store(source)`` (in efikit.vars.open) picks the backend from the source.
"""
from __future__ import annotations

from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    EFI_GLOBAL_VARIABLE,
    VENDORS,
    Variable,
    VariableAttributes,
    VariableName,
    VariableNotFound,
    VariableStore,
    parse_vendor,
    vendor_name,
)

__all__ = [
    "DEFAULT_ATTRIBUTES",
    "EFI_GLOBAL_VARIABLE",
    "VENDORS",
    "Variable",
    "VariableAttributes",
    "VariableName",
    "VariableNotFound",
    "VariableStore",
    "parse_vendor",
    "vendor_name",
]
