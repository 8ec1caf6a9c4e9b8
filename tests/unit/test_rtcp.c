#include <stdlib.h>

#include "rtcp.h"
#include "vg_err.h"
#include "vt.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define SSRC_A 0x0a, 0x0b, 0x0c, 0x0d /* our sender SSRC */
#define SSRC_B 0x11, 0x22, 0x33, 0x44
#define SSRC_C 0x55, 0x66, 0x77, 0x88

/* Packets laid out one field per row, so clang-format stays out. */
/* clang-format off */
/* SR with one report block, then SDES with two chunks (TOOL+CNAME, then empty). */
static const uint8_t sr_sdes[] = {
    0x81, 200, 0x00, 0x0c, SSRC_B,
    0xe5, 0x4c, 0x6a, 0x1b, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x01, 0x5f, 0x90,                         /* RTP ts 90000 */
    0x00, 0x00, 0x00, 0x64,                         /* 100 packets */
    0x00, 0x00, 0x3a, 0x98,                         /* 15000 octets */
    SSRC_C, 0x40, 0xff, 0xff, 0xfe,                 /* 64/256 lost, cumulative -2 */
    0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x2a, /* ext seq 65541, jitter 42 */
    0x4c, 0x6a, 0x1b, 0x80, 0x00, 0x01, 0x80, 0x00, /* LSR, DLSR 1.5 s */
    0x82, 202, 0x00, 0x06, SSRC_B,
    0x06, 0x02, 'v', 'g',                           /* TOOL, skipped */
    0x01, 0x05, 'v', 'i', 'g', 'i', 'l', 0x00,      /* CNAME, end of items */
    SSRC_C, 0x00, 0x00, 0x00, 0x00,                 /* a chunk with no items */
};

/* RR, generic NACK with two pairs, PLI: what a receiving browser sends. */
static const uint8_t rr_nack_pli[] = {
    0x81, 201, 0x00, 0x07, SSRC_A,
    SSRC_B, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x81, 205, 0x00, 0x04, SSRC_A, SSRC_B,
    0x00, 0x64, 0x00, 0x05, /* PID 100, BLP bits 0 and 2: 101, 103 */
    0xff, 0xff, 0x80, 0x01, /* PID 65535, bits 0 and 15: 0 and 15 across the wrap */
    0x81, 206, 0x00, 0x02, SSRC_A, SSRC_B,
};

static const uint8_t remb[] = {
    0x8f, 206, 0x00, 0x06, SSRC_A, 0x00, 0x00, 0x00, 0x00,
    'R', 'E', 'M', 'B', 0x02, 0x0b, 0xd0, 0x90, /* 2 SSRCs, exp 2, mantissa 250000 */
    SSRC_B, SSRC_C,
};

static const uint8_t fir[] = {
    0x84, 206, 0x00, 0x06, SSRC_A, 0x00, 0x00, 0x00, 0x00,
    SSRC_B, 0x07, 0x00, 0x00, 0x00,
    SSRC_C, 0xff, 0x00, 0x00, 0x00,
};

static const uint8_t tcc[] = {
    0x8f, 205, 0x00, 0x05, SSRC_A, SSRC_B,
    0x01, 0x00, 0x00, 0x02, /* base seq 256, 2 statuses */
    0xff, 0xff, 0xfe, 0x05, /* reference time -2, feedback count 5 */
    0x20, 0x02, 0x04, 0x04, /* run-length chunk, two small deltas */
};
/* clang-format on */

static void expect_report(const struct vg_rtcp_report_block *r, uint32_t ssrc, uint8_t frac,
                          int32_t lost, uint32_t seq, uint32_t jitter, uint32_t lsr, uint32_t dlsr)
{
    VT_EQ_INT(r->ssrc, ssrc);
    VT_EQ_INT(r->fraction_lost, frac);
    VT_EQ_INT(r->cumulative_lost, lost);
    VT_EQ_INT(r->ext_highest_seq, seq);
    VT_EQ_INT(r->jitter, jitter);
    VT_EQ_INT(r->lsr, lsr);
    VT_EQ_INT(r->dlsr, dlsr);
}

