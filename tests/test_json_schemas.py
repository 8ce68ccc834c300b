"""Every command's --json output (and `vars export`) validates against its published schema
(efikit/schemas/<command>.schema.json, JSON Schema 2020-12), over the whole corpus and over
generated device paths of every node type the codec decodes.

The commands come from the click group itself: a new command with --json and no schema or no
invocation here fails `test_every_json_command_has_a_schema_and_runs_here`."""
from __future__ import annotations

import json
import shutil
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conftest import CORPUS, REPO_ROOT, require_tool
from efikit.cli.main import cli
from efikit.cli.write_result import JSON_HELP as WRITE_RESULT_JSON_HELP
from efikit.codec.devpath import DevicePath
from efikit.codec.devpath.base import SUBTYPE_END_INSTANCE, TYPE_END, all_node_decoders
from efikit.codec.loadoption import LoadOption
from efikit.vars.open import open_store
from efikit.vars.store import EFI_GLOBAL_VARIABLE
from firmware import oracle
from node_field_schemas import node_classes, updated_common_schema

SCHEMAS = REPO_ROOT / "efikit" / "schemas"
SAMPLE = REPO_ROOT / "fixtures" / "sample-machine"
PE_FIXTURES = sorted((REPO_ROOT / "fixtures" / "pe").glob("*.efi"))
STORES = sorted(p for p in (CORPUS / "efivars").iterdir() if p.is_dir()) \
    + sorted((CORPUS / "varstores").iterdir())
DEVICE_PATH_FILES = sorted((CORPUS / "devicepaths").glob("*.dp"))
LOAD_OPTION_FILES = sorted((CORPUS / "loadoptions").glob("*.bin"))
BOOT_FILE_PREFIXES = ("Boot", "Driver", "SysPrep", "PlatformRecovery")


def _schema_documents() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.schema.json"))}


DOCUMENTS = _schema_documents()
REGISTRY: Registry = Registry().with_resources(
    (name, Resource.from_contents(doc)) for name, doc in DOCUMENTS.items())


def validator(command: str) -> Draft202012Validator:
    return Draft202012Validator(DOCUMENTS[f"{command}.schema.json"], registry=REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def json_commands() -> set[str]:
    """'group sub' names of every command that prints JSON: those with a --json option, and
    `vars export`, whose file is the JSON document."""
    found = {"vars export"}

    def walk(command: click.Command, path: list[str], ctx: click.Context) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name], click.Context(sub, parent=ctx))
        json_options = [p for p in command.params if "--json" in getattr(p, "opts", ())]
        # write commands whose JSON is only the write result: test_write_result_schema.py
        if json_options and getattr(json_options[0], "help", None) != WRITE_RESULT_JSON_HELP:
            found.add(" ".join(path))

    walk(cli, [], click.Context(cli))
    return found


# ---- running the CLI ------------------------------------------------------------------------

