"""Build script: the native codec is optional.

`cffi_modules` compiles efikit._native from native/; when there is no C compiler (or the
build fails for any other reason) the install goes on and efikit runs on its pure-Python codec.
"""
from __future__ import annotations

import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build C extensions if possible; never fail the install because of them."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "pure Python"
            self._warn(exc)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    @staticmethod
    def _warn(exc: BaseException) -> None:
        print(f"efikit: native codec not built ({exc}); using the pure-Python codec",
              file=sys.stderr)


setup(
    cffi_modules=["native/build_codec.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
