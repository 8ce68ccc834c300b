"""A slot command as an ordered list of single writes, computed before anything is written.

Each step is one variable plan (usually one variable) or one file replaced on the ESP. The
steps are planned against an in-memory copy of the store, so each sees the effect of the ones
before it; ``--dry-run`` prints them, ``--backup`` saves what they overwrite, and ``apply``
writes them in order. The operations order their steps so that a crash after any one of
them leaves a machine that still boots, and running the command again finishes the job.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from efikit.boot import BootManager, Change, Plan, format_number
from efikit.boot.numbers import encode_order
from efikit.disk.esp import EspFiles
from efikit.errors import Error, SlotError
from efikit.slots.machine import SlotMachine
from efikit.vars.memory import MemoryStore
from efikit.vars.store import EFI_GLOBAL_VARIABLE, Variable, VariableStore


@dataclass(frozen=True)
class FileWrite:
    esp_path: str
    data: bytes
    replaces: bool  # a file was there before


@dataclass(frozen=True)
class Step:
    what: str
    plan: Plan | None = None
    file: FileWrite | None = None

    def describe(self) -> list[str]:
        lines = [self.what]
        if self.plan is not None:
            lines += ["  " + line for line in self.plan.describe()]
        if self.file is not None:
            verb = "replace" if self.file.replaces else "create"
            lines.append(f"  {verb} {self.file.esp_path} on the ESP ({len(self.file.data)} bytes, "
                         "temp file + rename)")
        return lines


@dataclass(frozen=True)
class SlotPlan:
    command: str
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.steps)

    def describe(self) -> list[str]:
        lines = [f"note: {n}" for n in self.notes]
        for index, step in enumerate(self.steps, 1):
            body = step.describe()
            lines.append(f"{index}. {body[0]}")
            lines += body[1:]
        if not self.steps:
            lines.append("nothing to do")
        return lines

    def overwritten(self) -> Plan:
        """One plan holding the first ``before`` of every variable the steps touch."""
        seen: dict[tuple[str, object], Change] = {}
        for step in self.steps:
            for change in step.plan.changes if step.plan else ():
                seen.setdefault((change.name, change.vendor), change)
        return Plan(tuple(seen.values()))

    def apply(self, store: VariableStore, esp: EspFiles | None) -> None:
        """Write the steps in order; SlotApplyError says which ones were written when one
        fails (the steps are ordered so that running the command again finishes the job)."""
        for index, step in enumerate(self.steps):
            try:
                if step.plan is not None:
                    step.plan.apply(store)
                if step.file is not None:
                    assert esp is not None, "a file step needs the ESP"
                    esp.replace(step.file.esp_path, step.file.data)
            except (Error, OSError) as exc:
                raise SlotApplyError(self, index, _reason(exc)) from exc


def _reason(exc: Error | OSError) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, Error):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc)


class SlotApplyError(SlotError):
    """A slot command that failed part of the way: ``applied`` steps of ``plan`` were written,
    step ``applied`` (0-based) failed with ``reason``, the rest were not tried."""

    def __init__(self, plan: SlotPlan, applied: int, reason: str) -> None:
        self.plan = plan
        self.applied = applied
        self.reason = reason
        step = plan.steps[applied]
        done = f"steps 1-{applied} were applied" if applied > 1 else \
            "step 1 was applied" if applied == 1 else "nothing was applied"
        super().__init__(f"{plan.command} failed at step {applied + 1} of {len(plan.steps)} "
                         f"({step.what}): {reason}; {done}")

    @property
    def applied_steps(self) -> tuple[Step, ...]:
        return self.plan.steps[:self.applied]

    @property
    def failed_step(self) -> Step:
        return self.plan.steps[self.applied]

    @property
    def remaining_steps(self) -> tuple[Step, ...]:
        return self.plan.steps[self.applied + 1:]


@dataclass
class Planner:
    """Builds a SlotPlan against a copy of ``machine``'s store."""

    machine: SlotMachine
    command: str
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        overlay = MemoryStore(self.machine.store.variables(), source="<plan>")
        self.sim = SlotMachine(overlay, self.machine.esp, self.machine.location,
                               self.machine.scheme)

    @property
    def manager(self) -> BootManager:
        return self.sim.manager()

    def add(self, what: str, plan: Plan) -> None:
        if plan:
            plan.apply(self.sim.store)
            self.steps.append(Step(what, plan=plan))

    def order_plan(self, numbers: list[int]) -> Plan:
        """BootOrder := numbers (no existence checks: callers pass what they mean)."""
        before = self.sim.store.get("BootOrder", EFI_GLOBAL_VARIABLE)
        attributes = before.attributes if before is not None else None
        from efikit.vars.store import DEFAULT_ATTRIBUTES

        after = Variable("BootOrder", EFI_GLOBAL_VARIABLE, attributes or DEFAULT_ATTRIBUTES,
                         encode_order(numbers))
        return Plan((Change("BootOrder", EFI_GLOBAL_VARIABLE, before, after),))

    def set_order(self, numbers: list[int]) -> None:
        text = ",".join(format_number(n) for n in numbers) or "(empty)"
        self.add(f"set BootOrder to {text}", self.order_plan(numbers))

    def write_file(self, what: str, esp_path: str, data: bytes, replaces: bool) -> None:
        self.steps.append(Step(what, file=FileWrite(esp_path, data, replaces)))

    def finish(self) -> SlotPlan:
        return SlotPlan(self.command, tuple(self.steps), tuple(self.notes))
