/* One client WebRTC endpoint: media/ice + media/core, wired the way the gateway's own
 * legs are (media/engine/leg.c), without forwarding. */
#include "rtc.h"

#include "classify.h"
#include "ice.h"
#include "srtp.h"
#include "vg_err.h"
#include "vtime.h"

#include <glib.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

struct vg_rtc {
    struct vg_rtc_config cfg;
    struct vg_rtc_callbacks cb;
    void *ud;
    struct vg_ice *ice;
    struct vg_ice_credentials cred;
    struct vg_dtls *dtls;
    struct vg_srtp *srtp;
    GSource *dtls_timer;
    bool ice_up, failed, gathering;
    char cname[32], stream_id[32];
    struct vg_sdp_local local; /* kept: vg_sdp_apply_answer() needs the offer's */
    struct vg_sdp_nego nego;
    bool negotiated;
};

static void fail(struct vg_rtc *r, const char *why)
{
    if (r->failed)
        return;
    r->failed = true;
    if (r->cb.on_failed)
        r->cb.on_failed(why, r->ud);
}

/* DTLS ------------------------------------------------------------------------------- */

static void dtls_pump(struct vg_rtc *r);

static gboolean dtls_timer_cb(gpointer data)
{
    struct vg_rtc *r = data;
    g_source_unref(r->dtls_timer);
    r->dtls_timer = NULL;
    if (vg_dtls_handle_timeout(r->dtls, vg_now_us()) == VG_EPROTO)
        fail(r, "DTLS handshake timed out");
    else
        dtls_pump(r);
    return G_SOURCE_REMOVE;
}

static void arm_dtls_timer(struct vg_rtc *r)
{
    if (r->dtls_timer) {
        g_source_destroy(r->dtls_timer);
        g_source_unref(r->dtls_timer);
        r->dtls_timer = NULL;
    }
    int64_t due = vg_dtls_next_timeout_us(r->dtls);
    if (due < 0)
        return;
    int64_t ms = (due - vg_now_us()) / 1000;
    r->dtls_timer = g_timeout_source_new(ms > 0 ? (guint)ms : 0);
    g_source_set_callback(r->dtls_timer, dtls_timer_cb, r, NULL);
    g_source_attach(r->dtls_timer, r->cfg.ctx);
}

static void dtls_pump(struct vg_rtc *r)
{
    uint8_t buf[2048];
    while (r->ice_up && vg_dtls_pending(r->dtls)) {
        int n = vg_dtls_pop_datagram(r->dtls, buf, sizeof buf);
        if (n <= 0)
            break;
        vg_ice_send(r->ice, buf, (size_t)n);
    }
    enum vg_dtls_state st = vg_dtls_state(r->dtls);
    if (st == VG_DTLS_CONNECTED && !r->srtp) {
        struct vg_srtp_keys keys;
        if (vg_dtls_srtp_keys(r->dtls, &keys) || vg_srtp_new(&keys, 8, &r->srtp)) {
            fail(r, "SRTP setup failed");
            return;
        }
        if (r->cb.on_connected)
            r->cb.on_connected(vg_srtp_profile_name(keys.profile), r->ud);
    } else if (st == VG_DTLS_FAILED) {
        fail(r, vg_dtls_failure(r->dtls));
        return;
    }
    arm_dtls_timer(r);
}

/* Creates the DTLS endpoint once the SDP says who is client. */
static int dtls_setup(struct vg_rtc *r)
{
    struct vg_dtls_config dc = {
        .role = r->nego.local_setup == VG_SDP_SETUP_ACTIVE ? VG_DTLS_CLIENT : VG_DTLS_SERVER,
        .cert = r->cfg.cert,
        .remote_fp_alg = "sha-256",
        .remote_fp_hex = r->nego.remote_fingerprint,
        .srtp_profiles = r->cfg.srtp_profiles,
    };
    int rc = vg_dtls_new(&dc, &r->dtls);
    if (rc)
        return rc;
    if (r->ice_up) {
        vg_dtls_start(r->dtls, vg_now_us());
        dtls_pump(r);
    }
    return VG_OK;
}

/* ICE -------------------------------------------------------------------------------- */

static void on_candidate(const char *line, void *ud)
{
    struct vg_rtc *r = ud;
    if (r->cb.on_candidate)
        r->cb.on_candidate(line, r->ud);
}

static void on_gathering_done(void *ud)
{
    on_candidate("", ud);
}

