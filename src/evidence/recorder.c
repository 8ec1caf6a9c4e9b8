/* Recordings and the writer thread (see evidence.h).
 *
 * RTP: every thread that records (a media worker) has a ring of its own (ring.h),
 * found through a thread-local pointer. A packet becomes one ring entry: which
 * recording and leg, and the record exactly as the segment file holds it (evfmt.h).
 * So the forwarding path pays one copy and one store (no malloc, no lock, no
 * syscall), and the writer hands the entries to writev where they lie. The writer
 * wakes every WAKE_MS, or sooner when a ring is half full (the only syscall a
 * producer may make, at most once per wake-up). A full ring drops the packet: the
 * leg's tap counts it, and the gap travels in the entry of the leg's next packet
 * (or in a control item when the tap is freed first).
 *
 * Events and control items (finish, free, reseal) are few: a list under one mutex,
 * never refused. At each wake-up the writer takes that list, then drains every
 * ring (one writev per stream per chunk of half a ring), then handles the
 * list. A tap's packets are committed before its release drops the recording's
 * reference, so they are all read before the recording is freed. A tap does not
 * look at whether its case has finished (that would be a read of a line the
 * writer writes, per packet): what it queues until the writer closes the
 * recording is recorded, what comes after is skipped by the writer. A stream's
 * writes end on WRITE_ALIGN boundaries of its file; the bytes past the last one
 * (its tail) are copied out of the ring and written with the stream's next
 * records that reach a boundary, or as they are once they have waited TAIL_US.
 * Every file written since the last sync is fdatasync'd once a second: a kill -9
 * loses what is in the rings and the tails (up to about two WAKE_MS of media), a
 * power cut at most a second more. */
#include "evidence.h"

#include "audit.h"
#include "evfmt.h"
#include "evkey.h"
#include "log.h"
#include "manifest.h"
#include "ring.h"
#include "seal.h"
#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <limits.h>
#include <stdalign.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#define WAKE_MS 100
#define SYNC_US 1000000
#define MAX_STREAMS 16 /* legs of one case, and its events log */
#define MAX_RINGS 64   /* threads that record: the media workers (at most 64) */
#define QUEUE_KB_DEFAULT 4096
/* A stream's writes end on multiples of this in its file, the bytes past the last
 * multiple kept for the stream's next write: on this kernel ext4 then puts the
 * writes in large page-cache folios. 100 files written 28 KB every 100 ms and
 * synced every second (what 100 recorded calls make) cost 0.83-0.96 ms of CPU per
 * MB so, against 1.04-1.16 for writes that end where the records end
 * (`tools/bench/evwrite.c`, modes "aligned" and "buffered"). The price: a tail of
 * up to 16 KiB per stream, in memory until the next write. */
#define WRITE_ALIGN (16 * 1024)
/* How long a tail that reaches no boundary may wait for more of its stream:
 * half a wake-up, so at the regular wake-ups a tail is written at the next one,
 * and when a busy ring calls the writer more often (300 recorded calls: every
 * ~50 ms, ~13 KB a stream) the tail gathers two of them into an aligned write. */
#define TAIL_US (WAKE_MS * 1000 / 2)
/* A stream's file has its blocks reserved this far ahead of its writes
 * (fallocate, keeping the size; what is left is given back at close): the syncs
 * then write into blocks already allocated instead of allocating them as they go
 * (0.74-0.90 ms per MB with the aligned writes: evwrite's "aligned+falloc"). */
#define PREALLOC (1024 * 1024)

enum item_type { IT_EVENT, IT_GAP, IT_FINISH, IT_FREE, IT_RESEAL, IT_APPEND, IT_STALL };

/* A control item: events and everything that is not a packet. */
struct item {
    struct item *next;
    enum item_type type;
    struct vg_recording *rec;
    uint64_t leg;
    int64_t at_us, to_us;
    uint64_t lost;
    atomic_int *started; /* IT_STALL */
    uint32_t len;
    uint8_t data[];
};

/* A ring entry: one packet of a leg. What follows it is a struct gap when the
 * leg lost packets before this one (ENTRY_GAP), then the packet's segment record. */
#define ENTRY_GAP 1u
struct entry {
    struct vg_recording *rec;
    uint64_t leg;
    uint32_t flags, reserved;
};
struct gap {
    int64_t from_us, to_us;
    uint64_t lost;
};

/* Everything a packet reads, on a cache line of its own that only the leg's worker
 * writes: the recording and the service are not read per packet (their lines are
 * written by the writer and the main loop, and would bounce between cores). */
struct vg_recording_tap {
    alignas(64) struct vg_evidence *ev;
    uint64_t serial; /* ev's: the calling thread's ring is checked against it */
    struct vg_recording *rec;
    uint64_t leg;
    uint64_t drops; /* lost since the last gap was queued */
    int64_t drop_from, drop_to;
};

struct stream {
    struct vg_recording *rec;
    uint64_t id;
    int fd; /* -1: not open */
    uint32_t seq;
    int64_t opened_us; /* monotonic */
    size_t size;       /* bytes in the file */
    size_t whole;      /* bytes in the file up to the end of its last whole record */
    size_t reserved;   /* the file's blocks reserved up to here (or tried to be) */
    /* Bytes past the file's last aligned write, copied out of the ring: the first
     * tail_rest of them end the record the file ends inside. */
    uint8_t *tail; /* WRITE_ALIGN bytes, made at the first use */
    size_t tail_len, tail_rest;
    uint64_t tail_rec; /* records the tail ends or holds */
    int64_t tail_us;   /* monotonic: when its oldest bytes left the ring */
    uint8_t prev[32];
    /* records waiting for writev: views into a ring, or one event, in iov[1] on
     * (iov[0] is the tail's slot when it goes first) */
    struct iovec *iov;
    unsigned n_iov, cap_iov;
    uint64_t n_rec;
    size_t pending;
    bool dirty, queued;
};

struct vg_recording {
    struct vg_evidence *ev;
    gint refs;
    char case_id[VG_EV_CASE_MAX + 1];
    char *dir;
    /* writer only */
    alignas(64) struct stream streams[MAX_STREAMS];
    unsigned n_streams;
    bool listed, closed, failing;
    bool created;        /* a file was created since the last sync: fsync the directory */
    uint64_t io_lost;    /* records that never reached a file */
    char io_error[96];   /* the first write or sync that failed, for the manifest */
    bool err_since_sync; /* a write or sync failed since the last sync pass */
    char reason[128];
    /* resumed after a restart (vg_recording_start): the manifest says what it lacks */
    char resumed[400];
};

struct vg_evidence {
    struct vg_evidence_config cfg;
    char *dir;
    EVP_PKEY *key;
    struct vg_audit *audit;
    GThread *thread;
    uint64_t serial; /* tells this service's rings from an earlier one's */
    GMutex lock;
    GCond cond;
    struct item *head, *tail; /* under lock */
    bool stop;                /* under lock */
    atomic_bool kicked;       /* a producer asked the writer to come now */
    struct vg_ring *rings[MAX_RINGS];
    atomic_uint n_rings; /* rings made; published after the pointer is stored */
    unsigned claimed;    /* under lock: rings given to threads */
    size_t ring_bytes;
    GPtrArray *open;  /* writer: recordings not closed yet */
    GPtrArray *dirty; /* writer: streams with records waiting for writev */
    unsigned recovered;
    struct vg_evidence_stats st;  /* the writer's own counters */
    struct vg_evidence_stats pub; /* a copy for readers, under lock */
    atomic_uint_fast64_t dropped;
    struct vg_sealer *sealer;     /* manifests, reseals, appends, the sweep (seal.h) */
    GMutex audit_lock;            /* the writer, the sealer and the owner append to one log */
    json_t *resumable;            /* owner: case ids left open at start to be resumed */
    struct vg_audit_index *holds; /* owner: the legal holds in the audit log */
};

static int64_t mono_us(void)
{
    return g_get_monotonic_time();
}

/* Producers: control items ------------------------------------------------------------ */

