/* The ICE transport of one WebRTC leg: the only code in Vigil that includes libnice.
 *
 * With BUNDLE and rtcp-mux a leg carries everything (STUN, DTLS, SRTP, SRTCP) over one
 * UDP 5-tuple, so a transport is one libnice stream with one component. It finds that
 * 5-tuple with full ICE (never lite), trickled both ways: local candidates are reported
 * one SDP line at a time as libnice finds them, remote ones are added whenever
 * signaling brings them, and end-of-candidates is marked separately. Once a pair is
 * selected it moves datagrams: each received datagram is handed up untouched (the media
 * engine classifies it, RFC 7983), each send is one datagram and never blocks. Consent
 * freshness (RFC 7675) is on, so a peer that goes away is noticed; an ICE restart gives
 * new credentials while the transport, its callbacks and the leg above it stay.
 *
 * Threads: a transport belongs to the thread that iterates the GMainContext it was
 * created on. Every vg_ice_* call on it must be made on that thread, and every callback
 * fires there.
 *
 * Callbacks never fire from inside a vg_ice_* call. libnice emits its signals
 * synchronously from inside its own API (new candidates during gathering, state changes
 * during a restart), which would re-enter the engine half-way through its own call; such
 * events are queued (bounded) and delivered from the context as soon as it is iterated
 * again, before any later datagram, so their order is kept. */
#ifndef VG_ICE_H
#define VG_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GLib's own typedef, repeated (C11 allows it) so includers need not include glib.h. */
typedef struct _GMainContext GMainContext;

struct vg_ice;
struct vg_ice_loop;

/* Bounds, all checked: reaching one is an error code, never growth. */
#define VG_ICE_MAX_LOCAL_ADDRS 8     /* addresses to gather host candidates on */
#define VG_ICE_MAX_REMOTE_CANDS 32   /* remote candidates per ICE generation */
#define VG_ICE_CANDIDATE_MAX 512     /* one candidate line, with its NUL */
#define VG_ICE_UFRAG_MAX 257         /* RFC 8839: 4..256 ice-chars, with the NUL */
#define VG_ICE_PWD_MAX 257           /* RFC 8839: 22..256 ice-chars, with the NUL */
#define VG_ICE_PAIR_MAX 160          /* selected pair as text, with the NUL */
#define VG_ICE_ID_MAX 40             /* case and leg ids kept for log lines */
#define VG_ICE_MAX_PENDING_EVENTS 64 /* events waiting for the context (see above) */

enum vg_ice_role {
    VG_ICE_CONTROLLED = 0, /* the gateway answers an offer (a browser calling in) */
    VG_ICE_CONTROLLING,    /* the gateway offers (to a console) */
};

/* Used when controlling (a controlled agent follows the peer's choice).
 * Regular is the default: the controlling agent nominates a pair only after its check
 * has succeeded, so the selected pair is final when chosen and DTLS never starts on a
 * path that is abandoned a moment later. Aggressive puts USE-CANDIDATE on every check,
 * which on loopback connects ~40 ms sooner (one check pacing interval, Ta = 20 ms,
 * plus the nominating check) but may switch the selected pair while checks continue;
 * RFC 8445 deprecates it. */
enum vg_ice_nomination {
    VG_ICE_NOMINATION_REGULAR = 0,
    VG_ICE_NOMINATION_AGGRESSIVE,
};

enum vg_ice_state {
    VG_ICE_NEW = 0,      /* created, not gathering yet */
    VG_ICE_GATHERING,    /* gathering local candidates; libnice also passes through
                          * it on a restart, though it gathers nothing new then */
    VG_ICE_CHECKING,     /* connectivity checks running */
    VG_ICE_CONNECTED,    /* a pair works: datagrams can flow */
    VG_ICE_READY,        /* checks concluded, the selected pair is final */
    VG_ICE_FAILED,       /* no pair works, or consent was lost; vg_ice_restart() may recover */
    VG_ICE_DISCONNECTED, /* libnice's idle state: no check scheduled */
};

