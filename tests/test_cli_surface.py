"""What a person expects around the commands: man pages in step with the help, shell
completion (entry numbers and labels from the store), `python -m efikit`, one exit-code table."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_tool
from efikit.cli.exit_codes import EXIT_CODES
from efikit.cli.manpage import render_all
from test_boot_cli import FWUPD
from test_boot_support import copy_machine

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).parent / "efikit"


def test_man_pages_are_in_step_with_the_commands() -> None:
    pages = render_all()
    committed = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "man").glob("*.1")}
    assert sorted(pages) == sorted(committed), "run `make man`"
    for name, text in pages.items():
        assert text == committed[name], f"man/{name} is stale: run `make man`"


def test_man_pages_render_without_warnings() -> None:
    require_tool("groff")
    for name, text in render_all().items():
        result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=text,
                                capture_output=True, text=True, check=True)
        assert result.stderr == "", (name, result.stderr)


def test_group_page_documents_every_command_and_its_options() -> None:
    text = render_all()["efikit-boot.1"]
    for command in ("add", "ensure", "dedupe", "edit", "rm", "order move", "order set", "next"):
        assert f'.SS "efikit boot {command} ' in text
    assert "\\fB\\-\\-allow\\-duplicate\\fR" in text
    main = render_all()["efikit.1"]
    for code, _ in EXIT_CODES:
        assert f".TP\n\\fB{code}\\fR\n" in main
    assert "_EFIKIT_COMPLETE=bash_source efikit" in main


def test_python_dash_m_is_the_same_command(tmp_path: Path) -> None:
    store = copy_machine(FWUPD, tmp_path)
    for args in (["--version"], ["--vars", str(store), "boot", "list", "-v"],
                 ["--vars", str(store), "boot", "show", "--label", "nope"]):
        module = subprocess.run([sys.executable, "-m", "efikit", *args], capture_output=True,
                                text=True)
        script = subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True)
        assert (module.returncode, module.stdout, module.stderr) == \
            (script.returncode, script.stdout, script.stderr)
    assert module.returncode == 1 and "labelled 'nope'" in module.stderr


def _complete(words: str, env_store: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, _EFIKIT_COMPLETE="bash_complete", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    env.pop("EFIKIT_VARS", None)
    if env_store is not None:
        env["EFIKIT_VARS"] = env_store
    return subprocess.run([str(CONSOLE_SCRIPT)], env=env, capture_output=True, text=True)


def test_completion_of_numbers_labels_and_paths(tmp_path: Path) -> None:
    store = str(copy_machine(FWUPD, tmp_path))
    numbers = _complete(f"efikit --vars {store} boot show ")
    assert numbers.returncode == 0
    assert numbers.stdout.splitlines() == ["plain,0000", "plain,0001", "plain,0002"]
    labels = _complete("efikit boot deactivate --label W", env_store=store)
    assert labels.stdout.splitlines() == ["plain,Windows Boot Manager"]
    paths = _complete(f"efikit --vars {store} boot rm --path /efi/fed")
    assert paths.stdout.splitlines() == ["plain,\\EFI\\fedora\\shimx64.efi"]
    order = _complete(f"efikit --vars {store} boot order set 0001 000")
    assert order.stdout.splitlines() == ["plain,0000", "plain,0001", "plain,0002"]
    driver = _complete(f"efikit --vars {store} boot order --kind driver move ")
    assert driver.stdout.strip() == ""  # no Driver#### entries in this store
    commands = _complete("efikit boot en")
    assert commands.stdout.splitlines() == ["plain,ensure"]


def test_completion_never_fails_loudly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.fd"
    broken.write_bytes(b"not a varstore")
    for store in (str(broken), str(tmp_path / "missing")):
        result = _complete(f"efikit --vars {store} boot show ")
        assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_for_each_shell(shell: str) -> None:
    env = dict(os.environ, _EFIKIT_COMPLETE=f"{shell}_source")
    result = subprocess.run([str(CONSOLE_SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "_EFIKIT_COMPLETE" in result.stdout


def test_exit_code_table_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", readme.split("### Exit codes", 1)[1]
                      .split("\n\n", 2)[1], re.MULTILINE)
    assert [(int(code), text) for code, text in rows] == list(EXIT_CODES)


def _console_blocks(text: str) -> list[list[tuple[str, list[str]]]]:
    """(command, expected output lines) of each ```console block in ``text``."""
    blocks = []
    for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
        steps: list[tuple[str, list[str]]] = []
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            command = lines[index][2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + lines[index].strip()
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            steps.append((command, output))
        blocks.append(steps)
    return blocks


def test_readme_scripting_tour_is_real_output(tmp_path: Path) -> None:
    """The README's ensure / selection / --json examples, run on the ThinkPad T480s corpus
    machine they were written from, print exactly what the README shows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("For scripts and configuration management", 1)[1]
    section = section.split("`boot add --disk IMAGE_OR_DEV", 1)[0]
    blocks = _console_blocks(section)
    assert len(blocks) == 2 and sum(len(b) for b in blocks) >= 8
    machine = REPO / "tests" / "corpus" / "efivars" / "go-uefi-lenovo-thinkpad-t480s"
    shutil.copytree(machine, tmp_path / "efivars")
    env = dict(os.environ, PATH=f"{CONSOLE_SCRIPT.parent}:{os.environ['PATH']}")
    env.pop("EFIKIT_VARS", None)
    for steps in blocks:
        for command, expected in steps:
            done = subprocess.run(["bash", "-c", command + " 2>&1"], cwd=tmp_path, env=env,
                                  capture_output=True, text=True)
            assert done.stdout.splitlines() == expected, command
