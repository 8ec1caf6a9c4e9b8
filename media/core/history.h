/* The NACK history of one video source: its last packets, decrypted, kept so that a
 * receiver that lost one can have it again (RTX, RFC 4588).
 *
 * The history is the packet's receive buffer as well: the forwarder reserves room at
 * the head of a byte ring, copies the datagram there and decrypts it in place, so a
 * packet is never copied to be kept. An index of the last VG_HISTORY_PACKETS
 * packets says where each one starts; a packet stays retrievable until the ring's
 * writes come round to it.
 *
 * How long the ring must reach back is a question of time, not of packets: a lost
 * packet is asked for about one round trip after it was sent (more if the first
 * NACK is lost too), so a receiver on the centre's LAN needs a few milliseconds of
 * video and a citizen on a weak mobile network (300+ ms) most of a second. A fixed
 * ring sized for the worst receiver costs every call ~160 KiB that the usual one
 * never reads, so the ring starts small and grows, never beyond its maximum:
 *   - when a receiver's round trip is measured (RTCP RR: LSR/DLSR), to what that
 *     round trip needs at the source's current rate (vg_history_bytes_for());
 *   - when a NACK asks for a packet still in the index whose bytes were already
 *     written over: the round trip estimate was short (or not measured yet, or a
 *     keyframe burst outran it), so the ring doubles.
 * It never shrinks: a source whose receiver once needed a long history keeps it
 * for the rest of the leg, which the maximum bounds. Growing copies the live
 * packets once into the new ring; the packet path stays the same few instructions
 * (no division: the write offset is kept beside the byte count).
 *
 * Not thread-safe: one history belongs to one leg, on its worker's thread. */
#ifndef VG_HISTORY_H
#define VG_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#define VG_HISTORY_PACKETS 256 /* the index: ~1.4 s at 180 video packets/s */

/* One kept packet: where its bytes start, counted in bytes written since the ring
 * was made (so "written over" is one comparison with head). len 0: unused. */
struct vg_history_entry {
    uint64_t at;
    uint32_t ssrc;
    uint16_t seq;
    uint16_t len;
};

struct vg_history {
    uint64_t head;  /* bytes written since creation (next write) */
    size_t off;     /* head % cap, kept so the packet path needs no division */
    size_t cap;     /* bytes of the ring now */
    size_t max;     /* the most it may grow to */
    unsigned pos;   /* next index entry */
    unsigned grows; /* times it grew (for logs and tests) */
    uint8_t *bytes; /* cap bytes, owned */
    struct vg_history_entry e[VG_HISTORY_PACKETS];
};

/* A history of cap bytes that may grow to max (cap <= max; both rounded up to
 * 8). Returns NULL if memory is short or the sizes are wrong. Free with
 * vg_history_free(). */
struct vg_history *vg_history_new(size_t cap, size_t max);
void vg_history_free(struct vg_history *h); /* NULL is fine */

/* Where the next packet of len (<= cap) bytes goes: contiguous bytes at the head,
 * which moves past them at once (8-aligned), so bytes written over count as
 * written even if the packet is then refused. *at is its place, for
 * vg_history_commit(). A packet that would not fit before the end starts again at
 * 0 (the ring never wraps inside a packet). */
static inline uint8_t *vg_history_reserve(struct vg_history *h, size_t len, uint64_t *at)
{
    if (h->off + len > h->cap) {
        h->head += h->cap - h->off;
        h->off = 0;
    }
    uint8_t *p = h->bytes + h->off;
    size_t step = (len + 7) & ~(size_t)7;
    *at = h->head;
    h->head += step;
    h->off += step;
    return p;
}

/* The packet reserved at at is kept (len bytes, decrypted): index it. */
static inline void vg_history_commit(struct vg_history *h, uint64_t at, uint32_t ssrc, uint16_t seq,
                                     size_t len)
{
    h->e[h->pos++ % VG_HISTORY_PACKETS] = (struct vg_history_entry){at, ssrc, seq, (uint16_t)len};
}

/* Finds a kept packet. Returns 0 and points *pkt, *len at its bytes (valid until
 * the next reserve or grow); VG_ENOSPC if it is indexed but its bytes were written
 * over (the ring was too short for this receiver); VG_ENOENT if it is not indexed
 * (never arrived, or older than the index). */
int vg_history_find(const struct vg_history *h, uint32_t ssrc, uint16_t seq, const uint8_t **pkt,
                    size_t *len);

/* Grows the ring to at least want bytes (rounded up to VG_HISTORY_STEP, at most
 * max), keeping the packets still in it. 0 if it is at least that big already or
 * has grown; VG_ENOMEM if memory is short (the history is unchanged). */
#define VG_HISTORY_STEP (16 * 1024)
int vg_history_grow(struct vg_history *h, size_t want);

/* The bytes a receiver with round trip rtt_us needs at rate_Bps bytes per second:
 * two round trips (the NACK and one repeat of it if that is lost) plus
 * VG_HISTORY_MARGIN_US for the receiver to notice the gap and for jitter. */
#define VG_HISTORY_MARGIN_US 150000
size_t vg_history_bytes_for(uint64_t rate_Bps, int64_t rtt_us);

#endif
