/* The sealer thread, reseals and appends, recovery at start, the retention sweep
 * (see seal.h). */
#include "seal.h"

#include "evfmt.h"
#include "evkey.h"
#include "audit.h"
#include "log.h"
#include "manifest.h"
#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define PENDING VG_MANIFEST_PENDING
#define TOMB ".deleting-" /* a recording the sweep has begun to delete */
/* The note's own kind: the centre's key signs manifests and audit lines too. */
#define NOTE_KIND "vigil-reseal-note/1"
#define MAX_ALLOW 256 /* files a reseal may add: a report's uploads and one segment */
/* An announced upload not in a manifest this long after its announcement is
 * forgotten: uploads end [uploads] window_after_end_s (10 min) after the case. */
#define EXPECT_US (2LL * 3600 * G_USEC_PER_SEC)

enum job_type { J_CLOSE, J_RESEAL, J_APPEND, J_SWEEP };

struct job {
    struct job *next;
    enum job_type type;
    bool complete; /* J_CLOSE */
    int64_t at_us; /* J_CLOSE: when it closed; J_APPEND: the event's time; J_SWEEP: now */
    unsigned days; /* J_SWEEP */
    char case_id[VG_EV_CASE_MAX + 1];
    char why[600];                 /* J_CLOSE: the reason; else why it is sealed again */
    char *json;                    /* J_APPEND: the event */
    struct vg_manifest_allow file; /* J_RESEAL: the upload that joined */
};

struct vg_sealer {
    struct vg_seal_env env;
    GThread *thread;
    GMutex lock;
    GCond cond;
    struct job *head, *tail; /* under lock */
    bool stop;               /* under lock */
    atomic_uint_fast64_t manifests;
    atomic_bool skip_close; /* tests: a close's seal dropped, as if vigild died first */
    GMutex expect_lock;
    GHashTable *expect; /* "case_id/uploads/name" -> SHA-256 (32 bytes), under expect_lock */
};

