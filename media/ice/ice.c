/* The libnice adapter. See ice.h for the contract; the comments here are about libnice.
 *
 * libnice quirks this file works around (0.1.21):
 * - It emits signals synchronously from inside its own API (gathering, restart,
 *   end-of-candidates...), so every libnice call we make on the caller's behalf is
 *   bracketed by enter()/leave(), and signals raised meanwhile are queued and delivered
 *   from an idle source (see emit()).
 * - It skips loopback interfaces when it discovers addresses itself, but uses any
 *   address given with nice_agent_add_local_address(), and then only those.
 * - "upnp" defaults to TRUE and would send SSDP multicast on every gather.
 * - The agent must not be unreffed while it is calling us (its recv loop keeps using
 *   the component after our callback returns), hence the deferred teardown.
 * - nice_agent_parse_remote_candidate_sdp() wants "a=candidate:", a browser trickles
 *   "candidate:"; nice_agent_generate_local_candidate_sdp() writes "a=candidate:".
 * - nice_agent_close_async() completes on the thread-default context at the time of
 *   the call, not on the agent's context.
 * - g_source_remove() by id only looks in the global default context; sources on our
 *   own context are kept as GSource pointers and destroyed with g_source_destroy(). */
#include "ice.h"
#include "loop.h"

#include "log.h"
#include "vg_err.h"

#include <gio/gio.h>
#include <glib.h>
#include <nice/agent.h>
#include <errno.h>
#include <stdio.h>
#include <linux/filter.h>
#include <linux/sock_diag.h> /* SK_MEMINFO_* */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMPONENT 1 /* rtcp-mux: RTP and RTCP share component 1; there is no other */

enum ev_kind { EV_CANDIDATE, EV_GATHERING_DONE, EV_STATE };

/* A signal from libnice waiting to be delivered; text is copied because libnice's
 * strings do not outlive the signal. */
struct ice_event {
    enum ev_kind kind;
    enum vg_ice_state state;
    char text[VG_ICE_CANDIDATE_MAX];
};

struct vg_ice {
    NiceAgent *agent;  /* ours: one reference, dropped in on_closed() */
    GMainContext *ctx; /* ours: one reference */
    /* With a loop: the context libnice's socket sources are on, ours (one reference,
     * handed to the agent when it closes), and its place in the loop; else NULL. */
    GMainContext *ioctx;
    struct ice_io *io;
    struct vg_ice_loop *loop;
    guint stream;
    struct vg_ice_callbacks cb;
    void *ud;
    char case_id[VG_ICE_ID_MAX], leg_id[VG_ICE_ID_MAX];
    enum vg_ice_state state;    /* as libnice last said */
    char pair[VG_ICE_PAIR_MAX]; /* as last reported, "" for none */
    bool gathering, gathered;   /* gathering started, finished */
    bool remote_done;           /* end-of-candidates in this ICE generation */
    bool closed;                /* vg_ice_free() was called: deliver nothing more */
    unsigned n_remote;          /* remote candidates in this ICE generation */
    unsigned in_call;           /* depth of our calls into libnice */
    GQueue events;              /* of struct ice_event, at most VG_ICE_MAX_PENDING_EVENTS */
    GSource *flush;             /* idle that delivers events, or NULL */
    /* Sending past libnice on a selected UDP pair of ours (see send_direct()): the
     * socket, the peer's address, and whether they must be looked up again. */
    int direct_fd; /* -1: send through libnice */
    struct sockaddr_storage direct_to;
    socklen_t direct_len;
    bool direct_stale;
    /* Receiving past libnice (see rx_open()): our socket beside libnice's selected
     * one, and the libnice fd it shadows; -1, -1 while libnice reads. */
    int rx_fd, rx_for;
    uint64_t rx_drops_before; /* the kernel's drops at our sockets closed before */
    guint scan_from;          /* first source id of sock_ctx() not yet looked at: see
                               * let_recurse() */
    /* The agent's own "idle-timeout", back for an ICE restart (quiet_when_ready()). */
    guint idle_timeout_ms;
    struct vg_ice_stats stats;
};

static gint live;

static const char *id_or_null(const char *s)
{
    return s[0] ? s : NULL;
}

/* For a refusal every leg meets alike (the kernel's or a sandbox's): VG_LOG_WARN the
 * first time *said is seen, VG_LOG_DEBUG after, so the log says it once. */
static int warn_once(gint *said)
{
    return g_atomic_int_compare_and_exchange(said, 0, 1) ? VG_LOG_WARN : VG_LOG_DEBUG;
}

/* Events ------------------------------------------------------------------ */

static void find_direct(struct vg_ice *t);
static void rx_close(struct vg_ice *t);

static void deliver(struct vg_ice *t, const struct ice_event *e)
{
    switch (e->kind) {
    case EV_CANDIDATE:
        if (t->cb.on_candidate)
            t->cb.on_candidate(e->text, t->ud);
        break;
    case EV_GATHERING_DONE:
        if (t->cb.on_gathering_done)
            t->cb.on_gathering_done(t->ud);
        break;
    case EV_STATE:
        if (t->direct_stale)
            find_direct(t); /* so receiving moves past libnice before media arrives */
        if (t->cb.on_state)
            t->cb.on_state(e->state, e->text, t->ud);
        break;
    }
}

/* Delivers queued events in order until the queue is empty or a callback frees t
 * (t itself stays valid until the teardown idle runs, so checking closed is safe). */
static void flush_events(struct vg_ice *t)
{
    struct ice_event *e;
    while (!t->closed && (e = g_queue_pop_head(&t->events))) {
        deliver(t, e);
        g_free(e);
    }
}

static gboolean flush_idle(gpointer p)
{
    struct vg_ice *t = p;
    g_source_unref(t->flush);
    t->flush = NULL;
    flush_events(t);
    return G_SOURCE_REMOVE;
}

