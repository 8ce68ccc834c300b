"""`pip install .` must succeed without a C compiler and leave efikit on its pure-Python codec."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import REPO_ROOT


def test_install_without_a_c_compiler_falls_back_to_pure_python(tmp_path: Path) -> None:
    target = tmp_path / "site"
    env = dict(os.environ, CC="/bin/false", LDSHARED="/bin/false")
    env.pop("EFIKIT_PURE_PYTHON", None)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO_ROOT)],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert install.returncode == 0, install.stderr
    assert not list((target / "efikit").glob("_native*")), "the C extension was built anyway"

    check = ("from efikit.codec._backend import backend_name\n"
             "from efikit.codec.devpath import DevicePath\n"
             "assert backend_name() == 'python', backend_name()\n"
             "print(DevicePath.from_bytes(bytes.fromhex("
             "'02010c00d041030a000000000101060000017fff0400')).to_text())\n")
    # -S: no .pth files, so this environment's editable efikit cannot shadow the new install;
    # its site-packages still provide click, pefile and the rest.
    site_packages = sysconfig.get_paths()["purelib"]
    run_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), site_packages]))
    run_env.pop("EFIKIT_PURE_PYTHON", None)
    result = subprocess.run([sys.executable, "-S", "-c", check], env=run_env,
                            capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PciRoot(0x0)/Pci(0x1,0x0)"
