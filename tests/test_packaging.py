"""The sdist and the wheel, built from a clean copy of the working tree, install into fresh venvs
and run there: with a C compiler on the native codec, without one on the pure-Python codec.

The no-compiler installs run in the venv a user has: its Python's bundled pip and (on 3.11)
setuptools older than 77, which rejects the `license` field. Every install uses build isolation,
as pip does by default, so the build requirements declared in pyproject.toml decide what builds
the package. (The native installs go into venvs without pip, driven by this environment's pip:
the same install, two pip versions covered, and no ensurepip run each time.)
"""
from __future__ import annotations

import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from test_packaging_support import (
    BUILD_DEBRIS,
    Artifacts,
    build_requirements,
    clean_environment,
    copy_working_tree,
    fresh_venv,
    installed_version,
    pip_install,
    run,
    shared_artifacts,
    source_version,
)

from efikit.codec.devpath import DevicePath

pytestmark = pytest.mark.slow

ROUND_TRIP_TEXT = ("PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/"
                   "HD(1,GPT,C7E198DB-EC30-4A23-B0FD-8E2DBC092A01,0x800,0x12C000)/"
                   "\\EFI\\metropolis\\boot-b.efi")
NO_COMPILER = {"CC": "/bin/false", "LDSHARED": "/bin/false"}
# Outside efikit/ (and the generated efikit.egg-info/), the sdist holds exactly these.
SDIST_TOP_LEVEL = {"PKG-INFO", "setup.cfg", "pyproject.toml", "setup.py", "MANIFEST.in",
                   "README.md", "LICENSE"}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    return shared_artifacts(tmp_path_factory)


def sdist_members(sdist: Path) -> set[str]:
    prefix = sdist.name.removesuffix(".tar.gz") + "/"
    with tarfile.open(sdist) as archive:
        names = {m.name for m in archive.getmembers() if m.isfile()}
    assert all(name.startswith(prefix) for name in names), sorted(names)[:5]
    return {name.removeprefix(prefix) for name in names}


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return HeaderParser().parsestr(archive.read(name).decode())


def native_build_inputs(tree: Path) -> set[str]:
    return {"native/build_codec.py", *(f"native/{p.name}" for p in (tree / "native").glob("*.c")),
            *(f"native/{p.name}" for p in (tree / "native").glob("*.h"))}


def package_sources(tree: Path) -> set[str]:
    """The package's modules and the data files pyproject.toml declares for it."""
    with (tree / "pyproject.toml").open("rb") as f:
        data_patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["efikit"]
    modules = {p for p in (tree / "efikit").rglob("*.py") if "__pycache__" not in p.parts}
    data = {p for pattern in data_patterns for p in (tree / "efikit").glob(pattern)}
    return {str(p.relative_to(tree)) for p in modules | data if p.is_file()}


def smoke_check(bin_dir: Path, version: str, backend: str) -> None:
    """`efikit --version`, a devpath encode/decode round trip and the codec backend, run from
    outside the checkout so that only the installed package can answer."""
    env = clean_environment()
    cwd = bin_dir.parent
    assert run([bin_dir / "efikit", "--version"], cwd=cwd, env=env) == \
        f"efikit, version {version}\n"
    encoded = run([bin_dir / "efikit", "devpath", "encode", ROUND_TRIP_TEXT], cwd=cwd,
                  env=env).strip()
    assert encoded == DevicePath.from_text(ROUND_TRIP_TEXT).to_bytes().hex()
    decoded = run([bin_dir / "efikit", "devpath", "decode", encoded], cwd=cwd, env=env)
    assert decoded.strip() == ROUND_TRIP_TEXT
    where, active = run([bin_dir / "python", "-c",
                         "import efikit\nfrom efikit.codec._backend import backend_name\n"
                         "print(efikit.__file__)\nprint(backend_name())"],
                        cwd=cwd, env=env).split()
    assert Path(where).is_relative_to(bin_dir.parent), where
    assert active == backend


