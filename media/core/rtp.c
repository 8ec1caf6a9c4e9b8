#include "rtp.h"
#include "bytes.h"

#include <string.h>

#include "vg_err.h"

/* Reads the extension block header at *off and moves *off past the block. Only the
 * block's frame is checked here; its elements are read on demand (see rtp.h). */
static int parse_ext(const uint8_t *pkt, size_t len, size_t *off, struct vg_rtp_view *v)
{
    if (len - *off < 4)
        return VG_EINVAL;
    v->has_ext = true;
    v->ext_profile = vg_rd16(pkt + *off);
    v->ext_len = (size_t)vg_rd16(pkt + *off + 2) * 4;
    v->ext_off = *off + 4;
    if (len - v->ext_off < v->ext_len)
        return VG_EINVAL;
    *off = v->ext_off + v->ext_len;
    return 0;
}

int vg_rtp_parse(const uint8_t *pkt, size_t len, struct vg_rtp_view *v)
{
    if (!pkt || !v || len < VG_RTP_HEADER_LEN || pkt[0] >> 6 != 2)
        return VG_EINVAL;
    memset(v, 0, sizeof *v);
    v->pkt = pkt;
    v->len = len;
    v->csrc_count = pkt[0] & 0x0f;
    v->marker = pkt[1] >> 7;
    v->pt = pkt[1] & 0x7f;
    v->seq = vg_rd16(pkt + 2);
    v->ts = vg_rd32(pkt + 4);
    v->ssrc = vg_rd32(pkt + 8);

    size_t off = VG_RTP_HEADER_LEN + 4 * (size_t)v->csrc_count;
    if (off > len)
        return VG_EINVAL;
    if ((pkt[0] & 0x10) && parse_ext(pkt, len, &off, v) < 0)
        return VG_EINVAL;
    if (pkt[0] & 0x20) {
        /* RFC 3550 5.1: the last octet counts the padding, itself included, so 0 is
         * impossible and the padding may not reach back into the header. */
        v->pad_len = pkt[len - 1];
        if (v->pad_len == 0 || v->pad_len > len - off)
            return VG_EINVAL;
    }
    v->payload_off = off;
    v->payload_len = len - off - v->pad_len;
    return 0;
}

uint32_t vg_rtp_csrc(const struct vg_rtp_view *v, unsigned i)
{
    if (i >= v->csrc_count)
        return 0;
    return vg_rd32(v->pkt + VG_RTP_HEADER_LEN + 4 * (size_t)i);
}

/* RFC 8285 4.2: one byte of ID (4 bits) and length-1 (4 bits). */
static int next_one_byte(const uint8_t *b, size_t n, size_t *pos, struct vg_rtp_ext *out)
{
    while (*pos < n && b[*pos] == 0) /* padding between elements */
        (*pos)++;
    if (*pos >= n)
        return 0;
    uint8_t id = b[*pos] >> 4;
    size_t elen = (size_t)(b[*pos] & 0x0f) + 1;
    if (id == 15) {
        *pos = n; /* reserved: stop processing the whole block */
        return 0;
    }
    if (id == 0 || n - *pos - 1 < elen)
        return VG_EINVAL;
    out->id = id;
    out->len = elen;
    out->data = b + *pos + 1;
    *pos += 1 + elen;
    return 1;
}

/* RFC 8285 4.3: one byte of ID, one byte of length (0..255). */
static int next_two_byte(const uint8_t *b, size_t n, size_t *pos, struct vg_rtp_ext *out)
{
    while (*pos < n && b[*pos] == 0)
        (*pos)++;
    if (*pos >= n)
        return 0;
    if (n - *pos < 2 || n - *pos - 2 < b[*pos + 1])
        return VG_EINVAL;
    out->id = b[*pos];
    out->len = b[*pos + 1];
    out->data = b + *pos + 2;
    *pos += 2 + out->len;
    return 1;
}

int vg_rtp_ext_next(const struct vg_rtp_view *v, size_t *pos, struct vg_rtp_ext *out)
{
    if (!v->has_ext || *pos >= v->ext_len)
        return 0;
    const uint8_t *b = v->pkt + v->ext_off;
    if (v->ext_profile == VG_RTP_EXT_ONE_BYTE)
        return next_one_byte(b, v->ext_len, pos, out);
    if ((v->ext_profile & 0xfff0) == VG_RTP_EXT_TWO_BYTE)
        return next_two_byte(b, v->ext_len, pos, out);
    return 0;
}

int vg_rtp_ext_find(const struct vg_rtp_view *v, uint8_t id, struct vg_rtp_ext *out)
{
    size_t pos = 0;
    struct vg_rtp_ext e;
    int rc;
    while ((rc = vg_rtp_ext_next(v, &pos, &e)) > 0) {
        if (e.id == id) {
            *out = e;
            return 0;
        }
    }
    return rc < 0 ? rc : VG_ENOENT;
}

static bool rewritable(const uint8_t *pkt, size_t len)
{
    return pkt && len >= VG_RTP_HEADER_LEN && pkt[0] >> 6 == 2;
}

int vg_rtp_set_ssrc(uint8_t *pkt, size_t len, uint32_t ssrc)
{
    if (!rewritable(pkt, len))
        return VG_EINVAL;
    vg_wr32(pkt + 8, ssrc);
    return 0;
}

int vg_rtp_set_seq(uint8_t *pkt, size_t len, uint16_t seq)
{
    if (!rewritable(pkt, len))
        return VG_EINVAL;
    vg_wr16(pkt + 2, seq);
    return 0;
}

int vg_rtp_set_ts(uint8_t *pkt, size_t len, uint32_t ts)
{
    if (!rewritable(pkt, len))
        return VG_EINVAL;
    vg_wr32(pkt + 4, ts);
    return 0;
}

int vg_rtp_set_pt(uint8_t *pkt, size_t len, uint8_t pt)
{
    if (!rewritable(pkt, len) || pt > 127)
        return VG_EINVAL;
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | pt);
    return 0;
}

int vg_rtp_set_marker(uint8_t *pkt, size_t len, bool marker)
{
    if (!rewritable(pkt, len))
        return VG_EINVAL;
    pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (marker ? 0x80 : 0));
    return 0;
}

/* Signed distance from b forward to a, in -0x8000..0x7fff, with the half-way case
 * resolved by raw value (see vg_rtp_seq_cmp in rtp.h). */
static int32_t seq_delta(uint16_t a, uint16_t b)
{
    int32_t d = (uint16_t)(a - b);
    if (d > 0x8000 || (d == 0x8000 && a < b))
        d -= 0x10000;
    return d;
}

int vg_rtp_seq_cmp(uint16_t a, uint16_t b)
{
    int32_t d = seq_delta(a, b);
    return d > 0 ? 1 : d < 0 ? -1 : 0;
}

void vg_rtp_seq_unwrapper_init(struct vg_rtp_seq_unwrapper *u)
{
    u->last = 0;
    u->started = false;
}

int64_t vg_rtp_seq_unwrap(struct vg_rtp_seq_unwrapper *u, uint16_t seq)
{
    if (!u->started) {
        u->started = true;
        u->last = seq;
        return seq;
    }
    /* Relative to the last value seen, late ones included: a burst of reordered
     * packets near a wrap then still lands on both sides of it correctly. */
    u->last += seq_delta(seq, (uint16_t)u->last);
    return u->last;
}