static struct item *new_item(enum item_type t, struct vg_recording *r, size_t len)
{
    struct item *it = g_try_malloc(sizeof *it + len);
    if (it) {
        memset(it, 0, sizeof *it);
        it->type = t;
        it->rec = r;
        it->len = (uint32_t)len;
    }
    return it;
}

static void push_control(struct vg_evidence *ev, struct item *it)
{
    g_mutex_lock(&ev->lock);
    if (ev->tail)
        ev->tail->next = it;
    else
        ev->head = it;
    ev->tail = it;
    g_cond_signal(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

/* Producers: RTP through the calling thread's ring ------------------------------------ */

static atomic_uint_fast64_t next_serial = 1;

static _Thread_local struct {
    uint64_t serial;
    struct vg_ring *ring; /* NULL: none could be had; this thread's packets are gaps */
} mine;

/* The first packet a thread records claims one of the rings made at open, or a new
 * one: rare, so under the lock. */
static struct vg_ring *claim_ring(struct vg_evidence *ev)
{
    g_mutex_lock(&ev->lock);
    unsigned n = atomic_load_explicit(&ev->n_rings, memory_order_relaxed);
    struct vg_ring *g = NULL;
    if (ev->claimed < n) {
        g = ev->rings[ev->claimed++];
    } else if (n < MAX_RINGS && (g = vg_ring_new(ev->ring_bytes))) {
        ev->rings[n] = g;
        ev->claimed++;
        atomic_store_explicit(&ev->n_rings, n + 1, memory_order_release);
    }
    g_mutex_unlock(&ev->lock);
    if (!g)
        vg_error(NULL, NULL, "evidence: no queue for another recording thread: its media is lost");
    mine.serial = ev->serial;
    mine.ring = g;
    return g;
}

/* The writer comes at the next WAKE_MS anyway; a ring half full calls it now, once
 * until it has been. */
static void kick(struct vg_evidence *ev)
{
    if (atomic_load_explicit(&ev->kicked, memory_order_relaxed) ||
        atomic_exchange(&ev->kicked, true))
        return;
    g_mutex_lock(&ev->lock);
    g_cond_signal(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

static void commit(struct vg_evidence *ev, struct vg_ring *g)
{
    if (vg_ring_commit(g) > vg_ring_capacity(g) / 2)
        kick(ev);
}

static void note_drop(struct vg_recording_tap *t, int64_t at_us)
{
    if (!t->drops++)
        t->drop_from = at_us;
    t->drop_to = at_us;
    atomic_fetch_add_explicit(&t->ev->dropped, 1, memory_order_relaxed);
}

void vg_recording_tap_rtp(struct vg_recording_tap *t, unsigned kind, int64_t at_us,
                          const uint8_t *rtp, size_t len)
{
    if (len > VG_EV_REC_MAX || kind > 1)
        return;
    struct vg_ring *g = G_LIKELY(mine.serial == t->serial) ? mine.ring : claim_ring(t->ev);
    /* After a loss, take packets again only once the ring is at most half full:
     * one gap per overload, not one per packet squeezed in at the edge. */
    size_t gap = t->drops ? sizeof(struct gap) : 0;
    struct entry *e =
        g && (!gap || vg_ring_waiting(g) <= vg_ring_capacity(g) / 2)
            ? (struct entry *)vg_ring_reserve(g, sizeof *e + gap + VG_EV_REC_HDR + len)
            : NULL;
    if (!e) {
        note_drop(t, at_us);
        return;
    }
    *e = (struct entry){t->rec, t->leg, gap ? ENTRY_GAP : 0, 0};
    uint8_t *p = (uint8_t *)(e + 1);
    if (gap) {
        struct gap gp = {t->drop_from, t->drop_to, t->drops};
        memcpy(p, &gp, sizeof gp);
        p += sizeof gp;
        t->drops = 0;
    }
    struct vg_ev_record rec = {VG_EV_REC_RTP, (uint8_t)kind, at_us, rtp, (uint32_t)len};
    vg_ev_record_write(&rec, p, VG_EV_REC_HDR + len);
    commit(t->ev, g);
}

struct vg_recording_tap *vg_recording_tap_new(struct vg_recording *r, uint64_t leg)
{
    struct vg_recording_tap *t = g_aligned_alloc0(1, sizeof *t, alignof(struct vg_recording_tap));
    t->ev = r->ev;
    t->serial = r->ev->serial;
    t->rec = vg_recording_ref(r);
    t->leg = leg;
    return t;
}

void vg_recording_tap_free(struct vg_recording_tap *t)
{
    if (!t)
        return;
    struct item *gap = t->drops ? new_item(IT_GAP, t->rec, 0) : NULL;
    if (gap) { /* the leg ended while its packets were being dropped */
        gap->leg = t->leg;
        gap->at_us = t->drop_from;
        gap->to_us = t->drop_to;
        gap->lost = t->drops;
        push_control(t->rec->ev, gap);
    }
    vg_recording_unref(t->rec);
    g_aligned_free(t);
}

/* Producers: events and the recording's life ------------------------------------------ */

void vg_recording_event(struct vg_recording *r, int64_t at_us, const char *json)
{
    json_t *e = json_loads(json, 0, NULL);
    if (!json_is_object(e)) {
        vg_warn(r->case_id, NULL, "evidence: an event that is not a JSON object was not recorded");
        json_decref(e);
        return;
    }
    json_object_set_new(e, "at_us", json_integer(at_us));
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    size_t len = text ? strlen(text) : 0;
    struct item *it = text && len <= VG_EV_REC_MAX ? new_item(IT_EVENT, r, len) : NULL;
    if (it) {
        it->at_us = at_us;
        memcpy(it->data, text, len);
        push_control(r->ev, it);
    } else {
        vg_error(r->case_id, NULL, "evidence: an event could not be queued");
    }
    free(text);
}

struct vg_recording *vg_recording_ref(struct vg_recording *r)
{
    g_atomic_int_inc(&r->refs);
    return r;
}

void vg_recording_unref(struct vg_recording *r)
{
    if (!r || !g_atomic_int_dec_and_test(&r->refs))
        return;
    /* Freed by the writer, after every item queued before this one. */
    struct item *it = new_item(IT_FREE, r, 0);
    push_control(r->ev, it);
}

void vg_recording_finish(struct vg_recording *r, const char *reason)
{
    if (!r)
        return;
    struct item *it = new_item(IT_FINISH, r, 0);
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "case ended");
    push_control(r->ev, it);
    vg_recording_unref(r);
}

static bool case_name_ok(const char *case_id)
{
    return strlen(case_id) <= VG_EV_CASE_MAX && !strchr(case_id, '/') && case_id[0] != '.';
}

void vg_evidence_expect(struct vg_evidence *ev, const char *case_id, const char *name,
                        const uint8_t sha[32])
{
    if (case_name_ok(case_id) && strlen(name) < sizeof((struct vg_manifest_allow *)0)->name)
        vg_sealer_expect(ev->sealer, case_id, name, sha);
}

void vg_evidence_reseal(struct vg_evidence *ev, const char *case_id, const char *name,
                        const uint8_t sha[32], const char *why)
{
    size_t n = strlen(case_id), w = strlen(why), f = strlen(name);
    if (!case_name_ok(case_id) || w > 200 || f >= sizeof((struct vg_manifest_allow *)0)->name)
        return;
    struct item *it = new_item(IT_RESEAL, NULL, n + 1 + w + 1 + f + 1 + 32);
    if (!it)
        return;
    memcpy(it->data, case_id, n + 1);
    memcpy(it->data + n + 1, why, w + 1);
    memcpy(it->data + n + 1 + w + 1, name, f + 1);
    memcpy(it->data + n + 1 + w + 1 + f + 1, sha, 32);
    push_control(ev, it); /* after the case's IT_FINISH, so its manifest exists */
}

void vg_evidence_append(struct vg_evidence *ev, const char *case_id, int64_t at_us,
                        const char *json, const char *why)
{
    json_t *e = json_loads(json, 0, NULL);
    size_t n = strlen(case_id), w = strlen(why);
    if (!json_is_object(e) || n > VG_EV_CASE_MAX || strchr(case_id, '/') || case_id[0] == '.' ||
        w > 200) {
        vg_error(case_id, NULL, "evidence: %s not appended: a bad event or case", why);
        json_decref(e);
        return;
    }
    json_object_set_new(e, "at_us", json_integer(at_us));
    json_object_set_new(e, "after_end", json_true()); /* for readers: not part of the call */
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    size_t t = text ? strlen(text) : 0;
    struct item *it = t && t <= VG_EV_REC_MAX ? new_item(IT_APPEND, NULL, n + w + t + 3) : NULL;
    if (it) {
        it->at_us = at_us;
        memcpy(it->data, case_id, n + 1);
        memcpy(it->data + n + 1, why, w + 1);
        memcpy(it->data + n + 1 + w + 1, text, t + 1);
        push_control(ev, it); /* after the case's IT_FINISH */
    } else {
        vg_error(case_id, NULL, "evidence: %s not appended: too long", why);
    }
    free(text);
}

void vg_evidence_stall(struct vg_evidence *ev, unsigned ms)
{
    atomic_int started = 0;
    struct item *it = new_item(IT_STALL, NULL, 0);
    if (!it)
        return;
    it->lost = ms;
    it->started = &started;
    push_control(ev, it);
    while (!atomic_load(&started))
        g_usleep(1000);
}

static void file_sha(const char *path, uint8_t out[32]);
static void alert_later(struct vg_evidence *ev, const char *case_id, const char *kind,
                        json_t *detail);

/* A paused recording whose stop is not followed by a resume in the audit log: each
 * file its recording_paused entry names must still be there with that SHA-256. What
 * is not (or a pause the events log shows with no entry) is returned, a JSON array
 * of {path, expected, found} (found null: removed). paused: vg_seal_paused() of the
 * directory (read once by the caller: it reads every segment). */
static json_t *check_paused(struct vg_recording *r, const char *paused)
{
    char *log = g_build_filename(r->ev->dir, "audit.log", NULL);
    int64_t pl = 0, rl = 0;
    json_t *pe = NULL, *re = NULL, *out = json_array();
    vg_audit_last_action(log, r->ev->key, r->case_id, "recording_paused", &pl, &pe);
    vg_audit_last_action(log, r->ev->key, r->case_id, "recording_resumed", &rl, &re);
    if (pe && pl > rl) {
        const char *name;
        json_t *want;
        json_object_foreach(json_object_get(json_object_get(pe, "detail"), "files"), name, want)
        {
            char *path = g_build_filename(r->dir, name, NULL), hex[65] = "";
            uint8_t sha[32];
            bool there = !strchr(name, '/') && g_file_test(path, G_FILE_TEST_IS_REGULAR);
            if (there) {
                file_sha(path, sha);
                vg_ev_hex(sha, 32, hex);
            }
            if (!there || !json_is_string(want) || strcmp(hex, json_string_value(want)) != 0)
                json_array_append_new(out, json_pack("{s:s, s:O, s:s?}", "path", name, "expected",
                                                     want, "found", there ? hex : NULL));
            g_free(path);
        }
    } else if (paused) {
        json_array_append_new(out, json_pack("{s:s, s:s}", "path", "audit.log", "problem",
                                             "the events log ends with recording_paused, and the "
                                             "audit log has no entry for that stop"));
    }
    json_decref(pe);
    json_decref(re);
    g_free(log);
    return out;
}

/* A recording left open at the last stop or crash, its case live again: the last
 * segments cut at their last whole record, the events log continued from its last
 * segment (the chain unbroken), and a recording_resumed event first, saying since
 * when nothing was recorded and what the cut removed. New legs have new ids, so
 * their files are new streams. */
static bool resume(struct vg_recording *r)
{
    json_t *cut = json_array();
    int64_t stopped = 0, now = g_get_real_time();
    uint32_t seq = 0;
    uint8_t sha[32];
    char err[300];
    int rc = vg_manifest_cut_open(r->dir, cut, &stopped, &seq, sha, err, sizeof err);
    if (rc != VG_OK) { /* what was cut goes into the reason of the seal that follows */
        char *t = json_dumps(cut, JSON_COMPACT);
        vg_error(r->case_id, NULL, "evidence: the recording cannot be resumed: %s (cut: %s)", err,
                 t ? t : "?");
        snprintf(r->reason, sizeof r->reason, "cut at the restart: %.100s", t ? t : "?");
        free(t);
        json_decref(cut);
        return false;
    }
    struct stream *log = &r->streams[r->n_streams++];
    *log = (struct stream){.rec = r, .id = 0, .fd = -1, .seq = seq};
    memcpy(log->prev, sha, 32);
    char *paused = vg_seal_paused(r->dir);
    json_t *altered = check_paused(r, paused);
    const char *why = paused ? paused : "vigild stopped unexpectedly";
    char from[40], to[40], changed[100] = "";
    if (json_array_size(altered))
        snprintf(changed, sizeof changed,
                 "; %zu files CHANGED OR REMOVED while vigild was down (recording_resumed)",
                 json_array_size(altered));
    /* before the event publishes r to the writer */
    snprintf(r->resumed, sizeof r->resumed,
             "resumed after a restart (%.200s): not recorded from %s to %s%s; every restart is "
             "a gap",
             why, stopped ? vg_ev_utc(stopped, from, sizeof from) : "an unknown time",
             vg_ev_utc(now, to, sizeof to), changed);
    json_t *e = json_pack("{s:s, s:s, s:I, s:I, s:o, s:O}", "type", "recording_resumed", "after",
                          why, "stopped_us", (json_int_t)stopped, "resumed_us", (json_int_t)now,
                          "truncated", cut, "altered", altered);
    if (!stopped)
        json_object_del(e, "stopped_us");
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    vg_evidence_audit(r->ev, "vigild", "system", "recording_resumed", r->case_id, "done", text);
    if (text)
        vg_recording_event(r, now, text);
    vg_warn(r->case_id, NULL, "evidence: recording resumed after a restart (%s)%s", why, changed);
    if (json_array_size(altered)) {
        vg_error(r->case_id, NULL,
                 "evidence: files of the paused recording changed while vigild was down: %s",
                 text ? text : "?");
        alert_later(r->ev, r->case_id, "recording_error",
                    json_pack("{s:s, s:O}", "error",
                              "files of the paused recording changed while vigild was down",
                              "altered", altered));
    }
    free(text);
    g_free(paused);
    json_decref(altered);
    json_decref(e);
    return true;
}

struct vg_recording *vg_recording_start(struct vg_evidence *ev, const char *case_id)
{
    if (strlen(case_id) > VG_EV_CASE_MAX || strchr(case_id, '/') || case_id[0] == '.')
        return NULL;
    char *dir = g_build_filename(ev->dir, case_id, NULL);
    char *sig = g_build_filename(dir, "manifest.sig", NULL);
    bool done = g_file_test(sig, G_FILE_TEST_EXISTS);
    g_free(sig);
    if (done || (g_mkdir_with_parents(dir, 0700) != 0)) {
        vg_warn(case_id, NULL, "evidence: %s: %s", dir,
                done ? "already closed: not recorded again" : strerror(errno));
        g_free(dir);
        return NULL;
    }
    struct vg_recording *r = g_aligned_alloc0(1, sizeof *r, alignof(struct vg_recording));
    r->ev = ev;
    r->dir = dir;
    r->refs = 1;
    snprintf(r->case_id, sizeof r->case_id, "%s", case_id);
    for (int i = 0; i < MAX_STREAMS; i++)
        r->streams[i].fd = -1;
    /* The writer learns of it with its first item (open list kept writer-side). */
    return r;
}

/* Whether dir holds any file: a directory that is neither resumable nor sealed (left
 * for a person at start, say) is not recorded into. */
static bool has_files(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    bool any = d && g_dir_read_name(d) != NULL;
    if (d)
        g_dir_close(d);
    return any;
}

struct vg_recording *vg_recording_restore(struct vg_evidence *ev, const char *case_id)
{
    bool resuming = json_object_get(ev->resumable, case_id) != NULL;
    json_object_del(ev->resumable, case_id);
    char *dir = g_build_filename(ev->dir, case_id, NULL),
         *sig = g_build_filename(dir, "manifest.sig", NULL);
    bool occupied = !resuming && !g_file_test(sig, G_FILE_TEST_EXISTS) && has_files(dir);
    g_free(sig);
    g_free(dir);
    if (occupied) {
        vg_error(case_id, NULL,
                 "evidence: the restored case's directory holds files that are not a recording "
                 "left open to resume: not recorded into, left for a person");
        return NULL;
    }
    struct vg_recording *r = vg_recording_start(ev, case_id);
    if (!r || !resuming) { /* nothing of it was recorded before the restart */
        if (r)
            snprintf(r->resumed, sizeof r->resumed,
                     "recorded only from a restart on (nothing was left of the recording before "
                     "it)");
        return r;
    }
    if (!resume(r)) { /* sealed as it is, and not recorded again */
        char *paused = vg_seal_paused(r->dir);
        char *why = g_strdup_printf("%s; the recording could not be resumed; %s",
                                    paused ? paused : "vigild stopped unexpectedly", r->reason);
        vg_sealer_close(ev->sealer, case_id, false, why, g_get_real_time());
        g_free(why);
        g_free(paused);
        g_free(r->dir);
        g_aligned_free(r);
        return NULL;
    }
    return r;
}

void vg_evidence_seal_unresumed(struct vg_evidence *ev)
{
    const char *id;
    json_t *v;
    json_object_foreach(ev->resumable, id, v)
    {
        char *dir = g_build_filename(ev->dir, id, NULL), *why = vg_seal_paused(dir);
        char *reason = g_strdup_printf("%s; its case was not restored at the next start",
                                       why ? why : "vigild stopped unexpectedly");
        vg_warn(id, NULL, "evidence: a recording left open is closed: %s", reason);
        vg_sealer_close(ev->sealer, id, false, reason, g_get_real_time());
        g_free(reason);
        g_free(why);
        g_free(dir);
    }
    json_object_clear(ev->resumable);
}

/* The writer: streams --------------------------------------------------------------------- */

static void alert_later(struct vg_evidence *ev, const char *case_id, const char *kind,
                        json_t *detail);

/* A write or sync of r's files failed: what was recorded may not all be on the
 * disk, so the recording is closed as incomplete, naming the first failure
 * (close_recording()). Alerted once per run of failures (sync_all() ends a run). */
static void io_failed(struct vg_recording *r, const char *what, int err, uint64_t records)
{
    r->ev->st.write_errors++;
    r->io_lost += records;
    r->err_since_sync = true;
    if (!r->io_error[0])
        snprintf(r->io_error, sizeof r->io_error, "%s failed: %s", what, strerror(err));
    if (r->failing) { /* once a run, not once a packet */
        vg_debug(r->case_id, NULL, "evidence: %s in %s: %s", what, r->dir, strerror(err));
        return;
    }
    vg_error(r->case_id, NULL, "evidence: %s in %s: %s", what, r->dir, strerror(err));
    alert_later(r->ev, r->case_id, "recording_error",
                json_pack("{s:s, s:s}", "error", strerror(err), "dir", r->dir));
    r->failing = true;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return VG_EIO;
        p += w;
        n -= (size_t)w;
    }
    return VG_OK;
}

/* Writes every iovec; *done is the bytes written, also on a failure. The array is
 * left as it was. */
static int writev_all(int fd, struct iovec *iov, unsigned n, size_t *done)
{
    unsigned i = 0;
    size_t into = 0; /* bytes of iov[i] already written */
    *done = 0;
    while (i < n) {
        struct iovec first = iov[i];
        iov[i] = (struct iovec){(uint8_t *)first.iov_base + into, first.iov_len - into};
        ssize_t w = writev(fd, iov + i, n - i > IOV_MAX ? IOV_MAX : (int)(n - i));
        iov[i] = first;
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return VG_EIO;
        }
        *done += (size_t)w;
        into += (size_t)w;
        while (i < n && into >= iov[i].iov_len)
            into -= iov[i++].iov_len;
    }
    return VG_OK;
}

/* The records wholly in bytes [0, len) of one run of records: their bytes, and
 * *n their number. */
static size_t whole_records(const uint8_t *p, size_t len, uint64_t *n)
{
    size_t off = 0;
    struct vg_ev_record rec;
    int k;
    while ((k = vg_ev_record_parse(p + off, len - off, &rec)) > 0) {
        off += (size_t)k;
        (*n)++;
    }
    return off;
}

/* Of the first `done` bytes of the iovecs, those of whole records, and *n their
 * number. Every iovec holds whole records (add_iov()). */
static size_t records_written(const struct iovec *iov, unsigned n_iov, size_t done, uint64_t *n)
{
    size_t bytes = 0;
    *n = 0;
    for (unsigned i = 0; i < n_iov && done; i++) {
        size_t part = done < iov[i].iov_len ? done : iov[i].iov_len;
        bytes += whole_records(iov[i].iov_base, part, n);
        done -= part;
    }
    return bytes;
}

static void file_sha(const char *path, uint8_t out[32])
{
    gchar *buf = NULL;
    gsize len = 0;
    unsigned n = 0;
    memset(out, 0, 32);
    if (g_file_get_contents(path, &buf, &len, NULL))
        EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
    g_free(buf);
}

static char *stream_path(struct vg_recording *r, const struct stream *s, uint32_t seq)
{
    char name[80];
    if (s->id)
        snprintf(name, sizeof name, "leg-%llu-%06u.vgs", (unsigned long long)s->id, seq);
    else
        snprintf(name, sizeof name, "events-%06u.vgs", seq);
    return g_build_filename(r->dir, name, NULL);
}

static int stream_open(struct vg_recording *r, struct stream *s, int64_t wall_us)
{
    struct vg_ev_seg_header h = {.stream = s->id, .seq = s->seq + 1, .opened_us = wall_us};
    snprintf(h.case_id, sizeof h.case_id, "%s", r->case_id);
    memcpy(h.prev, s->prev, 32);
    uint8_t hdr[VG_EV_HDR_LEN];
    char *path = stream_path(r, s, s->seq + 1);
    int fd = vg_ev_header_write(&h, hdr) == VG_OK
                 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600)
                 : -1;
    if (fd < 0 || write_all(fd, hdr, sizeof hdr) != VG_OK) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(path); /* a header cut short: nothing of it is evidence */
        }
        io_failed(r, "creating a segment", e, 0);
        g_free(path);
        return VG_EIO;
    }
    g_free(path);
    s->fd = fd;
    s->seq++;
    s->size = s->whole = sizeof hdr;
    s->reserved = 0;
    s->opened_us = mono_us();
    s->dirty = true;
    r->created = true;
    r->ev->st.segments++;
    return VG_OK;
}

