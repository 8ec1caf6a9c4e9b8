/* vigil-load: the driver. See load.h for the shape, docs/benchmarks.md for use. */
#include "load.h"

#include "ice.h"
#include "log.h"
#include "rtcp.h"
#include "rtp.h"
#include "srtp.h"
#include "vg_err.h"
#include "vtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TICK_MS 1       /* finer ticks spread the senders: fewer packets arrive at once */
#define LAT_BINS 100000 /* 1 us each: up to 100 ms */
#define CATCH_UP_US 100000

static struct vg_load G;
static uint32_t lat_hist[LAT_BINS + 1];
static uint64_t lat_n;
static uint64_t frames_skipped;
static int64_t tick_lag_max_us;

/* Helpers for the targets ---------------------------------------------------------- */

void load_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vigil-load: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void load_call_failed(struct call *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    load_log("%s failed: %s", c->name, c->why);
}

char *load_run(struct vg_load *L, char **argv)
{
    gchar *out = NULL, *err = NULL;
    gint status = 0;
    GError *ge = NULL;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                      &ge) ||
        !g_spawn_check_wait_status(status, NULL)) {
        snprintf(L->err, sizeof L->err, "%s: %s", argv[0], ge ? ge->message : err ? err : "?");
        g_clear_error(&ge);
        g_free(out);
        g_free(err);
        return NULL;
    }
    g_free(err);
    return out;
}

int load_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &l))
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

bool load_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* /proc figures of the gateway ------------------------------------------------------ */

/* utime and stime (ticks) from a /proc stat file, and the command's name (its
 * bytes between the parentheses: *name, *name_len; name may be NULL). */
static bool stat_read(const char *path, unsigned long *ut, unsigned long *st, char *name,
                      size_t *name_len)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    /* After the command: state, then fields 4..; utime and stime are 14 and 15. */
    if (!open || !close || close < open ||
        sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ut, st) != 2)
        return false;
    if (name) {
        size_t len = (size_t)(close - open - 1);
        *name_len = len < *name_len ? len : *name_len;
        memcpy(name, open + 1, *name_len);
    }
    return true;
}

/* utime + stime of pid in seconds; *sys_s (may be NULL) gets stime alone. */
static double proc_cpu_split(pid_t pid, double *sys_s)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    unsigned long ut = 0, st = 0;
    if (!stat_read(path, &ut, &st, NULL, NULL))
        return NAN;
    if (sys_s)
        *sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU of the gateway's threads by kind over the window: where its time goes (media
 * workers, the evidence writer, Janus's per-handle loops). A thread's name loses its
 * trailing digits and spaces ("hloop 123" -> "hloop") so threads of one kind add up.
 * A thread that ended within the window is not seen: the process figure stays the
 * one that counts, this only splits it. */
#define MAX_THREADS 2048
#define MAX_KINDS 12
struct thread_ticks {
    int tid;
    char kind[17];
    unsigned long ticks;
};
struct kind_cpu {
    char kind[17];
    double cpu_s;
};

static bool thread_read(pid_t pid, const char *tid, struct thread_ticks *t)
{
    char path[96], name[64];
    size_t whole = sizeof name;
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, tid);
    if (!stat_read(path, &ut, &st, name, &whole))
        return false;
    size_t len = whole;
    while (len && (g_ascii_isdigit(name[len - 1]) || name[len - 1] == ' '))
        len--;
    len = len ? len : whole; /* a name of digits alone stays as it is */
    len = len < sizeof t->kind - 1 ? len : sizeof t->kind - 1;
    memcpy(t->kind, name, len);
    t->kind[len] = 0;
    t->tid = atoi(tid);
    t->ticks = ut + st;
    return true;
}

static unsigned threads_read(pid_t pid, struct thread_ticks *out, unsigned cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    GDir *d = pid > 0 ? g_dir_open(path, 0, NULL) : NULL;
    unsigned n = 0;
    const char *name;
    while (d && n < cap && (name = g_dir_read_name(d)))
        n += thread_read(pid, name, &out[n]);
    if (d)
        g_dir_close(d);
    return n;
}

/* Seconds of CPU per kind between two readings, the busiest kind first. */
static unsigned threads_diff(const struct thread_ticks *a, unsigned na,
                             const struct thread_ticks *b, unsigned nb, struct kind_cpu *out)
{
    unsigned nk = 0;
    for (unsigned i = 0; i < nb; i++) {
        unsigned long before = 0;
        for (unsigned j = 0; j < na; j++)
            if (a[j].tid == b[i].tid) {
                /* fewer ticks now: the tid was reused by a thread born since */
                before = a[j].ticks <= b[i].ticks ? a[j].ticks : 0;
                break;
            }
        unsigned k = 0;
        while (k < nk && strcmp(out[k].kind, b[i].kind))
            k++;
        if (k == nk && nk == MAX_KINDS) { /* the last slot takes the rest */
            k = nk - 1;
            snprintf(out[k].kind, sizeof out[k].kind, "%s", "other");
        } else if (k == nk) {
            out[nk++] = (struct kind_cpu){{0}, 0};
            snprintf(out[k].kind, sizeof out[k].kind, "%s", b[i].kind);
        }
        out[k].cpu_s += (double)(b[i].ticks - before) / (double)sysconf(_SC_CLK_TCK);
    }
    for (unsigned i = 1; i < nk; i++) /* a handful: insertion sort */
        for (unsigned j = i; j > 0 && out[j].cpu_s > out[j - 1].cpu_s; j--) {
            struct kind_cpu t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return nk;
}

static long proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* The gateway's own children count too (Janus has none; a wrapper like valgrind is
 * the gateway itself). */