static void test_sr_sdes(void)
{
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    struct vg_rtcp_sr sr;
    struct vg_rtcp_sdes sdes;
    vg_rtcp_iter_init(&it, sr_sdes, sizeof sr_sdes);
    VT_EQ_INT(vg_rtcp_next(&it, &p), 1);
    VT_EQ_INT(p.pt, VG_RTCP_SR);
    VT_EQ_INT(p.len, 52);
    VT_CHECK(p.data == sr_sdes && p.body == sr_sdes + 4);
    VT_EQ_INT(vg_rtcp_parse_sr(&p, &sr), 0);
    VT_EQ_INT(sr.ssrc, 0x11223344);
    VT_CHECK(sr.ntp == 0xe54c6a1b80000000ull);
    VT_EQ_INT(sr.rtp_ts, 90000);
    VT_EQ_INT(sr.packet_count, 100);
    VT_EQ_INT(sr.octet_count, 15000);
    VT_EQ_INT(sr.n_reports, 1);
    expect_report(&sr.reports[0], 0x55667788, 64, -2, 65541, 42, 0x4c6a1b80, 98304);
    VT_EQ_INT(vg_rtcp_parse_rr(&p, &(struct vg_rtcp_rr){0}), VG_EINVAL); /* wrong type */

    VT_EQ_INT(vg_rtcp_next(&it, &p), 1);
    VT_EQ_INT(p.pt, VG_RTCP_SDES);
    VT_EQ_INT(p.count, 2);
    VT_EQ_INT(vg_rtcp_parse_sdes(&p, &sdes), 0);
    VT_EQ_INT(sdes.n_chunks, 2);
    VT_EQ_INT(sdes.chunks[0].ssrc, 0x11223344);
    VT_EQ_INT(sdes.chunks[0].cname_len, 5);
    VT_CHECK(sdes.chunks[0].cname && memcmp(sdes.chunks[0].cname, "vigil", 5) == 0);
    VT_EQ_INT(sdes.chunks[1].ssrc, 0x55667788);
    VT_CHECK(sdes.chunks[1].cname == NULL);
    VT_EQ_INT(vg_rtcp_next(&it, &p), 0);
    VT_EQ_INT(vg_rtcp_next(&it, &p), 0);
}

