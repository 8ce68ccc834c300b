/* Device path -> edk2 DevicePathToText (AllowShortcuts=FALSE), for the common node types.
 *
 * The Python object model is the reference: every node printed here prints exactly what
 * the Python node class prints, and any node whose Python decoding is not certain (an
 * unexpected length, a type this file does not know, a string the Python codec rejects)
 * makes the whole call return EFIKIT_RENDER_UNSUPPORTED so that Python does the work.
 */
#include "efikit_native.h"
#include "devpath_common.h"

static const char HEX[] = "0123456789ABCDEF";

/* 0x%X as edk2 (and Python's f"0x{v:X}") print it. */
void out_hex(out_t *o, uint64_t v)
{
    char buf[18];
    int n = 18;
    do {
        buf[--n] = HEX[v & 0xF];
        v >>= 4;
    } while (v);
    buf[--n] = 'x';
    buf[--n] = '0';
    out_bytes(o, buf + n, (size_t)(18 - n));
}

/* %0<width>X without 0x. */
static void out_hex_width(out_t *o, uint64_t v, int width)
{
    char buf[16];
    for (int i = width - 1; i >= 0; i--) {
        buf[i] = HEX[v & 0xF];
        v >>= 4;
    }
    out_bytes(o, buf, (size_t)width);
}

