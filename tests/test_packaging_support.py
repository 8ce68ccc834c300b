"""Shared helpers for tests/test_packaging.py (clean tree copy, builds, fresh venvs); no tests here.

The artifacts are built once per test session, also under pytest-xdist: the first worker builds
them into the session's shared base directory under a file lock, the others reuse them.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STEP_TIMEOUT = 600
# Left by `make install-test` and test runs in a developer's tree; none may reach the sdist.
BUILD_DEBRIS = ("efikit/_native.c", "efikit/_native.abi3.so", "native/devpath_text.o",
                "build/lib/efikit/__init__.py", ".pytest_cache/README.md")
_RUN_ENV_DROPPED = ("EFIKIT_PURE_PYTHON", "EFIKIT_VARS", "PYTHONPATH", "PYTHONHOME",
                    "VIRTUAL_ENV", "PIP_NO_BUILD_ISOLATION", "CC", "LDSHARED")


@dataclass(frozen=True)
class Artifacts:
    source: Path       # clean copy of the working tree the artifacts were built from
    sdist: Path
    wheel: Path
    wheelhouse: Path   # the wheel, its dependencies and the build requirements


def run(argv: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a step; on failure the assertion shows its command and the end of its output."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=STEP_TIMEOUT, check=False)
    assert done.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {done.returncode}:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _RUN_ENV_DROPPED}
    env.update(extra)
    return env


def copy_working_tree(destination: Path) -> Path:
    """The working tree as a developer has it, minus what git ignores: tracked files with their
    uncommitted changes plus new untracked ones; deleted files stay deleted."""
    listing = run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                   "--exclude-standard"], cwd=REPO)
    for name in sorted(set(filter(None, listing.split("\0")))):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def plant_build_debris(tree: Path) -> None:
    """Make the copy look like a used developer tree: bytecode and in-place build products."""
    run([sys.executable, "-m", "compileall", "-q", "efikit"], cwd=tree)
    for name in BUILD_DEBRIS:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(b"build debris\n")


def build_requirements(sdist: Path) -> list[str]:
    """`[build-system] requires` of the pyproject.toml inside the sdist."""
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/pyproject.toml")
        assert member is not None
        requires: list[str] = tomllib.load(member)["build-system"]["requires"]
    return requires


def build_artifacts(workdir: Path) -> Artifacts:
    """sdist from the copy, wheel from the sdist (`python -m build`'s default), and a wheelhouse
    so that the installs below need no index (and no pip cache that could hold a wheel built by
    an earlier install)."""
    source = copy_working_tree(workdir / "source")
    plant_build_debris(source)
    dist = workdir / "dist"
    run([sys.executable, "-m", "build", "--outdir", dist, source], cwd=workdir)
    (sdist,) = dist.glob("efikit-*.tar.gz")
    (wheel,) = dist.glob("efikit-*.whl")
    wheelhouse = workdir / "wheelhouse"
    run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheelhouse, wheel,
         *build_requirements(sdist)], cwd=workdir)
    return Artifacts(source, sdist, wheel, wheelhouse)


def shared_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """build_artifacts once per session, shared by the xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    workdir = base / "efikit-packaging"
    workdir.mkdir(exist_ok=True)
    with (base / "efikit-packaging.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = workdir / "built"
        if not done.exists():
            for stale in ("source", "dist", "wheelhouse"):
                shutil.rmtree(workdir / stale, ignore_errors=True)
            build_artifacts(workdir)
            done.touch()
    dist = workdir / "dist"
    return Artifacts(workdir / "source", next(dist.glob("efikit-*.tar.gz")),
                     next(dist.glob("efikit-*.whl")), workdir / "wheelhouse")


def fresh_venv(path: Path, with_pip: bool = True) -> Path:
    """A new venv, with the pip and setuptools its Python bundles unless ``with_pip`` is false
    (then pip_install drives it with this interpreter's pip); returns its bin directory."""
    run([sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), path],
        cwd=path.parent)
    return path / "bin"


def installed_version(bin_dir: Path, distribution: str) -> str | None:
    code = (f"import importlib.metadata as m\ntry: print(m.version({distribution!r}))\n"
            "except m.PackageNotFoundError: print('')")
    return run([bin_dir / "python", "-c", code], cwd=bin_dir).strip() or None


def pip_install(bin_dir: Path, target: Path, wheelhouse: Path, **env: str) -> str:
    """pip install into the venv (with its own pip if it has one, else with this interpreter's
    pip through --python), in build isolation, from the wheelhouse only."""
    own_pip = (bin_dir / "pip").exists()
    pip = [bin_dir / "python", "-m", "pip"] if own_pip else [
        sys.executable, "-m", "pip", "--python", bin_dir / "python"]
    return run([*pip, "install", "--no-cache-dir", "--no-index", "--find-links", wheelhouse,
                target], cwd=bin_dir,
               env=clean_environment(PIP_FIND_LINKS=str(wheelhouse), **env))


def source_version(tree: Path) -> str:
    match = re.search(r'^__version__ = "([^"]+)"', (tree / "efikit" / "__init__.py").read_text(),
                      re.MULTILINE)
    assert match, "no __version__ in efikit/__init__.py"
    return match.group(1)
