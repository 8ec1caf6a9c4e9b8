/* Citizens' uploads over HTTPS: the /api/ exchanges of the upload contract
 * (docs/protocol.md, "Uploads").
 *
 * A file arrives in chunks, each one request whose Content-Length is at most
 * chunk_max and whose ?offset= must be where the upload stands. A chunk is taken
 * whole or not at all: the adapter gathers its body, and only then is it written
 * at its offset, synced, hashed and counted in the store (file first, then the
 * row: the row never claims bytes the disk does not hold). A connection that
 * drops mid-chunk therefore leaves the upload at the last whole chunk, which is
 * what GET reports and where the client resumes. A newer chunk request for the
 * same upload supersedes one still open (its client has given up on it).
 *
 * The SHA-256 runs as chunks are committed; after a restart the hash state is
 * gone, so it is rebuilt once from the partial file before the next chunk. The
 * type comes from the first bytes (src/case/sniff.c); a type not allowed drops
 * the upload at once. Completed files are renamed into the case's evidence and
 * never written again.
 *
 * A chunk's disk work (the write, its sync, the hash, and a hash's rebuild over
 * a partial file of up to a video's size) runs on a small pool of threads: on a
 * busy disk a sync takes from milliseconds to seconds, and on the main loop it
 * would hold up every case's signaling. The main loop checks, records in the
 * store and answers; a job touches only its upload's partial file and hash, and
 * an upload has one job at a time (a chunk that comes meanwhile waits for it).
 *
 * Memory: per open upload, the chunk arriving (in the adapter) and at most two
 * in a job (one written, one waiting), so at most 3 x max_open x chunk_bytes;
 * files stay on disk. */
#include "hub_internal.h"

#include "datadir.h"
#include "log.h"
#include "sniff.h"
#include "upload_store.h"
#include "vg_err.h"
#include "vtime.h"

#include <errno.h>
#include <glib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATE_BODY_MAX 4096
#define NAME_MAX_BYTES 255
/* A path under the data dir: the dir itself plus our own short names. */
#define PATH_BUF (PATH_MAX + 160)

static const char *const photo_types[] = {"image/jpeg", "image/png", "image/webp", NULL};

/* A chunk's disk work, done on the pool (chunk_io) and finished on the main loop
 * (chunk_done). While it runs, only it touches the upload's fd and hash. */
struct chunk_job {
    char upload_id[24];
    char case_id[VG_CASE_ID_MAX + 1];
    struct vg_http_exchange *x; /* NULL once its connection is gone */
    int64_t offset;             /* where the body goes: the upload's received bytes */
    uint8_t *body;
    size_t len;
    char type[sizeof((struct vg_upload_row *)0)->type]; /* known from the first bytes */
    int fd;
    EVP_MD_CTX *sha;
    int64_t hashed;     /* bytes the hash covers (-1: rebuild over offset first) */
    bool rebuilt;       /* it was rebuilt */
    const char *failed; /* NULL, or what failed: "partial", "write", "hash" */
    int err;            /* errno of the failure */
};

/* An upload being written: its file and its running hash. */
struct upload_live {
    char id[24];
    int fd; /* the partial file, -1 until a chunk needs it */
    EVP_MD_CTX *sha;
    int64_t hashed;             /* bytes the hash covers; -1: rebuild before use */
    struct vg_http_exchange *x; /* the chunk in flight, if any */
    struct chunk_job *job;      /* its disk work, on the pool now */
    struct chunk_job *next;     /* a chunk that came while the job ran: started after it */
};

/* The pool and the jobs it has finished, handed to the main loop by one idle. */
struct upload_io {
    struct vg_hub *hub;
    GThreadPool *pool;
    GMutex lock;
    GQueue done; /* struct chunk_job*, under lock */
    guint idle;  /* under lock: the idle that takes them, if one is due */
};

#define UPLOAD_IO_THREADS 4

enum api_kind { API_CREATE, API_CHUNK, API_UNIT };

/* What an exchange waits for while its body arrives. */
struct pending {
    enum api_kind kind;
    char upload_id[24];
    char case_id[VG_CASE_ID_MAX + 1];
    int64_t offset;
};

/* Refusals since start, folded into the hub's stats when they are read: refuse()
 * has no hub at hand, and everything here runs on the one main loop. */
static uint64_t refused_count;

uint64_t uploads_refused_total(void)
{
    return refused_count;
}

/* Answers --------------------------------------------------------------------- */

