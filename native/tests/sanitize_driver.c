/* Standalone driver for the sanitizer build (tests/test_native_sanitizers.py).
 *
 * Input file: the 8192-byte registered-node map, then records of UINT32 length + bytes.
 * For every record it prints one line:
 *   <frame rc> <frame pos> <full status> <full offset> <full text hex> <display status>
 *   <display offset> <display text hex> <load-option status> <attributes> <optional-data
 *   offset> <load-option text hex>
 *   <text status> <binary hex>
 * (the record read as a device path, as a load option, then as device-path text).
 * Every call gets a buffer of exactly the size it may use, so ASan sees any overrun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "efikit_native.h"

static void hex(const char *s, size_t n)
{
    if (n == 0)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)s[i]);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUTS\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    uint8_t *registered = malloc(8192);
    if (!registered || fread(registered, 1, 8192, f) != 8192)
        return 2;
    unsigned char header[4];
    while (fread(header, 1, 4, f) == 4) {
        size_t len = (size_t)header[0] | ((size_t)header[1] << 8) | ((size_t)header[2] << 16) |
                     ((size_t)header[3] << 24);
        uint8_t *data = malloc(len ? len : 1);
        if (!data || fread(data, 1, len, f) != len)
            return 2;
        /* an exact-size copy so that reads past the end are caught */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, data, len);

        size_t max_frames = len / 4 + 1;
        uint32_t *frames = malloc(4 * sizeof(uint32_t) * max_frames);
        size_t pos = 0;
        int frame_rc = efikit_frame_nodes(exact, 0, len, frames, max_frames, &pos);
        printf("%d %zu", frame_rc, pos);
        /* and once with too few slots: must stop cleanly */
        size_t short_pos = 0;
        (void)efikit_frame_nodes(exact, 0, len, frames, 1, &short_pos);

        for (int display = 0; display < 2; display++) {
            size_t cap = 8 * len + 64;
            char *out = malloc(cap);
            size_t err = 0;
            int status = efikit_devpath_to_text(exact, len, display, registered, out, cap,
                                                &err);
            size_t out_len = status > 0 ? (size_t)status : 0;
            printf(" %d %zu ", status >= 0 ? 0 : status <= -10 ? -10 - status : status, err);
            hex(out, out_len);
            /* a buffer that is one byte short must report EFIKIT_NEED_SPACE, not overrun */
            if (out_len > 0) {
                char *tight = malloc(out_len - 1 ? out_len - 1 : 1);
                size_t tight_err = 0;
                int again = efikit_devpath_to_text(exact, len, display, registered, tight,
                                                   out_len - 1, &tight_err);
                if (again != -2) {
                    fprintf(stderr, "short buffer gave status %d\n", again);
                    return 3;
                }
                free(tight);
            }
            free(out);
        }
        {
            size_t cap = 8 * len + 64;
            char *out = malloc(cap);
            size_t info[3] = {0, 0, 0};
            int status = efikit_load_option_to_text(exact, len, 0, registered, out, cap, info);
            printf(" %d %zu %zu ", status, info[0], info[1]);
            hex(out, status == 0 ? info[2] : 0);
            if (status == 0 && info[2] > 0) {
                char *tight = malloc(info[2] - 1 ? info[2] - 1 : 1);
                size_t tight_info[3];
                if (efikit_load_option_to_text(exact, len, 0, registered, tight, info[2] - 1,
                                               tight_info) != -2) {
                    fprintf(stderr, "short load-option buffer did not report -2\n");
                    return 3;
                }
                free(tight);
            }
            free(out);
        }
        {
            size_t cap = 2 * len + 64;
            uint8_t *bin = malloc(cap);
            int n = efikit_devpath_from_text((const char *)exact, len, 0xFFFFFFFFu, bin, cap);
            printf(" %d ", n < 0 ? n : 0);
            hex((const char *)bin, n > 0 ? (size_t)n : 0);
            if (n > 0) {
                uint8_t *tight = malloc((size_t)n - 1);
                if (efikit_devpath_from_text((const char *)exact, len, 0xFFFFFFFFu, tight,
                                             (size_t)n - 1) != -2) {
                    fprintf(stderr, "short text buffer did not report -2\n");
                    return 3;
                }
                free(tight);
            }
            free(bin);
        }
        putchar('\n');
        free(frames);
        free(exact);
        free(data);
    }
    fclose(f);
    free(registered);
    return 0;
}
