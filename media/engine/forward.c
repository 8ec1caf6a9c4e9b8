/* Forwarding: one source leg's RTP to its receiver legs, and RTCP terminated per leg.
 *
 * A video packet is copied once from libnice's buffer into the source's history
 * ring (a byte ring sized by its receivers' round trips, see media/core/history.h)
 * and decrypted there; that place is the packet's only receive buffer, serving
 * every receiver and every later NACK. For each receiver the
 * header is rewritten (SSRC, payload type, sequence number, timestamp; header
 * extensions dropped, since extension ids are negotiated per leg) into a stack
 * scratch buffer and encrypted there: libsrtp2 encrypts in place only, so this one
 * copy per receiver is the floor with it. No allocation on this path.
 *
 * A receiver's sequence number and timestamp are the source's plus a delta fixed
 * when the receiver's source (or the source's SSRC) changes, chosen so the receiver
 * sees one continuous stream across a transfer or a reconnect. */
#include "engine_internal.h"

#include "log.h"
#include "rtcp.h"
#include "rtp.h"
#include "vg_err.h"

#include <stdio.h>
#include <string.h>

static int kind_of_pt(const struct leg *l, uint8_t pt)
{
    if (l->in[K_AUDIO].active && pt == l->in[K_AUDIO].pt)
        return K_AUDIO;
    if (l->in[K_VIDEO].active &&
        (pt == l->in[K_VIDEO].pt || (l->in[K_VIDEO].rtx_pt >= 0 && pt == l->in[K_VIDEO].rtx_pt)))
        return K_VIDEO;
    return -1;
}

/* Sends one RTCP packet (built into buf with room for the SRTCP tag) on leg l. */
static void send_fb(struct leg *l, uint8_t *buf, int n)
{
    if (n > 0)
        leg_send_rtcp(l, buf, (size_t)n);
}

/* Asks src for a keyframe. Requests relayed from receivers are rate-limited
 * (KEYFRAME_GAP_US); a receiver that has just become able to decode (force) is not,
 * since it would otherwise wait for the encoder's next periodic keyframe. */
void fwd_request_keyframe(struct leg *src, bool force)
{
    struct stream_in *in = &src->in[K_VIDEO];
    int64_t now = engine_now_us();
    if (!in->active || !in->ssrc || (!force && now - in->last_pli_us < KEYFRAME_GAP_US))
        return;
    in->last_pli_us = now;
    uint8_t buf[64 + 32];
    struct vg_rtcp_fb fb = {src->out[K_VIDEO].ssrc, in->ssrc};
    send_fb(src, buf, vg_rtcp_build_pli(buf, 64, &fb));
    in->plis_sent++;
}

/* Receive statistics (RFC 3550 appendix A.1, without the probation). */
static void note_received(struct stream_in *in, uint16_t seq, size_t bytes)
{
    int64_t ext;
    if (!in->seen) {
        in->seen = true;
        in->base_seq = in->max_seq = seq;
        in->last_seq16 = seq;
        ext = seq;
    } else {
        int16_t d = (int16_t)(seq - in->last_seq16);
        ext = in->max_seq + d;
        if (ext > in->max_seq) {
            in->max_seq = ext;
            in->last_seq16 = seq;
        }
    }
    in->packets++;
    in->bytes += bytes;
    in->bytes_window += bytes;
}

static void send_nack(struct leg *l, struct stream_in *in, const uint16_t *lost, size_t n)
{
    uint8_t buf[512];
    struct vg_rtcp_fb fb = {l->out[K_VIDEO].ssrc, in->ssrc};
    send_fb(l, buf, vg_rtcp_build_nack(buf, 400, &fb, lost, n));
    in->nacks_sent++;
}

