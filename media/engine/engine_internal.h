/* Private to media/engine: workers, legs, streams. */
#ifndef VG_ENGINE_INTERNAL_H
#define VG_ENGINE_INTERNAL_H

#include "dtls.h"
#include "engine.h"
#include "history.h"
#include "ratelimit.h"
#include "ice.h"
#include "sdp.h"
#include "srtp.h"

#include <glib.h>
#include <stdatomic.h>

#define MTU 1500
/* NACK history, per video source (media/core/history.h): it starts at HIST_MIN_BYTES
 * and grows, up to HIST_MAX_BYTES, as its receivers' round trips need. 32 KiB is
 * ~175 ms at 1.5 Mbit/s: two LAN round trips plus the margin with room to spare, so a
 * call-taker's console on the centre's LAN does not make it grow by its round trip
 * (an unpaced keyframe bigger than the ring, with a packet of it lost, can double it
 * once: test_loss sees 32 or 64 KiB). Starting at 16 KiB would save little more
 * and grow on most keyframe losses. 160 KiB (the old
 * fixed size) is ~0.85 s at 1.5 Mbit/s: a 300 ms mobile round trip twice over plus
 * the margin. */
#define HIST_MIN_BYTES (32 * 1024)
#define HIST_MAX_BYTES (160 * 1024)
#define MAX_RECEIVERS 8   /* receivers per source leg: a case has a handful of parties */
#define MAX_NACK_BATCH 64 /* sequence numbers taken from one NACK */
/* Retransmissions a video receiver's NACKs may have a second, and at once: a 1.5 Mbit/s
 * stream is ~180 packets a second, so 10% loss asks ~20; a NACK after a burst of
 * loss asks for up to a batch at once. */
/* Bytes a second a peer may send a leg, and at once: ~8 Mbit/s, three times the most
 * the gateway's REMB asks a sender for (2.5 Mbit/s); a keyframe burst fits. */
#define IN_RATE 1000000
#define IN_BURST 300000
#define RTX_RATE 200
#define RTX_BURST (2 * MAX_NACK_BATCH)
#define KEYFRAME_GAP_US 300000 /* at most one PLI upstream per source per 300 ms */
#define MAX_PENDING_NACK 64    /* missing upstream packets followed per source */
#define NACK_RETRY_US 40000    /* ask again if the retransmission has not come */
#define NACK_TRIES 3
#define REMB_BPS 2500000    /* the most we let a sender send (see forward.c) */
#define REMB_MIN_BPS 150000 /* the least: enough for a small, slow picture */

enum { K_AUDIO = 0, K_VIDEO = 1 };

/* What one leg receives of one kind. */
struct stream_in {
    bool active; /* negotiated as something the peer sends */
    uint8_t pt;
    int16_t rtx_pt; /* -1: none */
    uint32_t clock;
    uint32_t ssrc;           /* signalled or learned from the first packet; 0 = unknown */
    struct vg_history *hist; /* video: reserved on the first video packet */
    /* reception state for RR and loss */
    bool seen;
    int64_t base_seq, max_seq; /* extended */
    uint16_t last_seq16;
    uint64_t expected_prior, received_prior; /* at the last report */
    uint32_t last_sr_mid;                    /* middle 32 bits of the last SR's NTP time */
    int64_t last_sr_us;
    int64_t last_pli_us;
    uint64_t bytes_window;
    uint64_t rate_Bps; /* bytes per second over the last report interval (~1 s) */
    /* missing packets we asked the sender for, until they come or we give up */
    struct pending_nack {
        uint16_t seq;
        uint8_t tries;
        int64_t asked_us;
    } pend[MAX_PENDING_NACK];
    unsigned n_pend;
    /* counters */
    uint64_t packets, bytes, lost, nacks_sent, plis_sent, rtx_received, srtp_failures;
};

/* What one leg sends of one kind, and where it comes from. */
struct stream_out {
    bool active;
    bool paused; /* the receiver takes nothing of this kind for now */
    uint8_t pt;
    uint32_t ssrc, clock;
    int16_t rtx_pt; /* -1: the receiver took no RTX, so NACKs cannot be served */
    uint32_t rtx_ssrc;
    uint16_t rtx_seq;
    struct leg *src;   /* NULL: nothing connected */
    uint32_t src_ssrc; /* the source SSRC the deltas below were computed for */
    uint16_t seq_delta;
    uint32_t ts_delta;
    bool started;
    uint16_t last_seq;
    uint32_t last_ts;
    int64_t last_send_us;
    uint64_t packets, bytes, nacks_received, retransmits, nacks_unserved, plis_received;
    /* What NACKs may make us resend (RTX_RATE a second): a receiver asking for every
     * packet again, again and again, would otherwise turn a 1.5 KB compound into
     * thousands of encrypted sends and stall the worker its case shares. */
    struct vg_bucket rtx_budget;
    bool rtx_budget_set;
    uint64_t rtx_refused;
    int64_t rtt_us; /* -1 until a receiver report tells it */
    uint8_t fraction_lost;
};

struct leg_snapshot {
    char case_key[48], name[32];
    enum vg_leg_state state;
    uint64_t in_packets[2], in_bytes[2], in_lost[2], out_packets[2], out_bytes[2];
    uint64_t nacks_sent, nacks_received, retransmits, nacks_unserved, plis_sent, plis_received;
    uint64_t dropped_unknown, dropped_srtp, dropped_simulated, dropped_foreign, dropped_rate;
    uint64_t dropped_kernel; /* at the leg's receive socket: not from its peer, or queue full */
    int64_t rtt_us;          /* -1: not measured yet */
    uint64_t hist_bytes;     /* the video NACK history's ring; 0: none yet */
    unsigned hist_grows;
};