/* Where in the iovecs' bytes `at` falls: the pointer, and *left the bytes of its
 * iovec from there on. */
static const uint8_t *iov_at(const struct iovec *iov, unsigned n, size_t at, size_t *left)
{
    for (unsigned i = 0; i < n; i++) {
        if (at < iov[i].iov_len) {
            *left = iov[i].iov_len - at;
            return (const uint8_t *)iov[i].iov_base + at;
        }
        at -= iov[i].iov_len;
    }
    *left = 0;
    return NULL;
}

/* Copies the iovecs' bytes from `from` on into out. */
static void iov_copy(const struct iovec *iov, unsigned n, size_t from, uint8_t *out)
{
    for (unsigned i = 0; i < n; i++) {
        size_t len = iov[i].iov_len;
        if (from < len) {
            memcpy(out, (const uint8_t *)iov[i].iov_base + from, len - from);
            out += len - from;
            from = 0;
        } else {
            from -= len;
        }
    }
}

/* Of `total` bytes waiting to follow `size` bytes of file, how many to write now so
 * that the file ends on a multiple of WRITE_ALIGN (0 when none is reached). */
static size_t aligned_cut(size_t size, size_t total)
{
    size_t end = (size + total) / WRITE_ALIGN * WRITE_ALIGN;
    return end > size ? end - size : 0;
}