static double loadavg1(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1)
        l = NAN;
    if (f)
        fclose(f);
    return l;
}

/* CPU of every other process on the machine (kernel threads included) over the
 * window, from each one's /proc/PID/stat: above all the kernel's own threads, which
 * write back the page cache a recording fills unless the gateway syncs it itself
 * (Vigil does, each second; Janus leaves it to the kernel), so a recording's cost
 * compares fairly only with it counted. The kernel writes back a page 30 s after
 * it was dirtied, so within a 20 s window Janus's recording would cost its disk
 * nothing: the window starts after a sync() and ends with one, and the rest of the
 * machine counts until that one returns. Not /proc/stat: its per-tick sampling read
 * ~8% under the precise per-process times here, more than the figure sought. A
 * process born in the window counts whole, one that ended in it is missed. */
static GHashTable *rest_ticks(pid_t skip1, pid_t skip2)
{
    GHashTable *h = g_hash_table_new(g_direct_hash, g_direct_equal);
    GDir *d = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        int pid = atoi(name);
        char path[64];
        unsigned long ut = 0, st = 0;
        if (pid <= 0 || pid == skip1 || pid == skip2)
            continue;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        if (stat_read(path, &ut, &st, NULL, NULL))
            g_hash_table_insert(h, GINT_TO_POINTER(pid), GSIZE_TO_POINTER((gsize)(ut + st)));
    }
    if (d)
        g_dir_close(d);
    return h;
}

static double rest_cpu_s(GHashTable *before, GHashTable *after)
{
    GHashTableIter it;
    gpointer k, v;
    unsigned long sum = 0;
    g_hash_table_iter_init(&it, after);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        gpointer b = g_hash_table_lookup(before, k);
        gsize t1 = GPOINTER_TO_SIZE(v), t0 = b ? GPOINTER_TO_SIZE(b) : 0;
        sum += t0 <= t1 ? t1 - t0 : t1; /* fewer ticks now: a reused pid */
    }
    return (double)sum / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Sending the clip ------------------------------------------------------------------ */

static void send_frame(struct call *c, int k)
{
    struct sender *s = &c->snd[k];
    const struct vg_clip *clip = &G.clip[k];
    if (s->want_key) {
        s->frame = 0; /* the clip's first frame is a keyframe */
        s->want_key = false;
    }
    const struct vg_clip_frame *f = &clip->frames[s->frame];
    uint32_t ts = s->ts0 + (uint32_t)((s->next_us - s->start_us) * clip->clock / 1000000);
    for (size_t i = 0; i < f->n; i++) {
        const struct vg_clip_pkt *p = &clip->pkts[f->first + i];
        uint8_t buf[1600];
        buf[0] = 0x80;
        buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | s->pt);
        buf[2] = (uint8_t)(s->seq >> 8);
        buf[3] = (uint8_t)s->seq;
        for (int b = 0; b < 4; b++) {
            buf[4 + b] = (uint8_t)(ts >> (24 - 8 * b));
            buf[8 + b] = (uint8_t)(s->ssrc >> (24 - 8 * b));
        }
        memcpy(buf + 12, p->payload, p->len);
        vg_clip_put_tail(buf + 12 + p->len, s->pktno, vg_now_us());
        s->seq++;
        s->pktno++;
        if (vg_rtc_send_rtp(c->cit, buf, 12 + p->len + VG_CLIP_TAIL_LEN, sizeof buf) < 0)
            s->send_errors++;
        else
            s->sent++;
    }
    s->frame = (s->frame + 1) % clip->n_frames;
    s->next_us += clip->frame_us;
}

static void send_due(struct call *c, int64_t now)
{
    for (int k = 0; k < 2; k++) {
        struct sender *s = &c->snd[k];
        if (!s->running)
            continue;
        if (now - s->next_us > CATCH_UP_US) { /* we are the bottleneck: do not burst */
            int64_t skip = (now - s->next_us) / G.clip[k].frame_us;
            s->next_us += skip * G.clip[k].frame_us;
            frames_skipped += (uint64_t)skip;
        }
        while (s->running && now >= s->next_us)
            send_frame(c, k);
    }
}

/* A console sends receiver reports (every ~1 s in browsers); so does ours, empty:
 * the gateway sees the leg's SRTCP, as it would from a real console. */
static void send_reports(int64_t now)
{
    static int64_t last;
    if (now - last < 1000000)
        return;
    last = now;
    for (unsigned i = 0; i < G.started; i++) {
        struct call *c = &G.calls[i];
        if (c->failed || !c->tk || !vg_rtc_connected(c->tk))
            continue;
        struct vg_rtcp_rr rr = {.ssrc = 0x10000u + c->idx};
        uint8_t buf[128];
        int n = vg_rtcp_build_rr(buf, 64, &rr);
        if (n > 0)
            vg_rtc_send_rtcp(c->tk, buf, (size_t)n, sizeof buf);
    }
}

