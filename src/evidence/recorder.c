/* Recordings and the writer thread (see evidence.h).
 *
 * Producers (media workers, the main loop) only allocate an item and append it to
 * one list under one mutex; RTP items are counted against queue_packets and
 * refused beyond it (events and control items are never refused: they are few and
 * each one matters). The writer takes the whole list at once, at least every
 * WAKE_MS, appends records to per-stream buffers, writes them, and fdatasyncs
 * every file written since the last sync once a second: a kill -9 loses what is
 * in the queue (WAKE_MS of media), a power cut at most a second more. */
#include "evidence.h"

#include "audit.h"
#include "evfmt.h"
#include "evkey.h"
#include "log.h"
#include "manifest.h"
#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAKE_MS 100
#define SYNC_US 1000000
#define MAX_STREAMS 16 /* legs of one case, and its events log */

enum item_type { IT_RTP, IT_EVENT, IT_GAP, IT_FINISH, IT_FREE, IT_RESEAL };

struct item {
    struct item *next;
    enum item_type type;
    struct vg_recording *rec;
    uint64_t leg;
    uint8_t kind;
    int64_t at_us, to_us;
    uint64_t lost;
    uint32_t len;
    uint8_t data[];
};

struct stream {
    uint64_t id;
    int fd; /* -1: not open */
    uint32_t seq;
    int64_t opened_us; /* monotonic */
    size_t size;
    uint8_t prev[32];
    GByteArray *buf;
    bool dirty;
};

struct vg_recording {
    struct vg_evidence *ev;
    char case_id[VG_EV_CASE_MAX + 1];
    char *dir;
    gint refs;
    /* under ev->lock */
    bool finishing;
    uint64_t drops, drop_leg;
    int64_t drop_from, drop_to;
    /* writer only */
    struct stream streams[MAX_STREAMS];
    unsigned n_streams;
    bool closed, failing;
    uint64_t io_lost;
    int64_t io_from, io_to;
    char reason[128];
};

struct vg_evidence {
    struct vg_evidence_config cfg;
    char *dir;
    EVP_PKEY *key;
    struct vg_audit *audit;
    GThread *thread;
    GMutex lock;
    GCond cond;
    struct item *head, *tail;
    unsigned n_rtp;
    bool stop;
    GPtrArray *open; /* writer: recordings not closed yet */
    unsigned recovered;
    struct vg_evidence_stats st;  /* the writer's own counters */
    struct vg_evidence_stats pub; /* a copy for readers, under lock */
    uint64_t dropped;             /* under lock */
};

static int64_t mono_us(void)
{
    return g_get_monotonic_time();
}

/* Producers --------------------------------------------------------------------------- */

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

/* Under ev->lock. */
static void append(struct vg_evidence *ev, struct item *it)
{
    if (ev->tail)
        ev->tail->next = it;
    else
        ev->head = it;
    ev->tail = it;
}