/* The records waiting, after the tail's slot. */
static struct iovec *recs(struct stream *s)
{
    return s->iov + 1;
}

static void forget_waiting(struct stream *s)
{
    s->n_iov = 0;
    s->n_rec = 0;
    s->pending = 0;
}

/* Copies the records waiting from byte `from` on behind the tail. */
static void tail_append(struct stream *s, size_t from)
{
    if (s->pending > from) {
        if (!s->tail)
            s->tail = g_malloc(WRITE_ALIGN);
        iov_copy(recs(s), s->n_iov, from, s->tail + s->tail_len);
        s->tail_len += s->pending - from;
    }
    forget_waiting(s);
}

static void stream_reset(struct stream *s)
{
    forget_waiting(s);
    s->tail_len = 0;
    s->tail_rest = 0;
    s->tail_rec = 0;
}

/* After `w` bytes of the records waiting (s->iov) were written behind the tail: the
 * rest becomes the tail, and the file's last whole record is found again. */
static void carry(struct stream *s, size_t w)
{
    uint64_t k = 0;
    size_t e = records_written(recs(s), s->n_iov, w, &k), left = 0;
    s->whole = s->size - w + e;
    s->tail_rest = 0;
    if (e < w) { /* the write ended inside a record: the tail begins with its rest */
        struct vg_ev_record rec;
        const uint8_t *p = iov_at(recs(s), s->n_iov, e, &left);
        s->tail_rest = e + (size_t)vg_ev_record_parse(p, left, &rec) - w;
    }
    s->tail_len = 0;
    s->tail_rec = s->n_rec - k;
    s->tail_us = mono_us();
    tail_append(s, w);
}

