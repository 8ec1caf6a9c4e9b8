/* One leg: its ICE transport, DTLS endpoint and SRTP session, and its SDP.
 *
 * Every datagram is classified once (RFC 7983) and handed to one short handler.
 * DTLS datagrams are fed to the endpoint whatever the ICE state: a ClientHello that
 * arrives before our own checks conclude is answered at once, and the answer waits
 * in the endpoint's queue until ICE can send (Janus drops it and loses a second to
 * the peer's retransmission timer). */
#include "engine_internal.h"

#include "classify.h"
#include "log.h"
#include "vg_err.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define ANSWER_MAX 16384

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    while (v == 0 && RAND_bytes((unsigned char *)&v, sizeof v) == 1)
        ;
    return v ? v : 0x5eed1234u;
}

/* DTLS -------------------------------------------------------------------------------- */

static void dtls_pump(struct leg *l);

static gboolean dtls_timer_cb(gpointer data)
{
    struct leg *l = data;
    g_source_unref(l->dtls_timer);
    l->dtls_timer = NULL;
    if (l->dtls && vg_dtls_handle_timeout(l->dtls, engine_now_us()) == VG_EPROTO)
        leg_fail(l, "DTLS handshake timed out");
    else
        dtls_pump(l);
    return G_SOURCE_REMOVE;
}

static void arm_dtls_timer(struct leg *l)
{
    if (l->dtls_timer) {
        g_source_destroy(l->dtls_timer);
        g_source_unref(l->dtls_timer);
        l->dtls_timer = NULL;
    }
    int64_t due = l->dtls ? vg_dtls_next_timeout_us(l->dtls) : -1;
    if (due < 0)
        return;
    int64_t ms = (due - engine_now_us()) / 1000;
    l->dtls_timer = g_timeout_source_new(ms > 0 ? (guint)ms : 0);
    g_source_set_callback(l->dtls_timer, dtls_timer_cb, l, NULL);
    g_source_attach(l->dtls_timer, l->w->ctx);
}

static void dtls_connected(struct leg *l)
{
    struct vg_srtp_keys keys;
    if (vg_dtls_srtp_keys(l->dtls, &keys) || vg_srtp_new(&keys, 16, &l->srtp)) {
        leg_fail(l, "could not set up SRTP from the DTLS keys");
        return;
    }
    vg_info(l->case_key, l->name, "media: leg %llu connected (%s)", (unsigned long long)l->id,
            vg_srtp_profile_name(keys.profile));
    engine_emit_state(l, VG_LEG_CONNECTED, vg_srtp_profile_name(keys.profile));
    /* A receiver that was connected before its keys were ready wants a keyframe now. */
    if (l->out[K_VIDEO].src)
        fwd_request_keyframe(l->out[K_VIDEO].src, true);
    for (size_t i = 0; i < l->n_recv; i++)
        if (l->recv_kinds[i] & VG_MEDIA_VIDEO)
            fwd_request_keyframe(l, true);
}

/* Sends what the endpoint queued (when ICE can), and follows its state. */
static void dtls_pump(struct leg *l)
{
    uint8_t buf[2048];
    while (l->ice_up && vg_dtls_pending(l->dtls)) {
        int n = vg_dtls_pop_datagram(l->dtls, buf, sizeof buf);
        if (n <= 0)
            break;
        vg_ice_send(l->ice, buf, (size_t)n);
    }
    enum vg_dtls_state st = vg_dtls_state(l->dtls);
    if (st == VG_DTLS_CONNECTED && !l->srtp)
        dtls_connected(l);
    else if (st == VG_DTLS_FAILED && l->state != VG_LEG_FAILED)
        leg_fail(l, vg_dtls_failure(l->dtls));
    arm_dtls_timer(l);
}

static void dtls_in(struct leg *l, const uint8_t *buf, size_t len)
{
    if (!l->dtls)
        return; /* no answer applied yet: nothing to talk DTLS with */
    vg_dtls_handle_datagram(l->dtls, buf, len, engine_now_us());
    dtls_pump(l);
}

/* ICE callbacks ------------------------------------------------------------------------- */

static void on_candidate(const char *line, void *ud)
{
    engine_emit_candidate(ud, line);
}

static void on_gathering_done(void *ud)
{
    engine_emit_candidate(ud, "");
}

