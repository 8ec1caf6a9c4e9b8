/* SDP from the network. Any bytes parse or are refused with a reason; every view
 * of a parse lies inside the input. A parsed offer is answered into a fixed buffer,
 * and the answer parses back to what the negotiated result says. The same bytes are
 * also tried as a console's answer to a fixed gateway offer, and as one trickled
 * candidate. Any broken invariant aborts. */
#include "sdp.h"
#include "vg_err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_sdp parsed, reparsed; /* ~110 KB each */
static char out[16384];

#define FP                                                                                         \
    "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:"   \
    "E6:0F"

/* The gateway: audio sendrecv and video sendonly, H.264 before VP8. */
static const struct vg_sdp_local gw = {
    .session_id = 7,
    .session_version = 1,
    .ice_ufrag = "vGw1",
    .ice_pwd = "Zq3xV9kL2mN8pR4sT6uW0yB1",
    .fingerprint = FP,
    .n_codecs = 3,
    .codecs = {VG_SDP_CODEC_OPUS, VG_SDP_CODEC_H264, VG_SDP_CODEC_VP8},
    .cname = "vigil-gw",
    .stream_id = "vigil",
    .n_send = 2,
    .send = {{.kind = VG_SDP_KIND_AUDIO, .ssrc = 1001},
             {.kind = VG_SDP_KIND_VIDEO, .dir = VG_SDP_SENDONLY, .ssrc = 2001, .rtx_ssrc = 2002}},
};

static void must(int cond)
{
    if (!cond)
        abort();
}

/* Reasons and our SDP go into logs and JSON: printable ASCII (and CRLF) only. */
static void ascii(const char *t, int crlf)
{
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        must((c >= 0x20 && c <= 0x7e) || (crlf && (c == '\r' || c == '\n')));
    }
}

static const uint8_t *in_p;
static size_t in_len;

static void inside(struct vg_sdp_str s)
{
    if (s.len == 0)
        return;
    const char *b = (const char *)in_p;
    must(s.p >= b && s.len <= in_len && (size_t)(s.p - b) <= in_len - s.len);
    must(!memchr(s.p, '\n', s.len) && !memchr(s.p, '\r', s.len));
}

static void check_transport(const struct vg_sdp_transport *t)
{
    inside(t->ice_ufrag);
    inside(t->ice_pwd);
    inside(t->ice_options);
    must(t->n_fp <= VG_SDP_MAX_FP && t->setup <= VG_SDP_SETUP_HOLDCONN);
    for (size_t i = 0; i < t->n_fp; i++) {
        inside(t->fp[i].hash);
        inside(t->fp[i].value);
    }
}

static void check_candidate(const struct vg_sdp_candidate *c)
{
    inside(c->foundation);
    inside(c->address);
    inside(c->raddr);
    inside(c->ufrag);
    must(c->component >= 1 && c->component <= 256 && c->priority > 0);
    must(c->foundation.len > 0 && c->address.len > 0 && c->type <= VG_SDP_CAND_RELAY);
}

static void check_media(const struct vg_sdp_media *m)
{
    inside(m->media);
    inside(m->proto);
    inside(m->fmt);
    inside(m->c);
    inside(m->mid);
    inside(m->msid_stream);
    inside(m->msid_track);
    inside(m->simulcast);
    check_transport(&m->transport);
    must(m->n_pt <= VG_SDP_MAX_PT && m->n_ext <= VG_SDP_MAX_EXTMAP);
    must(m->n_ssrc <= VG_SDP_MAX_SSRC && m->n_cand <= VG_SDP_MAX_CAND);
    must(m->n_fid <= VG_SDP_MAX_FID && m->n_rid <= VG_SDP_MAX_RID);
    must(m->mid.len <= VG_SDP_MID_MAX && m->dir <= VG_SDP_INACTIVE);
    for (size_t i = 0; i < m->n_pt; i++) {
        must(m->pt[i].pt <= 127 && m->pt[i].apt <= 127);
        inside(m->pt[i].name);
        inside(m->pt[i].fmtp);
        for (size_t j = 0; j < i; j++)
            must(m->pt[j].pt != m->pt[i].pt);
    }
    for (size_t i = 0; i < m->n_ext; i++) {
        must(m->ext[i].id >= 1 && m->ext[i].id <= 255);
        inside(m->ext[i].uri);
    }
    for (size_t i = 0; i < m->n_ssrc; i++) {
        inside(m->ssrc[i].attr);
        inside(m->ssrc[i].value);
    }
    for (size_t i = 0; i < m->n_cand; i++)
        check_candidate(&m->cand[i]);
    for (size_t i = 0; i < m->n_rid; i++)
        inside(m->rid[i].id);
}

static void check_parse(const struct vg_sdp *s)
{
    inside(s->o_user);
    inside(s->o_sess_id);
    inside(s->o_sess_version);
    inside(s->session_name);
    inside(s->c);
    inside(s->msid_semantic);
    check_transport(&s->transport);
    must(s->n_bundle <= VG_SDP_MAX_MEDIA && s->n_media <= VG_SDP_MAX_MEDIA);
    for (size_t i = 0; i < s->n_bundle; i++)
        inside(s->bundle[i]);
    for (size_t i = 0; i < s->n_media; i++)
        check_media(&s->media[i]);
}