static gboolean tick_cb(gpointer data)
{
    (void)data;
    static int64_t last;
    int64_t now = vg_now_us();
    if (last && now - last - TICK_MS * 1000 > tick_lag_max_us)
        tick_lag_max_us = now - last - TICK_MS * 1000;
    last = now;
    /* Each call's burst leaves before the next is encrypted, as from a phone: the
     * send time in each packet stays the time it was sent. */
    for (unsigned i = 0; i < G.started; i++)
        if (!G.calls[i].failed) {
            send_due(&G.calls[i], now);
            vg_ice_loop_flush(G.iloop);
        }
    send_reports(now);
    return G_SOURCE_CONTINUE;
}

static void start_senders(struct call *c)
{
    for (int k = 0; k < 2; k++) {
        const struct vg_sdp_nego_media *m =
            vg_rtc_section(c->cit, k == K_VIDEO ? VG_SDP_KIND_VIDEO : VG_SDP_KIND_AUDIO);
        struct sender *s = &c->snd[k];
        if (!m)
            continue;
        s->pt = m->pt;
        if (!s->ssrc)
            s->ssrc = m->local_ssrc;
        s->start_us = s->next_us = vg_now_us();
        RAND_bytes((unsigned char *)&s->ts0, sizeof s->ts0);
        s->running = true;
    }
}

/* Receiving ------------------------------------------------------------------------- */

static void first_frame_check(struct call *c, const struct vg_rtp_view *v)
{
    struct receiver *r = &c->rcv[K_VIDEO];
    const uint8_t *pl = vg_rtp_payload(v);
    if (c->t_first_frame_us)
        return;
    if (vg_clip_vp8_is_key(pl, v->payload_len)) {
        r->key_started = true;
        r->key_ts = v->ts;
        r->key_seq0 = v->seq;
        r->key_count = 0;
    }
    if (!r->key_started || v->ts != r->key_ts)
        return;
    r->key_count++;
    /* Whole when the marker packet arrives and nothing between was missing. */
    if (v->marker && (uint16_t)(v->seq - r->key_seq0) + 1u == r->key_count) {
        c->t_first_frame_us = vg_now_us();
        G.up++;
    }
}

static void taker_rtp(const uint8_t *pkt, size_t len, void *ud)
{
    struct call *c = ud;
    struct vg_rtp_view v;
    if (vg_rtp_parse(pkt, len, &v))
        return;
    const struct vg_sdp_nego_media *vm = vg_rtc_section(c->tk, VG_SDP_KIND_VIDEO);
    int k = vm && v.pt == vm->pt ? K_VIDEO : K_AUDIO;
    uint32_t no;
    int64_t sent;
    if (!vg_clip_get_tail(vg_rtp_payload(&v), v.payload_len, &no, &sent))
        return;
    struct receiver *r = &c->rcv[k];
    r->packets++;
    if (k == K_VIDEO)
        first_frame_check(c, &v);
    if (r->windowed && no >= r->win_lo && (r->win_hi == 0 || no < r->win_hi)) {
        r->in_window++;
        int64_t d = vg_now_us() - sent;
        lat_hist[d < 0 ? 0 : d >= LAT_BINS ? LAT_BINS : d]++;
        lat_n++;
    }
}

static void citizen_rtcp(const uint8_t *pkt, size_t len, void *ud)
{
    struct call *c = ud;
    struct vg_rtcp_iter it;
    struct vg_rtcp_pkt p;
    vg_rtcp_iter_init(&it, pkt, len);
    while (vg_rtcp_next(&it, &p) == 1)
        if (p.pt == 206 && (p.count == VG_RTCP_FMT_PLI || p.count == VG_RTCP_FMT_FIR))
            c->snd[K_VIDEO].want_key = true;
}

static void on_candidate_cit(const char *line, void *ud)
{
    struct call *c = ud;
    G.target->candidate(c, true, line);
}

static void on_candidate_tk(const char *line, void *ud)
{
    struct call *c = ud;
    G.target->candidate(c, false, line);
}

static void on_connected_cit(const char *profile, void *ud)
{
    struct call *c = ud;
    snprintf(c->cit_profile, sizeof c->cit_profile, "%s", profile);
    c->t_cit_up_us = vg_now_us();
    start_senders(c);
}

static void on_connected_tk(const char *profile, void *ud)
{
    struct call *c = ud;
    snprintf(c->tk_profile, sizeof c->tk_profile, "%s", profile);
    c->t_tk_up_us = vg_now_us();
}

static void on_failed(const char *why, void *ud)
{
    load_call_failed(ud, "media: %s", why);
}

int load_rtc_new(struct call *c, bool citizen, struct vg_rtc **out)
{
    if (!citizen)
        c->t_tk_offer_us = vg_now_us(); /* the call-taker's endpoint is made on the offer */
    struct vg_rtc_config cfg = {G.ctx, G.iloop, G.cert, citizen, G.o.srtp_profiles, "127.0.0.1"};
    struct vg_rtc_callbacks cb = {citizen ? on_candidate_cit : on_candidate_tk,
                                  citizen ? on_connected_cit : on_connected_tk, on_failed,
                                  citizen ? NULL : taker_rtp, citizen ? citizen_rtcp : NULL};
    return vg_rtc_new(&cfg, &cb, c, out);
}

/* The run ---------------------------------------------------------------------------- */

