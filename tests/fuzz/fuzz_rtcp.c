/* Any byte string walks as a compound whose packets tile the input exactly (or stops
 * with VG_EINVAL), every decoded view lies inside its packet, and every packet type
 * with a builder round-trips: build(parse(p)) parses back to the same values. */
#include "rtcp.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define MAX_LOST 1024
#define MAX_FIR 256

static uint8_t scratch[16384];

/* Parses the single packet a builder wrote into scratch. */
static struct vg_rtcp_pkt reparse(int len)
{
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    CHECK(len > 0 && (size_t)len <= sizeof scratch && len % 4 == 0);
    vg_rtcp_iter_init(&it, scratch, (size_t)len);
    CHECK(vg_rtcp_next(&it, &p) == 1);
    struct vg_rtcp_pkt rest;
    CHECK(vg_rtcp_next(&it, &rest) == 0); /* exactly one packet, no trailing bytes */
    return p;
}

static bool same_reports(const struct vg_rtcp_report_block *a, const struct vg_rtcp_report_block *b,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].ssrc != b[i].ssrc || a[i].fraction_lost != b[i].fraction_lost ||
            a[i].cumulative_lost != b[i].cumulative_lost ||
            a[i].ext_highest_seq != b[i].ext_highest_seq || a[i].jitter != b[i].jitter ||
            a[i].lsr != b[i].lsr || a[i].dlsr != b[i].dlsr)
            return false;
    }
    return true;
}

static void check_sr(const struct vg_rtcp_pkt *p)
{
    static struct vg_rtcp_sr a, b;
    if (vg_rtcp_parse_sr(p, &a) != 0)
        return;
    struct vg_rtcp_pkt q = reparse(vg_rtcp_build_sr(scratch, sizeof scratch, &a));
    CHECK(vg_rtcp_parse_sr(&q, &b) == 0);
    CHECK(a.ssrc == b.ssrc && a.ntp == b.ntp && a.rtp_ts == b.rtp_ts);
    CHECK(a.packet_count == b.packet_count && a.octet_count == b.octet_count);
    CHECK(a.n_reports == b.n_reports && same_reports(a.reports, b.reports, a.n_reports));
}

static void check_rr(const struct vg_rtcp_pkt *p)
{
    static struct vg_rtcp_rr a, b;
    if (vg_rtcp_parse_rr(p, &a) != 0)
        return;
    struct vg_rtcp_pkt q = reparse(vg_rtcp_build_rr(scratch, sizeof scratch, &a));
    CHECK(vg_rtcp_parse_rr(&q, &b) == 0);
    CHECK(a.ssrc == b.ssrc && a.n_reports == b.n_reports);
    CHECK(same_reports(a.reports, b.reports, a.n_reports));
}

static bool inside(const uint8_t *v, size_t n, const struct vg_rtcp_pkt *p)
{
    return v >= p->body && v + n <= p->body + p->body_len;
}

static void check_sdes_bye(const struct vg_rtcp_pkt *p)
{
    static struct vg_rtcp_sdes s;
    static struct vg_rtcp_bye b;
    if (p->pt == VG_RTCP_SDES && vg_rtcp_parse_sdes(p, &s) == 0) {
        CHECK(s.n_chunks == p->count);
        for (size_t i = 0; i < s.n_chunks; i++)
            CHECK(!s.chunks[i].cname || inside(s.chunks[i].cname, s.chunks[i].cname_len, p));
    }
    if (p->pt == VG_RTCP_BYE && vg_rtcp_parse_bye(p, &b) == 0) {
        CHECK(b.n_ssrcs == p->count);
        CHECK(!b.reason || inside(b.reason, b.reason_len, p));
    }
}

static void check_nack(const struct vg_rtcp_pkt *p)
{
    static uint16_t a[MAX_LOST], b[MAX_LOST];
    struct vg_rtcp_fb fa, fb;
    size_t na, nb;
    int rc = vg_rtcp_parse_nack(p, &fa, a, MAX_LOST, &na);
    CHECK(rc == 0 || rc == VG_EINVAL || rc == VG_ENOSPC);
    CHECK(na <= MAX_LOST && (rc != VG_ENOSPC || na == MAX_LOST));
    if (rc != 0)
        return;
    CHECK(na >= (p->body_len - 8) / 4); /* at least one per PID/BLP pair */
    struct vg_rtcp_pkt q = reparse(vg_rtcp_build_nack(scratch, sizeof scratch, &fa, a, na));
    CHECK(q.len <= p->len); /* repacking never needs more pairs */
    CHECK(vg_rtcp_parse_nack(&q, &fb, b, MAX_LOST, &nb) == 0);
    CHECK(fa.sender_ssrc == fb.sender_ssrc && fa.media_ssrc == fb.media_ssrc);
    CHECK(na == nb && memcmp(a, b, na * sizeof a[0]) == 0);
}