/* A gap in a video source's sequence: follow each missing packet and ask for it. */
static void nack_gap(struct leg *l, struct stream_in *in, int64_t prev_max, int64_t now_max,
                     int64_t now)
{
    int64_t missing = now_max - prev_max - 1;
    if (missing <= 0 || missing > MAX_NACK_BATCH)
        return;
    uint16_t lost[MAX_NACK_BATCH];
    size_t n = 0;
    for (int64_t i = 0; i < missing; i++) {
        lost[n++] = (uint16_t)(prev_max + 1 + i);
        if (in->n_pend < MAX_PENDING_NACK)
            in->pend[in->n_pend++] = (struct pending_nack){lost[n - 1], 1, now};
    }
    send_nack(l, in, lost, n);
}

/* A packet arrived: stop following it; ask again for those still missing. */
static void nack_follow(struct leg *l, struct stream_in *in, uint16_t seq, int64_t now)
{
    uint16_t again[MAX_PENDING_NACK];
    size_t n = 0;
    for (unsigned i = 0; i < in->n_pend;) {
        bool arrived = in->pend[i].seq == seq;
        bool expired =
            in->pend[i].tries >= NACK_TRIES && now - in->pend[i].asked_us > NACK_RETRY_US;
        if (arrived || expired) {
            in->pend[i] = in->pend[--in->n_pend];
            continue;
        }
        if (in->pend[i].tries < NACK_TRIES && now - in->pend[i].asked_us > NACK_RETRY_US) {
            in->pend[i].tries++;
            in->pend[i].asked_us = now;
            again[n++] = in->pend[i].seq;
        }
        i++;
    }
    if (n)
        send_nack(l, in, again, n);
}

/* RTX (RFC 4588): the original sequence number leads the payload; restore the packet. */
static int unwrap_rtx(struct stream_in *in, uint8_t *pkt, size_t len, struct vg_rtp_view *v)
{
    if (v->payload_len < 2)
        return -1;
    uint8_t *p = pkt + v->payload_off;
    uint16_t osn = (uint16_t)(p[0] << 8 | p[1]);
    memmove(p, p + 2, len - v->payload_off - 2);
    len -= 2;
    vg_rtp_set_seq(pkt, len, osn);
    vg_rtp_set_pt(pkt, len, in->pt);
    vg_rtp_set_ssrc(pkt, len, in->ssrc);
    in->rtx_received++;
    return vg_rtp_parse(pkt, len, v) == VG_OK ? (int)len : -1;
}

/* Writes the packet as receiver o sees it into out; returns its length. */
static size_t rewrite(const struct stream_out *o, const uint8_t *pkt, const struct vg_rtp_view *v,
                      uint8_t *out)
{
    size_t body = v->len - v->payload_off;
    out[0] = (uint8_t)((pkt[0] & 0xa0)); /* V=2 and P kept; X and CC cleared */
    out[1] = (uint8_t)((pkt[1] & 0x80) | o->pt);
    memcpy(out + 12, pkt + v->payload_off, body);
    size_t len = 12 + body;
    vg_rtp_set_seq(out, len, (uint16_t)(v->seq + o->seq_delta));
    vg_rtp_set_ts(out, len, v->ts + o->ts_delta);
    vg_rtp_set_ssrc(out, len, o->ssrc);
    return len;
}

/* A new source (or a new SSRC from it) at this receiver: continue where it was. */
static void rebase(struct stream_out *o, const struct vg_rtp_view *v, int64_t now)
{
    uint32_t r = g_random_int();
    uint16_t next_seq = o->started ? (uint16_t)(o->last_seq + 1) : (uint16_t)r;
    uint32_t gap = o->clock ? (uint32_t)((now - o->last_send_us) * (int64_t)o->clock / 1000000) : 0;
    uint32_t next_ts = o->started ? o->last_ts + (gap ? gap : 1) : g_random_int();
    o->seq_delta = (uint16_t)(next_seq - v->seq);
    o->ts_delta = next_ts - v->ts;
    o->src_ssrc = v->ssrc;
}

/* RFC 4588: a retransmission travels on the RTX SSRC with its own sequence number
 * and the original one leading the payload. It is never the same packet protected
 * twice (which SRTP forbids: see srtp.h). */
