/* vigil-load's parsers of what it receives and replays (tools/vigil-load/clip.h): any
 * byte string either is refused as a clip or parses into frames that partition its
 * packets, each payload inside the input; the VP8 keyframe test and the tail reader
 * take any payload; a tail written is read back. */
#include "clip.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_clip(const struct vg_clip *c, const uint8_t *copy, size_t size)
{
    size_t next = 0;
    for (size_t f = 0; f < c->n_frames; f++) {
        CHECK(c->frames[f].first == next && c->frames[f].n > 0);
        next += c->frames[f].n;
    }
    CHECK(next == c->n_pkts);
    for (size_t i = 0; i < c->n_pkts; i++) {
        const struct vg_clip_pkt *p = &c->pkts[i];
        CHECK(p->payload >= copy && p->payload + p->len <= copy + size);
        CHECK(p->len <= VG_CLIP_MAX_PAYLOAD);
    }
    CHECK(c->frame_us > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int vp8 = 0; vp8 < 2; vp8++) {
        uint8_t *copy = g_memdup2(data, size);
        struct vg_clip c;
        if (vg_clip_parse(copy, size, vp8 ? 90000 : 48000, vp8, &c) == 0) {
            check_clip(&c, copy, size);
            CHECK(!vp8 || c.frames[0].key);
        }
        vg_clip_free(&c);
    }
    /* The whole input as a received payload. */
    (void)vg_clip_vp8_is_key(data, size);
    uint32_t no;
    int64_t at;
    (void)vg_clip_get_tail(data, size, &no, &at);
    if (size >= 12) {
        uint8_t t[VG_CLIP_TAIL_LEN];
        uint32_t want_no;
        int64_t want_at;
        memcpy(&want_no, data, 4);
        memcpy(&want_at, data + 4, 8);
        vg_clip_put_tail(t, want_no, want_at);
        CHECK(vg_clip_get_tail(t, sizeof t, &no, &at) && no == want_no && at == want_at);
    }
    return 0;
}