static void on_state(enum vg_ice_state st, const char *pair, void *ud)
{
    struct leg *l = ud;
    if ((st == VG_ICE_CONNECTED || st == VG_ICE_READY) && !l->ice_up) {
        l->ice_up = true;
        vg_info(l->case_key, l->name, "media: ICE %s: %s", vg_ice_state_name(st), pair);
        if (l->dtls && vg_dtls_state(l->dtls) == VG_DTLS_NEW &&
            vg_dtls_start(l->dtls, engine_now_us()) != VG_OK)
            vg_warn(l->case_key, l->name, "media: DTLS did not start");
        if (l->dtls)
            dtls_pump(l);
        if (l->srtp) /* back after a failure: keys still valid */
            engine_emit_state(l, VG_LEG_CONNECTED, pair);
    } else if (st == VG_ICE_FAILED) {
        l->ice_up = false;
        vg_warn(l->case_key, l->name, "media: ICE failed (an ICE restart may recover it)");
        engine_emit_state(l, VG_LEG_FAILED, "ICE failed");
    }
}

/* Authenticated SRTP or SRTCP from the peer proves both ends finished the DTLS
 * handshake, so no flight will be resent: OpenSSL's ~70 KiB per leg can go (see
 * vg_dtls_release()). Most of a call's memory after the NACK history. */
static void release_dtls(struct leg *l)
{
    const struct vg_srtp_stats *st = vg_srtp_stats(l->srtp);
    if (st->rtp_unprotected + st->rtcp_unprotected == 0 || vg_dtls_release(l->dtls) != VG_OK)
        return;
    l->dtls_released = true;
    arm_dtls_timer(l); /* disarms: no deadline is left */
}

static void on_recv(const uint8_t *buf, size_t len, void *ud)
{
    struct leg *l = ud;
    switch (vg_classify(buf, len)) {
    case VG_PKT_DTLS: dtls_in(l, buf, len); break;
    case VG_PKT_RTP:
        if (engine_simulated_drop(l->w))
            l->simulated_drops++;
        else
            fwd_rtp_in(l, buf, len);
        break;
    case VG_PKT_RTCP: fwd_rtcp_in(l, buf, len); break;
    default: l->unknown_drops++; break;
    }
    if (!l->dtls_released && l->srtp && l->dtls)
        release_dtls(l);
}

/* Life -------------------------------------------------------------------------------- */

/* Called by the worker's tick (engine.c) about every 100 ms: reports once a second.
 * One timer per leg was one more GSource per leg that GLib walks at every wakeup of
 * the worker (prepare and check), a tenth of vigild's CPU at 100 calls (perf). */
void leg_rtcp_due(struct leg *l, int64_t now_us)
{
    if (now_us < l->rtcp_due_us)
        return;
    l->rtcp_due_us += G_USEC_PER_SEC;
    if (l->rtcp_due_us <= now_us) /* the worker was held up: no catching up */
        l->rtcp_due_us = now_us + G_USEC_PER_SEC;
    fwd_rtcp_tick(l, now_us);
}

struct leg *leg_new(struct worker *w, uint64_t id, const char *case_key, const char *name,
                    bool controlling)
{
    struct leg *l = g_new0(struct leg, 1);
    l->id = id;
    l->w = w;
    l->offerer = controlling;
    snprintf(l->case_key, sizeof l->case_key, "%s", case_key);
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->cname, sizeof l->cname, "vigil%08x", random_u32());
    snprintf(l->stream_id, sizeof l->stream_id, "vigil-%llu", (unsigned long long)id);
    memcpy(l->local_fp, w->m->fingerprint, sizeof l->local_fp);
    RAND_bytes((unsigned char *)&l->session_id, sizeof l->session_id);
    l->session_id &= 0x3fffffffffffffffULL;
    for (int k = 0; k < 2; k++) {
        l->out[k].ssrc = random_u32();
        l->out[k].rtx_ssrc = random_u32();
        l->out[k].rtx_pt = -1;
        l->out[k].rtt_us = -1;
        l->out[k].rtx_seq = (uint16_t)random_u32();
        l->in[k].rtx_pt = -1;
    }
    struct vg_media *m = w->m;
    struct vg_ice_config cfg = {
        .role = controlling ? VG_ICE_CONTROLLING : VG_ICE_CONTROLLED,
        .nomination = VG_ICE_NOMINATION_REGULAR,
        /* RFC 8445's floor for real-time media: the console legs the gateway controls
         * reach a nominated pair ~15 ms sooner than at libnice's 20 ms (vigil-load). */
        .check_pacing_ms = 5,
        .local_addrs = (const char *const *)m->local_addrs,
        .n_local_addrs = m->n_local_addrs,
        .stun_server = m->stun,
        .turn_server = m->turn,
        .turn_username = m->turn_user,
        .turn_password = m->turn_pass,
        .case_id = case_key,
        .leg_id = name,
        .loop = w->loop,
    };
    struct vg_ice_callbacks cb = {on_candidate, on_gathering_done, on_state, on_recv};
    if (vg_ice_new(w->ctx, &cfg, &cb, l, &l->ice) || vg_ice_local_credentials(l->ice, &l->cred)) {
        vg_ice_free(l->ice);
        g_free(l);
        return NULL;
    }
    l->rtcp_last_us = g_get_monotonic_time();
    l->rtcp_due_us = l->rtcp_last_us + G_USEC_PER_SEC;
    return l;
}