/* Small file helpers ------------------------------------------------------------------- */

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* dir/name holds bytes, durably, or the call failed (and nothing was left). */
static int write_new(const char *dir, const char *name, const void *bytes, size_t len)
{
    char *path = g_build_filename(dir, name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = VG_EIO;
    const uint8_t *p = bytes;
    size_t left = len;
    while (fd >= 0 && left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    if (fd >= 0 && !left && fsync(fd) == 0)
        rc = VG_OK;
    if (fd >= 0 && (close(fd) != 0 || rc != VG_OK)) {
        unlink(path);
        rc = VG_EIO;
    }
    g_free(path);
    if (rc == VG_OK)
        fsync_dir(dir);
    return rc;
}

static bool read_file(const char *dir, const char *name, gchar **text, gsize *len)
{
    char *path = g_build_filename(dir, name, NULL);
    bool ok = g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
              !g_file_test(path, G_FILE_TEST_IS_SYMLINK) &&
              g_file_get_contents(path, text, len, NULL);
    g_free(path);
    return ok;
}

/* The number of an events segment's name ("events-000042.vgs" -> 42), 0 if it is
 * not one: exactly six digits, as the writer names them. */
static uint32_t events_seq(const char *name)
{
    if (strlen(name) != 17 || !g_str_has_prefix(name, "events-") || !g_str_has_suffix(name, ".vgs"))
        return 0;
    uint32_t n = 0;
    for (int i = 7; i < 13; i++) {
        if (!g_ascii_isdigit(name[i]))
            return 0;
        n = n * 10 + (uint32_t)(name[i] - '0');
    }
    return n;
}

/* Text for JSON: a problem may quote a file name that is not UTF-8. */
static char *printable(const char *in)
{
    char *out = g_strdup(in ? in : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return out;
}

/* An audit entry naming the manifest now in dir by its SHA-256: every seal writes
 * one, so the log says which manifest the centre last signed for each case, and a
 * manifest deleted, replaced by an older one, or signed behind its back shows
 * (vigil-verify; recovery refuses to seal a case the log says was sealed). */
static int audit_manifest(const struct vg_seal_env *env, const char *dir, const char *case_id,
                          const char *action, json_t *detail)
{
    char hex[65];
    int rc = vg_manifest_sha256(dir, hex);
    if (rc == VG_OK)
        json_object_set_new(detail, "manifest_sha256", json_string(hex));
    char *text = json_dumps(detail, JSON_COMPACT);
    if (rc == VG_OK)
        rc = text ? env->audit(env->ud, action, case_id, "done", text) : VG_EIO;
    free(text);
    json_decref(detail);
    return rc;
}

/* The SHA-256 of the manifest the audit log last says was signed for the case; false
 * (and "") when it names none (a case sealed before seals were audited). */
static bool last_seal(const struct vg_seal_env *env, const char *case_id, char hex[65])
{
    int64_t line = 0;
    bool any;
    if (env->seals) {
        any = vg_audit_index_last_seal(env->seals, case_id, hex, &line) == VG_OK;
    } else {
        char *log = g_build_filename(env->dir, "audit.log", NULL);
        any = vg_audit_last_seal(log, env->key, case_id, hex, &line) == VG_OK;
        g_free(log);
    }
    if (!any)
        hex[0] = '\0';
    return any;
}

static void text_sha(const char *text, size_t len, char hex[65])
{
    uint8_t md[32];
    unsigned n = 0;
    EVP_Digest(text, len, md, &n, EVP_sha256(), NULL);
    vg_ev_hex(md, 32, hex);
}

/* A reseal builds only on the manifest the audit log names last for the case (or on
 * any, for a case sealed before seals were audited): never on one put back. */
static bool is_base(const struct vg_seal_env *env, const char *case_id, const char *text,
                    size_t len)
{
    char hex[65], last[65];
    text_sha(text, len, hex);
    return !last_seal(env, case_id, last) || strcmp(last, hex) == 0;
}

/* Uploads that may join the case's closed recording: the daemon names each (with
 * its SHA-256) before it moves the file in, so a reseal or an append that runs
 * meanwhile accepts it. Forgotten once a manifest lists it (the file there with that
 * hash when a manifest was signed over it), or EXPECT_US after it was announced. */
struct expect {
    uint8_t sha[32];
    int64_t since; /* monotonic */
};

static size_t expected(struct vg_sealer *s, const char *case_id, struct vg_manifest_allow *out,
                       size_t max)
{
    size_t n = 0;
    g_mutex_lock(&s->expect_lock);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->expect);
    size_t cl = strlen(case_id);
    int64_t now = g_get_monotonic_time();
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *key = k;
        const struct expect *e = v;
        if (now - e->since > EXPECT_US) {
            g_hash_table_iter_remove(&it);
        } else if (n < max && strncmp(key, case_id, cl) == 0 && key[cl] == '/') {
            snprintf(out[n].name, sizeof out[n].name, "%s", key + cl + 1);
            memcpy(out[n].sha, e->sha, 32);
            n++;
        }
    }
    g_mutex_unlock(&s->expect_lock);
    return n;
}

/* A manifest was just signed over dir: announced uploads it lists (with their hash)
 * are forgotten. */
static void forget_signed(struct vg_sealer *s, const char *dir, const char *case_id);

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

/* Closing ------------------------------------------------------------------------------- */

static void seal_close(struct vg_sealer *s, const char *dir, const struct job *j)
{
    char err[300];
    if (atomic_load(&s->skip_close))
        return;
    if (vg_manifest_write(dir, j->case_id, s->env.key, j->complete, j->why, j->at_us, err,
                          sizeof err)) {
        vg_error(j->case_id, NULL, "evidence: %s", err);
        return;
    }
    atomic_fetch_add(&s->manifests, 1);
    char *w = printable(j->why);
    audit_manifest(&s->env, dir, j->case_id, "sealed",
                   json_pack("{s:b, s:s}", "complete", j->complete, "reason", w));
    g_free(w);
    vg_info(j->case_id, NULL, "evidence: recording closed (%s)%s", j->why,
            j->complete ? "" : ": incomplete");
    forget_signed(s, dir, j->case_id); /* uploads that landed before it: listed now */
}

/* Reseals ------------------------------------------------------------------------------- */

/* A closed recording's manifest and signature as they are on the disk. */
struct sealed {
    gchar *text, *sig;
    gsize len, slen;
};

static bool read_sealed(const char *dir, struct sealed *m)
{
    memset(m, 0, sizeof *m);
    if (!read_file(dir, "manifest.json", &m->text, &m->len))
        return false;
    if (!read_file(dir, "manifest.sig", &m->sig, &m->slen))
        m->sig = NULL; /* the check names it missing */
    return true;
}

static void sealed_free(struct sealed *m)
{
    g_free(m->text);
    g_free(m->sig);
}

static void audit_reseal(const struct vg_seal_env *env, const char *case_id, const char *result,
                         const char *why, const char *problem)
{
    char *w = printable(why), *pr = problem ? printable(problem) : NULL;
    json_t *d = json_pack("{s:s, s:s?}", "why", w, "problem", pr);
    char *text = json_dumps(d, JSON_COMPACT);
    env->audit(env->ud, "reseal", case_id, result, text);
    free(text);
    json_decref(d);
    g_free(w);
    g_free(pr);
}

/* A reseal that did not happen: logged, alerted, audited. refused: the recording did
 * not match its manifest (or what was to be added); failed: the disk. */
static void not_resealed(const struct vg_seal_env *env, const char *case_id, const char *why,
                         const char *result, const char *err)
{
    vg_error(case_id, NULL, "evidence: not resealed (%s, %s): %s", why, result, err);
    char *w = printable(why), *pr = printable(err);
    env->alert(env->ud, case_id, "recording_error",
               json_pack("{s:s, s:s, s:s, s:s}", "error", "the sealed recording was not resealed",
                         "result", result, "why", w, "problem", pr));
    g_free(w);
    g_free(pr);
    audit_reseal(env, case_id, result, why, err);
}

/* Whether the manifest lists that file with that SHA-256. */
static bool listed(const struct sealed *m, const struct vg_manifest_allow *file)
{
    json_t *man = json_loadb(m->text, m->len, 0, NULL), *f;
    size_t i;
    bool found = false;
    char hex[65];
    vg_ev_hex(file->sha, 32, hex);
    json_array_foreach(json_object_get(man, "files"), i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *h = json_string_value(json_object_get(f, "sha256"));
        found = found || (p && h && strcmp(p, file->name) == 0 && strcmp(h, hex) == 0);
    }
    json_decref(man);
    return found;
}

/* The note a reseal leaves while it runs (reseal.pending): one line, like the audit
 * log's, JSON (case, why, the files it adds with their SHA-256, the manifest and
 * signature it started from), a tab, and the centre's signature of that JSON, so a
 * note planted on the disk is not acted upon. Written through a temp file. */
static int write_pending(const struct vg_seal_env *env, const char *dir, const char *case_id,
                         const struct sealed *m, const struct vg_manifest_allow *allow,
                         size_t n_allow, const char *why)
{
    json_t *files = json_array();
    for (size_t i = 0; i < n_allow; i++) {
        char hex[65];
        vg_ev_hex(allow[i].sha, 32, hex);
        json_array_append_new(files, json_pack("{s:s, s:s}", "name", allow[i].name, "sha256", hex));
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:o, s:s%, s:s%}", "kind", NOTE_KIND, "case_id", case_id,
                          "why", why, "allow", files, "manifest", m->text, m->len, "sig",
                          m->sig ? m->sig : "", m->sig ? m->slen : 0);
    char *body = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    uint8_t sig[64];
    char b64[89];
    int rc = body && vg_evkey_sign(env->key, (const uint8_t *)body, strlen(body), sig) == VG_OK
                 ? VG_OK
                 : VG_EINVAL;
    if (rc == VG_OK) {
        vg_evkey_sig_b64(sig, b64);
        char *line = g_strdup_printf("%s\t%s\n", body, b64);
        char *tmp = g_build_filename(dir, PENDING ".tmp", NULL);
        char *path = g_build_filename(dir, PENDING, NULL);
        g_unlink(tmp);
        rc = write_new(dir, PENDING ".tmp", line, strlen(line));
        if (rc == VG_OK && rename(tmp, path) != 0) {
            g_unlink(tmp);
            rc = VG_EIO;
        }
        if (rc == VG_OK)
            fsync_dir(dir);
        g_free(tmp);
        g_free(path);
        g_free(line);
    }
    free(body);
    return rc;
}