static void push_control(struct vg_evidence *ev, struct item *it)
{
    g_mutex_lock(&ev->lock);
    append(ev, it);
    g_cond_signal(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

void vg_recording_rtp(struct vg_recording *r, uint64_t leg, unsigned kind, int64_t at_us,
                      const uint8_t *rtp, size_t len)
{
    struct vg_evidence *ev = r->ev;
    if (len > VG_EV_REC_MAX || kind > 1)
        return;
    struct item *it = new_item(IT_RTP, r, len);
    if (it) {
        it->leg = leg;
        it->kind = (uint8_t)kind;
        it->at_us = at_us;
        memcpy(it->data, rtp, len);
    }
    g_mutex_lock(&ev->lock);
    if (r->finishing) {
        g_mutex_unlock(&ev->lock);
        g_free(it);
        return;
    }
    if (!it || ev->n_rtp >= ev->cfg.queue_packets) {
        /* Dropped: remember the gap, written when the queue takes packets again. */
        if (!r->drops++) {
            r->drop_from = at_us;
            r->drop_leg = leg;
        }
        r->drop_to = at_us;
        ev->dropped++;
        g_mutex_unlock(&ev->lock);
        g_free(it);
        return;
    }
    if (r->drops) {
        struct item *gap = new_item(IT_GAP, r, 0);
        if (gap) {
            gap->leg = r->drop_leg;
            gap->at_us = r->drop_from;
            gap->to_us = r->drop_to;
            gap->lost = r->drops;
            append(ev, gap);
            r->drops = 0;
        }
    }
    append(ev, it);
    ev->n_rtp++;
    g_mutex_unlock(&ev->lock);
}

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
    g_mutex_lock(&r->ev->lock);
    r->finishing = true;
    append(r->ev, it);
    g_cond_signal(&r->ev->cond);
    g_mutex_unlock(&r->ev->lock);
    vg_recording_unref(r);
}

void vg_evidence_reseal(struct vg_evidence *ev, const char *case_id, const char *why)
{
    size_t n = strlen(case_id), w = strlen(why);
    if (n > VG_EV_CASE_MAX || strchr(case_id, '/') || case_id[0] == '.' || w > 200)
        return;
    struct item *it = new_item(IT_RESEAL, NULL, n + 1 + w + 1);
    if (!it)
        return;
    memcpy(it->data, case_id, n + 1);
    memcpy(it->data + n + 1, why, w + 1);
    push_control(ev, it); /* after the case's IT_FINISH, so its manifest exists */
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
    struct vg_recording *r = g_new0(struct vg_recording, 1);
    r->ev = ev;
    r->dir = dir;
    r->refs = 1;
    snprintf(r->case_id, sizeof r->case_id, "%s", case_id);
    for (int i = 0; i < MAX_STREAMS; i++)
        r->streams[i].fd = -1;
    /* The writer learns of it with its first item (open list kept writer-side). */
    return r;
}

/* The writer ------------------------------------------------------------------------------ */

static void alert_later(struct vg_evidence *ev, const char *case_id, const char *kind,
                        json_t *detail);

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
        vg_error(r->case_id, NULL, "evidence: cannot create %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        g_free(path);
        return VG_EIO;
    }
    g_free(path);
    s->fd = fd;
    s->seq++;
    s->size = sizeof hdr;
    s->opened_us = mono_us();
    s->dirty = true;
    r->ev->st.segments++;
    return VG_OK;
}

/* Writes what the stream buffered; a failed write is cut back off the file so the
 * segment stays whole, and the loss is counted as a gap. */
static void stream_flush(struct vg_recording *r, struct stream *s)
{
    if (s->fd < 0 || !s->buf || !s->buf->len)
        return;
    if (write_all(s->fd, s->buf->data, s->buf->len) == VG_OK) {
        s->size += s->buf->len;
        s->dirty = true;
    } else {
        int e = errno;
        if (ftruncate(s->fd, (off_t)s->size) != 0)
            vg_error(r->case_id, NULL, "evidence: cannot cut a failed write back");
        r->ev->st.write_errors++;
        if (!r->failing)
            alert_later(r->ev, r->case_id, "recording_error",
                        json_pack("{s:s, s:s}", "error", strerror(e), "dir", r->dir));
        r->failing = true;
        r->io_lost++;
    }
    g_byte_array_set_size(s->buf, 0);
}

static void stream_close(struct vg_recording *r, struct stream *s)
{
    if (s->fd < 0)
        return;
    stream_flush(r, s);
    fdatasync(s->fd);
    close(s->fd);
    s->fd = -1;
    char *path = stream_path(r, s, s->seq);
    file_sha(path, s->prev); /* the next segment names it: the chain */
    g_free(path);
}

static struct stream *stream_of(struct vg_recording *r, uint64_t id)
{
    for (unsigned i = 0; i < r->n_streams; i++)
        if (r->streams[i].id == id)
            return &r->streams[i];
    if (r->n_streams == MAX_STREAMS)
        return NULL;
    struct stream *s = &r->streams[r->n_streams++];
    s->id = id;
    s->fd = -1;
    s->buf = g_byte_array_sized_new(64 * 1024);
    return s;
}