void out_udec(out_t *o, uint64_t v)
{
    char buf[20];
    int n = 20;
    do {
        buf[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_bytes(o, buf + n, (size_t)(20 - n));
}

static void out_sdec(out_t *o, int64_t v)
{
    if (v < 0) {
        out_char(o, '-');
        out_udec(o, (uint64_t)0 - (uint64_t)v);
    } else {
        out_udec(o, (uint64_t)v);
    }
}

static void out_hexbytes(out_t *o, const uint8_t *b, size_t n)
{
    if (o->len + 2 * n > o->cap) {
        o->overflow = 1;
        return;
    }
    char *d = o->p + o->len;
    for (size_t i = 0; i < n; i++) {
        d[2 * i] = HEX[b[i] >> 4];
        d[2 * i + 1] = HEX[b[i] & 0xF];
    }
    o->len += 2 * n;
}

static void out_guid(out_t *o, const uint8_t *g)
{
    static const uint8_t ORDER[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    if (o->cap - o->len < 36) {
        o->overflow = 1;
        return;
    }
    char *d = o->p + o->len;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *d++ = '-';
        *d++ = HEX[g[ORDER[i]] >> 4];
        *d++ = HEX[g[ORDER[i]] & 0xF];
    }
    o->len += 36;
}

static void out_ipv4(out_t *o, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        if (i)
            out_char(o, '.');
        out_udec(o, a[i]);
    }
}

static void out_ipv6(out_t *o, const uint8_t *a)
{
    for (int i = 0; i < 8; i++) {
        if (i)
            out_char(o, ':');
        out_hex_width(o, ((unsigned)a[2 * i] << 8) | a[2 * i + 1], 4);
    }
}

static void out_protocol(out_t *o, unsigned proto)
{
    if (proto == 17)
        OUT_LIT(o, "UDP");
    else if (proto == 6)
        OUT_LIT(o, "TCP");
    else
        out_hex(o, proto);
}

/* UCS-2 (no terminator) -> UTF-8. Returns 0, or -1 on a surrogate (Python raises). */
static int out_ucs2(out_t *o, const uint8_t *s, size_t units)
{
    if (o->len + 3 * units > o->cap) {
        o->overflow = 1;
        return 0;
    }
    char *d = o->p + o->len;
    size_t n = 0;
    for (size_t i = 0; i < units; i++) {
        unsigned c = rd16(s + 2 * i);
        if (c < 0x80) {
            d[n++] = (char)c;
        } else if (c < 0x800) {
            d[n++] = (char)(0xC0 | (c >> 6));
            d[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            return -1;
        } else {
            d[n++] = (char)(0xE0 | (c >> 12));
            d[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            d[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    o->len += n;
    return 0;
}

/* RawNode.to_text in base.py. */
static void out_raw(out_t *o, unsigned type, unsigned subtype, const uint8_t *p, size_t n)
{
    static const char *const KEYWORDS[] = {
        NULL, "HardwarePath(", "AcpiPath(", "Msg(", "MediaPath(", "BbsPath(",
    };
    if (type >= 1 && type <= 5) {
        out_str(o, KEYWORDS[type]);
    } else {
        OUT_LIT(o, "Path(");
        out_udec(o, type);
        out_char(o, ',');
    }
    out_udec(o, subtype);
    if (n) {
        out_char(o, ',');
        out_hexbytes(o, p, n);
    }
    out_char(o, ')');
}

static const char *acpi_alias(unsigned product)
{
    switch (product) {
    case 0x0A03: return "PciRoot(";
    case 0x0A08: return "PcieRoot(";
    case 0x0604: return "Floppy(";
    case 0x0301: return "Keyboard(";
    case 0x0501: return "Serial(";
    case 0x0401: return "ParallelPort(";
    default: return NULL;
    }
}

static const char *usb_class_keyword(unsigned cls)
{
    switch (cls) {
    case 0x01: return "UsbAudio(";
    case 0x02: return "UsbCDCControl(";
    case 0x03: return "UsbHID(";
    case 0x06: return "UsbImage(";
    case 0x07: return "UsbPrinter(";
    case 0x08: return "UsbMassStorage(";
    case 0x09: return "UsbHub(";
    case 0x0A: return "UsbCDCData(";
    case 0x0B: return "UsbSmartCard(";
    case 0x0E: return "UsbVideo(";
    case 0xDC: return "UsbDiagnostic(";
    case 0xE0: return "UsbWireless(";
    default: return NULL;
    }
}

static const char *usb_fe_keyword(unsigned subclass)
{
    switch (subclass) {
    case 1: return "UsbDeviceFirmwareUpdate(";
    case 2: return "UsbIrdaBridge(";
    case 3: return "UsbTestAndMeasurement(";
    default: return NULL;
    }
}

/* One typed node; p/n is the payload. Returns 0, or -1 to leave the path to Python. */
static int render_node(out_t *o, unsigned type, unsigned subtype, const uint8_t *p, size_t n,
                       int display_only)
{
    switch (KEY(type, subtype)) {
    case KEY(0x01, 0x01): /* Pci */
        if (n != 2) return -1;
        OUT_LIT(o, "Pci(");
        out_hex(o, p[1]);
        out_char(o, ',');
        out_hex(o, p[0]);
        out_char(o, ')');
        return 0;
    case KEY(0x01, 0x04): /* VenHw */
    case KEY(0x03, 0x0A): /* VenMsg */
    case KEY(0x04, 0x03): /* VenMedia */
        if (n < 16) return -1;
        out_str(o, type == 1 ? "VenHw(" : type == 3 ? "VenMsg(" : "VenMedia(");
        out_guid(o, p);
        if (n > 16) {
            out_char(o, ',');
            out_hexbytes(o, p + 16, n - 16);
        }
        out_char(o, ')');
        return 0;
    case KEY(0x02, 0x01): { /* Acpi and its aliases */
        if (n != 8) return -1;
        uint32_t hid = rd32(p), uid = rd32(p + 4);
        if ((hid & 0xFFFF) == 0x41D0) {
            const char *alias = acpi_alias(hid >> 16);
            if (alias) {
                out_str(o, alias);
            } else {
                OUT_LIT(o, "Acpi(PNP");
                out_hex_width(o, hid >> 16, 4);
                out_char(o, ',');
            }
        } else {
            OUT_LIT(o, "Acpi(0x");
            out_hex_width(o, hid, 8);
            out_char(o, ',');
        }
        out_hex(o, uid);
        out_char(o, ')');
        return 0;
    }
    case KEY(0x02, 0x03): /* AcpiAdr: one or more UINT32 _ADR values */
        if (n == 0 || n % 4) return -1;
        OUT_LIT(o, "AcpiAdr(");
        for (size_t i = 0; i < n; i += 4) {
            if (i)
                out_char(o, ',');
            out_hex(o, rd32(p + i));
        }
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x02): /* Scsi */
        if (n != 4) return -1;
        OUT_LIT(o, "Scsi(");
        out_hex(o, rd16(p));
        out_char(o, ',');
        out_hex(o, rd16(p + 2));
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x05): /* USB */
        if (n != 2) return -1;
        OUT_LIT(o, "USB(");
        out_hex(o, p[0]);
        out_char(o, ',');
        out_hex(o, p[1]);
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x0B): { /* MAC */
        if (n != 33) return -1;
        unsigned if_type = p[32];
        OUT_LIT(o, "MAC(");
        out_hexbytes(o, p, if_type <= 1 ? 6 : 32);
        out_char(o, ',');
        out_hex(o, if_type);
        out_char(o, ')');
        return 0;
    }
    case KEY(0x03, 0x0C): /* IPv4: local, remote, ports, protocol, static, gateway, mask */
        if (n != 23) return -1;
        OUT_LIT(o, "IPv4(");
        out_ipv4(o, p + 4);
        if (!display_only) {
            out_char(o, ',');
            out_protocol(o, rd16(p + 12));
            out_str(o, p[14] ? ",Static," : ",DHCP,");
            out_ipv4(o, p);
            out_char(o, ',');
            out_ipv4(o, p + 15);
            out_char(o, ',');
            out_ipv4(o, p + 19);
        }
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x0D): /* IPv6: local, remote, ports, protocol, origin, prefix, gateway */
        if (n != 56) return -1;
        OUT_LIT(o, "IPv6(");
        out_ipv6(o, p + 16);
        if (!display_only) {
            static const char *const ORIGIN[] = {
                ",Static,", ",StatelessAutoConfigure,", ",StatefulAutoConfigure,",
            };
            out_char(o, ',');
            out_protocol(o, rd16(p + 36));
            out_str(o, ORIGIN[p[38] < 2 ? p[38] : 2]);
            out_ipv6(o, p);
            out_char(o, ',');
            out_hex(o, p[39]);
            out_char(o, ',');
            out_ipv6(o, p + 40);
        }
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x0E): { /* Uart: reserved, baud, data bits, parity, stop bits */
        static const char PARITY[] = "DNEOMS";
        static const char *const STOP[] = {"D", "1", "1.5", "2"};
        if (n != 15) return -1;
        uint64_t baud = rd64(p + 4);
        OUT_LIT(o, "Uart(");
        if (baud == 0)
            OUT_LIT(o, "DEFAULT");
        else
            out_sdec(o, (int64_t)baud);
        out_char(o, ',');
        if (p[12] == 0)
            OUT_LIT(o, "DEFAULT");
        else
            out_udec(o, p[12]);
        out_char(o, ',');
        out_char(o, p[13] < 6 ? PARITY[p[13]] : 'x');
        out_char(o, ',');
        out_str(o, p[14] < 4 ? STOP[p[14]] : "x");
        out_char(o, ')');
        return 0;
    }
    case KEY(0x03, 0x0F): { /* UsbClass and its aliases */
        if (n != 7) return -1;
        unsigned cls = p[4], subclass = p[5], protocol = p[6];
        const char *kw = usb_class_keyword(cls);
        const char *fe = cls == 0xFE ? usb_fe_keyword(subclass) : NULL;
        out_str(o, kw ? kw : fe ? fe : "UsbClass(");
        out_hex(o, rd16(p));
        out_char(o, ',');
        out_hex(o, rd16(p + 2));
        out_char(o, ',');
        if (!kw && !fe) {
            out_hex(o, cls);
            out_char(o, ',');
        }
        if (!fe) {
            out_hex(o, subclass);
            out_char(o, ',');
        }
        out_hex(o, protocol);
        out_char(o, ')');
        return 0;
    }
    case KEY(0x03, 0x12): /* Sata */
        if (n != 6) return -1;
        OUT_LIT(o, "Sata(");
        out_hex(o, rd16(p));
        out_char(o, ',');
        out_hex(o, rd16(p + 2));
        out_char(o, ',');
        out_hex(o, rd16(p + 4));
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x17): /* NVMe: namespace id, EUI-64 printed most significant first */
        if (n != 12) return -1;
        OUT_LIT(o, "NVMe(");
        out_hex(o, rd32(p));
        out_char(o, ',');
        for (int i = 11; i >= 4; i--) {
            out_hexbytes(o, p + i, 1);
            if (i > 4)
                out_char(o, '-');
        }
        out_char(o, ')');
        return 0;
    case KEY(0x03, 0x18): /* Uri: bytes as Latin-1, up to the first NUL */
        OUT_LIT(o, "Uri(");
        for (size_t i = 0; i < n && p[i]; i++) {
            if (p[i] < 0x80) {
                out_char(o, (char)p[i]);
            } else {
                out_char(o, (char)(0xC0 | (p[i] >> 6)));
                out_char(o, (char)(0x80 | (p[i] & 0x3F)));
            }
        }
        out_char(o, ')');
        return 0;
    case KEY(0x05, 0x01): { /* BBS: type, flags, NUL-terminated printable ASCII */
        static const char *const BBS_NAMES[] = {
            NULL, "Floppy", "HD", "CDROM", "PCMCIA", "USB", "Network",
        };
        if (n < 5 || p[n - 1] != 0)
            return -1;
        int depth = 0;
        for (size_t i = 4; i < n - 1; i++) { /* what Python keeps typed: else it decides */
            if (p[i] < 0x20 || p[i] > 0x7E)
                return -1;
            depth += p[i] == '(' ? 1 : p[i] == ')' ? -1 : 0;
            if (depth < 0)
                return -1;
        }
        if (depth != 0)
            return -1;
        unsigned device_type = rd16(p);
        OUT_LIT(o, "BBS(");
        if (device_type >= 1 && device_type <= 6)
            out_str(o, BBS_NAMES[device_type]);
        else
            out_hex(o, device_type);
        out_char(o, ',');
        out_bytes(o, (const char *)p + 4, n - 5);
        if (!display_only) {
            out_char(o, ',');
            out_hex(o, rd16(p + 2));
        }
        out_char(o, ')');
        return 0;
    }
    case KEY(0x04, 0x01): { /* HD */
        if (n != 38) return -1;
        unsigned sig_type = p[37];
        OUT_LIT(o, "HD(");
        out_sdec(o, (int32_t)rd32(p)); /* edk2 prints the UINT32 with %d */
        if (sig_type == 1) {
            OUT_LIT(o, ",MBR,0x");
            out_hex_width(o, rd32(p + 20), 8);
            out_char(o, ',');
        } else if (sig_type == 2) {
            OUT_LIT(o, ",GPT,");
            out_guid(o, p + 20);
            out_char(o, ',');
        } else {
            out_char(o, ',');
            out_udec(o, sig_type);
            OUT_LIT(o, ",0,");
        }
        out_hex(o, rd64(p + 4));
        out_char(o, ',');
        out_hex(o, rd64(p + 12));
        out_char(o, ')');
        return 0;
    }
    case KEY(0x04, 0x04): { /* FilePath: UCS-2, exactly one NUL unit, at the end */
        if (n % 2) return -1; /* Python raises: odd length */
        size_t units = n / 2;
        size_t nul = units;
        for (size_t i = 0; i < units; i++) {
            if (p[2 * i] == 0 && p[2 * i + 1] == 0) {
                nul = i;
                break;
            }
        }
        if (nul + 1 != units) {
            out_raw(o, type, subtype, p, n); /* no terminator or bytes after it */
            return 0;
        }
        return out_ucs2(o, p, nul);
    }
    case KEY(0x04, 0x05): /* Media protocol */
    case KEY(0x04, 0x06): /* FvFile */
    case KEY(0x04, 0x07): /* Fv */
        if (n != 16) return -1;
        out_str(o, subtype == 5 ? "Media(" : subtype == 6 ? "FvFile(" : "Fv(");
        out_guid(o, p);
        out_char(o, ')');
        return 0;
    case KEY(0x7F, 0x01): /* End-Instance */
        if (n == 0)
            out_char(o, ',');
        else
            out_raw(o, type, subtype, p, n);
        return 0;
    default:
        return -1;
    }
}

