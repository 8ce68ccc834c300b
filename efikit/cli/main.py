"""The `efikit` command: a click group whose subcommand groups load on first use.

Each command group lives in its own module under efikit/cli/ and is imported only when it
is invoked, so `efikit boot list` never pays for pefile or asn1crypto.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from efikit import __version__
from efikit.cli.exit_codes import FAILED, INTERRUPTED
from efikit.errors import Error
from efikit.fileio import FileRefused

# command name -> "module:attribute" of its click group
COMMAND_GROUPS: dict[str, tuple[str, str]] = {
    "devpath": ("efikit.cli.devpath_cmd:devpath", "Decode and encode UEFI device paths."),
    "loadopt": ("efikit.cli.loadopt_cmd:loadopt", "Decode and encode EFI load options."),
    "boot": ("efikit.cli.boot_cmd:boot", "Boot entries, BootOrder, BootNext, Timeout."),
    "vars": ("efikit.cli.vars_cmd:vars_group", "EFI variables in any store."),
    "disk": ("efikit.cli.disk_cmd:disk", "GPT partition tables and ESP device paths."),
    "pe": ("efikit.cli.pe_cmd:pe", "Inspect PE/COFF loaders and compute Authenticode hashes."),
    "stamp": ("efikit.cli.stamp_cmd:stamp", "Authenticode stamps: slot and metadata in a loader."),
    "slot": ("efikit.cli.slot_cmd:slot", "A/B slots: status, stage, commit, rollback, recover."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = super().get_command(ctx, cmd_name)
        if known is not None:
            return known
        if cmd_name not in self._available():
            return None
        target, _ = COMMAND_GROUPS[cmd_name]
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMAND_GROUPS[name][1]) for name in self._available()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available() -> list[str]:
        names = []
        for name, (target, _) in COMMAND_GROUPS.items():
            module_name = target.split(":")[0]
            if importlib.util.find_spec(module_name) is not None:
                names.append(name)
        return names


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="efikit")
@click.option(
    "--vars",
    "vars_source",
    envvar="EFIKIT_VARS",
    metavar="SOURCE",
    help="Variable store: an efivarfs directory, an edk2 .fd varstore, or a .json export "
    "(default: $EFIKIT_VARS, else /sys/firmware/efi/efivars).",
)
@click.pass_context
def cli(ctx: click.Context, vars_source: str | None) -> None:
    """efikit: EFI boot entries, device paths, varstores and PE loaders."""
    ctx.ensure_object(dict)
    ctx.obj["vars_source"] = vars_source


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: library errors become one line on stderr and an exit code."""
    _escape_unencodable_output()
    try:
        return cli.main(args=argv, prog_name="efikit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("efikit: aborted", err=True)
        sys.exit(FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Error as exc:
        click.echo(f"efikit: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except FileRefused as exc:  # its reason reads after the name: "X is a FIFO, not ..."
        click.echo(f"efikit: error: {exc.filename} {exc.strerror}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"efikit: error: {exc.strerror or exc}"
                   + (f": {exc.filename}" if exc.filename else ""), err=True)
        sys.exit(FAILED)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)


def _escape_unencodable_output() -> None:
    """Text that the terminal's encoding cannot hold (a lone surrogate in a UCS-2 variable
    name or label, any non-ASCII under LANG=C) prints as a backslash escape, not a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    main()