static void record(struct vg_recording *r, uint64_t stream, uint8_t type, uint8_t kind,
                   int64_t at_us, const uint8_t *data, uint32_t len)
{
    struct vg_evidence *ev = r->ev;
    struct stream *s = stream_of(r, stream);
    if (!s)
        return;
    bool roll =
        s->fd >= 0 && (s->size + s->buf->len > (size_t)ev->cfg.segment_mb * 1024 * 1024 ||
                       mono_us() - s->opened_us > (int64_t)ev->cfg.segment_seconds * 1000000);
    if (roll)
        stream_close(r, s);
    if (s->fd < 0 && stream_open(r, s, at_us) != VG_OK) {
        r->io_lost++;
        return;
    }
    struct vg_ev_record rec = {type, kind, at_us, data, len};
    size_t old = s->buf->len;
    g_byte_array_set_size(s->buf, (guint)(old + VG_EV_REC_HDR + len));
    vg_ev_record_write(&rec, s->buf->data + old, VG_EV_REC_HDR + len);
    if (s->buf->len > 256 * 1024)
        stream_flush(r, s);
}

static void record_event(struct vg_recording *r, json_t *e)
{
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_int_t at = json_integer_value(json_object_get(e, "at_us"));
    if (text)
        record(r, 0, VG_EV_REC_EVENT, 0, at, (const uint8_t *)text, (uint32_t)strlen(text));
    r->ev->st.events++;
    free(text);
}

static void on_gap(struct vg_recording *r, const struct item *it)
{
    char leg[24];
    snprintf(leg, sizeof leg, "%llu", (unsigned long long)it->leg);
    json_t *e =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "type", "gap", "leg", leg, "from_us",
                  (json_int_t)it->at_us, "to_us", (json_int_t)it->to_us, "packets",
                  (json_int_t)it->lost, "reason", "queue_full", "at_us", (json_int_t)it->at_us);
    record_event(r, e);
    alert_later(r->ev, r->case_id, "recording_gap", e); /* takes e */
}

static void close_recording(struct vg_recording *r, bool complete, const char *reason)
{
    if (r->closed)
        return;
    int64_t now = g_get_real_time();
    json_t *e = json_pack("{s:s, s:s, s:I}", "type", "recording_closed", "reason", reason, "at_us",
                          (json_int_t)now);
    record_event(r, e);
    json_decref(e);
    for (unsigned i = 0; i < r->n_streams; i++)
        stream_close(r, &r->streams[i]);
    char err[300];
    if (vg_manifest_write(r->dir, r->case_id, r->ev->key, complete, reason, now, err, sizeof err))
        vg_error(r->case_id, NULL, "evidence: %s", err);
    else
        r->ev->st.manifests++;
    vg_info(r->case_id, NULL, "evidence: recording closed (%s)%s", reason,
            complete ? "" : ": incomplete");
    r->closed = true;
    g_ptr_array_remove(r->ev->open, r);
}

static void free_recording(struct vg_recording *r)
{
    close_recording(r, false, "vigild stopped while the case was open");
    for (unsigned i = 0; i < r->n_streams; i++)
        g_byte_array_free(r->streams[i].buf, TRUE);
    g_free(r->dir);
    g_free(r);
}

/* A file joined a closed recording (a citizen's upload that finished after the case
 * ended): the manifest is written again over every file, keeping whether the
 * recording was complete and saying why it was resealed. */
