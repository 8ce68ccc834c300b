#ifndef EFIKIT_NATIVE_H
#define EFIKIT_NATIVE_H
#include <stddef.h>
#include <stdint.h>

/* Everything between the CDEF markers is what cffi sees (native/build_codec.py), so it
 * must stay plain declarations. efikit/codec/_backend.py is the only Python caller. */
/* CDEF-BEGIN */
int efikit_native_abi_version(void);

/* Frame ONE device path in data[start:end] (the same walk as framing.py); end must not
 * exceed the buffer (start > end is reported as framing.py reports it).
 * On success returns the number of nodes n >= 1 (End-Entire included), writes
 * 4 uint32 per node (offset, type, subtype, length) to frames and the offset just
 * past the End node to *pos. On a framing fault returns -code (the ERR_* codes of
 * framing.py) with the fault offset in *pos. Returns -100 when more than
 * max_frames nodes would be needed (nothing is guaranteed about frames then). */
int efikit_frame_nodes(const uint8_t *data, size_t start, size_t end,
                       uint32_t *frames, size_t max_frames, size_t *pos);

/* Render a whole device path (exactly data[0:len], as DevicePath.from_bytes) to edk2
 * text in UTF-8. registered is a 65536-bit map, bit (type << 8 | subtype) set when the
 * Python codec has a decoder for that pair (unregistered pairs print as raw nodes).
 * Returns the text length (>= 0); -1 when a node must be left to Python; -2 when out_cap
 * is too small; -11..-14 a framing error (-10 - framing.py's ERR_* code) and -15 bytes
 * after the End node, with the fault offset in *err_offset. */
int efikit_devpath_to_text(const uint8_t *data, size_t len, int display_only,
                           const uint8_t *registered, char *out, size_t out_cap,
                           size_t *err_offset);

/* LoadOption.from_bytes plus to_text of each device path. Returns 0 with info[0] the
 * attributes, info[1] the offset where the optional data starts and info[2] the output
 * length; the output is the description, then for each device path a NUL and its text
 * (UTF-8). -1 for anything the Python codec must decide (every error included), -2 when
 * out_cap is too small. */
int efikit_load_option_to_text(const uint8_t *data, size_t len, int display_only,
                               const uint8_t *registered, char *out, size_t out_cap,
                               size_t *info);

/* Parse canonical device-path text (UTF-8) into binary, End-Entire node included.
 * keywords: bit i set when the Python codec has a parser for the i-th keyword of
 * native/devpath_parse.c (a keyword Python does not know is a file name there).
 * Returns the binary length (>= 0); -1 for anything the Python parser must do (other
 * spellings, omitted arguments, errors, other keywords); -2 when out_cap is too small. */
int efikit_devpath_from_text(const char *text, size_t len, uint32_t keywords, uint8_t *out,
                             size_t out_cap);
long long efikit_bench_from_text(const char *blob, const uint32_t *offsets, size_t count,
                                 long iterations, uint32_t keywords);

/* The same two renderers with their constant arguments in one per-thread context, so
 * that a call from Python converts four arguments instead of seven (measured: the
 * argument conversions are a third of a native call's cost). */
typedef struct {
    const uint8_t *registered;
    char *out;
    size_t out_cap;
    size_t err_offset;
    size_t info[3];
} efikit_ctx;
int efikit_ctx_devpath_to_text(efikit_ctx *ctx, const uint8_t *data, size_t len,
                               int display_only);
int efikit_ctx_load_option_to_text(efikit_ctx *ctx, const uint8_t *data, size_t len,
                                   int display_only);

/* Benchmark limit: `iterations` times over `count` buffers (blob[offsets[i]:offsets[i+1]]),
 * device paths or (load_options) load options, render each to text without any Python
 * object. Returns the total number of output bytes (so nothing is optimised away), or -1
 * if any buffer was not rendered. Not thread-safe (one static buffer). */
long long efikit_bench_to_text(const uint8_t *blob, const uint32_t *offsets, size_t count,
                               long iterations, int load_options, const uint8_t *registered);
/* CDEF-END */

#define EFIKIT_RENDER_UNSUPPORTED (-1)
#define EFIKIT_NEED_SPACE (-2)
#define EFIKIT_ERR_TRAILING 5

#endif
