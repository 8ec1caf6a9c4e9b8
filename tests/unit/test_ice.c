/* Two ICE transports in one process on one GMainContext, gathering on 127.0.0.1 only
 * (run inside tests/netns-run). They trickle candidates to each other the way
 * signaling would, connect, carry datagrams, restart, and are freed from inside their
 * own callbacks. */
#include "ice.h"
#include "vg_err.h"
#include "vt.h"
#include "vtime.h"

#include <arpa/inet.h>
#include <glib.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_DGRAMS 100
#define MAX_STATES 32

static GMainContext *ctx;
static struct vg_ice_loop *loop; /* --loop: the media workers' loop drives ctx */
static bool in_api;              /* set around our own vg_ice_* calls: no callback may fire then */

struct peer {
    const char *name;
    struct vg_ice *t;
    struct peer *other;
    bool freed;        /* vg_ice_free() called: no callback may fire any more */
    bool free_on_recv; /* free t inside its first receive callback */
    bool free_on_cand; /* free t inside its first candidate callback */
    int n_cands, n_gathered, n_add_failed;
    char cand[4][VG_ICE_CANDIDATE_MAX];
    enum vg_ice_state states[MAX_STATES];
    int n_states;
    enum vg_ice_state last;
    char pair[VG_ICE_PAIR_MAX];
    int gen;           /* generation byte the datagrams now carry */
    int n_recv, n_bad; /* datagrams of this generation, and wrong ones */
    bool seen[N_DGRAMS];
};

static const char *const loopback[] = {"127.0.0.1"};

/* Callbacks ----------------------------------------------------------------- */

static void on_candidate(const char *line, void *ud)
{
    struct peer *p = ud;
    VT_CHECK(!in_api);
    VT_CHECK(!p->freed);
    if (p->n_cands < 4)
        g_strlcpy(p->cand[p->n_cands], line, sizeof p->cand[0]);
    p->n_cands++;
    if (p->free_on_cand) {
        p->freed = true;
        vg_ice_free(p->t);
        return;
    }
    /* Trickle: signaling would carry the line to the peer now. */
    if (p->other && vg_ice_add_remote_candidate(p->other->t, line) != 0)
        p->n_add_failed++;
}

static void on_gathering_done(void *ud)
{
    struct peer *p = ud;
    VT_CHECK(!in_api);
    VT_CHECK(!p->freed);
    p->n_gathered++;
    if (p->other)
        VT_EQ_INT(vg_ice_end_of_candidates(p->other->t), 0);
}

static void on_state(enum vg_ice_state s, const char *pair, void *ud)
{
    struct peer *p = ud;
    VT_CHECK(!in_api);
    VT_CHECK(!p->freed);
    if (p->n_states < MAX_STATES)
        p->states[p->n_states++] = s;
    p->last = s;
    g_strlcpy(p->pair, pair, sizeof p->pair);
}

/* Generations from GEN_FRAMES on are "video frames": each ten datagrams nine of
 * 1,000 bytes and one of 300, as a packetizer fills all of a frame's packets but
 * the last (loop.c sends such a run as one UDP GSO group). Before it, datagram i
 * is 50 + 10 i bytes: no two alike. */
#define GEN_FRAMES 10

static size_t dgram_len(int gen, int i)
{
    if (gen >= GEN_FRAMES)
        return i % 10 == 9 ? 300 : 1000;
    return 50 + 10 * (size_t)i;
}

/* Datagram i of generation g: 0x80 (an RTP-looking first byte), g, i, then i
 * repeated; dgram_len() bytes. */
static size_t make_dgram(uint8_t *buf, int gen, int i)
{
    size_t len = dgram_len(gen, i);
    buf[0] = 0x80;
    buf[1] = (uint8_t)gen;
    buf[2] = (uint8_t)i;
    memset(buf + 3, i, len - 3);
    return len;
}

static void on_recv(const uint8_t *buf, size_t len, void *ud)
{
    struct peer *p = ud;
    uint8_t want[1100];
    VT_CHECK(!in_api);
    VT_CHECK(!p->freed);
    if (len < 3 || buf[1] != p->gen || buf[2] >= N_DGRAMS || p->seen[buf[2]]) {
        p->n_bad++;
        return;
    }
    size_t wlen = make_dgram(want, p->gen, buf[2]);
    if (wlen != len || memcmp(want, buf, len) != 0) {
        p->n_bad++;
        return;
    }
    p->seen[buf[2]] = true;
    p->n_recv++;
    if (p->free_on_recv) {
        p->freed = true;
        vg_ice_free(p->t);
    }
}

static const struct vg_ice_callbacks cbs = {on_candidate, on_gathering_done, on_state, on_recv};

/* Helpers ------------------------------------------------------------------- */

static gboolean on_deadline(gpointer p)
{
    *(bool *)p = true;
    return G_SOURCE_REMOVE;
}