struct worker;

struct leg {
    uint64_t id;
    struct worker *w;
    char case_key[48], name[32];
    enum vg_leg_state state;
    bool offerer;        /* the engine made the offer */
    unsigned send_kinds; /* VG_MEDIA_* the gateway may send on this leg, ever */
    struct vg_ice *ice;
    bool ice_up;
    struct vg_dtls *dtls;
    bool dtls_released; /* OpenSSL's state freed once the peer's SRTP authenticated */
    struct vg_srtp *srtp;
    GSource *dtls_timer;
    int64_t rtcp_due_us, rtcp_last_us; /* the worker's tick reports when due (1 s) */
    /* SDP */
    uint64_t session_id, sdp_version;
    char remote_ufrag[VG_SDP_ICE_MAX + 1];
    char remote_fp[VG_SDP_FP_SHA256_LEN + 1];
    char local_fp[VG_SDP_FP_SHA256_LEN + 1];
    struct vg_ice_credentials cred;
    struct vg_sdp_local offer_local; /* kept between our offer and the answer */
    char cname[24], stream_id[32];
    struct stream_in in[2];
    struct stream_out out[2];
    /* receivers this leg's media goes to */
    size_t n_recv;
    struct leg *recv[MAX_RECEIVERS];
    unsigned recv_kinds[MAX_RECEIVERS];
    uint64_t srtp_drops, unknown_drops, simulated_drops, rate_drops;
    /* Dropped datagrams are told in the log at most once a minute a leg (a flood
     * would otherwise write a line per datagram): the time and count of the last. */
    int64_t drops_told_us;
    uint64_t drops_told;
    /* What a peer may send us (IN_RATE bytes a second): a peer flooding its leg would
     * otherwise fill the recording ring its worker's other cases share, cutting their
     * recordings, and take the worker's CPU in decryption. */
    struct vg_bucket in_budget;
    bool in_budget_set;
    struct vg_media_tap tap;  /* recording; rtp NULL: none */
    struct leg_snapshot snap; /* under w->lock */
};

struct vg_media;

struct worker {
    struct vg_media *m;
    unsigned index;
    GThread *thread;
    struct vg_ice_loop *loop; /* epoll over the legs' sockets and ctx (media/ice/loop.c) */
    GMainContext *ctx;        /* the loop's: timers, operations from the owner */
    GHashTable *legs;         /* id -> struct leg*; changed on this thread under lock */
    GMutex lock;              /* guards legs' membership and snapshots for readers */
    GSource *rtcp_tick;       /* one for all legs: see worker_rtcp_tick() */
    uint64_t rng;
    /* vg_media_stall_us(): the owner's last ping (owner's thread only) and the last
     * one this worker ran (set here, read there) */
    int64_t ping_sent_us;
    _Atomic int64_t ping_seen_us;
};

/* Events to the owner go through a gate so none runs after vg_media_free(). */
struct gate {
    gint refs;
    gint alive;
    struct vg_media_events ev;
    void *ud;
};

struct vg_media {
    unsigned n_workers;
    struct worker *workers;
    struct gate *gate;
    GMainContext *owner;
    struct vg_dtls_cert *cert;
    char fingerprint[VG_SDP_FP_SHA256_LEN + 1];
    char **local_addrs;
    size_t n_local_addrs;
    char *stun, *turn, *turn_user, *turn_pass;
    unsigned loss_permille;       /* simulated RTP loss, each way (drills and tests only) */
    bool nack;                    /* serve and send NACKs */
    atomic_uint_fast64_t next_id; /* new_id() */
};

/* engine.c */
void engine_emit_sdp(struct leg *l, const char *type, const char *sdp);
void engine_emit_candidate(struct leg *l, const char *line);
void engine_emit_state(struct leg *l, enum vg_leg_state st, const char *detail);
struct leg *engine_leg(struct worker *w, uint64_t id);
int64_t engine_now_us(void);

/* leg.c */
struct leg *leg_new(struct worker *w, uint64_t id, const char *case_key, const char *name,
                    bool controlling);
void leg_free(struct leg *l);
void leg_rtcp_due(struct leg *l, int64_t now_us);
void leg_fail(struct leg *l, const char *reason);
int leg_apply_offer(struct leg *l, const char *text, char *why, size_t n);
int leg_make_offer(struct leg *l, unsigned kinds, bool recv, char *why, size_t n);
int leg_apply_answer(struct leg *l, const char *text, char *why, size_t n);
void leg_add_candidate(struct leg *l, const char *line);
void leg_send_rtcp(struct leg *l, uint8_t *buf, size_t len);

/* A worker-local PRNG for simulated loss (no lock, no syscall). */
bool engine_simulated_drop(struct worker *w);

/* forward.c */
void fwd_rtp_in(struct leg *l, const uint8_t *buf, size_t len);
void fwd_rtcp_in(struct leg *l, const uint8_t *buf, size_t len);
void fwd_connect(struct leg *src, struct leg *dst, unsigned kinds);
void fwd_disconnect(struct leg *src, struct leg *dst);
void fwd_pause(struct leg *dst, unsigned kinds, bool paused);
void fwd_detach(struct leg *l); /* from every source and receiver, before freeing */
void fwd_request_keyframe(struct leg *src, bool force);
void fwd_rtcp_tick(struct leg *l, int64_t now_us);

#endif