/* x may be NULL (a completion finished at start-up): nobody to answer. */
static void answer(struct vg_http_exchange *x, int status, json_t *body)
{
    if (!x) {
        json_decref(body);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    vg_http_respond(x, status, text);
    free(text);
    json_decref(body);
}

static void refuse(struct vg_http_exchange *x, const char *case_id, int status, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Every refusal is logged with the exchange and the reason. */
static void refuse(struct vg_http_exchange *x, const char *case_id, int status, const char *code,
                   const char *fmt, ...)
{
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    refused_count++;
    vg_info(case_id && *case_id ? case_id : NULL, NULL, "http %llu: upload refused (%d %s): %s",
            x ? (unsigned long long)vg_http_exchange_id(x) : 0ULL, status, code, text);
    answer(x, status, json_pack("{s:s, s:s}", "error", code, "message", text));
}

/* Paths ------------------------------------------------------------------------ */

static void partial_path(const struct vg_hub *h, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/uploads-partial/%s.part", h->cfg->data_dir, id);
}

/* As stored: "evidence/<case>/uploads/<id>.<ext>", where "evidence/" stands for the
 * evidence dir ([evidence] dir, DATA/evidence by default: upload_abs()). */
static void final_rel(const char *case_id, const char *id, const char *ext, char *out, size_t n)
{
    snprintf(out, n, "evidence/%s/uploads/%s.%s", case_id, id, ext);
}

/* Where recordings (and so uploads) live. */
static void evidence_root(const struct vg_hub *h, char *out, size_t n)
{
    if (h->cfg->evidence_dir[0])
        snprintf(out, n, "%s", h->cfg->evidence_dir);
    else
        snprintf(out, n, "%s/evidence", h->cfg->data_dir);
}

/* A stored path on the disk. */
static void upload_abs(const struct vg_hub *h, const char *rel, char *out, size_t n)
{
    if (strncmp(rel, "evidence/", 9) == 0 && h->cfg->evidence_dir[0]) {
        g_snprintf(out, n, "%s/%s", h->cfg->evidence_dir, rel + 9);
        char old[PATH_BUF]; /* stored before uploads followed [evidence] dir: still there */
        g_snprintf(old, sizeof old, "%s/%s", h->cfg->data_dir, rel);
        if (access(out, F_OK) != 0 && access(old, F_OK) == 0)
            g_snprintf(out, n, "%s", old);
    } else {
        g_snprintf(out, n, "%s/%s", h->cfg->data_dir, rel);
    }
}

/* The live table --------------------------------------------------------------- */

static struct upload_live *live_get(struct vg_hub *h, const char *id, bool create)
{
    struct upload_live *u = g_hash_table_lookup(h->uploads, id);
    if (!u && create) {
        u = g_new0(struct upload_live, 1);
        snprintf(u->id, sizeof u->id, "%s", id);
        u->fd = -1;
        u->hashed = -1;
        g_hash_table_insert(h->uploads, u->id, u);
    }
    return u;
}

static void job_free(struct chunk_job *j)
{
    if (!j)
        return;
    g_free(j->body);
    g_free(j);
}

/* Never while its job runs: uploads_stop() waits for the pool first, and every
 * other way here leaves an upload with a job alone. */
static void live_free(gpointer p)
{
    struct upload_live *u = p;
    if (u->fd >= 0)
        close(u->fd);
    EVP_MD_CTX_free(u->sha);
    job_free(u->next);
    g_free(u);
}

static void live_forget(struct vg_hub *h, const char *id)
{
    g_hash_table_remove(h->uploads, id);
}

/* Drops an open upload: the row says why, the partial file goes. */
static void drop_upload(struct vg_hub *h, const struct vg_upload_row *row, const char *reason)
{
    char path[PATH_BUF];
    vg_store_upload_drop(h->store, row->id, reason, vg_wall_us());
    h->stats.uploads_dropped++;
    live_forget(h, row->id);
    partial_path(h, row->id, path, sizeof path);
    unlink(path);
    vg_warn(row->case_id, NULL, "upload %s dropped (%s) after %lld of %lld bytes", row->id, reason,
            (long long)row->received, (long long)row->size);
}

/* Authentication ------------------------------------------------------------------ */

/* The case a citizen's bearer token opens; false (answered 401) otherwise. */
static bool citizen_case(struct vg_hub *h, struct vg_http_exchange *x, const char *bearer,
                         struct vg_case_row *c)
{
    char hash[65];
    if (!bearer[0] || strlen(bearer) > 128) {
        refuse(x, NULL, 401, "unauthorized", "a case token is required (Authorization: Bearer)");
        return false;
    }
    hub_sha256_hex(bearer, hash);
    if (vg_store_case_by_token(h->store, hash, c)) {
        h->stats.forbidden++;
        refuse(x, NULL, 401, "unauthorized", "no case for this token");
        return false;
    }
    return true;
}

static bool case_open(const struct vg_case_row *c)
{
    return strcmp(c->state, "ended") != 0 && strcmp(c->state, "abandoned") != 0;
}

/* The upload a citizen's token may see: false (answered) when there is none. */
static bool citizen_upload(struct vg_hub *h, struct vg_http_exchange *x, const char *bearer,
                           const char *id, struct vg_case_row *c, struct vg_upload_row *u)
{
    if (!citizen_case(h, x, bearer, c))
        return false;
    if (vg_store_upload_get(h->store, id, u) || strcmp(u->case_id, c->id) != 0) {
        refuse(x, c->id, 404, "not_found", "no upload %.40s on this case", id);
        return false;
    }
    return true;
}

/* JSON views ------------------------------------------------------------------------ */

static json_t *upload_json(const struct vg_upload_row *u)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "upload_id", u->id, "name", u->name, "type",
                     u->type, "size", (json_int_t)u->size, "sha256", u->sha256, "at",
                     (json_int_t)(u->completed_us / 1000));
}

static int add_upload(const struct vg_upload_row *u, void *ud)
{
    json_array_append_new(ud, upload_json(u));
    return 0;
}

json_t *uploads_of_case(struct vg_hub *h, const char *case_id)
{
    json_t *a = json_array();
    vg_store_upload_list(h->store, case_id, add_upload, a);
    return a;
}

/* POST /api/uploads ------------------------------------------------------------------ */

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_BYTES)
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

static int64_t size_max(const struct vg_config *cfg)
{
    return cfg->upload_max_photo_bytes > cfg->upload_max_video_bytes ? cfg->upload_max_photo_bytes
                                                                     : cfg->upload_max_video_bytes;
}

/* Room on the case and on the gateway for one more upload. */
static bool room_for_one(struct vg_hub *h, struct vg_http_exchange *x, const char *case_id)
{
    const struct vg_config *cfg = h->cfg;
    struct vg_upload_counts n;
    int64_t open = 0;
    if (vg_store_upload_counts(h->store, case_id, photo_types, &n) ||
        vg_store_upload_open_count(h->store, &open)) {
        refuse(x, case_id, 500, "internal", "the store could not be read");
        return false;
    }
    /* The kind is known only from the first bytes: here, refuse only when no
     * kind has room, or when the case already has as many unfinished untyped
     * uploads as it could ever complete. The kind's own limit is checked when
     * its bytes show it. */
    if (n.photos >= cfg->upload_max_photos && n.videos >= cfg->upload_max_videos) {
        refuse(x, case_id, 409, "limit", "this case has its %d photos and %d videos",
               cfg->upload_max_photos, cfg->upload_max_videos);
        return false;
    }
    if (n.untyped >= cfg->upload_max_photos + cfg->upload_max_videos) {
        refuse(x, case_id, 409, "limit", "%lld uploads on this case are not started yet",
               (long long)n.untyped);
        return false;
    }
    if (open >= cfg->upload_max_open) {
        vg_warn(case_id, NULL, "uploads: %lld open, the limit of %d: refusing a new one",
                (long long)open, cfg->upload_max_open);
        refuse(x, case_id, 503, "busy", "too many uploads in progress; try again shortly");
        return false;
    }
    return true;
}

