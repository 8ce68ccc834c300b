"""Chooses the codec backend: the cffi-compiled native module, or pure Python.

This is the only module that imports efikit._native. EFIKIT_PURE_PYTHON=1 forces pure Python.
``native_lib`` is a small Python facade over the compiled functions (None when unavailable);
it speaks in status codes and leaves raising efikit errors to its callers.
"""
from __future__ import annotations

import os
import struct
import threading
from typing import Any, Callable, Sized

EXPECTED_ABI = 7

NodeFrame = tuple[int, int, int, int]
_FRAME = struct.Struct("=IIII")  # offset, type, subtype, length as the C code writes them
_INFO = struct.Struct("@NN")  # efikit_ctx.info[0:2]: attributes, optional-data offset

# Statuses of efikit_devpath_to_text (native/efikit_native.h); 1..4 are framing.py's ERR_*.
STATUS_OK = 0
STATUS_TRAILING = 5
STATUS_UNSUPPORTED = -1
STATUS_NEED_SPACE = -2
_FRAMES_TOO_MANY = -100

_MAX_NATIVE_INPUT = 1 << 31  # offsets travel as uint32 in the C interface
_SCRATCH_TEXT = 1 << 16  # per-thread output buffer of the fast paths


class NativeCodec:
    """Thin, allocation-aware wrappers around efikit._native.lib."""

    def __init__(self, module: Any) -> None:
        self._ffi = module.ffi
        self._lib = module.lib
        self._local = threading.local()  # cffi releases the GIL: one scratch area per thread

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._ffi.new("size_t[2]")
            self._local.scratch = scratch
            self._local.frames = self._ffi.new("uint32_t[]", 4 * 256)
            self._local.frames_cap = 256  # make_frame_nodes relies on this size
            self._local.frames_view = self._ffi.buffer(self._local.frames)
            self._local.text = self._ffi.new("char[]", 4096)
            self._local.text_cap = 4096
            self._local.info = self._ffi.new("size_t[3]")
        return scratch

    def frame_nodes(self, data: bytes, start: int, end: int) -> tuple[int, list[NodeFrame], int]:
        """(0, frames, stop) or (error code, [], fault offset); see framing.py."""
        scratch = self._scratch()
        local = self._local
        count = self._lib.efikit_frame_nodes(data, start, end, local.frames, local.frames_cap,
                                             scratch)
        frames_view = local.frames_view
        if count == _FRAMES_TOO_MANY:
            capacity = (end - start) // 4 + 1
            frames = self._ffi.new("uint32_t[]", 4 * capacity)
            count = self._lib.efikit_frame_nodes(data, start, end, frames, capacity, scratch)
            frames_view = self._ffi.buffer(frames)
        if count < 0:
            return -count, [], scratch[0]
        # struct builds the tuples in C: this is what makes the native walk pay off
        return 0, list(_FRAME.iter_unpack(frames_view[:_FRAME.size * count])), scratch[0]

    def make_frame_nodes(self, fallback: Callable[[bytes, int, int], Any],
                         framing_error: Callable[[int, int], Exception]) -> Callable[..., Any]:
        """A specialised ``frame_nodes(data, start, end)`` (see framing.py): the general
        method above only for unusual arguments, ``fallback`` for non-bytes input."""
        walk = self._lib.efikit_frame_nodes
        local = self._local
        unpack = _FRAME.iter_unpack
        size = _FRAME.size

        def frame_nodes(data: bytes, start: int, end: int) -> tuple[list[NodeFrame], int]:
            if type(data) is not bytes or not 0 <= start <= end <= len(data) \
                    or end >= _MAX_NATIVE_INPUT:
                return fallback(data, start, end)  # type: ignore[no-any-return]
            try:
                frames = local.frames
                scratch = local.scratch
            except AttributeError:
                scratch = self._scratch()
                frames = local.frames
            count = walk(data, start, end, frames, 256, scratch)
            if count > 0:
                return list(unpack(local.frames_view[:size * count])), scratch[0]
            code, found, position = self.frame_nodes(data, start, end)
            if code:
                raise framing_error(code, position)
            return found, position

        return frame_nodes

    def devpath_to_text(self, data: bytes, display_only: bool,
                        registered: bytes) -> tuple[int, str, int]:
        """(status, text, fault offset) for one whole device path; status 0 (text), 1..4
        (framing.py's ERR_*), 5 (bytes after the End node), -1 (left to Python)."""
        scratch = self._scratch()
        need = 8 * len(data) + 64
        text = self._ffi.new("char[]", need)
        status = self._lib.efikit_devpath_to_text(data, len(data), display_only, registered,
                                                  text, need, scratch)
        if status >= 0:
            return STATUS_OK, self._ffi.unpack(text, status).decode("utf-8"), 0
        if status <= -10:
            return -10 - status, "", scratch[0]
        return status, "", scratch[0]

    def load_option_to_text(self, data: bytes, display_only: bool,
                            registered: bytes) -> tuple[int, int, list[str]] | None:
        """(attributes, optional-data offset, [description, path texts...]) or None when
        the Python codec must decide."""
        self._scratch()
        local = self._local
        need = 8 * len(data) + 64
        if need > local.text_cap:
            local.text = self._ffi.new("char[]", need)
            local.text_cap = need
        info = local.info
        status = self._lib.efikit_load_option_to_text(data, len(data), display_only, registered,
                                                      local.text, local.text_cap, info)
        if status != STATUS_OK:
            return None
        return info[0], info[1], self._ffi.unpack(local.text, info[2]).decode("utf-8").split("\0")

    def bench_to_text(self, buffers: list[bytes], iterations: int, load_options: bool,
                      registered: bytes) -> int:
        """The benchmark's C-only limit: render every buffer ``iterations`` times inside C.
        Returns the number of text bytes produced (-1 if some buffer was not rendered)."""
        offsets = [0]
        for buffer in buffers:
            offsets.append(offsets[-1] + len(buffer))
        table = self._ffi.new("uint32_t[]", offsets)
        return int(self._lib.efikit_bench_to_text(b"".join(buffers), table, len(buffers),
                                                  iterations, load_options, registered))

    def _context(self, registered: bytes, count: int) -> tuple[Any, Any, int, memoryview]:
        """This thread's efikit_ctx (and its output buffer) for the registered-node map."""
        ctx = self._ffi.new("efikit_ctx *")
        buf = self._ffi.new("char[]", _SCRATCH_TEXT)
        ctx.out = buf
        ctx.out_cap = _SCRATCH_TEXT
        registered_view = self._ffi.from_buffer("uint8_t[]", registered)
        ctx.registered = registered_view
        # keep what ctx points into alive for as long as the context is in use
        self._local.ctx_owned = (buf, registered_view, registered)
        info = memoryview(self._ffi.buffer(self._ffi.addressof(ctx, "info")))
        pack = (ctx, buf, count, info)
        self._local.ctx_pack = pack
        return pack

    def make_devpath_to_text(self, decoders: Sized, registered_map: Callable[[], bytes],
                             framing_error: Callable[[int, int], Exception],
                             fallback: Callable[[bytes, bool], str]) -> Callable[..., str]:
        """A specialised ``device_path_to_text(data, display_only=False)``: the per-call
        Python work is the point of the native path, so it is kept to a minimum here.
        ``registered_map`` is rebuilt whenever ``decoders`` (the Python registry) grows."""
        render = self._lib.efikit_ctx_devpath_to_text
        unpack = self._ffi.unpack
        local = self._local
        small = (_SCRATCH_TEXT - 64) // 8

        def device_path_to_text(data: bytes, display_only: bool = False) -> str:
            if type(data) is not bytes or len(data) > small:
                status, text, offset = self.devpath_to_text(bytes(data), display_only,
                                                            registered_map())
                if status == STATUS_OK:
                    return text
            else:
                try:
                    ctx, buf, count, _ = local.ctx_pack
                except AttributeError:
                    ctx, buf, count, _ = self._context(registered_map(), len(decoders))
                if count != len(decoders):
                    ctx, buf, count, _ = self._context(registered_map(), len(decoders))
                status = render(ctx, data, len(data), display_only)
                if status >= 0:
                    return unpack(buf, status).decode()  # type: ignore[no-any-return]
                status = -10 - status
                offset = ctx.err_offset
            if 0 < status < STATUS_TRAILING:
                raise framing_error(status, offset)
            return fallback(data, display_only)

        return device_path_to_text

    def make_load_option_to_text(self, decoders: Sized, registered_map: Callable[[], bytes],
                                 fallback: Callable[[bytes, bool], Any],
                                 result: type[tuple[Any, ...]]) -> Callable[..., Any]:
        """A specialised ``load_option_to_text(data, display_only=False)``; ``result`` is
        a NamedTuple class of (attributes, description, paths, optional_data)."""
        new = tuple.__new__
        read_info = _INFO.unpack_from
        render = self._lib.efikit_ctx_load_option_to_text
        unpack = self._ffi.unpack
        local = self._local
        small = (_SCRATCH_TEXT - 64) // 8

        def load_option_to_text(data: bytes, display_only: bool = False) -> Any:
            if type(data) is not bytes or len(data) > small:
                return fallback(bytes(data), display_only)
            try:
                ctx, buf, count, info = local.ctx_pack
            except AttributeError:
                ctx, buf, count, info = self._context(registered_map(), len(decoders))
            if count != len(decoders):
                ctx, buf, count, info = self._context(registered_map(), len(decoders))
            length = render(ctx, data, len(data), display_only)
            if length < 0:
                return fallback(data, display_only)
            texts = unpack(buf, length).decode().split("\0")
            attributes, optional_start = read_info(info)  # 2.5x cheaper than ctx.info[i]
            return new(result, (attributes, texts[0], tuple(texts[1:]), data[optional_start:]))

        return load_option_to_text

    def make_text_to_bytes(self, keyword_mask: Callable[[], int],
                           fallback: Callable[[str], bytes]) -> Callable[[str], bytes]:
        """A specialised ``device_path_text_to_bytes(text)`` (see fastpath.py)."""
        parse = self._lib.efikit_devpath_from_text
        unpack = self._ffi.unpack
        local = self._local
        cap = _SCRATCH_TEXT

        def device_path_text_to_bytes(text: str) -> bytes:
            try:
                encoded = text.encode("utf-8", "surrogatepass")
            except (AttributeError, UnicodeError):
                return fallback(text)
            if len(encoded) > cap // 2:
                return fallback(text)
            try:
                out = local.parse_out
            except AttributeError:
                out = local.parse_out = self._ffi.new("uint8_t[]", cap)
            length = parse(encoded, len(encoded), keyword_mask(), out, cap)
            if length < 0:
                return fallback(text)
            return unpack(self._ffi.cast("char *", out), length)  # type: ignore[no-any-return]

        return device_path_text_to_bytes

    def bench_from_text(self, texts: list[str], iterations: int, keywords: int) -> int:
        """The benchmark's C-only limit for text → bytes (-1 if a text was not parsed)."""
        encoded = [text.encode("utf-8") for text in texts]
        offsets = [0]
        for item in encoded:
            offsets.append(offsets[-1] + len(item))
        table = self._ffi.new("uint32_t[]", offsets)
        return int(self._lib.efikit_bench_from_text(b"".join(encoded), table, len(encoded),
                                                    iterations, keywords))

    @staticmethod
    def accepts(data: object, end: int) -> bool:
        return type(data) is bytes and end < _MAX_NATIVE_INPUT


def _load() -> NativeCodec | None:
    if os.environ.get("EFIKIT_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from efikit import _native  # type: ignore[attr-defined]  # noqa: PLC0415 - optional
    except ImportError:
        return None
    if _native.lib.efikit_native_abi_version() != EXPECTED_ABI:
        return None
    return NativeCodec(_native)


native_lib: NativeCodec | None = _load()


def backend_name() -> str:
    """'native' when the C codec is in use, else 'python'."""
    return "native" if native_lib is not None else "python"