static void send_rtx(struct leg *r, struct stream_out *o, const uint8_t *pkt,
                     const struct vg_rtp_view *v)
{
    uint8_t buf[MTU + 128];
    size_t len = rewrite(o, pkt, v, buf);
    if (len + 2 > MTU + 64)
        return;
    uint16_t osn = (uint16_t)(v->seq + o->seq_delta);
    memmove(buf + 14, buf + 12, len - 12);
    buf[12] = (uint8_t)(osn >> 8);
    buf[13] = (uint8_t)osn;
    len += 2;
    vg_rtp_set_ssrc(buf, len, o->rtx_ssrc);
    vg_rtp_set_pt(buf, len, (uint8_t)o->rtx_pt);
    vg_rtp_set_seq(buf, len, o->rtx_seq++);
    int n = vg_srtp_protect_rtp(r->srtp, buf, len, sizeof buf);
    if (n > 0 && vg_ice_send(r->ice, buf, (size_t)n) == VG_OK)
        o->retransmits++;
}

static void send_to(struct leg *r, int k, const uint8_t *pkt, const struct vg_rtp_view *v,
                    bool retransmit)
{
    struct stream_out *o = &r->out[k];
    if (!r->srtp || !r->ice_up || !o->active || o->paused)
        return;
    int64_t now = engine_now_us();
    if (o->src_ssrc != v->ssrc || !o->started) {
        if (retransmit)
            return;
        rebase(o, v, now);
    }
    if (retransmit) {
        send_rtx(r, o, pkt, v);
        return;
    }
    uint16_t seq = (uint16_t)(v->seq + o->seq_delta);
    bool dropped = engine_simulated_drop(r->w);
    uint8_t buf[MTU + 128];
    size_t len = rewrite(o, pkt, v, buf);
    int n = dropped ? 0 : vg_srtp_protect_rtp(r->srtp, buf, len, sizeof buf);
    if (dropped)
        r->simulated_drops++;
    else if (n <= 0 || vg_ice_send(r->ice, buf, (size_t)n) != VG_OK)
        return;
    if (!o->started || vg_rtp_seq_cmp(seq, o->last_seq) > 0) {
        o->last_seq = seq;
        o->last_ts = v->ts + o->ts_delta;
        o->last_send_us = now;
    }
    o->started = true;
    o->packets++;
    o->bytes += len;
}

static void forward(struct leg *src, int k, const uint8_t *pkt, const struct vg_rtp_view *v)
{
    unsigned bit = k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO;
    for (size_t i = 0; i < src->n_recv; i++) {
        struct leg *r = src->recv[i];
        if ((src->recv_kinds[i] & bit) && r->out[k].src == src)
            send_to(r, k, pkt, v, false);
    }
}

