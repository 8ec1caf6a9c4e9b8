#include "rtp.h"
#include "vg_err.h"
#include "vt.h"

/* A byte string and its length, for table rows. */
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* The fixed header used by most rows: seq 0x1234, ts 0x00000064, SSRC 0xdeadbeef. */
#define HDR(b0, b1) b0, b1, 0x12, 0x34, 0x00, 0x00, 0x00, 0x64, 0xde, 0xad, 0xbe, 0xef

struct parse_vec {
    const char *name;
    const uint8_t *b;
    size_t len;
    int rc;
    /* expected view when rc == 0 */
    uint8_t pt, marker, cc, has_ext;
    uint16_t profile;
    size_t ext_off, ext_len, payload_off, payload_len;
    uint8_t pad;
};

static const struct parse_vec parse_vecs[] = {
    {"minimal", BYTES(HDR(0x80, 0x60)), 0, 96, 0, 0, 0, 0, 0, 0, 12, 0, 0},
    {"marker+payload", BYTES(HDR(0x80, 0xe0), 0xaa, 0xbb, 0xcc), 0, 96, 1, 0, 0, 0, 0, 0, 12, 3, 0},
    {"pt 0", BYTES(HDR(0x80, 0x00), 0x01), 0, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0},
    {"pt 127 marker", BYTES(HDR(0x80, 0xff)), 0, 127, 1, 0, 0, 0, 0, 0, 12, 0, 0},
    {"2 csrc", BYTES(HDR(0x82, 0x6f), 0, 0, 0, 1, 0, 0, 0, 2, 0x55, 0x66), 0, 111, 0, 2, 0, 0, 0, 0,
     20, 2, 0},
    {"15 csrc",
     BYTES(HDR(0x8f, 0x60), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
           0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0, 12, 0, 0, 0, 13,
           0, 0, 0, 14, 0, 0, 0, 15),
     0, 96, 0, 15, 0, 0, 0, 0, 72, 0, 0},
    {"one-byte ext",
     BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0x00, 0x21, 0xbb, 0xcc, 0x00, 0x00,
           0x77, 0x88),
     0, 96, 0, 0, 1, 0xbede, 16, 8, 24, 2, 0},
    {"two-byte ext",
     BYTES(HDR(0x90, 0x60), 0x10, 0x00, 0x00, 0x02, 0x05, 0x02, 0x11, 0x22, 0x00, 0x07, 0x00, 0x00,
           0x99),
     0, 96, 0, 0, 1, 0x1000, 16, 8, 24, 1, 0},
    {"empty ext", BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0x00, 0x00), 0, 96, 0, 0, 1, 0xbede, 16, 0, 16,
     0, 0},
    {"other profile", BYTES(HDR(0x90, 0x60), 0x12, 0x34, 0x00, 0x01, 1, 2, 3, 4), 0, 96, 0, 0, 1,
     0x1234, 16, 4, 20, 0, 0},
    {"padding", BYTES(HDR(0xa0, 0x60), 0x01, 0x02, 0x00, 0x00, 0x03), 0, 96, 0, 0, 0, 0, 0, 0, 12,
     2, 3},
    {"padding 1", BYTES(HDR(0xa0, 0x60), 0x01, 0x01), 0, 96, 0, 0, 0, 0, 0, 0, 12, 1, 1},
    {"padding only", BYTES(HDR(0xa0, 0x60), 0, 0, 0, 4), 0, 96, 0, 0, 0, 0, 0, 0, 12, 0, 4},
    {"csrc+ext+pad",
     BYTES(HDR(0xb1, 0xe0), 0, 0, 0, 9, 0xbe, 0xde, 0x00, 0x01, 0x30, 0x42, 0, 0, 0xde, 0x00, 0x02),
     0, 96, 1, 1, 1, 0xbede, 20, 4, 24, 1, 2},

    {"empty", (const uint8_t[]){0x80}, 0, VG_EINVAL, .pt = 0},
    {"11 bytes", BYTES(0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0), VG_EINVAL, .pt = 0},
    {"version 0", BYTES(HDR(0x00, 0x60)), VG_EINVAL, .pt = 0},
    {"version 1", BYTES(HDR(0x40, 0x60)), VG_EINVAL, .pt = 0},
    {"version 3", BYTES(HDR(0xc0, 0x60)), VG_EINVAL, .pt = 0},
    {"csrc short by 1", BYTES(HDR(0x82, 0x60), 0, 0, 0, 1, 0, 0, 0), VG_EINVAL, .pt = 0},
    {"csrc missing", BYTES(HDR(0x81, 0x60)), VG_EINVAL, .pt = 0},
    {"ext hdr short", BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0x00), VG_EINVAL, .pt = 0},
    {"ext hdr absent", BYTES(HDR(0x90, 0x60)), VG_EINVAL, .pt = 0},
    {"ext body short", BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7),
     VG_EINVAL, .pt = 0},
    {"ext len huge", BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4), VG_EINVAL,
     .pt = 0},
    {"ext after csrc short", BYTES(HDR(0x91, 0x60), 0, 0, 0, 9, 0xbe, 0xde, 0x00, 0x01), VG_EINVAL,
     .pt = 0},
    {"pad count 0", BYTES(HDR(0xa0, 0x60), 0x01, 0x00), VG_EINVAL, .pt = 0},
    {"pad into header", BYTES(HDR(0xa0, 0x60), 0x01, 0x03), VG_EINVAL, .pt = 0},
    {"pad no room", BYTES(HDR(0xa0, 0x60)), VG_EINVAL, .pt = 0}, /* last SSRC byte 0xef as count */
    {"pad into csrc", BYTES(HDR(0xa1, 0x60), 0, 0, 0, 4), VG_EINVAL, .pt = 0},
    {"pad into ext", BYTES(HDR(0xb0, 0x60), 0xbe, 0xde, 0x00, 0x01, 0x10, 0x01, 0x00, 0x01),
     VG_EINVAL, .pt = 0},
};