/* Iterates the context until done(arg) or timeout_ms; returns done(arg). */
static bool run_until(bool (*done)(void *), void *arg, int timeout_ms)
{
    bool expired = false;
    GSource *s = g_timeout_source_new((guint)timeout_ms);
    g_source_set_callback(s, on_deadline, &expired, NULL);
    g_source_attach(s, ctx);
    while (!done(arg) && !expired) {
        if (loop)
            vg_ice_loop_iterate(loop, -1);
        else
            g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(s);
    g_source_unref(s);
    return done(arg);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static bool up(const struct peer *p)
{
    return p->last == VG_ICE_CONNECTED || p->last == VG_ICE_READY;
}

static bool both_up(void *arg)
{
    struct peer *p = arg;
    return up(p) && up(p->other);
}

static bool both_failed(void *arg)
{
    struct peer *p = arg;
    return p->last == VG_ICE_FAILED && p->other->last == VG_ICE_FAILED;
}

static bool both_received(void *arg)
{
    struct peer *p = arg;
    return p->n_recv == N_DGRAMS && p->other->n_recv == N_DGRAMS;
}

static bool none_live(void *arg)
{
    (void)arg;
    return vg_ice_live() == 0;
}

static bool one_live(void *arg)
{
    (void)arg;
    return vg_ice_live() == 1;
}

static int new_peer(struct peer *p, const char *name, enum vg_ice_role role)
{
    struct vg_ice_config cfg = {.role = role,
                                .local_addrs = loopback,
                                .n_local_addrs = 1,
                                .case_id = "c-test",
                                .leg_id = name,
                                .loop = loop};
    memset(p, 0, sizeof *p);
    p->name = name;
    return vg_ice_new(ctx, &cfg, &cbs, p, &p->t);
}

/* Sets each side's remote credentials from the other's local ones. */
static void exchange_credentials(struct peer *a, struct peer *b)
{
    struct vg_ice_credentials ca, cb;
    VT_EQ_INT(vg_ice_local_credentials(a->t, &ca), 0);
    VT_EQ_INT(vg_ice_local_credentials(b->t, &cb), 0);
    VT_EQ_INT(vg_ice_set_remote_credentials(a->t, cb.ufrag, cb.pwd), 0);
    VT_EQ_INT(vg_ice_set_remote_credentials(b->t, ca.ufrag, ca.pwd), 0);
}

/* Creates a controlling and a controlled transport that trickle to each other, gathers,
 * and runs until both are connected. Returns the time it took in microseconds. */
static int64_t connect_pair(struct peer *a, struct peer *b)
{
    VT_EQ_INT(new_peer(a, "a", VG_ICE_CONTROLLING), 0);
    VT_EQ_INT(new_peer(b, "b", VG_ICE_CONTROLLED), 0);
    a->other = b;
    b->other = a;
    int64_t t0 = vg_now_us();
    in_api = true;
    exchange_credentials(a, b);
    VT_EQ_INT(vg_ice_gather(a->t), 0);
    VT_EQ_INT(vg_ice_gather(b->t), 0);
    in_api = false;
    VT_CHECK(run_until(both_up, a, 5000));
    return vg_now_us() - t0;
}

static void expect_gen(struct peer *p, int gen)
{
    p->gen = gen;
    p->n_recv = 0;
    memset(p->seen, 0, sizeof p->seen);
}

/* libnice's socket sources (GLib names them "GSocket") must be marked recursive
 * once connected, so dispatching one never signals the context's wakeup (ice.c,
 * let_recurse). Source ids are per context and increasing: all are looked at. */
static void check_socket_sources_recurse(GMainContext *c, int min)
{
    GSource *probe = g_idle_source_new();
    guint end = g_source_attach(probe, c);
    g_source_destroy(probe);
    g_source_unref(probe);
    int sockets = 0, recursive = 0;
    for (guint id = 1; id < end; id++) {
        GSource *src = g_main_context_find_source_by_id(c, id);
        const char *name = src ? g_source_get_name(src) : NULL;
        if (name && strcmp(name, "GSocket") == 0) {
            sockets++;
            recursive += g_source_get_can_recurse(src);
        }
    }
    VT_CHECK(sockets >= min); /* at least one per agent */
    VT_EQ_INT(recursive, sockets);
}

/* Without a loop both agents' sockets are sources on ctx; with one, each transport
 * has its own context for them. */
static void check_sources_recurse(struct peer *a, struct peer *b)
{
    if (!loop) {
        VT_CHECK(vg_ice_io_context(a->t) == ctx);
        check_socket_sources_recurse(ctx, 2);
        return;
    }
    VT_CHECK(vg_ice_io_context(a->t) != ctx);
    VT_CHECK(vg_ice_io_context(a->t) != vg_ice_io_context(b->t));
    check_socket_sources_recurse(vg_ice_io_context(a->t), 1);
    check_socket_sources_recurse(vg_ice_io_context(b->t), 1);
}

/* Serves what is ready without waiting. */
static void drain(void)
{
    if (loop)
        while (vg_ice_loop_iterate(loop, 0) > 0)
            ;
    else
        while (g_main_context_iteration(ctx, FALSE))
            ;
}

/* Sends N_DGRAMS of generation gen each way and runs until all have arrived. */
static void send_both_ways(struct peer *a, struct peer *b, int gen)
{
    uint8_t buf[1100];
    expect_gen(a, gen);
    expect_gen(b, gen);
    /* Ten from a, ten from b, then the receivers read: 100 datagrams at once could
     * overrun a default socket receive buffer, and that loss would not be the
     * adapter's. On a loop the ten of one sender go out as one batch. */
    for (int i = 0; i < N_DGRAMS; i += 10) {
        for (int j = i; j < i + 10; j++)
            VT_EQ_INT(vg_ice_send(a->t, buf, make_dgram(buf, gen, j)), 0);
        for (int j = i; j < i + 10; j++)
            VT_EQ_INT(vg_ice_send(b->t, buf, make_dgram(buf, gen, j)), 0);
        drain();
    }
    VT_CHECK(run_until(both_received, a, 3000));
    check_sources_recurse(a, b);
    VT_EQ_INT(a->n_recv, N_DGRAMS);
    VT_EQ_INT(b->n_recv, N_DGRAMS);
    VT_EQ_INT(a->n_bad, 0);
    VT_EQ_INT(b->n_bad, 0);
}

/* Sum of 50 + 10 i for i < N_DGRAMS. */
#define DGRAM_BYTES (50 * N_DGRAMS + 10 * N_DGRAMS * (N_DGRAMS - 1) / 2)

static void free_all(struct peer *a, struct peer *b)
{
    if (!a->freed)
        vg_ice_free(a->t);
    if (!b->freed)
        vg_ice_free(b->t);
    a->freed = b->freed = true;
    VT_CHECK(run_until(none_live, NULL, 2000));
    VT_EQ_INT(vg_ice_live(), 0);
}

/* Tests --------------------------------------------------------------------- */

static void test_bad_config(void)
{
    struct vg_ice *t = (struct vg_ice *)1;
    const char *const bad_addr[] = {"localhost"};
    const char *const nine[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
                                "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"};
    struct vg_ice_config cfg = {.local_addrs = bad_addr, .n_local_addrs = 1};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    VT_CHECK(t == NULL);
    cfg = (struct vg_ice_config){.local_addrs = nine, .n_local_addrs = 9};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    /* A loop drives its own context only. */
    struct vg_ice_loop *other = vg_ice_loop_new();
    cfg = (struct vg_ice_config){.local_addrs = loopback, .n_local_addrs = 1, .loop = other};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    VT_CHECK(t == NULL);
    vg_ice_loop_free(other);
    cfg = (struct vg_ice_config){.stun_server = "stun.example.org:3478"};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.stun_server = "127.0.0.1:0"};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.stun_server = "[::1:3478"};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.turn_server = "127.0.0.1:3478", .turn_username = "u"};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.port_min = 5000, .port_max = 4000};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.role = 7};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.check_pacing_ms = 4}; /* RFC 8445: no faster than 5 ms */
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    cfg = (struct vg_ice_config){.check_pacing_ms = 1001};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), VG_EINVAL);
    VT_EQ_INT(vg_ice_live(), 0);

    /* Well-formed servers are taken (nothing is sent before gathering). */
    cfg = (struct vg_ice_config){.stun_server = "[::1]:3478",
                                 .turn_server = "127.0.0.1",
                                 .turn_username = "u",
                                 .turn_password = "p"};
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, NULL, &t), 0);
    VT_EQ_INT(vg_ice_live(), 1);
    vg_ice_free(t);
    VT_CHECK(run_until(none_live, NULL, 2000));
}

