#include "efikit_native.h"

/* Same checks, same order, same offsets as frame_nodes_python in framing.py. */
int efikit_frame_nodes(const uint8_t *data, size_t start, size_t end,
                       uint32_t *frames, size_t max_frames, size_t *pos)
{
    size_t offset = start;
    size_t count = 0;
    if (start > end) { /* Python: a negative remainder is a truncated header */
        *pos = start;
        return -2;
    }
    for (;;) {
        size_t remaining = end - offset;
        if (remaining == 0) {
            *pos = offset;
            return -1;
        }
        if (remaining < 4) {
            *pos = offset;
            return -2;
        }
        unsigned type = data[offset];
        unsigned subtype = data[offset + 1];
        size_t length = (size_t)data[offset + 2] | ((size_t)data[offset + 3] << 8);
        if (length < 4) {
            *pos = offset;
            return -3;
        }
        if (length > remaining) {
            *pos = offset;
            return -4;
        }
        if (count >= max_frames)
            return -100;
        uint32_t *frame = frames + 4 * count;
        frame[0] = (uint32_t)offset;
        frame[1] = type;
        frame[2] = subtype;
        frame[3] = (uint32_t)length;
        count++;
        offset += length;
        if (type == 0x7F && subtype == 0xFF) {
            *pos = offset;
            return (int)count;
        }
    }
}
