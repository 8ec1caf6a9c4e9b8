/* A bounded byte ring for one producer thread and one consumer thread.
 *
 * The recorder's queue: a media worker copies each packet into its own ring (one
 * memcpy and one release store: no malloc, no lock, no syscall in the forwarding
 * path), and the writer thread reads the entries in place and writes them out
 * before it releases the space. Entries are variable-length and contiguous (an
 * entry never wraps: the producer skips the tail end of the buffer when the entry
 * does not fit there), so the consumer can hand them to writev as they are.
 *
 * The buffer is allocated and touched once at creation: its size is the bound, and
 * its memory is resident from the start rather than growing with the traffic.
 * Positions are 64-bit byte counts that only grow; full is a handled result
 * (NULL from reserve), never a wait. Exactly one thread may produce and one
 * consume at a time; nothing else is safe. */
#ifndef VG_RING_H
#define VG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_ring;

/* A ring of cap bytes (rounded down to a multiple of 8; at least 64). NULL when
 * the memory cannot be had. Free with vg_ring_free (NULL allowed). */
struct vg_ring *vg_ring_new(size_t cap);
void vg_ring_free(struct vg_ring *g);

size_t vg_ring_capacity(const struct vg_ring *g);

/* Producer: room for an entry of len bytes (8-byte aligned), or NULL when the ring
 * cannot take it now (full) or ever (len > capacity / 2). Nothing is visible to the
 * consumer until vg_ring_commit; a reservation not committed is simply dropped by
 * the next reserve. */
uint8_t *vg_ring_reserve(struct vg_ring *g, size_t len);

/* Producer: publishes the last reservation. Returns the bytes now waiting
 * (what the consumer has not released), so the caller can decide to wake it. */
size_t vg_ring_commit(struct vg_ring *g);

/* Producer: the bytes waiting now (what the consumer has not released). */
size_t vg_ring_waiting(struct vg_ring *g);

/* Consumer: entries are read through a cursor taken at one moment; entries
 * committed later are seen by the next cursor. */
struct vg_ring_cursor {
    uint64_t pos, end;
};

/* Takes a cursor over what is committed now, at most about max bytes of it (the
 * entry that crosses max is included). */
void vg_ring_begin(struct vg_ring *g, struct vg_ring_cursor *c, size_t max);

/* The next entry (its len bytes, as reserved), or NULL at the cursor's end. The
 * bytes stay valid until vg_ring_release. */
const uint8_t *vg_ring_next(struct vg_ring *g, struct vg_ring_cursor *c, size_t *len);

/* Gives everything read through the cursor back to the producer. */
void vg_ring_release(struct vg_ring *g, const struct vg_ring_cursor *c);

#endif