struct figures {
    unsigned calls, up, failed;
    double wall_s, gw_cpu_s, gw_sys_s, self_cpu_s, rest_cpu_s;
    long rss0_kib, rss_kib;
    uint64_t sent, delivered;
    double setup_ms[3]; /* p50, p95, p99 */
    double phase_ms[3]; /* medians from alarm start: citizen keyed, offer in, taker keyed */
    double lat_us[3];   /* p50, p99, max */
    double load_before, load_after;
    char profile[40], tk_profile[40];
    struct kind_cpu kinds[MAX_KINDS];
    unsigned n_kinds;
};

static struct figures F;
static double window_t0, window_cpu0, window_sys0, window_self0;
static GHashTable *window_rest0;
static GThread *sync_th;
static struct thread_ticks threads0[MAX_THREADS], threads1[MAX_THREADS];
static unsigned n_threads0;
static GSource *ramp_src;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct_sorted(const double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i ? i - 1 : 0];
}

static double lat_pct(double p)
{
    if (!lat_n)
        return NAN;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)lat_n), acc = 0;
    for (size_t i = 0; i <= LAT_BINS; i++)
        if ((acc += lat_hist[i]) >= want)
            return (double)i;
    return LAT_BINS;
}

static void quit_after(double secs, GSourceFunc fn)
{
    GSource *s = g_timeout_source_new((guint)(secs * 1000));
    g_source_set_callback(s, fn, NULL, NULL);
    g_source_attach(s, G.ctx);
    g_source_unref(s);
}

static gboolean window_done(gpointer data)
{
    (void)data;
    double *sync_s = g_thread_join(sync_th);
    sync_th = NULL;
    GHashTable *rest1 = rest_ticks(G.gw_pid, getpid());
    F.rest_cpu_s = rest_cpu_s(window_rest0, rest1) + *sync_s; /* the sync's own CPU too */
    g_free(sync_s);
    g_hash_table_destroy(rest1);
    g_hash_table_destroy(window_rest0);
    window_rest0 = NULL;
    vg_ice_loop_quit(G.iloop);
    return G_SOURCE_REMOVE;
}

/* sync(2) on a thread; returns its CPU seconds. With a window_start to call (the
 * sync before the window), it has the loop call it once the sync returned. */
static gpointer sync_thread(gpointer then)
{
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    sync();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    double *s = g_new(double, 1);
    *s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (then) {
        GSource *src = g_idle_source_new();
        g_source_set_callback(src, (GSourceFunc)then, NULL, NULL);
        g_source_attach(src, G.ctx);
        g_source_unref(src);
    }
    return s;
}

static gboolean window_end(gpointer data)
{
    (void)data;
    F.wall_s = (double)vg_now_us() / 1e6 - window_t0;
    F.gw_cpu_s = proc_cpu_split(G.gw_pid, &F.gw_sys_s) - window_cpu0;
    F.gw_sys_s = G.gw_pid > 0 ? F.gw_sys_s - window_sys0 : NAN;
    F.self_cpu_s = self_cpu_s() - window_self0;
    unsigned n1 = threads_read(G.gw_pid, threads1, MAX_THREADS);
    F.n_kinds = threads_diff(threads0, n_threads0, threads1, n1, F.kinds);
    F.rss_kib = proc_rss_kib(G.gw_pid);
    F.load_after = loadavg1();
    for (unsigned i = 0; i < G.started; i++)
        for (int k = 0; k < 2; k++) {
            G.calls[i].rcv[k].win_hi = G.calls[i].snd[k].pktno;
            if (G.calls[i].rcv[k].windowed)
                F.sent += G.calls[i].rcv[k].win_hi - G.calls[i].rcv[k].win_lo;
        }
    /* What the window wrote, written back now (rest_ticks() says why), on a thread
     * of its own so that the generator's loop keeps sending and receiving. */
    sync_th = g_thread_new("vigil-load-sync", sync_thread, NULL);
    quit_after(0.5, window_done); /* let the last packets of the window arrive */
    return G_SOURCE_REMOVE;
}

static gboolean window_start(gpointer data);

static gboolean presync(gpointer data)
{
    (void)data;
    sync_th = g_thread_new("vigil-load-sync", sync_thread, (gpointer)window_start);
    return G_SOURCE_REMOVE;
}

static gboolean window_start(gpointer data)
{
    (void)data;
    for (unsigned i = 0; i < G.started; i++)
        for (int k = 0; k < 2; k++) {
            struct call *c = &G.calls[i];
            /* Only calls whose call-taker receives: a failed call is counted apart. */
            if (c->failed || !c->t_first_frame_us || !c->snd[k].running)
                continue;
            c->rcv[k].win_lo = c->snd[k].pktno;
            c->rcv[k].windowed = true;
        }
    window_t0 = (double)vg_now_us() / 1e6;
    window_cpu0 = proc_cpu_split(G.gw_pid, &window_sys0);
    n_threads0 = threads_read(G.gw_pid, threads0, MAX_THREADS);
    window_self0 = self_cpu_s();
    g_free(g_thread_join(sync_th)); /* ramp and settle's writes are not the window's */
    sync_th = NULL;
    window_rest0 = rest_ticks(G.gw_pid, getpid());
    load_log("window of %.0f s with %u of %u calls up", G.o.secs, G.up, G.o.calls);
    quit_after(G.o.secs, window_end);
    return G_SOURCE_REMOVE;
}