static void test_rr_nack_pli(void)
{
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    struct vg_rtcp_rr rr;
    struct vg_rtcp_fb fb;
    uint16_t lost[8];
    size_t n;
    vg_rtcp_iter_init(&it, rr_nack_pli, sizeof rr_nack_pli);
    VT_EQ_INT(vg_rtcp_next(&it, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_rr(&p, &rr), 0);
    VT_EQ_INT(rr.ssrc, 0x0a0b0c0d);
    VT_EQ_INT(rr.n_reports, 1);
    expect_report(&rr.reports[0], 0x11223344, 0, 5, 0xffff, 16, 0, 0);

    VT_EQ_INT(vg_rtcp_next(&it, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_nack(&p, &fb, lost, ARRAY_LEN(lost), &n), 0);
    VT_EQ_INT(fb.sender_ssrc, 0x0a0b0c0d);
    VT_EQ_INT(fb.media_ssrc, 0x11223344);
    static const uint16_t want[] = {100, 101, 103, 65535, 0, 15};
    VT_EQ_INT(n, ARRAY_LEN(want));
    for (size_t i = 0; i < n && i < ARRAY_LEN(want); i++)
        VT_EQ_INT(lost[i], want[i]);
    /* A short array: the first three, and the caller learns it was cut. */
    VT_EQ_INT(vg_rtcp_parse_nack(&p, &fb, lost, 3, &n), VG_ENOSPC);
    VT_EQ_INT(n, 3);
    VT_EQ_INT(lost[2], 103);
    VT_EQ_INT(vg_rtcp_parse_nack(&p, &fb, lost, 4, &n), VG_ENOSPC);
    VT_EQ_INT(n, 4);
    VT_EQ_INT(lost[3], 65535);
    VT_EQ_INT(vg_rtcp_parse_pli(&p, &fb), VG_EINVAL); /* an RTPFB is not a PLI */

    VT_EQ_INT(vg_rtcp_next(&it, &p), 1);
    VT_EQ_INT(p.pt, VG_RTCP_PSFB);
    VT_EQ_INT(vg_rtcp_parse_pli(&p, &fb), 0);
    VT_EQ_INT(fb.sender_ssrc, 0x0a0b0c0d);
    VT_EQ_INT(fb.media_ssrc, 0x11223344);
    VT_EQ_INT(vg_rtcp_next(&it, &p), 0);
}

static int first_packet(const uint8_t *b, size_t len, struct vg_rtcp_pkt *p)
{
    struct vg_rtcp_iter it;
    vg_rtcp_iter_init(&it, b, len);
    return vg_rtcp_next(&it, p);
}

static void test_remb_fir_tcc(void)
{
    struct vg_rtcp_pkt p;
    struct vg_rtcp_remb r;
    VT_EQ_INT(first_packet(remb, sizeof remb, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_remb(&p, &r), 0);
    VT_EQ_INT(r.sender_ssrc, 0x0a0b0c0d);
    VT_EQ_INT(r.bitrate, 1000000);
    VT_EQ_INT(r.n_ssrcs, 2);
    VT_EQ_INT(r.ssrcs[0], 0x11223344);
    VT_EQ_INT(r.ssrcs[1], 0x55667788);

    struct vg_rtcp_fb fb;
    struct vg_rtcp_fir_entry e[4];
    size_t n;
    VT_EQ_INT(first_packet(fir, sizeof fir, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_fir(&p, &fb, e, 4, &n), 0);
    VT_EQ_INT(fb.sender_ssrc, 0x0a0b0c0d);
    VT_EQ_INT(fb.media_ssrc, 0);
    VT_EQ_INT(n, 2);
    VT_EQ_INT(e[0].ssrc, 0x11223344);
    VT_EQ_INT(e[0].seq, 7);
    VT_EQ_INT(e[1].ssrc, 0x55667788);
    VT_EQ_INT(e[1].seq, 255);
    VT_EQ_INT(vg_rtcp_parse_fir(&p, &fb, e, 1, &n), VG_ENOSPC);
    VT_EQ_INT(n, 1);
    VT_EQ_INT(vg_rtcp_parse_remb(&p, &r), VG_EINVAL); /* FMT 4 is not REMB */

    struct vg_rtcp_tcc t;
    VT_EQ_INT(first_packet(tcc, sizeof tcc, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_tcc(&p, &t), 0);
    VT_EQ_INT(t.fb.sender_ssrc, 0x0a0b0c0d);
    VT_EQ_INT(t.fb.media_ssrc, 0x11223344);
    VT_EQ_INT(t.base_seq, 256);
    VT_EQ_INT(t.status_count, 2);
    VT_EQ_INT(t.ref_time, -2);
    VT_EQ_INT(t.fb_count, 5);
    VT_EQ_INT(vg_rtcp_parse_nack(&p, &fb, (uint16_t[4]){0}, 4, &n), VG_EINVAL); /* FMT 15 */
}

/* Walker: how many packets come out before the result, and the result. */
static const struct {
    const char *name;
    const uint8_t *b;
    size_t len;
    int packets;
    int rc;
} walk_vecs[] = {
    {"empty", (const uint8_t[]){0}, 0, 0, 0},
    {"rr no reports", BYTES(0x80, 201, 0x00, 0x01, SSRC_A), 1, 0},
    {"header only", BYTES(0x80, 201, 0x00, 0x00), 1, 0},
    {"3 bytes", BYTES(0x80, 201, 0x00), 0, VG_EINVAL},
    {"version 1", BYTES(0x40, 201, 0x00, 0x01, SSRC_A), 0, VG_EINVAL},
    {"version 3", BYTES(0xc0, 201, 0x00, 0x01, SSRC_A), 0, VG_EINVAL},
    {"length +1 word", BYTES(0x80, 201, 0x00, 0x02, SSRC_A), 0, VG_EINVAL},
    {"length 0xffff", BYTES(0x80, 201, 0xff, 0xff, SSRC_A), 0, VG_EINVAL},
    {"second lies", BYTES(0x80, 201, 0x00, 0x01, SSRC_A, 0x81, 206, 0x00, 0x03, SSRC_A, SSRC_B), 1,
     VG_EINVAL},
    {"trailing 3", BYTES(0x80, 201, 0x00, 0x01, SSRC_A, 0x81, 206, 0x00), 1, VG_EINVAL},
    {"trailing 4 of v0", BYTES(0x80, 201, 0x00, 0x01, SSRC_A, 0, 0, 0, 0), 1, VG_EINVAL},
    {"padded rr", BYTES(0xa0, 201, 0x00, 0x02, SSRC_A, 0, 0, 0, 4), 1, 0},
    {"pad count 0", BYTES(0xa0, 201, 0x00, 0x02, SSRC_A, 0, 0, 0, 0), 0, VG_EINVAL},
    {"pad into header", BYTES(0xa0, 201, 0x00, 0x02, SSRC_A, 0, 0, 0, 9), 0, VG_EINVAL},
    {"pad whole body", BYTES(0xa0, 201, 0x00, 0x02, SSRC_A, 0, 0, 0, 8), 1, 0},
    {"unknown type", BYTES(0x80, 195, 0x00, 0x01, SSRC_A, 0x80, 201, 0x00, 0x01, SSRC_A), 2, 0},
};

static void test_walk(void)
{
    for (size_t i = 0; i < ARRAY_LEN(walk_vecs); i++) {
        struct vg_rtcp_iter it;
        struct vg_rtcp_pkt p;
        int rc, packets = 0;
        vg_rtcp_iter_init(&it, walk_vecs[i].b, walk_vecs[i].len);
        while ((rc = vg_rtcp_next(&it, &p)) == 1) {
            VT_CHECK(p.data >= walk_vecs[i].b &&
                     p.data + p.len <= walk_vecs[i].b + walk_vecs[i].len);
            packets++;
        }
        if (rc != walk_vecs[i].rc || packets != walk_vecs[i].packets)
            fprintf(stderr, "walk %zu (%s): %d packets rc %d\n", i, walk_vecs[i].name, packets, rc);
        VT_EQ_INT(rc, walk_vecs[i].rc);
        VT_EQ_INT(packets, walk_vecs[i].packets);
        if (rc < 0)
            VT_EQ_INT(vg_rtcp_next(&it, &p), VG_EINVAL); /* sticky */
    }
    /* Padding is excluded from the body. */
    struct vg_rtcp_pkt p;
    VT_EQ_INT(first_packet(walk_vecs[11].b, walk_vecs[11].len, &p), 1);
    VT_EQ_INT(p.len, 12);
    VT_EQ_INT(p.body_len, 4);
    VT_EQ_INT(p.padding, 1);
}

/* Packets the walker accepts but whose typed parser must refuse (or accept), each
 * alone in its datagram. */
enum kind { SR, RR, SDES, BYE, NACK, PLI, FIR, REMB, TCC };

static const struct {
    const char *name;
    const uint8_t *b;
    size_t len;
    enum kind kind;
    int rc;
} typed_vecs[] = {
    {"sr 2 reports, room for 1",
     BYTES(0x82, 200, 0x00, 0x0c, SSRC_B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, SSRC_C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
     SR, VG_EINVAL},
    {"sr no sender info", BYTES(0x80, 200, 0x00, 0x01, SSRC_B), SR, VG_EINVAL},
    {"sr with extension",
     BYTES(0x80, 200, 0x00, 0x07, SSRC_B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0xaa, 0xbb, 0xcc, 0xdd),
     SR, 0},
    {"rr 1 report, no room", BYTES(0x81, 201, 0x00, 0x01, SSRC_A), RR, VG_EINVAL},
    {"rr no ssrc", BYTES(0x80, 201, 0x00, 0x00), RR, VG_EINVAL},
    {"sdes item overruns",
     BYTES(0x81, 202, 0x00, 0x03, SSRC_B, 0x01, 0x09, 'a', 'b', 'c', 'd', 0, 0), SDES, VG_EINVAL},
    {"sdes no terminator", BYTES(0x81, 202, 0x00, 0x02, SSRC_B, 0x01, 0x02, 'a', 'b'), SDES,
     VG_EINVAL},
    {"sdes length byte missing", BYTES(0x81, 202, 0x00, 0x02, SSRC_B, 0x01, 0x01, 'a', 0x01), SDES,
     VG_EINVAL},
    {"sdes 2 chunks, 1 there", BYTES(0x82, 202, 0x00, 0x02, SSRC_B, 0, 0, 0, 0), SDES, VG_EINVAL},
    {"sdes 2nd chunk no items",
     BYTES(0x82, 202, 0x00, 0x03, SSRC_B, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0), SDES,
     VG_EINVAL}, /* its SSRC fills the packet: no room for the null item */
    {"sdes empty", BYTES(0x80, 202, 0x00, 0x00), SDES, 0},
    {"bye no reason", BYTES(0x81, 203, 0x00, 0x01, SSRC_B), BYE, 0},
    {"bye 2 ssrcs, 1 there", BYTES(0x82, 203, 0x00, 0x01, SSRC_B), BYE, VG_EINVAL},
    {"bye reason overruns", BYTES(0x81, 203, 0x00, 0x02, SSRC_B, 0x04, 'a', 'b', 'c'), BYE,
     VG_EINVAL},
    {"nack no fci", BYTES(0x81, 205, 0x00, 0x02, SSRC_A, SSRC_B), NACK, VG_EINVAL},
    {"nack fci 6 bytes", BYTES(0xa1, 205, 0x00, 0x04, SSRC_A, SSRC_B, 0, 1, 0, 0, 0, 0, 0, 2), NACK,
     VG_EINVAL},
    {"nack fmt 2", BYTES(0x82, 205, 0x00, 0x03, SSRC_A, SSRC_B, 0, 1, 0, 0), NACK, VG_EINVAL},
    {"pli short", BYTES(0x81, 206, 0x00, 0x01, SSRC_A), PLI, VG_EINVAL},
    {"pli with extra", BYTES(0x81, 206, 0x00, 0x03, SSRC_A, SSRC_B, 0, 0, 0, 0), PLI, 0},
    {"fir no entries", BYTES(0x84, 206, 0x00, 0x02, SSRC_A, 0, 0, 0, 0), FIR, VG_EINVAL},
    {"fir half entry", BYTES(0x84, 206, 0x00, 0x03, SSRC_A, 0, 0, 0, 0, SSRC_B), FIR, VG_EINVAL},
    {"remb other app",
     BYTES(0x8f, 206, 0x00, 0x04, SSRC_A, 0, 0, 0, 0, 'A', 'B', 'C', 'D', 0, 0, 0, 0), REMB,
     VG_ENOENT},
    {"remb no id", BYTES(0x8f, 206, 0x00, 0x02, SSRC_A, 0, 0, 0, 0), REMB, VG_EINVAL},
    {"remb no bitrate", BYTES(0x8f, 206, 0x00, 0x03, SSRC_A, 0, 0, 0, 0, 'R', 'E', 'M', 'B'), REMB,
     VG_EINVAL},
    {"remb says 2 has 1",
     BYTES(0x8f, 206, 0x00, 0x05, SSRC_A, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 2, 0, 0, 1, SSRC_B), REMB,
     VG_EINVAL},
    {"remb says 0 has 1",
     BYTES(0x8f, 206, 0x00, 0x05, SSRC_A, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0, 0, 0, 1, SSRC_B), REMB,
     VG_EINVAL},
    {"remb overflow",
     BYTES(0x8f, 206, 0x00, 0x04, SSRC_A, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0, 0xfc, 0x00, 0x02),
     REMB, VG_EINVAL}, /* 2 << 63 */
    {"tcc short", BYTES(0x8f, 205, 0x00, 0x03, SSRC_A, SSRC_B, 0, 1, 0, 1), TCC, VG_EINVAL},
};

static int parse_kind(const struct vg_rtcp_pkt *p, enum kind k)
{
    static struct vg_rtcp_sr sr;
    static struct vg_rtcp_rr rr;
    static struct vg_rtcp_sdes sdes;
    static struct vg_rtcp_bye bye;
    static struct vg_rtcp_remb remb_out;
    struct vg_rtcp_fb fb;
    struct vg_rtcp_tcc t;
    uint16_t lost[64];
    struct vg_rtcp_fir_entry e[8];
    size_t n;
    switch (k) {
    case SR: return vg_rtcp_parse_sr(p, &sr);
    case RR: return vg_rtcp_parse_rr(p, &rr);
    case SDES: return vg_rtcp_parse_sdes(p, &sdes);
    case BYE: return vg_rtcp_parse_bye(p, &bye);
    case NACK: return vg_rtcp_parse_nack(p, &fb, lost, 64, &n);
    case PLI: return vg_rtcp_parse_pli(p, &fb);
    case FIR: return vg_rtcp_parse_fir(p, &fb, e, 8, &n);
    case REMB: return vg_rtcp_parse_remb(p, &remb_out);
    case TCC: return vg_rtcp_parse_tcc(p, &t);
    }
    return 1;
}

static void test_typed(void)
{
    for (size_t i = 0; i < ARRAY_LEN(typed_vecs); i++) {
        struct vg_rtcp_pkt p;
        int rc = first_packet(typed_vecs[i].b, typed_vecs[i].len, &p);
        VT_EQ_INT(rc, 1);
        if (rc != 1)
            continue;
        rc = parse_kind(&p, typed_vecs[i].kind);
        if (rc != typed_vecs[i].rc)
            fprintf(stderr, "typed %zu (%s): rc %d, want %d\n", i, typed_vecs[i].name, rc,
                    typed_vecs[i].rc);
        VT_EQ_INT(rc, typed_vecs[i].rc);
    }
}

/* An item list ending on a 32-bit boundary still needs a null octet, and then three
 * more to the next boundary: the next chunk starts 4 bytes later, not at once. */
static void test_sdes_alignment(void)
{
    static const uint8_t b[] = {0x82, 202, 0x00, 0x05, SSRC_B, 0x01, 0x02, 'a', 'b',
                                0,    0,   0,    0,    SSRC_C, 0x01, 0x01, 'z', 0};
    struct vg_rtcp_pkt p;
    struct vg_rtcp_sdes sdes;
    VT_EQ_INT(first_packet(b, sizeof b, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_sdes(&p, &sdes), 0);
    VT_EQ_INT(sdes.n_chunks, 2);
    VT_EQ_INT(sdes.chunks[0].cname_len, 2);
    VT_EQ_INT(sdes.chunks[1].ssrc, 0x55667788);
    VT_EQ_INT(sdes.chunks[1].cname_len, 1);
    VT_CHECK(sdes.chunks[1].cname == b + 22);
}

static void test_bye_and_remb_limits(void)
{
    struct vg_rtcp_pkt p;
    struct vg_rtcp_bye bye;
    const uint8_t b[] = {0x82, 203, 0x00, 0x04, SSRC_B, SSRC_C, 0x05,
                         'h',  'u', 'n',  'g',  'u',    0,      0};
    VT_EQ_INT(first_packet(b, sizeof b, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_bye(&p, &bye), 0);
    VT_EQ_INT(bye.n_ssrcs, 2);
    VT_EQ_INT(bye.ssrcs[1], 0x55667788);
    VT_EQ_INT(bye.reason_len, 5);
    VT_CHECK(bye.reason && memcmp(bye.reason, "hungu", 5) == 0);

    /* Exponent 46 with a full mantissa is the largest value the builder makes; exponent
     * 63 with mantissa 1 still fits 64 bits; mantissa 2 there does not. */
    static const struct {
        uint8_t b17, b18, b19;
        int rc;
        uint64_t bitrate;
    } v[] = {
        {0xbb, 0xff, 0xff, 0, 0xffffc00000000000ull}, /* exp 46, mantissa 0x3ffff */
        {0xfc, 0x00, 0x01, 0, 0x8000000000000000ull}, /* exp 63, mantissa 1 */
        {0xfc, 0x00, 0x02, VG_EINVAL, 0},             /* exp 63, mantissa 2 */
        {0xbf, 0xff, 0xff, VG_EINVAL, 0},             /* exp 47, mantissa 0x3ffff */
        {0x00, 0x00, 0x00, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        uint8_t r[] = {0x8f, 206, 0x00, 0x04, SSRC_A, 0,        0,        0,       0,
                       'R',  'E', 'M',  'B',  0,      v[i].b17, v[i].b18, v[i].b19};
        struct vg_rtcp_remb out;
        VT_EQ_INT(first_packet(r, sizeof r, &p), 1);
        int rc = vg_rtcp_parse_remb(&p, &out);
        VT_EQ_INT(rc, v[i].rc);
        if (rc == 0)
            VT_CHECK(out.bitrate == v[i].bitrate);
    }
}

/* ---- builders ---- */

static uint8_t out[300000];

static void test_build_sr(void)
{
    struct vg_rtcp_sr sr = {.ssrc = 0x01020304,
                            .ntp = 0xe54c6a1b12345678ull,
                            .rtp_ts = 7,
                            .packet_count = 8,
                            .octet_count = 9,
                            .n_reports = 2};
    sr.reports[0] = (struct vg_rtcp_report_block){0xaabbccdd, 12, -5, 70000, 3, 4, 5};
    sr.reports[1] = (struct vg_rtcp_report_block){0x11111111, 255, 0x7fffff, 1, 2, 3, 4};
    int len = vg_rtcp_build_sr(out, sizeof out, &sr);
    VT_EQ_INT(len, 28 + 48);
    VT_EQ_INT(out[0], 0x82);
    VT_EQ_INT(out[1], 200);
    VT_EQ_INT(out[3], 18);
    struct vg_rtcp_pkt p;
    struct vg_rtcp_sr back;
    VT_EQ_INT(first_packet(out, (size_t)len, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_sr(&p, &back), 0);
    VT_EQ_INT(back.ssrc, sr.ssrc);
    VT_CHECK(back.ntp == sr.ntp);
    VT_EQ_INT(back.rtp_ts, 7);
    VT_EQ_INT(back.packet_count, 8);
    VT_EQ_INT(back.octet_count, 9);
    VT_EQ_INT(back.n_reports, 2);
    expect_report(&back.reports[0], 0xaabbccdd, 12, -5, 70000, 3, 4, 5);
    expect_report(&back.reports[1], 0x11111111, 255, 0x7fffff, 1, 2, 3, 4);
    VT_EQ_INT(vg_rtcp_build_sr(out, (size_t)len - 1, &sr), VG_ENOSPC);
    sr.n_reports = 32;
    VT_EQ_INT(vg_rtcp_build_sr(out, sizeof out, &sr), VG_EINVAL);
}

/* RR: clamping of out-of-range loss counts, and the full 31 blocks. */
static void test_build_rr(void)
{
    static struct vg_rtcp_rr rr, rr_back;
    struct vg_rtcp_pkt p;
    int len;
    rr.ssrc = 0x0a0b0c0d;
    rr.n_reports = 31;
    for (int i = 0; i < 31; i++)
        rr.reports[i] = (struct vg_rtcp_report_block){(uint32_t)i, (uint8_t)i, i - 15, 0, 0, 0, 0};
    rr.reports[0].cumulative_lost = 0x1000000;
    rr.reports[1].cumulative_lost = -0x900000;
    len = vg_rtcp_build_rr(out, sizeof out, &rr);
    VT_EQ_INT(len, 8 + 31 * 24);
    VT_EQ_INT(out[0], 0x80 | 31);
    VT_EQ_INT(first_packet(out, (size_t)len, &p), 1);
    VT_EQ_INT(vg_rtcp_parse_rr(&p, &rr_back), 0);
    VT_EQ_INT(rr_back.n_reports, 31);
    VT_EQ_INT(rr_back.reports[0].cumulative_lost, 0x7fffff);
    VT_EQ_INT(rr_back.reports[1].cumulative_lost, -0x800000);
    VT_EQ_INT(rr_back.reports[30].ssrc, 30);
    VT_EQ_INT(rr_back.reports[30].cumulative_lost, 15);
    VT_EQ_INT(rr_back.reports[2].cumulative_lost, -13);
    VT_EQ_INT(vg_rtcp_build_rr(out, (size_t)len - 1, &rr), VG_ENOSPC);
    rr.n_reports = 0;
    VT_EQ_INT(vg_rtcp_build_rr(out, 8, &rr), 8);
    static const uint8_t empty_rr[] = {0x80, 201, 0x00, 0x01, SSRC_A};
    VT_EQ_INT(memcmp(out, empty_rr, 8), 0);
}

static void test_build_nack(void)
{
    static const struct {
        const char *name;
        uint16_t lost[20];
        size_t n;
        int len; /* bytes: 12 + 4 per PID/BLP pair */
    } v[] = {
        {"one", {100}, 1, 16},
        {"17 in a row",
         {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116},
         17,
         16},
        {"18 in a row",
         {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117},
         18,
         20},
        {"across the wrap", {65534, 65535, 0, 14}, 4, 16},
        {"out of order", {10, 12, 11}, 3, 20},
        {"duplicate", {7, 7}, 2, 20},
        {"far apart", {1, 30000, 2}, 3, 24},
        {"gap of 17", {5, 22}, 2, 20},
        {"gap of 16", {5, 21}, 2, 16},
    };
    struct vg_rtcp_fb fb = {0x0a0b0c0d, 0x11223344};
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        int len = vg_rtcp_build_nack(out, sizeof out, &fb, v[i].lost, v[i].n);
        if (len != v[i].len)
            fprintf(stderr, "nack %s: %d bytes, want %d\n", v[i].name, len, v[i].len);
        VT_EQ_INT(len, v[i].len);
        if (len < 0)
            continue;
        VT_EQ_INT(vg_rtcp_build_nack(out, (size_t)len - 1, &fb, v[i].lost, v[i].n), VG_ENOSPC);
        len = vg_rtcp_build_nack(out, (size_t)len, &fb, v[i].lost, v[i].n);
        struct vg_rtcp_pkt p;
        struct vg_rtcp_fb fb_back;
        uint16_t back[40];
        size_t n;
        VT_EQ_INT(first_packet(out, (size_t)len, &p), 1);
        VT_EQ_INT(vg_rtcp_parse_nack(&p, &fb_back, back, 40, &n), 0);
        VT_EQ_INT(fb_back.sender_ssrc, 0x0a0b0c0d);
        VT_EQ_INT(fb_back.media_ssrc, 0x11223344);
        VT_EQ_INT(n, v[i].n);
        for (size_t j = 0; j < n && j < v[i].n; j++)
            VT_EQ_INT(back[j], v[i].lost[j]);
    }
}

static void test_build_nack_limits(void)
{
    struct vg_rtcp_fb fb = {0x0a0b0c0d, 0x11223344};
    /* Exact bytes for a small one. */
    static const uint8_t want[] = {0x81, 205, 0x00, 0x03, SSRC_A, SSRC_B, 0x00, 0x64, 0x00, 0x05};
    VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, (uint16_t[]){100, 101, 103}, 3), 16);
    VT_EQ_INT(memcmp(out, want, sizeof want), 0);
    VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, (uint16_t[]){1}, 0), VG_EINVAL);
    VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, NULL, 1), VG_EINVAL);
    /* 70000 pairs cannot be described by a 16-bit length, whatever the buffer. */
    uint16_t *many = calloc(70000, sizeof *many);
    VT_CHECK(many != NULL);
    if (many) {
        VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, many, 70000), VG_ENOSPC);
        /* The largest that fits: 65533 pairs, length field 0xffff. */
        VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, many, 65533), 262144);
        VT_EQ_INT(out[2], 0xff);
        VT_EQ_INT(out[3], 0xff);
        VT_EQ_INT(vg_rtcp_build_nack(out, sizeof out, &fb, many, 65534), VG_ENOSPC);
        free(many);
    }
}

