/* The worker pool, and the only crossings between the owner's thread and the
 * workers: operations posted to a worker's context, events posted back to the
 * owner's. Nothing else is shared but the snapshots read by vg_media_write_metrics(). */
#include "engine_internal.h"

#include "log.h"
#include "vg_err.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t engine_now_us(void)
{
    return g_get_monotonic_time();
}

/* Events ----------------------------------------------------------------------------- */

enum ev_kind { EV_SDP, EV_CANDIDATE, EV_STATE };

struct event {
    struct gate *gate;
    enum ev_kind kind;
    uint64_t leg;
    int state;
    char *a, *b;
};

static void gate_unref(struct gate *g)
{
    if (g_atomic_int_dec_and_test(&g->refs))
        g_free(g);
}

static gboolean event_run(gpointer data)
{
    struct event *e = data;
    struct gate *g = e->gate;
    if (!g_atomic_int_get(&g->alive))
        return G_SOURCE_REMOVE;
    if (e->kind == EV_SDP && g->ev.sdp)
        g->ev.sdp(e->leg, e->a, e->b, g->ud);
    else if (e->kind == EV_CANDIDATE && g->ev.candidate)
        g->ev.candidate(e->leg, e->a, g->ud);
    else if (e->kind == EV_STATE && g->ev.state)
        g->ev.state(e->leg, (enum vg_leg_state)e->state, e->a ? e->a : "", g->ud);
    return G_SOURCE_REMOVE;
}

static void event_free(gpointer data)
{
    struct event *e = data;
    gate_unref(e->gate);
    g_free(e->a);
    g_free(e->b);
    g_free(e);
}

static void emit(struct leg *l, enum ev_kind kind, int state, const char *a, const char *b)
{
    struct vg_media *m = l->w->m;
    struct event *e = g_new0(struct event, 1);
    e->gate = m->gate;
    g_atomic_int_inc(&m->gate->refs);
    e->kind = kind;
    e->leg = l->id;
    e->state = state;
    e->a = g_strdup(a);
    e->b = g_strdup(b);
    g_main_context_invoke_full(m->owner, G_PRIORITY_DEFAULT, event_run, e, event_free);
}

void engine_emit_sdp(struct leg *l, const char *type, const char *sdp)
{
    emit(l, EV_SDP, 0, type, sdp);
}

void engine_emit_candidate(struct leg *l, const char *line)
{
    emit(l, EV_CANDIDATE, 0, line, NULL);
}

void engine_emit_state(struct leg *l, enum vg_leg_state st, const char *detail)
{
    if (l->state == st && st != VG_LEG_CONNECTED)
        return;
    l->state = st;
    emit(l, EV_STATE, (int)st, detail, NULL);
}

/* Operations ------------------------------------------------------------------------- */

enum op_kind {
    OP_FROM_OFFER,
    OP_OFFER,
    OP_ANSWER,
    OP_REOFFER,
    OP_CANDIDATE,
    OP_CLOSE,
    OP_CONNECT,
    OP_DISCONNECT,
    OP_PAUSE,
    OP_RESUME,
    OP_TAP,
    OP_PING, /* vg_media_stall_us(): stamps when the worker ran it (leg = the stamp) */
    OP_SHUTDOWN
};

struct op {
    struct worker *w;
    enum op_kind kind;
    uint64_t leg, other;
    unsigned kinds;
    bool recv;
    char *case_key, *name, *text;
    struct vg_media_tap tap;
};

struct leg *engine_leg(struct worker *w, uint64_t id)
{
    return g_hash_table_lookup(w->legs, &id);
}

static void add_leg(struct worker *w, struct leg *l)
{
    g_mutex_lock(&w->lock);
    g_hash_table_insert(w->legs, &l->id, l);
    g_mutex_unlock(&w->lock);
}

static void release_tap(struct vg_media_tap *t)
{
    if (t->release)
        t->release(t->ud);
    memset(t, 0, sizeof *t);
}