static void pending_done(const char *dir)
{
    char *path = g_build_filename(dir, PENDING, NULL);
    g_unlink(path);
    g_free(path);
    fsync_dir(dir);
}

/* Back to the recording as it was sealed: the new segment (if any) removed, the old
 * manifest and signature put back, the note gone. */
static void roll_back(const char *dir, const char *case_id, const struct sealed *m,
                      const char *segment)
{
    if (segment) {
        char *path = g_build_filename(dir, segment, NULL);
        g_unlink(path);
        g_free(path);
    }
    char err[300];
    if (vg_manifest_restore(dir, m->text, m->len, m->sig ? m->sig : "", m->sig ? m->slen : 0, err,
                            sizeof err) == VG_OK)
        pending_done(dir);
    else
        vg_error(case_id, NULL, "evidence: %s (reseal.pending left for the next start)", err);
}

static void forget_signed(struct vg_sealer *s, const char *dir, const char *case_id)
{
    struct vg_manifest_allow was[MAX_ALLOW];
    struct sealed m;
    size_t n = expected(s, case_id, was, MAX_ALLOW);
    if (!n || !read_sealed(dir, &m))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!listed(&m, &was[i]))
            continue; /* announced, not in it: still expected */
        char *key = g_strdup_printf("%s/%s", case_id, was[i].name);
        g_mutex_lock(&s->expect_lock);
        g_hash_table_remove(s->expect, key);
        g_mutex_unlock(&s->expect_lock);
        g_free(key);
    }
    sealed_free(&m);
}

/* The new manifest, signed; then the note goes. On a failure rolled back when the
 * manifest on the disk is still m (roll_back true): else the note stays, for a
 * person (it is never right to remove a segment a manifest may list). */
static bool finish(const struct vg_seal_env *env, const char *dir, const char *case_id,
                   const struct sealed *m, const struct vg_manifest_allow *allow, size_t n_allow,
                   const char *segment, const char *why, bool may_roll_back)
{
    char err[300];
    /* allow[0] is the reseal's own file (the upload, or the segment): it must be
     * there, with its hash; the others (uploads announced) join if they are */
    int rc = n_allow && !vg_manifest_has(dir, &allow[0]) ? VG_EINVAL : VG_OK;
    if (rc != VG_OK)
        snprintf(err, sizeof err, "%s: not there with the hash it was vouched for", allow[0].name);
    else
        rc = vg_manifest_reseal(dir, case_id, env->key, m->text, m->len, m->sig, m->slen, allow,
                                n_allow, why, g_get_real_time(), err, sizeof err);
    if (rc != VG_OK) {
        if (may_roll_back)
            roll_back(dir, case_id, m, segment);
        not_resealed(env, case_id, why, rc == VG_EINVAL ? "refused" : "failed", err);
        return false;
    }
    char *w = printable(why);
    rc = audit_manifest(env, dir, case_id, "reseal", json_pack("{s:s}", "why", w));
    g_free(w);
    if (rc != VG_OK) { /* the note stays: the next start writes the entry */
        vg_error(case_id, NULL, "evidence: resealed (%s) but not audited: the note stays", why);
        env->alert(env->ud, case_id, "recording_error",
                   json_pack("{s:s}", "error", "a reseal could not be written to the audit log"));
        return true;
    }
    pending_done(dir);
    vg_info(case_id, NULL, "evidence: manifest resealed (%s)", why);
    return true;
}

/* A citizen's upload (allow[0]) joined the closed recording after the case ended. */
static void seal_again(struct vg_sealer *s, const char *dir, const struct job *j)
{
    struct sealed m;
    char err[300];
    struct vg_manifest_allow allow[MAX_ALLOW];
    allow[0] = j->file;
    if (!read_sealed(dir, &m)) {
        vg_warn(j->case_id, NULL, "evidence: not resealed (%s): no manifest to extend", j->why);
        return;
    }
    if (listed(&m, &j->file)) { /* an append meanwhile took it in */
        forget_signed(s, dir, j->case_id);
        sealed_free(&m);
        return;
    }
    size_t n = 1 + expected(s, j->case_id, allow + 1, MAX_ALLOW - 1);
    if (!is_base(&s->env, j->case_id, m.text, m.len))
        not_resealed(&s->env, j->case_id, j->why, "refused",
                     "manifest.json: not the one the audit log names last");
    else if (vg_manifest_check(dir, s->env.key, m.text, m.len, m.sig, m.slen, allow, n, err,
                               sizeof err) != VG_OK)
        not_resealed(&s->env, j->case_id, j->why, "refused", err);
    else if (write_pending(&s->env, dir, j->case_id, &m, allow, n, j->why) != VG_OK)
        not_resealed(&s->env, j->case_id, j->why, "failed", "reseal.pending not written");
    else if (finish(&s->env, dir, j->case_id, &m, allow, n, NULL, j->why, true)) {
        forget_signed(s, dir, j->case_id);
        atomic_fetch_add(&s->manifests, 1);
    }
    sealed_free(&m);
}

/* The events log's last segment as the manifest lists it: its number and hash. */
static uint32_t last_listed_events(const char *text, size_t len, uint8_t sha[32])
{
    json_t *man = json_loadb(text, len, 0, NULL), *f;
    size_t i;
    uint32_t last = 0;
    json_array_foreach(json_object_get(man, "files"), i, f)
    {
        const char *type = json_string_value(json_object_get(f, "type"));
        json_int_t seq = json_integer_value(json_object_get(f, "seq"));
        const char *hex = json_string_value(json_object_get(f, "sha256"));
        if (type && strcmp(type, "events") == 0 && seq > last && seq < 999999 && hex &&
            vg_ev_unhex(hex, sha, 32) == VG_OK)
            last = (uint32_t)seq;
    }
    json_decref(man);
    return last;
}

/* Whether an appended segment the manifest lists holds that fact already (the same
 * event: its type, time, who and what): offered again at start (the daemon's
 * reconcile), it is not doubled. The whole event, not its type and time alone: two
 * notes in one microsecond are two facts. */
