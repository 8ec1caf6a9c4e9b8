/* A token bucket, sans-IO: the caller passes the time.
 *
 * One per client connection: `rate` messages a second on average with bursts of
 * `burst`. An empty bucket means "slow down": the adapter stops reading from that
 * client until vg_bucket_wait_us() has passed, so a flood fills the client's own
 * TCP window rather than the gateway's memory or CPU. Also one per video receiver
 * in the media engine: what its NACKs may make the gateway resend. */
#ifndef VG_RATELIMIT_H
#define VG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct vg_bucket {
    double tokens, rate, burst;
    int64_t last_us;
};

void vg_bucket_init(struct vg_bucket *b, double rate, double burst, int64_t now_us);

/* Takes one token if there is one. */
bool vg_bucket_take(struct vg_bucket *b, int64_t now_us);
/* Takes n tokens if there are n (a packet's bytes), else none. */
bool vg_bucket_take_n(struct vg_bucket *b, int64_t now_us, double n);

/* Microseconds until one token is available (0 if one is). */
int64_t vg_bucket_wait_us(struct vg_bucket *b, int64_t now_us);

#endif