/* High priority: the queue is delivered before libnice's socket sources (default
 * priority) dispatch again, so no datagram overtakes the state change before it. */
static void schedule_flush(struct vg_ice *t)
{
    if (t->flush || t->closed || g_queue_is_empty(&t->events))
        return;
    t->flush = g_idle_source_new();
    g_source_set_priority(t->flush, G_PRIORITY_HIGH);
    g_source_set_callback(t->flush, flush_idle, t, NULL);
    g_source_attach(t->flush, t->ctx);
}

/* Delivers now when libnice signalled from its own dispatch; queues when it signalled
 * from inside one of our calls, or when older events still wait (order is kept). */
static void emit(struct vg_ice *t, enum ev_kind kind, enum vg_ice_state state, const char *text)
{
    struct ice_event ev = {.kind = kind, .state = state};
    g_strlcpy(ev.text, text ? text : "", sizeof ev.text);
    if (t->in_call == 0 && g_queue_is_empty(&t->events)) {
        deliver(t, &ev);
        return;
    }
    if (g_queue_get_length(&t->events) >= VG_ICE_MAX_PENDING_EVENTS) {
        t->stats.events_dropped++;
        vg_warn(id_or_null(t->case_id), id_or_null(t->leg_id), "ice event queue full, dropped");
        return;
    }
    g_queue_push_tail(&t->events, g_memdup2(&ev, sizeof ev));
    if (t->in_call == 0)
        schedule_flush(t);
}

static void enter(struct vg_ice *t)
{
    t->in_call++;
}

static void leave(struct vg_ice *t)
{
    if (--t->in_call == 0)
        schedule_flush(t);
}

/* libnice signals --------------------------------------------------------- */

static const char *cand_type_name(NiceCandidateType type)
{
    switch (type) {
    case NICE_CANDIDATE_TYPE_HOST: return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
    default: return "?";
    }
}

static const char *transport_name(NiceCandidateTransport tr)
{
    switch (tr) {
    case NICE_CANDIDATE_TRANSPORT_UDP: return "udp";
    case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE: return "tcp-act";
    case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE: return "tcp-pass";
    case NICE_CANDIDATE_TRANSPORT_TCP_SO: return "tcp-so";
    default: return "?";
    }
}

/* "127.0.0.1:40001" or "[::1]:40001". */
static void format_addr(const NiceAddress *a, char *buf, size_t n)
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(a, ip);
    if (nice_address_ip_version(a) == 6)
        snprintf(buf, n, "[%s]:%u", ip, nice_address_get_port(a));
    else
        snprintf(buf, n, "%s:%u", ip, nice_address_get_port(a));
}

/* The selected pair as text, "" when there is none. libnice hands out its own
 * candidates here (not copies): they are not freed. */
static void format_pair(struct vg_ice *t, char *buf, size_t n)
{
    NiceCandidate *l = NULL, *r = NULL;
    char la[NICE_ADDRESS_STRING_LEN + 8], ra[NICE_ADDRESS_STRING_LEN + 8];
    buf[0] = '\0';
    if (!nice_agent_get_selected_pair(t->agent, t->stream, COMPONENT, &l, &r) || !l || !r)
        return;
    format_addr(&l->addr, la, sizeof la);
    format_addr(&r->addr, ra, sizeof ra);
    snprintf(buf, n, "%s %s %s <-> %s %s", transport_name(l->transport), cand_type_name(l->type),
             la, cand_type_name(r->type), ra);
}

/* Reports one local candidate as the attribute value "candidate:...". */
static void emit_candidate(struct vg_ice *t, NiceCandidate *c)
{
    gchar *sdp = nice_agent_generate_local_candidate_sdp(t->agent, c);
    const char *line = sdp && g_str_has_prefix(sdp, "a=") ? sdp + 2 : sdp;
    if (line && strlen(line) < VG_ICE_CANDIDATE_MAX)
        emit(t, EV_CANDIDATE, t->state, line);
    else
        vg_warn(id_or_null(t->case_id), id_or_null(t->leg_id), "ice local candidate not reported");
    g_free(sdp);
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer p)
{
    struct vg_ice *t = p;
    (void)agent;
    if (!t->closed && c->stream_id == t->stream && c->component_id == COMPONENT)
        emit_candidate(t, c);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer p)
{
    struct vg_ice *t = p;
    (void)agent;
    if (t->closed || stream != t->stream)
        return;
    t->gathered = true;
    emit(t, EV_GATHERING_DONE, t->state, NULL);
}

static enum vg_ice_state map_state(guint s)
{
    switch (s) {
    case NICE_COMPONENT_STATE_GATHERING: return VG_ICE_GATHERING;
    case NICE_COMPONENT_STATE_CONNECTING: return VG_ICE_CHECKING;
    case NICE_COMPONENT_STATE_CONNECTED: return VG_ICE_CONNECTED;
    case NICE_COMPONENT_STATE_READY: return VG_ICE_READY;
    case NICE_COMPONENT_STATE_FAILED: return VG_ICE_FAILED;
    default: return VG_ICE_DISCONNECTED;
    }
}

/* The context libnice's socket sources are on. */
static GMainContext *sock_ctx(const struct vg_ice *t)
{
    return t->ioctx ? t->ioctx : t->ctx;
}

/* The id the context gives its next source (ids are per context and increasing). */
static guint next_source_id(GMainContext *ctx)
{
    GSource *probe = g_idle_source_new();
    guint id = g_source_attach(probe, ctx);
    g_source_destroy(probe);
    g_source_unref(probe);
    return id;
}

/* GLib blocks a source while it dispatches unless it may recurse, and blocking a
 * source with unix fds (GSocket's, libnice's socket sources) takes its fd out of the
 * context's poll list and puts it back after, which signals the context's wakeup
 * eventfd: per datagram a write, a read and one more main-loop iteration over every
 * source (perf: ~0.8 wakeup writes per forwarded packet at 100 calls). Nothing
 * iterates a context that carries vg_ice from inside one of its dispatches, so
 * libnice's socket sources may be marked recursive. libnice does not hand out its
 * sources; the ids attached since the last look are found by id. Runs on the
 * context's thread, after calls that may open sockets (gathering, connecting). */
