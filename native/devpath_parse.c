/* Canonical device-path text -> binary, for the common node types.
 *
 * Only the exact forms efikit prints are accepted (keywords in their case, every argument
 * present, 0x-hex or decimal numbers, GUIDs as 8-4-4-4-12, nodes separated by '/', instances
 * by ',' or ',/', no blanks around nodes, file paths without parentheses).
 * Anything else (other spellings, defaults, errors, other keywords) returns
 * EFIKIT_RENDER_UNSUPPORTED and the Python parser, the reference, does the work.
 */
#include "efikit_native.h"
#include "devpath_common.h"

enum {
    KW_PCI, KW_PCIROOT, KW_PCIEROOT, KW_FLOPPY, KW_KEYBOARD, KW_SERIAL, KW_PARALLEL, KW_ACPI,
    KW_HD, KW_FV, KW_FVFILE, KW_VENHW, KW_VENMSG, KW_VENMEDIA, KW_USB, KW_SATA, KW_SCSI,
    KW_NVME, KW_ACPIADR, KW_UART, KW_COUNT
};

static const char *const KEYWORDS[KW_COUNT] = {
    "Pci", "PciRoot", "PcieRoot", "Floppy", "Keyboard", "Serial", "ParallelPort", "Acpi",
    "HD", "Fv", "FvFile", "VenHw", "VenMsg", "VenMedia", "USB", "Sata", "Scsi", "NVMe",
    "AcpiAdr", "Uart",
};

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
    int overflow;
} bin_t;