void fwd_rtp_in(struct leg *l, const uint8_t *buf, size_t len)
{
    struct vg_rtp_view v;
    if (!l->srtp || len > MTU + 64 || vg_rtp_parse(buf, len, &v) != VG_OK) {
        l->unknown_drops++;
        return;
    }
    int k = kind_of_pt(l, v.pt);
    if (k < 0) {
        l->unknown_drops++;
        return;
    }
    int64_t now = engine_now_us();
    if (!l->in_budget_set) {
        vg_bucket_init(&l->in_budget, IN_RATE, IN_BURST, now);
        l->in_budget_set = true;
    }
    if (!vg_bucket_take_n(&l->in_budget, now, (double)len)) { /* before any decryption */
        if (l->rate_drops++ == 0)
            vg_warn(l->case_key, l->name,
                    "media: the peer sends more than %d bytes a second: the rest dropped", IN_RATE);
        return;
    }
    struct stream_in *in = &l->in[k];
    uint8_t stack_buf[MTU + 64];
    /* Video is decrypted in place in the source's NACK history. The history is made
     * after the leg's first video packet that authenticates (legs that never receive
     * video pay nothing, nor does a forged packet); if that fails the leg forwards
     * without it. */
    struct vg_history *h = k == K_VIDEO ? in->hist : NULL;
    uint64_t at = 0;
    uint8_t *pkt = h ? vg_history_reserve(h, len, &at) : stack_buf;
    memcpy(pkt, buf, len);
    int n = vg_srtp_unprotect_rtp(l->srtp, pkt, len);
    if (n <= 0 || vg_rtp_parse(pkt, (size_t)n, &v) != VG_OK) {
        in->srtp_failures++;
        return;
    }
    if (k == K_VIDEO && !h && (h = in->hist = vg_history_new(HIST_MIN_BYTES, HIST_MAX_BYTES))) {
        uint8_t *kept = vg_history_reserve(h, (size_t)n, &at);
        memcpy(kept, pkt, (size_t)n);
        pkt = kept;
        v.pkt = pkt; /* the view's offsets hold; its bytes are in the history now */
    }
    bool rtx = k == K_VIDEO && in->rtx_pt >= 0 && v.pt == in->rtx_pt;
    if (!in->ssrc && !rtx)
        in->ssrc = v.ssrc;
    if (rtx && (n = unwrap_rtx(in, pkt, (size_t)n, &v)) < 0)
        return;
    int64_t prev_max = in->max_seq;
    bool had = in->seen;
    note_received(in, v.seq, (size_t)n);
    if (h) {
        vg_history_commit(h, at, v.ssrc, v.seq, (size_t)n);
        if (had && !rtx && l->w->m->nack)
            nack_gap(l, in, prev_max, in->max_seq, now);
        if (in->n_pend)
            nack_follow(l, in, v.seq, now);
    }
    if (l->tap.rtp) /* recording: queues a copy, never blocks */
        l->tap.rtp(l->tap.ud, l->id, (unsigned)k, g_get_real_time(), pkt, v.len);
    forward(l, k, pkt, &v);
}

/* RTCP -------------------------------------------------------------------------------- */

/* The source's history is too short for one of its receivers: grow it (bounded by
 * HIST_MAX_BYTES; see media/core/history.h for when and why). */
static void grow_history(struct leg *src, size_t want, const char *why)
{
    struct vg_history *h = src->in[K_VIDEO].hist;
    size_t was = h ? h->cap : 0;
    if (!h || want <= was || was >= h->max)
        return;
    if (vg_history_grow(h, want) != VG_OK)
        vg_warn(src->case_key, src->name, "media: NACK history not grown (%s): no memory", why);
    else
        vg_info(src->case_key, src->name, "media: NACK history %zu -> %zu KiB (%s)", was / 1024,
                h->cap / 1024, why);
}

/* A receiver lost packets we sent it: resend them from the source's history. */
static void serve_nack(struct leg *r, const struct vg_rtcp_pkt *p)
{
    struct vg_rtcp_fb fb;
    uint16_t lost[MAX_NACK_BATCH];
    size_t n = 0;
    struct stream_out *o = &r->out[K_VIDEO];
    /* A NACK listing more than we take is served in part: the rest is older than
     * anything worth resending. */
    int rc = vg_rtcp_parse_nack(p, &fb, lost, MAX_NACK_BATCH, &n);
    if ((rc != VG_OK && rc != VG_ENOSPC) || fb.media_ssrc != o->ssrc || !o->src)
        return;
    o->nacks_received++;
    if (o->rtx_pt < 0 || !r->w->m->nack) {
        o->nacks_unserved++;
        return;
    }
    struct vg_history *h = o->src->in[K_VIDEO].hist;
    bool short_ring = false;
    int64_t now = engine_now_us();
    if (!o->rtx_budget_set) {
        vg_bucket_init(&o->rtx_budget, RTX_RATE, RTX_BURST, now);
        o->rtx_budget_set = true;
    }
    for (size_t i = 0; h && i < n; i++) {
        const uint8_t *pkt;
        size_t len;
        struct vg_rtp_view v;
        if (!vg_bucket_take(&o->rtx_budget, now)) {
            if (o->rtx_refused == 0)
                vg_warn(r->case_key, r->name,
                        "media: NACKs ask for more than %d retransmissions a second: the rest "
                        "not served",
                        RTX_RATE);
            o->rtx_refused += n - i;
            o->nacks_unserved++; /* in part: vigil_media_nacks_unserved_total counts it */
            break;
        }
        rc = vg_history_find(h, o->src_ssrc, (uint16_t)(lost[i] - o->seq_delta), &pkt, &len);
        short_ring |= rc == VG_ENOSPC;
        if (rc == VG_OK && vg_rtp_parse(pkt, len, &v) == VG_OK)
            send_to(r, K_VIDEO, pkt, &v, true);
    }
    /* Written over before this receiver asked: its round trip is longer than the
     * ring (or not measured yet); the receiver's next ask finds a longer one. */
    if (short_ring)
        grow_history(o->src, h->cap * 2, "a NACK came too late for it");
}