static void remove_leg(struct worker *w, struct leg *l)
{
    g_mutex_lock(&w->lock);
    g_hash_table_remove(w->legs, &l->id);
    g_mutex_unlock(&w->lock);
    release_tap(&l->tap);
    leg_free(l);
}

static void op_new_leg(struct op *o)
{
    bool offer = o->kind == OP_OFFER;
    struct leg *l = leg_new(o->w, o->leg, o->case_key, o->name, offer);
    if (l)
        l->send_kinds = o->kinds;
    char why[200] = "";
    if (!l) {
        /* No leg to hold state: tell the owner through a stand-in with the id, so
         * the party is not left waiting for an SDP that will never come. */
        struct leg stand_in = {.id = o->leg, .w = o->w};
        vg_error(o->case_key, o->name, "media: cannot create a leg (ICE transport refused)");
        engine_emit_state(&stand_in, VG_LEG_FAILED, "the gateway could not open a media port");
        return;
    }
    add_leg(o->w, l);
    int rc = offer ? leg_make_offer(l, o->kinds, o->recv, why, sizeof why)
                   : leg_apply_offer(l, o->text, why, sizeof why);
    if (rc)
        leg_fail(l, why);
}

static void op_on_leg(struct op *o, struct leg *l)
{
    char why[200] = "";
    struct leg *other = o->other ? engine_leg(o->w, o->other) : NULL;
    switch (o->kind) {
    case OP_ANSWER:
        if (leg_apply_answer(l, o->text, why, sizeof why))
            leg_fail(l, why);
        break;
    case OP_REOFFER:
        if (leg_apply_offer(l, o->text, why, sizeof why))
            leg_fail(l, why);
        break;
    case OP_CANDIDATE: leg_add_candidate(l, o->text); break;
    case OP_CLOSE:
        engine_emit_state(l, VG_LEG_CLOSED, "closed");
        remove_leg(o->w, l);
        break;
    case OP_CONNECT:
        if (other)
            fwd_connect(l, other, o->kinds);
        break;
    case OP_DISCONNECT:
        if (other)
            fwd_disconnect(l, other);
        break;
    case OP_PAUSE:
    case OP_RESUME: fwd_pause(l, o->kinds, o->kind == OP_PAUSE); break;
    case OP_TAP:
        release_tap(&l->tap);
        l->tap = o->tap;
        memset(&o->tap, 0, sizeof o->tap);
        break;
    default: break;
    }
}

static void close_all(struct worker *w)
{
    GList *legs = g_hash_table_get_values(w->legs);
    for (GList *i = legs; i; i = i->next)
        remove_leg(w, i->data);
    g_list_free(legs);
}

static gboolean op_run(gpointer data)
{
    struct op *o = data;
    if (o->kind == OP_FROM_OFFER || o->kind == OP_OFFER) {
        op_new_leg(o);
    } else if (o->kind == OP_PING) {
        atomic_store(&o->w->ping_seen_us, (int64_t)o->leg);
    } else if (o->kind == OP_SHUTDOWN) {
        close_all(o->w);
        vg_ice_loop_quit(o->w->loop);
    } else {
        struct leg *l = engine_leg(o->w, o->leg);
        if (l)
            op_on_leg(o, l);
        if (!l && o->kind == OP_TAP)
            release_tap(&o->tap);
        if (!l)
            vg_debug(NULL, NULL, "media: operation %d on leg %llu, which is gone", o->kind,
                     (unsigned long long)o->leg);
    }
    return G_SOURCE_REMOVE;
}

static void op_free(gpointer data)
{
    struct op *o = data;
    g_free(o->case_key);
    g_free(o->name);
    g_free(o->text);
    g_free(o);
}

static struct worker *worker_of_leg(struct vg_media *m, uint64_t id)
{
    return &m->workers[(id & 0xff) % m->n_workers];
}

static void post(struct worker *w, struct op *o)
{
    o->w = w;
    g_main_context_invoke_full(w->ctx, G_PRIORITY_DEFAULT, op_run, o, op_free);
}

