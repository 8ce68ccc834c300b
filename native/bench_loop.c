#include "efikit_native.h"
#include "devpath_common.h"

long long efikit_bench_to_text(const uint8_t *blob, const uint32_t *offsets, size_t count,
                               long iterations, const uint8_t *registered)
{
    char buf[65536];
    long long total = 0;
    for (long it = 0; it < iterations; it++) {
        for (size_t i = 0; i < count; i++) {
            out_t o = {buf, 0, sizeof buf, 0};
            size_t err = 0;
            if (render_path(blob + offsets[i], offsets[i + 1] - offsets[i], 0, registered, &o,
                            &err) != 0)
                return -1;
            total += (long long)o.len;
        }
    }
    return total;
}
