/* Evidence formats: segment headers, records, scans (torn and malformed), the
 * audit line split, hex. Tables of vectors, no IO. */
#include "evfmt.h"
#include "vg_err.h"
#include "vt.h"

#include <stdlib.h>

static void test_header_roundtrip(void)
{
    struct vg_ev_seg_header h = {.stream = 0x0102030405060708ULL, .seq = 7, .opened_us = 123456};
    snprintf(h.case_id, sizeof h.case_id, "c-0123456789ab");
    for (int i = 0; i < 32; i++)
        h.prev[i] = (uint8_t)i;
    uint8_t buf[VG_EV_HDR_LEN];
    VT_EQ_INT(vg_ev_header_write(&h, buf), VG_OK);
    VT_CHECK(memcmp(buf, "VIGILSEG", 8) == 0);
    struct vg_ev_seg_header g;
    VT_EQ_INT(vg_ev_header_parse(buf, sizeof buf, &g), VG_OK);
    VT_EQ_INT(g.stream == h.stream, 1);
    VT_EQ_INT(g.seq, 7);
    VT_EQ_INT(g.opened_us, 123456);
    VT_EQ_STR(g.case_id, "c-0123456789ab");
    VT_CHECK(memcmp(g.prev, h.prev, 32) == 0);
    VT_EQ_INT(vg_ev_header_parse(buf, VG_EV_HDR_LEN - 1, &g), VG_EAGAIN);
    /* each of these bytes changed makes it not a header */
    static const size_t bad[] = {0, 7, 8, 11, 15, 28, 31, 55, 112, 127};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t c[VG_EV_HDR_LEN];
        memcpy(c, buf, sizeof c);
        c[bad[i]] ^= 0x80;
        VT_EQ_INT(vg_ev_header_parse(c, sizeof c, &g), VG_EINVAL);
    }
    struct vg_ev_seg_header empty = {.seq = 1};
    VT_EQ_INT(vg_ev_header_write(&empty, buf), VG_EINVAL);
}

static void test_records(void)
{
    uint8_t rtp[] = {0x80, 0x60, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 0xaa};
    struct vg_ev_record r = {VG_EV_REC_RTP, 1, 1700000000000000LL, rtp, sizeof rtp};
    uint8_t buf[64];
    int n = vg_ev_record_write(&r, buf, sizeof buf);
    VT_EQ_INT(n, VG_EV_REC_HDR + (int)sizeof rtp);
    VT_EQ_INT(vg_ev_record_write(&r, buf, 20), VG_ENOSPC);
    struct vg_ev_record g;
    VT_EQ_INT(vg_ev_record_parse(buf, (size_t)n, &g), n);
    VT_EQ_INT(g.type, VG_EV_REC_RTP);
    VT_EQ_INT(g.kind, 1);
    VT_EQ_INT(g.at_us, 1700000000000000LL);
    VT_EQ_INT(g.len, sizeof rtp);
    VT_CHECK(memcmp(g.data, rtp, sizeof rtp) == 0);
    for (int cut = 0; cut < n; cut++) /* every prefix is incomplete, never malformed */
        VT_EQ_INT(vg_ev_record_parse(buf, (size_t)cut, &g), VG_EAGAIN);
    struct {
        size_t off;
        uint8_t val;
    } bad[] = {{0, 0xff}, {4, 3}, {4, 0}, {5, 2}, {6, 1}, {7, 1}, {8, 0x80}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t c[64];
        memcpy(c, buf, sizeof c);
        c[bad[i].off] = bad[i].val;
        VT_EQ_INT(vg_ev_record_parse(c, (size_t)n, &g), VG_EINVAL);
    }
    struct vg_ev_record ev = {VG_EV_REC_EVENT, 1, 5, rtp, 2}; /* events have kind 0 */
    n = vg_ev_record_write(&ev, buf, sizeof buf);
    VT_EQ_INT(vg_ev_record_parse(buf, (size_t)n, &g), VG_EINVAL);
}