static bool setup_finished(void)
{
    if (G.started < G.o.calls)
        return false;
    for (unsigned i = 0; i < G.started; i++) {
        struct call *c = &G.calls[i];
        if (!c->failed && !c->t_first_frame_us &&
            vg_now_us() - c->t_start_us < (int64_t)(G.o.setup_timeout * 1e6))
            return false;
    }
    return true;
}

static gboolean ramp_cb(gpointer data)
{
    (void)data;
    /* Start as many calls as the rate allows by now. */
    static int64_t t0;
    int64_t now = vg_now_us();
    if (!t0)
        t0 = now;
    unsigned due = (unsigned)((double)(now - t0) / 1e6 * G.o.rate) + 1;
    while (G.started < G.o.calls && G.started < due) {
        struct call *c = &G.calls[G.started++];
        c->t_start_us = vg_now_us();
        G.target->start_call(c);
    }
    if (!setup_finished())
        return G_SOURCE_CONTINUE;
    for (unsigned i = 0; i < G.started; i++)
        if (!G.calls[i].failed && !G.calls[i].t_first_frame_us)
            load_call_failed(&G.calls[i], "no video frame within %.0f s", G.o.setup_timeout);
    load_log("%u of %u calls receiving video", G.up, G.o.calls);
    quit_after(G.o.settle, presync);
    ramp_src = NULL;
    return G_SOURCE_REMOVE;
}

static void collect(void)
{
    double *setup = g_new0(double, G.o.calls + 1);
    size_t n = 0;
    F.calls = G.o.calls;
    for (unsigned i = 0; i < G.started; i++) {
        struct call *c = &G.calls[i];
        if (c->t_first_frame_us)
            setup[n++] = (double)(c->t_first_frame_us - c->t_start_us) / 1000.0;
        if (c->failed)
            F.failed++;
        for (int k = 0; k < 2; k++)
            F.delivered += c->rcv[k].in_window;
        if (!F.profile[0] && c->cit_profile[0])
            snprintf(F.profile, sizeof F.profile, "%s", c->cit_profile);
        if (!F.tk_profile[0] && c->tk_profile[0])
            snprintf(F.tk_profile, sizeof F.tk_profile, "%s", c->tk_profile);
    }
    F.up = (unsigned)n;
    for (int ph = 0; ph < 3; ph++) {
        size_t m = 0;
        for (unsigned i = 0; i < G.started; i++) {
            struct call *c = &G.calls[i];
            int64_t t = ph == 0 ? c->t_cit_up_us : ph == 1 ? c->t_tk_offer_us : c->t_tk_up_us;
            if (c->t_first_frame_us && t)
                setup[m++] = (double)(t - c->t_start_us) / 1000.0;
        }
        qsort(setup, m, sizeof *setup, cmp_double);
        F.phase_ms[ph] = pct_sorted(setup, m, 50);
    }
    n = 0;
    for (unsigned i = 0; i < G.started; i++)
        if (G.calls[i].t_first_frame_us)
            setup[n++] = (double)(G.calls[i].t_first_frame_us - G.calls[i].t_start_us) / 1000.0;
    qsort(setup, n, sizeof *setup, cmp_double);
    F.setup_ms[0] = pct_sorted(setup, n, 50);
    F.setup_ms[1] = pct_sorted(setup, n, 95);
    F.setup_ms[2] = pct_sorted(setup, n, 99);
    F.lat_us[0] = lat_pct(50);
    F.lat_us[1] = lat_pct(99);
    F.lat_us[2] = lat_pct(100);
    g_free(setup);
}