static void create_body(struct vg_hub *h, struct vg_http_exchange *x, const struct pending *p,
                        const uint8_t *body, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    const char *case_id = NULL, *name = NULL;
    json_int_t size = 0;
    if (!j ||
        json_unpack(j, "{s:s, s:s, s:I}", "case_id", &case_id, "name", &name, "size", &size)) {
        json_decref(j);
        return refuse(x, p->case_id, 400, "bad_request",
                      "body must be {\"case_id\": text, \"name\": text, \"size\": integer}");
    }
    struct vg_upload_row u = {0};
    if (strcmp(case_id, p->case_id) != 0)
        refuse(x, p->case_id, 401, "unauthorized", "the token is not for case %.30s", case_id);
    else if (!name_ok(name))
        refuse(x, p->case_id, 400, "bad_request",
               "name must be 1-255 bytes, no control characters");
    else if (size <= 0)
        refuse(x, p->case_id, 400, "bad_request", "size must be positive");
    else if (size > size_max(h->cfg))
        refuse(x, p->case_id, 413, "too_large", "%lld bytes is over the limit of %lld",
               (long long)size, (long long)size_max(h->cfg));
    else if (room_for_one(h, x, p->case_id)) {
        char rnd[65];
        hub_random_token(rnd, sizeof rnd);
        snprintf(u.id, sizeof u.id, "u-%.16s", rnd);
        snprintf(u.case_id, sizeof u.case_id, "%s", p->case_id);
        snprintf(u.name, sizeof u.name, "%s", name);
        u.size = size;
        u.created_us = vg_wall_us();
    }
    json_decref(j);
    if (!u.id[0])
        return;
    char path[PATH_BUF];
    partial_path(h, u.id, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || vg_store_upload_insert(h->store, &u)) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return refuse(x, u.case_id, 500, "internal", "the upload could not be recorded");
    }
    close(fd);
    vg_info(u.case_id, NULL, "upload %s started: %lld bytes", u.id, (long long)u.size);
    answer(x, 201,
           json_pack("{s:s, s:i, s:i}", "upload_id", u.id, "offset", 0, "chunk_max",
                     h->cfg->upload_chunk_bytes));
}

static void create_begin(struct vg_hub *h, struct vg_http_exchange *x,
                         const struct vg_http_request *r)
{
    struct vg_case_row c;
    if (!citizen_case(h, x, r->bearer, &c))
        return;
    int64_t now = vg_wall_us();
    if (!case_open(&c) && c.ended_us + (int64_t)h->cfg->upload_window_s * 1000000 < now)
        return refuse(x, c.id, 403, "closed",
                      "the case ended more than %d s ago: uploads are closed",
                      h->cfg->upload_window_s);
    if (r->content_length > CREATE_BODY_MAX)
        return refuse(x, c.id, 400, "bad_request", "the request body is over %d bytes",
                      CREATE_BODY_MAX);
    struct pending *p = g_new0(struct pending, 1);
    p->kind = API_CREATE;
    snprintf(p->case_id, sizeof p->case_id, "%s", c.id);
    vg_http_exchange_set_data(x, p);
    vg_http_want_body(x, CREATE_BODY_MAX);
}

/* POST /api/uploads/ID?offset=N ------------------------------------------------------- */