int render_nodes(const uint8_t *data, size_t start, size_t end, int display_only,
                 const uint8_t *registered, out_t *o, size_t *stop)
{
    size_t offset = start;
    int count = 0;
    for (;;) { /* frame everything first: framing errors win over node problems */
        size_t remaining = end - offset;
        if (remaining == 0) {
            *stop = offset;
            return 1;
        }
        if (remaining < 4) {
            *stop = offset;
            return 2;
        }
        unsigned type = data[offset], subtype = data[offset + 1];
        size_t length = rd16(data + offset + 2);
        if (length < 4) {
            *stop = offset;
            return 3;
        }
        if (length > remaining) {
            *stop = offset;
            return 4;
        }
        offset += length;
        if (type == 0x7F && subtype == 0xFF)
            break;
        count++;
    }
    *stop = offset;
    offset = start;
    for (int i = 0; i < count; i++) {
        unsigned type = data[offset], subtype = data[offset + 1];
        size_t length = rd16(data + offset + 2);
        const uint8_t *payload = data + offset + 4;
        int is_end_instance = type == 0x7F && subtype == 0x01 && length == 4;
        if (i > 0 && !is_end_instance)
            out_char(o, '/');
        unsigned key = KEY(type, subtype);
        if (!(registered[key >> 3] & (1u << (key & 7))))
            out_raw(o, type, subtype, payload, length - 4);
        else if (render_node(o, type, subtype, payload, length - 4, display_only) != 0)
            return EFIKIT_RENDER_UNSUPPORTED;
        offset += length;
    }
    return 0;
}

