#include "rtcp.h"
#include "bytes.h"

#include <string.h>

#include "vg_err.h"

/* The largest packet the 16-bit length field (in words, minus one) can describe. */
#define MAX_PKT_LEN ((size_t)0x10000 * 4)
#define REPORT_LEN 24
#define FB_HDR_LEN 8 /* sender SSRC + media SSRC */

static uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    vg_wr16(p + 1, (uint16_t)v);
}

static int32_t sign24(uint32_t v)
{
    return (int32_t)(v ^ 0x800000) - 0x800000;
}

/* ---- the compound walker ---- */

void vg_rtcp_iter_init(struct vg_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->off = 0;
    it->failed = false;
}

static int iter_fail(struct vg_rtcp_iter *it)
{
    it->failed = true;
    return VG_EINVAL;
}

int vg_rtcp_next(struct vg_rtcp_iter *it, struct vg_rtcp_pkt *pkt)
{
    if (it->failed)
        return VG_EINVAL;
    if (it->off == it->len)
        return 0;
    const uint8_t *p = it->buf + it->off;
    size_t left = it->len - it->off;
    if (left < 4 || p[0] >> 6 != 2)
        return iter_fail(it);
    size_t len = ((size_t)vg_rd16(p + 2) + 1) * 4;
    if (len > left)
        return iter_fail(it);
    size_t pad = 0;
    if (p[0] & 0x20) {
        pad = p[len - 1]; /* counts itself, so 0 is impossible */
        if (pad == 0 || pad > len - 4)
            return iter_fail(it);
    }
    pkt->data = p;
    pkt->len = len;
    pkt->padding = pad != 0;
    pkt->count = p[0] & 0x1f;
    pkt->pt = p[1];
    pkt->body = p + 4;
    pkt->body_len = len - 4 - pad;
    it->off += len;
    return 1;
}

/* ---- sender and receiver reports ---- */

static void read_report(const uint8_t *b, struct vg_rtcp_report_block *r)
{
    r->ssrc = vg_rd32(b);
    r->fraction_lost = b[4];
    r->cumulative_lost = sign24(rd24(b + 5));
    r->ext_highest_seq = vg_rd32(b + 8);
    r->jitter = vg_rd32(b + 12);
    r->lsr = vg_rd32(b + 16);
    r->dlsr = vg_rd32(b + 20);
}

int vg_rtcp_parse_sr(const struct vg_rtcp_pkt *p, struct vg_rtcp_sr *out)
{
    const size_t info = 24; /* SSRC + NTP + RTP timestamp + two counts */
    if (p->pt != VG_RTCP_SR || p->body_len < info + (size_t)p->count * REPORT_LEN)
        return VG_EINVAL;
    const uint8_t *b = p->body;
    out->ssrc = vg_rd32(b);
    out->ntp = (uint64_t)vg_rd32(b + 4) << 32 | vg_rd32(b + 8);
    out->rtp_ts = vg_rd32(b + 12);
    out->packet_count = vg_rd32(b + 16);
    out->octet_count = vg_rd32(b + 20);
    out->n_reports = p->count;
    for (size_t i = 0; i < p->count; i++)
        read_report(b + info + i * REPORT_LEN, &out->reports[i]);
    return 0;
}

int vg_rtcp_parse_rr(const struct vg_rtcp_pkt *p, struct vg_rtcp_rr *out)
{
    if (p->pt != VG_RTCP_RR || p->body_len < 4 + (size_t)p->count * REPORT_LEN)
        return VG_EINVAL;
    out->ssrc = vg_rd32(p->body);
    out->n_reports = p->count;
    for (size_t i = 0; i < p->count; i++)
        read_report(p->body + 4 + i * REPORT_LEN, &out->reports[i]);
    return 0;
}

/* ---- SDES and BYE ---- */

/* Walks the items of one chunk from *off, keeping the first CNAME, and moves *off to
 * the next chunk: past the null item and the null octets up to a 32-bit boundary.
 * The body starts 4 bytes into the packet, so body offsets share its alignment. */