static bool already_appended(const char *dir, const struct sealed *m, const char *event_json)
{
    json_t *want = json_loads(event_json, 0, NULL);
    const char *type = json_string_value(json_object_get(want, "type"));
    json_t *man = json_loadb(m->text, m->len, 0, NULL), *f;
    size_t i;
    bool found = false;
    json_array_foreach(json_object_get(man, "files"), i, f)
    {
        const char *ft = json_string_value(json_object_get(f, "type"));
        const char *path = json_string_value(json_object_get(f, "path"));
        if (found || !type || !ft || strcmp(ft, "events") != 0 || !path ||
            json_integer_value(json_object_get(f, "seq")) < 2)
            continue;
        gchar *buf = NULL;
        gsize len = 0;
        struct vg_ev_record rec;
        int k;
        if (!read_file(dir, path, &buf, &len))
            continue;
        for (size_t off = VG_EV_HDR_LEN;
             !found && off < len &&
             (k = vg_ev_record_parse((const uint8_t *)buf + off, len - off, &rec)) > 0;
             off += (size_t)k) {
            json_t *e = json_loadb((const char *)rec.data, rec.len, 0, NULL);
            found = json_is_true(json_object_get(e, "after_end")) && json_equal(e, want);
            json_decref(e);
        }
        g_free(buf);
    }
    json_decref(man);
    json_decref(want);
    return found;
}

/* A fact that came after the case's recording closed: one segment of the events log
 * holding that one event, chained to the log's last segment as the manifest lists
 * it, then the manifest signed again. Checked before anything is written. */
static void seal_append(struct vg_sealer *s, const char *dir, const struct job *j)
{
    struct sealed m;
    char err[300];
    struct vg_manifest_allow allow[MAX_ALLOW];
    struct vg_ev_seg_header h = {.stream = 0, .opened_us = j->at_us};
    if (!read_sealed(dir, &m)) {
        vg_error(j->case_id, NULL, "evidence: %s not appended: the case has no sealed recording",
                 j->why);
        return;
    }
    if (already_appended(dir, &m, j->json)) {
        vg_debug(j->case_id, NULL, "evidence: %s already in the recording", j->why);
        sealed_free(&m);
        return;
    }
    uint32_t last = last_listed_events(m.text, m.len, h.prev);
    h.seq = last + 1;
    snprintf(h.case_id, sizeof h.case_id, "%s", j->case_id);
    size_t len = strlen(j->json), n = VG_EV_HDR_LEN + VG_EV_REC_HDR + len;
    uint8_t *buf = g_malloc(n);
    struct vg_ev_record rec = {VG_EV_REC_EVENT, 0, j->at_us, (const uint8_t *)j->json,
                               (uint32_t)len};
    struct vg_manifest_allow *seg = &allow[0]; /* the reseal's own file first (finish()) */
    size_t n_allow = expected(s, j->case_id, allow + 1, MAX_ALLOW - 1);
    snprintf(seg->name, sizeof seg->name, "events-%06u.vgs", h.seq);
    unsigned mdn = 0;
    if (!last)
        not_resealed(&s->env, j->case_id, j->why, "refused", "its manifest lists no events log");
    else if (!is_base(&s->env, j->case_id, m.text, m.len))
        not_resealed(&s->env, j->case_id, j->why, "refused",
                     "manifest.json: not the one the audit log names last");
    else if (vg_ev_header_write(&h, buf) != VG_OK ||
             vg_ev_record_write(&rec, buf + VG_EV_HDR_LEN, n - VG_EV_HDR_LEN) !=
                 (int)(n - VG_EV_HDR_LEN) ||
             EVP_Digest(buf, n, seg->sha, &mdn, EVP_sha256(), NULL) != 1)
        not_resealed(&s->env, j->case_id, j->why, "failed", "the event does not make a record");
    else if (vg_manifest_check(dir, s->env.key, m.text, m.len, m.sig, m.slen, allow + 1, n_allow,
                               err, sizeof err) != VG_OK)
        not_resealed(&s->env, j->case_id, j->why, "refused", err);
    else if (write_pending(&s->env, dir, j->case_id, &m, allow, n_allow + 1, j->why) != VG_OK)
        not_resealed(&s->env, j->case_id, j->why, "failed", "reseal.pending not written");
    else if (write_new(dir, seg->name, buf, n) != VG_OK) {
        pending_done(dir); /* nothing else changed */
        not_resealed(&s->env, j->case_id, j->why, "failed", "the new segment not written");
    } else if (finish(&s->env, dir, j->case_id, &m, allow, n_allow + 1, seg->name, j->why, true)) {
        forget_signed(s, dir, j->case_id);
        atomic_fetch_add(&s->manifests, 1);
    }
    g_free(buf);
    sealed_free(&m);
}

/* The thread ---------------------------------------------------------------------------- */

static void push(struct vg_sealer *s, struct job *j)
{
    g_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
}

static struct job *new_job(enum job_type t, const char *case_id, const char *why)
{
    struct job *j = g_new0(struct job, 1);
    j->type = t;
    snprintf(j->case_id, sizeof j->case_id, "%s", case_id ? case_id : "");
    snprintf(j->why, sizeof j->why, "%s", why ? why : "");
    return j;
}

static void run(struct vg_sealer *s, const struct job *j)
{
    if (j->type == J_SWEEP) {
        vg_seal_sweep(&s->env, j->at_us, j->days);
        return;
    }
    char *dir = g_build_filename(s->env.dir, j->case_id, NULL);
    if (j->type == J_CLOSE)
        seal_close(s, dir, j);
    else if (j->type == J_RESEAL)
        seal_again(s, dir, j);
    else
        seal_append(s, dir, j);
    g_free(dir);
}