static void let_recurse(struct vg_ice *t)
{
    GMainContext *c = sock_ctx(t);
    guint end = next_source_id(c);
    for (guint id = t->scan_from; id != end; id++) {
        GSource *s = id ? g_main_context_find_source_by_id(c, id) : NULL;
        const char *name = s ? g_source_get_name(s) : NULL;
        if (name && strcmp(name, "GSocket") == 0)
            g_source_set_can_recurse(s, TRUE);
    }
    t->scan_from = end;
}

/* libnice keeps its check timer ticking every Ta (5 ms here) until it has been idle
 * for "idle-timeout" (5 s by default), counted in ticks, not time: ticks run late on
 * a busy worker (every ~11 ms at 100 calls), so the timer went on for ~11 s after
 * the pair was nominated. Its only task then is to declare a component failed that
 * has no nominated pair, which a ready one has; each tick is a run of the worker's
 * context over every source of its hundred-odd legs (perf at 100 calls: ~17,000
 * ticks a second, ~7% of vigild's samples in libnice and GLib). So once ready the
 * agent stops 50 ms (libnice's floor) after its last check; new checks (a trickled
 * candidate, a triggered check) start the timer again. An ICE restart gets the
 * agent's own timeout back first: a component checking anew may need its grace. */
static void quiet_when_ready(struct vg_ice *t, enum vg_ice_state s)
{
    if (s == VG_ICE_READY)
        g_object_set(t->agent, "idle-timeout", 50u, NULL);
}

/* Reports state with the current pair if the state or (while connected) the pair
 * changed since the last report. */
static void report_state(struct vg_ice *t, enum vg_ice_state s)
{
    char pair[VG_ICE_PAIR_MAX] = "";
    if (s == VG_ICE_CONNECTED || s == VG_ICE_READY)
        format_pair(t, pair, sizeof pair);
    if (s == t->state && strcmp(pair, t->pair) == 0)
        return;
    if (s != t->state)
        quiet_when_ready(t, s);
    t->state = s;
    g_strlcpy(t->pair, pair, sizeof t->pair);
    t->direct_fd = -1; /* looked up again at the next send, outside this signal */
    t->direct_stale = s == VG_ICE_CONNECTED || s == VG_ICE_READY;
    if (!t->direct_stale)
        rx_close(t); /* no pair (consent lost, restarting): libnice reads again */
    if (s == VG_ICE_CONNECTED)
        let_recurse(t); /* a relay or TCP socket may have come since gathering */
    vg_log(s == VG_ICE_FAILED ? VG_LOG_WARN : VG_LOG_INFO, id_or_null(t->case_id),
           id_or_null(t->leg_id), "ice %s%s%s", vg_ice_state_name(s), pair[0] ? " pair=" : "",
           pair);
    emit(t, EV_STATE, s, pair);
}

static void on_state_changed(NiceAgent *agent, guint stream, guint comp, guint state, gpointer p)
{
    struct vg_ice *t = p;
    (void)agent;
    if (!t->closed && stream == t->stream && comp == COMPONENT)
        report_state(t, map_state(state));
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint comp, NiceCandidate *l,
                             NiceCandidate *r, gpointer p)
{
    struct vg_ice *t = p;
    (void)agent, (void)l, (void)r;
    if (t->closed || stream != t->stream || comp != COMPONENT)
        return;
    if (t->state == VG_ICE_CONNECTED || t->state == VG_ICE_READY)
        report_state(t, t->state);
}

/* libnice calls this for every datagram that is not its own STUN. */
static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf, gpointer p)
{
    struct vg_ice *t = p;
    (void)agent, (void)stream, (void)comp;
    if (t->in_call == 0 && !g_queue_is_empty(&t->events))
        flush_events(t); /* what happened before this datagram is told first */
    if (t->closed)
        return;
    t->stats.datagrams_in++;
    t->stats.bytes_in += len;
    if (t->cb.on_recv)
        t->cb.on_recv((const uint8_t *)buf, len, t->ud);
}

/* Configuration ----------------------------------------------------------- */

/* Splits "ip:port", "[ipv6]:port" or a bare IP literal (port 3478) and checks that
 * the host is an IP literal: libnice takes servers as addresses, it never resolves. */
static int parse_server(const char *s, char *ip, size_t n, guint *port)
{
    const char *host = s, *end, *rest;
    if (s[0] == '[') {
        host = s + 1;
        end = strchr(host, ']');
        rest = end ? end + 1 : NULL;
    } else {
        end = strchr(s, ':');
        if (end && strchr(end + 1, ':'))
            end = NULL; /* a bare IPv6 address */
        end = end ? end : s + strlen(s);
        rest = end;
    }
    if (!end || end == host || (size_t)(end - host) >= n || (rest[0] && rest[0] != ':'))
        return VG_EINVAL;
    memcpy(ip, host, (size_t)(end - host));
    ip[end - host] = '\0';
    *port = 3478;
    if (rest[0] == ':') {
        char *stop;
        guint64 v = g_ascii_strtoull(rest + 1, &stop, 10);
        if (!g_ascii_isdigit(rest[1]) || *stop || v == 0 || v > 65535)
            return VG_EINVAL;
        *port = (guint)v;
    }
    NiceAddress a;
    return nice_address_set_from_string(&a, ip) ? 0 : VG_EINVAL;
}

int vg_ice_check_server(const char *server)
{
    char ip[64];
    guint port;
    return server && parse_server(server, ip, sizeof ip, &port) == 0 ? 0 : VG_EINVAL;
}

int vg_ice_check_address(const char *addr)
{
    NiceAddress a;
    return addr && nice_address_set_from_string(&a, addr) ? 0 : VG_EINVAL;
}

