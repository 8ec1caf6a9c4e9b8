/* Any byte string either is refused or parses into a view that lies inside it and
 * accounts for every byte; extension elements lie inside the extension block and
 * lookups agree with the walk; rewriting the header and writing the old values back
 * gives the input again; sequence comparison and unwrapping agree. */
#include "rtp.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_view(const struct vg_rtp_view *v, const uint8_t *data, size_t size)
{
    size_t fixed = VG_RTP_HEADER_LEN + 4 * (size_t)v->csrc_count;
    CHECK(v->pkt == data && v->len == size);
    CHECK(v->pt < 128 && v->csrc_count <= VG_RTP_MAX_CSRC);
    CHECK(v->payload_off + v->payload_len + v->pad_len == size);
    CHECK(v->pad_len == 0 || v->pad_len == data[size - 1]);
    if (v->has_ext) {
        CHECK(v->ext_off == fixed + 4 && v->ext_len % 4 == 0);
        CHECK(v->ext_off + v->ext_len == v->payload_off);
    } else {
        CHECK(v->ext_len == 0 && v->payload_off == fixed);
    }
    if (v->csrc_count)
        (void)vg_rtp_csrc(v, v->csrc_count - 1u);
    CHECK(vg_rtp_csrc(v, v->csrc_count) == 0);
}

static void check_ext(const struct vg_rtp_view *v)
{
    size_t pos = 0, prev = 0;
    struct vg_rtp_ext e, f;
    int rc;
    const uint8_t *lo = v->pkt + v->ext_off, *hi = lo + v->ext_len;
    while ((rc = vg_rtp_ext_next(v, &pos, &e)) == 1) {
        CHECK(pos > prev && pos <= v->ext_len);
        prev = pos;
        CHECK(e.data >= lo && e.data + e.len <= hi && e.id != 0);
        if (v->ext_profile == VG_RTP_EXT_ONE_BYTE)
            CHECK(e.id < 15 && e.len >= 1 && e.len <= 16);
        /* The lookup finds this element or an earlier one with the same id. */
        CHECK(vg_rtp_ext_find(v, e.id, &f) == 0);
        CHECK(f.id == e.id && f.data <= e.data);
    }
    CHECK(rc == 0 || rc == VG_EINVAL);
    CHECK(vg_rtp_ext_find(v, 0, &f) != 0); /* id 0 is padding, never an element */
}

static void check_rewrite(const struct vg_rtp_view *v, const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size);
    CHECK(b);
    memcpy(b, data, size);
    CHECK(vg_rtp_set_ssrc(b, size, ~v->ssrc) == 0);
    CHECK(vg_rtp_set_seq(b, size, (uint16_t)(v->seq + 1)) == 0);
    CHECK(vg_rtp_set_ts(b, size, v->ts ^ 0x80000001u) == 0);
    CHECK(vg_rtp_set_pt(b, size, (uint8_t)((v->pt + 1) & 0x7f)) == 0);
    CHECK(vg_rtp_set_marker(b, size, !v->marker) == 0);
    CHECK(vg_rtp_set_pt(b, size, 128) == VG_EINVAL);
    struct vg_rtp_view w;
    CHECK(vg_rtp_parse(b, size, &w) == 0);
    CHECK(w.ssrc == ~v->ssrc && w.seq == (uint16_t)(v->seq + 1));
    CHECK(w.ts == (v->ts ^ 0x80000001u) && w.pt == ((v->pt + 1) & 0x7f) && w.marker != v->marker);
    CHECK(w.payload_off == v->payload_off && w.payload_len == v->payload_len);
    CHECK(w.pad_len == v->pad_len && w.ext_len == v->ext_len && w.csrc_count == v->csrc_count);
    CHECK(memcmp(b + VG_RTP_HEADER_LEN, data + VG_RTP_HEADER_LEN, size - VG_RTP_HEADER_LEN) == 0);
    vg_rtp_set_ssrc(b, size, v->ssrc);
    vg_rtp_set_seq(b, size, v->seq);
    vg_rtp_set_ts(b, size, v->ts);
    vg_rtp_set_pt(b, size, v->pt);
    vg_rtp_set_marker(b, size, v->marker);
    CHECK(memcmp(b, data, size) == 0);
    free(b);
}

static void check_seq(uint16_t a, uint16_t b)
{
    CHECK(vg_rtp_seq_cmp(a, b) == -vg_rtp_seq_cmp(b, a));
    CHECK(vg_rtp_seq_cmp(a, a) == 0);
    CHECK((vg_rtp_seq_cmp(a, b) == 0) == (a == b));
    struct vg_rtp_seq_unwrapper u;
    vg_rtp_seq_unwrapper_init(&u);
    int64_t x = vg_rtp_seq_unwrap(&u, a), y = vg_rtp_seq_unwrap(&u, b);
    int64_t d = y - x;
    CHECK(x == a && (uint16_t)d == (uint16_t)(b - a));
    CHECK(d >= -32768 && d <= 32768);
    CHECK((d > 0) - (d < 0) == vg_rtp_seq_cmp(b, a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_rtp_view v;
    int rc = vg_rtp_parse(data, size, &v);
    if (rc != 0) {
        CHECK(rc == VG_EINVAL);
        return 0;
    }
    check_view(&v, data, size);
    check_ext(&v);
    check_rewrite(&v, data, size);
    check_seq(v.seq, (uint16_t)v.ts);
    return 0;
}
