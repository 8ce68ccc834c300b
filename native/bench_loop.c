#include "efikit_native.h"
#include "devpath_common.h"

long long efikit_bench_to_text(const uint8_t *blob, const uint32_t *offsets, size_t count,
                               long iterations, int load_options, const uint8_t *registered)
{
    static char buf[1 << 17];
    size_t info[3];
    long long total = 0;
    for (long it = 0; it < iterations; it++) {
        for (size_t i = 0; i < count; i++) {
            const uint8_t *data = blob + offsets[i];
            size_t len = offsets[i + 1] - offsets[i];
            if (load_options) {
                if (efikit_load_option_to_text(data, len, 0, registered, buf, sizeof buf,
                                               info) != 0)
                    return -1;
                total += (long long)info[2];
            } else {
                out_t o = {buf, 0, sizeof buf, 0};
                size_t err = 0;
                if (render_path(data, len, 0, registered, &o, &err) != 0)
                    return -1;
                total += (long long)o.len;
            }
        }
    }
    return total;
}