static int sdes_items(const uint8_t *b, size_t n, size_t *off, struct vg_rtcp_sdes_chunk *c)
{
    for (;;) {
        if (*off >= n)
            return VG_EINVAL; /* the list must end with a null item */
        if (b[*off] == 0)
            break;
        if (n - *off < 2 || n - *off - 2 < b[*off + 1])
            return VG_EINVAL;
        if (b[*off] == 1 && !c->cname) {
            c->cname = b + *off + 2;
            c->cname_len = b[*off + 1];
        }
        *off += 2 + (size_t)b[*off + 1];
    }
    *off = (*off + 4) & ~(size_t)3;
    return *off <= n ? 0 : VG_EINVAL;
}

int vg_rtcp_parse_sdes(const struct vg_rtcp_pkt *p, struct vg_rtcp_sdes *out)
{
    if (p->pt != VG_RTCP_SDES)
        return VG_EINVAL;
    memset(out, 0, sizeof *out);
    size_t off = 0;
    for (size_t i = 0; i < p->count; i++) {
        struct vg_rtcp_sdes_chunk *c = &out->chunks[i];
        if (p->body_len - off < 4)
            return VG_EINVAL;
        c->ssrc = vg_rd32(p->body + off);
        off += 4;
        int rc = sdes_items(p->body, p->body_len, &off, c);
        if (rc < 0)
            return rc;
    }
    out->n_chunks = p->count;
    return 0;
}

int vg_rtcp_parse_bye(const struct vg_rtcp_pkt *p, struct vg_rtcp_bye *out)
{
    size_t off = (size_t)p->count * 4;
    if (p->pt != VG_RTCP_BYE || p->body_len < off)
        return VG_EINVAL;
    memset(out, 0, sizeof *out);
    out->n_ssrcs = p->count;
    for (size_t i = 0; i < p->count; i++)
        out->ssrcs[i] = vg_rd32(p->body + 4 * i);
    if (off < p->body_len) {
        /* Optional reason: a length octet and text, then null octets to 32 bits. */
        uint8_t rlen = p->body[off];
        if (p->body_len - off - 1 < rlen)
            return VG_EINVAL;
        out->reason = p->body + off + 1;
        out->reason_len = rlen;
    }
    return 0;
}

/* ---- feedback ---- */

/* Checks type and format and that the FCI has at least min_fci bytes. */
static int fb_header(const struct vg_rtcp_pkt *p, uint8_t pt, uint8_t fmt, size_t min_fci,
                     struct vg_rtcp_fb *fb)
{
    if (p->pt != pt || p->count != fmt || p->body_len < FB_HDR_LEN + min_fci)
        return VG_EINVAL;
    fb->sender_ssrc = vg_rd32(p->body);
    fb->media_ssrc = vg_rd32(p->body + 4);
    return 0;
}

int vg_rtcp_parse_pli(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *out)
{
    return fb_header(p, VG_RTCP_PSFB, VG_RTCP_FMT_PLI, 0, out);
}

int vg_rtcp_parse_tcc(const struct vg_rtcp_pkt *p, struct vg_rtcp_tcc *out)
{
    int rc = fb_header(p, VG_RTCP_RTPFB, VG_RTCP_FMT_TCC, 8, &out->fb);
    if (rc < 0)
        return rc;
    const uint8_t *f = p->body + FB_HDR_LEN;
    out->base_seq = vg_rd16(f);
    out->status_count = vg_rd16(f + 2);
    out->ref_time = sign24(rd24(f + 4));
    out->fb_count = f[7];
    return 0;
}

static bool push_seq(uint16_t *lost, size_t cap, size_t *n, uint16_t seq)
{
    if (*n >= cap)
        return false;
    lost[(*n)++] = seq;
    return true;
}

int vg_rtcp_parse_nack(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *fb, uint16_t *lost,
                       size_t cap, size_t *n_lost)
{
    *n_lost = 0;
    int rc = fb_header(p, VG_RTCP_RTPFB, VG_RTCP_FMT_NACK, 4, fb);
    if (rc < 0 || (p->body_len - FB_HDR_LEN) % 4)
        return VG_EINVAL;
    for (size_t off = FB_HDR_LEN; off < p->body_len; off += 4) {
        uint16_t pid = vg_rd16(p->body + off), blp = vg_rd16(p->body + off + 2);
        if (!push_seq(lost, cap, n_lost, pid))
            return VG_ENOSPC;
        for (unsigned bit = 0; bit < 16; bit++) {
            if ((blp >> bit & 1) && !push_seq(lost, cap, n_lost, (uint16_t)(pid + bit + 1)))
                return VG_ENOSPC;
        }
    }
    return 0;
}