/* No write now: the records waiting join the tail (less than WRITE_ALIGN in all,
 * since they reach no boundary), which keeps its age. */
static void hold(struct stream *s)
{
    if (!s->tail_len)
        s->tail_us = mono_us();
    s->tail_rec += s->n_rec;
    tail_append(s, 0);
}

/* A write of the tail and the records waiting stopped after `done` bytes: the file
 * is cut back to the last whole record in it, and the records lost are counted. */
static void write_failed(struct vg_recording *r, struct stream *s, const struct iovec *part,
                         size_t done)
{
    int e = errno;
    uint64_t kept = 0;
    size_t keep = s->whole; /* the tail's first record, cut short in the file */
    if (done >= s->tail_len) {
        keep = s->size + s->tail_len + records_written(part, s->n_iov, done - s->tail_len, &kept);
        kept += s->tail_rec;
    } else if (done >= s->tail_rest) {
        keep = s->size + s->tail_rest +
               whole_records(s->tail + s->tail_rest, done - s->tail_rest, &kept);
        kept += s->tail_rest ? 1 : 0;
    }
    if (ftruncate(s->fd, (off_t)keep) != 0)
        vg_error(r->case_id, NULL, "evidence: cannot cut a failed write back: %s", strerror(errno));
    s->dirty = s->dirty || keep != s->size;
    s->size = s->whole = s->reserved = keep; /* the cut gave back what was reserved */
    io_failed(r, "a write", e, s->tail_rec + s->n_rec - kept);
    stream_reset(s);
}

/* Writes the tail and the records waiting: all of them, or (all false) as much as
 * ends the file on a multiple of WRITE_ALIGN, the rest kept as the tail for the
 * next flush; a tail that reaches no boundary is kept for at most TAIL_US (then
 * at the stream's next flush or the writer's next wake-up, all of it is written
 * as it is). A failed write is cut back to the last whole record it wrote, so the
 * segment stays whole and keeps what fit (a disk that fills up), and the records
 * not written are counted. */
static void stream_flush(struct vg_recording *r, struct stream *s, bool all)
{
    s->queued = false;
    size_t total = s->tail_len + s->pending;
    if (!total)
        return;
    if (s->fd < 0) {
        io_failed(r, "a write", EBADF, s->tail_rec + s->n_rec);
        stream_reset(s);
        return;
    }
    size_t cut = all ? total : aligned_cut(s->size, total);
    if (cut == 0 && s->tail_len && mono_us() - s->tail_us >= TAIL_US)
        cut = total; /* no boundary reached, and the tail has waited long enough */
    if (cut && cut < s->tail_len)
        cut = total; /* never: a tail stops short of the next boundary */
    if (cut == 0) {  /* no boundary reached: all of it joins the tail */
        hold(s);
        return;
    }
    /* The tail goes first, in its slot before the records' iovecs (a tail comes
     * from records, so the array exists). */
    struct iovec *v = s->tail_len ? s->iov : recs(s);
    if (s->tail_len)
        s->iov[0] = (struct iovec){s->tail, s->tail_len};
    unsigned n = 0;
    size_t upto = 0;
    while (upto + v[n].iov_len < cut)
        upto += v[n++].iov_len;
    size_t saved = v[n].iov_len;
    v[n].iov_len = cut - upto;         /* the write ends inside iovec n */
    if (s->size + cut > s->reserved) { /* a failure is not an error: writes allocate */
        s->reserved = s->size + cut + PREALLOC;
        (void)!fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)s->size, (off_t)(cut + PREALLOC));
    }
    size_t done = 0;
    int rc = writev_all(s->fd, v, n + 1, &done);
    v[n].iov_len = saved;
    if (rc != VG_OK)
        return write_failed(r, s, recs(s), done);
    s->size += cut;
    s->dirty = true;
    carry(s, cut - s->tail_len);
}

/* chain: another segment of the stream follows, and names this one's hash. At the
 * recording's end none does, and the manifest hashes every file anyway: hashing
 * here too read and hashed every byte recorded a second time. */
static void stream_close(struct vg_recording *r, struct stream *s, bool chain)
{
    if (s->fd < 0)
        return;
    stream_flush(r, s, true);
    if (s->reserved > s->size && ftruncate(s->fd, (off_t)s->size) != 0) /* gives back the rest */
        vg_debug(r->case_id, NULL, "evidence: reserved blocks not given back: %s", strerror(errno));
    if (fdatasync(s->fd) != 0)
        io_failed(r, "a sync", errno, 0);
    close(s->fd);
    s->fd = -1;
    if (chain) {
        char *path = stream_path(r, s, s->seq);
        file_sha(path, s->prev);
        g_free(path);
    }
}

static struct stream *stream_of(struct vg_recording *r, uint64_t id)
{
    for (unsigned i = 0; i < r->n_streams; i++)
        if (r->streams[i].id == id)
            return &r->streams[i];
    if (r->n_streams == MAX_STREAMS)
        return NULL;
    struct stream *s = &r->streams[r->n_streams++];
    s->rec = r;
    s->id = id;
    s->fd = -1;
    return s;
}

/* The stream a record of n bytes goes to, its segment rolled (by size, or by age
 * as of now) or opened as needed; NULL if it cannot be written. */
static struct stream *stream_ready(struct vg_recording *r, uint64_t id, int64_t at_us, size_t n,
                                   int64_t now)
{
    const struct vg_evidence_config *c = &r->ev->cfg;
    struct stream *s = stream_of(r, id);
    if (!s)
        return NULL;
    if (s->fd >= 0 &&
        (s->size + s->tail_len + s->pending + n > (size_t)c->segment_mb * 1024 * 1024 ||
         now - s->opened_us > (int64_t)c->segment_seconds * 1000000))
        stream_close(r, s, true);
    if (s->fd < 0 && stream_open(r, s, at_us) != VG_OK)
        return NULL;
    return s;
}

static void add_iov(struct stream *s, const uint8_t *p, size_t n)
{
    struct iovec *last = s->n_iov ? &recs(s)[s->n_iov - 1] : NULL;
    if (last && (const uint8_t *)last->iov_base + last->iov_len == p) {
        last->iov_len += n; /* the next record of the same stream, right behind */
    } else {
        if (1 + s->n_iov >= s->cap_iov) { /* iov[0] is the tail's slot */
            s->cap_iov = s->cap_iov ? 2 * s->cap_iov : 64;
            s->iov = g_renew(struct iovec, s->iov, s->cap_iov);
        }
        recs(s)[s->n_iov++] = (struct iovec){(void *)p, n};
    }
    s->pending += n;
    s->n_rec++;
}

/* The writer: records ---------------------------------------------------------------------- */