/* Leg ids are not used again across restarts: a case's recording goes on after a
 * restart (src/evidence), and a leg's id names its files and its stream in the
 * manifest. So the count starts from the wall clock in microseconds: a later start
 * begins past every id of an earlier one unless that one made more than a leg per
 * microsecond on average or the clock was set back (then a leg whose file name is
 * taken loses its recording, alerted). The low 8 bits are the worker; ids are
 * written as strings (evidence), and fit 64 bits until the year 4200. */
static uint64_t new_id(struct vg_media *m, const char *case_key)
{
    unsigned widx = g_str_hash(case_key) % m->n_workers;
    uint64_t n = atomic_fetch_add(&m->next_id, 1) + 1;
    return (n << 8) | widx;
}

/* API ---------------------------------------------------------------------------------- */

static struct op *new_op(enum op_kind kind, uint64_t leg, const char *text)
{
    struct op *o = g_new0(struct op, 1);
    o->kind = kind;
    o->leg = leg;
    o->text = g_strdup(text);
    return o;
}

uint64_t vg_media_leg_from_offer(struct vg_media *m, const char *case_key, const char *name,
                                 const char *offer, unsigned send_kinds)
{
    uint64_t id = new_id(m, case_key);
    struct op *o = new_op(OP_FROM_OFFER, id, offer);
    o->kinds = send_kinds;
    o->case_key = g_strdup(case_key);
    o->name = g_strdup(name);
    post(worker_of_leg(m, id), o);
    return id;
}

uint64_t vg_media_leg_offer(struct vg_media *m, const char *case_key, const char *name,
                            unsigned kinds, bool recv)
{
    uint64_t id = new_id(m, case_key);
    struct op *o = new_op(OP_OFFER, id, NULL);
    o->case_key = g_strdup(case_key);
    o->name = g_strdup(name);
    o->kinds = kinds;
    o->recv = recv;
    post(worker_of_leg(m, id), o);
    return id;
}

void vg_media_leg_answer(struct vg_media *m, uint64_t leg, const char *answer)
{
    post(worker_of_leg(m, leg), new_op(OP_ANSWER, leg, answer));
}

void vg_media_leg_reoffer(struct vg_media *m, uint64_t leg, const char *offer)
{
    post(worker_of_leg(m, leg), new_op(OP_REOFFER, leg, offer));
}

void vg_media_leg_candidate(struct vg_media *m, uint64_t leg, const char *line)
{
    post(worker_of_leg(m, leg), new_op(OP_CANDIDATE, leg, line));
}

void vg_media_leg_close(struct vg_media *m, uint64_t leg)
{
    post(worker_of_leg(m, leg), new_op(OP_CLOSE, leg, NULL));
}

static void connect_op(struct vg_media *m, enum op_kind kind, uint64_t source, uint64_t receiver,
                       unsigned kinds)
{
    if (worker_of_leg(m, source) != worker_of_leg(m, receiver)) {
        vg_error(NULL, NULL,
                 "media: legs %llu and %llu are on different workers: give every "
                 "leg of a case the same case key",
                 (unsigned long long)source, (unsigned long long)receiver);
        return;
    }
    struct op *o = new_op(kind, source, NULL);
    o->other = receiver;
    o->kinds = kinds;
    post(worker_of_leg(m, source), o);
}

void vg_media_connect(struct vg_media *m, uint64_t source, uint64_t receiver, unsigned kinds)
{
    connect_op(m, OP_CONNECT, source, receiver, kinds);
}

void vg_media_disconnect(struct vg_media *m, uint64_t source, uint64_t receiver)
{
    connect_op(m, OP_DISCONNECT, source, receiver, 0);
}

void vg_media_leg_tap(struct vg_media *m, uint64_t leg, const struct vg_media_tap *tap)
{
    struct op *o = new_op(OP_TAP, leg, NULL);
    o->tap = *tap;
    post(worker_of_leg(m, leg), o);
}

bool engine_simulated_drop(struct worker *w)
{
    if (!w->m->loss_permille)
        return false;
    /* splitmix64: every draw independent of the last (the ingress and egress draws
     * of one forwarded packet alternate, and xorshift's neighbours correlate). */
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (z % 1000) < w->m->loss_permille;
}