static int check_config(const struct vg_ice_config *cfg)
{
    char ip[64];
    guint port;
    if (cfg->role != VG_ICE_CONTROLLED && cfg->role != VG_ICE_CONTROLLING)
        return VG_EINVAL;
    if (cfg->nomination != VG_ICE_NOMINATION_REGULAR &&
        cfg->nomination != VG_ICE_NOMINATION_AGGRESSIVE)
        return VG_EINVAL;
    if (cfg->n_local_addrs > VG_ICE_MAX_LOCAL_ADDRS || (cfg->n_local_addrs && !cfg->local_addrs))
        return VG_EINVAL;
    for (size_t i = 0; i < cfg->n_local_addrs; i++) {
        NiceAddress a;
        if (!cfg->local_addrs[i] || !nice_address_set_from_string(&a, cfg->local_addrs[i]))
            return VG_EINVAL;
    }
    if ((cfg->port_min == 0) != (cfg->port_max == 0) || cfg->port_min > cfg->port_max)
        return VG_EINVAL;
    if (cfg->check_pacing_ms && (cfg->check_pacing_ms < 5 || cfg->check_pacing_ms > 1000))
        return VG_EINVAL; /* RFC 8445 section 14.2: no faster than 5 ms */
    if (cfg->stun_server && parse_server(cfg->stun_server, ip, sizeof ip, &port) != 0)
        return VG_EINVAL;
    bool turn = cfg->turn_server || cfg->turn_username || cfg->turn_password;
    if (turn && !(cfg->turn_server && cfg->turn_username && cfg->turn_password))
        return VG_EINVAL;
    if (turn && parse_server(cfg->turn_server, ip, sizeof ip, &port) != 0)
        return VG_EINVAL;
    return 0;
}

/* Properties that libnice only takes at construction go in as flags.
 *
 * Consent: libnice 0.1.21's RFC 7675 mode sends one check every 4-6 s, never
 * retransmitted, and fails the pair 10 s after the last answer, so one lost answer
 * (a weak mobile network, or a flood filling the socket's queue) killed a working
 * leg about half the time, with no way back but an ICE restart its peer never
 * asks for. Instead its keepalive checks: the same checks, every 4-6 s, answered
 * or not; the pair fails 50 s after the last answer (libnice's fixed keepalive
 * timeout, past RFC 7675's 30 s: there is no setting in between). */
static NiceAgent *make_agent(GMainContext *ctx, const struct vg_ice_config *cfg)
{
    NiceAgentOption flags = NICE_AGENT_OPTION_ICE_TRICKLE;
    if (cfg->nomination == VG_ICE_NOMINATION_REGULAR)
        flags |= NICE_AGENT_OPTION_REGULAR_NOMINATION;
    NiceAgent *agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245, flags);
    if (!agent)
        return NULL;
    g_object_set(agent, "controlling-mode", cfg->role == VG_ICE_CONTROLLING, "ice-udp", TRUE,
                 "ice-tcp", (gboolean)cfg->ice_tcp, "keepalive-conncheck", TRUE, NULL);
    if (cfg->check_pacing_ms)
        g_object_set(agent, "stun-pacing-timer", (guint)cfg->check_pacing_ms, NULL);
    /* The property only exists when libnice is built with gupnp-igd (Debian's is). */
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
        g_object_set(agent, "upnp", FALSE, NULL);
    if (cfg->stun_server) {
        char ip[64];
        guint port;
        parse_server(cfg->stun_server, ip, sizeof ip, &port);
        g_object_set(agent, "stun-server", ip, "stun-server-port", port, NULL);
    }
    for (size_t i = 0; i < cfg->n_local_addrs; i++) {
        NiceAddress a;
        nice_address_set_from_string(&a, cfg->local_addrs[i]);
        if (!nice_agent_add_local_address(agent, &a)) {
            g_object_unref(agent);
            return NULL;
        }
    }
    return agent;
}

/* The one stream with its one component, its ports and relay, and our receiver. */
static int add_stream(struct vg_ice *t, const struct vg_ice_config *cfg)
{
    t->stream = nice_agent_add_stream(t->agent, 1);
    if (t->stream == 0)
        return VG_EIO;
    if (cfg->port_min)
        nice_agent_set_port_range(t->agent, t->stream, COMPONENT, cfg->port_min, cfg->port_max);
    if (cfg->turn_server) {
        char ip[64];
        guint port;
        parse_server(cfg->turn_server, ip, sizeof ip, &port);
        if (!nice_agent_set_relay_info(t->agent, t->stream, COMPONENT, ip, port, cfg->turn_username,
                                       cfg->turn_password, NICE_RELAY_TYPE_TURN_UDP))
            return VG_EINVAL;
    }
    if (!nice_agent_attach_recv(t->agent, t->stream, COMPONENT, sock_ctx(t), on_recv, t))
        return VG_EIO;
    return 0;
}

static void connect_signals(struct vg_ice *t)
{
    g_signal_connect(t->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), t);
    g_signal_connect(t->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), t);
    g_signal_connect(t->agent, "component-state-changed", G_CALLBACK(on_state_changed), t);
    g_signal_connect(t->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), t);
}

/* Receiving past libnice --------------------------------------------------- */

/* libnice reads one datagram per recvmsg() and per run of its socket's source, and
 * takes its lock, looks up the component and makes a GSocketAddress for each; at
 * ~230 datagrams a second per video leg that was most of the receive path. It has no
 * API to be handed a datagram read by someone else, so STUN must still reach its
 * socket. The kernel can sort them: with SO_REUSEPORT on libnice's socket and on a
 * second socket of ours bound to the same address and port, the two form a group, and
 * a classic BPF program attached to the group picks the socket for each datagram by
 * index. The first byte says what a datagram is (RFC 7983): 0-3 STUN goes to index
 * 0, libnice's (it was bound first, so the kernel made the group with it at index 0
 * when ours joined), and everything else (DTLS, SRTP, SRTCP) to index 1, ours, which
 * the loop reads with recvmmsg(). When ours closes, index 1 no longer exists and the
 * kernel falls back to its hash over a group of one: libnice gets everything again.
 * SO_REUSEPORT lets only sockets of the same user join, i.e. this process. */