static void put(bin_t *b, const uint8_t *s, size_t n)
{
    if (n > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_le(bin_t *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    put(b, tmp, (size_t)bytes);
}

static void put_header(bin_t *b, unsigned type, unsigned subtype, size_t payload)
{
    uint8_t h[4] = {(uint8_t)type, (uint8_t)subtype, (uint8_t)((payload + 4) & 0xFF),
                    (uint8_t)((payload + 4) >> 8)};
    put(b, h, 4);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "0x<hex>" or "<decimal>", below 2^bits. */
static int parse_uint(const char *s, size_t n, int bits, uint64_t *out)
{
    uint64_t v = 0;
    if (n >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (n - 2 > 16) return -1;
        for (size_t i = 2; i < n; i++) {
            int h = hexval(s[i]);
            if (h < 0) return -1;
            v = (v << 4) | (uint64_t)h;
        }
    } else {
        if (n == 0 || n > 19) return -1;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9') return -1;
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (bits < 64 && v >> bits) return -1;
    *out = v;
    return 0;
}

/* 8-4-4-4-12 hex digits -> EFI GUID bytes. */
static int parse_guid(const char *s, size_t n, uint8_t g[16])
{
    static const uint8_t ORDER[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return -1;
    int k = 0;
    for (size_t i = 0; i < 36; i += 2) {
        if (s[i] == '-') i++;
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        g[ORDER[k++]] = (uint8_t)(hi << 4 | lo);
    }
    return k == 16 ? 0 : -1;
}

#define MAX_ARGS 6

typedef struct {
    const char *s[MAX_ARGS];
    size_t n[MAX_ARGS];
    int count;
} args_t;

static int split_args(const char *s, size_t n, args_t *a)
{
    a->count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            if (a->count == MAX_ARGS) return -1;
            a->s[a->count] = s + start;
            a->n[a->count] = i - start;
            a->count++;
            start = i + 1;
        }
    }
    return 0;
}

static int arg_uint(const args_t *a, int i, int bits, uint64_t *v)
{
    return parse_uint(a->s[i], a->n[i], bits, v);
}

static int lit_eq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(s, lit, n) == 0;
}

static int keyword_node(bin_t *b, int kw, const char *s, size_t n)
{
    args_t a;
    uint64_t v[5];
    uint8_t g[16];
    if (split_args(s, n, &a) != 0) return -1;
    switch (kw) {
    case KW_PCI:
        if (a.count != 2 || arg_uint(&a, 0, 8, &v[0]) || arg_uint(&a, 1, 8, &v[1])) return -1;
        put_header(b, 1, 1, 2);
        put_le(b, v[1], 1);
        put_le(b, v[0], 1);
        return 0;
    case KW_PCIROOT: case KW_PCIEROOT: case KW_FLOPPY: case KW_KEYBOARD: case KW_SERIAL:
    case KW_PARALLEL: {
        static const uint32_t PRODUCT[] = {0x0A03, 0x0A08, 0x0604, 0x0301, 0x0501, 0x0401};
        if (a.count != 1 || arg_uint(&a, 0, 32, &v[0])) return -1;
        put_header(b, 2, 1, 8);
        put_le(b, (uint64_t)PRODUCT[kw - KW_PCIROOT] << 16 | 0x41D0, 4);
        put_le(b, v[0], 4);
        return 0;
    }
    case KW_ACPI: { /* only the PNP form: Acpi(PNPxxxx,uid) */
        if (a.count != 2 || a.n[0] != 7 || memcmp(a.s[0], "PNP", 3) != 0) return -1;
        uint32_t product = 0;
        for (int i = 3; i < 7; i++) {
            int h = hexval(a.s[0][i]);
            if (h < 0) return -1;
            product = product << 4 | (uint32_t)h;
        }
        if (arg_uint(&a, 1, 32, &v[0])) return -1;
        put_header(b, 2, 1, 8);
        put_le(b, (uint64_t)product << 16 | 0x41D0, 4);
        put_le(b, v[0], 4);
        return 0;
    }
    case KW_HD: {
        uint8_t sig[16] = {0};
        int gpt;
        if (a.count != 5 || arg_uint(&a, 0, 32, &v[0]) || arg_uint(&a, 3, 64, &v[1])
            || arg_uint(&a, 4, 64, &v[2]))
            return -1;
        if (lit_eq(a.s[1], a.n[1], "GPT")) {
            gpt = 1;
            if (parse_guid(a.s[2], a.n[2], sig)) return -1;
        } else if (lit_eq(a.s[1], a.n[1], "MBR")) {
            gpt = 0;
            if (arg_uint(&a, 2, 32, &v[3])) return -1;
            for (int i = 0; i < 4; i++)
                sig[i] = (uint8_t)(v[3] >> (8 * i));
        } else {
            return -1;
        }
        put_header(b, 4, 1, 38);
        put_le(b, v[0], 4);
        put_le(b, v[1], 8);
        put_le(b, v[2], 8);
        put(b, sig, 16);
        put_le(b, gpt ? 2 : 1, 1); /* MBR type: GPT 2, PC-AT 1 */
        put_le(b, gpt ? 2 : 1, 1); /* signature type */
        return 0;
    }
    case KW_FV: case KW_FVFILE:
        if (a.count != 1 || parse_guid(a.s[0], a.n[0], g)) return -1;
        put_header(b, 4, kw == KW_FV ? 7 : 6, 16);
        put(b, g, 16);
        return 0;
    case KW_VENHW: case KW_VENMSG: case KW_VENMEDIA: {
        static const uint8_t TYPE[] = {1, 3, 4}, SUBTYPE[] = {4, 10, 3};
        if (a.count < 1 || a.count > 2 || parse_guid(a.s[0], a.n[0], g)) return -1;
        size_t hex_len = a.count == 2 ? a.n[1] : 0;
        if (hex_len % 2 || (hex_len == 0 && a.count == 2)) return -1;
        if (16 + hex_len / 2 + 4 > 0xFFFF) return -1;
        put_header(b, TYPE[kw - KW_VENHW], SUBTYPE[kw - KW_VENHW], 16 + hex_len / 2);
        put(b, g, 16);
        for (size_t i = 0; i < hex_len; i += 2) {
            int hi = hexval(a.s[1][i]), lo = hexval(a.s[1][i + 1]);
            if (hi < 0 || lo < 0) return -1;
            uint8_t byte = (uint8_t)(hi << 4 | lo);
            put(b, &byte, 1);
        }
        return 0;
    }
    case KW_USB:
        if (a.count != 2 || arg_uint(&a, 0, 8, &v[0]) || arg_uint(&a, 1, 8, &v[1])) return -1;
        put_header(b, 3, 5, 2);
        put_le(b, v[0], 1);
        put_le(b, v[1], 1);
        return 0;
    case KW_SCSI:
        if (a.count != 2 || arg_uint(&a, 0, 16, &v[0]) || arg_uint(&a, 1, 16, &v[1])) return -1;
        put_header(b, 3, 2, 4);
        put_le(b, v[0], 2);
        put_le(b, v[1], 2);
        return 0;
    case KW_SATA:
        if (a.count != 3 || arg_uint(&a, 0, 16, &v[0]) || arg_uint(&a, 1, 16, &v[1])
            || arg_uint(&a, 2, 16, &v[2]))
            return -1;
        put_header(b, 3, 0x12, 6);
        put_le(b, v[0], 2);
        put_le(b, v[1], 2);
        put_le(b, v[2], 2);
        return 0;
    case KW_NVME: { /* NVMe(nsid,XX-XX-XX-XX-XX-XX-XX-XX), EUI-64 stored reversed */
        uint8_t eui[8];
        if (a.count != 2 || arg_uint(&a, 0, 32, &v[0]) || a.n[1] != 23) return -1;
        for (int i = 0; i < 8; i++) {
            const char *x = a.s[1] + 3 * i;
            int hi = hexval(x[0]), lo = hexval(x[1]);
            if (hi < 0 || lo < 0 || (i < 7 && x[2] != '-')) return -1;
            eui[7 - i] = (uint8_t)(hi << 4 | lo);
        }
        put_header(b, 3, 0x17, 12);
        put_le(b, v[0], 4);
        put(b, eui, 8);
        return 0;
    }
    case KW_ACPIADR:
        put_header(b, 2, 3, 4 * (size_t)a.count);
        for (int i = 0; i < a.count; i++) {
            if (arg_uint(&a, i, 32, &v[0])) return -1;
            put_le(b, v[0], 4);
        }
        return 0;
    case KW_UART: { /* Uart(baud|DEFAULT,bits|DEFAULT,parity letter,stop bits) */
        static const char PARITY[] = "DNEOMS";
        static const char *const STOP[] = {"D", "1", "1.5", "2"};
        int parity = -1, stop = -1;
        if (a.count != 4) return -1;
        if (lit_eq(a.s[0], a.n[0], "DEFAULT")) v[0] = 0;
        else if (a.n[0] == 0 || a.s[0][0] == '0' || arg_uint(&a, 0, 64, &v[0])) return -1;
        if (lit_eq(a.s[1], a.n[1], "DEFAULT")) v[1] = 0;
        else if (arg_uint(&a, 1, 8, &v[1])) return -1;
        for (int i = 0; i < 6; i++)
            if (a.n[2] == 1 && a.s[2][0] == PARITY[i]) parity = i;
        for (int i = 0; i < 4; i++)
            if (lit_eq(a.s[3], a.n[3], STOP[i])) stop = i;
        if (parity < 0 || stop < 0) return -1;
        put_header(b, 3, 0x0E, 15);
        put_le(b, 0, 4);
        put_le(b, v[0], 8);
        put_le(b, v[1], 1);
        put_le(b, (uint64_t)parity, 1);
        put_le(b, (uint64_t)stop, 1);
        return 0;
    }
    default:
        return -1;
    }
}

/* A file-path piece: UTF-8 (BMP only) -> UCS-2 + NUL. */
static int file_path_node(bin_t *b, const char *s, size_t n)
{
    size_t header_at = b->len;
    put_header(b, 4, 4, 0);
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = (unsigned char)s[i];
        uint32_t cp;
        if (c == 0) {
            return -1; /* Python refuses a NUL inside a file path */
        } else if (c < 0x80) {
            cp = c;
            i += 1;
        } else if (c >= 0xC2 && c < 0xE0 && i + 1 < n && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            cp = (c & 0x1F) << 6 | ((unsigned char)s[i + 1] & 0x3F);
            i += 2;
        } else if (c >= 0xE0 && c < 0xF0 && i + 2 < n
                   && ((unsigned char)s[i + 1] & 0xC0) == 0x80
                   && ((unsigned char)s[i + 2] & 0xC0) == 0x80) {
            cp = (c & 0x0F) << 12 | ((unsigned char)s[i + 1] & 0x3F) << 6
                 | ((unsigned char)s[i + 2] & 0x3F);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
            i += 3;
        } else {
            return -1; /* outside the BMP or not UTF-8: Python decides */
        }
        put_le(b, cp, 2);
        units++;
    }
    put_le(b, 0, 2);
    size_t length = 4 + 2 * (units + 1);
    if (length > 0xFFFF) return -1;
    if (!b->overflow) {
        b->p[header_at + 2] = (uint8_t)(length & 0xFF);
        b->p[header_at + 3] = (uint8_t)(length >> 8);
    }
    return 0;
}

static int plain_edge(char c)
{
    return (unsigned char)c > 0x20 && (unsigned char)c < 0x7F;
}

static int is_name_char(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return 1;
    return !first && ((c >= '0' && c <= '9') || c == '_' || c == '-');
}

int efikit_devpath_from_text(const char *text, size_t len, uint32_t keywords, uint8_t *out,
                             size_t out_cap)
{
    bin_t b = {out, 0, out_cap, 0};
    size_t i = 0;
    if (len == 0) return EFIKIT_RENDER_UNSUPPORTED;
    while (i < len) {
        /* one piece: Keyword(args) or a file-path text */
        size_t name_end = i;
        while (name_end < len && is_name_char(text[name_end], name_end == i))
            name_end++;
        size_t end;
        if (name_end > i && name_end < len && text[name_end] == '(') {
            size_t close = name_end + 1;
            while (close < len && text[close] != ')' && text[close] != '(')
                close++;
            if (close >= len || text[close] != ')') return EFIKIT_RENDER_UNSUPPORTED;
            end = close + 1;
            if (end < len && text[end] != '/' && text[end] != ',')
                return EFIKIT_RENDER_UNSUPPORTED;
            int kw = -1;
            for (int k = 0; k < KW_COUNT; k++) {
                if (lit_eq(text + i, name_end - i, KEYWORDS[k])) {
                    kw = k;
                    break;
                }
            }
            if (kw < 0 || !(keywords >> kw & 1)) return EFIKIT_RENDER_UNSUPPORTED;
            if (keyword_node(&b, kw, text + name_end + 1, close - name_end - 1) != 0)
                return EFIKIT_RENDER_UNSUPPORTED;
        } else {
            end = i;
            while (end < len && text[end] != '/' && text[end] != ',') {
                if (text[end] == '(' || text[end] == ')') return EFIKIT_RENDER_UNSUPPORTED;
                end++;
            }
            /* blanks (or non-ASCII, which may be Unicode blanks) at either end: Python
             * trims what a paste adds there */
            if (end == i || !plain_edge(text[i]) || !plain_edge(text[end - 1])
                || file_path_node(&b, text + i, end - i) != 0)
                return EFIKIT_RENDER_UNSUPPORTED;
        }
        i = end;
        if (i == len) break;
        if (text[i] == ',') {
            static const uint8_t END_INSTANCE[4] = {0x7F, 0x01, 0x04, 0x00};
            put(&b, END_INSTANCE, 4);
            i++;
            if (i == len) break;
            if (text[i] == '/') i++;
        } else {
            i++; /* '/' */
        }
        if (i == len || text[i] == '/' || text[i] == ',') return EFIKIT_RENDER_UNSUPPORTED;
    }
    static const uint8_t END[4] = {0x7F, 0xFF, 0x04, 0x00};
    put(&b, END, 4);
    if (b.overflow) return EFIKIT_NEED_SPACE;
    return b.len > (size_t)INT32_MAX ? EFIKIT_NEED_SPACE : (int)b.len;
}

long long efikit_bench_from_text(const char *blob, const uint32_t *offsets, size_t count,
                                 long iterations, uint32_t keywords)
{
    static uint8_t buf[1 << 17];
    long long total = 0;
    for (long it = 0; it < iterations; it++) {
        for (size_t i = 0; i < count; i++) {
            int n = efikit_devpath_from_text(blob + offsets[i], offsets[i + 1] - offsets[i],
                                             keywords, buf, sizeof buf);
            if (n < 0) return -1;
            total += n;
        }
    }
    return total;
}
