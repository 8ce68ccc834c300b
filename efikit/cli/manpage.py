"""Man pages generated from the click commands themselves: efikit(1) and efikit-GROUP(1).

``python -m efikit.cli.manpage DIR`` (``make man``) writes them; a test regenerates them and
compares with the committed ``man/`` pages, so help text and man pages cannot drift apart.
The output depends only on the commands and the version (no dates), so it is reproducible.
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

from efikit import __version__
from efikit.cli.exit_codes import EXIT_CODES

_MANUAL = "efikit manual"


def _escape(text: str) -> str:
    """Plain text to troff: backslashes, hyphens, and control characters at line starts."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _paragraphs(help_text: str | None) -> list[str]:
    """click help text as troff paragraphs (blank-line separated; click's \\b blocks kept
    as they are written)."""
    if not help_text:
        return []
    out: list[str] = []
    for block in inspect.cleandoc(help_text).split("\n\n"):
        block = block.strip("\n")
        if block.startswith("\b"):
            out.append(".nf\n" + _escape(block[1:].strip("\n")) + "\n.fi")
        else:
            out.append(_escape(" ".join(block.split())))
    return out


def _section(title: str) -> str:
    return f'.SH "{title}"'


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    lines = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or "--help" in param.opts:
            continue  # arguments are in the usage line; --help is everywhere
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines.append(".TP")
        lines.append(f"\\fB{_escape(names)}\\fR")
        lines.append(_escape(" ".join(help_text.split())) if help_text else "")
    return lines


def _usage(command: click.Command, ctx: click.Context) -> str:
    return " ".join(command.collect_usage_pieces(ctx))


def _title(name: str, summary: str) -> list[str]:
    upper = name.upper()
    return [f'.TH "{upper}" "1" "" "efikit {__version__}" "{_MANUAL}"',
            _section("NAME"), f"{_escape(name)} \\- {_escape(summary)}"]


def _subcommands(group: click.Group, ctx: click.Context) -> list[tuple[click.Command,
                                                                      click.Context]]:
    """Every command below ``group``, depth first, each with its own context."""
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub_ctx = click.Context(command, info_name=name, parent=ctx)
        found.append((command, sub_ctx))
        if isinstance(command, click.Group):
            found.extend(_subcommands(command, sub_ctx))
    return found


def group_page(root: click.Group, name: str) -> str:
    root_ctx = click.Context(root, info_name="efikit", **root.context_settings)
    group = root.get_command(root_ctx, name)
    assert isinstance(group, click.Group)
    ctx = click.Context(group, info_name=name, parent=root_ctx)
    lines = _title(f"efikit-{name}", group.get_short_help_str(limit=200))
    lines += [_section("SYNOPSIS"), f"\\fBefikit\\fR [\\fB\\-\\-vars\\fR \\fISOURCE\\fR] "
              f"\\fB{name}\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]"]
    lines += [_section("DESCRIPTION"), *_join(_paragraphs(group.help))]
    group_options = _options(group, ctx)
    if group_options:
        lines += [_section("OPTIONS"), *group_options]
    lines.append(_section("COMMANDS"))
    for command, sub_ctx in _subcommands(group, ctx):
        path = sub_ctx.command_path
        lines.append(f'.SS "{_escape(path)} {_escape(_usage(command, sub_ctx))}"')
        lines += _join(_paragraphs(command.help))
        lines += _options(command, sub_ctx)
    lines += _common_tail("efikit(1)")
    return "\n".join(lines) + "\n"


def _join(paragraphs: list[str]) -> list[str]:
    out: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        if index:
            out.append(".PP")
        out.append(paragraph)
    return out


def _common_tail(see_also: str) -> list[str]:
    lines = [_section("EXIT STATUS")]
    for code, meaning in EXIT_CODES:
        lines += [".TP", f"\\fB{code}\\fR", _escape(meaning)]
    lines += [_section("ENVIRONMENT"), ".TP", "\\fBEFIKIT_VARS\\fR",
              _escape("The variable store when --vars is not given (an efivarfs directory, an "
                      "edk2 .fd varstore or a .json export); default "
                      "/sys/firmware/efi/efivars."),
              _section("SEE ALSO"), _escape(see_also)]
    return lines


def main_page(root: click.Group) -> str:
    ctx = click.Context(root, info_name="efikit", **root.context_settings)
    lines = _title("efikit", "EFI boot entries, device paths, varstores and PE loaders")
    lines += [_section("SYNOPSIS"),
              "\\fBefikit\\fR [\\fB\\-\\-vars\\fR \\fISOURCE\\fR] \\fIGROUP\\fR \\fICOMMAND\\fR "
              "[\\fIOPTIONS\\fR]",
              _section("DESCRIPTION"), *_join(_paragraphs(root.help)),
              ".PP",
              _escape("Every command that reads takes --json; every command that writes takes "
                      "--dry-run and --json (the changes it applied or would apply, each with "
                      "its value before and after). Write commands are safe to re-run: with the "
                      "same arguments the second run changes nothing (boot add "
                      "--allow-duplicate excepted; slot rollback with a trial pending cancels "
                      "it, and run again puts the other slot first)."),
              _section("OPTIONS"), *_options(root, ctx), _section("COMMANDS")]
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert command is not None
        lines += [".TP", f"\\fBefikit {name}\\fR", _escape(command.get_short_help_str(200))
                  + f" See \\fBefikit\\-{name}\\fR(1)."]
    lines += [_section("SHELL COMPLETION"),
              _escape("Completion of commands, options, entry numbers and labels (read from "
                      "the store named by --vars or EFIKIT_VARS):"),
              ".PP", ".nf",
              _escape('bash: eval "$(_EFIKIT_COMPLETE=bash_source efikit)"'),
              _escape('zsh:  eval "$(_EFIKIT_COMPLETE=zsh_source efikit)"'),
              _escape("fish: _EFIKIT_COMPLETE=fish_source efikit | source"),
              ".fi"]
    groups = ", ".join(f"efikit-{n}(1)" for n in root.list_commands(ctx))
    lines += _common_tail(groups + ", efibootmgr(8)")
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """File name -> troff source, for efikit(1) and every command group."""
    from efikit.cli.main import cli  # noqa: PLC0415

    assert isinstance(cli, click.Group)
    pages = {"efikit.1": main_page(cli)}
    ctx = click.Context(cli, info_name="efikit", **cli.context_settings)
    for name in cli.list_commands(ctx):
        if isinstance(cli.get_command(ctx, name), click.Group):
            pages[f"efikit-{name}.1"] = group_page(cli, name)
    return pages


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        target = directory / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "man")):
        print(path)
