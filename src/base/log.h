/* Logging: one line per event.
 *
 * Every line carries time, level, and the case and leg it belongs to ("-" where
 * there is none), so one grep follows one alarm through the gateway:
 *
 *   2026-11-23T07:10:00.123Z info  case=c-8f2a leg=- alarm queued mode=silent
 *
 * Control characters in a message are replaced, so a caller-supplied string can
 * never forge a second line. A line is written with one write(2), so lines from
 * different threads do not interleave.
 *
 * Phone numbers are personal data: at info level and above they are masked with
 * vg_log_phone(); only a debug log shows them whole. */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stddef.h>

enum vg_log_level { VG_LOG_DEBUG = 0, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };

void vg_log_set_level(enum vg_log_level level);
enum vg_log_level vg_log_get_level(void);

/* Sends log lines to fd (default 2, stderr). */
void vg_log_set_fd(int fd);

/* Parses "debug", "info", "warn" or "error". Returns 0, or VG_EINVAL. */
int vg_log_parse_level(const char *s, enum vg_log_level *out);

/* case_id and leg_id may be NULL. */
void vg_log(enum vg_log_level level, const char *case_id, const char *leg_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define vg_debug(c, l, ...) vg_log(VG_LOG_DEBUG, c, l, __VA_ARGS__)
#define vg_info(c, l, ...) vg_log(VG_LOG_INFO, c, l, __VA_ARGS__)
#define vg_warn(c, l, ...) vg_log(VG_LOG_WARN, c, l, __VA_ARGS__)
#define vg_error(c, l, ...) vg_log(VG_LOG_ERROR, c, l, __VA_ARGS__)

/* Writes `phone` into buf as it may appear in the log: whole at debug level,
 * otherwise with all but a leading '+', the first three and the last two digits
 * replaced by '*' ("+8613812345678" -> "+861********78"). Returns buf. */
const char *vg_log_phone(const char *phone, char *buf, size_t n);

/* The masking alone, whatever the level (for tests and for records shown to
 * people who may not see the whole number). */
const char *vg_mask_phone(const char *phone, char *buf, size_t n);

#endif
