"""`efikit slot`: the A/B flow — status, stage, commit, rollback, recover.

The variable store is the root ``--vars`` (default: the running system's efivarfs). The ESP
comes from ``--disk IMAGE_OR_DEVICE`` (the GPT names the ESP; its files are read through
mtools) and/or ``--esp DIR`` (a mounted ESP). On the running system (the kernel's efivarfs)
without either, the mounted ESP is found on its own, and the kernel command line is a second
opinion on the running slot. Offline (a varstore file between two boots, a recovery
environment) there is no BootCurrent: ``--running A|B`` names the running slot.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from efikit.boot import format_number, write_backup
from efikit.cli.common import echo_json
from efikit.cli.store_option import open_cli_store
from efikit.errors import SlotError, UsageError

F = TypeVar("F", bound=Callable[..., Any])

_SLOT = click.Choice(["A", "B", "a", "b"])


def machine_options(func: F) -> F:
    for decorator in reversed([
        click.option("--disk", metavar="IMAGE_OR_DEVICE", type=click.Path(dir_okay=False),
                     help="Disk image or block device holding the ESP (found in its GPT)."),
        click.option("--esp", "esp_dir", metavar="DIR", type=click.Path(file_okay=False),
                     help="A mounted ESP (its files are used instead of the image's)."),
        click.option("--vendor", default="metropolis", show_default=True,
                     help="Directory under \\EFI holding boot-a.efi and boot-b.efi."),
        click.option("--name", default="Metropolis", show_default=True,
                     help='Entry labels are "<NAME> Slot A" / "<NAME> Slot B".'),
        click.option("--cmdline-placeholder", "placeholder", default="METROPOLIS-SYSTEM-X",
                     show_default=True, help="What the loader fills in with the slot on the "
                     "kernel command line (its last X becomes A or B); '' to ignore it."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]):
        func = decorator(func)
    return func


def mutating(func: F) -> F:
    func = click.option("--backup", metavar="FILE", type=click.Path(dir_okay=False),
                        help="Save the variables this overwrites or deletes as JSON "
                        "(restore with `efikit vars import FILE`).")(func)
    func = click.option("--dry-run", is_flag=True,
                        help="Print the steps and write nothing.")(func)
    return func


running_option = click.option("--running", type=_SLOT, default=None,
                              help="The running slot, when there is no BootCurrent (offline).")


def _machine(disk: str | None, esp_dir: str | None, vendor: str, name: str,
             placeholder: str = "METROPOLIS-SYSTEM-X") -> Any:
    from efikit.slots.esp_locate import (
        find_mounted_esp,
        locate_esp,
        location_of_directory,
        open_esp_files,
    )
    from efikit.slots.machine import SlotMachine, entry_hd
    from efikit.slots.scheme import SlotScheme

    if not vendor or any(c in vendor for c in "\\/"):
        raise UsageError(f"--vendor must be one directory name, not {vendor!r}")
    scheme = SlotScheme(vendor=vendor, name=name, cmdline_placeholder=placeholder)
    store = open_cli_store()
    live = store.kind == "efivarfs" and bool(getattr(store, "kernel", False))
    machine = SlotMachine(store, None, None, scheme,
                          kernel_cmdline=_kernel_cmdline() if live else None)
    location = locate_esp(disk) if disk else None
    if esp_dir is not None and location is None and live:
        location = location_of_directory(esp_dir)
    if disk is None and esp_dir is None and live:
        wanted = [hd.partition_guid for entries in machine.slot_entries().values()
                  for hd in map(entry_hd, entries)
                  if hd is not None and hd.partition_guid is not None]
        found = find_mounted_esp(list(dict.fromkeys(wanted)))
        esp_dir, location = str(found.directory), found.location
    machine.esp = open_esp_files(esp_dir, location)
    machine.location = location
    return machine


def _kernel_cmdline() -> str | None:
    try:
        with open("/proc/cmdline", encoding="utf-8", errors="replace") as f:
            return f.read(65536).strip()
    except OSError:
        return None


def _slot(value: str | None) -> Any:
    from efikit.slots.scheme import parse_slot

    return None if value is None else parse_slot(value)


# ---- status -------------------------------------------------------------------------------

def _num(number: int | None) -> str | None:
    return None if number is None else format_number(number)


def status_json(status: Any) -> dict[str, Any]:
    def stamp(s: Any) -> Any:
        if s is None:
            return None
        return {"slot": s.slot, "meta": dict(s.meta), "error": s.error}

    esp = status.esp
    return {
        "running": {"slot": status.running, "source": status.running_source,
                    "boot_current": _num(status.boot_current),
                    "boot_current_path": status.boot_current_path},
        "checks": [{"source": c.source, "value": c.value, "slot": c.slot, "agrees": c.agrees}
                   for c in status.checks],
        "slots": {s.slot: {
            "loader": s.loader, "entries": [format_number(n) for n in s.entries],
            "entry": _num(s.entry), "active": s.active, "hd_matches_esp": s.hd_matches_esp,
            "loader_exists": s.loader_exists, "loader_size": s.loader_size,
            "stamp": stamp(s.stamp), "boot_order_position": s.order_position,
        } for s in status.slots},
        "boot_order": None if status.boot_order is None
        else [format_number(n) for n in status.boot_order],
        "boot_next": None if status.boot_next is None
        else {"entry": format_number(status.boot_next), "slot": status.boot_next_slot},
        "next_boot": {"entry": _num(status.next_boot.number), "via": status.next_boot.via,
                      "path": status.next_boot.path, "slot": status.next_boot.slot},
        "esp": None if esp is None else {
            "disk": esp.disk, "partition": esp.partition,
            "partition_guid": str(esp.partition_guid).upper() if esp.partition_guid else None,
            "start_lba": esp.start_lba, "size_lba": esp.size_lba, "free_bytes": esp.free_bytes},
        "verdict": status.verdict,
        "reasons": list(status.reasons),
        "notes": list(status.notes),
    }


def _yes(value: bool | None) -> str:
    return "?" if value is None else "yes" if value else "NO"


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def print_status(status: Any) -> None:
    if status.running is not None:
        path = f" {status.boot_current_path}" if status.boot_current_path else ""
        where = f" (Boot{format_number(status.boot_current)}{path})" \
            if status.running_source and status.running_source.startswith("BootCurrent") else ""
        click.echo(f"running slot: {status.running}, from {status.running_source}{where}")
    else:
        click.echo("running slot: unknown")
    for check in status.checks:
        verdict = {True: "agrees", False: "DISAGREES", None: "not comparable"}[check.agrees]
        slot = f" -> slot {check.slot}" if check.slot else ""
        click.echo(f"  {check.source}: {check.value}{slot} ({verdict})")
    click.echo("")
    click.echo(f"{'slot':<5} {'entry':<9} {'active':<7} {'on ESP':<7} {'loader':<18} "
               f"{'stamp':<6} {'BootOrder'}")
    for s in status.slots:
        entry = f"Boot{format_number(s.entry)}" if s.entry is not None else "-"
        if len(s.entries) > 1:
            entry += f" (+{len(s.entries) - 1})"
        if s.loader_exists is None:
            loader = "?"
        else:
            loader = f"{s.loader_size} bytes" if s.loader_exists else "MISSING"
        stamp = "-" if s.stamp is None else (s.stamp.slot or "bad")
        position = "-" if s.order_position is None else f"#{s.order_position + 1}"
        click.echo(f"{s.slot:<5} {entry:<9} {_yes(s.active) if s.entry is not None else '-':<7} "
                   f"{_yes(s.hd_matches_esp) if s.entry is not None else '-':<7} {loader:<18} "
                   f"{stamp:<6} {position}")
    click.echo("")
    order = "missing" if status.boot_order is None else \
        (",".join(format_number(n) for n in status.boot_order) or "(empty)")
    click.echo(f"BootOrder: {order}")
    if status.boot_next is None:
        click.echo("BootNext: none")
    else:
        slot = f" (slot {status.boot_next_slot})" if status.boot_next_slot else ""
        click.echo(f"BootNext: {format_number(status.boot_next)}{slot}")
    nb = status.next_boot
    target = f"Boot{format_number(nb.number)} " if nb.number is not None else ""
    slot = f", slot {nb.slot}" if nb.slot else ""
    click.echo(f"next boot: {target}{nb.path or ''} via {nb.via}{slot}")
    if status.esp is not None:
        e = status.esp
        where = f"partition {e.partition} {str(e.partition_guid).upper()}, " \
            f"{_mib(e.size_lba * 512) if e.size_lba else '?'}" if e.partition else "directory"
        free = _mib(e.free_bytes) if e.free_bytes is not None else "unknown"
        click.echo(f"ESP: {where}, free {free}")
    click.echo(f"verdict: {status.verdict}")
    for reason in status.reasons:
        click.echo(f"  - {reason}")
    for note in status.notes:
        click.echo(f"note: {note}")


# ---- plans --------------------------------------------------------------------------------

def plan_json(plan: Any, dry_run: bool) -> dict[str, Any]:
    from efikit.boot.changes import describe_change

    steps = []
    for step in plan.steps:
        item: dict[str, Any] = {"what": step.what}
        if step.plan is not None:
            item["variables"] = [{"name": c.name, "action": c.action,
                                  "text": describe_change(c)} for c in step.plan.changes]
        if step.file is not None:
            item["file"] = {"path": step.file.esp_path, "bytes": len(step.file.data),
                            "replaces": step.file.replaces}
        steps.append(item)
    return {"command": plan.command, "dry_run": dry_run, "applied": bool(plan) and not dry_run,
            "steps": steps, "notes": list(plan.notes)}


def _run(machine: Any, plan: Any, dry_run: bool, backup: str | None, as_json: bool) -> None:
    from efikit.slots.plan import SlotApplyError

    if not dry_run and backup is not None:
        saved = write_backup(backup, plan.overwritten())
        click.echo(f"backup: {saved} variable(s) saved to {backup}", err=True)
    if not dry_run:
        try:
            plan.apply(machine.store, machine.esp)
        except SlotApplyError as exc:
            _report_failure(exc, backup, as_json)
    if as_json:
        echo_json(plan_json(plan, dry_run))
        return
    prefix = "would: " if dry_run and plan else ""
    lines = plan.describe()
    for line in lines:
        numbered = line[:1].isdigit()
        click.echo(f"{prefix}{line}" if numbered else line)
    if not dry_run and plan:
        click.echo(f"{plan.command}: done ({len(plan.steps)} step(s))")


def command_line(skip: tuple[str, ...] = ("dry_run", "backup")) -> str:
    """The command being run, as a shell line: ``efikit [--vars X] slot CMD ARGS OPTIONS``
    with the options the user gave (not their defaults), leaving out ``skip``."""
    ctx = click.get_current_context()
    words = ["efikit", *_vars_words()]
    words += [ctx.parent.info_name or "slot" if ctx.parent else "slot", ctx.info_name or ""]
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        if name in skip or value is None or value is False:
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        if ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT:
            continue
        option = max(param.opts, key=len)
        words += [option] if getattr(param, "is_flag", False) else [option, str(value)]
    return shlex.join(words)


def _report_failure(exc: Any, backup: str | None, as_json: bool) -> None:
    """Say what a failed slot command wrote, what failed and what finishes or undoes it;
    then fail with one error line."""
    plan = exc.plan
    finish = command_line()
    undo = None
    if backup is not None:
        undo = shlex.join(["efikit", *_vars_words(), "vars", "import", backup])
    if as_json:
        document = plan_json(plan, dry_run=False)
        for index, item in enumerate(document["steps"]):
            item["status"] = "applied" if index < exc.applied else \
                "failed" if index == exc.applied else "not applied"
        document.update({
            "applied": False,
            "failed": {"step": exc.applied + 1, "what": exc.failed_step.what,
                       "error": exc.reason},
            "applied_steps": exc.applied,
            "finish_command": finish,
            "undo_command": undo,
        })
        echo_json(document)
    else:
        for index, step in enumerate(plan.steps):
            mark = "done" if index < exc.applied else \
                "FAILED" if index == exc.applied else "not done"
            click.echo(f"{mark}: {index + 1}. {step.what}")
        click.echo(f"to finish, run: {finish}")
        if undo is not None:
            click.echo(f"to restore the variables it overwrote, run: {undo} (variables it "
                       "created stay; replaced ESP files are not in the backup)")
    raise SlotError(f"{exc}; to finish, run: {finish}")


def _vars_words() -> list[str]:
    vars_source = (click.get_current_context().find_root().obj or {}).get("vars_source")
    return ["--vars", str(vars_source)] if vars_source else []


# ---- commands -------------------------------------------------------------------------------

@click.group()
def slot() -> None:
    """A/B slots: status, stage, commit, rollback, recover."""


@slot.command()
@machine_options
@running_option
def status(disk: str | None, esp_dir: str | None, vendor: str, name: str, placeholder: str,
           as_json: bool, running: str | None) -> None:
    """Running slot, each slot's entry and loader, BootNext, and a verdict."""
    from efikit.slots.status import read_status

    result = read_status(_machine(disk, esp_dir, vendor, name, placeholder), _slot(running))
    if as_json:
        echo_json(status_json(result))
    else:
        print_status(result)