static gpointer sealer_main(gpointer data)
{
    struct vg_sealer *s = data;
    /* Below forwarding and writing: a seal may wait, a packet may not. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) != 0)
        vg_debug(NULL, NULL, "evidence: the sealer keeps its priority: %s", strerror(errno));
    for (;;) {
        g_mutex_lock(&s->lock);
        while (!s->head && !s->stop)
            g_cond_wait(&s->cond, &s->lock);
        struct job *list = s->head;
        s->head = s->tail = NULL;
        bool stop = s->stop;
        g_mutex_unlock(&s->lock);
        while (list) {
            struct job *next = list->next;
            run(s, list);
            g_free(list->json);
            g_free(list);
            list = next;
        }
        if (stop) /* whoever queues is gone: nothing more comes */
            break;
    }
    return NULL;
}

struct vg_sealer *vg_sealer_start(const struct vg_seal_env *env)
{
    struct vg_sealer *s = g_new0(struct vg_sealer, 1);
    s->env = *env;
    /* one scan of the log here, then only what is appended: a seal no longer reads
     * the whole log, which grows by every case for as long as the centre runs */
    char *log = g_build_filename(env->dir, "audit.log", NULL);
    s->env.seals = vg_audit_index_new(log, env->key);
    g_free(log);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    g_mutex_init(&s->expect_lock);
    s->expect = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    s->thread = g_thread_new("vigil-seal", sealer_main, s);
    return s;
}

void vg_sealer_stop(struct vg_sealer *s)
{
    if (!s)
        return;
    g_mutex_lock(&s->lock);
    s->stop = true;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    g_thread_join(s->thread);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_hash_table_destroy(s->expect);
    g_mutex_clear(&s->expect_lock);
    vg_audit_index_free(s->env.seals);
    g_free(s);
}

void vg_sealer_close(struct vg_sealer *s, const char *case_id, bool complete, const char *reason,
                     int64_t closed_us)
{
    struct job *j = new_job(J_CLOSE, case_id, reason);
    j->complete = complete;
    j->at_us = closed_us;
    push(s, j);
}

void vg_sealer_expect(struct vg_sealer *s, const char *case_id, const char *name,
                      const uint8_t sha[32])
{
    g_mutex_lock(&s->expect_lock);
    struct expect *e = g_new(struct expect, 1);
    memcpy(e->sha, sha, 32);
    e->since = g_get_monotonic_time();
    g_hash_table_replace(s->expect, g_strdup_printf("%s/%s", case_id, name), e);
    g_mutex_unlock(&s->expect_lock);
}

void vg_sealer_reseal(struct vg_sealer *s, const char *case_id, const char *name,
                      const uint8_t sha[32], const char *why)
{
    struct job *j = new_job(J_RESEAL, case_id, why);
    snprintf(j->file.name, sizeof j->file.name, "%s", name);
    memcpy(j->file.sha, sha, 32);
    push(s, j);
}

void vg_sealer_append(struct vg_sealer *s, const char *case_id, int64_t at_us, const char *json,
                      const char *why)
{
    struct job *j = new_job(J_APPEND, case_id, why);
    j->at_us = at_us;
    j->json = g_strdup(json);
    push(s, j);
}

void vg_sealer_sweep(struct vg_sealer *s, int64_t now_us, unsigned days)
{
    struct job *j = new_job(J_SWEEP, NULL, NULL);
    j->at_us = now_us;
    j->days = days;
    push(s, j);
}

uint64_t vg_sealer_manifests(struct vg_sealer *s)
{
    return atomic_load(&s->manifests);
}

/* Recovery at start ---------------------------------------------------------------------- */

/* Whether every file the old manifest lists is in the new one, with its hash:
 * nothing was taken away between them. */
static bool keeps_all(const struct sealed *new_m, const struct sealed *old_m)
{
    json_t *nm = json_loadb(new_m->text, new_m->len, 0, NULL);
    json_t *om = json_loadb(old_m->text, old_m->len, 0, NULL), *f, *g;
    json_t *have = json_object();
    size_t i;
    json_array_foreach(json_object_get(nm, "files"), i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *h = json_string_value(json_object_get(f, "sha256"));
        if (p && h)
            json_object_set_new(have, p, json_string(h));
    }
    bool all = om != NULL;
    json_array_foreach(json_object_get(om, "files"), i, g)
    {
        const char *p = json_string_value(json_object_get(g, "path"));
        const char *h = json_string_value(json_object_get(g, "sha256"));
        const char *n = p ? json_string_value(json_object_get(have, p)) : NULL;
        all = all && h && n && strcmp(n, h) == 0;
    }
    json_decref(have);
    json_decref(nm);
    json_decref(om);
    return all;
}

static void for_a_person(const struct vg_seal_env *env, const char *case_id, const char *what)
{
    vg_error(case_id, NULL, "evidence: %s: left as it is, for a person", what);
    env->alert(env->ud, case_id, "recording_error", json_pack("{s:s}", "error", what));
}

/* What a crash left of a reseal whose note is the centre's. A reseal builds only on
 * the manifest the audit log last names for the case (none: older cases), so a note
 * replayed over a manifest put back from before cannot get that rollback signed:
 * - the manifest on the disk is the note's: finish the reseal (its own file there
 *   with its hash) or roll it back (an append's segment cut short);
 * - another manifest that verifies: if the log names it last, the reseal got through
 *   and only the note goes; if the log still names the note's and the new one keeps
 *   every file of it, the crash (or a failed append to the log) fell between the
 *   signature and the entry: the entry is written, the note goes;
 * - another that does not verify (a crash between the manifest and its signature):
 *   the reseal is done again from the note's manifest;
 * anything else is left as it is, for a person: a segment a manifest may list is
 * never removed. */