void leg_free(struct leg *l)
{
    fwd_detach(l);
    if (l->dtls_timer) {
        g_source_destroy(l->dtls_timer);
        g_source_unref(l->dtls_timer);
    }
    vg_ice_free(l->ice);
    vg_dtls_free(l->dtls);
    vg_srtp_free(l->srtp);
    vg_history_free(l->in[K_VIDEO].hist);
    g_free(l);
}

void leg_fail(struct leg *l, const char *reason)
{
    vg_warn(l->case_key, l->name, "media: leg %llu failed: %s", (unsigned long long)l->id, reason);
    engine_emit_state(l, VG_LEG_FAILED, reason);
}

void leg_send_rtcp(struct leg *l, uint8_t *buf, size_t len)
{
    if (!l->srtp || !l->ice_up)
        return;
    int n = vg_srtp_protect_rtcp(l->srtp, buf, len, MTU + 64);
    if (n > 0)
        vg_ice_send(l->ice, buf, (size_t)n);
}

/* SDP --------------------------------------------------------------------------------- */

static void fill_local(struct leg *l, struct vg_sdp_local *loc)
{
    memset(loc, 0, sizeof *loc);
    loc->session_id = l->session_id;
    loc->session_version = ++l->sdp_version;
    loc->ice_ufrag = l->cred.ufrag;
    loc->ice_pwd = l->cred.pwd;
    loc->fingerprint = l->local_fp;
    loc->cname = l->cname;
    loc->stream_id = l->stream_id;
}

static bool dir_recv(enum vg_sdp_dir d)
{
    return d == VG_SDP_RECVONLY || d == VG_SDP_SENDRECV;
}

static bool dir_send(enum vg_sdp_dir d)
{
    return d == VG_SDP_SENDONLY || d == VG_SDP_SENDRECV;
}

/* Takes what was agreed, per kind: the first section in which the peer sends is
 * what we receive, the first in which we send is what we send. A peer may offer a
 * kind in two sections (webrtcbin adds a recvonly transceiver next to a sendonly
 * one); streams of one kind beyond the first are not used. */
static void apply_nego(struct leg *l, const struct vg_sdp_nego *n)
{
    bool in_set[2] = {false, false}, out_set[2] = {false, false};
    for (size_t i = 0; i < n->n_media; i++) {
        const struct vg_sdp_nego_media *s = &n->media[i];
        if (!s->accepted || (s->kind != VG_SDP_KIND_AUDIO && s->kind != VG_SDP_KIND_VIDEO))
            continue;
        int k = s->kind == VG_SDP_KIND_AUDIO ? K_AUDIO : K_VIDEO;
        unsigned bit = k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO;
        struct stream_in *in = &l->in[k];
        struct stream_out *out = &l->out[k];
        if (dir_recv(s->dir) && !in_set[k]) {
            in_set[k] = true;
            in->pt = s->pt;
            in->rtx_pt = s->rtx_pt;
            in->clock = s->clock;
            if (s->n_remote_ssrc && !in->ssrc)
                in->ssrc = s->remote_ssrc[0].ssrc;
        }
        if (dir_send(s->dir) && (l->send_kinds & bit) && !out_set[k]) {
            out_set[k] = true;
            out->pt = s->pt;
            out->clock = s->clock;
            out->rtx_pt = s->local_rtx_ssrc ? s->rtx_pt : -1;
        }
    }
    for (int k = 0; k < 2; k++) {
        l->in[k].active = in_set[k];
        l->out[k].active = out_set[k];
    }
}

/* Our side of each offered section: send each kind we may send in one section only
 * (the first the peer can receive), receive in all. */