static void on_state(enum vg_ice_state st, const char *pair, void *ud)
{
    (void)pair;
    struct vg_rtc *r = ud;
    if ((st == VG_ICE_CONNECTED || st == VG_ICE_READY) && !r->ice_up) {
        r->ice_up = true;
        if (r->dtls) {
            if (vg_dtls_state(r->dtls) == VG_DTLS_NEW)
                vg_dtls_start(r->dtls, vg_now_us());
            dtls_pump(r);
        }
    } else if (st == VG_ICE_FAILED) {
        fail(r, "ICE failed");
    }
}

static void on_recv(const uint8_t *buf, size_t len, void *ud)
{
    struct vg_rtc *r = ud;
    uint8_t pkt[2048];
    int n;
    switch (vg_classify(buf, len)) {
    case VG_PKT_DTLS:
        if (r->dtls) {
            vg_dtls_handle_datagram(r->dtls, buf, len, vg_now_us());
            dtls_pump(r);
        }
        break;
    case VG_PKT_RTP:
        if (!r->srtp || len > sizeof pkt)
            break;
        memcpy(pkt, buf, len);
        n = vg_srtp_unprotect_rtp(r->srtp, pkt, len);
        if (n > 0 && r->cb.on_rtp)
            r->cb.on_rtp(pkt, (size_t)n, r->ud);
        break;
    case VG_PKT_RTCP:
        if (!r->srtp || len > sizeof pkt)
            break;
        memcpy(pkt, buf, len);
        n = vg_srtp_unprotect_rtcp(r->srtp, pkt, len);
        if (n > 0 && r->cb.on_rtcp)
            r->cb.on_rtcp(pkt, (size_t)n, r->ud);
        break;
    default: break;
    }
}

/* Life ------------------------------------------------------------------------------- */

int vg_rtc_new(const struct vg_rtc_config *cfg, const struct vg_rtc_callbacks *cb, void *ud,
               struct vg_rtc **out)
{
    struct vg_rtc *r = g_new0(struct vg_rtc, 1);
    r->cfg = *cfg;
    r->cb = *cb;
    r->ud = ud;
    uint32_t rnd[2];
    RAND_bytes((unsigned char *)rnd, sizeof rnd);
    snprintf(r->cname, sizeof r->cname, "load%08x", rnd[0]);
    snprintf(r->stream_id, sizeof r->stream_id, "load-%08x", rnd[1]);
    const char *addrs[1] = {cfg->local_addr};
    struct vg_ice_config ic = {
        .role = cfg->offerer ? VG_ICE_CONTROLLING : VG_ICE_CONTROLLED,
        .nomination = VG_ICE_NOMINATION_REGULAR,
        .local_addrs = addrs,
        .n_local_addrs = cfg->local_addr ? 1 : 0,
        .case_id = "load",
        .leg_id = cfg->offerer ? "citizen" : "taker",
        .loop = cfg->loop,
    };
    struct vg_ice_callbacks icb = {on_candidate, on_gathering_done, on_state, on_recv};
    if (vg_ice_new(cfg->ctx, &ic, &icb, r, &r->ice) || vg_ice_local_credentials(r->ice, &r->cred)) {
        vg_ice_free(r->ice);
        g_free(r);
        return VG_EIO;
    }
    *out = r;
    return VG_OK;
}

void vg_rtc_free(struct vg_rtc *r)
{
    if (!r)
        return;
    if (r->dtls_timer) {
        g_source_destroy(r->dtls_timer);
        g_source_unref(r->dtls_timer);
    }
    vg_ice_free(r->ice);
    vg_dtls_free(r->dtls);
    vg_srtp_free(r->srtp);
    g_free(r);
}

static void fill_local(struct vg_rtc *r)
{
    RAND_bytes((unsigned char *)&r->local.session_id, sizeof r->local.session_id);
    r->local.session_id &= 0x3fffffffffffffffULL;
    r->local.session_version = 1;
    r->local.ice_ufrag = r->cred.ufrag;
    r->local.ice_pwd = r->cred.pwd;
    /* vg_dtls_cert_fingerprint() is "sha-256 AB:...": the SDP wants the hex only. */
    r->local.fingerprint = vg_dtls_cert_fingerprint(r->cfg.cert) + strlen("sha-256 ");
    r->local.cname = r->cname;
    r->local.stream_id = r->stream_id;
    r->local.n_codecs = 2;
    r->local.codecs[0] = VG_SDP_CODEC_OPUS;
    r->local.codecs[1] = VG_SDP_CODEC_VP8;
}

static int start_gathering(struct vg_rtc *r)
{
    if (r->gathering)
        return VG_OK;
    r->gathering = true;
    return vg_ice_gather(r->ice);
}