/* An event is written at once: they are few, and its bytes are not in a ring. */
static void write_event(struct vg_recording *r, int64_t at_us, const char *text, size_t len)
{
    size_t n = VG_EV_REC_HDR + len;
    uint8_t *buf = g_malloc(n);
    struct vg_ev_record rec = {VG_EV_REC_EVENT, 0, at_us, (const uint8_t *)text, (uint32_t)len};
    struct stream *s =
        vg_ev_record_write(&rec, buf, n) > 0 ? stream_ready(r, 0, at_us, n, mono_us()) : NULL;
    if (s) {
        add_iov(s, buf, n);
        stream_flush(r, s, true);
    } else {
        r->io_lost++;
    }
    r->ev->st.events++;
    g_free(buf);
}

static void record_event(struct vg_recording *r, json_t *e)
{
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_int_t at = json_integer_value(json_object_get(e, "at_us"));
    if (text)
        write_event(r, at, text, strlen(text));
    free(text);
}

/* Packets the queue could not take: an event in the recording (while it is open)
 * and an alert to the supervisors. */
static void on_gap(struct vg_recording *r, uint64_t leg_id, int64_t from, int64_t to, uint64_t lost)
{
    char leg[24];
    snprintf(leg, sizeof leg, "%llu", (unsigned long long)leg_id);
    json_t *e = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "type", "gap", "leg", leg,
                          "from_us", (json_int_t)from, "to_us", (json_int_t)to, "packets",
                          (json_int_t)lost, "reason", "queue_full", "at_us", (json_int_t)from);
    if (!r->closed)
        record_event(r, e);
    alert_later(r->ev, r->case_id, "recording_gap", e); /* takes e */
}

static void note_open(struct vg_evidence *ev, struct vg_recording *r)
{
    if (!r->listed && !r->closed) {
        g_ptr_array_add(ev->open, r);
        r->listed = true;
    }
}

/* One ring entry: its record joins its stream's writev, or its gap is written. */
static void take_entry(struct vg_evidence *ev, const struct entry *e, size_t len, int64_t now)
{
    struct vg_recording *r = e->rec;
    note_open(ev, r);
    if (r->closed)
        return;
    const uint8_t *p = (const uint8_t *)(e + 1);
    size_t n = len - sizeof *e;
    if (e->flags & ENTRY_GAP) { /* written before the packet that ends it */
        struct gap gp;
        memcpy(&gp, p, sizeof gp);
        on_gap(r, e->leg, gp.from_us, gp.to_us, gp.lost);
        p += sizeof gp;
        n -= sizeof gp;
    }
    struct vg_ev_record rec;
    struct stream *s = vg_ev_record_parse(p, n, &rec) == (int)n
                           ? stream_ready(r, e->leg, rec.at_us, n, now)
                           : NULL;
    if (!s) {
        r->io_lost++;
        return;
    }
    add_iov(s, p, n);
    if (!s->queued) {
        s->queued = true;
        g_ptr_array_add(ev->dirty, s);
    }
    ev->st.packets++;
    ev->st.bytes += n - VG_EV_REC_HDR;
}

static void flush_dirty(struct vg_evidence *ev)
{
    for (guint i = 0; i < ev->dirty->len; i++) {
        struct stream *s = ev->dirty->pdata[i];
        if (s->queued)
            stream_flush(s->rec, s, false);
    }
    g_ptr_array_set_size(ev->dirty, 0);
}

/* Writes what every ring holds, a chunk at a time (the space goes back to the
 * producer after each chunk); at most a ring's capacity each, so producers that
 * outrun the disk cannot keep the writer from its control items and syncs.
 * A chunk is half a ring: the writer comes when a ring is about half full at most,
 * so one chunk takes it all and each stream gets one writev per wake-up, while the
 * producer has the other half to fill meanwhile. Chunks of 256 KiB cut the same
 * wake-up into ~6 writevs per stream, and the writer spent ~20% more CPU in
 * ext4's per-write path (docs/evidence.md). Returns whether anything was read. */
static bool drain_rings(struct vg_evidence *ev)
{
    bool any = false;
    unsigned n = atomic_load_explicit(&ev->n_rings, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct vg_ring *g = ev->rings[i];
        size_t budget = vg_ring_capacity(g), chunk = budget / 2;
        while (budget) {
            struct vg_ring_cursor c;
            vg_ring_begin(g, &c, budget < chunk ? budget : chunk);
            uint64_t from = c.pos;
            int64_t now = mono_us();
            const uint8_t *p;
            size_t len;
            while ((p = vg_ring_next(g, &c, &len)))
                take_entry(ev, (const struct entry *)p, len, now);
            if (c.pos == from)
                break;
            flush_dirty(ev); /* before the space is given back */
            vg_ring_release(g, &c);
            budget -= c.pos - from < budget ? (size_t)(c.pos - from) : budget;
            any = true;
        }
    }
    return any;
}

/* A file was created since the directory was last synced: its name made durable. */
static void sync_dir_if_created(struct vg_recording *r)
{
    if (!r->created)
        return;
    int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        io_failed(r, "syncing the directory", errno, 0);
    if (fd >= 0)
        close(fd);
    r->created = false;
}

/* The media streams are closed (flushed, synced) first, then `recording_closed` goes
 * last into the events log with whether the recording is complete and why: a log
 * that ends with it proves every other file was whole and synced before, so a
 * crash before the seal can still be sealed as the writer meant (recover()). */
static void close_recording(struct vg_recording *r, bool complete, const char *reason)
{
    if (r->closed)
        return;
    int64_t now = g_get_real_time();
    for (unsigned i = 0; i < r->n_streams; i++)
        if (r->streams[i].id)
            stream_close(r, &r->streams[i], false);
    sync_dir_if_created(r); /* the media files' names before the event that vouches for them */
    char why[720], why0[540];
    if (r->resumed[0]) { /* what was not recorded while vigild was down */
        complete = false;
        snprintf(why0, sizeof why0, "%s; %s", reason, r->resumed);
        reason = why0;
    }
    if (r->io_lost || r->io_error[0]) { /* the files do not hold all that was recorded */
        complete = false;
        snprintf(why, sizeof why, "%s; %llu records not written (%s)", reason,
                 (unsigned long long)r->io_lost,
                 r->io_error[0] ? r->io_error : "more streams than a case may record");
        reason = why;
    }
    json_t *e = json_pack("{s:s, s:s, s:b, s:I}", "type", "recording_closed", "reason", reason,
                          "complete", complete, "at_us", (json_int_t)now);
    uint64_t lost = r->io_lost;
    bool failed = r->io_error[0];
    record_event(r, e);
    json_decref(e);
    struct stream *log = stream_of(r, 0);
    if (log)
        stream_close(r, log, false);
    char why2[sizeof why + 160];
    if (r->io_lost != lost || (r->io_error[0] && !failed)) { /* the log's own end failed */
        complete = false;
        snprintf(why2, sizeof why2, "%s; the events log's end not written (%s)", reason,
                 r->io_error[0] ? r->io_error : "?");
        reason = why2;
    }
    sync_dir_if_created(r); /* the log's name, if it was made only now */
    /* every file is closed and synced: the rest is the sealer's */
    vg_sealer_close(r->ev->sealer, r->case_id, complete, reason, now);
    r->closed = true;
    g_ptr_array_remove(r->ev->open, r);
}

/* The files a paused recording leaves open: the last segment of each stream (the
 * ones before are chained into them) with its SHA-256, in a signed audit entry. Until
 * the next start nothing vouches for them otherwise; the resume checks them against
 * this entry, so a file changed or removed while vigild was down is named. */
static void audit_paused(struct vg_recording *r)
{
    json_t *files = json_object();
    for (unsigned i = 0; i < r->n_streams; i++) {
        struct stream *s = &r->streams[i];
        if (!s->seq)
            continue;
        char *path = stream_path(r, s, s->seq), *name = g_path_get_basename(path), hex[65];
        uint8_t sha[32];
        file_sha(path, sha);
        vg_ev_hex(sha, 32, hex);
        json_object_set_new(files, name, json_string(hex));
        g_free(name);
        g_free(path);
    }
    json_t *d = json_pack("{s:o}", "files", files);
    char *text = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text || vg_evidence_audit(r->ev, "vigild", "system", "recording_paused", r->case_id,
                                   "done", text) != VG_OK)
        vg_error(r->case_id, NULL, "evidence: the paused recording's files could not be audited");
    free(text);
    json_decref(d);
}

