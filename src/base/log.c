#include "log.h"

#include "vg_err.h"
#include "vtime.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int log_level = VG_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vg_log_set_level(enum vg_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum vg_log_level vg_log_get_level(void)
{
    return (enum vg_log_level)atomic_load(&log_level);
}

void vg_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

int vg_log_parse_level(const char *s, enum vg_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum vg_log_level)i;
            return VG_OK;
        }
    }
    return VG_EINVAL;
}

/* Replaces control characters so a message stays on one line. */
static void sanitize(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = '?';
    }
}

void vg_log(enum vg_log_level level, const char *case_id, const char *leg_id, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_level))
        return;
    char line[2048];
    char when[32];
    int head = snprintf(line, sizeof line, "%s %-5s case=%s leg=%s ",
                        vg_rfc3339(vg_wall_us(), when, sizeof when), level_names[level],
                        case_id ? case_id : "-", leg_id ? leg_id : "-");
    if (head < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated: still one whole line */
    sanitize(line + head, len - (size_t)head);
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, len);
    (void)w; /* nowhere to report a failed log write */
}

const char *vg_mask_phone(const char *phone, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    size_t len = phone ? strlen(phone) : 0;
    size_t digits = 0;
    for (size_t i = 0; i < len; i++)
        digits += (phone[i] >= '0' && phone[i] <= '9');
    size_t seen = 0, o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        char c = phone[i];
        if (c >= '0' && c <= '9') {
            seen++;
            /* Short numbers (< 6 digits) are masked whole: too little to hide otherwise. */
            if (digits < 6 || (seen > 3 && seen + 2 <= digits))
                c = '*';
        }
        buf[o++] = c;
    }
    buf[o] = '\0';
    return buf;
}

const char *vg_log_phone(const char *phone, char *buf, size_t n)
{
    if (vg_log_get_level() == VG_LOG_DEBUG) {
        snprintf(buf, n, "%s", phone ? phone : "");
        return buf;
    }
    return vg_mask_phone(phone, buf, n);
}