int vg_rtcp_parse_fir(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *fb,
                      struct vg_rtcp_fir_entry *entries, size_t cap, size_t *n)
{
    *n = 0;
    int rc = fb_header(p, VG_RTCP_PSFB, VG_RTCP_FMT_FIR, 8, fb);
    if (rc < 0 || (p->body_len - FB_HDR_LEN) % 8)
        return VG_EINVAL;
    for (size_t off = FB_HDR_LEN; off < p->body_len; off += 8) {
        if (*n >= cap)
            return VG_ENOSPC;
        entries[*n].ssrc = vg_rd32(p->body + off);
        entries[*n].seq = p->body[off + 4]; /* then 24 reserved bits */
        (*n)++;
    }
    return 0;
}

int vg_rtcp_parse_remb(const struct vg_rtcp_pkt *p, struct vg_rtcp_remb *out)
{
    struct vg_rtcp_fb fb;
    if (fb_header(p, VG_RTCP_PSFB, VG_RTCP_FMT_AFB, 4, &fb) < 0)
        return VG_EINVAL;
    const uint8_t *f = p->body + FB_HDR_LEN;
    if (memcmp(f, "REMB", 4) != 0)
        return VG_ENOENT; /* some other application's feedback */
    if (p->body_len < FB_HDR_LEN + 8)
        return VG_EINVAL;
    uint8_t n = f[4], exp = f[5] >> 2;
    uint64_t mantissa = (uint64_t)(f[5] & 3) << 16 | vg_rd16(f + 6);
    if (p->body_len != FB_HDR_LEN + 8 + 4 * (size_t)n)
        return VG_EINVAL;
    /* An 18-bit mantissa shifted by up to 63 can overflow: refuse rather than wrap. */
    if (exp > 46 && mantissa >> (64 - exp))
        return VG_EINVAL;
    out->sender_ssrc = fb.sender_ssrc;
    out->bitrate = mantissa << exp;
    out->n_ssrcs = n;
    for (size_t i = 0; i < n; i++)
        out->ssrcs[i] = vg_rd32(f + 8 + 4 * i);
    return 0;
}

/* ---- builders ---- */

static void put_header(uint8_t *b, uint8_t count, uint8_t pt, size_t len)
{
    b[0] = (uint8_t)(0x80 | count);
    b[1] = pt;
    vg_wr16(b + 2, (uint16_t)(len / 4 - 1));
}

static void write_report(uint8_t *b, const struct vg_rtcp_report_block *r)
{
    /* RFC 3550 A.3: clamp rather than wrap a loss count the 24 bits cannot hold. */
    int32_t lost = r->cumulative_lost;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    vg_wr32(b, r->ssrc);
    b[4] = r->fraction_lost;
    wr24(b + 5, (uint32_t)lost & 0xffffff);
    vg_wr32(b + 8, r->ext_highest_seq);
    vg_wr32(b + 12, r->jitter);
    vg_wr32(b + 16, r->lsr);
    vg_wr32(b + 20, r->dlsr);
}

int vg_rtcp_build_sr(uint8_t *buf, size_t cap, const struct vg_rtcp_sr *sr)
{
    if (sr->n_reports > VG_RTCP_MAX_REPORTS)
        return VG_EINVAL;
    size_t len = 28 + (size_t)sr->n_reports * REPORT_LEN;
    if (len > cap)
        return VG_ENOSPC;
    put_header(buf, sr->n_reports, VG_RTCP_SR, len);
    vg_wr32(buf + 4, sr->ssrc);
    vg_wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    vg_wr32(buf + 12, (uint32_t)sr->ntp);
    vg_wr32(buf + 16, sr->rtp_ts);
    vg_wr32(buf + 20, sr->packet_count);
    vg_wr32(buf + 24, sr->octet_count);
    for (size_t i = 0; i < sr->n_reports; i++)
        write_report(buf + 28 + i * REPORT_LEN, &sr->reports[i]);
    return (int)len;
}