/* vigild stops while the case is live, and will resume its recording at the next
 * start (the owner's `live`): every file synced, then recording_paused last in the
 * events log, which tells the next start that nothing was lost here (and why the
 * recording stopped, if its case is not restored and it is sealed then). Not
 * sealed. */
static void pause_recording(struct vg_recording *r, const char *reason)
{
    if (r->closed)
        return;
    for (unsigned i = 0; i < r->n_streams; i++)
        if (r->streams[i].id)
            stream_close(r, &r->streams[i], false);
    sync_dir_if_created(r);
    char why[300];
    if (r->io_lost || r->io_error[0]) { /* what the resume or the seal must still say */
        snprintf(why, sizeof why, "%s; %llu records not written (%s)", reason,
                 (unsigned long long)r->io_lost,
                 r->io_error[0] ? r->io_error : "more streams than a case may record");
        reason = why;
    }
    json_t *e = json_pack("{s:s, s:s, s:I}", "type", "recording_paused", "reason", reason, "at_us",
                          (json_int_t)g_get_real_time());
    record_event(r, e);
    json_decref(e);
    struct stream *log = stream_of(r, 0);
    if (log)
        stream_close(r, log, false);
    sync_dir_if_created(r);
    audit_paused(r);
    vg_info(r->case_id, NULL, "evidence: recording paused (%s): resumed at the next start", reason);
    r->closed = true;
    g_ptr_array_remove(r->ev->open, r);
}

static void stop_recording(struct vg_recording *r)
{
    const char *why = "vigild stopped while the case was open";
    if (r->ev->cfg.live)
        pause_recording(r, why);
    else
        close_recording(r, false, why);
}

static void free_recording(struct vg_recording *r)
{
    stop_recording(r);
    for (unsigned i = 0; i < r->n_streams; i++) {
        g_free(r->streams[i].iov);
        g_free(r->streams[i].tail);
    }
    g_free(r->dir);
    g_aligned_free(r);
}

/* Reseal and append items reach the sealer through the writer: after the case's
 * close, which the writer handled first (the items are FIFO), so after its seal. */
static void to_sealer(struct vg_evidence *ev, const struct item *it)
{
    const char *case_id = (const char *)it->data, *why = case_id + strlen(case_id) + 1;
    const char *third = why + strlen(why) + 1; /* the event, or the upload's name */
    if (it->type == IT_APPEND)
        vg_sealer_append(ev->sealer, case_id, it->at_us, third, why);
    else
        vg_sealer_reseal(ev->sealer, case_id, third, (const uint8_t *)third + strlen(third) + 1,
                         why);
}

static void handle(struct vg_evidence *ev, struct item *it)
{
    if (it->type == IT_RESEAL || it->type == IT_APPEND)
        return to_sealer(ev, it);
    if (it->type == IT_STALL) {
        atomic_store(it->started, 1); /* the caller's: not touched after this */
        g_usleep((gulong)it->lost * 1000);
        return;
    }
    struct vg_recording *r = it->rec;
    if (it->type != IT_FREE)
        note_open(ev, r);
    switch (it->type) {
    case IT_EVENT:
        if (!r->closed)
            write_event(r, it->at_us, (const char *)it->data, it->len);
        break;
    case IT_GAP: on_gap(r, it->leg, it->at_us, it->to_us, it->lost); break;
    case IT_FINISH: close_recording(r, true, r->reason); break;
    case IT_FREE: free_recording(r); break;
    case IT_RESEAL:
    case IT_APPEND:
    case IT_STALL: break;
    }
}

/* Every tail at least min_age_us old is written as it is. At each wake-up with
 * TAIL_US (a leg gone quiet, or a slow one): so a kill -9 loses at most about two
 * wake-ups of any leg (the ring's and the tail's), not a sync period. */
static void write_tails(struct vg_evidence *ev, int64_t min_age_us)
{
    int64_t now = mono_us();
    for (guint i = 0; i < ev->open->len; i++) {
        struct vg_recording *r = ev->open->pdata[i];
        for (unsigned k = 0; k < r->n_streams; k++) {
            struct stream *s = &r->streams[k];
            if (s->fd >= 0 && s->tail_len && now - s->tail_us >= min_age_us)
                stream_flush(r, s, true);
        }
    }
}

/* Every file's writeback started (SYNC_FILE_RANGE_WRITE does not wait), its tail
 * written first, before the first fdatasync waits: the device gets the writes back to
 * back instead of one at a time, each behind the wait for the one before.
 * `evwrite 100 28000 10` with and without this pass (aligned+falloc): 0.46-0.59
 * against 0.61-0.82 ms of CPU per MB, most of the difference the VM's exits to
 * notify the disk of each request. An error here shows again in the fdatasync. */
