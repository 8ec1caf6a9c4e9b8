/* vigil-load: N concurrent alarms against a gateway, through its real signalling and
 * the real DTLS-SRTP stack, with the figures issue 8 asks for.
 *
 * A call is two clients: the citizen (Janus: the publisher) raises the alarm and
 * sends the clip (clip.h), the call-taker (Janus: a subscriber) takes it and
 * receives. What is generic lives in main.c: the clip senders, the receivers'
 * counters, the gateway's /proc figures and the report. Each target (vigil.c,
 * janus.c) is only signalling: it starts its gateway, brings each call's two
 * vg_rtc endpoints to life through its own protocol, and reports what it
 * negotiated. Everything runs on one GLib main loop. */
#ifndef VG_LOAD_H
#define VG_LOAD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "clip.h"
#include "rtc.h"
#include "ws.h"

enum { K_AUDIO = 0, K_VIDEO = 1 };

struct sender {
    uint32_t ssrc;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts0;
    int64_t start_us, next_us;
    size_t frame;
    uint32_t pktno;
    bool running, want_key;
    uint64_t sent, send_errors;
};

struct receiver {
    uint64_t packets;   /* every packet with a tail */
    uint64_t in_window; /* packets whose pktno lies in the sender's window */
    uint32_t win_lo, win_hi;
    bool windowed;
    /* First whole keyframe (video): its timestamp, first sequence number, count. */
    bool key_started;
    uint32_t key_ts;
    uint16_t key_seq0;
    unsigned key_count;
};

struct call {
    struct vg_load *L;
    unsigned idx;
    char name[32];
    /* Citizen / publisher. */
    struct vg_ws *cit_ws;
    struct vg_rtc *cit;
    char cit_profile[40];
    /* Call-taker / subscriber. */
    struct vg_ws *tk_ws;
    struct vg_rtc *tk;
    char tk_profile[40];
    struct sender snd[2];
    struct receiver rcv[2];
    int64_t t_start_us, t_first_frame_us;
    /* Where setup time goes: citizen keyed, call-taker's offer in, call-taker keyed. */
    int64_t t_cit_up_us, t_tk_offer_us, t_tk_up_us;
    bool failed, ready;
    char why[160];
    /* Target state (case id, Janus handles...). */
    void *t;
};

struct vg_load_opts {
    const char *target; /* "vigil" or "janus" */
    const char *gateway_bin, *ctl_bin, *wrap, *janus_shim;
    unsigned calls;
    double rate;   /* new calls per second */
    double secs;   /* measurement window */
    double settle; /* seconds between setup and window */
    double setup_timeout;
    int bitrate;
    unsigned srtp_profiles;
    bool record;
    bool keep;
    const char *json_path;
    int min_frames_ok; /* exit code 1 unless this share (percent) of calls got a frame */
};

struct vg_load_target {
    const char *name;
    /* Starts the gateway; sets L->gw_pid. 0 or an error with L->err. */
    int (*start)(struct vg_load *L);
    /* Before any call: what a call needs ready in advance (Vigil: the call-taker
     * logged in, as staff are before alarms come); NULL if nothing. Sets c->ready. */
    void (*prepare_call)(struct call *c);
    /* Begins one call's signalling; main.c is told back through the rtc callbacks. */
    void (*start_call)(struct call *c);
    /* A local candidate of one of the call's endpoints ("" at the end), to signal. */
    void (*candidate)(struct call *c, bool citizen, const char *line);
    /* Ends one call's signalling and frees target state. */
    void (*end_call)(struct call *c);
    void (*stop)(struct vg_load *L);
};

struct vg_load {
    struct vg_load_opts o;
    const struct vg_load_target *target;
    struct vg_ice_loop *iloop; /* polls every leg's socket, as vigild's workers do */
    GMainContext *ctx;         /* iloop's */
    GMainLoop *loop;           /* on ctx, for libwebsockets' GLib event library */
    struct vg_dtls_cert *cert;
    struct vg_clip clip[2];
    char tmpdir[256];
    pid_t gw_pid;
    int port;
    struct call *calls;
    unsigned started, up;
    char err[512];
    void *t; /* target state */
};

extern const struct vg_load_target vg_load_vigil, vg_load_janus, vg_load_direct;

/* main.c: for the targets. */
void load_call_failed(struct call *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Creates one of a call's endpoints with the shared callbacks. */
int load_rtc_new(struct call *c, bool citizen, struct vg_rtc **out);
/* The local candidate callback forwards through this per-target hook. */
void load_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Runs a program to completion, returns its stdout (g_free) or NULL with L->err. */
char *load_run(struct vg_load *L, char **argv);
int load_free_port(void);
bool load_port_open(int port);
/* vigil.c: runs argv (after --wrap's command, if any) with its output in the temp
 * dir's log_name; returns the pid or -1 with L->err. */
pid_t load_spawn_gateway(struct vg_load *L, char **argv, const char *log_name);
/* vigil.c: SIGTERM, then SIGKILL after 5 s; reaps it. */
void load_stop_gateway(struct vg_load *L);

#endif
