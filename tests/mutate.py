"""`make mutate`: plant known bugs one at a time and check that the tests catch each one.

Every mutant below is a deliberate bug in a core behaviour: the file, the exact original text
(it must occur exactly once), its replacement, and the test files that must fail with it. The
tool copies the git-tracked tree (plus the built native codec) to a scratch directory, and for
each mutant: plants it, runs only its test files there (``pytest -x``), and puts the original
back. A C mutant rebuilds the native codec in the scratch copy first. The run fails when a
mutant survives (its tests pass) or when the unmutated tests do not pass to begin with.

Run it before resolving an issue that touches a planted area, and add a mutant whenever a new
core behaviour lands.

    .venv/bin/python tests/mutate.py            # every mutant
    .venv/bin/python tests/mutate.py hd- slot-  # only mutants whose name starts so
    .venv/bin/python tests/mutate.py --list
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to the repository
    original: str  # must occur exactly once in the file
    replacement: str
    tests: tuple[str, ...]  # pytest arguments (files, -k expressions)
    why: str  # the behaviour the bug breaks
    pure_python: bool = False  # run with EFIKIT_PURE_PYTHON=1 (the Python codec under test)


MUTANTS: tuple[Mutant, ...] = (
    # --- Authenticode hash ranges (what edk2 measures into PCR 4 and verifies) ---------------
    Mutant("hash-checksum-range", "efikit/pe/authenticode.py",
           "add(0, layout.checksum_offset)\n", "add(0, layout.checksum_offset + 4)\n",
           ("tests/test_pe_authenticode.py",), "the CheckSum field is left out of the hash"),
    Mutant("hash-security-entry-range", "efikit/pe/authenticode.py",
           "add(directory.entry_offset + 8, layout.size_of_headers)",
           "add(directory.entry_offset, layout.size_of_headers)",
           ("tests/test_pe_authenticode.py",),
           "the security directory entry is left out of the hash"),
    Mutant("hash-cert-table-range", "efikit/pe/authenticode.py",
           "trailer_end = layout.file_size - cert_size", "trailer_end = layout.file_size",
           ("tests/test_pe_authenticode.py",), "the certificate table is left out of the hash"),
    Mutant("hash-padded-variant", "efikit/pe/authenticode.py",
           "padding = -trailer_end % PAD_ALIGNMENT if padded else 0", "padding = 0",
           ("tests/test_pe_authenticode.py",), "pesign -P's padded hash pads to 8 bytes"),
    # --- CRC and checksum checks of on-disk structures ----------------------------------------
    Mutant("gpt-header-crc", "efikit/disk/gpt.py",
           "    if actual != crc:\n", "    if False:\n",
           ("tests/test_disk_gpt.py",), "a GPT header with a wrong CRC32 is refused"),
    Mutant("gpt-entries-crc", "efikit/disk/gpt.py",
           "    if actual != header.entries_crc:\n", "    if False:\n",
           ("tests/test_disk_gpt.py",), "a partition array with a wrong CRC32 is refused"),
    Mutant("pe-checksum-adds-size", "efikit/pe/checksum.py",
           "return (folded + layout.file_size) & 0xFFFFFFFF", "return folded & 0xFFFFFFFF",
           ("tests/test_pe_certtable.py",), "the PE CheckSum adds the file length"),
    # --- the slot rule (seed: case-insensitive suffix of the last FILEPATH node) --------------
    Mutant("slot-rule-case", "efikit/codec/slot_rule.py",
           "    lowered = name.lower()\n", "    lowered = name\n",
           ("tests/test_pe_slot.py",), "the suffix match is case-insensitive"),
    Mutant("slot-rule-b-suffix", "efikit/codec/slot_rule.py",
           '{"boot-a.efi": "A", "boot-b.efi": "B"}', '{"boot-a.efi": "A", "boot-b.efi": "A"}',
           ("tests/test_pe_slot.py",), "boot-b.efi is slot B"),
    # --- BootNext in the A/B flow ---------------------------------------------------------------
    Mutant("stage-sets-boot-next", "efikit/slots/operations.py",
           "planner.manager.plan_next(entry.number))", "planner.manager.plan_next(None))",
           ("tests/test_slots_scenarios.py",), "stage ends by setting BootNext to the target"),
    Mutant("stage-clears-pending-boot-next", "efikit/slots/operations.py",
           "    if replace and boot_next is not None and boot_next in targets:\n",
           "    if False:\n",
           ("tests/test_slots_scenarios.py", "tests/test_slots_crash.py",
            "tests/test_slots_cli.py"),
           "stage clears a BootNext aimed at the target before replacing its loader"),
    Mutant("rollback-clears-boot-next", "efikit/slots/operations.py",
           '        planner.add(f"clear BootNext (was {format_number(boot_next)})", '
           "manager.plan_next(None))\n", "        pass\n",
           ("tests/test_slots_scenarios.py",), "rollback cancels a pending trial"),
    Mutant("recover-retargets-boot-next", "efikit/slots/recover.py",
           "manager.plan_next(duplicates[boot_next]))", "manager.plan_next(boot_next))",
           ("tests/test_slots_scenarios.py",), "recover follows a BootNext at a duplicate"),
    Mutant("delete-clears-boot-next", "efikit/boot/manager.py",
           '            if nxt == number:\n                changes.append(self._change("BootNext", '
           "None))\n", "            pass\n",
           ("tests/test_boot_manager.py",), "deleting an entry clears a BootNext at it"),
    # --- stamps: alignment padding and the CheckSum update --------------------------------------
    Mutant("stamp-padding", "efikit/pe/stamp.py",
           "    pad = align8(layout.file_size) - layout.file_size\n", "    pad = 0\n",
           ("tests/test_stamp_file.py",), "the certificate table starts 8-byte aligned"),
    Mutant("stamp-checksum-size", "efikit/pe/stamp.py",
           'return ((total or _MOD) + new_size) & 0xFFFFFFFF, "updated"',
           'return ((total or _MOD) + layout.file_size) & 0xFFFFFFFF, "updated"',
           ("tests/test_stamp_file.py",), "a stamped file's CheckSum counts its new length"),
    # --- HD() text, in both renderers -----------------------------------------------------------
    Mutant("hd-text-python", "efikit/codec/devpath/nodes_media.py",
           '"HD(%d,GPT,%s,0x%X,0x%X)" % (number, guid_text(signature), start, size)',
           '"HD(%d,GPT,%s,0x%X,0x%X)" % (number, guid_text(signature), size, start)',
           ("tests/test_devpath_golden.py", "tests/test_devpath_corpus.py"),
           "HD(n,GPT,guid,start,size) as edk2 prints it", pure_python=True),
    Mutant("hd-text-native", "native/devpath_text.c",
           "            out_hex_width(o, rd32(p + 20), 8);\n",
           "            out_hex_width(o, rd32(p + 20), 4);\n",
           ("tests/test_native_render.py",), "HD(n,MBR,0x%08X,...) in the C renderer"),
    # --- efivarfs: the 4-byte attribute word in front of the data -------------------------------
    Mutant("efivarfs-attribute-prefix-write", "efikit/vars/efivarfs.py",
           "        payload = struct.pack(\"<I\", attrs) + bytes(data)\n",
           "        payload = bytes(data)\n",
           ("tests/test_vars_efivarfs.py",), "efivarfs writes start with the attribute word"),
    Mutant("efivarfs-attribute-prefix-read", "efikit/vars/efivarfs.py",
           "return Variable(name, vendor, attributes, raw[4:])",
           "return Variable(name, vendor, attributes, raw)",
           ("tests/test_vars_efivarfs.py",), "efivarfs reads strip the attribute word"),
    # --- load-option attribute bits --------------------------------------------------------------
    Mutant("load-option-hidden-bit", "efikit/codec/loadoption_header.py",
           "    HIDDEN = 0x00000008\n", "    HIDDEN = 0x00000004\n",
           ("tests/test_boot_attributes.py",), "LOAD_OPTION_HIDDEN is 0x8 (UEFI 2.10, 3.1.3)"),
    Mutant("load-option-keeps-unknown-bits", "efikit/codec/loadoption.py",
           "int(self.attributes) & ~int(flag)", "self.attributes & ~flag",
           ("tests/test_boot_attributes.py",), "deactivate/unhide keep unknown attribute bits"),
    # --- data-driven tables must not shrink silently ---------------------------------------------
    Mutant("golden-table-truncated", "tests/corpus/text/edk2-text-golden.tsv",
           '\nUsbWwid(0x0,0x0,0x0,"A")\t', '\n#UsbWwid(0x0,0x0,0x0,"A")\t',
           ("tests/test_devpath_golden.py",), "a lost row of the edk2 golden table fails"),
)


def _copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    files += [p.relative_to(REPO).as_posix() for p in (REPO / "efikit").glob("_native*.so")]
    for name in files:
        source = REPO / name
        if not name or not source.is_file():
            continue  # deleted in the work tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _env(copy: Path, pure_python: bool) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    env.pop("EFIKIT_PURE_PYTHON", None)
    if pure_python:
        env["EFIKIT_PURE_PYTHON"] = "1"
    return env


def _pytest(copy: Path, args: tuple[str, ...], pure_python: bool) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-p",
               "no:cacheprovider", "-m", "not firmware", *args]
    return subprocess.run(command, cwd=copy, env=_env(copy, pure_python), capture_output=True,
                          text=True)


def _build_native(copy: Path) -> None:
    """Compiles the (mutated) C sources into the copy's efikit/, ahead of the prebuilt one."""
    done = subprocess.run([sys.executable, "native/build_codec.py"], cwd=copy,
                          env=_env(copy, False), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"native build failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _plant(copy: Path, mutant: Mutant) -> str:
    path = copy / mutant.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.original)
    if count != 1:
        raise SystemExit(f"{mutant.name}: the original text occurs {count} times in "
                         f"{mutant.file} (expected once): update the mutant list")
    path.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")
    return text