/* A number for JSON: null where there is none (no calls up, no packets). */
static json_t *jnum(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void report(FILE *f, bool json)
{
    double pps = F.wall_s > 0 ? (double)F.delivered / F.wall_s : 0;
    double loss = F.sent
                      ? 100.0 * (double)(F.sent - (F.delivered < F.sent ? F.delivered : F.sent)) /
                            (double)F.sent
                      : NAN;
    double us_pkt = F.delivered ? F.gw_cpu_s * 1e6 / (double)F.delivered : NAN;
    double kib_call = F.up && F.rss_kib >= 0 ? (double)(F.rss_kib - F.rss0_kib) / F.up : NAN;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "target", json_string(G.target->name));
        json_object_set_new(o, "record", json_boolean(G.o.record));
        json_object_set_new(o, "calls", json_integer(F.calls));
        json_object_set_new(o, "calls_up", json_integer(F.up));
        json_object_set_new(o, "calls_failed", json_integer(F.failed));
        json_object_set_new(o, "srtp", json_string(F.profile[0] ? F.profile : "none"));
        json_object_set_new(o, "srtp_taker", json_string(F.tk_profile[0] ? F.tk_profile : "none"));
        /* the generator's GCM (vigild's is the same code; Janus uses libsrtp2's own) */
        json_object_set_new(o, "srtp_gcm_load", json_string(vg_srtp_gcm_impl()));
        json_object_set_new(o, "window_s", jnum(F.wall_s));
        json_object_set_new(o, "packets_sent", json_integer((json_int_t)F.sent));
        json_object_set_new(o, "packets_delivered", json_integer((json_int_t)F.delivered));
        json_object_set_new(o, "loss_pct", jnum(loss));
        json_object_set_new(o, "delivered_pps", jnum(pps));
        json_object_set_new(o, "gateway_cpu_s", jnum(F.gw_cpu_s));
        json_object_set_new(o, "gateway_sys_s", jnum(F.gw_sys_s));
        json_object_set_new(o, "gateway_us_per_pkt", jnum(us_pkt));
        json_t *kinds = json_object();
        for (unsigned i = 0; i < F.n_kinds; i++)
            json_object_set_new(
                kinds, F.kinds[i].kind,
                jnum(F.delivered ? F.kinds[i].cpu_s * 1e6 / (double)F.delivered : NAN));
        json_object_set_new(o, "gateway_threads_us_per_pkt", kinds);
        json_object_set_new(o, "pkts_per_cpu_s",
                            jnum(F.gw_cpu_s > 0 ? (double)F.delivered / F.gw_cpu_s : NAN));
        json_object_set_new(o, "rss0_kib", json_integer(F.rss0_kib));
        json_object_set_new(o, "rss_kib", json_integer(F.rss_kib));
        json_object_set_new(o, "rss_per_call_kib", jnum(kib_call));
        json_object_set_new(o, "setup_ms_p50", jnum(F.setup_ms[0]));
        json_object_set_new(o, "setup_ms_p95", jnum(F.setup_ms[1]));
        json_object_set_new(o, "setup_ms_p99", jnum(F.setup_ms[2]));
        json_object_set_new(o, "setup_citizen_keyed_ms_p50", jnum(F.phase_ms[0]));
        json_object_set_new(o, "setup_taker_offer_ms_p50", jnum(F.phase_ms[1]));
        json_object_set_new(o, "setup_taker_keyed_ms_p50", jnum(F.phase_ms[2]));
        json_object_set_new(o, "latency_us_p50", jnum(F.lat_us[0]));
        json_object_set_new(o, "latency_us_p99", jnum(F.lat_us[1]));
        json_object_set_new(o, "latency_us_max", jnum(F.lat_us[2]));
        json_object_set_new(o, "load_cpu_s", jnum(F.self_cpu_s));
        json_object_set_new(o, "rest_cpu_s", jnum(F.rest_cpu_s));
        json_object_set_new(o, "load_frames_skipped", json_integer((json_int_t)frames_skipped));
        json_object_set_new(o, "load_tick_lag_max_ms", jnum(tick_lag_max_us / 1000.0));
        json_object_set_new(o, "loadavg_before", jnum(F.load_before));
        json_object_set_new(o, "loadavg_after", jnum(F.load_after));
        char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        fprintf(f, "%s\n", t ? t : "{}");
        free(t);
        json_decref(o);
        return;
    }
    fprintf(f,
            "target %s%s, SRTP %s (citizen) / %s (call-taker), %u calls (%u receiving video, "
            "%u failed), window %.1f s\n",
            G.target->name, G.o.record ? " (recording)" : "", F.profile[0] ? F.profile : "none",
            F.tk_profile[0] ? F.tk_profile : "none", F.calls, F.up, F.failed, F.wall_s);
    fprintf(f, "  %-34s %12.0f\n", "packets delivered /s", pps);
    fprintf(f, "  %-34s %12.4f %%  (%llu of %llu)\n", "loss", loss,
            (unsigned long long)(F.sent - (F.delivered < F.sent ? F.delivered : F.sent)),
            (unsigned long long)F.sent);
    fprintf(f, "  %-34s %12.2f s  (%.1f%% of a core; kernel %.2f s)\n", "gateway CPU", F.gw_cpu_s,
            100 * F.gw_cpu_s / F.wall_s, F.gw_sys_s);
    fprintf(f, "  %-34s %12.1f\n", "gateway CPU us per packet", us_pkt);
    if (F.n_kinds && F.delivered) {
        fprintf(f, "  %-34s", "  by thread, us per packet");
        for (unsigned i = 0; i < F.n_kinds && i < 6 && F.kinds[i].cpu_s > 0; i++)
            fprintf(f, "%s %s %.2f", i ? "," : "", F.kinds[i].kind,
                    F.kinds[i].cpu_s * 1e6 / (double)F.delivered);
        fprintf(f, "\n");
    }
    fprintf(f, "  %-34s %12.0f\n", "packets per gateway CPU-second",
            F.gw_cpu_s > 0 ? (double)F.delivered / F.gw_cpu_s : 0);
    fprintf(f, "  %-34s %12ld KiB (idle %ld)\n", "gateway RSS", F.rss_kib, F.rss0_kib);
    fprintf(f, "  %-34s %12.0f KiB\n", "RSS per call", kib_call);
    fprintf(f, "  %-34s %7.1f / %.1f / %.1f ms\n", "setup p50/p95/p99", F.setup_ms[0],
            F.setup_ms[1], F.setup_ms[2]);
    fprintf(f, "  %-34s %7.1f / %.1f / %.1f ms\n", "  citizen keyed / offer / taker keyed",
            F.phase_ms[0], F.phase_ms[1], F.phase_ms[2]);
    fprintf(f, "  %-34s %7.0f / %.0f / %.0f us\n", "one-way, send to receipt p50/p99/max",
            F.lat_us[0], F.lat_us[1], F.lat_us[2]);
    fprintf(f, "  %-34s %12.2f s  (frames skipped %llu, tick lag max %.1f ms)\n",
            "load generator CPU", F.self_cpu_s, (unsigned long long)frames_skipped,
            tick_lag_max_us / 1000.0);
    fprintf(f, "  %-34s %12.2f s  (kernel threads and other processes)\n",
            "rest of the machine CPU", F.rest_cpu_s);
    fprintf(f, "  %-34s %5.2f -> %.2f\n", "load average (1 min)", F.load_before, F.load_after);
}