struct vg_ice_config {
    enum vg_ice_role role;
    enum vg_ice_nomination nomination;
    /* IP literals to gather host candidates on, port chosen by the OS (or in the
     * range below). Loopback works here: libnice skips loopback interfaces when it
     * discovers addresses itself, but uses any address it is given. With none given,
     * libnice uses every non-loopback interface. Not kept after vg_ice_new(). */
    const char *const *local_addrs;
    size_t n_local_addrs;
    uint16_t port_min, port_max; /* host candidate ports; 0, 0 for any */
    /* "ip:port" or "[ipv6]:port" (port 3478 if left out), or NULL. libnice does not
     * resolve names: the caller resolves before. */
    const char *stun_server;
    /* TURN over UDP: "ip:port" as above plus long-term credentials, or all NULL. */
    const char *turn_server, *turn_username, *turn_password;
    /* Pacing of connectivity checks (RFC 8445 Ta), in ms; 0 for libnice's 20. RFC 8445
     * allows 5 ms for real-time media. With regular nomination the controlling side
     * nominates on its next paced check after one succeeded, so Ta is spent once more
     * in every ICE setup it controls. */
    unsigned check_pacing_ms;
    /* ICE-TCP candidates. Off by default: the gateway serves UDP, and TCP host
     * candidates would only add pairs that lose to UDP anyway. */
    bool ice_tcp;
    /* For log lines (case=... leg=...); may be NULL; copied. */
    const char *case_id, *leg_id;
    /* The loop that polls this transport's sockets (see vg_ice_loop_new()); the ctx
     * given to vg_ice_new() must then be its context. NULL: the sockets are sources
     * on ctx, polled by whoever iterates it. */
    struct vg_ice_loop *loop;
};

/* All fire on the transport's context thread, never from inside a vg_ice_* call, and
 * never after vg_ice_free(). Any may be NULL. A callback may call any vg_ice_* function
 * on any transport, vg_ice_free() of its own included. Strings and buffers handed to a
 * callback are valid only during it. */
struct vg_ice_callbacks {
    /* A local candidate as an SDP attribute value, "candidate:1 1 UDP 2013266431
     * 127.0.0.1 40001 typ host" (no "a=" and no line end), ready for trickle. */
    void (*on_candidate)(const char *line, void *ud);
    /* Local gathering finished: send end-of-candidates. */
    void (*on_gathering_done)(void *ud);
    /* Every change of state; and again with the same state when the selected pair
     * changes while connected or ready. pair is the selected pair for logs, e.g.
     * "udp host 127.0.0.1:40001 <-> host 127.0.0.1:40002", or "" when none. */
    void (*on_state)(enum vg_ice_state state, const char *pair, void *ud);
    /* One datagram as received (STUN for ICE itself already taken out by libnice),
     * nothing else done to it. With a loop, once a host UDP pair is selected, the
     * datagrams are read past libnice (a socket of the transport's own beside
     * libnice's, the same address and port; the kernel steers STUN to libnice's and
     * the rest to ours) and only those from the selected pair's remote address are
     * handed up; libnice keeps all of STUN, consent and checks included. */
    void (*on_recv)(const uint8_t *buf, size_t len, void *ud);
};

struct vg_ice_credentials {
    char ufrag[VG_ICE_UFRAG_MAX];
    char pwd[VG_ICE_PWD_MAX];
};

/* Counters since creation; datagrams only (libnice's own STUN is not counted). */
struct vg_ice_stats {
    uint64_t datagrams_in, bytes_in;
    uint64_t datagrams_out, bytes_out;
    uint64_t datagrams_direct;    /* of those: sent past libnice (see vg_ice_send()) */
    uint64_t datagrams_rx_direct; /* of datagrams_in: read past libnice (see on_recv) */
    uint64_t rx_dropped;          /* read past libnice and dropped: from an address other than
                                   * the selected pair's, truncated, or STUN (libnice's) */
    uint64_t rx_kernel_drops;     /* dropped by the kernel at our receive socket: not from
                                   * the selected pair's remote (its filter), or the queue
                                   * full; the owning thread's call only */
    uint64_t send_failures;       /* every vg_ice_send() that did not send, for any reason */
    uint64_t send_would_block;    /* of those: the socket buffer was full (a drop) */
    uint64_t gso_refused;         /* 1 once a UDP GSO send was refused: one by one since */
    uint64_t events_dropped;      /* queued events lost to VG_ICE_MAX_PENDING_EVENTS */
};