/* What the first connection left: one UDP host candidate each, reported as a trickle
 * line (libnice's SDP prefix "a=" gone), gathering done, and the states a reader of
 * the logs would see, in order. */
static void check_first_connect(const struct peer *a, const struct peer *b)
{
    VT_EQ_INT(a->n_cands, 1);
    VT_EQ_INT(b->n_cands, 1);
    VT_EQ_INT(a->n_gathered, 1);
    VT_EQ_INT(b->n_gathered, 1);
    VT_EQ_INT(a->n_add_failed + b->n_add_failed, 0);
    VT_CHECK(strncmp(a->cand[0], "candidate:", 10) == 0);
    VT_CONTAINS(a->cand[0], " 1 UDP ");
    VT_CONTAINS(a->cand[0], " 127.0.0.1 ");
    VT_CONTAINS(a->cand[0], " typ host");
    VT_CHECK(strchr(a->cand[0], '\r') == NULL && strchr(a->cand[0], '\n') == NULL);
    for (int i = 0; i < 2; i++) {
        const struct peer *p = i ? b : a;
        VT_EQ_INT(p->states[0], VG_ICE_GATHERING);
        VT_EQ_INT(p->states[1], VG_ICE_CHECKING);
        VT_EQ_INT(p->states[2], VG_ICE_CONNECTED);
        VT_CHECK(strncmp(p->pair, "udp host 127.0.0.1:", 19) == 0);
        VT_CONTAINS(p->pair, " <-> host 127.0.0.1:");
    }
}

/* ICE restart on both sides with new credentials; candidates trickle again. A datagram
 * sent each way meanwhile still arrives over the old pair. */