static void check_parse_vec(size_t i, const struct parse_vec *t)
{
    struct vg_rtp_view v;
    int rc = vg_rtp_parse(t->b, t->len, &v);
    if (rc != t->rc)
        fprintf(stderr, "vector %zu (%s): rc %d, want %d\n", i, t->name, rc, t->rc);
    VT_EQ_INT(rc, t->rc);
    if (rc != 0 || t->rc != 0)
        return;
    VT_CHECK(v.pkt == t->b);
    VT_EQ_INT(v.len, t->len);
    VT_EQ_INT(v.pt, t->pt);
    VT_EQ_INT(v.marker, t->marker);
    VT_EQ_INT(v.seq, 0x1234);
    VT_EQ_INT(v.ts, 0x64);
    VT_EQ_INT(v.ssrc, 0xdeadbeef);
    VT_EQ_INT(v.csrc_count, t->cc);
    VT_EQ_INT(v.has_ext, t->has_ext);
    VT_EQ_INT(v.ext_profile, t->profile);
    VT_EQ_INT(v.ext_off, t->ext_off);
    VT_EQ_INT(v.ext_len, t->ext_len);
    VT_EQ_INT(v.payload_off, t->payload_off);
    VT_EQ_INT(v.payload_len, t->payload_len);
    VT_EQ_INT(v.pad_len, t->pad);
    VT_CHECK(vg_rtp_payload(&v) == t->b + t->payload_off);
}

/* A packet that ends exactly at its header (no payload, no padding) becomes
 * malformed when any byte is cut: this covers every CSRC and extension boundary. */
static void test_every_truncation(void)
{
    int tested = 0;
    for (size_t i = 0; i < sizeof parse_vecs / sizeof parse_vecs[0]; i++) {
        const struct parse_vec *t = &parse_vecs[i];
        if (t->rc != 0 || t->payload_len != 0 || t->pad != 0)
            continue;
        tested++;
        for (size_t n = 0; n < t->len; n++) {
            struct vg_rtp_view v;
            int rc = vg_rtp_parse(t->b, n, &v);
            if (rc != VG_EINVAL)
                fprintf(stderr, "%s cut to %zu: rc %d\n", t->name, n, rc);
            VT_EQ_INT(rc, VG_EINVAL);
        }
    }
    VT_EQ_INT(tested, 5);
}

static void test_csrc(void)
{
    struct vg_rtp_view v;
    VT_EQ_INT(vg_rtp_parse(parse_vecs[4].b, parse_vecs[4].len, &v), 0);
    VT_EQ_INT(vg_rtp_csrc(&v, 0), 1);
    VT_EQ_INT(vg_rtp_csrc(&v, 1), 2);
    VT_EQ_INT(vg_rtp_csrc(&v, 2), 0); /* out of range */
    VT_EQ_INT(vg_rtp_parse(parse_vecs[5].b, parse_vecs[5].len, &v), 0);
    VT_EQ_INT(vg_rtp_csrc(&v, 14), 15);
}