static const struct sock_filter rx_steer[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),        /* A = first byte of the payload */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 1, 0), /* STUN is 0-3 */
    BPF_STMT(BPF_RET | BPF_K, 0),                 /* libnice's socket */
    BPF_STMT(BPF_RET | BPF_K, 1),                 /* ours */
};

/* Our socket for libnice's nice_fd, or -1 (then libnice keeps reading: nothing lost). */
static int rx_open(int nice_fd)
{
    struct sockaddr_storage a;
    socklen_t alen = sizeof a;
    int one = 1, v6only = 0, rcvbuf = 0;
    socklen_t ol = sizeof v6only, rl = sizeof rcvbuf;
    if (getsockname(nice_fd, (struct sockaddr *)&a, &alen) != 0 ||
        (a.ss_family != AF_INET && a.ss_family != AF_INET6))
        return -1;
    if (setsockopt(nice_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return -1;
    int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (a.ss_family == AF_INET6 &&
        getsockopt(nice_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol) == 0)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    /* getsockopt() reports twice what was set (the kernel's bookkeeping share). */
    if (getsockopt(nice_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl) == 0 && rcvbuf > 0) {
        rcvbuf /= 2;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    /* The program goes on after bind: attached before, it would belong to a group of
     * ours alone, which the kernel drops when ours joins libnice's socket. */
    struct sock_fprog prog = {.len = G_N_ELEMENTS(rx_steer),
                              .filter = (struct sock_filter *)rx_steer};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, alen) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Only the selected pair's remote gets into our socket's queue: the kernel drops a
 * datagram from anyone else before it takes a place there, where a flood of them
 * pushed out the peer's own media whenever the worker fell behind
 * (tests/media/test_hostile.py). A classic BPF socket filter: for a UDP socket
 * offset 0 is the UDP header (source port first), and the IP header is at
 * SKF_NET_OFF (an IPv4-mapped remote arrives as IPv4). BPF loads are big-endian,
 * read as host numbers. What it drops is counted in the socket's drops
 * (SO_MEMINFO, vg_ice_get_stats()). Returns 0, or -1 (then only the check in
 * ice_rx_datagram() holds). */
static int rx_filter(int fd, const struct sockaddr_storage *to)
{
    struct sock_filter f[12];
    unsigned n = 0, jumps[6], nj = 0;
    uint32_t words[4];
    unsigned nw = 0, at = 0;
    in_port_t port;
    if (to->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)to;
        words[nw++] = ntohl(a->sin_addr.s_addr);
        at = 12; /* IPv4 source address */
        port = a->sin_port;
    } else if (to->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)to;
        const uint8_t *b = a->sin6_addr.s6_addr;
        bool mapped = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
        for (unsigned i = mapped ? 3 : 0; i < 4; i++)
            words[nw++] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
                          (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
        at = mapped ? 12 : 8; /* IPv6 source address */
        port = a->sin6_port;
    } else {
        return -1;
    }
    for (unsigned i = 0; i < nw; i++) {
        f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + at + 4 * i);
        jumps[nj++] = n;
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, words[i], 0, 0);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0); /* UDP source port */
    jumps[nj++] = n;
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(port), 0, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu); /* keep it whole */
    unsigned drop = n;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
    for (unsigned i = 0; i < nj; i++)
        f[jumps[i]].jf = (uint8_t)(drop - jumps[i] - 1);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* The drops the kernel counted at our socket: the filter's, and a full queue's. */
static uint64_t rx_kernel_drops(int fd)
{
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t len = sizeof mem;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof mem[0])
        return 0;
    return mem[SK_MEMINFO_DROPS];
}

/* Datagrams still queued on our socket are lost: this happens only when the pair
 * moves to another local socket, consent is lost, or the transport goes. */
static void rx_close(struct vg_ice *t)
{
    if (t->rx_fd < 0)
        return;
    ice_loop_del_rx(t->loop, t->rx_fd);
    t->rx_drops_before += rx_kernel_drops(t->rx_fd);
    close(t->rx_fd);
    vg_debug(id_or_null(t->case_id), id_or_null(t->leg_id), "ice: receiving through libnice");
    t->rx_fd = t->rx_for = -1;
    vg_ice_sockets_changed();
}

/* Our receive socket follows the direct send path: beside libnice's selected socket
 * while there is one of ours (nice_fd >= 0), none otherwise. */
static void rx_follow(struct vg_ice *t, int nice_fd)
{
    if (!t->loop || t->closed || nice_fd == t->rx_for)
        return;
    rx_close(t);
    if (nice_fd < 0)
        return;
    int fd = rx_open(nice_fd);
    if (fd >= 0 && ice_loop_add_rx(t->loop, fd, t) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        /* Said once at warn (a kernel or sandbox without reuseport BPF refuses it for
         * every leg alike), then at debug. Nothing is lost: libnice reads. */
        static gint said;
        vg_log(warn_once(&said), id_or_null(t->case_id), id_or_null(t->leg_id),
               "ice: no receive socket beside libnice's (%s): libnice reads", g_strerror(errno));
        return;
    }
    t->rx_fd = fd;
    t->rx_for = nice_fd;
    vg_ice_sockets_changed();
    vg_debug(id_or_null(t->case_id), id_or_null(t->leg_id), "ice: receiving past libnice");
}