static void restart_pair(struct peer *a, struct peer *b)
{
    uint8_t buf[64];
    struct vg_ice_credentials before, after;
    VT_EQ_INT(vg_ice_local_credentials(a->t, &before), 0);
    VT_EQ_INT((int)strlen(before.ufrag), 4); /* libnice picks the RFC 8839 minimums */
    VT_EQ_INT((int)strlen(before.pwd), 22);
    int states_a = a->n_states, states_b = b->n_states;
    a->last = b->last = VG_ICE_NEW;
    int64_t t0 = vg_now_us();
    in_api = true;
    VT_EQ_INT(vg_ice_restart(a->t), 0);
    VT_EQ_INT(vg_ice_restart(b->t), 0);
    exchange_credentials(a, b);
    in_api = false;
    VT_EQ_INT(vg_ice_local_credentials(a->t, &after), 0);
    VT_CHECK(strcmp(before.ufrag, after.ufrag) != 0);
    VT_CHECK(strcmp(before.pwd, after.pwd) != 0);
    expect_gen(a, 9);
    expect_gen(b, 9);
    VT_EQ_INT(vg_ice_send(a->t, buf, make_dgram(buf, 9, 0)), 0);
    VT_EQ_INT(vg_ice_send(b->t, buf, make_dgram(buf, 9, 0)), 0);
    VT_CHECK(run_until(both_up, a, 5000));
    printf("ice: connected again %.1f ms after the restart\n", (vg_now_us() - t0) / 1000.0);
    VT_EQ_INT(a->n_recv, 1);
    VT_EQ_INT(b->n_recv, 1);
    /* libnice passes through "gathering" on a restart, though it gathers nothing. */
    VT_EQ_INT(a->states[states_a], VG_ICE_GATHERING);
    VT_EQ_INT(a->states[states_a + 1], VG_ICE_CHECKING);
    VT_EQ_INT(a->states[states_a + 2], VG_ICE_CONNECTED);
    VT_EQ_INT(b->states[states_b], VG_ICE_GATHERING);
    VT_EQ_INT(b->states[states_b + 1], VG_ICE_CHECKING);
    VT_EQ_INT(b->states[states_b + 2], VG_ICE_CONNECTED);
}

static void test_connect_send_restart(void)
{
    struct peer a, b;
    uint8_t buf[8] = {0x80};

    int64_t us = connect_pair(&a, &b);
    printf("ice: connected in %.1f ms (regular nomination, 127.0.0.1)\n", us / 1000.0);
    VT_CHECK(us < 2000000);
    check_first_connect(&a, &b);
    struct vg_ice_loop_stats l0, l1;
    if (loop)
        vg_ice_loop_get_stats(loop, &l0);
    send_both_ways(&a, &b, 1);
    VT_EQ_INT(a.last, VG_ICE_READY); /* regular nomination: concluded */
    VT_EQ_INT(b.last, VG_ICE_READY);
    if (loop) {
        /* The datagrams were read past libnice (below), not by the transports' own
         * contexts (which run for STUN), and not by ctx: ctx is run for its own fds
         * and timeouts (the deadline of run_until, libnice's timers) only. */
        vg_ice_loop_get_stats(loop, &l1);
        printf("ice (loop): %llu io runs, %llu runs of ctx for %d datagrams\n",
               (unsigned long long)(l1.io_dispatches - l0.io_dispatches),
               (unsigned long long)(l1.main_dispatches - l0.main_dispatches), 2 * N_DGRAMS);
        VT_CHECK(l1.io_dispatches - l0.io_dispatches < 2 * N_DGRAMS / 10);
        VT_CHECK(l1.main_dispatches - l0.main_dispatches < 2 * N_DGRAMS / 10);
        /* Host pairs: every datagram went through the queue, ten to a sendmmsg. */
        printf("ice (loop): %llu datagrams in %llu sendmmsg runs\n",
               (unsigned long long)(l1.datagrams_queued - l0.datagrams_queued),
               (unsigned long long)(l1.send_batches - l0.send_batches));
        VT_EQ_INT(l1.datagrams_queued - l0.datagrams_queued, 2 * N_DGRAMS);
        VT_EQ_INT(l1.send_batches - l0.send_batches, 2 * N_DGRAMS / 10);
        VT_EQ_INT(l1.refused, 0);
    }

    restart_pair(&a, &b);
    /* The same candidate reported again for the new SDP. */
    VT_EQ_INT(a.n_cands, 2);
    VT_EQ_INT(b.n_cands, 2);
    VT_EQ_INT(a.n_gathered, 2);
    VT_EQ_STR(a.cand[1], a.cand[0]);
    VT_EQ_INT(a.n_add_failed + b.n_add_failed, 0);
    send_both_ways(&a, &b, 2);

    struct vg_ice_stats sa, sb;
    vg_ice_get_stats(a.t, &sa);
    vg_ice_get_stats(b.t, &sb);
    /* Two rounds of N_DGRAMS, and the one 50-byte datagram during the restart. */
    VT_EQ_INT(sa.datagrams_out, 2 * N_DGRAMS + 1);
    VT_EQ_INT(sa.bytes_out, 2 * DGRAM_BYTES + 50);
    VT_EQ_INT(sa.datagrams_in, 2 * N_DGRAMS + 1);
    VT_EQ_INT(sa.bytes_in, 2 * DGRAM_BYTES + 50);
    VT_EQ_INT(sb.datagrams_in, 2 * N_DGRAMS + 1);
    VT_EQ_INT(sb.bytes_out, 2 * DGRAM_BYTES + 50);
    VT_EQ_INT(sa.send_failures + sb.send_failures, 0);
    VT_EQ_INT(sa.events_dropped + sb.events_dropped, 0);
    /* Host UDP pairs: the rounds went past libnice; the datagram sent during the
     * restart (libnice's state is not connected then) went through it. */
    VT_EQ_INT(sa.datagrams_direct, 2 * N_DGRAMS);
    VT_EQ_INT(sb.datagrams_direct, 2 * N_DGRAMS);
    /* On a loop they were read past libnice too, from a socket of the transport's
     * own (the one sent during the restart may have come either way), and none was
     * dropped: STUN went to libnice's socket, the rest came from the selected pair. */
    printf("ice: read past libnice: a %llu, b %llu; dropped %llu, %llu\n",
           (unsigned long long)sa.datagrams_rx_direct, (unsigned long long)sb.datagrams_rx_direct,
           (unsigned long long)sa.rx_dropped, (unsigned long long)sb.rx_dropped);
    if (loop) {
        VT_CHECK(sa.datagrams_rx_direct >= 2 * N_DGRAMS);
        VT_CHECK(sb.datagrams_rx_direct >= 2 * N_DGRAMS);
        vg_ice_loop_get_stats(loop, &l1);
        VT_CHECK(l1.datagrams_rx >= 4 * N_DGRAMS);
        VT_CHECK(l1.rx_reads < l1.datagrams_rx); /* batches of ten: several per read */
    } else {
        VT_EQ_INT(sa.datagrams_rx_direct + sb.datagrams_rx_direct, 0);
    }
    VT_EQ_INT(sa.rx_dropped + sb.rx_dropped, 0);
    /* Bad sends are refused before they count. */
    VT_EQ_INT(vg_ice_send(a.t, buf, 0), VG_EINVAL);
    VT_EQ_INT(vg_ice_send(a.t, NULL, 10), VG_EINVAL);
    free_all(&a, &b);
}

