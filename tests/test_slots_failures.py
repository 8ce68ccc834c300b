"""A slot command that fails part of the way says what it wrote, which step failed, and the
command that finishes the job; --json carries the same. A failure is injected at every write
of stage, commit, rollback and recover (library), at every step through the CLI, and the ESP
is made really read-only once (a read-only bind mount in a private mount namespace)."""
from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import require_tool
from efikit.boot import Plan
from efikit.disk.esp import DirectoryEsp
from efikit.errors import DiskError, StoreError
from efikit.slots.plan import SlotApplyError
from efikit.vars.store import VariableStore
from test_slots_crash import CASES
from test_json_schemas import validator
from test_slots_support import LOADER_A, LOADER_B, crashing, snapshot
from test_vars_support import run_cli

NEW_LOADER = LOADER_A.parent / "loader-unsigned.efi"
SAMPLE_VARS = Path(__file__).resolve().parents[1] / "fixtures" / "sample-machine" / "OVMF_VARS.fd"


ERRORS = {
    "StoreError": StoreError("cannot write Boot0001: Read-only file system"),
    "DiskError": DiskError("cannot write \\EFI\\x: No space left on device"),
    "EIO": OSError(errno.EIO, "Input/output error", "/sys/firmware/efi/efivars/x"),
}


def _writes_per_step(plan: Any) -> list[int]:
    return [len(s.plan.changes) if s.plan else 1 for s in plan.steps]