/* The round trip to a video receiver is measured: its source keeps enough for it. */
static void size_history_for(struct leg *r, int64_t rtt_us)
{
    struct leg *src = r->out[K_VIDEO].src;
    if (!src || !src->in[K_VIDEO].hist || r->out[K_VIDEO].rtx_pt < 0 || !r->w->m->nack)
        return; /* a receiver we cannot resend to needs no history */
    const struct stream_in *in = &src->in[K_VIDEO];
    uint64_t rate = in->rate_Bps ? in->rate_Bps : in->bytes_window;
    grow_history(src, vg_history_bytes_for(rate, rtt_us), "a receiver's round trip");
}

static uint64_t ntp_now(void);

static void on_report_blocks(struct leg *l, const struct vg_rtcp_report_block *b, unsigned n)
{
    uint32_t now_mid = (uint32_t)(ntp_now() >> 16); /* the middle 32 bits, as LSR is */
    for (unsigned i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            struct stream_out *o = &l->out[k];
            if (b[i].ssrc != o->ssrc)
                continue;
            o->fraction_lost = b[i].fraction_lost;
            /* In 1/65536 s. The peer's DLSR is rounded, so on a fast path the
             * difference can come out a little below zero: that is zero. */
            int32_t rtt = (int32_t)(now_mid - b[i].lsr - b[i].dlsr);
            if (b[i].lsr && rtt > -655 && rtt < 65536 * 10) {
                o->rtt_us = rtt > 0 ? (int64_t)rtt * 1000000 / 65536 : 0;
                if (k == K_VIDEO)
                    size_history_for(l, o->rtt_us);
            }
        }
}

static void on_sr(struct leg *l, const struct vg_rtcp_pkt *p)
{
    struct vg_rtcp_sr sr;
    if (vg_rtcp_parse_sr(p, &sr) != VG_OK)
        return;
    for (int k = 0; k < 2; k++)
        if (l->in[k].ssrc == sr.ssrc) {
            l->in[k].last_sr_mid = (uint32_t)(sr.ntp >> 16);
            l->in[k].last_sr_us = engine_now_us();
        }
    on_report_blocks(l, sr.reports, sr.n_reports);
}

static void on_rtcp_pkt(struct leg *l, const struct vg_rtcp_pkt *p)
{
    struct vg_rtcp_fb fb;
    if (p->pt == VG_RTCP_SR) {
        on_sr(l, p);
    } else if (p->pt == VG_RTCP_RR) {
        struct vg_rtcp_rr rr;
        if (vg_rtcp_parse_rr(p, &rr) == VG_OK)
            on_report_blocks(l, rr.reports, rr.n_reports);
    } else if (p->pt == VG_RTCP_PSFB &&
               (p->count == VG_RTCP_FMT_PLI || p->count == VG_RTCP_FMT_FIR)) {
        /* A receiver asks us for a keyframe: pass it to whoever feeds it. */
        l->out[K_VIDEO].plis_received++;
        if (l->out[K_VIDEO].src)
            fwd_request_keyframe(l->out[K_VIDEO].src, false);
        (void)fb;
    } else if (p->pt == VG_RTCP_RTPFB && p->count == VG_RTCP_FMT_NACK) {
        serve_nack(l, p);
    }
}