static void test_wrong_password(void)
{
    struct peer a, b;
    struct vg_ice_credentials ca, cb;
    uint8_t buf[64] = {0x80};

    VT_EQ_INT(new_peer(&a, "a", VG_ICE_CONTROLLING), 0);
    VT_EQ_INT(new_peer(&b, "b", VG_ICE_CONTROLLED), 0);
    a.other = &b;
    b.other = &a;
    in_api = true;
    VT_EQ_INT(vg_ice_local_credentials(a.t, &ca), 0);
    VT_EQ_INT(vg_ice_local_credentials(b.t, &cb), 0);
    /* a holds a wrong password for b: its checks fail integrity at b. */
    VT_EQ_INT(vg_ice_set_remote_credentials(a.t, cb.ufrag, "wrongwrongwrongwrongwrong"), 0);
    VT_EQ_INT(vg_ice_set_remote_credentials(b.t, ca.ufrag, ca.pwd), 0);
    VT_EQ_INT(vg_ice_gather(a.t), 0);
    VT_EQ_INT(vg_ice_gather(b.t), 0);
    in_api = false;
    int64_t t0 = vg_now_us();
    /* Both ends sent end-of-candidates, so once every check has timed out they fail
     * rather than wait (~5 s measured with libnice 0.1.21's defaults). */
    VT_CHECK(run_until(both_failed, &a, 10000));
    printf("ice: wrong password: failed after %.1f s\n", (vg_now_us() - t0) / 1e6);

    VT_EQ_INT(a.last, VG_ICE_FAILED);
    VT_EQ_INT(b.last, VG_ICE_FAILED);
    VT_EQ_INT(vg_ice_get_state(a.t), VG_ICE_FAILED);
    for (int i = 0; i < a.n_states; i++)
        VT_CHECK(a.states[i] != VG_ICE_CONNECTED && a.states[i] != VG_ICE_READY);
    for (int i = 0; i < b.n_states; i++)
        VT_CHECK(b.states[i] != VG_ICE_CONNECTED && b.states[i] != VG_ICE_READY);
    VT_EQ_INT(vg_ice_send(a.t, buf, sizeof buf), VG_ESTATE);
    struct vg_ice_stats sa;
    vg_ice_get_stats(a.t, &sa);
    VT_EQ_INT(sa.send_failures, 1);
    VT_EQ_INT(sa.datagrams_out, 0);
    VT_EQ_INT(b.n_recv + b.n_bad, 0);
    free_all(&a, &b);
}

/* b frees itself on its first datagram; a keeps sending; nothing more reaches b. */
static void test_free_in_recv(void)
{
    struct peer a, b;
    uint8_t buf[1100];

    connect_pair(&a, &b);
    b.free_on_recv = true;
    a.gen = b.gen = 3;
    for (int i = 0; i < 10; i++)
        VT_EQ_INT(vg_ice_send(a.t, buf, make_dgram(buf, 3, i)), 0);
    VT_CHECK(run_until(one_live, NULL, 2000));
    run_until(never, NULL, 100);
    VT_EQ_INT(b.n_recv, 1);
    VT_EQ_INT(b.n_bad, 0);
    VT_CHECK(b.freed);
    free_all(&a, &b);
}

static bool a_failed(void *arg)
{
    return ((struct peer *)arg)->last == VG_ICE_FAILED;
}

/* b goes away without a word (its sockets close): libnice's keepalive checks, unanswered
 * for its 50 s timeout (ice.c, make_agent(), says why not its 10 s consent mode), make
 * a notice and fail, so the engine can end the leg or restart. */
