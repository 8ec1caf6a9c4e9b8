/* The media engine: WebRTC legs and the forwarding between them.
 *
 * A leg is one participant's media connection (DOMAIN.md): an ICE transport
 * (media/ice), a DTLS endpoint and an SRTP session (media/core), and its RTP and
 * RTCP streams. A leg is created from the peer's SDP offer (the engine answers) or
 * by the engine making an offer (to a console); then sources are connected to
 * receivers, and every RTP packet a source sends is forwarded to its receivers with
 * SSRC, payload type, sequence number and timestamp rewritten, so a receiver sees one
 * continuous stream even when its source changes.
 *
 * Threads: a fixed pool of worker loops, each a thread with its own GMainContext.
 * All legs of one case live on one worker (chosen from the case key), so the
 * per-packet path takes no lock and copies across no thread. The caller (the daemon,
 * on its main loop) addresses legs by id; every call below only posts work to the
 * leg's worker and returns at once, and every event comes back on the caller's
 * GMainContext. Teardown is a message to the owner like everything else. */
#ifndef VG_ENGINE_H
#define VG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _GMainContext GMainContext;
typedef struct _GString GString;

struct vg_media;

#define VG_MEDIA_AUDIO 0x1u
#define VG_MEDIA_VIDEO 0x2u

enum vg_leg_state {
    VG_LEG_CONNECTING = 0, /* ICE checks and the DTLS handshake under way */
    VG_LEG_CONNECTED,      /* SRTP keys in place: media flows */
    VG_LEG_FAILED,         /* ICE failed, DTLS failed or the fingerprint did not match */
    VG_LEG_CLOSED,         /* closed by vg_media_leg_close(); the id is gone */
};

struct vg_media_config {
    /* IP literals to gather host candidates on; loopback allowed. */
    const char *const *local_addrs;
    size_t n_local_addrs;
    const char *stun_server; /* "ip:port" or NULL */
    const char *turn_server, *turn_username, *turn_password;
    unsigned workers; /* 0: one per core */
    /* Loss recovery: NACKs sent upstream for gaps and served (as RTX) to receivers. */
    bool nack;
    /* For drills and tests only: drop this share (0..1000 per mille) of RTP packets
     * at the gateway's ingress and egress, as a lossy network would. */
    unsigned simulate_loss_permille;
};

/* Every event fires on the owner's context. Strings are valid during the call. */
struct vg_media_events {
    /* The engine's SDP for a leg: the answer to vg_media_leg_from_offer() or the
     * offer of vg_media_leg_offer(). */
    void (*sdp)(uint64_t leg, const char *type, const char *sdp, void *ud);
    /* A local ICE candidate to trickle ("candidate:..."); "" = end of candidates. */
    void (*candidate)(uint64_t leg, const char *line, void *ud);
    /* detail: the reason for FAILED, the selected pair for CONNECTED. */
    void (*state)(uint64_t leg, enum vg_leg_state state, const char *detail, void *ud);
};

/* Starts the workers. ev and ud are kept; owner must be iterated by the caller. */
/* For a start-up check that can name the setting (vg_media_new() takes them as they
 * are, and a bad one fails every leg later): a STUN or TURN server "IP[:port]" (an IP
 * literal: names are not resolved), a local address (an IP literal). 0, or VG_EINVAL. */
int vg_media_check_server(const char *server);
int vg_media_check_address(const char *addr);

int vg_media_new(const struct vg_media_config *cfg, const struct vg_media_events *ev, void *ud,
                 GMainContext *owner, struct vg_media **out);

/* Closes every leg and joins the workers. NULL allowed. No event fires after. */
void vg_media_free(struct vg_media *m);

/* A leg answering the peer's offer. Returns the new leg's id (never 0); the answer
 * arrives through ev->sdp, or the leg fails through ev->state with the reason
 * (unusable offer: no rtcp-mux, no common codec, ...). case_key picks the worker:
 * pass the same key for every leg of one case. name is for logs ("citizen").
 * send_kinds: what the gateway may ever send on this leg; the other kinds are
 * answered recvonly and nothing of them is forwarded to it (a silent alarm's
 * citizen leg is given no audio, by the SDP and by the forwarder). */
uint64_t vg_media_leg_from_offer(struct vg_media *m, const char *case_key, const char *name,
                                 const char *offer, unsigned send_kinds);

/* A leg for which the engine makes the offer (ev->sdp "offer"), sending what the
 * kinds bits say and receiving nothing unless recv is set. */
uint64_t vg_media_leg_offer(struct vg_media *m, const char *case_key, const char *name,
                            unsigned kinds, bool recv);

/* The peer's answer to the engine's offer. */
void vg_media_leg_answer(struct vg_media *m, uint64_t leg, const char *answer);

/* A new offer from the peer on an existing leg, e.g. an ICE restart: the leg, its
 * streams and its place in the case stay; a new answer arrives through ev->sdp. */
void vg_media_leg_reoffer(struct vg_media *m, uint64_t leg, const char *offer);

/* One trickled remote candidate ("candidate:..."); "" = end of candidates. */
void vg_media_leg_candidate(struct vg_media *m, uint64_t leg, const char *line);

void vg_media_leg_close(struct vg_media *m, uint64_t leg);

/* Forwards source's media of the given kinds to receiver (both legs of one case).
 * A video receiver joining asks the source for a keyframe at once. Replaces any
 * earlier source of those kinds at the receiver: the receiver's stream continues. */
void vg_media_connect(struct vg_media *m, uint64_t source, uint64_t receiver, unsigned kinds);
void vg_media_disconnect(struct vg_media *m, uint64_t source, uint64_t receiver);

/* Stops (or resumes) sending the given kinds to receiver, whatever its source: a
 * paused receiver keeps its legs and its place, and on resume continues its stream
 * (and gets a keyframe). */
void vg_media_set_paused(struct vg_media *m, uint64_t receiver, unsigned kinds, bool paused);

/* A tap on a leg's incoming media, for recording: called on the leg's worker
 * thread for every RTP packet the leg receives that decrypts and parses (after RTX
 * is unwrapped), with its kind (0 audio, 1 video) and arrival time (wall clock,
 * microseconds). It must not block: it runs in the forwarding path (the recorder
 * only queues a copy). release(ud) is called once, on the worker, when the leg is
 * freed (or at once if the leg is already gone). One tap per leg; a second
 * replaces (and releases) the first. */
struct vg_media_tap {
    void (*rtp)(void *ud, uint64_t leg, unsigned kind, int64_t at_us, const uint8_t *pkt,
                size_t len);
    void (*release)(void *ud);
    void *ud;
};
void vg_media_leg_tap(struct vg_media *m, uint64_t leg, const struct vg_media_tap *tap);

/* Appends per-leg and engine metrics (Prometheus text, names vigil_media_*). Safe
 * from the owner's thread; figures are at most one second old. */
void vg_media_write_metrics(struct vg_media *m, GString *out);
/* Whether the workers still run (the service manager's watchdog, src/daemon/app.c):
 * each call posts every worker whose last ping has run a new one, stamped now_us
 * (monotonic); returns how long the oldest ping still waiting has waited, 0 if none
 * waits. A worker stuck in a loop or a lock leaves its ping unrun. Owner's thread. */
int64_t vg_media_stall_us(struct vg_media *m, int64_t now_us);

const char *vg_leg_state_name(enum vg_leg_state s);

#endif