static void settle(const struct vg_seal_env *env, const char *dir, const char *case_id,
                   const struct sealed *m, const struct vg_manifest_allow *allow, size_t n,
                   const char *segment, const char *why, bool whole)
{
    struct sealed cur;
    char err[300], note_sha[65], cur_sha[65] = "", last[65];
    bool have = read_sealed(dir, &cur), any = last_seal(env, case_id, last); /* one log read */
    text_sha(m->text, m->len, note_sha);
    if (have)
        text_sha(cur.text, cur.len, cur_sha);
    bool base = !any || strcmp(last, note_sha) == 0;
    bool same = have && strcmp(cur_sha, note_sha) == 0;
    bool cur_last = have && any && strcmp(last, cur_sha) == 0;
    if (same && !base) {
        for_a_person(env, case_id,
                     "a reseal note over a manifest the audit log does not name last");
    } else if (same && whole) {
        finish(env, dir, case_id, m, allow, n, segment, why, true);
    } else if (same) { /* the append did not happen: the recording as it was sealed */
        roll_back(dir, case_id, m, segment);
        vg_warn(case_id, NULL, "evidence: %s was cut by a crash: not in the recording", why);
    } else if (have && vg_manifest_check(dir, env->key, cur.text, cur.len, cur.sig, cur.slen, NULL,
                                         0, err, sizeof err) == VG_OK) {
        if (cur_last) {
            pending_done(dir);
            vg_info(case_id, NULL, "evidence: a reseal's note outlived it: removed");
        } else if (base && keeps_all(&cur, m)) {
            char *w = printable(why);
            if (audit_manifest(env, dir, case_id, "reseal",
                               json_pack("{s:s, s:s}", "why", w, "audited", "at restart")) == VG_OK)
                pending_done(dir);
            g_free(w);
        } else {
            for_a_person(env, case_id,
                         "a reseal note beside a manifest the audit log does not name");
        }
    } else if (whole && base) {
        finish(env, dir, case_id, m, allow, n, segment, why, false);
    } else {
        for_a_person(env, case_id, "a reseal cut by a crash cannot be settled");
    }
    if (have)
        sealed_free(&cur);
}

/* A name a reseal may add: an upload (one file right under uploads/) or the events
 * segment after the last one the manifest lists. */
static bool addable(const char *name, uint32_t last_events)
{
    if (g_str_has_prefix(name, "uploads/")) {
        const char *f = name + 8;
        return *f && f[0] != '.' && !strchr(f, '/');
    }
    return events_seq(name) && events_seq(name) == last_events + 1;
}

/* A reseal a crash interrupted (reseal.pending is there). Only a note signed with
 * the centre's key, for this case, naming files a reseal may add, is acted upon:
 * finished against the manifest it started from, or, for an append whose segment is
 * not on the disk with the SHA-256 the note gives, undone (that segment removed, the
 * old manifest put back). Anything else is left for a person, and alerted. */
static void finish_pending(const struct vg_seal_env *env, const char *dir, const char *case_id)
{
    gchar *line = NULL, *body = NULL;
    gsize len = 0;
    const char *json = NULL;
    size_t json_len = 0;
    uint8_t raw[64];
    json_t *p = NULL;
    if (read_file(dir, PENDING, &line, &len) && len && line[len - 1] == '\n' &&
        vg_ev_audit_split(line, len - 1, &json, &json_len, raw) == VG_OK &&
        vg_evkey_verify(env->key, (const uint8_t *)json, json_len, raw) == VG_OK) {
        body = g_strndup(json, json_len);
        p = json_loads(body, 0, NULL);
    }
    g_free(line);
    g_free(body);
    struct sealed m = {0};
    m.text = g_strdup(json_string_value(json_object_get(p, "manifest")));
    m.sig = g_strdup(json_string_value(json_object_get(p, "sig")));
    m.len = m.text ? strlen(m.text) : 0;
    m.slen = m.sig ? strlen(m.sig) : 0;
    const char *why = json_string_value(json_object_get(p, "why"));
    const char *cid = json_string_value(json_object_get(p, "case_id"));
    const char *kind = json_string_value(json_object_get(p, "kind"));
    uint8_t prev[32];
    uint32_t last = m.text ? last_listed_events(m.text, m.len, prev) : 0;
    struct vg_manifest_allow allow[MAX_ALLOW];
    size_t n = 0;
    const char *segment = NULL;
    bool ok = why && cid && strcmp(cid, case_id) == 0 && kind && strcmp(kind, NOTE_KIND) == 0 &&
              m.text,
         whole = true;
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(p, "allow"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *hex = json_string_value(json_object_get(f, "sha256"));
        if (n == MAX_ALLOW || !name || !hex || strlen(name) >= sizeof allow[n].name ||
            !addable(name, last) || vg_ev_unhex(hex, allow[n].sha, 32) != VG_OK) {
            ok = false;
            break;
        }
        snprintf(allow[n].name, sizeof allow[n].name, "%s", name);
        if (events_seq(name)) {
            segment = allow[n].name;
            whole = vg_manifest_has(dir, &allow[n]);
        }
        n++;
    }
    if (!ok) {
        vg_error(case_id, NULL,
                 "evidence: %s is not a note of this centre's for this case: left for a person",
                 PENDING);
        env->alert(env->ud, case_id, "recording_error",
                   json_pack("{s:s}", "error", "reseal.pending is not signed by this centre"));
    } else {
        settle(env, dir, case_id, &m, allow, n, segment, why, whole);
    }
    sealed_free(&m);
    json_decref(p);
}

/* Whether every segment in dir is whole; *last gets the last record of the file
 * named last_log (a copy of its bytes, NUL-terminated), if it is an event. */
static bool segments_whole(const char *dir, const char *last_log, char **last)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    bool whole = d != NULL;
    while (whole && (n = g_dir_read_name(d))) {
        if (!g_str_has_suffix(n, ".vgs"))
            continue;
        gchar *buf = NULL;
        gsize len = 0;
        struct vg_ev_scan sc;
        whole = read_file(dir, n, &buf, &len) &&
                vg_ev_scan((const uint8_t *)buf, len, &sc) == VG_OK && !sc.torn;
        if (whole && strcmp(n, last_log) == 0) {
            struct vg_ev_record rec = {0};
            size_t off = VG_EV_HDR_LEN;
            int k;
            while ((k = vg_ev_record_parse((const uint8_t *)buf + off, len - off, &rec)) > 0)
                off += (size_t)k;
            if (rec.type == VG_EV_REC_EVENT)
                *last = g_strndup((const char *)rec.data, rec.len);
        }
        g_free(buf);
    }
    if (d)
        g_dir_close(d);
    return whole;
}

/* The last event of dir's events log if it is of that type and every segment is
 * whole; else NULL. */