static void test_peer_vanishes(void)
{
    struct peer a, b;
    uint8_t buf[64] = {0x80};

    connect_pair(&a, &b);
    vg_ice_free(b.t);
    b.freed = true;
    int64_t t0 = vg_now_us();
    VT_CHECK(run_until(a_failed, &a, 70000));
    double took = (vg_now_us() - t0) / 1e6;
    printf("ice: peer gone: failed after %.1f s\n", took);
    VT_CHECK(took > 40); /* not sooner: a lost answer or two must not end a call */
    VT_EQ_INT(a.last, VG_ICE_FAILED);
    VT_EQ_STR(a.pair, "");
    VT_EQ_INT(vg_ice_send(a.t, buf, sizeof buf), VG_EPERM);
    vg_ice_free(a.t);
    a.freed = true;
    VT_CHECK(run_until(none_live, NULL, 2000));
}

/* The keepalive checks outlive the receiving past libnice: the kernel must keep
 * steering STUN to libnice's socket, or libnice, seeing no responses to its checks,
 * fails the pair after its timeout (50 s, test_peer_vanishes); a response steered to
 * ours instead is counted in rx_dropped, checked 0 below over ~3 checks a side. Datagrams
 * trickle both ways for 15 s; the pair stays ready and every one arrives, read past
 * libnice. */
static void test_consent_kept(void)
{
    struct peer a, b;
    uint8_t buf[1100];

    connect_pair(&a, &b);
    expect_gen(&a, 5);
    expect_gen(&b, 5);
    int n_before = a.n_states + b.n_states;
    for (int i = 0; i < N_DGRAMS; i++) {
        VT_EQ_INT(vg_ice_send(a.t, buf, make_dgram(buf, 5, i)), 0);
        VT_EQ_INT(vg_ice_send(b.t, buf, make_dgram(buf, 5, i)), 0);
        run_until(never, NULL, 150);
    }
    VT_CHECK(run_until(both_received, &a, 3000));
    VT_EQ_INT(a.last, VG_ICE_READY);
    VT_EQ_INT(b.last, VG_ICE_READY);
    VT_EQ_INT(a.n_states + b.n_states, n_before); /* no failure, no change at all */
    struct vg_ice_stats sa, sb;
    vg_ice_get_stats(a.t, &sa);
    vg_ice_get_stats(b.t, &sb);
    VT_EQ_INT(sa.datagrams_rx_direct, N_DGRAMS);
    VT_EQ_INT(sb.datagrams_rx_direct, N_DGRAMS);
    VT_EQ_INT(sa.rx_dropped + sb.rx_dropped, 0);
    free_all(&a, &b);
}

static bool both_ready(void *arg)
{
    struct peer *p = arg;
    return p->last == VG_ICE_READY && p->other->last == VG_ICE_READY;
}

/* A ready agent goes quiet (ice.c, quiet_when_ready()): libnice's check timer, which
 * ticked every Ta (20 ms here) for its idle timeout of 5 s after the pair was
 * nominated, a run of the worker's context each, stops soon after. Over the second
 * from 300 ms after both are ready, the loop's context runs only for consent (a
 * check every ~5 s per agent, and its follow-ups): 2 here, 52 without it. */
static void test_quiet_when_ready(void)
{
    struct peer a, b;
    connect_pair(&a, &b);
    VT_CHECK(run_until(both_ready, &a, 3000));
    run_until(never, NULL, 300);
    struct vg_ice_loop_stats s0, s1;
    vg_ice_loop_get_stats(loop, &s0);
    run_until(never, NULL, 1000);
    vg_ice_loop_get_stats(loop, &s1);
    uint64_t runs = s1.main_dispatches - s0.main_dispatches;
    printf("ice: %llu runs of the context in the second after both were ready\n",
           (unsigned long long)runs);
    VT_CHECK(runs <= 12);
    VT_EQ_INT(a.last, VG_ICE_READY);
    VT_EQ_INT(b.last, VG_ICE_READY);
    free_all(&a, &b);
}

static bool a_got_one(void *arg)
{
    return ((struct peer *)arg)->n_recv + ((struct peer *)arg)->n_bad >= 1;
}

/* Read past libnice, a datagram gets in only when it comes from the selected pair's
 * remote: one from anywhere else on the host (same port, a third socket) is dropped
 * by the kernel before it takes a place in the socket's queue (the socket's filter)
 * and counted, and the peer's next one still arrives. */
static void test_foreign_source(void)
{
    struct peer a, b;
    uint8_t buf[1100];
    char ip[64];
    unsigned port = 0;

    connect_pair(&a, &b);
    VT_EQ_INT(sscanf(a.pair, "udp host %63[0-9.]:%u", ip, &port), 2);
    expect_gen(&a, 6);
    /* a reads past libnice once it knows its pair: after a datagram has come. */
    VT_EQ_INT(vg_ice_send(b.t, buf, make_dgram(buf, 6, 0)), 0);
    VT_CHECK(run_until(a_got_one, &a, 2000));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    VT_EQ_INT(inet_pton(AF_INET, ip, &to.sin_addr), 1);
    size_t len = make_dgram(buf, 6, 1);
    VT_EQ_INT(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)len);
    close(fd);
    VT_EQ_INT(vg_ice_send(b.t, buf, make_dgram(buf, 6, 2)), 0);
    struct vg_ice_stats sa;
    for (int i = 0; i < 40 && a.n_recv < 2; i++)
        run_until(never, NULL, 50);
    vg_ice_get_stats(a.t, &sa);
    VT_EQ_INT(a.n_recv, 2); /* 0 and 2, from b */
    VT_CHECK(!a.seen[1]);
    VT_EQ_INT(a.n_bad, 0);
    VT_EQ_INT(sa.rx_kernel_drops, 1);
    VT_EQ_INT(sa.rx_dropped, 0); /* it never reached us */
    VT_EQ_INT(sa.datagrams_rx_direct, 2);
    free_all(&a, &b);
}