static bool same_addr(const struct sockaddr_storage *a, const void *bp, unsigned blen)
{
    const struct sockaddr *b = bp;
    if (blen < sizeof(sa_family_t) || a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET && blen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *x = (const void *)a, *y = bp;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (b->sa_family == AF_INET6 && blen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *x = (const void *)a, *y = bp;
        /* A scope only where both name one: libnice's address may leave it 0. */
        bool scope = !x->sin6_scope_id || !y->sin6_scope_id || x->sin6_scope_id == y->sin6_scope_id;
        return x->sin6_port == y->sin6_port && scope &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

/* What libnice's receive path did, for a datagram from our socket: events first, and
 * only from the selected pair's remote (libnice took data only from pairs it knew;
 * the selected one is all a concluded ICE uses). STUN here is one that came before
 * the steering program was attached: libnice's peer sends it again. */
bool ice_rx_datagram(struct vg_ice *t, int fd, const uint8_t *buf, size_t len, const void *from,
                     unsigned fromlen, bool truncated)
{
    if (t->in_call == 0 && !g_queue_is_empty(&t->events))
        flush_events(t);
    if (t->direct_stale && !t->closed)
        find_direct(t); /* the pair changed: the remote to accept may have too */
    if (t->closed || t->rx_fd != fd)
        return false;
    if (truncated || len == 0 || buf[0] < 4 || !same_addr(&t->direct_to, from, fromlen)) {
        t->stats.rx_dropped++;
        return true;
    }
    t->stats.datagrams_in++;
    t->stats.datagrams_rx_direct++;
    t->stats.bytes_in += len;
    if (t->cb.on_recv)
        t->cb.on_recv(buf, len, t->ud);
    return !t->closed && t->rx_fd == fd;
}

/* Lifecycle --------------------------------------------------------------- */

int vg_ice_new(GMainContext *ctx, const struct vg_ice_config *cfg,
               const struct vg_ice_callbacks *cb, void *ud, struct vg_ice **out)
{
    if (!ctx || !cfg || !out)
        return VG_EINVAL;
    *out = NULL;
    if (cfg->loop && vg_ice_loop_context(cfg->loop) != ctx)
        return VG_EINVAL;
    int rc = check_config(cfg);
    if (rc != 0)
        return rc;
    struct vg_ice *t = g_new0(struct vg_ice, 1);
    t->ctx = g_main_context_ref(ctx);
    if (cb)
        t->cb = *cb;
    t->ud = ud;
    g_strlcpy(t->case_id, cfg->case_id ? cfg->case_id : "", sizeof t->case_id);
    g_strlcpy(t->leg_id, cfg->leg_id ? cfg->leg_id : "", sizeof t->leg_id);
    g_queue_init(&t->events);
    t->direct_fd = -1;
    t->rx_fd = t->rx_for = -1;
    if (cfg->loop)
        t->ioctx = ice_loop_new_io_context();
    t->scan_from = next_source_id(sock_ctx(t));
    t->agent = make_agent(ctx, cfg);
    if (t->agent)
        g_object_get(t->agent, "idle-timeout", &t->idle_timeout_ms, NULL);
    rc = t->agent ? add_stream(t, cfg) : VG_EIO;
    if (rc != 0) {
        /* Nothing is connected to the agent yet: it can go at once, and no callback
         * can have fired. */
        if (t->agent)
            g_object_unref(t->agent);
        if (t->ioctx)
            g_main_context_unref(t->ioctx);
        g_main_context_unref(t->ctx);
        g_free(t);
        return rc;
    }
    connect_signals(t);
    if (cfg->loop)
        t->io = ice_loop_attach(cfg->loop, t->ioctx);
    t->loop = cfg->loop;
    g_atomic_int_inc(&live);
    vg_ice_sockets_changed();
    vg_debug(id_or_null(t->case_id), id_or_null(t->leg_id), "ice new %s addrs=%zu",
             cfg->role == VG_ICE_CONTROLLING ? "controlling" : "controlled", cfg->n_local_addrs);
    *out = t;
    return 0;
}

/* Last step: libnice has released any TURN allocation. The agent goes with our
 * reference (the GTask that called us holds its own until we return). */
static void on_closed(GObject *src, GAsyncResult *res, gpointer p)
{
    struct vg_ice *t = p;
    (void)src, (void)res;
    nice_agent_attach_recv(t->agent, t->stream, COMPONENT, sock_ctx(t), NULL, NULL);
    g_signal_handlers_disconnect_by_data(t->agent, t);
    /* The sockets close when the agent is finalized (the GTask still holds it), and
     * their sources are destroyed then: the loop lets go of the fds now, and the io
     * context lives as long as the agent. */
    ice_loop_detach(t->io);
    if (t->ioctx)
        g_object_set_data_full(G_OBJECT(t->agent), "vigil-io-context", t->ioctx,
                               (GDestroyNotify)g_main_context_unref);
    g_object_unref(t->agent);
    g_main_context_unref(t->ctx);
    g_free(t);
    g_atomic_int_add(&live, -1);
    vg_ice_sockets_changed(); /* its sockets are closed by now, or soon: see loop.c */
}

/* Runs from the context, never inside libnice. Until on_closed() the receiver and the
 * signal handlers stay connected (TURN deallocation needs the socket read) but see
 * closed and do nothing. */
static gboolean teardown_idle(gpointer p)
{
    struct vg_ice *t = p;
    g_main_context_push_thread_default(t->ctx);
    nice_agent_close_async(t->agent, on_closed, t);
    g_main_context_pop_thread_default(t->ctx);
    return G_SOURCE_REMOVE;
}

void vg_ice_free(struct vg_ice *t)
{
    if (!t || t->closed)
        return;
    t->closed = true;
    rx_close(t);
    if (t->flush) {
        g_source_destroy(t->flush);
        g_source_unref(t->flush);
        t->flush = NULL;
    }
    g_queue_clear_full(&t->events, g_free);
    vg_debug(id_or_null(t->case_id), id_or_null(t->leg_id), "ice free");
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, teardown_idle, t, NULL);
    g_source_attach(s, t->ctx);
    g_source_unref(s);
}

unsigned vg_ice_live(void)
{
    return (unsigned)g_atomic_int_get(&live);
}

/* Negotiation ------------------------------------------------------------- */

int vg_ice_gather(struct vg_ice *t)
{
    if (!t)
        return VG_EINVAL;
    if (t->closed || t->gathering)
        return VG_ESTATE;
    enter(t);
    gboolean ok = nice_agent_gather_candidates(t->agent, t->stream);
    leave(t);
    vg_ice_sockets_changed(); /* gathering opened the host sockets */
    let_recurse(t);
    if (!ok)
        return VG_EIO;
    t->gathering = true;
    return 0;
}

int vg_ice_local_credentials(struct vg_ice *t, struct vg_ice_credentials *out)
{
    gchar *ufrag = NULL, *pwd = NULL;
    if (!t || !out)
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    if (!nice_agent_get_local_credentials(t->agent, t->stream, &ufrag, &pwd))
        return VG_EIO;
    g_strlcpy(out->ufrag, ufrag, sizeof out->ufrag);
    g_strlcpy(out->pwd, pwd, sizeof out->pwd);
    g_free(ufrag);
    g_free(pwd);
    return 0;
}

/* RFC 8839: ice-char = ALPHA / DIGIT / "+" / "/", min..max of them. */
static bool ice_chars(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (; s[n] && n <= max; n++)
        if (!g_ascii_isalnum(s[n]) && s[n] != '+' && s[n] != '/')
            return false;
    return n >= min && n <= max;
}

int vg_ice_set_remote_credentials(struct vg_ice *t, const char *ufrag, const char *pwd)
{
    if (!t || !ufrag || !pwd || !ice_chars(ufrag, 4, 256) || !ice_chars(pwd, 22, 256))
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    enter(t);
    gboolean ok = nice_agent_set_remote_credentials(t->agent, t->stream, ufrag, pwd);
    leave(t);
    return ok ? 0 : VG_EIO;
}

/* Copies a trickled "candidate:..." or an SDP "a=candidate:..." into sdp as the
 * "a=candidate:..." libnice's parser insists on; refuses control characters (a line
 * end would be a second line) and anything too long. */
static int to_sdp_attr(const char *line, char *sdp, size_t n)
{
    const char *v = g_str_has_prefix(line, "a=") ? line + 2 : line;
    if (!g_str_has_prefix(v, "candidate:"))
        return VG_EINVAL;
    size_t len = strnlen(v, VG_ICE_CANDIDATE_MAX);
    if (len >= VG_ICE_CANDIDATE_MAX || len + 3 > n)
        return VG_EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return VG_EINVAL;
    memcpy(sdp, "a=", 2);
    memcpy(sdp + 2, v, len + 1);
    return 0;
}

/* libnice's parser is lenient (unparsed numbers become 0), so what it returns is
 * checked: a usable candidate has a port, and is on component 1. */
static int parse_candidate(struct vg_ice *t, const char *sdp, NiceCandidate **out)
{
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(t->agent, t->stream, sdp);
    if (!c)
        return VG_EINVAL;
    if (nice_address_get_port(&c->addr) == 0 &&
        c->transport != NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE) {
        nice_candidate_free(c);
        return VG_EINVAL;
    }
    if (c->component_id != COMPONENT) {
        nice_candidate_free(c);
        return VG_ENOENT;
    }
    *out = c;
    return 0;
}

int vg_ice_add_remote_candidate(struct vg_ice *t, const char *line)
{
    char sdp[VG_ICE_CANDIDATE_MAX + 2];
    NiceCandidate *c;
    if (!t || !line || to_sdp_attr(line, sdp, sizeof sdp) != 0)
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    int rc = parse_candidate(t, sdp, &c);
    if (rc != 0)
        return rc;
    if (t->remote_done || t->n_remote >= VG_ICE_MAX_REMOTE_CANDS) {
        nice_candidate_free(c);
        return t->remote_done ? VG_ESTATE : VG_ENOSPC;
    }
    GSList one = {.data = c, .next = NULL};
    enter(t);
    int added = nice_agent_set_remote_candidates(t->agent, t->stream, COMPONENT, &one);
    leave(t);
    nice_candidate_free(c);
    if (added < 0)
        return VG_EIO;
    /* Counted even when libnice added nothing (a duplicate, or a TCP candidate while
     * ICE-TCP is off): the bound is on what a peer can make us parse. */
    t->n_remote++;
    return 0;
}

int vg_ice_end_of_candidates(struct vg_ice *t)
{
    if (!t)
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    t->remote_done = true;
    enter(t);
    gboolean ok = nice_agent_peer_candidate_gathering_done(t->agent, t->stream);
    leave(t);
    return ok ? 0 : VG_EIO;
}

/* Reports the kept local candidates again for the new SDP, as a fresh gathering. */
static void report_local_candidates(struct vg_ice *t)
{
    GSList *list = nice_agent_get_local_candidates(t->agent, t->stream, COMPONENT);
    for (GSList *i = list; i; i = i->next)
        emit_candidate(t, i->data);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    if (t->gathered)
        emit(t, EV_GATHERING_DONE, t->state, NULL);
}

int vg_ice_restart(struct vg_ice *t)
{
    if (!t)
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    enter(t);
    g_object_set(t->agent, "idle-timeout", t->idle_timeout_ms, NULL);
    gboolean ok = nice_agent_restart_stream(t->agent, t->stream);
    if (ok) {
        t->remote_done = false;
        t->n_remote = 0;
        report_local_candidates(t);
    }
    leave(t);
    vg_info(id_or_null(t->case_id), id_or_null(t->leg_id), "ice restart%s", ok ? "" : " failed");
    return ok ? 0 : VG_EIO;
}

/* Datagrams --------------------------------------------------------------- */

/* libnice (0.1.21) reports both a full socket buffer and "no pair selected yet" as
 * G_IO_ERROR_WOULD_BLOCK (its docs promise BROKEN_PIPE for the latter), so on that
 * error alone we ask whether a pair exists; the common path pays nothing for it. */
static int send_error(struct vg_ice *t, gint n, const GError *err)
{
    NiceCandidate *l = NULL, *r = NULL;
    t->stats.send_failures++;
    bool would_block = n == 0 || g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
        (would_block && !nice_agent_get_selected_pair(t->agent, t->stream, COMPONENT, &l, &r)))
        return VG_ESTATE;
    /* RFC 7675: once consent has expired, libnice refuses to send on the pair. */
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        return VG_EPERM;
    if (!would_block)
        return VG_EIO;
    t->stats.send_would_block++;
    return VG_ENOSPC;
}

/* libnice's send path costs a lock, lookups, GIO's checks and a GSocketAddress per
 * datagram; on a selected pair whose local side is one of our own UDP sockets (not
 * a TURN relay, not TCP: libnice frames those) one sendto() does the same. libnice
 * still owns the socket and everything STUN (consent included): it reports a loss of
 * consent as FAILED, which report_state() sees at once, so the direct path stops
 * with libnice's. Looked up after every change of state or pair. */
static void find_direct(struct vg_ice *t)
{
    NiceCandidate *l = NULL, *r = NULL;
    int fd = -1;
    t->direct_stale = false;
    enter(t);
    GSocket *gs = nice_agent_get_selected_socket(t->agent, t->stream, COMPONENT);
    if (gs && nice_agent_get_selected_pair(t->agent, t->stream, COMPONENT, &l, &r) && r &&
        r->transport == NICE_CANDIDATE_TRANSPORT_UDP) {
        memset(&t->direct_to, 0, sizeof t->direct_to);
        nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)&t->direct_to);
        t->direct_len = nice_address_ip_version(&r->addr) == 6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in);
        fd = g_socket_get_fd(gs);
    }
    if (gs)
        g_object_unref(gs); /* the agent keeps the socket open */
    leave(t);
    /* libnice may have changed state or pair meanwhile (report_state() ran): then
     * this lookup is already old, and the next send looks again. */
    if (t->direct_stale)
        return;
    if (t->state == VG_ICE_CONNECTED || t->state == VG_ICE_READY)
        t->direct_fd = fd;
    rx_follow(t, t->direct_fd);
    if (t->rx_fd >= 0 && rx_filter(t->rx_fd, &t->direct_to) != 0) {
        static gint said;
        vg_log(warn_once(&said), id_or_null(t->case_id), id_or_null(t->leg_id),
               "ice: no source filter on the receive socket (%s): others' datagrams share "
               "its queue",
               g_strerror(errno));
    }
}

