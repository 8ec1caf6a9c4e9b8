/* Clocks, kept apart from the protocol cores.
 *
 * Sans-IO cores never read a clock: they are handed `now` (microseconds on the
 * monotonic clock) by their adapter, so tests can drive them on a virtual clock.
 * Only adapters and the daemon call these. Wall-clock time is for records and logs
 * (evidence wants real time); the monotonic clock is for timers and durations. */
#ifndef VG_VTIME_H
#define VG_VTIME_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC. */
int64_t vg_now_us(void);

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t vg_wall_us(void);

/* Microseconds on CLOCK_BOOTTIME (monotonic, and counting a suspend too). */
int64_t vg_boot_us(void);

/* Formats wall time `us` as RFC 3339 UTC with milliseconds, e.g.
 * "2026-11-23T07:10:00.123Z", into buf (at least 25 bytes). Returns buf. */
char *vg_rfc3339(int64_t us, char *buf, size_t n);

#endif