/* Loopback's MTU, in this test's own network namespace (tests/netns-run). */
static void set_lo_mtu(int mtu)
{
    struct ifreq ifr = {.ifr_mtu = mtu};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    VT_CHECK(fd >= 0);
    VT_EQ_INT(ioctl(fd, SIOCSIFMTU, &ifr), 0);
    close(fd);
}

/* A video frame (nine equal datagrams and a shorter last) goes out as one UDP GSO
 * send and arrives as the datagrams it was, each whole. Then with loopback's MTU
 * below the segment size the kernel refuses the GSO send: each transport notes it
 * and sends the group again datagram by datagram (IP fragments them); nothing is
 * lost and no send counts as failed. */
static void test_gso(void)
{
    struct peer a, b;
    struct vg_ice_loop_stats l0, l1, l2;
    struct vg_ice_stats sa, sb;

    connect_pair(&a, &b);
    vg_ice_loop_get_stats(loop, &l0);
    send_both_ways(&a, &b, GEN_FRAMES);
    vg_ice_loop_get_stats(loop, &l1);
    printf("ice (loop): %llu datagrams in %llu GSO sends\n",
           (unsigned long long)(l1.gso_datagrams - l0.gso_datagrams),
           (unsigned long long)(l1.gso_sends - l0.gso_sends));
    VT_EQ_INT(l1.gso_sends - l0.gso_sends, 2 * N_DGRAMS / 10);
    VT_EQ_INT(l1.gso_datagrams - l0.gso_datagrams, 2 * N_DGRAMS);

    set_lo_mtu(900);
    send_both_ways(&a, &b, GEN_FRAMES + 1);
    set_lo_mtu(65536);
    vg_ice_loop_get_stats(loop, &l2);
    VT_EQ_INT(l2.gso_sends - l1.gso_sends, 0);
    vg_ice_get_stats(a.t, &sa);
    vg_ice_get_stats(b.t, &sb);
    VT_EQ_INT(sa.gso_refused, 1);
    VT_EQ_INT(sb.gso_refused, 1);
    VT_EQ_INT(sa.send_failures + sb.send_failures, 0);
    VT_EQ_INT(sa.datagrams_direct, 2 * N_DGRAMS);
    VT_EQ_INT(sb.datagrams_direct, 2 * N_DGRAMS);
    free_all(&a, &b);
}

/* A transport freed from inside its first candidate callback: the rest of the queued
 * events (gathering done, states) are never delivered. */
static void test_free_in_candidate(void)
{
    struct peer a;
    VT_EQ_INT(new_peer(&a, "a", VG_ICE_CONTROLLING), 0);
    a.free_on_cand = true;
    in_api = true;
    VT_EQ_INT(vg_ice_gather(a.t), 0);
    in_api = false;
    VT_CHECK(run_until(none_live, NULL, 2000));
    run_until(never, NULL, 100);
    VT_EQ_INT(a.n_cands, 1);
    VT_EQ_INT(a.n_gathered, 0);
}

/* Three remote candidates are taken when this runs. */
static void check_remote_bounds(struct vg_ice *t)
{
    char line[128];
    /* The bound is VG_ICE_MAX_REMOTE_CANDS per generation. */
    for (int i = 3; i < VG_ICE_MAX_REMOTE_CANDS; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 UDP 2013266431 127.0.0.1 %d typ host", i + 5,
                 51000 + i);
        VT_EQ_INT(vg_ice_add_remote_candidate(t, line), 0);
    }
    VT_EQ_INT(vg_ice_add_remote_candidate(t, "candidate:99 1 UDP 1 127.0.0.1 52000 typ host"),
              VG_ENOSPC);
    VT_EQ_INT(vg_ice_restart(t), 0);
    VT_EQ_INT(vg_ice_add_remote_candidate(t, "candidate:99 1 UDP 1 127.0.0.1 52000 typ host"), 0);
    VT_EQ_INT(vg_ice_end_of_candidates(t), 0);
    VT_EQ_INT(vg_ice_add_remote_candidate(t, "candidate:98 1 UDP 1 127.0.0.1 52001 typ host"),
              VG_ESTATE);
}