/* Setup and teardown ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv)
{
    static gchar *target = "vigil", *gw = NULL, *ctl = NULL, *wrap = NULL, *json = NULL,
                 *srtp = "gcm,cm", *shim = NULL;
    static gint calls = 10, bitrate = 1600000, min_pct = 0;
    static gdouble rate = 20, secs = 20, settle = 2, timeout = 15;
    static gboolean record = FALSE, keep = FALSE;
    GOptionEntry e[] = {
        {"target", 't', 0, G_OPTION_ARG_STRING, &target,
         "vigil, janus, or direct (no gateway: the generator's own floor)", "NAME"},
        {"gateway", 'g', 0, G_OPTION_ARG_FILENAME, &gw, "vigild or janus binary", "PATH"},
        {"ctl", 0, 0, G_OPTION_ARG_FILENAME, &ctl, "vigilctl (vigil)", "PATH"},
        {"janus-shim", 0, 0, G_OPTION_ARG_FILENAME, &shim,
         "LD_PRELOAD for Janus (libvigil-janus-lo.so next to this program)", "PATH"},
        {"wrap", 0, 0, G_OPTION_ARG_STRING, &wrap, "run the gateway under this command", "CMD"},
        {"calls", 'n', 0, G_OPTION_ARG_INT, &calls, "concurrent calls (10)", "N"},
        {"rate", 0, 0, G_OPTION_ARG_DOUBLE, &rate, "new calls per second (20)", "R"},
        {"secs", 's', 0, G_OPTION_ARG_DOUBLE, &secs, "measurement window (20)", "S"},
        {"settle", 0, 0, G_OPTION_ARG_DOUBLE, &settle, "seconds between setup and window", "S"},
        {"setup-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "per call (15)", "S"},
        {"bitrate", 0, 0, G_OPTION_ARG_INT, &bitrate, "VP8 bit/s (1600000)", "B"},
        {"srtp", 0, 0, G_OPTION_ARG_STRING, &srtp, "profiles offered: gcm,cm | gcm | cm", "L"},
        {"record", 0, 0, G_OPTION_ARG_NONE, &record, "gateway records every call", NULL},
        {"keep", 0, 0, G_OPTION_ARG_NONE, &keep, "keep the temp dir", NULL},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "append the JSON line here", "PATH"},
        {"min-up", 0, 0, G_OPTION_ARG_INT, &min_pct,
         "fail unless this %% of calls receive video and packets arrive", "PCT"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("- concurrent alarms against a gateway");
    g_option_context_add_main_entries(oc, e, NULL);
    GError *ge = NULL;
    bool ok = g_option_context_parse(oc, &argc, &argv, &ge);
    g_option_context_free(oc);
    if (!ok) {
        load_log("%s", ge->message);
        g_error_free(ge);
        return VG_EINVAL;
    }
    G.o = (struct vg_load_opts){.target = target,
                                .gateway_bin = gw,
                                .ctl_bin = ctl,
                                .wrap = wrap,
                                .janus_shim = shim,
                                .calls = (unsigned)calls,
                                .rate = rate,
                                .secs = secs,
                                .settle = settle,
                                .setup_timeout = timeout,
                                .bitrate = bitrate,
                                .record = record,
                                .keep = keep,
                                .json_path = json,
                                .min_frames_ok = min_pct};
    G.o.srtp_profiles = (strstr(srtp, "gcm") ? VG_DTLS_SRTP_GCM : 0) |
                        (strstr(srtp, "cm,") || !strcmp(srtp, "cm") || g_str_has_suffix(srtp, ",cm")
                             ? VG_DTLS_SRTP_CM_SHA1_80
                             : 0);
    if (!strcmp(target, "vigil"))
        G.target = &vg_load_vigil;
    else if (!strcmp(target, "janus"))
        G.target = &vg_load_janus;
    else if (!strcmp(target, "direct"))
        G.target = &vg_load_direct;
    if (!G.target || calls < 1 || calls > 2000 || rate <= 0 || secs < 1 || !G.o.srtp_profiles) {
        load_log("bad arguments (see --help)");
        return VG_EINVAL;
    }
    return VG_OK;
}

static int prepare(void)
{
    char err[512];
    snprintf(G.tmpdir, sizeof G.tmpdir, "%s/vigil-load-XXXXXX", g_get_tmp_dir());
    if (!g_mkdtemp(G.tmpdir)) {
        load_log("cannot make a temp dir");
        return VG_EIO;
    }
    int64_t t = vg_now_us();
    int rc = vg_clip_encode(G.tmpdir, 10, G.o.bitrate, err, sizeof err);
    char vp[300], ap[300];
    snprintf(vp, sizeof vp, "%s/video.rtp", G.tmpdir);
    snprintf(ap, sizeof ap, "%s/audio.rtp", G.tmpdir);
    if (!rc)
        rc = vg_clip_load(vp, 90000, true, &G.clip[K_VIDEO], err, sizeof err);
    if (!rc)
        rc = vg_clip_load(ap, 48000, false, &G.clip[K_AUDIO], err, sizeof err);
    if (rc) {
        load_log("clip: %s", err);
        return rc;
    }
    load_log("clip: VP8 %.0f kbit/s %.0f packets/s, Opus %.0f packets/s (encoded in %.1f s)",
             G.clip[K_VIDEO].bytes * 8.0 / 10 / 1000, G.clip[K_VIDEO].n_pkts / 10.0,
             G.clip[K_AUDIO].n_pkts / 10.0, (vg_now_us() - t) / 1e6);
    if ((rc = vg_dtls_cert_new(vg_wall_us(), &G.cert)) || (rc = vg_srtp_global_init()))
        return rc;
    /* Hundreds of legs and WebSockets on one thread: the loop vigild's media workers
     * run (media/ice/loop.c), so a ready socket costs the generator its own receive
     * path only, and its sends leave in batches. */
    if (!(G.iloop = vg_ice_loop_new()))
        return VG_EIO;
    G.ctx = vg_ice_loop_context(G.iloop);
    g_main_context_push_thread_default(G.ctx);
    G.loop = g_main_loop_new(G.ctx, FALSE);
    if (vg_ws_global_init(G.loop)) {
        load_log("libwebsockets did not start");
        return VG_EIO;
    }
    G.calls = g_new0(struct call, G.o.calls);
    for (unsigned i = 0; i < G.o.calls; i++) {
        G.calls[i].L = &G;
        G.calls[i].idx = i;
        snprintf(G.calls[i].name, sizeof G.calls[i].name, "call%u", i);
    }
    return VG_OK;
}