void fwd_rtcp_in(struct leg *l, const uint8_t *buf, size_t len)
{
    uint8_t pkt[MTU + 64];
    if (!l->srtp || len > sizeof pkt)
        return;
    memcpy(pkt, buf, len);
    int n = vg_srtp_unprotect_rtcp(l->srtp, pkt, len);
    if (n <= 0) {
        l->srtp_drops++;
        return;
    }
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    vg_rtcp_iter_init(&it, pkt, (size_t)n);
    while (vg_rtcp_next(&it, &p) == 1) /* 1: a packet; 0: the end; <0: malformed rest */
        on_rtcp_pkt(l, &p);
}

/* The 1-second tick: reports to senders (RR and REMB) and to receivers (SR). -------- */

static uint64_t ntp_now(void)
{
    int64_t us = g_get_real_time();
    uint64_t secs = (uint64_t)(us / 1000000) + 2208988800ULL;
    uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
    return secs << 32 | frac;
}

static void report_block(struct stream_in *in, struct vg_rtcp_report_block *b)
{
    int64_t expected = in->max_seq - in->base_seq + 1;
    int64_t exp_int = expected - (int64_t)in->expected_prior;
    int64_t rec_int = (int64_t)(in->packets - in->received_prior);
    in->expected_prior = (uint64_t)expected;
    in->received_prior = in->packets;
    int64_t lost_int = exp_int - rec_int;
    int64_t lost = expected - (int64_t)in->packets;
    in->lost = lost > 0 ? (uint64_t)lost : 0;
    memset(b, 0, sizeof *b);
    b->ssrc = in->ssrc;
    b->fraction_lost = (exp_int > 0 && lost_int > 0) ? (uint8_t)((lost_int << 8) / exp_int) : 0;
    b->cumulative_lost = (int32_t)(lost > 0x7fffff ? 0x7fffff : lost);
    b->ext_highest_seq = (uint32_t)in->max_seq;
    b->lsr = in->last_sr_mid;
    if (in->last_sr_us)
        b->dlsr = (uint32_t)((engine_now_us() - in->last_sr_us) * 65536 / 1000000);
}

/* What we tell a video sender it may send (REMB), from what arrived in the last
 * second and how much of it was lost: room to grow by half while loss is low, the
 * same rate while it is moderate, 15% less when it is heavy (the classic loss-based
 * rule), within [REMB_MIN_BPS, REMB_BPS]. A receive-side estimate from loss only:
 * delay-based estimation (transport-cc) is not done. */
static uint64_t remb_estimate(const struct stream_in *in, uint8_t fraction_lost)
{
    uint64_t rate = in->bytes_window * 8, est;
    if (fraction_lost > 25) /* > 10% */
        est = rate * 85 / 100;
    else if (fraction_lost > 5) /* > 2% */
        est = rate;
    else
        est = rate * 3 / 2;
    return est < REMB_MIN_BPS ? REMB_MIN_BPS : est > REMB_BPS ? REMB_BPS : est;
}