static json_t *last_event(const char *dir, const char *type)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    uint32_t seq = 0;
    while (d && (n = g_dir_read_name(d)))
        if (events_seq(n) > seq)
            seq = events_seq(n);
    if (d)
        g_dir_close(d);
    char name[32], *last = NULL;
    snprintf(name, sizeof name, "events-%06u.vgs", seq);
    json_t *e = seq && segments_whole(dir, name, &last) && last ? json_loads(last, 0, NULL) : NULL;
    g_free(last);
    const char *t = json_string_value(json_object_get(e, "type"));
    if (!t || strcmp(t, type) != 0 || !json_is_string(json_object_get(e, "reason"))) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* The recording_closed event a recording ends with when the writer closed it and a
 * crash came before its seal (the writer writes it after every other file was
 * closed and synced), with every segment whole; else NULL. */
static json_t *closed_before_crash(const char *dir)
{
    json_t *e = last_event(dir, "recording_closed");
    if (e && !json_is_boolean(json_object_get(e, "complete"))) {
        json_decref(e);
        return NULL;
    }
    return e;
}

char *vg_seal_paused(const char *dir)
{
    json_t *e = last_event(dir, "recording_paused"); /* a stop: every file synced before it */
    char *why = e ? g_strdup(json_string_value(json_object_get(e, "reason"))) : NULL;
    json_decref(e);
    return why;
}

/* A recording the writer closed but did not see sealed: signed as the writer meant. */
static bool seal_at_restart(const struct vg_seal_env *env, const char *dir, const char *case_id)
{
    json_t *e = closed_before_crash(dir);
    if (!e)
        return false;
    char why[700], err[300];
    snprintf(why, sizeof why, "%s; sealed at restart (vigild stopped before its seal)",
             json_string_value(json_object_get(e, "reason")));
    bool complete = json_is_true(json_object_get(e, "complete"));
    int64_t at = json_integer_value(json_object_get(e, "at_us"));
    json_decref(e);
    if (vg_manifest_write(dir, case_id, env->key, complete, why, at, err, sizeof err)) {
        vg_error(case_id, NULL, "evidence: could not seal the closed recording: %s", err);
        return true;
    }
    vg_warn(case_id, NULL, "evidence: recording closed before a crash sealed at restart%s",
            complete ? "" : " (incomplete)");
    audit_manifest(env, dir, case_id, "recording_sealed", json_pack("{s:b}", "complete", complete));
    return true;
}

/* Temp files a crash left mid-write: never evidence. */
static void drop_temps(const char *dir)
{
    static const char *const names[] = {"manifest.json.tmp", "manifest.sig.tmp", PENDING ".tmp"};
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        char *p = g_build_filename(dir, names[i], NULL);
        g_unlink(p);
        g_free(p);
    }
}

/* Whether a legal hold stands on the case (audit.h): its line in *line. */
static bool held(const struct vg_seal_env *env, const char *case_id, int64_t *line)
{
    if (env->seals)
        return vg_audit_index_held(env->seals, case_id, line) == VG_OK;
    char *log = g_build_filename(env->dir, "audit.log", NULL);
    bool h = vg_audit_held(log, env->key, case_id, line) == VG_OK;
    g_free(log);
    return h;
}

/* The deletion's entry, unless a hold stands once the log is locked (VG_EPERM). */
static int audit_deletion(const struct vg_seal_env *env, const char *case_id, const char *detail,
                          int64_t *hold)
{
    if (env->audit_unless_held)
        return env->audit_unless_held(env->ud, env->seals, "delete_expired", case_id, "done",
                                      detail, hold);
    if (held(env, case_id, hold)) /* an owner that cannot lock the log: asked just before */
        return VG_EPERM;
    return env->audit(env->ud, "delete_expired", case_id, "done", detail);
}

/* Whether the log records the case's deletion after its last seal (the whole log:
 * for a tomb found at start, which is rare). */
static bool deletion_logged(const struct vg_seal_env *env, const char *case_id)
{
    char *log = g_build_filename(env->dir, "audit.log", NULL);
    char seal[65];
    int64_t seal_line = 0, del_line = 0;
    json_t *e = NULL;
    vg_audit_last_seal(log, env->key, case_id, seal, &seal_line);
    vg_audit_last_action(log, env->key, case_id, "delete_expired", &del_line, &e);
    json_decref(e);
    g_free(log);
    return del_line > seal_line;
}

/* A deletion a crash cut. Its entry is written before the removal begins: the crash
 * came between the rename and the entry (none yet), or after it (nothing to add: it
 * is finished). With no entry yet, one is written now, naming the manifest if it is
 * still there, unless a legal hold stands: then the recording is put back, as it is
 * when the entry cannot be written. */
static void finish_tomb(const struct vg_seal_env *env, const char *tomb, const char *case_id)
{
    if (!deletion_logged(env, case_id)) {
        char sha[65] = "", detail[160];
        if (vg_manifest_sha256(tomb, sha) == VG_OK)
            snprintf(detail, sizeof detail,
                     "{\"finished\":\"at restart\",\"deleted_manifest_sha256\":\"%s\"}", sha);
        else
            snprintf(detail, sizeof detail, "{\"finished\":\"at restart\"}");
        int64_t hold = 0;
        int rc = audit_deletion(env, case_id, detail, &hold);
        if (rc != VG_OK) {
            char *dir = g_build_filename(env->dir, case_id, NULL);
            if (rename(tomb, dir) == 0)
                vg_warn(case_id, NULL, "evidence: a deletion cut by a crash undone: %s",
                        rc == VG_EPERM ? "a legal hold stands" : "it could not be audited");
            else
                vg_error(case_id, NULL, "evidence: a recording not deleted is left at %s: %s", tomb,
                         strerror(errno));
            g_free(dir);
            return;
        }
    }
    remove_tree(tomb);
    vg_warn(case_id, NULL, "evidence: a deletion cut by a crash finished");
}

