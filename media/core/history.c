/* The NACK history: lookup and growth (the packet path is inline in history.h). */
#include "history.h"

#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

struct vg_history *vg_history_new(size_t cap, size_t max)
{
    cap = round8(cap);
    max = round8(max);
    if (!cap || cap > max)
        return NULL;
    struct vg_history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->bytes = malloc(cap);
    if (!h->bytes) {
        free(h);
        return NULL;
    }
    h->cap = cap;
    h->max = max;
    return h;
}

void vg_history_free(struct vg_history *h)
{
    if (!h)
        return;
    free(h->bytes);
    free(h);
}

/* Every byte reserved since the packet's first lies below head: once head passes
 * at + cap, the writes have come round to it (the first byte goes first). */
static int written_over(const struct vg_history *h, const struct vg_history_entry *e)
{
    return h->head - e->at > h->cap;
}

int vg_history_find(const struct vg_history *h, uint32_t ssrc, uint16_t seq, const uint8_t **pkt,
                    size_t *len)
{
    /* Newest first; a packet asked for is usually recent. A miss scans the whole
     * index, through entries already written over, to tell "too short a ring" from
     * "never here": only the first is a reason to grow. */
    for (unsigned i = 0; h && i < VG_HISTORY_PACKETS; i++) {
        const struct vg_history_entry *e = &h->e[(h->pos - 1 - i) % VG_HISTORY_PACKETS];
        if (!e->len)
            break; /* unused: older ones are unused too */
        if (e->seq != seq || e->ssrc != ssrc)
            continue;
        if (written_over(h, e))
            return VG_ENOSPC;
        *pkt = h->bytes + e->at % h->cap;
        *len = e->len;
        return 0;
    }
    return VG_ENOENT;
}

/* Copies the packets still readable, oldest first, to the start of a new ring of
 * cap bytes and re-indexes them; those already written over leave the index. */
static void relayout(struct vg_history *h, uint8_t *bytes, size_t cap)
{
    uint64_t head = 0;
    for (unsigned i = VG_HISTORY_PACKETS; i-- > 0;) {
        struct vg_history_entry *e = &h->e[(h->pos - 1 - i) % VG_HISTORY_PACKETS];
        if (!e->len)
            continue;
        if (written_over(h, e)) {
            e->len = 0;
            continue;
        }
        memcpy(bytes + head, h->bytes + e->at % h->cap, e->len);
        e->at = head;
        head += round8(e->len);
    }
    /* The live packets took at most the old ring's bytes, less than cap. */
    h->head = head;
    h->off = (size_t)head;
    h->cap = cap;
}

int vg_history_grow(struct vg_history *h, size_t want)
{
    if (want <= h->cap)
        return 0;
    size_t cap = (want + VG_HISTORY_STEP - 1) / VG_HISTORY_STEP * VG_HISTORY_STEP;
    if (cap > h->max)
        cap = h->max;
    if (cap <= h->cap)
        return 0;
    uint8_t *bytes = malloc(cap);
    if (!bytes)
        return VG_ENOMEM;
    relayout(h, bytes, cap);
    free(h->bytes);
    h->bytes = bytes;
    h->grows++;
    return 0;
}

size_t vg_history_bytes_for(uint64_t rate_Bps, int64_t rtt_us)
{
    if (rtt_us < 0)
        rtt_us = 0;
    if (rtt_us > 10000000)
        rtt_us = 10000000; /* RTCP's own bound on what we accept */
    return (size_t)(rate_Bps * (uint64_t)(2 * rtt_us + VG_HISTORY_MARGIN_US) / 1000000);
}