def _rebuilt_files(copy: Path) -> list[Path]:
    return [p for p in (copy / "efikit").glob("_native*") if p.name != "_native.abi3.so"]


def _baseline_runs(mutants: tuple[Mutant, ...]) -> list[tuple[bool, tuple[str, ...]]]:
    """The unmutated runs: one over all plain test files (per codec), plus each mutant's own
    arguments where they select tests (-k)."""
    runs: list[tuple[bool, tuple[str, ...]]] = []
    for pure in (False, True):
        files = sorted({t for m in mutants if m.pure_python == pure for t in m.tests
                        if all(a.startswith("tests/") for a in m.tests)})
        if files:
            runs.append((pure, tuple(files)))
    for m in mutants:
        if not all(a.startswith("tests/") for a in m.tests) and (m.pure_python, m.tests) not in runs:
            runs.append((m.pure_python, m.tests))
    return runs


def run(mutants: tuple[Mutant, ...]) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="efikit-mutate-") as tmp:
        copy = Path(tmp)
        _copy_tree(copy)
        check = subprocess.run([sys.executable, "-c", "import efikit; print(efikit.__file__)"],
                               cwd=copy, env=_env(copy, False), capture_output=True, text=True)
        if not check.stdout.startswith(str(copy)):
            raise SystemExit(f"the scratch copy does not import its own efikit: {check.stdout}")
        for pure, args in _baseline_runs(mutants):
            baseline = _pytest(copy, args, pure)
            if baseline.returncode != 0:
                print(baseline.stdout[-3000:])
                raise SystemExit(f"the unmutated tests fail ({' '.join(args)}): fix them first")
        print(f"baseline green ({time.monotonic() - started:.0f} s); planting "
              f"{len(mutants)} mutant(s)", flush=True)
        survivors = []
        for mutant in mutants:
            begin = time.monotonic()
            original = _plant(copy, mutant)
            try:
                if mutant.file.endswith(".c"):
                    _build_native(copy)
                result = _pytest(copy, mutant.tests, mutant.pure_python)
            finally:
                (copy / mutant.file).write_text(original, encoding="utf-8")
                for built in _rebuilt_files(copy):
                    built.unlink()
            killed = result.returncode != 0
            if not killed:
                survivors.append(mutant)
            print(f"{'killed  ' if killed else 'SURVIVED'} {mutant.name:34} "
                  f"{time.monotonic() - begin:5.1f} s  {mutant.why}", flush=True)
    total = time.monotonic() - started
    print(f"{len(mutants) - len(survivors)} of {len(mutants)} mutants killed in {total:.0f} s")
    for mutant in survivors:
        print(f"survived: {mutant.name} ({mutant.file}): no test in {' '.join(mutant.tests)} "
              f"notices that {mutant.why.lower()} is broken")
    return 1 if survivors else 0


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for mutant in MUTANTS:
            print(f"{mutant.name:34} {mutant.file:40} {' '.join(mutant.tests)}")
        return 0
    chosen = tuple(m for m in MUTANTS if not argv or any(m.name.startswith(a) for a in argv))
    if not chosen:
        print(f"no mutant matches {argv}", file=sys.stderr)
        return 2
    return run(chosen)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