static void test_build_pli_fir_remb(void)
{
    struct vg_rtcp_fb fb = {0x0a0b0c0d, 0x11223344};
    VT_EQ_INT(vg_rtcp_build_pli(out, 11, &fb), VG_ENOSPC);
    VT_EQ_INT(vg_rtcp_build_pli(out, 12, &fb), 12);
    VT_EQ_INT(memcmp(out, rr_nack_pli + sizeof rr_nack_pli - 12, 12), 0);

    const struct vg_rtcp_fir_entry e[] = {{0x11223344, 7}, {0x55667788, 255}};
    VT_EQ_INT(vg_rtcp_build_fir(out, sizeof fir - 1, 0x0a0b0c0d, e, 2), VG_ENOSPC);
    VT_EQ_INT(vg_rtcp_build_fir(out, sizeof fir, 0x0a0b0c0d, e, 2), (int)sizeof fir);
    VT_EQ_INT(memcmp(out, fir, sizeof fir), 0);
    VT_EQ_INT(vg_rtcp_build_fir(out, sizeof out, 1, e, 0), VG_EINVAL);

    static struct vg_rtcp_remb r = {.sender_ssrc = 0x0a0b0c0d,
                                    .bitrate = 1000000,
                                    .n_ssrcs = 2,
                                    .ssrcs = {0x11223344, 0x55667788}};
    VT_EQ_INT(vg_rtcp_build_remb(out, sizeof remb - 1, &r), VG_ENOSPC);
    VT_EQ_INT(vg_rtcp_build_remb(out, sizeof remb, &r), (int)sizeof remb);
    VT_EQ_INT(memcmp(out, remb, sizeof remb), 0);

    static const struct {
        uint64_t in, out;
    } rates[] = {
        {0, 0},
        {1, 1},
        {262143, 262143},
        {262144, 262144},
        {262145, 262144}, /* mantissa 131072, exp 1: the low bit is lost */
        {1000001, 1000000},
        {2500000000ull, 2499985408ull},
        {UINT64_MAX, 0xffffc00000000000ull},
    };
    for (size_t i = 0; i < ARRAY_LEN(rates); i++) {
        static struct vg_rtcp_remb back;
        struct vg_rtcp_pkt p;
        r.bitrate = rates[i].in;
        r.n_ssrcs = (uint8_t)i;
        int len = vg_rtcp_build_remb(out, sizeof out, &r);
        VT_EQ_INT(len, 20 + 4 * (int)i);
        VT_EQ_INT(first_packet(out, (size_t)len, &p), 1);
        VT_EQ_INT(vg_rtcp_parse_remb(&p, &back), 0);
        if (back.bitrate != rates[i].out)
            fprintf(stderr, "remb %llu -> %llu\n", (unsigned long long)rates[i].in,
                    (unsigned long long)back.bitrate);
        VT_CHECK(back.bitrate == rates[i].out);
        VT_EQ_INT(back.n_ssrcs, i);
    }
}