static void start_writeback(struct vg_evidence *ev)
{
    write_tails(ev, 0); /* what the sync covers is all in the files */
    for (guint i = 0; i < ev->open->len; i++) {
        struct vg_recording *r = ev->open->pdata[i];
        for (unsigned k = 0; k < r->n_streams; k++) {
            struct stream *s = &r->streams[k];
            if (s->fd >= 0 && s->dirty)
                (void)sync_file_range(s->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
    }
}

static void sync_all(struct vg_evidence *ev)
{
    start_writeback(ev);
    for (guint i = 0; i < ev->open->len; i++) {
        struct vg_recording *r = ev->open->pdata[i];
        bool any = false;
        for (unsigned k = 0; k < r->n_streams; k++) {
            struct stream *s = &r->streams[k];
            if (s->fd >= 0 && s->dirty) {
                if (fdatasync(s->fd) != 0)
                    io_failed(r, "a sync", errno, 0);
                s->dirty = false;
                any = true;
            }
        }
        if (any) /* a new file is durable once its directory entry is */
            sync_dir_if_created(r);
        if (!r->err_since_sync)
            r->failing = false; /* a later failure alerts again */
        r->err_since_sync = false;
    }
}

static gpointer writer_main(gpointer data)
{
    struct vg_evidence *ev = data;
    int64_t last_sync = mono_us();
    for (;;) {
        g_mutex_lock(&ev->lock);
        if (!ev->head && !ev->stop && !atomic_load(&ev->kicked))
            g_cond_wait_until(&ev->cond, &ev->lock, mono_us() + WAKE_MS * 1000);
        struct item *list = ev->head;
        ev->head = ev->tail = NULL;
        bool stop = ev->stop, idle = !list;
        ev->pub = ev->st; /* counters as of the last batch, for /metrics */
        g_mutex_unlock(&ev->lock);
        atomic_store(&ev->kicked, false);
        /* Rings first: what a tap queued before its recording was freed is in them. */
        if (drain_rings(ev))
            idle = false;
        while (list) {
            struct item *next = list->next;
            handle(ev, list);
            g_free(list);
            list = next;
        }
        write_tails(ev, TAIL_US);
        if (mono_us() - last_sync >= SYNC_US) {
            sync_all(ev);
            last_sync = mono_us();
        }
        if (stop && idle) /* nobody queues after close: the last pass found nothing */
            break;
    }
    sync_all(ev);
    return NULL;
}

/* Alerts to the owner ----------------------------------------------------------------------- */

/* Carries its own callback: it may run after vg_evidence_close() freed ev. */
struct alert_msg {
    void (*fn)(const char *case_id, const char *kind, const char *detail_json, void *ud);
    void *ud;
    char case_id[VG_EV_CASE_MAX + 1], kind[32];
    char *detail;
};

static gboolean alert_run(gpointer data)
{
    struct alert_msg *a = data;
    if (a->fn)
        a->fn(a->case_id, a->kind, a->detail, a->ud);
    return G_SOURCE_REMOVE;
}

static void alert_free(gpointer data)
{
    struct alert_msg *a = data;
    free(a->detail);
    g_free(a);
}

static void alert_later(struct vg_evidence *ev, const char *case_id, const char *kind,
                        json_t *detail)
{
    struct alert_msg *a = g_new0(struct alert_msg, 1);
    a->fn = ev->cfg.alert;
    a->ud = ev->cfg.ud;
    snprintf(a->case_id, sizeof a->case_id, "%s", case_id);
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    a->detail = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    vg_warn(case_id, NULL, "evidence: %s %s", kind, a->detail ? a->detail : "");
    g_main_context_invoke_full(ev->cfg.owner, G_PRIORITY_DEFAULT, alert_run, a, alert_free);
}

/* Open, recover, close ------------------------------------------------------------------------- */

/* The sealer's audit entries and alerts (seal.h), on the service's log and owner. */
static int seal_audit(void *ud, const char *action, const char *case_id, const char *result,
                      const char *detail_json)
{
    return vg_evidence_audit(ud, "vigild", "system", action, case_id, result, detail_json);
}

static int seal_audit_unless_held(void *ud, struct vg_audit_index *x, const char *action,
                                  const char *case_id, const char *result, const char *detail_json,
                                  int64_t *held)
{
    struct vg_evidence *ev = ud;
    g_mutex_lock(&ev->audit_lock); /* vigild's own holds wait for it here */
    int rc = vg_audit_append_unless_held(ev->audit, x, g_get_real_time(), "vigild", "system",
                                         action, case_id, result, detail_json, held);
    g_mutex_unlock(&ev->audit_lock);
    if (rc && rc != VG_EPERM)
        vg_error(case_id, NULL, "evidence: the audit log could not be written (%s)",
                 vg_strerror(rc));
    return rc;
}

static void seal_alert(void *ud, const char *case_id, const char *kind, json_t *detail)
{
    alert_later(ud, case_id, kind, detail);
}

static bool seal_resume(void *ud, const char *case_id)
{
    struct vg_evidence *ev = ud;
    return ev->cfg.live && ev->cfg.live(case_id, ev->cfg.ud);
}

int vg_evidence_open(const struct vg_evidence_config *cfg, struct vg_evidence **out, char *err,
                     size_t errlen)
{
    struct vg_evidence *ev = g_new0(struct vg_evidence, 1);
    ev->cfg = *cfg;
    ev->dir = g_strdup(cfg->dir);
    ev->cfg.dir = ev->dir;
    ev->cfg.key_path = NULL;
    if (!ev->cfg.queue_kb)
        ev->cfg.queue_kb = QUEUE_KB_DEFAULT;
    ev->ring_bytes = (size_t)ev->cfg.queue_kb * 1024;
    if (!ev->cfg.segment_seconds)
        ev->cfg.segment_seconds = 60;
    if (!ev->cfg.segment_mb)
        ev->cfg.segment_mb = 64;
    if (g_mkdir_with_parents(ev->dir, 0700) != 0) {
        snprintf(err, errlen, "evidence dir %s: %s", ev->dir, strerror(errno));
        g_free(ev->dir);
        g_free(ev);
        return VG_EIO;
    }
    char *audit = g_build_filename(ev->dir, "audit.log", NULL);
    int rc = vg_evkey_load_or_create(cfg->key_path, &ev->key, err, errlen);
    if (rc == VG_OK)
        rc = vg_audit_open(audit, ev->key, &ev->audit, err, errlen);
    if (rc) {
        g_free(audit);
        EVP_PKEY_free(ev->key);
        g_free(ev->dir);
        g_free(ev);
        return rc;
    }
    g_mutex_init(&ev->audit_lock);
    ev->holds = vg_audit_index_new(audit, ev->key);
    g_free(audit);
    ev->resumable = json_object();
    ev->recovered =
        vg_seal_recover(&(struct vg_seal_env){ev->dir, ev->key, seal_audit, seal_alert, ev, NULL,
                                              seal_resume, seal_audit_unless_held},
                        ev->resumable);
    ev->open = g_ptr_array_new();
    ev->dirty = g_ptr_array_new();
    ev->serial = atomic_fetch_add(&next_serial, 1);
    unsigned n = 0; /* a ring that cannot be had now is tried again at a first packet */
    while (n < cfg->producers && n < MAX_RINGS && (ev->rings[n] = vg_ring_new(ev->ring_bytes)))
        n++;
    atomic_store(&ev->n_rings, n);
    g_mutex_init(&ev->lock);
    g_cond_init(&ev->cond);
    ev->sealer = vg_sealer_start(&(struct vg_seal_env){ev->dir, ev->key, seal_audit, seal_alert, ev,
                                                       NULL, NULL, seal_audit_unless_held});
    ev->thread = g_thread_new("vigil-evidence", writer_main, ev);
    *out = ev;
    return VG_OK;
}

void vg_evidence_close(struct vg_evidence *ev)
{
    if (!ev)
        return;
    g_mutex_lock(&ev->lock);
    ev->stop = true;
    g_cond_signal(&ev->cond);
    g_mutex_unlock(&ev->lock);
    g_thread_join(ev->thread);
    while (ev->open->len) /* still referenced: the caller broke the contract */
        stop_recording(ev->open->pdata[0]);
    vg_sealer_stop(ev->sealer); /* every seal queued is done before we return */
    g_ptr_array_free(ev->open, TRUE);
    g_ptr_array_free(ev->dirty, TRUE);
    for (unsigned i = 0; i < atomic_load(&ev->n_rings); i++)
        vg_ring_free(ev->rings[i]);
    g_mutex_clear(&ev->lock);
    g_cond_clear(&ev->cond);
    json_decref(ev->resumable);
    vg_audit_free(ev->audit);
    vg_audit_index_free(ev->holds);
    g_mutex_clear(&ev->audit_lock);
    EVP_PKEY_free(ev->key);
    g_free(ev->dir);
    g_free(ev);
}

unsigned vg_evidence_recovered(const struct vg_evidence *ev)
{
    return ev->recovered;
}

const char *vg_evidence_dir(const struct vg_evidence *ev)
{
    return ev->dir;
}

int vg_evidence_audit(struct vg_evidence *ev, const char *actor, const char *role,
                      const char *action, const char *case_id, const char *result,
                      const char *detail_json)
{
    g_mutex_lock(&ev->audit_lock);
    int rc = vg_audit_append(ev->audit, g_get_real_time(), actor, role, action, case_id, result,
                             detail_json);
    g_mutex_unlock(&ev->audit_lock);
    if (rc)
        vg_error(case_id, NULL, "evidence: the audit log could not be written (%s)",
                 vg_strerror(rc));
    return rc;
}

bool vg_evidence_held(struct vg_evidence *ev, const char *case_id, int64_t *line)
{
    return vg_audit_index_held(ev->holds, case_id, line) == VG_OK;
}

int vg_evidence_hold(struct vg_evidence *ev, const char *actor, const char *role,
                     const char *case_id, bool place, const char *reason)
{
    json_t *d = json_pack("{s:s}", "reason", reason ? reason : "");
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    int rc = text ? vg_evidence_audit(ev, actor, role, "legal_hold", case_id,
                                      place ? "placed" : "lifted", text)
                  : VG_EINVAL;
    free(text);
    json_decref(d);
    return rc;
}

void vg_evidence_get_stats(struct vg_evidence *ev, struct vg_evidence_stats *out)
{
    g_mutex_lock(&ev->lock);
    *out = ev->pub;
    out->dropped = atomic_load(&ev->dropped);
    out->manifests = vg_sealer_manifests(ev->sealer);
    g_mutex_unlock(&ev->lock);
}

int vg_evidence_sweep(struct vg_evidence *ev, int64_t now_us, unsigned days)
{
    return vg_seal_sweep(&(struct vg_seal_env){ev->dir, ev->key, seal_audit, seal_alert, ev, NULL,
                                               NULL, seal_audit_unless_held},
                         now_us, days);
}

void vg_evidence_sweep_later(struct vg_evidence *ev, int64_t now_us, unsigned days)
{
    vg_sealer_sweep(ev->sealer, now_us, days);
}

void vg_evidence_skip_seals(struct vg_evidence *ev, bool skip)
{
    vg_sealer_skip_seals(ev->sealer, skip);
}