/* Receiver reports for what this leg sends us, with a REMB for its video. */
static void report_to_sender(struct leg *l)
{
    struct vg_rtcp_rr rr = {.ssrc = l->out[K_VIDEO].ssrc};
    for (int k = 0; k < 2; k++)
        if (l->in[k].seen)
            report_block(&l->in[k], &rr.reports[rr.n_reports++]);
    if (!rr.n_reports)
        return;
    uint8_t buf[MTU + 64];
    int n = vg_rtcp_build_rr(buf, 600, &rr);
    if (n > 0 && l->in[K_VIDEO].seen) {
        uint8_t fl = rr.reports[rr.n_reports - 1].fraction_lost; /* video's block is last */
        struct vg_rtcp_remb remb = {
            .sender_ssrc = rr.ssrc, .bitrate = remb_estimate(&l->in[K_VIDEO], fl), .n_ssrcs = 1};
        remb.ssrcs[0] = l->in[K_VIDEO].ssrc;
        int m = vg_rtcp_build_remb(buf + n, 200, &remb);
        n = m > 0 ? n + m : n;
    }
    send_fb(l, buf, n);
}

static void report_to_receiver(struct leg *l)
{
    for (int k = 0; k < 2; k++) {
        struct stream_out *o = &l->out[k];
        if (!o->started)
            continue;
        int64_t since = engine_now_us() - o->last_send_us;
        struct vg_rtcp_sr sr = {.ssrc = o->ssrc,
                                .ntp = ntp_now(),
                                .rtp_ts =
                                    o->last_ts + (uint32_t)(since * (int64_t)o->clock / 1000000),
                                .packet_count = (uint32_t)o->packets,
                                .octet_count = (uint32_t)o->bytes};
        uint8_t buf[MTU + 64];
        send_fb(l, buf, vg_rtcp_build_sr(buf, 400, &sr));
    }
}

/* Bad or foreign datagrams at a leg are counted (metrics) and told in the log: the
 * first at once, then at most a line a minute with what came since (rate drops say
 * so themselves, once; simulated ones are the test's own). */
static void tell_drops(struct leg *l, const struct leg_snapshot *s)
{
    uint64_t all = s->dropped_unknown + s->dropped_srtp + s->dropped_foreign + s->dropped_kernel;
    int64_t now = engine_now_us();
    if (all == l->drops_told || (l->drops_told_us && now - l->drops_told_us < 60 * 1000000))
        return;
    uint64_t n = all - l->drops_told; /* a few are usual (a probe, a retransmitted record) */
    vg_log(n >= 100 ? VG_LOG_WARN : VG_LOG_INFO, l->case_key, l->name,
           "media: %llu datagrams dropped%s (totals: %llu not media or not negotiated, %llu "
           "failing SRTP, %llu from another address, %llu at the socket: another address "
           "or its queue full)",
           (unsigned long long)n, l->drops_told_us ? " in the last minute or so" : "",
           (unsigned long long)s->dropped_unknown, (unsigned long long)s->dropped_srtp,
           (unsigned long long)s->dropped_foreign, (unsigned long long)s->dropped_kernel);
    l->drops_told = all;
    l->drops_told_us = now;
}

static void snapshot(struct leg *l)
{
    struct leg_snapshot s = {.rtt_us = -1};
    snprintf(s.case_key, sizeof s.case_key, "%s", l->case_key);
    snprintf(s.name, sizeof s.name, "%s", l->name);
    s.state = l->state;
    s.dropped_unknown = l->unknown_drops;
    s.dropped_simulated = l->simulated_drops;
    s.dropped_rate = l->rate_drops;
    s.dropped_srtp = l->srtp_drops + l->in[0].srtp_failures + l->in[1].srtp_failures;
    if (l->ice) { /* read past libnice from an address other than the selected pair's */
        struct vg_ice_stats is;
        vg_ice_get_stats(l->ice, &is);
        s.dropped_foreign = is.rx_dropped;
        s.dropped_kernel = is.rx_kernel_drops;
    }
    tell_drops(l, &s);
    if (l->in[K_VIDEO].hist) {
        s.hist_bytes = l->in[K_VIDEO].hist->cap;
        s.hist_grows = l->in[K_VIDEO].hist->grows;
    }
    for (int k = 0; k < 2; k++) {
        s.in_packets[k] = l->in[k].packets;
        s.in_bytes[k] = l->in[k].bytes;
        s.in_lost[k] = l->in[k].lost;
        s.out_packets[k] = l->out[k].packets;
        s.out_bytes[k] = l->out[k].bytes;
        s.nacks_sent += l->in[k].nacks_sent;
        s.plis_sent += l->in[k].plis_sent;
        s.nacks_received += l->out[k].nacks_received;
        s.retransmits += l->out[k].retransmits;
        s.nacks_unserved += l->out[k].nacks_unserved;
        s.plis_received += l->out[k].plis_received;
        if (l->out[k].rtt_us >= 0)
            s.rtt_us = l->out[k].rtt_us;
    }
    g_mutex_lock(&l->w->lock);
    l->snap = s;
    g_mutex_unlock(&l->w->lock);
}

