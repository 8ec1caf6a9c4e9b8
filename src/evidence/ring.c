/* The single-producer, single-consumer byte ring (see ring.h).
 *
 * Every entry is an 8-byte frame header (length, and whether it is padding) and
 * the payload rounded up to 8 bytes. When an entry does not fit between the write
 * position and the end of the buffer, that tail end becomes one padding entry and
 * the entry starts at offset 0; limiting an entry to half the capacity guarantees
 * it fits once the consumer has caught up. head (written by the producer) and tail
 * (written by the consumer) sit on cache lines of their own, and the producer
 * reloads tail only when its cached copy says the ring is too full: a packet then
 * costs one copy and one release store, with no shared cache line written by both
 * sides. */
#include "ring.h"

#include <glib.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#define FRAME 8
#define PAD_FLAG 1u

struct frame {
    uint32_t len, flags;
};

struct vg_ring {
    /* producer */
    alignas(64) _Atomic uint64_t head;
    uint64_t tail_seen; /* the consumer's tail, as last loaded */
    uint64_t pending;   /* bytes of the last reservation (padding included) */
    /* consumer */
    alignas(64) _Atomic uint64_t tail;
    /* both, read-only */
    alignas(64) uint8_t *buf;
    size_t cap;
};

static size_t frame_size(size_t len)
{
    return FRAME + ((len + 7) & ~(size_t)7);
}

struct vg_ring *vg_ring_new(size_t cap)
{
    cap &= ~(size_t)7;
    if (cap < 64)
        cap = 64;
    struct vg_ring *g = g_try_malloc0(sizeof *g);
    uint8_t *buf = g ? g_try_malloc(cap) : NULL;
    if (!buf) {
        g_free(g);
        return NULL;
    }
    memset(buf, 0, cap); /* resident now: the bound is paid at start, not later */
    g->buf = buf;
    g->cap = cap;
    return g;
}

void vg_ring_free(struct vg_ring *g)
{
    if (!g)
        return;
    g_free(g->buf);
    g_free(g);
}

size_t vg_ring_capacity(const struct vg_ring *g)
{
    return g->cap;
}

uint8_t *vg_ring_reserve(struct vg_ring *g, size_t len)
{
    size_t need = frame_size(len);
    if (need > g->cap / 2)
        return NULL;
    uint64_t head = atomic_load_explicit(&g->head, memory_order_relaxed);
    size_t off = (size_t)(head % g->cap), skip = g->cap - off < need ? g->cap - off : 0;
    if (head + skip + need - g->tail_seen > g->cap) {
        g->tail_seen = atomic_load_explicit(&g->tail, memory_order_acquire);
        if (head + skip + need - g->tail_seen > g->cap)
            return NULL;
    }
    if (skip) {
        struct frame pad = {0, PAD_FLAG};
        memcpy(g->buf + off, &pad, sizeof pad);
        off = 0;
    }
    struct frame f = {(uint32_t)len, 0};
    memcpy(g->buf + off, &f, sizeof f);
    g->pending = skip + need;
    return g->buf + off + FRAME;
}

size_t vg_ring_commit(struct vg_ring *g)
{
    uint64_t head = atomic_load_explicit(&g->head, memory_order_relaxed) + g->pending;
    g->pending = 0;
    atomic_store_explicit(&g->head, head, memory_order_release);
    if (head - g->tail_seen > g->cap / 2) /* looks busy: is it, or is tail_seen old? */
        g->tail_seen = atomic_load_explicit(&g->tail, memory_order_acquire);
    return (size_t)(head - g->tail_seen);
}

size_t vg_ring_waiting(struct vg_ring *g)
{
    g->tail_seen = atomic_load_explicit(&g->tail, memory_order_acquire);
    return (size_t)(atomic_load_explicit(&g->head, memory_order_relaxed) - g->tail_seen);
}

void vg_ring_begin(struct vg_ring *g, struct vg_ring_cursor *c, size_t max)
{
    c->pos = atomic_load_explicit(&g->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&g->head, memory_order_acquire);
    c->end = head - c->pos > max ? c->pos + max : head;
}

const uint8_t *vg_ring_next(struct vg_ring *g, struct vg_ring_cursor *c, size_t *len)
{
    while (c->pos < c->end) {
        size_t off = (size_t)(c->pos % g->cap);
        struct frame f;
        memcpy(&f, g->buf + off, sizeof f);
        if (f.flags & PAD_FLAG) {
            c->pos += g->cap - off;
            continue;
        }
        c->pos += frame_size(f.len);
        if (c->pos > c->end) /* the entry that crosses max is taken whole */
            c->end = c->pos;
        *len = f.len;
        return g->buf + off + FRAME;
    }
    return NULL;
}

void vg_ring_release(struct vg_ring *g, const struct vg_ring_cursor *c)
{
    atomic_store_explicit(&g->tail, c->pos, memory_order_release);
}