/* Extension element lookups: id -> (rc, len, first byte of data). */
struct ext_vec {
    const char *name;
    const uint8_t *b;
    size_t len;
    uint8_t id;
    int rc;
    size_t elen;
    uint8_t first;
};

#define ONE_BYTE(words, ...) HDR(0x90, 0x60), 0xbe, 0xde, 0x00, words, __VA_ARGS__
#define TWO_BYTE(words, ...) HDR(0x90, 0x60), 0x10, 0x00, 0x00, words, __VA_ARGS__

static const struct ext_vec ext_vecs[] = {
    {"1B id1", BYTES(ONE_BYTE(2, 0x10, 0xaa, 0x00, 0x21, 0xbb, 0xcc, 0, 0)), 1, 0, 1, 0xaa},
    {"1B id2 after pad", BYTES(ONE_BYTE(2, 0x10, 0xaa, 0x00, 0x21, 0xbb, 0xcc, 0, 0)), 2, 0, 2,
     0xbb},
    {"1B absent", BYTES(ONE_BYTE(2, 0x10, 0xaa, 0x00, 0x21, 0xbb, 0xcc, 0, 0)), 3, VG_ENOENT,
     .elen = 0},
    {"1B 16 bytes",
     BYTES(ONE_BYTE(5, 0x1f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x20, 0x99, 0)),
     2, 0, 1, 0x99},
    {"1B leading pad", BYTES(ONE_BYTE(1, 0, 0, 0x40, 0x5a)), 4, 0, 1, 0x5a},
    {"1B first of dup", BYTES(ONE_BYTE(1, 0x30, 0x01, 0x30, 0x02)), 3, 0, 1, 0x01},
    {"1B overrun", BYTES(ONE_BYTE(1, 0x13, 0xaa, 0xbb, 0xcc)), 1, VG_EINVAL, .elen = 0},
    {"1B overrun later", BYTES(ONE_BYTE(1, 0x10, 0xaa, 0x21, 0xbb)), 2, VG_EINVAL, .elen = 0},
    {"1B found before overrun", BYTES(ONE_BYTE(1, 0x10, 0xaa, 0x21, 0xbb)), 1, 0, 1, 0xaa},
    {"1B id 0", BYTES(ONE_BYTE(1, 0x01, 0xaa, 0x00, 0x00)), 1, VG_EINVAL, .elen = 0},
    {"1B id 15 stops", BYTES(ONE_BYTE(1, 0x10, 0xaa, 0xf0, 0x21)), 2, VG_ENOENT, .elen = 0},
    {"1B before id 15", BYTES(ONE_BYTE(1, 0x10, 0xaa, 0xf0, 0x21)), 1, 0, 1, 0xaa},
    {"1B id 14", BYTES(ONE_BYTE(1, 0xe0, 0x77, 0, 0)), 14, 0, 1, 0x77},
    {"1B empty block", BYTES(HDR(0x90, 0x60), 0xbe, 0xde, 0x00, 0x00), 1, VG_ENOENT, .elen = 0},
    {"2B id5", BYTES(TWO_BYTE(2, 0x05, 0x02, 0x11, 0x22, 0x00, 0x07, 0x00, 0x00)), 5, 0, 2, 0x11},
    {"2B id7 empty", BYTES(TWO_BYTE(2, 0x05, 0x02, 0x11, 0x22, 0x00, 0x07, 0x00, 0x00)), 7, 0, 0,
     0x00},
    {"2B id 200", BYTES(TWO_BYTE(2, 0xc8, 0x03, 1, 2, 3, 0, 0, 0)), 200, 0, 3, 1},
    {"2B overrun", BYTES(TWO_BYTE(1, 0x05, 0x03, 0x11, 0x22)), 5, VG_EINVAL, .elen = 0},
    {"2B lone id", BYTES(TWO_BYTE(1, 0x00, 0x00, 0x00, 0x05)), 5, VG_EINVAL, .elen = 0},
    {"2B appbits", BYTES(HDR(0x90, 0x60), 0x10, 0x0f, 0x00, 0x01, 0x09, 0x01, 0x42, 0x00), 9, 0, 1,
     0x42},
    {"not 8285", BYTES(HDR(0x90, 0x60), 0x12, 0x34, 0x00, 0x01, 0x10, 0xaa, 0, 0), 1, VG_ENOENT,
     .elen = 0},
    {"no ext", BYTES(HDR(0x80, 0x60), 0x10, 0xaa), 1, VG_ENOENT, .elen = 0},
};