static void wait_loop(double secs, bool (*done)(void))
{
    int64_t end = vg_now_us() + (int64_t)(secs * 1e6);
    while (vg_now_us() < end && !(done && done()))
        vg_ice_loop_iterate(G.iloop, 2);
}

static bool all_ready(void)
{
    for (unsigned i = 0; i < G.o.calls; i++)
        if (!G.calls[i].ready && !G.calls[i].failed)
            return false;
    return true;
}

static bool ice_released(void)
{
    return vg_ice_live() == 0;
}

static void teardown(void)
{
    unsigned n = !G.calls ? 0 : G.target->prepare_call ? G.o.calls : G.started;
    for (unsigned i = 0; i < n; i++) {
        struct call *c = &G.calls[i];
        G.target->end_call(c);
        vg_rtc_free(c->cit);
        vg_rtc_free(c->tk);
        c->cit = c->tk = NULL;
    }
    wait_loop(3, ice_released);
    for (unsigned i = 0; i < n; i++) {
        vg_ws_free(G.calls[i].cit_ws);
        vg_ws_free(G.calls[i].tk_ws);
    }
    wait_loop(0.2, NULL);
    G.target->stop(&G);
    vg_ws_global_done();
    g_free(G.calls);
    for (int k = 0; k < 2; k++)
        vg_clip_free(&G.clip[k]);
    vg_dtls_cert_free(G.cert);
    if (G.loop)
        g_main_loop_unref(G.loop);
    if (G.iloop) {
        g_main_context_pop_thread_default(G.ctx);
        vg_ice_loop_free(G.iloop);
    }
    if (!G.o.keep && G.tmpdir[0]) {
        char *argv[] = {"rm", "-rf", G.tmpdir, NULL};
        g_free(load_run(&G, argv));
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    vg_log_set_level(VG_LOG_WARN); /* a line per ICE state change and leg would drown it */
    if (parse_args(argc, argv))
        return 2;
    int rc = prepare();
    if (!rc && (rc = G.target->start(&G)))
        load_log("%s: %s", G.target->name, G.err);
    if (rc) {
        teardown();
        return 2;
    }
    if (G.target->prepare_call) {
        for (unsigned i = 0; i < G.o.calls; i++)
            G.target->prepare_call(&G.calls[i]);
        wait_loop(60, all_ready);
    }
    wait_loop(1, NULL);
    F.rss0_kib = proc_rss_kib(G.gw_pid);
    F.load_before = loadavg1();
    GSource *tick = g_timeout_source_new(TICK_MS);
    g_source_set_callback(tick, tick_cb, NULL, NULL);
    g_source_attach(tick, G.ctx);
    ramp_src = g_timeout_source_new(10);
    g_source_set_callback(ramp_src, ramp_cb, NULL, NULL);
    g_source_attach(ramp_src, G.ctx);
    g_source_unref(ramp_src);
    vg_ice_loop_run(G.iloop);
    g_source_destroy(tick);
    g_source_unref(tick);
    collect();
    report(stdout, false);
    report(stdout, true);
    if (G.o.json_path) {
        FILE *f = fopen(G.o.json_path, "a");
        if (f) {
            report(f, true);
            fclose(f);
        }
    }
    bool ok = F.up * 100 >= (unsigned)G.o.min_frames_ok * F.calls &&
              (G.o.min_frames_ok == 0 || F.delivered > 0);
    if (G.o.min_frames_ok)
        load_log("check: %u of %u calls received a whole keyframe (need %d%%), %llu packets "
                 "delivered in the window (need some): %s",
                 F.up, F.calls, G.o.min_frames_ok, (unsigned long long)F.delivered,
                 ok ? "ok" : "FAILED");
    teardown();
    return ok ? 0 : 1;
}
