/* Evidence formats (see evfmt.h): pure functions over caller buffers. */
#include "evfmt.h"

#include "vg_err.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Header layout: magic 0..7, version 8..11, header length 12..15, stream 16..23,
 * seq 24..27, reserved 28..31, opened 32..39, case id 40..79 (NUL padded),
 * prev 80..111, reserved 112..127 (zero). */
int vg_ev_header_write(const struct vg_ev_seg_header *h, uint8_t out[VG_EV_HDR_LEN])
{
    size_t n = strnlen(h->case_id, sizeof h->case_id);
    if (n == 0 || n > VG_EV_CASE_MAX)
        return VG_EINVAL;
    memset(out, 0, VG_EV_HDR_LEN);
    memcpy(out, VG_EV_MAGIC, 8);
    put32(out + 8, VG_EV_VERSION);
    put32(out + 12, VG_EV_HDR_LEN);
    put64(out + 16, h->stream);
    put32(out + 24, h->seq);
    put64(out + 32, (uint64_t)h->opened_us);
    memcpy(out + 40, h->case_id, n);
    memcpy(out + 80, h->prev, 32);
    return VG_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool case_id_ok(const uint8_t *p)
{
    size_t n = 0;
    while (n < VG_EV_CASE_MAX && p[n])
        n++;
    if (n == 0 || !all_zero(p + n, VG_EV_CASE_MAX - n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '/')
            return false;
    return true;
}

int vg_ev_header_parse(const uint8_t *buf, size_t len, struct vg_ev_seg_header *h)
{
    if (len < VG_EV_HDR_LEN)
        return VG_EAGAIN;
    if (memcmp(buf, VG_EV_MAGIC, 8) != 0 || get32(buf + 8) != VG_EV_VERSION ||
        get32(buf + 12) != VG_EV_HDR_LEN || get32(buf + 28) != 0 || get32(buf + 24) == 0 ||
        !all_zero(buf + 112, 16) || !case_id_ok(buf + 40))
        return VG_EINVAL;
    memset(h, 0, sizeof *h);
    h->stream = get64(buf + 16);
    h->seq = get32(buf + 24);
    h->opened_us = (int64_t)get64(buf + 32);
    memcpy(h->case_id, buf + 40, VG_EV_CASE_MAX);
    memcpy(h->prev, buf + 80, 32);
    return VG_OK;
}

/* Record header: length 0..3, type 4, kind 5, reserved 6..7 (zero), arrival 8..15. */
int vg_ev_record_write(const struct vg_ev_record *r, uint8_t *out, size_t cap)
{
    if (r->len > VG_EV_REC_MAX || (r->type != VG_EV_REC_RTP && r->type != VG_EV_REC_EVENT) ||
        r->kind > 1)
        return VG_EINVAL;
    if (cap < VG_EV_REC_HDR + (size_t)r->len)
        return VG_ENOSPC;
    put32(out, r->len);
    out[4] = r->type;
    out[5] = r->kind;
    out[6] = out[7] = 0;
    put64(out + 8, (uint64_t)r->at_us);
    if (r->len)
        memcpy(out + VG_EV_REC_HDR, r->data, r->len);
    return (int)(VG_EV_REC_HDR + r->len);
}

int vg_ev_record_parse(const uint8_t *buf, size_t len, struct vg_ev_record *r)
{
    if (len < VG_EV_REC_HDR)
        return VG_EAGAIN;
    uint32_t n = get32(buf);
    uint8_t type = buf[4], kind = buf[5];
    if (n > VG_EV_REC_MAX || (type != VG_EV_REC_RTP && type != VG_EV_REC_EVENT) || kind > 1 ||
        (type == VG_EV_REC_EVENT && kind != 0) || buf[6] || buf[7] || (int64_t)get64(buf + 8) < 0)
        return VG_EINVAL;
    if (len - VG_EV_REC_HDR < n)
        return VG_EAGAIN;
    r->len = n;
    r->type = type;
    r->kind = kind;
    r->at_us = (int64_t)get64(buf + 8);
    r->data = buf + VG_EV_REC_HDR;
    return (int)(VG_EV_REC_HDR + n);
}

int vg_ev_scan(const uint8_t *buf, size_t len, struct vg_ev_scan *out)
{
    memset(out, 0, sizeof *out);
    int rc = vg_ev_header_parse(buf, len, &out->hdr);
    if (rc)
        return VG_EINVAL;
    size_t off = VG_EV_HDR_LEN;
    while (off < len) {
        struct vg_ev_record r;
        int n = vg_ev_record_parse(buf + off, len - off, &r);
        if (n == VG_EAGAIN) {
            out->torn = true;
            break;
        }
        if (n < 0) {
            out->bad_offset = off;
            return VG_EINVAL;
        }
        out->records++;
        if (r.type == VG_EV_REC_RTP)
            out->rtp++;
        else
            out->events++;
        if (!out->first_us)
            out->first_us = r.at_us;
        out->last_us = r.at_us;
        off += (size_t)n;
    }
    out->complete_len = off;
    return VG_OK;
}

int vg_ev_audit_split(const char *line, size_t len, const char **json, size_t *json_len,
                      uint8_t sig_raw[64])
{
    const char *tab = memchr(line, '\t', len);
    if (!tab || tab == line)
        return VG_EINVAL;
    size_t slen = len - (size_t)(tab + 1 - line);
    if (slen != VG_EV_SIG_B64)
        return VG_EINVAL;
    unsigned char out[VG_EV_SIG_B64];
    /* EVP_DecodeBlock keeps the padding's zero bytes: 88 chars -> 66 bytes, the
     * last two from "==". */
    if (memcmp(tab + 1 + slen - 2, "==", 2) != 0 ||
        EVP_DecodeBlock(out, (const unsigned char *)tab + 1, (int)slen) != 66)
        return VG_EINVAL;
    memcpy(sig_raw, out, 64);
    *json = line;
    *json_len = (size_t)(tab - line);
    return VG_OK;
}

void vg_ev_hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nib(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int vg_ev_unhex(const char *hex, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nib(hex[2 * i]), lo = hi < 0 ? -1 : nib(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return VG_EINVAL;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * n] == '\0' ? VG_OK : VG_EINVAL;
}

const char *vg_ev_utc(int64_t us, char *out, size_t n)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char s[24];
    if (us <= 0 || !gmtime_r(&t, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(out, n, "?");
    else
        snprintf(out, n, "%s.%03dZ", s, (int)(us % 1000000 / 1000));
    return out;
}