/* A segment of three records, then cut and corrupted. */
static void test_scan(void)
{
    static uint8_t seg[VG_EV_HDR_LEN + 3 * 40];
    struct vg_ev_seg_header h = {.stream = 9, .seq = 1};
    snprintf(h.case_id, sizeof h.case_id, "c-1");
    vg_ev_header_write(&h, seg);
    size_t off = VG_EV_HDR_LEN;
    const char *ev = "{\"type\":\"chat\"}";
    uint8_t pkt[20] = {0x80};
    for (int i = 0; i < 3; i++) {
        struct vg_ev_record r =
            i == 1 ? (struct vg_ev_record){VG_EV_REC_EVENT, 0, 200 + i, (const uint8_t *)ev, 15}
                   : (struct vg_ev_record){VG_EV_REC_RTP, 0, 200 + i, pkt, 20};
        off += (size_t)vg_ev_record_write(&r, seg + off, sizeof seg - off);
    }
    struct vg_ev_scan sc;
    VT_EQ_INT(vg_ev_scan(seg, off, &sc), VG_OK);
    VT_EQ_INT(sc.records, 3);
    VT_EQ_INT(sc.rtp, 2);
    VT_EQ_INT(sc.events, 1);
    VT_EQ_INT(sc.first_us, 200);
    VT_EQ_INT(sc.last_us, 202);
    VT_EQ_INT(sc.complete_len, off);
    VT_EQ_INT(sc.torn, 0);
    /* a crash mid-record: torn, cut back to the last whole record */
    VT_EQ_INT(vg_ev_scan(seg, off - 5, &sc), VG_OK);
    VT_EQ_INT(sc.torn, 1);
    VT_EQ_INT(sc.records, 2);
    VT_EQ_INT(sc.last_us, 201);
    VT_EQ_INT(sc.complete_len, off - 36);
    /* a corrupted record header is malformed, and where */
    seg[VG_EV_HDR_LEN + 36 + 6] = 1;
    VT_EQ_INT(vg_ev_scan(seg, off, &sc), VG_EINVAL);
    VT_EQ_INT(sc.bad_offset, VG_EV_HDR_LEN + 36);
    printf("scan: 3 records, torn at -5 bytes keeps 2, corrupt record found at %zu\n",
           sc.bad_offset);
}

static void test_audit_split(void)
{
    char line[300];
    const char *sig = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMz"
                      "Q1Njc4OTo7PD0+Pw==";
    snprintf(line, sizeof line, "{\"seq\":1}\t%s", sig);
    const char *j;
    size_t jl;
    uint8_t raw[64];
    VT_EQ_INT(vg_ev_audit_split(line, strlen(line), &j, &jl, raw), VG_OK);
    VT_EQ_INT(jl, 9);
    VT_EQ_INT(raw[0], 0);
    VT_EQ_INT(raw[63], 63);
    VT_EQ_INT(vg_ev_audit_split(line, strlen(line) - 1, &j, &jl, raw), VG_EINVAL);
    VT_EQ_INT(vg_ev_audit_split("{}", 2, &j, &jl, raw), VG_EINVAL);
    line[12] = '*';
    VT_EQ_INT(vg_ev_audit_split(line, strlen(line), &j, &jl, raw), VG_EINVAL);
}

static void test_hex(void)
{
    uint8_t b[3] = {0x00, 0xab, 0xff}, c[3];
    char hex[7];
    vg_ev_hex(b, 3, hex);
    VT_EQ_STR(hex, "00abff");
    VT_EQ_INT(vg_ev_unhex(hex, c, 3), VG_OK);
    VT_CHECK(memcmp(b, c, 3) == 0);
    VT_EQ_INT(vg_ev_unhex("00ABff", c, 3), VG_EINVAL);
    VT_EQ_INT(vg_ev_unhex("00abf", c, 3), VG_EINVAL);
}

int main(void)
{
    test_header_roundtrip();
    test_records();
    test_scan();
    test_audit_split();
    test_hex();
    return vt_done("evfmt");
}