void vg_media_set_paused(struct vg_media *m, uint64_t receiver, unsigned kinds, bool paused)
{
    struct op *o = new_op(paused ? OP_PAUSE : OP_RESUME, receiver, NULL);
    o->kinds = kinds;
    post(worker_of_leg(m, receiver), o);
}

const char *vg_leg_state_name(enum vg_leg_state s)
{
    static const char *const names[] = {"connecting", "connected", "failed", "closed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* Workers ------------------------------------------------------------------------------ */

#define RTCP_TICK_MS 100

/* Legs keep their own 1 s report phase (leg_rtcp_due), so reports do not all leave
 * at once; the tick only bounds how late one can be. Membership of w->legs changes
 * on this thread only, and a report never frees a leg. */
static gboolean worker_rtcp_tick(gpointer data)
{
    struct worker *w = data;
    int64_t now = g_get_monotonic_time();
    GHashTableIter it;
    gpointer leg;
    g_hash_table_iter_init(&it, w->legs);
    while (g_hash_table_iter_next(&it, NULL, &leg))
        leg_rtcp_due(leg, now);
    return G_SOURCE_CONTINUE;
}

static gpointer worker_main(gpointer data)
{
    struct worker *w = data;
    g_main_context_push_thread_default(w->ctx);
    w->rtcp_tick = g_timeout_source_new(RTCP_TICK_MS);
    g_source_set_callback(w->rtcp_tick, worker_rtcp_tick, w, NULL);
    g_source_attach(w->rtcp_tick, w->ctx);
    vg_ice_loop_run(w->loop);
    struct vg_ice_loop_stats st;
    vg_ice_loop_get_stats(w->loop, &st);
    vg_debug(NULL, NULL,
             "media: worker %u: %llu waits, %llu runs of its context, %llu of sockets, "
             "%llu datagrams sent in %llu batches (%llu in %llu GSO sends), "
             "%llu read in %llu batches",
             w->index, (unsigned long long)st.rounds, (unsigned long long)st.main_dispatches,
             (unsigned long long)st.io_dispatches, (unsigned long long)st.datagrams_queued,
             (unsigned long long)st.send_batches, (unsigned long long)st.gso_datagrams,
             (unsigned long long)st.gso_sends, (unsigned long long)st.datagrams_rx,
             (unsigned long long)st.rx_reads);
    g_source_destroy(w->rtcp_tick);
    g_source_unref(w->rtcp_tick);
    /* libnice agents are released from idle sources on this context: let them run. */
    int64_t until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while (vg_ice_live() > 0 && g_get_monotonic_time() < until)
        vg_ice_loop_iterate(w->loop, 1);
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

static int copy_config(struct vg_media *m, const struct vg_media_config *cfg)
{
    m->local_addrs = g_new0(char *, cfg->n_local_addrs + 1);
    for (size_t i = 0; i < cfg->n_local_addrs; i++)
        m->local_addrs[i] = g_strdup(cfg->local_addrs[i]);
    m->n_local_addrs = cfg->n_local_addrs;
    m->stun = g_strdup(cfg->stun_server);
    m->turn = g_strdup(cfg->turn_server);
    m->turn_user = g_strdup(cfg->turn_username);
    m->turn_pass = g_strdup(cfg->turn_password);
    m->loss_permille = cfg->simulate_loss_permille > 1000 ? 1000 : cfg->simulate_loss_permille;
    m->nack = cfg->nack;
    const char *fp = vg_dtls_cert_fingerprint(m->cert);
    const char *sp = fp ? strchr(fp, ' ') : NULL; /* "sha-256 AB:CD:..." */
    if (!sp || strlen(sp + 1) != VG_SDP_FP_SHA256_LEN)
        return VG_EIO;
    memcpy(m->fingerprint, sp + 1, VG_SDP_FP_SHA256_LEN + 1);
    return VG_OK;
}

int vg_media_new(const struct vg_media_config *cfg, const struct vg_media_events *ev, void *ud,
                 GMainContext *owner, struct vg_media **out)
{
    if (vg_srtp_global_init())
        return VG_EIO;
    if (strcmp(vg_srtp_gcm_impl(), "openssl"))
        vg_warn(NULL, NULL,
                "media: OpenSSL's AES-GCM failed libsrtp2's self-tests; "
                "SRTP uses libsrtp2's own, at about twice the CPU per packet");
    if (strcmp(vg_srtp_icm_impl(), "openssl"))
        vg_warn(NULL, NULL,
                "media: OpenSSL's AES-CTR or HMAC-SHA1 failed libsrtp2's self-tests; "
                "libsrtp2's own (NSS) does that part: ~1 ms per SRTP session, ~4 us "
                "per AES_CM packet");
    struct vg_media *m = g_new0(struct vg_media, 1);
    atomic_init(&m->next_id, (uint64_t)g_get_real_time());
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (vg_dtls_cert_new((int64_t)ts.tv_sec * 1000000, &m->cert) || copy_config(m, cfg)) {
        vg_media_free(m);
        return VG_EIO;
    }
    m->gate = g_new0(struct gate, 1);
    m->gate->refs = 1;
    m->gate->alive = 1;
    m->gate->ev = *ev;
    m->gate->ud = ud;
    m->owner = owner;
    m->n_workers = cfg->workers ? cfg->workers : g_get_num_processors();
    if (m->n_workers > 64)
        m->n_workers = 64;
    m->workers = g_new0(struct worker, m->n_workers);
    for (unsigned i = 0; i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        w->m = m;
        w->index = i;
        w->loop = vg_ice_loop_new();
        if (!w->loop) { /* epoll refused: nothing is running yet */
            m->n_workers = i;
            vg_media_free(m);
            return VG_EIO;
        }
        w->ctx = vg_ice_loop_context(w->loop);
        w->legs = g_hash_table_new(g_int64_hash, g_int64_equal);
        g_mutex_init(&w->lock);
        w->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)i << 32) ^ (uint64_t)g_get_real_time();
        w->thread = g_thread_new("vigil-media", worker_main, w);
    }
    *out = m;
    return VG_OK;
}

void vg_media_free(struct vg_media *m)
{
    if (!m)
        return;
    if (m->gate)
        g_atomic_int_set(&m->gate->alive, 0);
    for (unsigned i = 0; m->workers && i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        post(w, new_op(OP_SHUTDOWN, 0, NULL));
        g_thread_join(w->thread);
        g_hash_table_destroy(w->legs);
        vg_ice_loop_free(w->loop);
        g_mutex_clear(&w->lock);
    }
    g_free(m->workers);
    if (m->gate)
        gate_unref(m->gate);
    vg_dtls_cert_free(m->cert);
    g_strfreev(m->local_addrs);
    g_free(m->stun);
    g_free(m->turn);
    g_free(m->turn_user);
    g_free(m->turn_pass);
    g_free(m);
}

/* Metrics ------------------------------------------------------------------------------ */

static void leg_metrics(GString *s, const struct leg_snapshot *p, uint64_t id)
{
    static const char *const kind[2] = {"audio", "video"};
    char lab[160];
    snprintf(lab, sizeof lab, "case=\"%s\",leg=\"%s\",id=\"%llu\"", p->case_key, p->name,
             (unsigned long long)id);
    for (int k = 0; k < 2; k++) {
        g_string_append_printf(s, "vigil_media_packets_in_total{%s,kind=\"%s\"} %llu\n", lab,
                               kind[k], (unsigned long long)p->in_packets[k]);
        g_string_append_printf(s, "vigil_media_bytes_in_total{%s,kind=\"%s\"} %llu\n", lab, kind[k],
                               (unsigned long long)p->in_bytes[k]);
        g_string_append_printf(s, "vigil_media_packets_lost_total{%s,kind=\"%s\"} %llu\n", lab,
                               kind[k], (unsigned long long)p->in_lost[k]);
        g_string_append_printf(s, "vigil_media_packets_out_total{%s,kind=\"%s\"} %llu\n", lab,
                               kind[k], (unsigned long long)p->out_packets[k]);
        g_string_append_printf(s, "vigil_media_bytes_out_total{%s,kind=\"%s\"} %llu\n", lab,
                               kind[k], (unsigned long long)p->out_bytes[k]);
    }
    g_string_append_printf(s, "vigil_media_nacks_sent_total{%s} %llu\n", lab,
                           (unsigned long long)p->nacks_sent);
    g_string_append_printf(s, "vigil_media_nacks_received_total{%s} %llu\n", lab,
                           (unsigned long long)p->nacks_received);
    g_string_append_printf(s, "vigil_media_retransmits_total{%s} %llu\n", lab,
                           (unsigned long long)p->retransmits);
    g_string_append_printf(s, "vigil_media_nacks_unserved_total{%s} %llu\n", lab,
                           (unsigned long long)p->nacks_unserved);
    g_string_append_printf(s, "vigil_media_plis_sent_total{%s} %llu\n", lab,
                           (unsigned long long)p->plis_sent);
    g_string_append_printf(s, "vigil_media_plis_received_total{%s} %llu\n", lab,
                           (unsigned long long)p->plis_received);
    if (p->rtt_us >= 0) /* absent until a receiver report measured it */
        g_string_append_printf(s, "vigil_media_rtt_seconds{%s} %.6f\n", lab,
                               (double)p->rtt_us / 1e6);
    if (p->hist_bytes) /* absent until the leg receives video */
        g_string_append_printf(s,
                               "vigil_media_nack_history_bytes{%s} %llu\n"
                               "vigil_media_nack_history_grows_total{%s} %u\n",
                               lab, (unsigned long long)p->hist_bytes, lab, p->hist_grows);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"unknown\"} %llu\n", lab,
                           (unsigned long long)p->dropped_unknown);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"srtp\"} %llu\n", lab,
                           (unsigned long long)p->dropped_srtp);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"simulated\"} %llu\n", lab,
                           (unsigned long long)p->dropped_simulated);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"foreign\"} %llu\n", lab,
                           (unsigned long long)p->dropped_foreign);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"rate\"} %llu\n", lab,
                           (unsigned long long)p->dropped_rate);
    g_string_append_printf(s, "vigil_media_dropped_total{%s,reason=\"kernel\"} %llu\n", lab,
                           (unsigned long long)p->dropped_kernel);
}