static bool parse_offset(const char *query, int64_t *out)
{
    const char *v = NULL;
    for (const char *q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
        if (strncmp(q, "offset=", 7) == 0)
            v = q + 7;
    if (!v || *v < '0' || *v > '9')
        return false;
    char *end;
    long long n = strtoll(v, &end, 10);
    if ((*end && *end != '&') || n < 0)
        return false;
    *out = n;
    return true;
}

static void offset_conflict(struct vg_http_exchange *x, const struct vg_upload_row *u,
                            int64_t asked)
{
    vg_info(u->case_id, NULL, "http %llu: upload %s chunk at %lld refused: it stands at %lld",
            x ? (unsigned long long)vg_http_exchange_id(x) : 0ULL, u->id, (long long)asked,
            (long long)u->received);
    answer(x, 409,
           json_pack("{s:s, s:I, s:b}", "error", "offset", "offset", (json_int_t)u->received,
                     "complete", strcmp(u->state, "complete") == 0));
}

static void chunk_begin(struct vg_hub *h, struct vg_http_exchange *x,
                        const struct vg_http_request *r, const char *id)
{
    struct vg_case_row c;
    struct vg_upload_row u;
    int64_t offset;
    if (!citizen_upload(h, x, r->bearer, id, &c, &u))
        return;
    if (strcmp(u.state, "dropped") == 0)
        return refuse(x, c.id, 410, "gone", "upload %s was dropped", u.id);
    if (!parse_offset(r->query, &offset))
        return refuse(x, c.id, 400, "bad_request", "?offset=N is required");
    if (strcmp(u.state, "complete") == 0 || offset != u.received)
        return offset_conflict(x, &u, offset);
    if (r->content_length == 0)
        return refuse(x, c.id, 400, "bad_request", "an empty chunk");
    if (r->content_length > h->cfg->upload_chunk_bytes)
        return refuse(x, c.id, 413, "too_large", "a chunk of %lld bytes is over chunk_max %d",
                      (long long)r->content_length, h->cfg->upload_chunk_bytes);
    if (r->content_length > 0 && offset + r->content_length > u.size)
        return refuse(x, c.id, 413, "too_large", "%lld bytes at %lld run past the size %lld",
                      (long long)r->content_length, (long long)offset, (long long)u.size);
    struct upload_live *l = live_get(h, u.id, true);
    if (l->x) {
        vg_info(c.id, NULL, "upload %s: a new chunk supersedes http %llu", u.id,
                (unsigned long long)vg_http_exchange_id(l->x));
        struct pending *old = vg_http_exchange_data(l->x);
        g_free(old);
        vg_http_exchange_set_data(l->x, NULL); /* api_done will not hear of it: forget it now */
        if (l->job && l->job->x == l->x)
            l->job->x = NULL; /* its work goes on */
        if (l->next && l->next->x == l->x) {
            job_free(l->next);
            l->next = NULL;
        }
        vg_http_abort(l->x);
    }
    l->x = x;
    struct pending *p = g_new0(struct pending, 1);
    p->kind = API_CHUNK;
    snprintf(p->upload_id, sizeof p->upload_id, "%s", u.id);
    snprintf(p->case_id, sizeof p->case_id, "%s", c.id);
    p->offset = offset;
    vg_http_exchange_set_data(x, p);
    vg_http_want_body(x, (size_t)h->cfg->upload_chunk_bytes);
}

/* Opens the partial file and makes the hash's state (not yet its contents). */
static int live_open(struct vg_hub *h, struct upload_live *l, const struct vg_upload_row *u)
{
    char path[PATH_BUF];
    partial_path(h, u->id, path, sizeof path);
    if (l->fd < 0 && (l->fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return VG_EIO;
    if (!l->sha && !(l->sha = EVP_MD_CTX_new()))
        return VG_ENOMEM;
    return VG_OK;
}

/* Hashes the first `received` bytes of the partial file (after a restart, or a
 * failed write); a file longer than that is cut back to it. Any thread. */
static int rehash(int fd, EVP_MD_CTX *sha, int64_t received)
{
    struct stat st;
    if (fstat(fd, &st) || st.st_size < received || ftruncate(fd, received))
        return VG_EIO;
    if (!EVP_DigestInit_ex(sha, EVP_sha256(), NULL))
        return VG_EIO;
    uint8_t buf[65536];
    int64_t at = 0;
    while (at < received) {
        size_t want =
            (size_t)(received - at < (int64_t)sizeof buf ? received - at : (int64_t)sizeof buf);
        ssize_t n = pread(fd, buf, want, at);
        if (n <= 0 || !EVP_DigestUpdate(sha, buf, (size_t)n))
            return VG_EIO;
        at += n;
    }
    return VG_OK;
}

/* Opens the partial file and brings the hash to `received`, here and now: for
 * the completions at start and after an interruption, not for chunks. */
static int live_ready(struct vg_hub *h, struct upload_live *l, const struct vg_upload_row *u)
{
    if (live_open(h, l, u))
        return VG_EIO;
    if (l->hashed == u->received)
        return VG_OK;
    if (rehash(l->fd, l->sha, u->received))
        return VG_EIO;
    l->hashed = u->received;
    if (u->received)
        vg_info(u->case_id, NULL, "upload %s: hash rebuilt over the %lld bytes on disk", u->id,
                (long long)u->received);
    return VG_OK;
}

/* Types the upload once its first bytes are in; false (answered, and the upload
 * dropped) for a type not allowed, over its limit, or too large for its kind. */
static bool check_type(struct vg_hub *h, struct vg_http_exchange *x, struct upload_live *l,
                       struct vg_upload_row *u, const uint8_t *body, size_t len)
{
    if (u->type[0])
        return true;
    uint8_t head[VG_SNIFF_HEAD];
    size_t have = u->received < VG_SNIFF_HEAD ? (size_t)u->received : VG_SNIFF_HEAD;
    if (have && pread(l->fd, head, have, 0) != (ssize_t)have)
        return refuse(x, u->case_id, 500, "internal", "the partial file could not be read"), false;
    size_t more = len < VG_SNIFF_HEAD - have ? len : VG_SNIFF_HEAD - have;
    memcpy(head + have, body, more);
    enum vg_sniff_type t = vg_sniff(head, have + more, u->received + (int64_t)len == u->size);
    if (t == VG_SNIFF_NEED_MORE)
        return true;
    const struct vg_config *cfg = h->cfg;
    struct vg_upload_counts n = {0};
    vg_store_upload_counts(h->store, u->case_id, photo_types, &n);
    bool photo = vg_sniff_is_photo(t);
    if (t == VG_SNIFF_UNKNOWN) {
        drop_upload(h, u, "type");
        refuse(x, u->case_id, 415, "type",
               "the file is not a JPEG, PNG or WebP photo or an MP4, QuickTime or WebM video");
    } else if (photo ? n.photos >= cfg->upload_max_photos : n.videos >= cfg->upload_max_videos) {
        drop_upload(h, u, "limit");
        refuse(x, u->case_id, 409, "limit", "this case already has its %d %s",
               photo ? cfg->upload_max_photos : cfg->upload_max_videos,
               photo ? "photos" : "videos");
    } else if (u->size > (photo ? cfg->upload_max_photo_bytes : cfg->upload_max_video_bytes)) {
        drop_upload(h, u, "too_large");
        refuse(x, u->case_id, 413, "too_large", "a %s may be at most %d bytes",
               photo ? "photo" : "video",
               photo ? cfg->upload_max_photo_bytes : cfg->upload_max_video_bytes);
    } else {
        snprintf(u->type, sizeof u->type, "%s", vg_sniff_mime(t));
        return true;
    }
    return false;
}

static int write_all(int fd, const uint8_t *b, size_t len, int64_t at)
{
    while (len) {
        ssize_t n = pwrite(fd, b, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return VG_EIO;
        b += n;
        len -= (size_t)n;
        at += n;
    }
    return VG_OK;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Every byte is in: the file joins the case's evidence, read-only, and everyone
 * on the case hears of it. */
static void finish(struct vg_hub *h, struct vg_http_exchange *x, struct upload_live *l,
                   struct vg_upload_row *u)
{
    unsigned char md[32];
    unsigned mdlen = 0;
    if (!EVP_DigestFinal_ex(l->sha, md, &mdlen))
        return refuse(x, u->case_id, 500, "internal", "the hash could not be computed");
    for (unsigned i = 0; i < 32; i++)
        snprintf(u->sha256 + 2 * i, 3, "%02x", md[i]);
    char rel[128], dir[PATH_BUF], from[PATH_BUF], to[PATH_BUF], err[200], root[PATH_BUF];
    final_rel(u->case_id, u->id, vg_sniff_ext(vg_sniff_from_mime(u->type)), rel, sizeof rel);
    snprintf(dir, sizeof dir, "%s/uploads", u->case_id);
    partial_path(h, u->id, from, sizeof from);
    upload_abs(h, rel, to, sizeof to);
    evidence_root(h, root, sizeof root);
    char full_dir[PATH_BUF];
    evidence_expect_upload(h, u->case_id, u->id, u->type, u->sha256); /* before it lands */
    if (vg_store_upload_hashed(h->store, u->id, u->sha256) != VG_OK) {
        l->hashed = -1;
        return refuse(x, u->case_id, 500, "internal", "the upload could not be recorded");
    }
    if (vg_datadir_subdir(root, dir, full_dir, sizeof full_dir, err, sizeof err) || fsync(l->fd) ||
        rename(from, to) || fchmod(l->fd, 0440)) {
        vg_error(u->case_id, NULL, "upload %s: cannot move into the evidence: %s", u->id,
                 strerror(errno));
        l->hashed = -1; /* the hash was finalised: rebuild on retry */
        return refuse(x, u->case_id, 500, "internal", "the file could not be stored");
    }
    sync_dir(full_dir);
    snprintf(u->path, sizeof u->path, "%s", rel);
    u->completed_us = vg_wall_us();
    json_t *ev = upload_json(u);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    int rc = vg_store_upload_complete(h->store, u->id, u->sha256, rel, u->completed_us, evtext);
    free(evtext);
    live_forget(h, u->id);
    if (rc) {
        json_decref(ev);
        return refuse(x, u->case_id, 500, "internal", "the upload could not be recorded");
    }
    h->stats.uploads_completed++;
    vg_info(u->case_id, NULL, "upload %s complete: %s, %lld bytes, sha256 %s", u->id, u->type,
            (long long)u->size, u->sha256);
    cases_upload_done(h, u->case_id, ev);
    answer(x, 200,
           json_pack("{s:I, s:b, s:s, s:s}", "offset", (json_int_t)u->size, "complete", 1, "type",
                     u->type, "sha256", u->sha256));
}

/* An open upload with every byte on disk whose completion did not happen (a
 * crash or an I/O error between the last chunk and the record): complete it now
 * from the partial file. */
static bool hash_file(const char *path, char *hex65)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    bool ok = fd >= 0 && sha && EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    uint8_t buf[65536];
    ssize_t n;
    while (ok && (n = read(fd, buf, sizeof buf)) != 0)
        ok = n > 0 && EVP_DigestUpdate(sha, buf, (size_t)n);
    unsigned char md[32];
    unsigned len = 0;
    ok = ok && EVP_DigestFinal_ex(sha, md, &len);
    for (unsigned i = 0; ok && i < 32; i++)
        snprintf(hex65 + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(sha);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The crash fell between the rename into the evidence and the record: the file
 * is in place, only the row is missing its completion. */
static bool finish_moved(struct vg_hub *h, struct vg_upload_row *u)
{
    char rel[128], path[PATH_BUF];
    final_rel(u->case_id, u->id, vg_sniff_ext(vg_sniff_from_mime(u->type)), rel, sizeof rel);
    upload_abs(h, rel, path, sizeof path);
    char found[65];
    if (!u->type[0] || access(path, R_OK) || !hash_file(path, found))
        return false;
    /* The hash recorded before the move (none from older versions): the file found
     * must be the one that was moved, not one put there while vigild was down. */
    if (u->sha256[0] && strcmp(u->sha256, found) != 0) {
        vg_error(u->case_id, NULL,
                 "upload %s: the file in the evidence is not the one received (sha256 %.16s..., "
                 "recorded %.16s...): not completed, left for a person",
                 u->id, found, u->sha256);
        cases_alert(h, u->case_id, "recording_error",
                    "{\"error\":\"an upload's file in the evidence is not the one received\"}");
        drop_upload(h, u, "altered"); /* not completed; the file stays where it is */
        return true;
    }
    snprintf(u->sha256, sizeof u->sha256, "%s", found);
    snprintf(u->path, sizeof u->path, "%s", rel);
    u->completed_us = vg_wall_us();
    json_t *ev = upload_json(u);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    int rc = vg_store_upload_complete(h->store, u->id, u->sha256, rel, u->completed_us, evtext);
    free(evtext);
    if (rc) {
        json_decref(ev);
        return false;
    }
    vg_info(u->case_id, NULL, "upload %s complete (recovered): sha256 %s", u->id, u->sha256);
    cases_upload_done(h, u->case_id, ev);
    return true;
}

static void try_finish(struct vg_hub *h, struct vg_upload_row *u)
{
    char partial[PATH_BUF];
    partial_path(h, u->id, partial, sizeof partial);
    if (access(partial, F_OK) && finish_moved(h, u))
        return;
    struct upload_live *l = live_get(h, u->id, true);
    if (l->x || l->job)
        return;
    if (!u->type[0] || live_ready(h, l, u)) {
        vg_error(u->case_id, NULL, "upload %s: all %lld bytes recorded but the file is unusable",
                 u->id, (long long)u->size);
        drop_upload(h, u, "io");
        return;
    }
    vg_info(u->case_id, NULL, "upload %s: completing after an interruption", u->id);
    finish(h, NULL, l, u);
}

static int finish_pending(const struct vg_upload_row *u, void *ud)
{
    struct vg_upload_row copy = *u;
    if (copy.received == copy.size)
        try_finish(ud, &copy);
    return 0;
}

static gboolean chunk_done_all(gpointer ud);

/* The chunk's disk work: on a thread of the pool. */
static void chunk_io(gpointer data, gpointer ud)
{
    struct chunk_job *j = data;
    struct upload_io *io = ud;
    if (j->hashed != j->offset) {
        j->rebuilt = true;
        if (rehash(j->fd, j->sha, j->offset))
            j->failed = "partial";
        j->hashed = j->offset;
    }
    if (!j->failed && (write_all(j->fd, j->body, j->len, j->offset) || fdatasync(j->fd)))
        j->failed = "write";
    else if (!j->failed && !EVP_DigestUpdate(j->sha, j->body, j->len))
        j->failed = "hash";
    j->err = j->failed ? errno : 0;
    g_free(j->body); /* the main loop needs only the length now */
    j->body = NULL;
    g_mutex_lock(&io->lock);
    g_queue_push_tail(&io->done, j);
    if (!io->idle)
        io->idle = g_idle_add(chunk_done_all, io->hub);
    g_mutex_unlock(&io->lock);
}

/* Checks a chunk against the upload as it stands and hands its disk work to the
 * pool; or answers (and frees j) when it cannot go. j->x is already deferred. */
static void chunk_start(struct vg_hub *h, struct chunk_job *j)
{
    struct vg_upload_row u;
    if (vg_store_upload_get(h->store, j->upload_id, &u)) {
        refuse(j->x, j->case_id, 404, "not_found", "no upload %s", j->upload_id);
        return job_free(j);
    }
    if (strcmp(u.state, "open") != 0 || u.received != j->offset) {
        offset_conflict(j->x, &u, j->offset);
        return job_free(j);
    }
    struct upload_live *l = live_get(h, u.id, true);
    if (live_open(h, l, &u)) {
        vg_error(u.case_id, NULL, "upload %s: partial file unusable: %s", u.id, strerror(errno));
        drop_upload(h, &u, "io");
        refuse(j->x, u.case_id, 500, "internal", "the partial file is gone: start again");
        return job_free(j);
    }
    if (!check_type(h, j->x, l, &u, j->body, j->len))
        return job_free(j);
    snprintf(j->type, sizeof j->type, "%s", u.type);
    j->fd = l->fd;
    j->sha = l->sha;
    j->hashed = l->hashed;
    l->hashed = -1; /* unknown until the job is back */
    l->job = j;
    g_thread_pool_push(h->upload_io->pool, j, NULL);
}

/* The chunk is on disk and in the hash: the row follows (never ahead of the file). */
static void chunk_record(struct vg_hub *h, const struct chunk_job *j, struct upload_live *l,
                         struct vg_upload_row *u)
{
    if (j->rebuilt && j->offset)
        vg_info(u->case_id, NULL, "upload %s: hash rebuilt over the %lld bytes on disk", u->id,
                (long long)j->offset);
    h->stats.upload_bytes += j->len;
    int64_t to = u->received + (int64_t)j->len;
    if (vg_store_upload_advance(h->store, u->id, u->received, to, j->type[0] ? j->type : NULL,
                                vg_wall_us()))
        return refuse(j->x, u->case_id, 500, "internal", "the chunk could not be recorded");
    l->hashed = to;
    u->received = to;
    snprintf(u->type, sizeof u->type, "%s", j->type);
    if (to == u->size)
        return finish(h, j->x, l, u);
    answer(j->x, 200, json_pack("{s:I, s:b}", "offset", (json_int_t)to, "complete", 0));
}

/* The job is back: record the chunk and answer, then start a chunk that waited. */
static void chunk_done(struct vg_hub *h, struct chunk_job *j)
{
    struct upload_live *l = live_get(h, j->upload_id, false); /* kept while its job ran */
    if (!l) { /* cannot happen (nothing here forgets an upload with a job): say so */
        vg_error(j->case_id, NULL, "upload %s: its chunk came back to no upload", j->upload_id);
        refuse(j->x, j->case_id, 500, "internal", "the upload is gone");
        return job_free(j);
    }
    struct chunk_job *next = l->next;
    l->job = NULL;
    l->next = NULL;
    struct vg_upload_row u;
    if (vg_store_upload_get(h->store, j->upload_id, &u) || strcmp(u.state, "open") != 0 ||
        u.received != j->offset) {
        refuse(j->x, j->case_id, 500, "internal", "the upload changed while the chunk was written");
    } else if (j->failed && strcmp(j->failed, "partial") == 0) {
        vg_error(u.case_id, NULL, "upload %s: partial file unusable: %s", u.id, strerror(j->err));
        drop_upload(h, &u, "io");
        refuse(j->x, u.case_id, 500, "internal", "the partial file is gone: start again");
    } else if (j->failed) {
        vg_error(u.case_id, NULL, "upload %s: the chunk at %lld could not be %s: %s", u.id,
                 (long long)j->offset, strcmp(j->failed, "write") == 0 ? "written" : "hashed",
                 strerror(j->err));
        refuse(j->x, u.case_id, 500, "internal", "the chunk could not be %s",
               strcmp(j->failed, "write") == 0 ? "written" : "hashed");
    } else {
        chunk_record(h, j, l, &u);
    }
    job_free(j);
    if (next && next->x)
        chunk_start(h, next);
    else
        job_free(next);
}
/* Takes the jobs the pool finished: the main loop's idle. */
static gboolean chunk_done_all(gpointer ud)
{
    struct vg_hub *h = ud;
    struct upload_io *io = h->upload_io;
    g_mutex_lock(&io->lock);
    GQueue done = io->done;
    g_queue_init(&io->done);
    io->idle = 0;
    g_mutex_unlock(&io->lock);
    struct chunk_job *j;
    while ((j = g_queue_pop_head(&done)))
        chunk_done(h, j);
    return G_SOURCE_REMOVE;
}

static void chunk_body(struct vg_hub *h, struct vg_http_exchange *x, const struct pending *p,
                       const uint8_t *body, size_t len)
{
    struct chunk_job *j = g_new0(struct chunk_job, 1);
    snprintf(j->upload_id, sizeof j->upload_id, "%s", p->upload_id);
    snprintf(j->case_id, sizeof j->case_id, "%s", p->case_id);
    j->x = x;
    j->offset = p->offset;
    j->body = g_memdup2(body, len);
    j->len = len;
    j->fd = -1;
    vg_http_defer(x);
    struct upload_live *l = live_get(h, p->upload_id, false);
    if (l && l->job) {
        /* The previous chunk is still on the pool: this one starts when it is back
         * (and then likely finds the upload moved past its offset: answered 409). */
        if (l->next)
            refuse(l->next->x, l->next->case_id, 409, "offset", "superseded by a newer request");
        job_free(l->next);
        l->next = j;
        return;
    }
    chunk_start(h, j);
}

/* GET /api/uploads/ID ---------------------------------------------------------------- */

static void status_get(struct vg_hub *h, struct vg_http_exchange *x,
                       const struct vg_http_request *r, const char *id)
{
    struct vg_case_row c;
    struct vg_upload_row u;
    if (!citizen_upload(h, x, r->bearer, id, &c, &u))
        return;
    if (strcmp(u.state, "dropped") == 0)
        return refuse(x, c.id, 410, "gone", "upload %s was dropped", u.id);
    if (strcmp(u.state, "open") == 0 && u.received == u.size) {
        try_finish(h, &u);
        vg_store_upload_get(h->store, id, &u);
    }
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:b}", "upload_id", u.id, "name", u.name, "size",
                          (json_int_t)u.size, "offset", (json_int_t)u.received, "complete",
                          strcmp(u.state, "complete") == 0);
    if (u.type[0])
        json_object_set_new(j, "type", json_string(u.type));
    if (u.sha256[0])
        json_object_set_new(j, "sha256", json_string(u.sha256));
    answer(x, 200, j);
}

/* GET /api/cases/CASE/uploads/ID: the file, for staff -------------------------------------- */

static void download(struct vg_hub *h, struct vg_http_exchange *x, const struct vg_http_request *r,
                     const char *case_id, const char *id)
{
    char hash[65], account[VG_NAME_MAX + 1], role[16];
    if (!r->bearer[0] || strlen(r->bearer) > 128)
        return refuse(x, case_id, 401, "unauthorized", "a staff session token is required");
    hub_sha256_hex(r->bearer, hash);
    if (vg_store_session_get(h->store, hash, vg_wall_us(), account, sizeof account, role,
                             sizeof role))
        return refuse(x, case_id, 401, "unauthorized", "session expired or unknown");
    struct vg_case_row c;
    struct vg_upload_row u;
    if (vg_store_case_get(h->store, case_id, &c) || vg_store_upload_get(h->store, id, &u) ||
        strcmp(u.case_id, c.id) != 0 || strcmp(u.state, "complete") != 0)
        return refuse(x, case_id, 404, "not_found", "no completed upload %.40s on case %.30s", id,
                      case_id);
    /* On the case: its holder, or a specialist invited into it while it is live. */
    struct live_case *lc = cases_live(h, c.id);
    bool holder = (strcmp(role, "call_taker") == 0 || strcmp(role, "specialist") == 0) &&
                  (strcmp(c.held_by, account) == 0 || (lc && team_party(lc, account)));
    if (!holder && strcmp(role, "supervisor") != 0) {
        h->stats.forbidden++;
        vg_warn(c.id, NULL, "%s %s tried to download upload %s of a case that is not theirs", role,
                account, u.id);
        return refuse(x, c.id, 403, "forbidden", "not your case");
    }
    char path[PATH_BUF];
    upload_abs(h, u.path, path, sizeof path);
    vg_info(c.id, NULL, "upload %s (%lld bytes) sent to %s %s", u.id, (long long)u.size, role,
            account);
    if (vg_http_respond_file(x, path, u.type))
        refuse(x, c.id, 500, "internal", "the file is missing from the evidence");
}

/* Routing ------------------------------------------------------------------------------ */

/* Copies one path segment of an id-like shape (letters, digits, '-'). */
static bool segment(const char *s, size_t len, char *out, size_t n)
{
    if (len == 0 || len >= n || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") < len)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

void vg_hub_api_begin(struct vg_hub *h, struct vg_http_exchange *x, const struct vg_http_request *r)
{
    char id[24], cid[VG_CASE_ID_MAX + 1];
    const char *path = r->path;
    bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    if (strcmp(path, "/api/uploads") == 0) {
        if (post)
            return create_begin(h, x, r);
    } else if (strncmp(path, "/api/uploads/", 13) == 0 &&
               segment(path + 13, strlen(path + 13), id, sizeof id)) {
        if (post)
            return chunk_begin(h, x, r, id);
        if (get)
            return status_get(h, x, r, id);
    } else if (strcmp(path, "/api/dispatch/status") == 0) {
        if (post) {
            if (units_begin(h, x, r)) {
                struct pending *p = g_new0(struct pending, 1);
                p->kind = API_UNIT;
                vg_http_exchange_set_data(x, p);
            }
            return;
        }
    } else if (strncmp(path, "/api/cases/", 11) == 0) {
        const char *c = path + 11, *slash = strchr(c, '/');
        if (!slash || strncmp(slash, "/uploads/", 9) != 0 ||
            !segment(c, (size_t)(slash - c), cid, sizeof cid) ||
            !segment(slash + 9, strlen(slash + 9), id, sizeof id))
            return refuse(x, NULL, 404, "not_found", "no such resource");
        if (get)
            return download(h, x, r, cid, id);
    } else {
        return refuse(x, NULL, 404, "not_found", "no such resource");
    }
    refuse(x, NULL, 405, "bad_request", "%s is not allowed here", r->method);
}

void vg_hub_api_body(struct vg_hub *h, struct vg_http_exchange *x, const uint8_t *body, size_t len)
{
    struct pending *p = vg_http_exchange_data(x);
    if (!p)
        return refuse(x, NULL, 409, "offset", "superseded by a newer request");
    if (p->kind == API_UNIT)
        units_body(h, x, body, len);
    else if (p->kind == API_CREATE)
        create_body(h, x, p, body, len);
    else
        chunk_body(h, x, p, body, len);
}

void vg_hub_api_done(struct vg_hub *h, struct vg_http_exchange *x, bool responded)
{
    struct pending *p = vg_http_exchange_data(x);
    if (!p)
        return;
    if (p->kind == API_CHUNK) {
        struct upload_live *l = live_get(h, p->upload_id, false);
        bool writing = l && l->job && l->job->x == x;
        if (l && l->x == x)
            l->x = NULL;
        if (writing)
            l->job->x = NULL; /* its work goes on: the client will ask where it stands */
        if (l && l->next && l->next->x == x) {
            job_free(l->next);
            l->next = NULL;
        }
        if (!responded && writing)
            vg_info(p->case_id, NULL,
                    "upload %s: the connection went while the chunk at %lld was being written; "
                    "it counts if the write succeeds",
                    p->upload_id, (long long)p->offset);
        else if (!responded)
            vg_info(p->case_id, NULL,
                    "upload %s: the chunk at %lld did not arrive whole (connection gone); "
                    "the upload stays at %lld",
                    p->upload_id, (long long)p->offset, (long long)p->offset);
    }
    vg_http_exchange_set_data(x, NULL);
    g_free(p);
}

/* Start, sweep, stop ----------------------------------------------------------------------- */

static int drop_stale(const struct vg_upload_row *u, void *ud)
{
    struct vg_hub *h = ud;
    struct upload_live *l = live_get(h, u->id, false);
    if (l && (l->x || l->job))
        return 0; /* a chunk is arriving or being written right now */
    if (u->received == u->size) {
        /* Every byte arrived; only the completion failed (the store or the move into
         * the evidence) and the client went away before it asked again: complete it
         * now rather than drop what the citizen sent, with its file in the evidence
         * and no row that lists it. */
        struct vg_upload_row copy = *u;
        vg_info(u->case_id, NULL, "upload %s: all bytes here, completing it at the sweep", u->id);
        try_finish(h, &copy);
        return 0;
    }
    drop_upload(h, u, "stale");
    return 0;
}

static gboolean sweep(gpointer ud)
{
    struct vg_hub *h = ud;
    int64_t before = vg_wall_us() - (int64_t)h->cfg->upload_stale_after_s * 1000000;
    vg_store_upload_list_stale(h->store, before, drop_stale, h);
    return G_SOURCE_CONTINUE;
}

int uploads_start(struct vg_hub *h, char *err, size_t n)
{
    char dir[PATH_BUF];
    h->uploads = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, live_free);
    struct upload_io *io = g_new0(struct upload_io, 1);
    io->hub = h;
    g_mutex_init(&io->lock);
    g_queue_init(&io->done);
    io->pool = g_thread_pool_new(chunk_io, io, UPLOAD_IO_THREADS, FALSE, NULL);
    h->upload_io = io;
    char root[PATH_BUF];
    struct stat a, b;
    evidence_root(h, root, sizeof root);
    if (vg_datadir_subdir(h->cfg->data_dir, "uploads-partial", dir, sizeof dir, err, n) ||
        vg_datadir_prepare(root, err, n))
        return VG_EIO;
    /* A finished upload is renamed into the case's recording: one file system, and
     * one mount of it (two bind mounts of one file system share st_dev, and a rename
     * across them fails): tried once with a file of our own. */
    char from[PATH_BUF + 32], to[PATH_BUF + 32];
    g_snprintf(from, sizeof from, "%s/.rename-probe", dir);
    g_snprintf(to, sizeof to, "%s/.rename-probe", root);
    int fd = open(from, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool moved = fd >= 0 && close(fd) == 0 && rename(from, to) == 0;
    int e = errno;
    unlink(from);
    unlink(to);
    if (stat(dir, &a) != 0 || stat(root, &b) != 0 || a.st_dev != b.st_dev || !moved) {
        snprintf(err, n,
                 "[evidence] dir %s must be on the data dir's file system and mount (uploads "
                 "are moved from %s into it: %s)",
                 root, dir, moved ? "another device" : strerror(e));
        return VG_EINVAL;
    }
    /* Every open upload is "stale" before now + 1 s: this lists them all. */
    vg_store_upload_list_stale(h->store, vg_wall_us() + 1000000, finish_pending, h);
    int every = h->cfg->upload_stale_after_s < 60 ? h->cfg->upload_stale_after_s : 60;
    h->upload_sweep = g_timeout_add_seconds((guint)every, sweep, h);
    return VG_OK;
}

void uploads_stop(struct vg_hub *h)
{
    if (h->upload_sweep)
        g_source_remove(h->upload_sweep);
    h->upload_sweep = 0;
    struct upload_io *io = h->upload_io;
    if (io) {
        /* Every job runs to its end (a chunk on its way to the disk gets there); the
         * exchanges are gone by now (the server stopped first), so none is answered
         * and the rows stay at their last recorded chunk: what is on disk past that
         * is cut at the next chunk. */
        g_thread_pool_free(io->pool, FALSE, TRUE);
        if (io->idle)
            g_source_remove(io->idle);
        struct chunk_job *j;
        while ((j = g_queue_pop_head(&io->done)))
            job_free(j);
        g_mutex_clear(&io->lock);
        g_free(io);
        h->upload_io = NULL;
    }
    if (h->uploads)
        g_hash_table_destroy(h->uploads);
    h->uploads = NULL;
}