static void choose_sending(struct leg *l, const struct vg_sdp *sdp, struct vg_sdp_local *loc)
{
    bool chosen[2] = {false, false};
    loc->n_send = sdp->n_media;
    for (size_t i = 0; i < sdp->n_media; i++) {
        int k = sdp->media[i].kind == VG_SDP_KIND_AUDIO ? K_AUDIO : K_VIDEO;
        bool may = l->send_kinds & (k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO);
        bool peer_recv = dir_recv(sdp->media[i].dir);
        bool send = may && peer_recv && !chosen[k];
        chosen[k] = chosen[k] || send;
        loc->send[i].dir = send ? VG_SDP_SENDRECV : VG_SDP_RECVONLY;
        loc->send[i].ssrc = send ? l->out[k].ssrc : 0;
        loc->send[i].rtx_ssrc = send && k == K_VIDEO ? l->out[k].rtx_ssrc : 0;
    }
}

/* Adds the a=candidate lines of section idx of the SDP text. */
static void add_sdp_candidates(struct leg *l, const char *text, size_t idx)
{
    char **lines = g_strsplit(text, "\n", -1);
    long section = -1;
    for (int i = 0; lines[i]; i++) {
        char *s = g_strchomp(lines[i]);
        if (g_str_has_prefix(s, "m="))
            section++;
        else if (section == (long)idx && g_str_has_prefix(s, "a=candidate:"))
            vg_ice_add_remote_candidate(l->ice, s + 2);
        else if (section == (long)idx && g_str_has_prefix(s, "a=end-of-candidates"))
            vg_ice_end_of_candidates(l->ice);
    }
    g_strfreev(lines);
}

/* After an offer or answer: ICE credentials and candidates, and the DTLS endpoint. */
static int apply_transport(struct leg *l, const char *text, const struct vg_sdp_nego *n, char *why,
                           size_t wn)
{
    if (vg_ice_set_remote_credentials(l->ice, n->remote_ufrag, n->remote_pwd)) {
        snprintf(why, wn, "unusable ICE credentials in the SDP");
        return VG_EPROTO;
    }
    snprintf(l->remote_ufrag, sizeof l->remote_ufrag, "%s", n->remote_ufrag);
    add_sdp_candidates(l, text, n->transport_index);
    if (l->dtls && strcmp(l->remote_fp, n->remote_fingerprint) != 0) {
        /* A new certificate is a new peer connection (a reloaded page): same leg,
         * same place in the case, new DTLS and SRTP sessions, SSRCs learned anew. */
        vg_info(l->case_key, l->name, "media: new DTLS certificate from the peer: new session");
        vg_dtls_free(l->dtls);
        vg_srtp_free(l->srtp);
        l->dtls = NULL;
        l->srtp = NULL;
        l->in[K_AUDIO].ssrc = l->in[K_VIDEO].ssrc = 0;
        l->state = VG_LEG_CONNECTING;
    }
    snprintf(l->remote_fp, sizeof l->remote_fp, "%s", n->remote_fingerprint);
    if (l->dtls)
        return VG_OK;
    struct vg_dtls_config dc = {
        .role = n->local_setup == VG_SDP_SETUP_ACTIVE ? VG_DTLS_CLIENT : VG_DTLS_SERVER,
        .cert = l->w->m->cert,
        .remote_fp_alg = "sha-256",
        .remote_fp_hex = n->remote_fingerprint,
        .max_queue = 32,
    };
    if (vg_dtls_new(&dc, &l->dtls)) {
        snprintf(why, wn, "DTLS endpoint refused (fingerprint %s)", n->remote_fingerprint);
        return VG_EPROTO;
    }
    if (l->ice_up && dc.role == VG_DTLS_CLIENT)
        vg_dtls_start(l->dtls, engine_now_us());
    return VG_OK;
}

static struct vg_sdp *parse(const char *text, char *why, size_t wn)
{
    struct vg_sdp *sdp = g_malloc(sizeof *sdp);
    struct vg_sdp_error err = {0};
    if (vg_sdp_parse(text, strlen(text), sdp, &err)) {
        snprintf(why, wn, "SDP line %u: %s", err.line, err.reason);
        g_free(sdp);
        return NULL;
    }
    return sdp;
}