void fwd_rtcp_tick(struct leg *l, int64_t now_us)
{
    if (l->srtp && l->ice_up) {
        report_to_sender(l);
        report_to_receiver(l);
    }
    int64_t span = now_us - l->rtcp_last_us; /* ~1 s, up to a worker tick more */
    l->rtcp_last_us = now_us;
    for (int k = 0; k < 2; k++) {
        l->in[k].rate_Bps = span > 0 ? l->in[k].bytes_window * 1000000 / (uint64_t)span : 0;
        l->in[k].bytes_window = 0;
    }
    snapshot(l);
}

/* Connections ------------------------------------------------------------------------- */

static void unlink_out(struct leg *dst, struct leg *src, unsigned kinds)
{
    for (int k = 0; k < 2; k++)
        if ((kinds & (k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO)) && dst->out[k].src == src)
            dst->out[k].src = NULL;
}

void fwd_connect(struct leg *src, struct leg *dst, unsigned kinds)
{
    size_t i;
    for (i = 0; i < src->n_recv && src->recv[i] != dst; i++)
        ;
    if (i == src->n_recv) {
        if (src->n_recv == MAX_RECEIVERS) {
            vg_warn(src->case_key, src->name, "media: %d receivers already: %s not added",
                    MAX_RECEIVERS, dst->name);
            return;
        }
        src->recv[src->n_recv++] = dst;
    }
    src->recv_kinds[i] |= kinds;
    for (int k = 0; k < 2; k++)
        if (kinds & (k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO))
            dst->out[k].src = src; /* replaces an earlier source: rebased on its first packet */
    vg_info(src->case_key, src->name, "media: forwarding %s%s to %s", kinds & 1 ? "audio " : "",
            kinds & 2 ? "video" : "", dst->name);
    if ((kinds & VG_MEDIA_VIDEO) && dst->srtp)
        fwd_request_keyframe(src, true); /* else when dst connects: leg.c */
}

void fwd_pause(struct leg *dst, unsigned kinds, bool paused)
{
    for (int k = 0; k < 2; k++) {
        if (!(kinds & (k == K_AUDIO ? VG_MEDIA_AUDIO : VG_MEDIA_VIDEO)))
            continue;
        bool resumed = dst->out[k].paused && !paused;
        dst->out[k].paused = paused;
        /* The stream goes on where it was (rebased on the next packet); video needs a
         * keyframe to be decodable again. */
        if (resumed && k == K_VIDEO && dst->out[k].src)
            fwd_request_keyframe(dst->out[k].src, true);
    }
}

void fwd_disconnect(struct leg *src, struct leg *dst)
{
    for (size_t i = 0; i < src->n_recv; i++) {
        if (src->recv[i] != dst)
            continue;
        unlink_out(dst, src, src->recv_kinds[i]);
        src->recv[i] = src->recv[src->n_recv - 1];
        src->recv_kinds[i] = src->recv_kinds[src->n_recv - 1];
        src->n_recv--;
        return;
    }
}

void fwd_detach(struct leg *l)
{
    while (l->n_recv)
        fwd_disconnect(l, l->recv[0]);
    for (int k = 0; k < 2; k++)
        if (l->out[k].src)
            fwd_disconnect(l->out[k].src, l);
}