static void check_fir(const struct vg_rtcp_pkt *p)
{
    static struct vg_rtcp_fir_entry a[MAX_FIR], b[MAX_FIR];
    struct vg_rtcp_fb fa, fb;
    size_t na, nb;
    int rc = vg_rtcp_parse_fir(p, &fa, a, MAX_FIR, &na);
    CHECK(rc == 0 || rc == VG_EINVAL || rc == VG_ENOSPC);
    if (rc != 0)
        return;
    struct vg_rtcp_pkt q =
        reparse(vg_rtcp_build_fir(scratch, sizeof scratch, fa.sender_ssrc, a, na));
    CHECK(vg_rtcp_parse_fir(&q, &fb, b, MAX_FIR, &nb) == 0);
    CHECK(fb.sender_ssrc == fa.sender_ssrc && fb.media_ssrc == 0 && na == nb);
    for (size_t i = 0; i < na; i++)
        CHECK(a[i].ssrc == b[i].ssrc && a[i].seq == b[i].seq);
}

static void check_psfb_other(const struct vg_rtcp_pkt *p)
{
    static struct vg_rtcp_remb a, b;
    struct vg_rtcp_fb fa, fb;
    if (vg_rtcp_parse_pli(p, &fa) == 0) {
        struct vg_rtcp_pkt q = reparse(vg_rtcp_build_pli(scratch, sizeof scratch, &fa));
        CHECK(vg_rtcp_parse_pli(&q, &fb) == 0);
        CHECK(fa.sender_ssrc == fb.sender_ssrc && fa.media_ssrc == fb.media_ssrc);
    }
    int rc = vg_rtcp_parse_remb(p, &a);
    CHECK(rc == 0 || rc == VG_EINVAL || rc == VG_ENOENT);
    if (rc != 0)
        return;
    struct vg_rtcp_pkt q = reparse(vg_rtcp_build_remb(scratch, sizeof scratch, &a));
    CHECK(vg_rtcp_parse_remb(&q, &b) == 0);
    CHECK(a.sender_ssrc == b.sender_ssrc && a.bitrate == b.bitrate); /* exact: see rtcp.h */
    CHECK(a.n_ssrcs == b.n_ssrcs && memcmp(a.ssrcs, b.ssrcs, a.n_ssrcs * sizeof a.ssrcs[0]) == 0);
}

static void check_packet(const struct vg_rtcp_pkt *p)
{
    struct vg_rtcp_tcc t;
    switch (p->pt) {
    case VG_RTCP_SR: check_sr(p); break;
    case VG_RTCP_RR: check_rr(p); break;
    case VG_RTCP_SDES:
    case VG_RTCP_BYE: check_sdes_bye(p); break;
    case VG_RTCP_RTPFB:
        check_nack(p);
        if (vg_rtcp_parse_tcc(p, &t) == 0)
            CHECK(t.ref_time >= -0x800000 && t.ref_time <= 0x7fffff);
        break;
    case VG_RTCP_PSFB:
        check_fir(p);
        check_psfb_other(p);
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    size_t consumed = 0;
    int rc;
    vg_rtcp_iter_init(&it, data, size);
    while ((rc = vg_rtcp_next(&it, &p)) == 1) {
        CHECK(p.data == data + consumed && p.len >= 4 && p.len % 4 == 0);
        CHECK(p.len <= size - consumed);
        CHECK(p.body == p.data + 4 && p.body_len <= p.len - 4);
        CHECK(p.pt == p.data[1] && p.count == (p.data[0] & 0x1f));
        consumed += p.len;
        check_packet(&p);
    }
    if (rc == 0)
        CHECK(consumed == size);
    else
        CHECK(rc == VG_EINVAL && vg_rtcp_next(&it, &p) == VG_EINVAL);
    return 0;
}