def test_sdist_holds_the_build_inputs_and_nothing_else(artifacts: Artifacts) -> None:
    members = sdist_members(artifacts.sdist)
    needed = native_build_inputs(artifacts.source) | package_sources(artifacts.source)
    assert "native/efikit_native.h" in needed and "efikit/py.typed" in needed
    assert not needed - members, f"missing from the sdist: {sorted(needed - members)}"
    outside_package = {m for m in members if not m.startswith(("efikit/", "efikit.egg-info/"))}
    assert outside_package - native_build_inputs(artifacts.source) == SDIST_TOP_LEVEL
    in_package = {m for m in members if m.startswith("efikit/")}
    assert in_package == package_sources(artifacts.source), \
        f"not sources: {sorted(in_package - package_sources(artifacts.source))}"
    assert not [m for m in members if "__pycache__" in m or m.endswith((".pyc", ".so", ".o"))]
    assert not members & set(BUILD_DEBRIS)


def test_wheel_holds_the_package_and_the_native_codec(artifacts: Artifacts) -> None:
    with zipfile.ZipFile(artifacts.wheel) as archive:
        in_package = {n for n in archive.namelist() if n.startswith("efikit/")}
    natives = {n for n in in_package if n.startswith("efikit/_native") and n.endswith(".so")}
    assert len(natives) == 1, sorted(in_package)
    assert in_package - natives == package_sources(artifacts.source)


def test_build_requirements_rule_out_setuptools_without_license_expressions(
        artifacts: Artifacts) -> None:
    """The metadata's `license` is an SPDX expression, which setuptools accepts from 77 on;
    the declared minimum is what makes pip's isolated build fetch such a setuptools."""
    metadata = wheel_metadata(artifacts.wheel)
    assert metadata["License-Expression"] == "MIT"
    requires = {r.name: r for r in map(Requirement, build_requirements(artifacts.sdist))}
    setuptools = requires["setuptools"].specifier
    assert not any(setuptools.contains(old) for old in ("61.0", "69.5.1", "76.1.0")), setuptools
    assert setuptools.contains("77.0.3")
    assert not requires["cffi"].specifier.contains("1.14.6"), requires["cffi"]


def test_wheel_metadata_is_what_a_package_index_shows(artifacts: Artifacts) -> None:
    metadata = wheel_metadata(artifacts.wheel)
    readme = (artifacts.source / "README.md").read_text()
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == readme.strip()
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")], \
        "License classifiers are rejected next to a License-Expression"
    assert {r.split(">=")[0] for r in metadata.get_all("Requires-Dist") or []
            if "extra ==" not in r} == {"pefile", "asn1crypto", "cffi", "click"}


def test_wheel_installs_and_runs_on_the_native_codec(artifacts: Artifacts,
                                                     tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", with_pip=False)
    pip_install(bin_dir, artifacts.wheel, artifacts.wheelhouse)
    smoke_check(bin_dir, source_version(artifacts.source), "native")


def test_sdist_installs_and_compiles_the_native_codec(artifacts: Artifacts,
                                                      tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", with_pip=False)
    pip_install(bin_dir, artifacts.sdist, artifacts.wheelhouse)
    smoke_check(bin_dir, source_version(artifacts.source), "native")


def old_setuptools_venv(path: Path) -> Path:
    """A fresh venv whose own setuptools predates 77 (the bundled one, else pinned down)."""
    bin_dir = fresh_venv(path)
    version = installed_version(bin_dir, "setuptools")
    if version is None or int(version.split(".")[0]) >= 77:
        run([bin_dir / "python", "-m", "pip", "install", "--quiet", "setuptools<77"],
            cwd=path, env=clean_environment())
    version = installed_version(bin_dir, "setuptools")
    assert version is not None and int(version.split(".")[0]) < 77, version
    return bin_dir


@pytest.mark.parametrize("what", ["sdist", "source tree"])
def test_install_without_a_c_compiler_falls_back_to_pure_python(
        artifacts: Artifacts, tmp_path: Path, what: str) -> None:
    """`pip install efikit-X.tar.gz` and `pip install .` without a compiler, in a venv whose
    setuptools is too old for the package's metadata: build isolation brings setuptools >= 77."""
    bin_dir = old_setuptools_venv(tmp_path / "venv")
    # (a fresh copy for `pip install .`: pip builds in the tree it is given)
    target = artifacts.sdist if what == "sdist" else copy_working_tree(tmp_path / "checkout")
    pip_install(bin_dir, target, artifacts.wheelhouse, **NO_COMPILER)
    package = bin_dir.parent / "lib"
    assert not list(package.glob("python3*/site-packages/efikit/_native*")), \
        "the C extension was built anyway"
    smoke_check(bin_dir, source_version(artifacts.source), "python")