void ice_note_sent(struct vg_ice *t, size_t len, int err)
{
    if (err == 0) {
        t->stats.datagrams_out++;
        t->stats.datagrams_direct++;
        t->stats.bytes_out += len;
        return;
    }
    t->stats.send_failures++;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
        t->stats.send_would_block++;
}

bool ice_gso_allowed(const struct vg_ice *t)
{
    return t->stats.gso_refused == 0;
}

void ice_note_gso_refused(struct vg_ice *t, int err)
{
    static gint said;
    t->stats.gso_refused = 1;
    vg_log(warn_once(&said), id_or_null(t->case_id), id_or_null(t->leg_id),
           "ice: UDP GSO send refused (%s): this leg sends datagram by datagram", g_strerror(err));
}

static int send_direct(struct vg_ice *t, const uint8_t *buf, size_t len)
{
    if (t->loop) {
        ice_loop_send(t->loop, t, t->direct_fd, &t->direct_to, t->direct_len, buf, len);
        return 0;
    }
    ssize_t n;
    do
        n = sendto(t->direct_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&t->direct_to,
                   t->direct_len);
    while (n < 0 && errno == EINTR);
    int err = n == (ssize_t)len ? 0 : n < 0 ? errno : EIO;
    ice_note_sent(t, len, err);
    if (err == 0)
        return 0;
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS ? VG_ENOSPC : VG_EIO;
}