/* A compound made by calling builders one after another walks back in order. */
static void test_build_compound(void)
{
    struct vg_rtcp_rr rr = {.ssrc = 0x0a0b0c0d, .n_reports = 1};
    rr.reports[0] = (struct vg_rtcp_report_block){0x11223344, 0, 5, 0xffff, 16, 0, 0};
    struct vg_rtcp_fb fb = {0x0a0b0c0d, 0x11223344};
    uint8_t buf[sizeof rr_nack_pli];
    size_t off = 0;
    int n = vg_rtcp_build_rr(buf + off, sizeof buf - off, &rr);
    VT_EQ_INT(n, 32);
    off += n > 0 ? (size_t)n : 0;
    n = vg_rtcp_build_nack(buf + off, sizeof buf - off, &fb,
                           (uint16_t[]){100, 101, 103, 65535, 0, 15}, 6);
    VT_EQ_INT(n, 20);
    off += n > 0 ? (size_t)n : 0;
    n = vg_rtcp_build_pli(buf + off, sizeof buf - off, &fb);
    VT_EQ_INT(n, 12);
    off += n > 0 ? (size_t)n : 0;
    VT_EQ_INT(off, sizeof rr_nack_pli);
    VT_EQ_INT(memcmp(buf, rr_nack_pli, sizeof buf), 0); /* byte for byte the vector above */
    VT_EQ_INT(vg_rtcp_build_pli(buf + off, sizeof buf - off, &fb), VG_ENOSPC);
}

int main(void)
{
    test_sr_sdes();
    test_rr_nack_pli();
    test_remb_fir_tcc();
    test_walk();
    test_typed();
    test_sdes_alignment();
    test_bye_and_remb_limits();
    test_build_sr();
    test_build_rr();
    test_build_nack();
    test_build_nack_limits();
    test_build_pli_fir_remb();
    test_build_compound();
    return vt_done("rtcp");
}