int64_t vg_media_stall_us(struct vg_media *m, int64_t now_us)
{
    int64_t worst = 0;
    for (unsigned i = 0; i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        if (w->ping_sent_us && atomic_load(&w->ping_seen_us) != w->ping_sent_us) {
            if (now_us - w->ping_sent_us > worst)
                worst = now_us - w->ping_sent_us;
            continue;
        }
        w->ping_sent_us = now_us;
        post(w, new_op(OP_PING, (uint64_t)now_us, NULL));
    }
    return worst;
}

void vg_media_write_metrics(struct vg_media *m, GString *s)
{
    unsigned legs = 0;
    g_string_append(s, "# HELP vigil_media_legs Media legs on the workers.\n"
                       "# TYPE vigil_media_legs gauge\n");
    GString *per = g_string_new(NULL);
    for (unsigned i = 0; i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        g_mutex_lock(&w->lock);
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, w->legs);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            struct leg *l = v;
            leg_metrics(per, &l->snap, l->id);
            legs++;
        }
        g_mutex_unlock(&w->lock);
    }
    g_string_append_printf(s, "vigil_media_legs %u\n", legs);
    g_string_append_printf(s,
                           "# HELP vigil_media_workers Media worker loops.\n"
                           "# TYPE vigil_media_workers gauge\nvigil_media_workers %u\n",
                           m->n_workers);
    g_string_append(s, per->str);
    g_string_free(per, TRUE);
}

int vg_media_check_server(const char *server)
{
    return vg_ice_check_server(server);
}

int vg_media_check_address(const char *addr)
{
    return vg_ice_check_address(addr);
}
