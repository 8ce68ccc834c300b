"""An in-memory variable store, for tests and library users."""
from __future__ import annotations

import builtins
import uuid

from efikit.vars.store import (
    DEFAULT_ATTRIBUTES,
    Variable,
    VariableAttributes,
    VariableName,
    VariableNotFound,
    VariableStore,
    check_attributes,
    check_name,
    check_timestamp,
)


class MemoryStore(VariableStore):
    """Variables in a dict, insertion-ordered; ``batch`` rolls back on an exception."""

    kind = "memory"

    def __init__(self, variables: list[Variable] | None = None, source: str = "<memory>") -> None:
        super().__init__(source)
        self._vars: dict[VariableName, Variable] = {}
        for var in variables or []:
            self._vars[var.key] = var

    def list(self) -> builtins.list[VariableName]:
        return list(self._vars)

    def get(self, name: str, vendor: uuid.UUID) -> Variable | None:
        return self._vars.get(VariableName(name, vendor))

    def set(
        self,
        name: str,
        vendor: uuid.UUID,
        data: bytes,
        attributes: VariableAttributes = DEFAULT_ATTRIBUTES,
        *,
        timestamp: bytes | None = None,
    ) -> None:
        check_name(name)
        check_timestamp(timestamp)
        check_attributes(attributes)
        key = VariableName(name, vendor)
        if timestamp is None and key in self._vars:
            timestamp = self._vars[key].timestamp
        var = Variable(name, vendor, VariableAttributes(int(attributes)), bytes(data), timestamp)
        with self._mutation():
            self._vars[var.key] = var

    def delete(self, name: str, vendor: uuid.UUID) -> None:
        key = VariableName(name, vendor)
        if key not in self._vars:
            raise VariableNotFound(name, vendor, self.source)
        with self._mutation():
            del self._vars[key]

    def _snapshot(self) -> object:
        return dict(self._vars)

    def _restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, dict)
        self._vars = snapshot
