"""`efikit boot`: Boot#### entries, BootOrder, BootNext, BootCurrent and Timeout.

Entry numbers are hex as in efibootmgr (``0001``, ``1``, ``000a`` or ``Boot0001``); wherever
a command takes one, ``--label TEXT`` or ``--path LOADER`` names the entry instead. Every
mutating command accepts ``--dry-run`` (print what would change, write nothing), ``--json``
(the write result, see ``efikit.cli.write_result``) and ``--backup FILE`` (save the variables
it overwrites or deletes, as JSON that ``efikit vars import`` restores); all changes of one
command go through one ``store.batch()``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from efikit.boot.changes import Plan, PlanApplyError, apply_tracked, write_backup
from efikit.boot.manager import BootEntry, BootManager, BootStatus
from efikit.boot.numbers import OptionKind, format_number, parse_number, parse_number_list
from efikit.cli.common import TEXT_FROM_OPTION, echo_json
from efikit.cli.store_option import open_cli_store
from efikit.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

_KIND_CHOICES = ["boot", "driver", "sysprep", "platformrecovery"]


def _manager() -> BootManager:
    return BootManager(open_cli_store())


def kind_option(writable: bool = False) -> Callable[[F], F]:
    choices = _KIND_CHOICES[:-1] if writable else _KIND_CHOICES
    return click.option(
        "--kind", "kind_name", type=click.Choice(choices, case_sensitive=False),
        default="boot", show_default=True,
        help="Which load options: Boot####, Driver####, SysPrep####"
        + ("" if writable else " or PlatformRecovery#### (read only)") + ".")


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def mutating(func: F, reads_too: bool = False) -> F:
    """--dry-run, --json and --backup FILE for a command that changes variables."""
    from efikit.cli.write_result import JSON_HELP, READ_OR_WRITE_JSON_HELP  # noqa: PLC0415

    func = click.option("--backup", "backup", metavar="FILE", type=click.Path(dir_okay=False),
                        help="Save the variables this overwrites or deletes as JSON "
                        "(restore with `efikit vars import FILE`).")(func)
    func = click.option("--json", "as_json", is_flag=True,
                        help=READ_OR_WRITE_JSON_HELP if reads_too else JSON_HELP)(func)
    func = click.option("--dry-run", is_flag=True,
                        help="Print what would change and write nothing.")(func)
    return func


def reading_mutating(func: F) -> F:
    """``mutating`` for a command that also reads (without arguments: boot next, timeout)."""
    return mutating(func, reads_too=True)


def _run(manager: BootManager, plan: Plan, dry_run: bool, backup: str | None,
         as_json: bool, notes: tuple[str, ...] = (), **extra: Any) -> None:
    """Print, back up, then apply ``plan`` in one batch (text, or the --json write result)."""
    from efikit.cli.write_result import plan_result  # noqa: PLC0415

    if dry_run:
        if as_json:
            echo_json(plan_result(plan, dry_run=True, notes=notes, **extra))
            return
        for note in notes:
            click.echo(note)
        for line in plan.describe():
            click.echo(f"would {line}" if plan and not line.startswith(" ") else line)
        return
    saved = None
    if backup is not None:
        saved = {"file": backup, "variables": write_backup(backup, plan)}
        click.echo(f"backup: {saved['variables']} variable(s) saved to {backup}", err=True)
    try:
        if plan:
            apply_tracked(plan, manager.store)
    except PlanApplyError as failure:
        if as_json:
            echo_json(plan_result(plan, dry_run=False, failure=failure, backup=saved,
                                  notes=notes, **extra))
        raise
    if as_json:
        echo_json(plan_result(plan, dry_run=False, backup=saved, notes=notes, **extra))
        return
    for note in notes:
        click.echo(note)
    if plan or not notes:
        for line in plan.describe():
            click.echo(line)


# completion callbacks: efikit.cli.completion (and click's completion machinery) load only
# when a shell asks
def _complete_number(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from efikit.cli.completion import complete_entry_number  # noqa: PLC0415

    return complete_entry_number(ctx, param, incomplete)


def _complete_label(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from efikit.cli.completion import complete_label  # noqa: PLC0415

    return complete_label(ctx, param, incomplete)


def _complete_path(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from efikit.cli.completion import complete_loader_path  # noqa: PLC0415

    return complete_loader_path(ctx, param, incomplete)


def entry_selector(label_flag: str = "--label") -> Callable[[F], F]:
    """N, or --label TEXT / --path LOADER: the entry a command works on."""
    def decorate(func: F) -> F:
        for decorator in reversed([
            click.argument("number", metavar="[N]", required=False,
                           shell_complete=_complete_number),
            click.option(label_flag, "select_label", metavar="TEXT",
                         shell_complete=_complete_label,
                         help="Name the entry by its label (exact match) instead of N."),
            click.option("--path", "select_path", metavar="LOADER",
                         shell_complete=_complete_path,
                         help="Name the entry by its loader's file path (case-insensitive, "
                         "e.g. '\\EFI\\x\\y.efi') instead of N."),
        ]):
            func = decorator(func)
        return func
    return decorate


def _select(manager: BootManager, kind: OptionKind, number: str | None, label: str | None,
            path: str | None, *, missing_ok: bool = False) -> int | None:
    from efikit.boot.select import EntrySelector, select_entry  # noqa: PLC0415

    return select_entry(manager, EntrySelector(number, label, path), kind, missing_ok=missing_ok)


def _selected(manager: BootManager, kind: OptionKind, number: str | None, label: str | None,
              path: str | None) -> int:
    found = _select(manager, kind, number, label, path)
    assert found is not None
    return found


# ---- rendering --------------------------------------------------------------------------

def _hex(number: int | None) -> str | None:
    return None if number is None else format_number(number)


def entry_json(entry: BootEntry, order: tuple[int, ...] | None) -> dict[str, Any]:
    from efikit.cli.render import load_option_json  # noqa: PLC0415

    position = order.index(entry.number) if order and entry.number in order else None
    var = entry.variable
    return {
        "name": entry.name,
        "number": entry.number,
        "number_hex": format_number(entry.number),
        "kind": entry.kind.value,
        "in_order": position is not None,
        "order_position": position,
        "variable_attributes": int(var.attributes) if var is not None else None,
        "variable_attributes_text": var.attributes.short() if var is not None else None,
        "error": entry.error,
        "option": load_option_json(entry.option) if entry.option is not None else None,
    }


def status_json(status: BootStatus, source: str, store_kind: str) -> dict[str, Any]:
    return {
        "store": {"kind": store_kind, "source": source},
        "kind": status.kind.value,
        "boot_current": status.boot_current,
        "boot_next": status.boot_next,
        "timeout": status.timeout,
        "order": list(status.order) if status.order is not None else None,
        "entries": [entry_json(e, status.order) for e in status.entries],
        "problems": list(status.problems),
    }


def entry_line(entry: BootEntry, verbose: bool) -> str:
    if verbose and entry.variable is not None:
        return _verbose_line(entry.name, entry.variable.data)
    if entry.error is not None or entry.summary is None:
        return f"{entry.name}? <{entry.error}>"
    mark = "*" if entry.summary.active else " "
    return f"{entry.name}{mark} {entry.summary.description}"


def _verbose_line(name: str, data: bytes) -> str:
    """'Boot0001* Label<TAB>device path[<TAB>optional data]' (efibootmgr -v's layout, as
    render.load_option_line), rendered from the bytes by fastpath.load_option_to_text: the
    text and the DecodeError LoadOption.from_bytes would give, without the object model."""
    from efikit.cli.render import entry_line  # noqa: PLC0415
    from efikit.codec.fastpath import load_option_to_text  # noqa: PLC0415
    from efikit.codec.loadoption import LoadOptionAttributes  # noqa: PLC0415
    from efikit.errors import Error  # noqa: PLC0415

    try:
        option = load_option_to_text(data)
    except Error as exc:
        return f"{name}? <cannot decode: {exc}>"  # what BootManager reports for it
    mark = "*" if option.attributes & LoadOptionAttributes.ACTIVE else " "
    return f"{name}{mark} " + entry_line(option.description, option.paths, option.optional_data)


def _status_lines(status: BootStatus) -> list[str]:
    """The efibootmgr-style header: BootCurrent, BootNext, Timeout, BootOrder."""
    lines = []
    kind = status.kind
    problems = {p.split(":", 1)[0]: p.split(":", 1)[1].strip() for p in status.problems}
    if kind is OptionKind.BOOT:
        for name, value in (("BootCurrent", status.boot_current), ("BootNext", status.boot_next)):
            if value is not None:
                lines.append(f"{name}: {format_number(value)}")
            elif name in problems:
                lines.append(f"{name}: <{problems[name]}>")
        if status.timeout is not None:
            lines.append(f"Timeout: {status.timeout} seconds")
        elif "Timeout" in problems:
            lines.append(f"Timeout: <{problems['Timeout']}>")
    order_name = kind.order_name
    if order_name is not None:
        if status.order is not None:
            lines.append(f"{order_name}: " + ",".join(format_number(n) for n in status.order))
        elif order_name in problems:
            lines.append(f"{order_name}: <{problems[order_name]}>")
        elif kind is OptionKind.BOOT:
            lines.append("No BootOrder is set; firmware will attempt recovery")
    return lines


# ---- commands ---------------------------------------------------------------------------

@click.group()
def boot() -> None:
    """Boot entries (Boot####), BootOrder, BootNext, BootCurrent, Timeout.

    Entry numbers are hex, as efibootmgr prints them: 0001, 1, 000A or Boot0001. Wherever a
    command takes one, --label TEXT (exact) or --path LOADER (the loader's file path,
    case-insensitive) names the entry instead.
    """


@boot.command("list")
@click.option("-v", "--verbose", is_flag=True, help="Device paths and optional data too "
              "(like efibootmgr -v).")
@kind_option()
@json_option
def list_cmd(verbose: bool, kind_name: str, as_json: bool) -> None:
    """List entries with BootCurrent, BootNext, Timeout and BootOrder.

    An entry that cannot be read or decoded is shown as `Boot####? <reason>` and skipped.
    """
    manager = _manager()
    # labels only: skip the typed device-path codec (its import dominates start-up); -v
    # renders each entry from its bytes (entry_line)
    status = manager.status(OptionKind.parse(kind_name), decode=as_json)
    if as_json:
        echo_json(status_json(status, manager.store.source, manager.store.kind))
        return
    lines = _status_lines(status)
    lines.extend(entry_line(e, verbose) for e in status.entries)
    click.echo("\n".join(lines))


@boot.command("show")
@entry_selector()
@kind_option()
@click.option("--display-only", is_flag=True, help="Short device-path form (UEFI Shell).")
@json_option
def show(number: str | None, select_label: str | None, select_path: str | None,
         kind_name: str, display_only: bool, as_json: bool) -> None:
    """Show every field of one entry (N, --label or --path)."""
    kind = OptionKind.parse(kind_name)
    manager = _manager()
    entry = manager.entry(_selected(manager, kind, number, select_label, select_path), kind)
    order: tuple[int, ...] | None = None
    if kind.order_name:
        try:
            order = manager.order(kind)
        except Exception:  # noqa: BLE001 - an unreadable order list must not hide the entry
            order = None
    if as_json:
        echo_json(entry_json(entry, order))
        return
    click.echo("\n".join(_show_lines(entry, order, display_only)))


def _show_lines(entry: BootEntry, order: tuple[int, ...] | None,
                display_only: bool) -> list[str]:
    lines = [entry.name]
    var = entry.variable
    if var is not None:
        lines.append(f"  variable:      {var.name}-{var.vendor} ({var.attributes.short()})")
    option = entry.option
    if option is None:
        lines.append(f"  error:         {entry.error}")
        if var is not None:
            lines.append(f"  data:          0x{var.data.hex()}")
        return lines
    yes = {True: "yes", False: "no"}
    category = {0: "boot", 1: "application"}.get(option.category, f"reserved ({option.category})")
    lines += [
        f"  label:         {option.description}",
        f"  active:        {yes[option.active]}",
        f"  hidden:        {yes[option.hidden]}",
        f"  category:      {category}",
        f"  attributes:    0x{int(option.attributes):08X}",
    ]
    for index, path in enumerate(option.file_paths):
        head = "device path:" if index == 0 else f"path {index}:"
        lines.append(f"  {head:<14} {path.to_text(display_only)}")
    if option.optional_data:
        text = option.optional_data_text()
        lines.append(f"  optional data: {text!r}" if text is not None
                     else f"  optional data: 0x{option.optional_data.hex()}")
    if entry.kind.order_name:
        where = (f"position {order.index(entry.number) + 1}" if order and entry.number in order
                 else "not listed")
        lines.append(f"  {entry.kind.order_name}:{'':<{13 - len(entry.kind.order_name)}} {where}")
    return lines


# -- building load options

def _optional_data(data_text: str | None, data_hex: str | None,
                   data_file: str | None) -> bytes | None:
    given = [v for v in (data_text, data_hex, data_file) if v is not None]
    if len(given) > 1:
        raise UsageError("give only one of --data, --data-hex, --data-file")
    if data_text is not None:
        from efikit.codec.ucs2 import encode_ucs2  # noqa: PLC0415

        return encode_ucs2(data_text)
    if data_hex is not None:
        from efikit.cli.common import read_hex_or_file  # noqa: PLC0415

        return read_hex_or_file(data_hex)
    if data_file is not None:
        from efikit.cli.common import read_hex_or_file  # noqa: PLC0415

        return read_hex_or_file("@" + data_file)  # '-' reads stdin
    return None


def _device_path(text: str | None, disk: str | None, part: int | None,
                 loader: str | None, dialect: str = "edk2") -> Any:
    """A DevicePath from --device-path (read in ``dialect``), or from --disk/--part/--loader;
    None if neither."""
    from efikit.codec.devpath import DevicePath, FilePathNode  # noqa: PLC0415

    if text is not None:
        if disk is not None or part is not None or loader is not None:
            raise UsageError("give --device-path or --disk/--part/--loader, not both")
        path = DevicePath.from_text(text, dialect=dialect)
        if not path.nodes:
            raise UsageError("--device-path is empty")
        return path
    if disk is None and part is None and loader is None:
        return None
    if disk is None or part is None or loader is None:
        raise UsageError("--disk, --part and --loader go together")
    from efikit.disk.gpt import find_partition  # noqa: PLC0415

    loader_path = loader.replace("/", "\\")
    if not loader_path.startswith("\\"):
        loader_path = "\\" + loader_path
    partition = find_partition(disk, part)
    return DevicePath((partition.hd_node(), FilePathNode(loader_path)))


def _keep_lossy_path(manager: Any, number: int, kind: OptionKind, path: Any) -> Any:
    """``path``, or the entry's current first device path when ``path`` is that path's own
    text read back: a path whose text does not carry all its bytes (see
    DevicePath.text_round_trips) is never rewritten by passing its text around."""
    from efikit.errors import Error  # noqa: PLC0415

    try:
        current = manager.option(number, kind).file_paths
    except Error:
        return path
    if not current or current[0].to_bytes() == path.to_bytes() \
            or current[0].to_text() != path.to_text() or current[0].text_round_trips():
        return path
    click.echo("efikit: warning: --device-path is the text of the entry's device path, which "
               "does not carry all of its bytes; its bytes are kept", err=True)
    return current[0]


def path_options(func: F) -> F:
    for decorator in reversed([
        click.option("--device-path", "device_path", metavar="TEXT",
                     help="Device path text, e.g. 'HD(1,GPT,<guid>,0x800,0x100000)/"
                     "\\EFI\\x\\y.efi'."),
        TEXT_FROM_OPTION,
        click.option("--disk", metavar="DEV_OR_IMAGE",
                     help="Build the path from this disk's GPT (with --part and --loader)."),
        click.option("--part", type=int, metavar="N", help="Partition number on --disk."),
        click.option("--loader", metavar="PATH", help="Loader on that partition, "
                     "e.g. '\\EFI\\x\\y.efi'."),
        click.option("--data", "data_text", metavar="TEXT",
                     help="Optional data as text (stored as UCS-2, NUL-terminated)."),
        click.option("--data-hex", metavar="HEX", help="Optional data as hex bytes."),
        click.option("--data-file", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Optional data: the raw bytes of this file."),
    ]):
        func = decorator(func)
    return func


@boot.command("add")
@click.option("--label", "-L", required=True, help="Description shown in the firmware menu.")
@path_options
@click.option("--inactive", is_flag=True, help="Create the entry inactive.")
@click.option("--hidden", is_flag=True, help="Set LOAD_OPTION_HIDDEN.")
@click.option("--first", is_flag=True, help="Put it first in BootOrder (default: last).")
@click.option("--number", metavar="N", help="Use this number instead of the lowest free one.")
@click.option("--allow-duplicate", is_flag=True,
              help="Add a new entry even if one already boots this loader with this data.")
@kind_option(writable=True)
@mutating
def add(label: str, device_path: str | None, text_dialect: str, disk: str | None,
        part: int | None, loader: str | None, data_text: str | None, data_hex: str | None,
        data_file: str | None, inactive: bool, hidden: bool, first: bool,
        number: str | None, allow_duplicate: bool, kind_name: str, dry_run: bool,
        as_json: bool, backup: str | None) -> None:
    """Create an entry at the lowest free number and add it to BootOrder.

    If an entry already boots the same loader with the same optional data, it is reused
    (listed in BootOrder, first with --first) instead of adding a duplicate.
    """
    from efikit.boot.declare import plan_add_or_reuse  # noqa: PLC0415

    kind = OptionKind.parse(kind_name)
    option = _described_option(label, device_path, disk, part, loader, data_text, data_hex,
                                data_file, inactive, hidden, text_dialect)
    manager = _manager()
    chosen = parse_number(number, kind) if number is not None else None
    outcome = plan_add_or_reuse(manager, option, kind, number=chosen, first=first,
                                allow_duplicate=allow_duplicate)
    _run(manager, outcome.plan, dry_run, backup, as_json, outcome.notes,
         **_entry_fields(kind, outcome.number, outcome.action))


def _described_option(label: str, device_path: str | None, disk: str | None,
                      part: int | None, loader: str | None, data_text: str | None,
                      data_hex: str | None, data_file: str | None, inactive: bool,
                      hidden: bool, text_dialect: str = "edk2") -> Any:
    path = _device_path(device_path, disk, part, loader, text_dialect)
    if path is None:
        raise UsageError("give --device-path TEXT or --disk DEV --part N --loader PATH")
    data = _optional_data(data_text, data_hex, data_file) or b""
    from efikit.codec.loadoption import LoadOption  # noqa: PLC0415

    return LoadOption.create(label, path, data, active=not inactive, hidden=hidden)


def _entry_fields(kind: OptionKind, number: int | None, action: str) -> dict[str, Any]:
    """The command-specific part of an add/ensure --json result."""
    return {"entry": None if number is None else kind.variable_name(number),
            "action": action}


@boot.command("ensure")
@click.option("--label", "-L", required=True, help="Description shown in the firmware menu.")
@path_options
@click.option("--inactive", is_flag=True, help="The entry is to be inactive.")
@click.option("--hidden", is_flag=True, help="The entry is to be hidden (LOAD_OPTION_HIDDEN).")
@click.option("--first", is_flag=True, help="The entry is to be first in BootOrder.")
@kind_option(writable=True)
@mutating
def ensure(label: str, device_path: str | None, text_dialect: str, disk: str | None,
           part: int | None, loader: str | None, data_text: str | None, data_hex: str | None,
           data_file: str | None, inactive: bool, hidden: bool, first: bool, kind_name: str,
           dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Make an entry exist exactly as described (and first with --first); "unchanged" when
    it already is.

    The entry made so is the one already booting this loader with this data, else the one
    with this label, else a new one. Its label, active and hidden flags, device path and
    optional data become the given ones; it is listed in BootOrder.
    """
    from efikit.boot.declare import plan_ensure  # noqa: PLC0415

    kind = OptionKind.parse(kind_name)
    option = _described_option(label, device_path, disk, part, loader, data_text, data_hex,
                               data_file, inactive, hidden, text_dialect)
    manager = _manager()
    outcome = plan_ensure(manager, option, kind, first=first)
    name = kind.variable_name(outcome.number) if outcome.number is not None else "entry"
    notes = outcome.notes
    if not as_json:
        notes = (f"{name}: {outcome.action}", *notes) if outcome.action == "unchanged" \
            else notes
    _run(manager, outcome.plan, dry_run, backup, as_json, notes,
         **_entry_fields(kind, outcome.number, outcome.action))


@boot.command("dedupe")
@kind_option(writable=True)
@mutating
def dedupe(kind_name: str, dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Merge entries that boot the same loader with the same optional data.

    The one earliest in BootOrder (else the lowest number) stays; the others leave BootOrder,
    BootNext pointing at one of them points at the kept one, and they are deleted.
    (`boot order dedupe` removes repeated numbers from BootOrder.)
    """
    from efikit.boot.declare import plan_dedupe  # noqa: PLC0415

    kind = OptionKind.parse(kind_name)
    manager = _manager()
    plan, merges = plan_dedupe(manager, kind)
    notes = tuple(f"keep {kind.variable_name(m.kept)}, merge "
                  + ", ".join(kind.variable_name(n) for n in m.removed) for m in merges)
    merged = [{"kept": kind.variable_name(m.kept),
               "removed": [kind.variable_name(n) for n in m.removed]} for m in merges]
    _run(manager, plan, dry_run, backup, as_json, notes, merges=merged)


@boot.command("edit")
@entry_selector(label_flag="--select-label")
@click.option("--label", "-L", help="New description.")
@path_options
@click.option("--no-data", is_flag=True, help="Remove the optional data.")
@click.option("--attributes", metavar="HEX",
              help="Replace the whole LOAD_OPTION attribute word (e.g. 0x1).")
@click.option("--active/--inactive", default=None, help="Set or clear LOAD_OPTION_ACTIVE.")
@click.option("--hidden/--unhidden", default=None, help="Set or clear LOAD_OPTION_HIDDEN.")
@kind_option(writable=True)
@mutating
def edit(number: str | None, select_label: str | None, select_path: str | None,
         label: str | None, device_path: str | None, text_dialect: str, disk: str | None,
         part: int | None, loader: str | None, data_text: str | None, data_hex: str | None,
         data_file: str | None, no_data: bool, attributes: str | None, active: bool | None,
         hidden: bool | None, kind_name: str, dry_run: bool, as_json: bool,
         backup: str | None) -> None:
    """Change an entry in place: only what is given changes (the first device path; other
    paths, unknown attribute bits and the variable's attributes are kept).

    Name the entry by N, --select-label TEXT or --path LOADER (--label is the new label).
    """
    kind = OptionKind.parse(kind_name)
    path = _device_path(device_path, disk, part, loader, text_dialect)
    data = _optional_data(data_text, data_hex, data_file)
    if no_data:
        if data is not None:
            raise UsageError("--no-data conflicts with --data/--data-hex/--data-file")
        data = b""
    from efikit.codec.loadoption import LoadOptionAttributes  # noqa: PLC0415

    attrs = None
    if attributes is not None:
        try:
            attrs = LoadOptionAttributes(int(attributes, 16))
        except ValueError:
            raise UsageError(f"--attributes: not hex: {attributes!r}") from None
    flags: dict[LoadOptionAttributes, bool] = {}
    if active is not None:
        flags[LoadOptionAttributes.ACTIVE] = active
    if hidden is not None:
        flags[LoadOptionAttributes.HIDDEN] = hidden
    if label is None and path is None and data is None and attrs is None and not flags:
        raise UsageError("nothing to change: give --label, --device-path, --data, "
                         "--attributes, --active/--inactive or --hidden/--unhidden")
    manager = _manager()
    target = _selected(manager, kind, number, select_label, select_path)
    if path is not None and device_path is not None:
        path = _keep_lossy_path(manager, target, kind, path)
    plan = manager.plan_edit(target, kind, description=label,
                             device_path=path, optional_data=data, attributes=attrs,
                             flags=flags)
    _run(manager, plan, dry_run, backup, as_json)


@boot.command("rm")
@entry_selector()
@click.option("--missing-ok", is_flag=True,
              help="No such entry is not an error (nothing to do, exit 0).")
@kind_option(writable=True)
@mutating
def rm(number: str | None, select_label: str | None, select_path: str | None,
       missing_ok: bool, kind_name: str, dry_run: bool, as_json: bool,
       backup: str | None) -> None:
    """Delete an entry (even an undecodable one), drop it from BootOrder, and clear BootNext
    if it points to it."""
    kind = OptionKind.parse(kind_name)
    manager = _manager()
    target = _select(manager, kind, number, select_label, select_path, missing_ok=missing_ok)
    if missing_ok and (target is None or manager.find(target, kind, decode=False) is None):
        from efikit.boot.select import EntrySelector  # noqa: PLC0415

        what = EntrySelector(number, select_label, select_path).describe(kind)
        _run(manager, Plan(), dry_run, backup, as_json, (f"no {what}: nothing to do",))
        return
    assert target is not None
    _run(manager, manager.plan_delete(target, kind), dry_run, backup, as_json)


def _flag_command(name: str, flag_name: str, on: bool, help_text: str) -> None:
    @boot.command(name, help=help_text + " Name the entry by N, --label or --path.")
    @entry_selector()
    @kind_option(writable=True)
    @mutating
    def command(number: str | None, select_label: str | None, select_path: str | None,
                kind_name: str, dry_run: bool, as_json: bool, backup: str | None) -> None:
        from efikit.codec.loadoption import LoadOptionAttributes  # noqa: PLC0415

        kind = OptionKind.parse(kind_name)
        manager = _manager()
        flag = LoadOptionAttributes[flag_name]
        target = _selected(manager, kind, number, select_label, select_path)
        _run(manager, manager.plan_set_flag(target, flag, on, kind), dry_run, backup, as_json)


_flag_command("activate", "ACTIVE", True, "Set LOAD_OPTION_ACTIVE.")
_flag_command("deactivate", "ACTIVE", False,
              "Clear LOAD_OPTION_ACTIVE (the firmware skips the entry).")
_flag_command("hide", "HIDDEN", True,
              "Set LOAD_OPTION_HIDDEN (not shown in the firmware's boot menu).")
_flag_command("unhide", "HIDDEN", False, "Clear LOAD_OPTION_HIDDEN.")


# -- BootOrder

@boot.group("order", invoke_without_command=True)
@kind_option(writable=True)
@json_option
@click.pass_context
def order(ctx: click.Context, kind_name: str, as_json: bool) -> None:
    """Show BootOrder (or DriverOrder/SysPrepOrder with --kind), or change it."""
    ctx.ensure_object(dict)
    ctx.obj["order_kind"] = OptionKind.parse(kind_name)
    if ctx.invoked_subcommand is not None:
        return
    _order_show(ctx.obj["order_kind"], as_json)


@order.command("show")
@json_option
def order_show(as_json: bool) -> None:
    """Show the order with each entry's label (the default without a subcommand)."""
    _order_show(_order_kind(), as_json)


def _order_show(kind: OptionKind, as_json: bool) -> None:
    manager = _manager()
    numbers = manager.order(kind)
    names = {n: manager.find(n, kind, decode=False) for n in (numbers or ())}
    if as_json:
        echo_json({
            "name": kind.order_name,
            "order": list(numbers) if numbers is not None else None,
            "entries": [_order_item(n, names[n]) for n in (numbers or ())],
        })
        return
    if numbers is None:
        click.echo(f"{kind.order_name} is not set")
        return
    click.echo(f"{kind.order_name}: " + ",".join(format_number(n) for n in numbers))
    for n in numbers:
        entry = names[n]
        if entry is None:
            click.echo(f"  {kind.variable_name(n)}  <no such entry>")
        else:
            click.echo("  " + entry_line(entry, verbose=False))


def _order_item(number: int, entry: BootEntry | None) -> dict[str, Any]:
    summary = entry.summary if entry is not None else None
    return {"number": number, "number_hex": format_number(number),
            "exists": entry is not None,
            "error": entry.error if entry is not None else None,
            "label": summary.description if summary is not None else None}


def _order_kind() -> OptionKind:
    obj = click.get_current_context().find_object(dict)
    assert obj is not None
    kind: OptionKind = obj["order_kind"]
    return kind


@order.command("set")
@click.argument("numbers", nargs=-1, required=True, metavar="N,N,...",
                shell_complete=_complete_number)
@click.option("--force", is_flag=True, help="Allow numbers that have no entry.")
@mutating
def order_set(numbers: tuple[str, ...], force: bool, dry_run: bool, as_json: bool,
              backup: str | None) -> None:
    """Replace the order (comma- or space-separated numbers)."""
    kind = _order_kind()
    manager = _manager()
    parsed = parse_number_list(" ".join(numbers), kind)
    _run(manager, manager.plan_order_set(parsed, kind, force=force), dry_run, backup, as_json)


def _position(text: str) -> int:
    key = text.strip().lower()
    if key == "first":
        return 0
    if key == "last":
        return -1
    try:
        value = int(key, 10)
    except ValueError:
        raise UsageError(f"--to: expected a position (1 = first), 'first' or 'last', "
                         f"got {text!r}") from None
    if value < 1:
        raise UsageError("--to: positions start at 1")
    return value - 1


@order.command("move")
@entry_selector()
@click.option("--to", "to", required=True, metavar="POS",
              help="1-based position, or 'first' / 'last'.")
@mutating
def order_move(number: str | None, select_label: str | None, select_path: str | None,
               to: str, dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Move an entry (N, --label or --path) to a position (inserting it if it is not
    listed)."""
    kind = _order_kind()
    manager = _manager()
    target = _selected(manager, kind, number, select_label, select_path)
    plan = manager.plan_order_move(target, _position(to), kind)
    _run(manager, plan, dry_run, backup, as_json)


@order.command("dedupe")
@mutating
def order_dedupe(dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Remove repeated numbers (the first occurrence stays); `boot dedupe` merges entries."""
    kind = _order_kind()
    manager = _manager()
    _run(manager, manager.plan_order_dedupe(kind), dry_run, backup, as_json)


@order.command("prune")
@mutating
def order_prune(dry_run: bool, as_json: bool, backup: str | None) -> None:
    """Remove numbers that have no entry variable."""
    kind = _order_kind()
    manager = _manager()
    _run(manager, manager.plan_order_prune(kind), dry_run, backup, as_json)


# -- BootNext, BootCurrent, Timeout

@boot.command("next")
@entry_selector()
@click.option("--clear", is_flag=True, help="Delete BootNext.")
@click.option("--force", is_flag=True, help="Allow a number that has no Boot#### entry.")
@reading_mutating
def next_cmd(number: str | None, select_label: str | None, select_path: str | None,
             clear: bool, force: bool, dry_run: bool, as_json: bool,
             backup: str | None) -> None:
    """Show BootNext, set it to an entry (N, --label or --path: boot it once, on the next
    boot), or --clear it."""
    manager = _manager()
    named = any(v is not None for v in (number, select_label, select_path))
    if not named and not clear:
        value = manager.boot_next()
        if as_json:
            echo_json({"boot_next": value, "boot_next_hex": _hex(value)})
        else:
            click.echo(f"BootNext: {format_number(value)}" if value is not None
                       else "BootNext is not set")
        return
    if named and clear:
        raise UsageError("give an entry or --clear, not both")
    target = None if clear else _select(manager, OptionKind.BOOT, number, select_label,
                                        select_path)
    _run(manager, manager.plan_next(target, force=force), dry_run, backup, as_json)


@boot.command("current")
@json_option
def current(as_json: bool) -> None:
    """Show BootCurrent: the entry the firmware booted this time."""
    manager = _manager()
    value = manager.boot_current()
    if as_json:
        echo_json({"boot_current": value, "boot_current_hex": _hex(value)})
        return
    click.echo(f"BootCurrent: {format_number(value)}" if value is not None
               else "BootCurrent is not set")


@boot.command("timeout")
@click.argument("seconds", type=click.IntRange(0, 0xFFFF), required=False)
@click.option("--clear", is_flag=True, help="Delete Timeout (the firmware default applies).")
@reading_mutating
def timeout(seconds: int | None, clear: bool, dry_run: bool, as_json: bool,
            backup: str | None) -> None:
    """Show or set the boot-menu Timeout in seconds (0xFFFF: wait for the user)."""
    manager = _manager()
    if seconds is None and not clear:
        value = manager.timeout()
        if as_json:
            echo_json({"timeout": value})
        else:
            click.echo(f"Timeout: {value} seconds" if value is not None else "Timeout is not set")
        return
    if seconds is not None and clear:
        raise UsageError("give SECONDS or --clear, not both")
    _run(manager, manager.plan_timeout(None if clear else seconds), dry_run, backup, as_json)