int vg_ice_send(struct vg_ice *t, const uint8_t *buf, size_t len)
{
    if (!t || !buf || len == 0 || len > 65535)
        return VG_EINVAL;
    if (t->closed)
        return VG_ESTATE;
    if (t->direct_stale)
        find_direct(t);
    if (t->direct_fd >= 0)
        return send_direct(t, buf, len);
    GOutputVector v = {.buffer = buf, .size = len};
    NiceOutputMessage m = {.buffers = &v, .n_buffers = 1};
    GError *err = NULL;
    gint n =
        nice_agent_send_messages_nonblocking(t->agent, t->stream, COMPONENT, &m, 1, NULL, &err);
    if (n == 1) {
        t->stats.datagrams_out++;
        t->stats.bytes_out += len;
        return 0;
    }
    int rc = send_error(t, n, err);
    g_clear_error(&err);
    return rc;
}

/* Reading ----------------------------------------------------------------- */

GMainContext *vg_ice_io_context(const struct vg_ice *t)
{
    return sock_ctx(t);
}

enum vg_ice_state vg_ice_get_state(const struct vg_ice *t)
{
    return t->state;
}

void vg_ice_get_stats(const struct vg_ice *t, struct vg_ice_stats *out)
{
    *out = t->stats;
    out->rx_kernel_drops = t->rx_drops_before + rx_kernel_drops(t->rx_fd);
}

const char *vg_ice_state_name(enum vg_ice_state s)
{
    switch (s) {
    case VG_ICE_NEW: return "new";
    case VG_ICE_GATHERING: return "gathering";
    case VG_ICE_CHECKING: return "checking";
    case VG_ICE_CONNECTED: return "connected";
    case VG_ICE_READY: return "ready";
    case VG_ICE_FAILED: return "failed";
    case VG_ICE_DISCONNECTED: return "disconnected";
    }
    return "?";
}