/* An offer from the peer, first or renegotiated (an ICE restart brings a new ufrag). */
int leg_apply_offer(struct leg *l, const char *text, char *why, size_t wn)
{
    struct vg_sdp *sdp = parse(text, why, wn);
    if (!sdp)
        return VG_EPROTO;
    bool first = l->sdp_version == 0;
    struct vg_sdp_nego *nego = g_malloc0(sizeof *nego);
    struct vg_sdp_local loc;
    struct vg_sdp_error err = {0};
    char *answer = g_malloc(ANSWER_MAX);
    int rc = VG_OK;
    size_t ti = 0;
    for (size_t i = 0; i < sdp->n_media; i++)
        if (sdp->media[i].transport.ice_ufrag.len && !ti)
            ti = i + 1;
    const struct vg_sdp_str *uf =
        ti ? &sdp->media[ti - 1].transport.ice_ufrag : &sdp->transport.ice_ufrag;
    if (!first &&
        (uf->len != strlen(l->remote_ufrag) || strncmp(uf->p, l->remote_ufrag, uf->len) != 0)) {
        vg_info(l->case_key, l->name, "media: ICE restart requested by the peer");
        vg_ice_restart(l->ice);
        vg_ice_local_credentials(l->ice, &l->cred);
    }
    fill_local(l, &loc);
    choose_sending(l, sdp, &loc);
    if (vg_sdp_answer(sdp, &loc, answer, ANSWER_MAX, NULL, nego, &err)) {
        snprintf(why, wn, "offer refused: %s", err.reason);
        rc = VG_EPROTO;
    } else {
        apply_nego(l, nego);
        rc = apply_transport(l, text, nego, why, wn);
    }
    if (rc == VG_OK) {
        engine_emit_sdp(l, "answer", answer);
        if (first && vg_ice_gather(l->ice)) {
            snprintf(why, wn, "no local address to gather ICE candidates on");
            rc = VG_EIO;
        }
    }
    g_free(answer);
    g_free(nego);
    g_free(sdp);
    return rc;
}

int leg_make_offer(struct leg *l, unsigned kinds, bool recv, char *why, size_t wn)
{
    struct vg_sdp_local *loc = &l->offer_local;
    fill_local(l, loc);
    enum vg_sdp_dir dir = recv ? VG_SDP_SENDRECV : VG_SDP_SENDONLY;
    if (kinds & VG_MEDIA_AUDIO)
        loc->send[loc->n_send++] =
            (struct vg_sdp_send){VG_SDP_KIND_AUDIO, dir, l->out[K_AUDIO].ssrc, 0};
    if (kinds & VG_MEDIA_VIDEO)
        loc->send[loc->n_send++] = (struct vg_sdp_send){
            VG_SDP_KIND_VIDEO, dir, l->out[K_VIDEO].ssrc, l->out[K_VIDEO].rtx_ssrc};
    char *offer = g_malloc(ANSWER_MAX);
    int rc = vg_sdp_offer(loc, offer, ANSWER_MAX, NULL);
    if (rc)
        snprintf(why, wn, "could not write an offer (%s)", vg_strerror(rc));
    else
        engine_emit_sdp(l, "offer", offer);
    g_free(offer);
    if (rc == VG_OK && vg_ice_gather(l->ice)) {
        snprintf(why, wn, "no local address to gather ICE candidates on");
        rc = VG_EIO;
    }
    return rc;
}

int leg_apply_answer(struct leg *l, const char *text, char *why, size_t wn)
{
    struct vg_sdp *sdp = parse(text, why, wn);
    if (!sdp)
        return VG_EPROTO;
    struct vg_sdp_nego *nego = g_malloc0(sizeof *nego);
    struct vg_sdp_error err = {0};
    /* The local strings the offer was written from live in the leg: point at them. */
    l->offer_local.ice_ufrag = l->cred.ufrag;
    l->offer_local.ice_pwd = l->cred.pwd;
    l->offer_local.fingerprint = l->local_fp;
    l->offer_local.cname = l->cname;
    l->offer_local.stream_id = l->stream_id;
    int rc = vg_sdp_apply_answer(&l->offer_local, sdp, nego, &err);
    if (rc) {
        snprintf(why, wn, "answer refused: %s", err.reason);
    } else {
        apply_nego(l, nego);
        rc = apply_transport(l, text, nego, why, wn);
    }
    g_free(nego);
    g_free(sdp);
    return rc;
}

void leg_add_candidate(struct leg *l, const char *line)
{
    int rc = *line ? vg_ice_add_remote_candidate(l->ice, line) : vg_ice_end_of_candidates(l->ice);
    if (rc && rc != VG_ENOENT)
        vg_info(l->case_key, l->name, "media: remote candidate not used (%s): %.80s",
                vg_strerror(rc), line);
}