int vg_rtcp_build_rr(uint8_t *buf, size_t cap, const struct vg_rtcp_rr *rr)
{
    if (rr->n_reports > VG_RTCP_MAX_REPORTS)
        return VG_EINVAL;
    size_t len = 8 + (size_t)rr->n_reports * REPORT_LEN;
    if (len > cap)
        return VG_ENOSPC;
    put_header(buf, rr->n_reports, VG_RTCP_RR, len);
    vg_wr32(buf + 4, rr->ssrc);
    for (size_t i = 0; i < rr->n_reports; i++)
        write_report(buf + 8 + i * REPORT_LEN, &rr->reports[i]);
    return (int)len;
}

static void put_fb(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
                   uint32_t media)
{
    put_header(buf, fmt, pt, len);
    vg_wr32(buf + 4, sender);
    vg_wr32(buf + 8, media);
}

/* Takes lost[*i] as the PID and the entries after it that fit its bitmask (see
 * rtcp.h), moving *i past them; writes the pair at out. */
static void pack_nack_pair(const uint16_t *lost, size_t n, size_t *i, uint8_t *out)
{
    uint16_t pid = lost[(*i)++], blp = 0;
    unsigned prev = 0;
    for (; *i < n; (*i)++) {
        unsigned d = (uint16_t)(lost[*i] - pid);
        if (d <= prev || d > 16)
            break;
        blp |= (uint16_t)(1u << (d - 1));
        prev = d;
    }
    vg_wr16(out, pid);
    vg_wr16(out + 2, blp);
}

int vg_rtcp_build_nack(uint8_t *buf, size_t cap, const struct vg_rtcp_fb *fb, const uint16_t *lost,
                       size_t n)
{
    if (!lost || n == 0)
        return VG_EINVAL;
    size_t len = 12;
    for (size_t i = 0; i < n; len += 4) {
        if (len + 4 > cap || len + 4 > MAX_PKT_LEN)
            return VG_ENOSPC;
        pack_nack_pair(lost, n, &i, buf + len);
    }
    put_fb(buf, VG_RTCP_FMT_NACK, VG_RTCP_RTPFB, len, fb->sender_ssrc, fb->media_ssrc);
    return (int)len;
}

int vg_rtcp_build_pli(uint8_t *buf, size_t cap, const struct vg_rtcp_fb *fb)
{
    if (cap < 12)
        return VG_ENOSPC;
    put_fb(buf, VG_RTCP_FMT_PLI, VG_RTCP_PSFB, 12, fb->sender_ssrc, fb->media_ssrc);
    return 12;
}

int vg_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                      const struct vg_rtcp_fir_entry *entries, size_t n)
{
    if (!entries || n == 0)
        return VG_EINVAL;
    if (n > (MAX_PKT_LEN - 12) / 8 || 12 + 8 * n > cap)
        return VG_ENOSPC;
    size_t len = 12 + 8 * n;
    put_fb(buf, VG_RTCP_FMT_FIR, VG_RTCP_PSFB, len, sender_ssrc, 0);
    for (size_t i = 0; i < n; i++) {
        vg_wr32(buf + 12 + 8 * i, entries[i].ssrc);
        vg_wr32(buf + 16 + 8 * i, (uint32_t)entries[i].seq << 24);
    }
    return (int)len;
}

int vg_rtcp_build_remb(uint8_t *buf, size_t cap, const struct vg_rtcp_remb *remb)
{
    size_t len = 20 + 4 * (size_t)remb->n_ssrcs;
    if (len > cap)
        return VG_ENOSPC;
    uint64_t mantissa = remb->bitrate;
    unsigned exp = 0;
    while (mantissa > 0x3ffff) { /* at most 46 shifts: fits the 6-bit exponent */
        mantissa >>= 1;
        exp++;
    }
    /* RFC 4585 6.1 and the REMB draft: media SSRC is 0, the targets are listed. */
    put_fb(buf, VG_RTCP_FMT_AFB, VG_RTCP_PSFB, len, remb->sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = remb->n_ssrcs;
    buf[17] = (uint8_t)(exp << 2 | mantissa >> 16);
    vg_wr16(buf + 18, (uint16_t)mantissa);
    for (size_t i = 0; i < remb->n_ssrcs; i++)
        vg_wr32(buf + 20 + 4 * i, remb->ssrcs[i]);
    return (int)len;
}