static void reseal(struct vg_evidence *ev, const struct item *it)
{
    const char *case_id = (const char *)it->data, *why = case_id + strlen(case_id) + 1;
    char *dir = g_build_filename(ev->dir, case_id, NULL);
    char *path = g_build_filename(dir, "manifest.json", NULL);
    json_t *old = json_load_file(path, 0, NULL);
    if (old) {
        char reason[300], err[300];
        const char *was = json_string_value(json_object_get(old, "reason"));
        snprintf(reason, sizeof reason, "%s; resealed: %s", was ? was : "", why);
        if (vg_manifest_write(dir, case_id, ev->key, json_is_true(json_object_get(old, "complete")),
                              reason, g_get_real_time(), err, sizeof err))
            vg_error(case_id, NULL, "evidence: reseal: %s", err);
        else
            vg_info(case_id, NULL, "evidence: manifest resealed (%s)", why);
        json_decref(old);
    }
    g_free(path);
    g_free(dir);
}

static void handle(struct vg_evidence *ev, struct item *it)
{
    if (it->type == IT_RESEAL)
        return reseal(ev, it);
    struct vg_recording *r = it->rec;
    if (it->type != IT_FREE && !r->closed && !g_ptr_array_find(ev->open, r, NULL))
        g_ptr_array_add(ev->open, r);
    switch (it->type) {
    case IT_RTP:
        if (!r->closed) {
            record(r, it->leg, VG_EV_REC_RTP, it->kind, it->at_us, it->data, it->len);
            ev->st.packets++;
            ev->st.bytes += it->len;
        }
        break;
    case IT_EVENT:
        if (!r->closed) {
            record(r, 0, VG_EV_REC_EVENT, 0, it->at_us, it->data, it->len);
            ev->st.events++;
        }
        break;
    case IT_GAP:
        if (!r->closed)
            on_gap(r, it);
        break;
    case IT_FINISH: close_recording(r, true, r->reason); break;
    case IT_FREE: free_recording(r); break;
    case IT_RESEAL: break;
    }
}

static void sync_all(struct vg_evidence *ev)
{
    for (guint i = 0; i < ev->open->len; i++) {
        struct vg_recording *r = ev->open->pdata[i];
        bool any = false;
        for (unsigned k = 0; k < r->n_streams; k++) {
            struct stream *s = &r->streams[k];
            stream_flush(r, s);
            if (s->fd >= 0 && s->dirty) {
                fdatasync(s->fd);
                s->dirty = false;
                any = true;
            }
        }
        if (any) { /* new files are only durable once their directory entry is */
            int fd = open(r->dir, O_RDONLY | O_DIRECTORY);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
        }
        if (r->failing && r->io_lost == 0)
            r->failing = false;
    }
}

static void flush_all(struct vg_evidence *ev)
{
    for (guint i = 0; i < ev->open->len; i++) {
        struct vg_recording *r = ev->open->pdata[i];
        for (unsigned k = 0; k < r->n_streams; k++)
            stream_flush(r, &r->streams[k]);
    }
}