static void test_ext_find(void)
{
    for (size_t i = 0; i < sizeof ext_vecs / sizeof ext_vecs[0]; i++) {
        const struct ext_vec *t = &ext_vecs[i];
        struct vg_rtp_view v;
        struct vg_rtp_ext e = {0};
        VT_EQ_INT(vg_rtp_parse(t->b, t->len, &v), 0);
        int rc = vg_rtp_ext_find(&v, t->id, &e);
        if (rc != t->rc)
            fprintf(stderr, "ext vector %zu (%s): rc %d, want %d\n", i, t->name, rc, t->rc);
        VT_EQ_INT(rc, t->rc);
        if (rc != 0 || t->rc != 0)
            continue;
        VT_EQ_INT(e.id, t->id);
        VT_EQ_INT(e.len, t->elen);
        VT_CHECK(e.data >= t->b + v.ext_off && e.data + e.len <= t->b + v.ext_off + v.ext_len);
        VT_EQ_INT(e.data[0], t->first);
    }
}

static void test_ext_walk(void)
{
    /* All elements of the one-byte row, in order, then the end, then still the end. */
    struct vg_rtp_view v;
    VT_EQ_INT(vg_rtp_parse(ext_vecs[0].b, ext_vecs[0].len, &v), 0);
    size_t pos = 0;
    struct vg_rtp_ext e;
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 1);
    VT_EQ_INT(e.id, 1);
    VT_EQ_INT(e.len, 1);
    VT_EQ_INT(pos, 2);
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 1);
    VT_EQ_INT(e.id, 2);
    VT_EQ_INT(e.len, 2);
    VT_EQ_INT(e.data[1], 0xcc);
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 0);
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 0);

    /* The two-byte row yields id 5 (2 bytes) and id 7 (0 bytes). */
    const struct ext_vec *t = &ext_vecs[0];
    while (strcmp(t->name, "2B id5") != 0)
        t++;
    VT_EQ_INT(vg_rtp_parse(t->b, t->len, &v), 0);
    pos = 0;
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 1);
    VT_EQ_INT(e.id, 5);
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 1);
    VT_EQ_INT(e.id, 7);
    VT_EQ_INT(e.len, 0);
    VT_EQ_INT(vg_rtp_ext_next(&v, &pos, &e), 0);
}

static void test_rewrite(void)
{
    uint8_t p[] = {
        HDR(0xb1, 0xe0), 0, 0, 0, 9, 0xbe, 0xde, 0x00, 0x01, 0x30, 0x42, 0, 0, 0xde, 0x00, 0x02};
    uint8_t orig[sizeof p];
    memcpy(orig, p, sizeof p);
    VT_EQ_INT(vg_rtp_set_ssrc(p, sizeof p, 0x01020304), 0);
    VT_EQ_INT(vg_rtp_set_seq(p, sizeof p, 0xfffe), 0);
    VT_EQ_INT(vg_rtp_set_ts(p, sizeof p, 0xa0b0c0d0), 0);
    VT_EQ_INT(vg_rtp_set_pt(p, sizeof p, 100), 0);
    struct vg_rtp_view v;
    VT_EQ_INT(vg_rtp_parse(p, sizeof p, &v), 0);
    VT_EQ_INT(v.ssrc, 0x01020304);
    VT_EQ_INT(v.seq, 0xfffe);
    VT_EQ_INT(v.ts, 0xa0b0c0d0);
    VT_EQ_INT(v.pt, 100);
    VT_EQ_INT(v.marker, 1); /* set_pt keeps the marker */
    VT_EQ_INT(v.csrc_count, 1);
    VT_EQ_INT(v.payload_off, 24);
    VT_EQ_INT(v.pad_len, 2);
    VT_EQ_INT(memcmp(p + 12, orig + 12, sizeof p - 12), 0); /* nothing past the header */
    VT_EQ_INT(p[0], 0xb1);

    VT_EQ_INT(vg_rtp_set_marker(p, sizeof p, false), 0);
    VT_EQ_INT(p[1], 100); /* set_marker keeps the payload type */
    VT_EQ_INT(vg_rtp_set_marker(p, sizeof p, true), 0);
    VT_EQ_INT(p[1], 0x80 | 100);

    /* Refusals write nothing. */
    uint8_t before[sizeof p];
    memcpy(before, p, sizeof p);
    VT_EQ_INT(vg_rtp_set_pt(p, sizeof p, 128), VG_EINVAL);
    VT_EQ_INT(vg_rtp_set_ssrc(p, 11, 1), VG_EINVAL);
    VT_EQ_INT(vg_rtp_set_seq(p, 11, 1), VG_EINVAL);
    VT_EQ_INT(vg_rtp_set_ts(p, 0, 1), VG_EINVAL);
    VT_EQ_INT(vg_rtp_set_marker(p, 11, false), VG_EINVAL);
    VT_EQ_INT(memcmp(p, before, sizeof p), 0);
    p[0] = 0x40; /* version 1: not ours to rewrite */
    VT_EQ_INT(vg_rtp_set_seq(p, sizeof p, 1), VG_EINVAL);
    VT_EQ_INT(p[2], before[2]);
}