int vg_rtc_offer(struct vg_rtc *r, uint32_t audio_ssrc, uint32_t video_ssrc, char *out, size_t cap)
{
    fill_local(r);
    r->local.n_send = 2;
    r->local.send[0] = (struct vg_sdp_send){VG_SDP_KIND_AUDIO, VG_SDP_SENDONLY, audio_ssrc, 0};
    r->local.send[1] = (struct vg_sdp_send){VG_SDP_KIND_VIDEO, VG_SDP_SENDONLY, video_ssrc, 0};
    size_t n = 0;
    int rc = vg_sdp_offer(&r->local, out, cap, &n);
    if (rc)
        return rc;
    rc = start_gathering(r);
    return rc ? rc : (int)n;
}

/* Feeds the candidates an SDP carries inline (Janus puts them there). */
static void add_sdp_candidates(struct vg_rtc *r, const char *sdp, size_t len)
{
    const char *p = sdp, *end = sdp + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (l > 12 && l < VG_ICE_CANDIDATE_MAX && !strncmp(p, "a=candidate:", 12)) {
            char line[VG_ICE_CANDIDATE_MAX];
            memcpy(line, p + 2, l - 2);
            line[l - 2] = 0;
            g_strchomp(line);
            vg_ice_add_remote_candidate(r->ice, line);
        }
        p += l + 1;
    }
}

static int remote_ready(struct vg_rtc *r, const char *sdp, size_t len)
{
    r->negotiated = true;
    int rc = vg_ice_set_remote_credentials(r->ice, r->nego.remote_ufrag, r->nego.remote_pwd);
    if (rc)
        return rc;
    add_sdp_candidates(r, sdp, len);
    return dtls_setup(r);
}

int vg_rtc_apply_answer(struct vg_rtc *r, const char *sdp, size_t len, char *err, size_t errlen)
{
    struct vg_sdp *p = g_new(struct vg_sdp, 1);
    struct vg_sdp_error e = {0};
    int rc = vg_sdp_parse(sdp, len, p, &e);
    if (!rc)
        rc = vg_sdp_apply_answer(&r->local, p, &r->nego, &e);
    g_free(p);
    if (rc) {
        snprintf(err, errlen, "answer line %u: %s", e.line, e.reason);
        return rc;
    }
    return remote_ready(r, sdp, len);
}

int vg_rtc_answer(struct vg_rtc *r, const char *sdp, size_t len, char *out, size_t cap, char *err,
                  size_t errlen)
{
    fill_local(r);
    struct vg_sdp *p = g_new(struct vg_sdp, 1);
    struct vg_sdp_error e = {0};
    size_t n = 0;
    int rc = vg_sdp_parse(sdp, len, p, &e);
    if (!rc) {
        r->local.n_send = p->n_media;
        for (size_t i = 0; i < p->n_media; i++)
            r->local.send[i] = (struct vg_sdp_send){p->media[i].kind, VG_SDP_RECVONLY, 0, 0};
        rc = vg_sdp_answer(p, &r->local, out, cap, &n, &r->nego, &e);
    }
    g_free(p);
    if (rc) {
        snprintf(err, errlen, "offer line %u: %s", e.line, e.reason);
        return rc;
    }
    if ((rc = remote_ready(r, sdp, len)) || (rc = start_gathering(r)))
        return rc;
    return (int)n;
}

int vg_rtc_add_candidate(struct vg_rtc *r, const char *line)
{
    if (!line[0])
        return vg_ice_end_of_candidates(r->ice);
    return vg_ice_add_remote_candidate(r->ice, line);
}

const struct vg_sdp_nego_media *vg_rtc_section(const struct vg_rtc *r, enum vg_sdp_kind kind)
{
    if (!r->negotiated)
        return NULL;
    for (size_t i = 0; i < r->nego.n_media; i++)
        if (r->nego.media[i].kind == kind && r->nego.media[i].accepted)
            return &r->nego.media[i];
    return NULL;
}

int vg_rtc_send_rtp(struct vg_rtc *r, uint8_t *buf, size_t len, size_t cap)
{
    if (!r->srtp || !r->ice_up)
        return VG_ESTATE;
    int n = vg_srtp_protect_rtp(r->srtp, buf, len, cap);
    return n < 0 ? n : vg_ice_send(r->ice, buf, (size_t)n);
}

int vg_rtc_send_rtcp(struct vg_rtc *r, uint8_t *buf, size_t len, size_t cap)
{
    if (!r->srtp || !r->ice_up)
        return VG_ESTATE;
    int n = vg_srtp_protect_rtcp(r->srtp, buf, len, cap);
    return n < 0 ? n : vg_ice_send(r->ice, buf, (size_t)n);
}

bool vg_rtc_connected(const struct vg_rtc *r)
{
    return r->srtp != NULL;
}