static int same(struct vg_sdp_str s, const char *z)
{
    return s.len == strlen(z) && (s.len == 0 || memcmp(s.p, z, s.len) == 0);
}

static void check_nego_media(const struct vg_sdp_nego_media *nm)
{
    must(strlen(nm->mid) <= VG_SDP_MID_MAX);
    must(nm->n_remote_ssrc <= VG_SDP_NEGO_SSRC);
    if (!nm->accepted) {
        must(nm->reason[0] != '\0');
        return;
    }
    must(nm->codec != VG_SDP_CODEC_NONE && nm->pt <= 127 && nm->rtx_pt <= 127);
    must((nm->fb & ~VG_SDP_FB_SERVED) == 0 && nm->dir <= VG_SDP_INACTIVE);
    must(nm->kind == (nm->codec == VG_SDP_CODEC_OPUS ? VG_SDP_KIND_AUDIO : VG_SDP_KIND_VIDEO));
}

/* The answer we wrote parses, and says what nego says. */
static void check_answer(const struct vg_sdp *o, const struct vg_sdp_nego *n, size_t len)
{
    struct vg_sdp_error err;
    must(strlen(out) == len);
    ascii(out, 1);
    in_p = (const uint8_t *)out;
    in_len = len;
    must(vg_sdp_parse(out, len, &reparsed, &err) == 0);
    check_parse(&reparsed);
    must(reparsed.n_media == o->n_media && n->n_media == o->n_media);
    size_t accepted = 0;
    for (size_t i = 0; i < n->n_media; i++) {
        const struct vg_sdp_nego_media *nm = &n->media[i];
        const struct vg_sdp_media *m = &reparsed.media[i];
        check_nego_media(nm);
        must(same(m->mid, nm->mid));
        must((m->port != 0) == nm->accepted);
        if (!nm->accepted)
            continue;
        accepted++;
        must(m->n_pt >= 1 && m->pt[0].pt == nm->pt && m->pt[0].fb == nm->fb);
        must(m->rtcp_mux && m->dir == nm->dir && m->transport.setup == n->local_setup);
        must(m->n_ext <= 4);
    }
    must(accepted > 0);
    must(n->local_setup == VG_SDP_SETUP_ACTIVE || n->local_setup == VG_SDP_SETUP_PASSIVE);
    must(reparsed.n_bundle == (n->bundle ? accepted : 0));
}

static void try_answer(const uint8_t *data, size_t size)
{
    static struct vg_sdp_nego n;
    struct vg_sdp_error err;
    size_t len = 0;
    int rc = vg_sdp_answer(&parsed, &gw, out, sizeof out, &len, &n, &err);
    must(rc == 0 || rc == VG_EPROTO || rc == VG_ENOSPC);
    if (rc == VG_EPROTO) {
        must(err.reason[0] != '\0');
        ascii(err.reason, 0);
    }
    if (rc == VG_ENOSPC)
        must(out[0] == '\0' && len >= sizeof out);
    if (rc == 0)
        check_answer(&parsed, &n, len);
    in_p = data;
    in_len = size;
}

/* The same bytes as a console's answer to the gateway's offer. */
static void try_apply(void)
{
    static struct vg_sdp_nego n;
    struct vg_sdp_error err;
    int rc = vg_sdp_apply_answer(&gw, &parsed, &n, &err);
    must(rc == 0 || rc == VG_EPROTO);
    if (rc) {
        must(err.reason[0] != '\0');
        ascii(err.reason, 0);
        return;
    }
    must(n.n_media == gw.n_send && n.transport_index < n.n_media);
    must(n.media[n.transport_index].accepted);
    for (size_t i = 0; i < n.n_media; i++) {
        check_nego_media(&n.media[i]);
        must(n.media[i].kind == gw.send[i].kind);
    }
    must(n.local_setup == VG_SDP_SETUP_ACTIVE || n.local_setup == VG_SDP_SETUP_PASSIVE);
}

static void try_candidate(const uint8_t *data, size_t size)
{
    struct vg_sdp_candidate c;
    struct vg_sdp_error err;
    int rc = vg_sdp_parse_candidate((const char *)data, size, &c, &err);
    must(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    if (rc == VG_EINVAL) {
        must(err.reason[0] != '\0');
        ascii(err.reason, 0);
    }
    if (rc == 0)
        check_candidate(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_sdp_error err;
    in_p = data;
    in_len = size;
    try_candidate(data, size);
    int rc = vg_sdp_parse((const char *)data, size, &parsed, &err);
    must(rc == 0 || rc == VG_EINVAL || rc == VG_ENOSPC);
    if (rc) {
        must(err.reason[0] != '\0' && strlen(err.reason) < sizeof err.reason);
        ascii(err.reason, 0);
        return 0;
    }
    check_parse(&parsed);
    try_apply();
    try_answer(data, size);
    return 0;
}