static void test_seq_cmp(void)
{
    static const struct {
        uint16_t a, b;
        int want;
    } v[] = {
        {1, 0, 1},           {0, 1, -1},           {5, 5, 0},         {0, 65535, 1},
        {65535, 0, -1},      {10, 65530, 1},       {0x7fff, 0, 1},    {0x8001, 0, -1},
        {0x8000, 0, 1},      {0, 0x8000, -1},      {100, 0x8064, -1}, {0x8064, 100, 1},
        {0xffff, 0x7fff, 1}, {0x7fff, 0xffff, -1}, {30000, 1000, 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int got = vg_rtp_seq_cmp(v[i].a, v[i].b);
        if (got != v[i].want)
            fprintf(stderr, "seq_cmp(%u, %u) = %d, want %d\n", v[i].a, v[i].b, got, v[i].want);
        VT_EQ_INT(got, v[i].want);
    }
}

static void test_unwrap(void)
{
    static const struct {
        const char *name;
        uint16_t in[5];
        int64_t out[5];
        size_t n;
    } v[] = {
        {"forward wrap", {65534, 65535, 0, 1}, {65534, 65535, 65536, 65537}, 4},
        {"back before start", {1, 0, 65535, 2}, {1, 0, -1, 2}, 4},
        {"reorder across wrap", {65535, 1, 65534, 3}, {65535, 65537, 65534, 65539}, 4},
        {"big steps", {0, 0x7fff, 0xfffe, 0x7ffd}, {0, 32767, 65534, 98301}, 4},
        {"half-way up", {0, 0x8000}, {0, 32768}, 2},
        {"half-way down", {0x8000, 0}, {0x8000, 0}, 2},
        {"repeat", {7, 7, 7}, {7, 7, 7}, 3},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_rtp_seq_unwrapper u;
        vg_rtp_seq_unwrapper_init(&u);
        for (size_t j = 0; j < v[i].n; j++) {
            int64_t got = vg_rtp_seq_unwrap(&u, v[i].in[j]);
            if (got != v[i].out[j])
                fprintf(stderr, "unwrap %s step %zu: %lld\n", v[i].name, j, (long long)got);
            VT_EQ_INT(got, v[i].out[j]);
        }
    }
    /* Three and a bit wraps in order. */
    struct vg_rtp_seq_unwrapper u;
    vg_rtp_seq_unwrapper_init(&u);
    int64_t last = 0;
    for (uint32_t k = 0; k < 200000; k++)
        last = vg_rtp_seq_unwrap(&u, (uint16_t)(60000 + k));
    VT_EQ_INT(last, 60000 + 199999);
}

int main(void)
{
    for (size_t i = 0; i < sizeof parse_vecs / sizeof parse_vecs[0]; i++)
        check_parse_vec(i, &parse_vecs[i]);
    test_every_truncation();
    test_csrc();
    test_ext_find();
    test_ext_walk();
    test_rewrite();
    test_seq_cmp();
    test_unwrap();
    return vt_done("rtp");
}