int render_path(const uint8_t *data, size_t len, int display_only, const uint8_t *registered,
                out_t *o, size_t *err_offset)
{
    size_t stop = 0;
    int rc = render_nodes(data, 0, len, display_only, registered, o, &stop);
    if (rc != 0) {
        *err_offset = stop;
        return rc;
    }
    if (stop != len) {
        *err_offset = stop;
        return EFIKIT_ERR_TRAILING;
    }
    return o->overflow ? EFIKIT_NEED_SPACE : 0;
}

int efikit_devpath_to_text(const uint8_t *data, size_t len, int display_only,
                           const uint8_t *registered, char *out, size_t out_cap,
                           size_t *err_offset)
{
    out_t o = {out, 0, out_cap, 0};
    int rc = render_path(data, len, display_only, registered, &o, err_offset);
    if (rc == 0)
        return o.len > (size_t)INT32_MAX ? EFIKIT_NEED_SPACE : (int)o.len;
    return rc > 0 ? -10 - rc : rc;
}

/* LoadOption.from_bytes + to_text of each path; anything but success goes to Python. */
int efikit_load_option_to_text(const uint8_t *data, size_t len, int display_only,
                               const uint8_t *registered, char *out, size_t out_cap,
                               size_t *info)
{
    out_t o = {out, 0, out_cap, 0};
    if (len < 6)
        return EFIKIT_RENDER_UNSUPPORTED;
    size_t nul = 6;
    while (nul + 1 < len && (data[nul] | data[nul + 1]))
        nul += 2;
    if (nul + 1 >= len)
        return EFIKIT_RENDER_UNSUPPORTED; /* no NUL unit: Python raises */
    if (out_ucs2(&o, data + 6, (nul - 6) / 2) != 0)
        return EFIKIT_RENDER_UNSUPPORTED; /* surrogate: Python raises */
    size_t list_start = nul + 2;
    size_t list_end = list_start + rd16(data + 4);
    if (list_end > len)
        return EFIKIT_RENDER_UNSUPPORTED;
    size_t position = list_start;
    while (position < list_end) {
        size_t stop = 0;
        out_char(&o, '\0');
        if (render_nodes(data, position, list_end, display_only, registered, &o, &stop) != 0)
            return EFIKIT_RENDER_UNSUPPORTED;
        position = stop;
    }
    if (o.overflow)
        return EFIKIT_NEED_SPACE;
    info[0] = rd32(data);
    info[1] = list_end;
    info[2] = o.len;
    return 0;
}

int efikit_ctx_devpath_to_text(efikit_ctx *ctx, const uint8_t *data, size_t len,
                               int display_only)
{
    return efikit_devpath_to_text(data, len, display_only, ctx->registered, ctx->out,
                                  ctx->out_cap, &ctx->err_offset);
}

int efikit_ctx_load_option_to_text(efikit_ctx *ctx, const uint8_t *data, size_t len,
                                   int display_only)
{
    int rc = efikit_load_option_to_text(data, len, display_only, ctx->registered, ctx->out,
                                        ctx->out_cap, ctx->info);
    if (rc != 0)
        return rc;
    return ctx->info[2] > (size_t)INT32_MAX ? EFIKIT_NEED_SPACE : (int)ctx->info[2];
}