/* Creates a transport on ctx (which must outlive it and keep being iterated) with
 * local credentials already chosen; gathering starts with vg_ice_gather(). cfg is read
 * during the call only; cb is copied; ud is handed to every callback. *out is owned by
 * the caller: vg_ice_free() it. VG_EINVAL for a bad config (an address that is not an
 * IP literal, too many addresses, half a TURN setting, a bad port range), VG_EIO if
 * libnice refuses. On failure no callback ever fires. */
/* The checks vg_ice_new() makes, for a start-up check that can name the setting: a
 * STUN or TURN server "IP[:port]" (an IP literal: names are not resolved), a local
 * address (an IP literal). 0, or VG_EINVAL. */
int vg_ice_check_server(const char *server);
int vg_ice_check_address(const char *addr);

int vg_ice_new(GMainContext *ctx, const struct vg_ice_config *cfg,
               const struct vg_ice_callbacks *cb, void *ud, struct vg_ice **out);

/* Frees t (NULL is allowed), also from inside any of t's callbacks. No callback of t
 * fires after this returns. The sockets and the libnice agent are released from an
 * idle source on t's context (libnice must not be destroyed while it is calling us),
 * after any TURN allocation has been released: keep iterating the context until
 * vg_ice_live() says it is done. */
void vg_ice_free(struct vg_ice *t);

/* Transports created and not yet fully released, in the whole process. */
unsigned vg_ice_live(void);

/* Starts gathering. Candidates arrive through on_candidate, then on_gathering_done.
 * VG_ESTATE if already started, VG_EIO if no host candidate could be opened. */
int vg_ice_gather(struct vg_ice *t);

/* The current local ufrag and pwd, for the SDP. New after each vg_ice_restart(). */
int vg_ice_local_credentials(struct vg_ice *t, struct vg_ice_credentials *out);

/* The peer's ufrag and pwd from its SDP. VG_EINVAL unless both are ice-chars
 * (ALPHA / DIGIT / "+" / "/") of RFC 8839 lengths. */
int vg_ice_set_remote_credentials(struct vg_ice *t, const char *ufrag, const char *pwd);

/* Adds one remote candidate, at any time (trickle): "candidate:..." as a browser sends
 * it, or "a=candidate:..." from an SDP, without a line end. Returns 0 when taken (a TCP
 * candidate while ICE-TCP is off is taken and ignored by libnice), VG_EINVAL if
 * malformed (mDNS ".local" host names included: libnice cannot resolve them),
 * VG_ENOENT for a component other than 1 (RTCP without rtcp-mux: not used, ignore it),
 * VG_ENOSPC past VG_ICE_MAX_REMOTE_CANDS, VG_ESTATE after vg_ice_end_of_candidates()
 * in this ICE generation (RFC 8838 says to ignore it). */
int vg_ice_add_remote_candidate(struct vg_ice *t, const char *line);

/* The peer sent end-of-candidates: once every pair has been tried, the transport may
 * now fail instead of waiting for more. */
int vg_ice_end_of_candidates(struct vg_ice *t);

/* Sends one datagram of len (1..65535) bytes; never blocks. On a selected pair whose
 * local side is a UDP socket of ours (not a relay, not TCP) it is one sendto() on
 * libnice's socket, past libnice's send path; libnice still owns the socket and
 * everything STUN, and sending stops with its consent. With a loop such a datagram is
 * queued and sent at the end of the loop's round, batched with the others for its
 * socket: 0 then means queued, and a later failure is counted in the stats. VG_ESTATE while no pair
 * is selected, VG_EPERM once consent is lost (RFC 7675: sending must stop), VG_ENOSPC if the socket
 * buffer is full (the datagram is dropped), VG_EIO for another failure; each is counted in
 * send_failures. */