static void test_remote_input(void)
{
    struct peer a;
    VT_EQ_INT(new_peer(&a, "a", VG_ICE_CONTROLLED), 0);
    struct vg_ice *t = a.t;

    VT_EQ_INT(vg_ice_set_remote_credentials(t, "abc", "0123456789012345678901"), VG_EINVAL);
    VT_EQ_INT(vg_ice_set_remote_credentials(t, "abcd", "012345678901234567890"), VG_EINVAL);
    VT_EQ_INT(vg_ice_set_remote_credentials(t, "ab-d", "0123456789012345678901"), VG_EINVAL);
    VT_EQ_INT(vg_ice_set_remote_credentials(t, "ab+/", "0123456789012345678901"), 0);

    static const struct {
        const char *line;
        int want;
    } v[] = {
        /* As Chromium trickles it: lower-case transport, extensions after typ. */
        {"candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ srflx raddr 0.0.0.0 rport 0 "
         "generation 0 ufrag ab+/ network-cost 999",
         0},
        {"a=candidate:1 1 UDP 2013266431 127.0.0.1 50001 typ host", 0},
        {"candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0", 0},
        {"candidate:1 2 UDP 2013266430 127.0.0.1 50002 typ host", VG_ENOENT},
        {"candidate:1 1 udp 2013266431 3e2c1a3b-0d5f-4c1e.local 50003 typ host", VG_EINVAL},
        {"candidate:1 1 UDP 2013266431 127.0.0.1 50004 typ host\r\n", VG_EINVAL},
        {"candidate:1 1 UDP 2013266431 127.0.0.1 50005", VG_EINVAL},
        {"candidate:1 1 UDP 2013266431 127.0.0.1 x typ host", VG_EINVAL},
        {"candidate:1 1 UDP 2013266431 127.0.0.1 50006 typ bogus", VG_EINVAL},
        {"a=ice-ufrag:abcd", VG_EINVAL},
        {"", VG_EINVAL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int got = vg_ice_add_remote_candidate(t, v[i].line);
        if (got != v[i].want)
            fprintf(stderr, "candidate %zu: got %d want %d\n", i, got, v[i].want);
        VT_EQ_INT(got, v[i].want);
    }
    check_remote_bounds(t);
    VT_EQ_INT(vg_ice_gather(t), 0);
    VT_EQ_INT(vg_ice_gather(t), VG_ESTATE);
    vg_ice_free(t);
    a.freed = true;
    VT_CHECK(run_until(none_live, NULL, 2000));
}

/* The port range is honoured. */
static void test_port_range(void)
{
    struct peer a;
    struct vg_ice_config cfg = {.local_addrs = loopback,
                                .n_local_addrs = 1,
                                .port_min = 42000,
                                .port_max = 42009,
                                .nomination = VG_ICE_NOMINATION_AGGRESSIVE};
    memset(&a, 0, sizeof a);
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, &a, &a.t), 0);
    VT_EQ_INT(vg_ice_gather(a.t), 0);
    run_until(never, NULL, 100);
    VT_EQ_INT(a.n_cands, 1);
    VT_EQ_INT(a.n_gathered, 1);
    const char *port = strstr(a.cand[0], "127.0.0.1 ");
    VT_CHECK(port != NULL);
    int p = port ? atoi(port + 10) : 0;
    VT_CHECK(p >= 42000 && p <= 42009);
    vg_ice_free(a.t);
    a.freed = true;
    VT_CHECK(run_until(none_live, NULL, 2000));
}

/* Two addresses with ICE-TCP on: per address one UDP host candidate and two TCP ones
 * (active, passive); with it off (every other test) there is only the UDP one. */
static void test_tcp_two_addresses(void)
{
    struct peer a;
    const char *const two[] = {"127.0.0.1", "127.0.0.2"};
    struct vg_ice_config cfg = {.local_addrs = two, .n_local_addrs = 2, .ice_tcp = true};
    memset(&a, 0, sizeof a);
    VT_EQ_INT(vg_ice_new(ctx, &cfg, &cbs, &a, &a.t), 0);
    VT_EQ_INT(vg_ice_gather(a.t), 0);
    run_until(never, NULL, 100);
    VT_EQ_INT(a.n_cands, 6);
    VT_CONTAINS(a.cand[0], " UDP ");
    VT_CONTAINS(a.cand[1], " TCP ");
    VT_CONTAINS(a.cand[1], " 127.0.0.1 9 typ host tcptype active");
    VT_CONTAINS(a.cand[2], " typ host tcptype passive");
    VT_CONTAINS(a.cand[3], " UDP ");
    VT_CONTAINS(a.cand[3], " 127.0.0.2 ");
    VT_EQ_INT(a.n_gathered, 1);
    vg_ice_free(a.t);
    a.freed = true;
    VT_CHECK(run_until(none_live, NULL, 2000));
}

/* --loop: the same on a vg_ice_loop, as the media workers run (media/ice/loop.c). */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--loop") == 0) {
        loop = vg_ice_loop_new();
        ctx = g_main_context_ref(vg_ice_loop_context(loop));
    } else {
        ctx = g_main_context_new();
    }
    test_bad_config();
    test_connect_send_restart();
    test_wrong_password();
    test_free_in_recv();
    test_peer_vanishes();
    if (loop) {
        test_consent_kept();
        test_quiet_when_ready();
        test_foreign_source();
        test_gso();
    }
    test_free_in_candidate();
    test_remote_input();
    test_port_range();
    test_tcp_two_addresses();
    VT_EQ_INT(vg_ice_live(), 0);
    g_main_context_unref(ctx);
    vg_ice_loop_free(loop);
    return vt_done(loop ? "ice (loop)" : "ice");
}
