"""Shell completion of entry numbers, labels and loader paths, read from the store.

click completes commands and options by itself (``_EFIKIT_COMPLETE=bash_source efikit``);
these callbacks add the values only the store knows. The store is the one ``--vars`` names on
the command line being completed, else ``$EFIKIT_VARS``, else the running system's efivarfs.
Completion must never fail loudly: any error yields no candidates.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    from efikit.boot.manager import BootEntry


def _entries(ctx: click.Context) -> list[BootEntry]:
    from efikit.boot.manager import BootManager  # noqa: PLC0415
    from efikit.boot.numbers import OptionKind  # noqa: PLC0415
    from efikit.vars.open import open_store  # noqa: PLC0415

    source = ctx.find_root().params.get("vars_source") or os.environ.get("EFIKIT_VARS")
    kind_name = ctx.params.get("kind_name")
    parent = ctx.parent.params.get("kind_name") if ctx.parent is not None else None
    kind = OptionKind.parse(str(kind_name or parent or "boot"))
    return BootManager(open_store(source)).entries(kind)


def _safely(build: object) -> list[CompletionItem]:
    try:
        items = build()  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - a completion that fails must stay silent
        return []
    return list(items)


def complete_entry_number(ctx: click.Context, param: click.Parameter,
                          incomplete: str) -> list[CompletionItem]:
    """Four-digit numbers, each with its label as the description."""
    def build() -> list[CompletionItem]:
        wanted = incomplete.upper()
        return [CompletionItem(f"{e.number:04X}", help=e.option.description if e.option else
                               e.error) for e in _entries(ctx)
                if f"{e.number:04X}".startswith(wanted) or e.name.upper().startswith(wanted)]
    return _safely(build)


def complete_label(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    def build() -> list[CompletionItem]:
        labels = sorted({e.option.description for e in _entries(ctx) if e.option is not None})
        return [CompletionItem(label) for label in labels if label.startswith(incomplete)]
    return _safely(build)


def complete_loader_path(ctx: click.Context, param: click.Parameter,
                         incomplete: str) -> list[CompletionItem]:
    def build() -> list[CompletionItem]:
        paths = set()
        for entry in _entries(ctx):
            first = entry.option.device_path if entry.option is not None else None
            joined = first.file_path() if first is not None else None
            if joined:
                paths.add(joined)
        wanted = incomplete.replace("/", "\\").casefold()
        return [CompletionItem(p) for p in sorted(paths) if p.casefold().startswith(wanted)]
    return _safely(build)
