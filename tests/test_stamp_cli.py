"""`efikit stamp set/show/clear` end to end, as a build system calls them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from efikit.pe.stamp import read_stamp
from efikit.pe.stamp_format import make_stamp
from test_stamp_support import SIGNED_FIXTURES, UNSIGNED_ALIGNED, Snapshot, work_copy


def efikit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "efikit", "stamp", *args],
                          capture_output=True, text=True)


def test_cli_round_trip(tmp_path: Path) -> None:
    path = work_copy(UNSIGNED_ALIGNED, tmp_path, "boot-b.efi")
    original = path.read_bytes()

    proc = efikit("set", str(path), "--slot", "A", "--meta", "version=1.0")
    assert proc.returncode == 0, proc.stderr
    assert "sbsign drops" in proc.stderr
    assert "slot A" in proc.stdout and "boots slot B" in proc.stderr
    show = efikit("show", str(path))
    assert "slot: A" in show.stdout and "version: 1.0" in show.stdout
    assert "boots slot B" in show.stderr
    proc = efikit("set", str(path), "--slot", "B", "--dry-run")
    assert "would stamp" in proc.stdout and read_stamp(path) == make_stamp("A", {"version": "1.0"})
    out = tmp_path / "copy.efi"
    assert efikit("clear", str(path), "-o", str(out)).returncode == 0
    assert out.read_bytes() == original
    bad = efikit("set", str(path), "--slot", "B", "--meta", "novalue")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_cli_json_on_a_signed_image(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    proc = efikit("set", str(path), "--slot", "a", "--meta", "build=7", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["container"] == "pkcs7-certificate"
    assert document["authenticode_hash"] == "unchanged" and document["checksum"] == "updated"
    assert document["stamp"] == {"version": "1.0", "slot": "A", "meta": {"build": "7"}}
    assert proc.stderr == ""  # signed, and boot-a.efi agrees with slot A
    shown = json.loads(efikit("show", str(path), "--json").stdout)
    assert shown["stamp"]["slot"] == "A" and shown["name_mismatch"] is None


def test_cli_refusal_is_one_line_and_leaves_the_file(tmp_path: Path) -> None:
    path = work_copy(SIGNED_FIXTURES[0], tmp_path)
    with path.open("ab") as f:
        f.write(b"trailing garbage")
    snap = Snapshot.of(path)
    proc = efikit("set", str(path), "--slot", "B")
    assert proc.returncode == 1
    assert proc.stderr.startswith("efikit: error: ") and "not at the end" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert snap.unchanged(path)
    assert efikit("show", str(work_copy(UNSIGNED_ALIGNED, tmp_path))).stdout.endswith("no stamp\n")


def test_name_warning_once_per_command_and_in_json(tmp_path: Path) -> None:
    """The file-name warning: exactly once on stderr for set and show, in text and --json,
    and in the JSON document itself (set's `warnings`, show's `name_mismatch`)."""
    path = work_copy(SIGNED_FIXTURES[0], tmp_path, "boot-a.efi")
    warning = "the stamp says slot B but the file name 'boot-a.efi' boots slot A"
    for args in (("set", str(path), "--slot", "B", "--dry-run"),
                 ("set", str(path), "--slot", "B", "--dry-run", "--json"),
                 ("set", str(path), "--slot", "B"),
                 ("show", str(path)),
                 ("show", str(path), "--json")):
        proc = efikit(*args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count(warning) == 1, (args, proc.stderr)
        assert warning not in proc.stdout or "--json" in args
        if "--json" in args:
            document = json.loads(proc.stdout)
            assert warning in (document.get("warnings") or [document.get("name_mismatch")])
