"""cffi builder for efikit._native: declares the C interface and names the C sources.

Run by setup.py (cffi_modules); efikit/codec/_backend.py is the only importer of the result.
"""
from __future__ import annotations

from pathlib import Path

from cffi import FFI

NATIVE_DIR = Path(__file__).resolve().parent

ffibuilder = FFI()
ffibuilder.cdef((NATIVE_DIR / "efikit_native.h").read_text().split("/* CDEF-BEGIN */")[1]
                .split("/* CDEF-END */")[0])
ffibuilder.set_source(
    "efikit._native",
    '#include "efikit_native.h"',
    sources=[str(p.relative_to(NATIVE_DIR.parent)) for p in sorted(NATIVE_DIR.glob("*.c"))],
    include_dirs=[str(NATIVE_DIR.relative_to(NATIVE_DIR.parent))],
    extra_compile_args=["-std=c99", "-O2"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