static gpointer writer_main(gpointer data)
{
    struct vg_evidence *ev = data;
    int64_t last_sync = mono_us();
    for (;;) {
        g_mutex_lock(&ev->lock);
        if (!ev->head && !ev->stop)
            g_cond_wait_until(&ev->cond, &ev->lock, mono_us() + WAKE_MS * 1000);
        struct item *list = ev->head;
        ev->head = ev->tail = NULL;
        ev->n_rtp = 0;
        bool stop = ev->stop;
        ev->pub = ev->st; /* counters as of the last batch, for /metrics */
        g_mutex_unlock(&ev->lock);
        while (list) {
            struct item *next = list->next;
            handle(ev, list);
            g_free(list);
            list = next;
        }
        /* Written at every wake-up: a killed process loses only the queue. */
        flush_all(ev);
        if (mono_us() - last_sync >= SYNC_US) {
            sync_all(ev);
            last_sync = mono_us();
        }
        if (stop && !list) {
            g_mutex_lock(&ev->lock);
            bool empty = ev->head == NULL;
            g_mutex_unlock(&ev->lock);
            if (empty)
                break;
        }
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

/* Every case directory without a signed manifest was being recorded when vigild
 * died: close it as incomplete, cut at its last complete record. */
static void recover(struct vg_evidence *ev)
{
    GDir *d = g_dir_open(ev->dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *dir = g_build_filename(ev->dir, n, NULL);
        char *sig = g_build_filename(dir, "manifest.sig", NULL);
        if (g_file_test(dir, G_FILE_TEST_IS_DIR) && !g_file_test(sig, G_FILE_TEST_EXISTS)) {
            char err[300];
            const char *why = "vigild stopped unexpectedly; closed as incomplete at restart";
            if (vg_manifest_write(dir, n, ev->key, false, why, g_get_real_time(), err, sizeof err))
                vg_error(n, NULL, "evidence: could not close the crashed recording: %s", err);
            else {
                ev->recovered++;
                vg_warn(n, NULL, "evidence: recording left open by a crash closed as incomplete");
                vg_audit_append(ev->audit, g_get_real_time(), "vigild", "system",
                                "recording_recovered", n, "done", NULL);
            }
        }
        g_free(sig);
        g_free(dir);
    }
    if (d)
        g_dir_close(d);
}

int vg_evidence_open(const struct vg_evidence_config *cfg, struct vg_evidence **out, char *err,
                     size_t errlen)
{
    struct vg_evidence *ev = g_new0(struct vg_evidence, 1);
    ev->cfg = *cfg;
    ev->dir = g_strdup(cfg->dir);
    ev->cfg.dir = ev->dir;
    ev->cfg.key_path = NULL;
    if (!ev->cfg.queue_packets)
        ev->cfg.queue_packets = 8192;
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
    g_free(audit);
    if (rc) {
        EVP_PKEY_free(ev->key);
        g_free(ev->dir);
        g_free(ev);
        return rc;
    }
    recover(ev);
    ev->open = g_ptr_array_new();
    g_mutex_init(&ev->lock);
    g_cond_init(&ev->cond);
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
        close_recording(ev->open->pdata[0], false, "vigild stopped while the case was open");
    g_ptr_array_free(ev->open, TRUE);
    g_mutex_clear(&ev->lock);
    g_cond_clear(&ev->cond);
    vg_audit_free(ev->audit);
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
    int rc = vg_audit_append(ev->audit, g_get_real_time(), actor, role, action, case_id, result,
                             detail_json);
    if (rc)
        vg_error(case_id, NULL, "evidence: the audit log could not be written (%s)",
                 vg_strerror(rc));
    return rc;
}

void vg_evidence_get_stats(struct vg_evidence *ev, struct vg_evidence_stats *out)
{
    g_mutex_lock(&ev->lock);
    *out = ev->pub;
    out->dropped = ev->dropped;
    g_mutex_unlock(&ev->lock);
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            remove_tree(p);
        else
            g_unlink(p);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

int vg_evidence_sweep(struct vg_evidence *ev, int64_t now_us, unsigned days)
{
    if (!days)
        return 0;
    int deleted = 0;
    GDir *d = g_dir_open(ev->dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *dir = g_build_filename(ev->dir, n, NULL);
        char *mp = g_build_filename(dir, "manifest.json", NULL);
        gchar *text = NULL;
        json_t *m = g_file_get_contents(mp, &text, NULL, NULL) ? json_loads(text, 0, NULL) : NULL;
        json_int_t closed = json_integer_value(json_object_get(m, "closed_us"));
        if (m && closed && closed < now_us - (int64_t)days * 86400 * 1000000) {
            char detail[120];
            snprintf(detail, sizeof detail, "{\"retention_days\":%u,\"closed_us\":%lld}", days,
                     (long long)closed);
            remove_tree(dir);
            vg_evidence_audit(ev, "vigild", "system", "delete_expired", n, "done", detail);
            vg_info(n, NULL, "evidence: recording deleted after %u days", days);
            deleted++;
        }
        json_decref(m);
        g_free(text);
        g_free(mp);
        g_free(dir);
    }
    if (d)
        g_dir_close(d);
    return deleted;
}