def run_json(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


Invocation = tuple[str, list[str]]  # (command name, argv)


def _boot_numbers(store_source: Path) -> list[tuple[str, str]]:
    """(kind, number hex) of every load option variable in a store."""
    store = open_store(str(store_source))
    out = []
    for key in store.list():
        if key.vendor != EFI_GLOBAL_VARIABLE:
            continue  # (Dell's BootFFFx under its own GUID are not load options)
        for prefix in BOOT_FILE_PREFIXES:
            rest = key.name[len(prefix):]
            if key.name.startswith(prefix) and len(rest) == 4 and all(
                    c in "0123456789ABCDEF" for c in rest):
                out.append((prefix.lower(), rest))
    return out


def corpus_invocations() -> Iterator[Invocation]:
    for path in DEVICE_PATH_FILES:
        yield "devpath decode", ["devpath", "decode", f"@{path}", "--json"]
    for path in LOAD_OPTION_FILES:
        yield "loadopt decode", ["loadopt", "decode", f"@{path}", "--json"]
    for store in STORES:
        base = ["--vars", str(store)]
        for kind in ("boot", "driver", "sysprep", "platformrecovery"):
            yield "boot list", [*base, "boot", "list", "--json", "--kind", kind]
        yield "boot list", [*base, "boot", "list", "-v", "--json"]
        for kind, number in _boot_numbers(store):
            yield "boot show", [*base, "boot", "show", number, "--kind", kind, "--json"]
        yield "boot order", [*base, "boot", "order", "--json"]
        yield "boot order show", [*base, "boot", "order", "show", "--json"]
        yield "boot next", [*base, "boot", "next", "--json"]
        yield "boot current", [*base, "boot", "current", "--json"]
        yield "boot timeout", [*base, "boot", "timeout", "--json"]
        yield "vars list", [*base, "vars", "list", "--json"]
        yield "vars export", [*base, "vars", "export", "-"]
        for key in open_store(str(store)).list():
            yield "vars get", [*base, "vars", "get", f"{key.name}-{key.vendor}", "--json"]


def fixture_invocations(tmp_path: Path) -> Iterator[Invocation]:
    for pe in PE_FIXTURES:
        yield "pe inspect", ["pe", "inspect", str(pe), "--json"]
        for alg in ("sha1", "sha256"):
            yield "pe hash", ["pe", "hash", str(pe), "--alg", alg, "--json"]
        yield "pe hash", ["pe", "hash", str(pe), "--padded", "--json"]
        yield "pe slot", ["pe", "slot", str(pe), "--json"]
        yield "stamp show", ["stamp", "show", str(pe), "--json"]
        yield "stamp set", ["stamp", "set", str(pe), "--slot", "B", "--meta", "v=1",
                            "--dry-run", "--json"]
        yield "stamp clear", ["stamp", "clear", str(pe), "--dry-run", "--json"]
    yield "pe slot", ["pe", "slot", r"HD(1,GPT,0E3C42E4-5C5E-4B5A-A05F-2A8A3B9A2C6A,0x800,"
                      r"0x100000)/\EFI\metropolis\boot-b.efi", "--json"]
    stamped = tmp_path / "boot-a.efi"
    shutil.copyfile(PE_FIXTURES[0], stamped)
    run_json(["stamp", "set", str(stamped), "--slot", "B", "--meta", "build=7", "--json"])
    yield "stamp show", ["stamp", "show", str(stamped), "--json"]
    yield "pe inspect", ["pe", "inspect", str(stamped), "--json"]
    yield "stamp clear", ["stamp", "clear", str(stamped), "--json"]
    yield "disk list", ["disk", "list", str(SAMPLE / "disk.img"), "--json"]
    disk, varstore = tmp_path / "disk.img", tmp_path / "OVMF_VARS.fd"
    shutil.copyfile(SAMPLE / "disk.img", disk)
    shutil.copyfile(SAMPLE / "OVMF_VARS.fd", varstore)
    base = ["--vars", str(varstore), "slot"]
    yield "slot status", [*base, "status", "--disk", str(disk), "--json"]
    yield "slot status", [*base, "status", "--json"]
    new = tmp_path / "new.efi"
    shutil.copyfile(REPO_ROOT / "fixtures" / "pe" / "loader-unsigned.efi", new)
    yield "slot stage", [*base, "stage", "B", "--loader", str(new), "--disk", str(disk),
                         "--running", "A", "--dry-run", "--json"]
    yield "slot commit", [*base, "commit", "--disk", str(disk), "--running", "A", "--dry-run",
                          "--json"]
    yield "slot rollback", [*base, "rollback", "--disk", str(disk), "--running", "A",
                            "--dry-run", "--json"]
    yield "slot recover", [*base, "recover", "--disk", str(disk), "--dry-run", "--json"]


def _validate_all(invocations: Iterator[Invocation]) -> Counter[str]:
    counts: Counter[str] = Counter()
    validators: dict[str, Draft202012Validator] = {}
    for command, argv in invocations:
        check = validators.setdefault(command, validator(command.replace(" ", "-")))
        document = run_json(argv)
        errors = sorted(check.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, (f"{' '.join(argv)}: {errors[0].message} at "
                            f"{'/'.join(map(str, errors[0].absolute_path))}")
        counts[command] += 1
    return counts


# ---- tests ----------------------------------------------------------------------------------

def test_schemas_are_valid_draft_2020_12() -> None:
    assert "common.schema.json" in DOCUMENTS and len(DOCUMENTS) >= 20
    for name, document in DOCUMENTS.items():
        Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema", name


def test_node_field_schemas_follow_the_node_classes() -> None:
    """common.schema.json's per-kind `fields` are the node dataclasses' fields with their
    types (regenerate with `python tests/node_field_schemas.py`)."""
    assert DOCUMENTS["common.schema.json"] == updated_common_schema(), \
        "node classes changed: run `python tests/node_field_schemas.py` to update the schema"
    kinds = DOCUMENTS["common.schema.json"]["$defs"]["node"]["properties"]["kind"]["enum"]
    assert {"IPv4Node", "IPv6Node", "HardDriveNode", "RawNode", "VendorNode"} <= set(kinds)
    assert len(kinds) == len(node_classes()) >= 55


def test_a_wrong_field_type_is_caught_by_the_schema() -> None:
    """The per-kind rules bite: an IPv4 field that is not an address fails validation."""
    path = DevicePath.from_text("IPv4(192.168.0.2,TCP,Static,10.0.0.1,10.0.0.254,255.255.255.0)")
    document = run_json(["devpath", "decode", path.to_bytes().hex(), "--json"])
    check = validator("devpath-decode")
    assert not list(check.iter_errors(document))
    document["nodes"][0]["fields"]["gateway"] = "not an address"
    assert list(check.iter_errors(document))
    document["nodes"][0]["fields"]["gateway"] = None
    document["nodes"][0]["fields"]["extra"] = 1
    assert list(check.iter_errors(document))


def test_every_json_command_has_a_schema_and_runs_here(tmp_path: Path) -> None:
    commands = json_commands()
    assert {"boot list", "devpath decode", "vars get", "slot status"} <= commands
    files = {name.removesuffix(".schema.json").replace("-", " ") for name in DOCUMENTS}
    assert commands == files - {"common", "write result"}, "a --json command without a " \
        "schema file, or a schema file without a command"
    exercised = {command for command, _ in corpus_invocations()}
    exercised |= {command for command, _ in fixture_invocations(tmp_path)}
    assert commands == exercised, f"not run by this test: {sorted(commands - exercised)}"


def test_corpus_outputs_validate() -> None:
    counts = _validate_all(corpus_invocations())
    # row-count guard: every corpus file went through its command
    assert counts["devpath decode"] == len(DEVICE_PATH_FILES) == 47
    assert counts["loadopt decode"] == len(LOAD_OPTION_FILES) == 116
    assert len(STORES) == 16
    assert counts["boot list"] == 5 * len(STORES)
    assert counts["vars list"] == counts["vars export"] == counts["boot order"] == len(STORES)
    assert counts["boot show"] == sum(len(_boot_numbers(s)) for s in STORES) >= 100
    assert counts["vars get"] == sum(len(open_store(str(s)).list()) for s in STORES) >= 600


def test_fixture_outputs_validate(tmp_path: Path) -> None:
    require_tool("mcopy", "mdir", "mdel", "mren", "mmd")
    counts = _validate_all(fixture_invocations(tmp_path))
    assert counts["pe inspect"] == len(PE_FIXTURES) + 1 and len(PE_FIXTURES) >= 5
    assert counts["slot status"] == 2


def _generated_paths() -> list[DevicePath]:
    entries, _ = oracle.generate(400)
    return [entry.path for entry in entries]


def test_generated_paths_of_every_node_type_validate() -> None:
    paths = _generated_paths()
    seen = {(node.type_code, node.subtype_code) for path in paths for node in path.nodes}
    known = set(all_node_decoders()) - {(TYPE_END, SUBTYPE_END_INSTANCE)}
    assert not known - seen, f"node types not generated: {sorted(known - seen)}"
    raw_path = bytes((0x03, 0xEE)) + struct.pack("<H", 7) + b"abc" + b"\x7f\xff\x04\x00"
    multi = DevicePath.from_bytes(paths[0].to_bytes()[:-4] + b"\x7f\x01\x04\x00"
                                  + paths[1].to_bytes())
    samples = [p.to_bytes() for p in paths] + [raw_path, multi.to_bytes()]
    kinds: set[str] = set()
    check_path, check_option = validator("devpath-decode"), validator("loadopt-decode")
    for index, data in enumerate(samples):
        document = run_json(["devpath", "decode", data.hex(), "--json"])
        assert not list(check_path.iter_errors(document)), data.hex()
        kinds |= {node["kind"] for node in document["nodes"]}
        option = LoadOption.create(f"generated {index}", DevicePath.from_bytes(data), b"")
        document = run_json(["loadopt", "decode", option.to_bytes().hex(), "--json"])
        assert not list(check_option.iter_errors(document)), data.hex()
    assert {"IPv4Node", "IPv6Node", "RawNode", "EndInstanceNode"} <= kinds
    assert len(samples) >= 400


def test_ip_fields_are_their_text() -> None:
    """The fields that crashed --json (IPv4Address is not JSON serializable) print as text."""
    path = DevicePath.from_text("IPv4(192.168.0.2,TCP,Static,10.0.0.1,10.0.0.254,255.255.255.0)"
                                "/IPv6(2001:db8::2,UDP,Static,fe80::1,64,::)")
    nodes = run_json(["devpath", "decode", path.to_bytes().hex(), "--json"])["nodes"]
    assert nodes[0]["fields"]["remote_address"] == "192.168.0.2"
    assert nodes[0]["fields"]["subnet_mask"] == "255.255.255.0"
    assert nodes[1]["fields"]["local_address"] == "fe80::1"
    assert nodes[1]["fields"]["remote_address"] == "2001:db8::2"
    assert nodes[1]["fields"]["gateway"] == "::"


def _render_types() -> Callable[[Any], Any]:
    from efikit.cli.render import plain
    return plain


def test_plain_covers_field_types_by_type() -> None:
    import enum
    import ipaddress
    import uuid

    class Colour(enum.IntFlag):
        RED = 1

    plain = _render_types()
    assert plain(ipaddress.IPv4Address("1.2.3.4")) == "1.2.3.4"
    assert plain(ipaddress.IPv6Address("::1")) == "::1"
    assert plain(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert plain(Colour(5)) == 5 and plain(True) is True
    assert plain((b"\x01", (2, bytearray(b"\x03")))) == ["01", [2, "03"]]
    assert plain({1: memoryview(b"\xff")}) == {"1": "ff"}


def test_every_node_field_has_a_json_form_by_type() -> None:
    """No field of any generated or corpus node reaches plain()'s last-resort str(): each
    leaf is a type plain() maps on purpose (a new field type must be added there)."""
    import dataclasses
    import enum
    import ipaddress
    import uuid

    explicit = (type(None), bool, str, int, bytes, uuid.UUID, ipaddress.IPv4Address,
                ipaddress.IPv6Address, enum.Enum)
    leaves: Counter[str] = Counter()

    def walk(value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name))
        else:
            assert isinstance(value, explicit), type(value)
            leaves[type(value).__name__] += 1

    paths = _generated_paths() + [DevicePath.from_bytes(p.read_bytes())
                                  for p in DEVICE_PATH_FILES]
    for path in paths:
        for node in path.nodes:
            walk(node)
    assert {"IPv4Address", "IPv6Address", "UUID", "bytes", "int", "str"} <= set(leaves)