unsigned vg_seal_recover(const struct vg_seal_env *env, json_t *resumable)
{
    unsigned closed = 0;
    GDir *d = g_dir_open(env->dir, 0, NULL);
    const char *n;
    char last[65];
    while (d && (n = g_dir_read_name(d))) {
        char *dir = g_build_filename(env->dir, n, NULL);
        char *sig = g_build_filename(dir, "manifest.sig", NULL);
        char *pending = g_build_filename(dir, PENDING, NULL);
        if (!g_file_test(dir, G_FILE_TEST_IS_DIR) || g_file_test(dir, G_FILE_TEST_IS_SYMLINK)) {
            /* audit.log, or something that is not a recording */
        } else if (g_str_has_prefix(n, TOMB)) { /* a deletion a crash cut */
            finish_tomb(env, dir, n + strlen(TOMB));
        } else if (n[0] == '.') {
            /* not a case: case ids never start with a dot */
        } else if (g_file_test(pending, G_FILE_TEST_EXISTS)) {
            drop_temps(dir);
            finish_pending(env, dir, n);
        } else if (!g_file_test(sig, G_FILE_TEST_EXISTS) && last_seal(env, n, last)) {
            vg_error(n, NULL,
                     "evidence: the audit log says this recording was sealed, and its signature "
                     "is gone: not signed again, left for a person");
            env->alert(env->ud, n, "recording_error",
                       json_pack("{s:s}", "error", "a sealed recording lost its signature"));
        } else if (!g_file_test(sig, G_FILE_TEST_EXISTS)) {
            drop_temps(dir);
            if (seal_at_restart(env, dir, n)) {
                closed++;
            } else if (resumable && env->resume && env->resume(env->ud, n)) {
                /* its case is live: left open, to be resumed (vg_recording_start) */
                json_object_set_new(resumable, n, json_true());
                vg_info(n, NULL,
                        "evidence: the recording of a case still live is left open to "
                        "be resumed");
            } else {
                char err[300];
                char *paused = vg_seal_paused(dir);
                char *why = paused ? g_strdup_printf("%s; sealed at restart", paused)
                                   : g_strdup("vigild stopped unexpectedly; closed as "
                                              "incomplete at restart");
                g_free(paused);
                if (vg_manifest_write(dir, n, env->key, false, why, g_get_real_time(), err,
                                      sizeof err)) {
                    vg_error(n, NULL, "evidence: could not close the crashed recording: %s", err);
                } else {
                    closed++;
                    vg_warn(n, NULL,
                            "evidence: recording left open by a crash closed as incomplete");
                    audit_manifest(env, dir, n, "recording_recovered",
                                   json_pack("{s:b}", "complete", 0));
                }
                g_free(why);
            }
        }
        g_free(pending);
        g_free(sig);
        g_free(dir);
    }
    if (d)
        g_dir_close(d);
    return closed;
}

/* Retention ------------------------------------------------------------------------------ */

int vg_seal_sweep(const struct vg_seal_env *env, int64_t now_us, unsigned days)
{
    if (!days)
        return 0;
    int deleted = 0;
    GDir *d = g_dir_open(env->dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        if (n[0] == '.') /* not a case: a tomb is the next start's (vg_seal_recover) */
            continue;
        char *dir = g_build_filename(env->dir, n, NULL);
        gchar *text = NULL;
        gsize len = 0;
        json_t *m =
            read_file(dir, "manifest.json", &text, &len) ? json_loadb(text, len, 0, NULL) : NULL;
        json_int_t closed = json_integer_value(json_object_get(m, "closed_us"));
        char *pending = g_build_filename(dir, PENDING, NULL);
        bool due = m && closed && closed < now_us - (int64_t)days * 86400 * 1000000 &&
                   !g_file_test(pending, G_FILE_TEST_EXISTS); /* not while a reseal runs */
        g_free(pending);
        int64_t hold = 0;
        if (due && held(env, n, &hold)) {
            /* a court or an investigation needs it: kept until the hold is lifted */
            vg_info(n, NULL,
                    "evidence: kept past %u days: under a legal hold (audit log line %lld)", days,
                    (long long)hold);
        } else if (due && !vg_manifest_signed(dir, env->key)) {
            vg_error(n, NULL,
                     "evidence: not deleted after %u days: its manifest is not signed by this "
                     "centre",
                     days);
        } else if (due) {
            /* Out of the way in one rename first: a crash in the middle of the removal
             * leaves a tombstone the next start finishes, not a sealed recording with
             * its signature gone (which recovery would refuse as tampered with). */
            char *tomb = g_strdup_printf("%s/" TOMB "%s", env->dir, n);
            char sha[65] = ""; /* which version was destroyed, for the log */
            if (vg_manifest_sha256(dir, sha) != VG_OK)
                sha[0] = '\0';
            bool moved = rename(dir, tomb) == 0;
            int e = errno;
            char detail[200];
            snprintf(
                detail, sizeof detail,
                "{\"retention_days\":%u,\"closed_us\":%lld,\"deleted_manifest_sha256\":\"%s\"}",
                days, (long long)closed, sha);
            if (moved)
                fsync_dir(env->dir);
            /* the entry before the removal: a crash in between leaves the tomb and the
             * entry (the next start finishes it), never a recording gone with nothing
             * in the log to say so. Written only if no hold stands once the log is
             * locked: a hold placed since the question above is kept. */
            int rc = moved ? audit_deletion(env, n, detail, &hold) : VG_OK;
            if (moved && rc != VG_OK) {     /* held, or no entry to say it: put back */
                if (rename(tomb, dir) != 0) /* the next start puts it back (recovery) */
                    vg_error(n, NULL, "evidence: a recording not deleted is left at %s: %s", tomb,
                             strerror(errno));
                if (rc == VG_EPERM)
                    vg_info(n, NULL,
                            "evidence: kept: a legal hold came as it was being deleted (audit "
                            "log line %lld)",
                            (long long)hold);
                else
                    vg_error(n, NULL, "evidence: not deleted: its deletion could not be audited");
            } else if (moved) {
                remove_tree(tomb);
                vg_info(n, NULL, "evidence: recording deleted after %u days", days);
                deleted++;
            } else {
                vg_error(n, NULL, "evidence: not deleted: %s", strerror(e));
            }
            g_free(tomb);
        }
        json_decref(m);
        g_free(text);
        g_free(dir);
    }
    if (d)
        g_dir_close(d);
    return deleted;
}

void vg_sealer_skip_seals(struct vg_sealer *s, bool skip)
{
    atomic_store(&s->skip_close, skip);
}
