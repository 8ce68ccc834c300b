/* Internal helpers shared by the native codec's C files (not part of the cffi interface). */
#ifndef EFIKIT_DEVPATH_COMMON_H
#define EFIKIT_DEVPATH_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KEY(type, subtype) (((unsigned)(type) << 8) | (unsigned)(subtype))

/* Bounded output buffer: writes past cap set overflow instead of writing. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    int overflow;
} out_t;

static inline void out_bytes(out_t *o, const char *s, size_t n)
{
    if (n > o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define OUT_LIT(o, lit) out_bytes((o), (lit), sizeof(lit) - 1)

static inline void out_str(out_t *o, const char *s) { out_bytes(o, s, strlen(s)); }

static inline void out_char(out_t *o, char c)
{
    if (o->len >= o->cap) {
        o->overflow = 1;
        return;
    }
    o->p[o->len++] = c;
}

void out_hex(out_t *o, uint64_t v);
void out_udec(out_t *o, uint64_t v);

int render_nodes(const uint8_t *data, size_t start, size_t end, int display_only,
                 const uint8_t *registered, out_t *o, size_t *stop);
int render_path(const uint8_t *data, size_t len, int display_only, const uint8_t *registered,
                out_t *o, size_t *err_offset);

static inline uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

#endif