@pytest.mark.parametrize("error", sorted(ERRORS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_failure_at_every_write_reports_the_steps(case: str, error: str,
                                                  tmp_path: Path) -> None:
    setup, command, _ = CASES[case]
    reference = setup(tmp_path / "reference", "memory")
    plan = command(reference)
    per_step = _writes_per_step(plan)
    plan.apply(reference.store, reference.esp)
    expected = snapshot(reference)
    for fail_at in range(1, sum(per_step) + 1):
        m = setup(tmp_path / f"fail{fail_at}", "memory")
        victim, _ = crashing(m, fail_at, ERRORS[error])
        victim_plan = command(victim)
        with pytest.raises(SlotApplyError) as raised:
            victim_plan.apply(victim.store, victim.esp)
        exc = raised.value
        step = next(i for i in range(len(per_step)) if sum(per_step[:i + 1]) >= fail_at)
        assert exc.applied == step, f"{case}: write {fail_at}"
        assert exc.failed_step is victim_plan.steps[step]
        message = str(exc)
        assert f"failed at step {step + 1} of {len(per_step)}" in message
        assert exc.failed_step.what in message and str(ERRORS[error].args[-1]) in message \
            or (ERRORS[error].strerror or "") in message
        assert "\n" not in message
        if not case.startswith("rollback"):  # each rollback steps back once more, by design
            command(m).apply(m.store, m.esp)  # what the report says: run it again
            assert snapshot(m) == expected, f"{case}: rerun after failing write {fail_at}"


# --- the CLI --------------------------------------------------------------------------------

def _esp(tmp: Path) -> Path:
    root = tmp / "esp"
    (root / "EFI" / "metropolis").mkdir(parents=True)
    (root / "EFI" / "BOOT").mkdir(parents=True)
    shutil.copyfile(LOADER_A, root / "EFI" / "metropolis" / "boot-a.efi")
    shutil.copyfile(LOADER_B, root / "EFI" / "metropolis" / "boot-b.efi")
    shutil.copyfile(LOADER_A, root / "EFI" / "BOOT" / "BOOTX64.EFI")
    return root


def _machine_files(tmp: Path) -> tuple[Path, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    varstore = tmp / "OVMF_VARS.fd"
    shutil.copyfile(SAMPLE_VARS, varstore)
    return varstore, _esp(tmp)


def _state(varstore: Path, esp: Path) -> tuple[bytes, dict[str, bytes]]:
    return varstore.read_bytes(), {str(p.relative_to(esp)): p.read_bytes()
                                   for p in sorted(esp.rglob("*")) if p.is_file()}


def _invoke(args: list[str]) -> tuple[int, str, str]:
    code, stdout, stderr = run_cli(args)
    return code, stdout.decode(), stderr


COMMANDS = {
    "stage": ["stage", "B", "--loader", str(NEW_LOADER), "--running", "A"],
    "commit": ["commit", "--running", "B"],
    "rollback": ["rollback", "--running", "A"],
    "recover": ["recover", "--prefer", "B"],
}


def _prepare(command: str, varstore: Path, esp: Path) -> None:
    """A state in which ``command`` has several steps to do."""
    if command in ("commit", "rollback"):
        code, _, err = _invoke(["--vars", str(varstore), "slot", "stage", "B", "--loader",
                                str(NEW_LOADER), "--running", "A", "--esp", str(esp)])
        assert code == 0, err
    if command == "recover":
        (esp / "EFI" / "metropolis" / "BOOTX64.CSV").write_bytes(b"")


def _fail_step(monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """Make the ``fail_at``-th step (a variable plan or an ESP file) fail."""
    calls = {"n": 0}
    plan_apply = Plan.apply
    esp_replace = DirectoryEsp.replace

    def tick(what: str) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            if what == "file":
                raise DiskError("cannot write the file: Read-only file system")
            raise StoreError("cannot write the variable: No space left on device")

    def failing_plan(self: Plan, store: VariableStore) -> None:
        if store.source != "<plan>":  # not the planner's in-memory overlay
            tick("plan")
        plan_apply(self, store)

    def failing_replace(self: DirectoryEsp, esp_path: str, data: bytes) -> None:
        tick("file")
        esp_replace(self, esp_path, data)

    monkeypatch.setattr(Plan, "apply", failing_plan)
    monkeypatch.setattr(DirectoryEsp, "replace", failing_replace)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_failure_at_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   command: str, as_json: bool) -> None:
    ref_vars, ref_esp = _machine_files(tmp_path / "reference")
    _prepare(command, ref_vars, ref_esp)
    base = ["--vars", str(ref_vars), "slot", *COMMANDS[command], "--esp", str(ref_esp)]
    code, out, err = _invoke(base + ["--dry-run", "--json"])
    assert code == 0, err
    steps = json.loads(out)["steps"]
    assert len(steps) >= 2, f"{command}: the scenario must have several steps"
    code, _, err = _invoke(base)
    assert code == 0, err
    expected = _state(ref_vars, ref_esp)
    for fail_at in range(1, len(steps) + 1):
        varstore, esp = _machine_files(tmp_path / f"fail{fail_at}")
        _prepare(command, varstore, esp)
        args = ["--vars", str(varstore), "slot", *COMMANDS[command], "--esp", str(esp),
                "--backup", str(tmp_path / f"backup{fail_at}.json")]
        with monkeypatch.context() as m:
            _fail_step(m, fail_at)
            code, out, err = _invoke(args + (["--json"] if as_json else []))
        assert code == 1
        errors = [line for line in err.splitlines() if line.startswith("efikit: error:")]
        assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
        assert f"failed at step {fail_at} of {len(steps)} ({steps[fail_at - 1]['what']})" \
            in errors[0]
        finish = errors[0].split("to finish, run: ", 1)[1]
        assert "--backup" not in finish and "--dry-run" not in finish
        if as_json:
            document = json.loads(out)
            schema_errors = list(validator(f"slot {command}".replace(" ", "-"))
                                 .iter_errors(document))
            assert not schema_errors, schema_errors[0].message
            assert document["applied"] is False and document["applied_steps"] == fail_at - 1
            assert document["failed"]["step"] == fail_at
            assert document["failed"]["what"] == steps[fail_at - 1]["what"]
            assert "Read-only" in document["failed"]["error"] or \
                "No space" in document["failed"]["error"]
            assert [s["status"] for s in document["steps"]] == \
                ["applied"] * (fail_at - 1) + ["failed"] + \
                ["not applied"] * (len(steps) - fail_at)
            assert document["finish_command"] == finish
            assert document["undo_command"] == shlex.join(
                ["efikit", "--vars", str(varstore), "vars", "import",
                 str(tmp_path / f"backup{fail_at}.json")])
        else:
            lines = out.splitlines()
            assert [line.split(":", 1)[0] for line in lines[:len(steps)]] == \
                ["done"] * (fail_at - 1) + ["FAILED"] + ["not done"] * (len(steps) - fail_at)
            assert f"to finish, run: {finish}" in lines
            assert any(line.startswith("to restore the variables it overwrote, run: efikit")
                       for line in lines)
        words = shlex.split(finish)
        assert words[0] == "efikit"
        code, _, err = _invoke(words[1:])  # the printed command finishes the job
        assert code == 0, err
        if command != "rollback":  # each rollback steps back once more, by design
            assert _state(varstore, esp) == expected, f"{command}: after failing step {fail_at}"


def test_read_only_esp_after_deactivation(tmp_path: Path) -> None:
    """The issue's case, for real: the ESP turns out read-only after stage has deactivated
    the entry. The report names that step and the command that finishes; run once the ESP is
    writable again, that command does."""
    require_tool("unshare", "mount")
    varstore, esp = _machine_files(tmp_path)
    userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    stage = [sys.executable, "-m", "efikit", "--vars", str(varstore), "slot", "stage", "B",
             "--loader", str(NEW_LOADER), "--esp", str(esp), "--running", "A"]
    script = (f"mount --bind {esp} {esp} && mount -o remount,bind,ro {esp} && "
              f"exec {shlex.join(stage)}")
    before = _state(varstore, esp)[1]
    proc = subprocess.run(["unshare", *userns, "--mount", "sh", "-c", script],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[:2] == [
        "done: 1. deactivate Boot0001 (its loader is being replaced)",
        "FAILED: 2. install the new slot B loader"]
    [line] = proc.stderr.splitlines()
    assert "Read-only file system" in line and "step 1 was applied" in line
    assert _state(varstore, esp)[1] == before
    finish = shlex.split(line.split("to finish, run: ", 1)[1])
    done = subprocess.run([sys.executable, "-m", "efikit", *finish[1:]], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert (esp / "EFI" / "metropolis" / "boot-b.efi").read_bytes() == NEW_LOADER.read_bytes()