int vg_ice_send(struct vg_ice *t, const uint8_t *buf, size_t len);

/* ICE restart (RFC 8445 section 9), both for a restart we start and one the peer
 * started: new local credentials (read them with vg_ice_local_credentials()), the
 * remote candidates and end-of-candidates forgotten. Then set the peer's new
 * credentials and add its new candidates. The local candidates are kept and reported
 * again through on_candidate and on_gathering_done, for the new SDP. Datagrams keep
 * flowing on the old pair until a new one is selected. */
int vg_ice_restart(struct vg_ice *t);

enum vg_ice_state vg_ice_get_state(const struct vg_ice *t);
void vg_ice_get_stats(const struct vg_ice *t, struct vg_ice_stats *out);
const char *vg_ice_state_name(enum vg_ice_state s);

/* The event loop of one media thread (media/ice/loop.c says why it is not GLib's).
 * It owns a GMainContext, created with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, for
 * timers, idles and messages from other threads (g_main_context_invoke() works as
 * usual), and polls with one epoll set both that context's fds and the sockets of
 * every transport created with .loop set: a ready socket runs only its transport's
 * receive path, and the context is run only when its own fds are ready or a timeout
 * of it is due. One thread runs a loop; every vg_ice_loop_* call but quit is made on
 * it. vg_ice_loop_new() returns NULL if epoll is refused. */
struct vg_ice_loop *vg_ice_loop_new(void);
GMainContext *vg_ice_loop_context(struct vg_ice_loop *L); /* not a new reference */
/* Runs until vg_ice_loop_quit(). */
void vg_ice_loop_run(struct vg_ice_loop *L);
/* One round: waits up to max_wait_ms (-1: no limit; less when a timeout of the
 * context is due sooner), serves what is ready. Returns the fds that were ready, or
 * VG_ESTATE if another thread owns the context. */
int vg_ice_loop_iterate(struct vg_ice_loop *L, int max_wait_ms);
/* Sends now what vg_ice_send() queued on this loop (it is sent at the end of each
 * round anyway): for a caller that sends bursts to several peers from one timer. */
void vg_ice_loop_flush(struct vg_ice_loop *L);
/* Makes vg_ice_loop_run() return; from any thread. */
void vg_ice_loop_quit(struct vg_ice_loop *L);
/* After every transport made with it has been released (vg_ice_live()): those still
 * attached are left as they are, never to be served again. */
void vg_ice_loop_free(struct vg_ice_loop *L);

struct vg_ice_loop_stats {
    uint64_t rounds;           /* epoll waits */
    uint64_t main_dispatches;  /* iterations of the loop's own context */
    uint64_t io_dispatches;    /* runs of one transport's sockets */
    uint64_t refused;          /* fds epoll would not take (never sockets) */
    uint64_t datagrams_queued; /* sends batched to the end of a round */
    uint64_t send_batches;     /* sendmmsg() runs that sent them */
    uint64_t datagrams_rx;     /* read from transports' own receive sockets */
    uint64_t rx_reads;         /* recvmmsg() runs that read them */
    uint64_t gso_sends;        /* UDP GSO sends (loop.c) of two datagrams or more */
    uint64_t gso_datagrams;    /* the datagrams they carried */
};
void vg_ice_loop_get_stats(const struct vg_ice_loop *L, struct vg_ice_loop_stats *out);

/* The context a transport's sockets are sources on (its own with a loop, else the
 * ctx it was made on): for tests. */
GMainContext *vg_ice_io_context(const struct vg_ice *t);

/* Sockets were opened or closed other than through vg_ice (the load generator's
 * WebSockets): a loop must look again at fd numbers it polls (loop.c says why). */
void vg_ice_sockets_changed(void);

#endif