@slot.command()
@click.argument("target", metavar="SLOT", type=_SLOT)
@click.option("--loader", type=click.Path(exists=True, dir_okay=False),
              help="Install this file as the slot's loader first.")
@machine_options
@running_option
@mutating
def stage(target: str, loader: str | None, disk: str | None, esp_dir: str | None, vendor: str,
          name: str, placeholder: str, as_json: bool, running: str | None, dry_run: bool,
          backup: str | None) -> None:
    """Prepare SLOT for one trial boot: entry, loader, BootNext."""
    from efikit.slots.operations import plan_stage

    machine = _machine(disk, esp_dir, vendor, name, placeholder)
    data = Path(loader).read_bytes() if loader else None
    plan = plan_stage(machine, _slot(target), data, _slot(running))
    _run(machine, plan, dry_run, backup, as_json)


@slot.command()
@machine_options
@running_option
@mutating
def commit(disk: str | None, esp_dir: str | None, vendor: str, name: str, placeholder: str,
           as_json: bool, running: str | None, dry_run: bool, backup: str | None) -> None:
    """The running slot booted well: make it first in BootOrder (idempotent)."""
    from efikit.slots.operations import plan_commit

    machine = _machine(disk, esp_dir, vendor, name, placeholder)
    _run(machine, plan_commit(machine, _slot(running)), dry_run, backup, as_json)


@slot.command()
@machine_options
@running_option
@mutating
def rollback(disk: str | None, esp_dir: str | None, vendor: str, name: str, placeholder: str,
             as_json: bool, running: str | None, dry_run: bool, backup: str | None) -> None:
    """Cancel a pending trial (BootNext), or put the other slot first."""
    from efikit.slots.operations import plan_rollback

    machine = _machine(disk, esp_dir, vendor, name, placeholder)
    _run(machine, plan_rollback(machine, _slot(running)), dry_run, backup, as_json)


@slot.command()
@machine_options
@click.option("--prefer", type=_SLOT, default=None,
              help="Put this slot first (default: surviving BootOrder, BOOTX64.CSV, else A).")
@mutating
def recover(disk: str | None, esp_dir: str | None, vendor: str, name: str, placeholder: str,
            as_json: bool, prefer: str | None, dry_run: bool, backup: str | None) -> None:
    """Rebuild lost or damaged slot entries from the loaders on the ESP."""
    from efikit.slots.recover import plan_recover

    machine = _machine(disk, esp_dir, vendor, name, placeholder)
    _run(machine, plan_recover(machine, _slot(prefer)), dry_run, backup, as_json)
