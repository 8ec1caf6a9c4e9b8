/* The audit log (see audit.h). */
#include "audit.h"

#include "evfmt.h"
#include "evkey.h"
#include "log.h"
#include "vg_err.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct vg_audit {
    char *path;
    EVP_PKEY *key;
    char prev[65];
    int64_t seq;
    off_t size;  /* the file's size when prev and seq were right */
    off_t whole; /* where its last whole line ends (size, unless a line was cut) */
};

static const char ZERO_HASH[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void line_hash(const char *line, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned n = 0;
    EVP_Digest(line, len, md, &n, EVP_sha256(), NULL);
    vg_ev_hex(md, 32, out);
}

/* Takes prev and seq from the log as it is: the last whole line's hash and the
 * number of lines (empty ones not counted). A last line without its newline is not
 * an entry (a crash or a short write cut it): it is left out, and the next append
 * removes it. Read in chunks, holding one line at a time: the log grows by every
 * case for as long as the centre runs, and this runs at every start. 0, or an
 * errno. */
static int load_chain(struct vg_audit *a, int fd)
{
    memcpy(a->prev, ZERO_HASH, 65);
    a->seq = 0;
    a->size = 0;
    a->whole = 0;
    GString *cur = g_string_new(NULL);
    char buf[65536];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, a->size)) > 0) {
        const char *p = buf, *end = buf + n, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
            g_string_append_len(cur, p, nl - p);
            if (cur->len) {
                line_hash(cur->str, cur->len, a->prev);
                a->seq++;
            }
            g_string_truncate(cur, 0);
            p = nl + 1;
            a->whole = a->size + (p - buf);
        }
        g_string_append_len(cur, p, end - p);
        a->size += n;
    }
    g_string_free(cur, TRUE);
    return n < 0 ? errno : 0;
}

int vg_audit_open(const char *path, EVP_PKEY *key, struct vg_audit **out, char *err, size_t errlen)
{
    struct vg_audit *a = g_new0(struct vg_audit, 1);
    a->path = g_strdup(path);
    a->key = key;
    memcpy(a->prev, ZERO_HASH, 65);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? (errno == ENOENT ? 0 : errno) : load_chain(a, fd);
    if (fd >= 0)
        close(fd);
    if (rc) {
        snprintf(err, errlen, "audit log %s: %s", path, strerror(rc));
        vg_audit_free(a);
        return VG_EIO;
    }
    *out = a;
    return VG_OK;
}

void vg_audit_free(struct vg_audit *a)
{
    if (!a)
        return;
    g_free(a->path);
    g_free(a);
}

/* One signed line continuing the chain from a->prev and a->seq; NULL on failure. */
static GString *make_line(struct vg_audit *a, int64_t at_us, const char *actor, const char *role,
                          const char *action, const char *case_id, const char *result,
                          const char *detail_json)
{
    json_t *detail = detail_json ? json_loads(detail_json, 0, NULL) : NULL;
    json_t *e = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s?, s:s, s:o?, s:s}", "seq",
                          (json_int_t)a->seq + 1, "at_us", (json_int_t)at_us, "actor",
                          actor ? actor : "", "role", role ? role : "", "action", action, "case_id",
                          case_id, "result", result, "detail", detail, "prev", a->prev);
    char *text = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(e);
    if (!text)
        return NULL;
    uint8_t sig[64];
    char b64[90];
    int rc = vg_evkey_sign(a->key, (const uint8_t *)text, strlen(text), sig);
    GString *line = g_string_new(text);
    free(text);
    if (rc != VG_OK) {
        g_string_free(line, TRUE);
        return NULL;
    }
    vg_evkey_sig_b64(sig, b64);
    g_string_append_printf(line, "\t%s\n", b64);
    return line;
}

/* A last line without its newline (a crash or a short write in the middle of an
 * append) is removed before the next entry: glued to it, that entry would read as
 * altered for ever, and the seal it records be lost. */
static bool cut_unfinished(struct vg_audit *a, int fd, struct stat *st)
{
    if (a->whole >= st->st_size)
        return true;
    if (ftruncate(fd, a->whole) != 0)
        return false;
    vg_warn(NULL, NULL,
            "audit log %s: an unfinished last line of %lld bytes removed (a crash or "
            "a short write cut it)",
            a->path, (long long)(st->st_size - a->whole));
    st->st_size = a->whole;
    a->size = a->whole;
    return true;
}

/* Appends under an exclusive lock on the file, so vigild and vigilctl (an export
 * audited from the command line) can both write: if the file grew since our last
 * line, someone else appended, and the chain continues from their last line. */
/* unless: a case whose legal hold, if one stands once the lock is held, refuses the
 * entry (VG_EPERM, its line in *held); x: the index to ask (NULL: the whole log). */
static int append(struct vg_audit *a, int64_t at_us, const char *actor, const char *role,
                  const char *action, const char *case_id, const char *result,
                  const char *detail_json, const char *unless, struct vg_audit_index *x,
                  int64_t *held)
{
    int fd = open(a->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return VG_EIO;
    struct stat st;
    int rc = VG_EIO;
    GString *line = NULL;
    bool locked = flock(fd, LOCK_EX) == 0;
    if (locked && unless &&
        (x ? vg_audit_index_held(x, unless, held) : vg_audit_held(a->path, a->key, unless, held)) ==
            VG_OK) {
        close(fd);
        return VG_EPERM;
    }
    if (locked && fstat(fd, &st) == 0 && (st.st_size == a->size || load_chain(a, fd) == 0) &&
        cut_unfinished(a, fd, &st)) {
        line = make_line(a, at_us, actor, role, action, case_id, result, detail_json);
        rc = !line ? VG_EINVAL
             : write(fd, line->str, line->len) == (ssize_t)line->len && fdatasync(fd) == 0 ? VG_OK
                                                                                           : VG_EIO;
    }
    if (rc == VG_OK) {
        line_hash(line->str, line->len - 1, a->prev);
        a->seq++;
        a->size = st.st_size + (off_t)line->len;
        a->whole = a->size;
    }
    if (line)
        g_string_free(line, TRUE);
    close(fd); /* releases the lock */
    return rc;
}

int vg_audit_append(struct vg_audit *a, int64_t at_us, const char *actor, const char *role,
                    const char *action, const char *case_id, const char *result,
                    const char *detail_json)
{
    return append(a, at_us, actor, role, action, case_id, result, detail_json, NULL, NULL, NULL);
}

int vg_audit_append_unless_held(struct vg_audit *a, struct vg_audit_index *x, int64_t at_us,
                                const char *actor, const char *role, const char *action,
                                const char *case_id, const char *result, const char *detail_json,
                                int64_t *held)
{
    *held = 0;
    return append(a, at_us, actor, role, action, case_id, result, detail_json, case_id, x, held);
}

int vg_audit_check_line(const char *line, size_t len, const char *prev_hex, int64_t seq,
                        EVP_PKEY *pub, char *why, size_t whylen)
{
    const char *json;
    size_t jlen;
    uint8_t sig[64];
    if (vg_ev_audit_split(line, len, &json, &jlen, sig) != VG_OK) {
        snprintf(why, whylen, "not an entry (JSON, tab, base64 signature)");
        return VG_EINVAL;
    }
    if (pub && vg_evkey_verify(pub, (const uint8_t *)json, jlen, sig) != VG_OK) {
        snprintf(why, whylen, "altered: the signature does not verify");
        return VG_EINVAL;
    }
    json_t *e = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, NULL);
    const char *prev = json_string_value(json_object_get(e, "prev"));
    json_t *sq = json_object_get(e, "seq");
    int rc = VG_EINVAL;
    if (!e || !prev || !json_is_integer(sq) || !json_is_string(json_object_get(e, "action")))
        snprintf(why, whylen, "altered: not an audit entry");
    else if (json_integer_value(sq) != seq)
        snprintf(why, whylen, "entry %lld where %lld was due (an entry removed or moved)",
                 (long long)json_integer_value(sq), (long long)seq);
    else if (strcmp(prev, prev_hex) != 0)
        snprintf(why, whylen, "chain broken: the line before is not the one this entry follows");
    else
        rc = VG_OK;
    json_decref(e);
    return rc;
}

int vg_audit_verify(const char *path, EVP_PKEY *pub,
                    void (*report)(const char *file, const char *what, void *ud), void *ud,
                    unsigned *entries)
{
    gchar *text = NULL;
    gsize len = 0;
    *entries = 0;
    if (!g_file_get_contents(path, &text, &len, NULL)) {
        report("audit.log", "missing", ud);
        return 1;
    }
    int problems = 0;
    char prev[65], why[200], where[64];
    memcpy(prev, ZERO_HASH, 65);
    const char *p = text, *end = text + len;
    if (len && text[len - 1] != '\n') {
        report("audit.log", "altered: the last line is not complete", ud);
        problems++;
    }
    for (int64_t n = 1; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (vg_audit_check_line(p, l, prev, n, pub, why, sizeof why) != VG_OK) {
            snprintf(where, sizeof where, "audit.log line %lld", (long long)n);
            report(where, why, ud);
            problems++;
        }
        line_hash(p, l, prev);
        (*entries)++;
        p += l + 1;
    }
    g_free(text);
    return problems;
}

/* The seal index ----------------------------------------------------------------------- */

#define MAX_LINE (1024 * 1024) /* an entry is a few hundred bytes */

/* The last line that names a manifest for a case: read again (and its signature
 * checked) only when asked, so catching up costs a scan for a substring, not a JSON
 * parse and a signature per line. One allocation per case, its name the key. */
struct seal_line {
    off_t off;
    int64_t line;
    uint32_t len;
    bool earlier; /* an earlier line named one too: looked for if this one fails */
    char case_id[];
};

struct vg_audit_index {
    char *path;
    EVP_PKEY *pub;
    dev_t dev;
    ino_t ino;
    off_t done;        /* bytes read: up to the end of the last whole line */
    int64_t lines;     /* whole lines read */
    GHashTable *cases; /* case_id -> struct seal_line: its last line naming a manifest */
    GHashTable *holds; /* case_id -> struct seal_line: its last legal_hold line */
};

static void index_reset(struct vg_audit_index *x)
{
    g_hash_table_remove_all(x->cases);
    g_hash_table_remove_all(x->holds);
    x->done = 0;
    x->lines = 0;
}

struct vg_audit_index *vg_audit_index_new(const char *path, EVP_PKEY *pub)
{
    struct vg_audit_index *x = g_new0(struct vg_audit_index, 1);
    x->path = g_strdup(path);
    x->pub = pub;
    x->cases = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    x->holds = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    return x;
}

void vg_audit_index_free(struct vg_audit_index *x)
{
    if (!x)
        return;
    g_hash_table_destroy(x->cases);
    g_hash_table_destroy(x->holds);
    g_free(x->path);
    g_free(x);
}

/* The case a line names, without parsing it: our lines are written with their keys in
 * one order, "case_id" before "detail", and a quote inside a string value is escaped,
 * so the first "case_id":" is the entry's. A name with an escape, or a line whose
 * hint is wrong (one not written by us), is settled when it is asked for: seal_in
 * parses the line and checks its case and signature. */
static bool case_of(const char *p, size_t len, char *out, size_t n)
{
    static const char key[] = "\"case_id\":\"";
    const char *k = memmem(p, len, key, sizeof key - 1);
    if (!k)
        return false;
    const char *v = k + sizeof key - 1, *end = p + len;
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (!q || q == v || (size_t)(q - v) >= n || memchr(v, '\\', (size_t)(q - v)))
        return false;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return true;
}

/* The case of a line that names a manifest, into out; false for any other line. */
static bool names_seal(const char *p, size_t len, char *out, size_t n)
{
    static const char key[] = "\"manifest_sha256\":";
    return len <= UINT32_MAX && memmem(p, len, key, sizeof key - 1) && case_of(p, len, out, n);
}

/* The case of a line that places or lifts a legal hold, into out; false for any other
 * line (a refused attempt to place one, say). make_line writes "action" right before
 * "case_id", and no value holds an unescaped quote, so only an entry's own keys
 * match. */
static bool names_hold(const char *p, size_t len, char *out, size_t n)
{
    static const char key[] = "\"action\":\"legal_hold\",\"case_id\":\"";
    static const char placed[] = "\"result\":\"placed\"", lifted[] = "\"result\":\"lifted\"";
    return len <= UINT32_MAX && memmem(p, len, key, sizeof key - 1) &&
           (memmem(p, len, placed, sizeof placed - 1) ||
            memmem(p, len, lifted, sizeof lifted - 1)) &&
           case_of(p, len, out, n);
}

/* Calls fn for every whole line from byte *done on (counting them in *lines), and
 * moves *done past the last one. A last line without its newline (being written, or
 * cut) is left for the next call. VG_OK or VG_EIO. */
typedef void (*line_fn)(void *ud, const char *p, size_t len, off_t off, int64_t line);

static int scan_lines(int fd, off_t *done, int64_t *lines, line_fn fn, void *ud)
{
    GString *carry = g_string_new(NULL); /* a line begun in the chunk before */
    char buf[65536];
    ssize_t n;
    off_t at = *done;
    while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
        const char *p = buf, *end = buf + n, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
            ++*lines; /* *done is where this line began */
            if (carry->len) {
                if (carry->len < MAX_LINE)
                    g_string_append_len(carry, p, nl - p);
                fn(ud, carry->str, carry->len, *done, *lines);
                g_string_truncate(carry, 0);
            } else {
                fn(ud, p, (size_t)(nl - p), *done, *lines);
            }
            p = nl + 1;
            *done = at + (p - buf);
        }
        if (carry->len < MAX_LINE) /* past it, a line is cut: not an entry anyway */
            g_string_append_len(carry, p, end - p);
        at += n;
    }
    g_string_free(carry, TRUE);
    return n < 0 ? VG_EIO : VG_OK;
}

static void remember(GHashTable *t, const char *c, off_t off, int64_t line, size_t len)
{
    struct seal_line *sl = g_hash_table_lookup(t, c);
    bool earlier = sl != NULL;
    if (!sl) {
        size_t cl = strlen(c) + 1;
        sl = g_malloc(sizeof *sl + cl);
        memcpy(sl->case_id, c, cl);
        g_hash_table_insert(t, sl->case_id, sl);
    }
    *sl = (struct seal_line){off, line, (uint32_t)len, earlier};
}

static void index_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct vg_audit_index *x = ud;
    char c[128];
    if (names_seal(p, len, c, sizeof c))
        remember(x->cases, c, off, line, len);
    if (names_hold(p, len, c, sizeof c))
        remember(x->holds, c, off, line, len);
}

/* Reads what was appended since the last call: the log only grows (appends under a
 * lock), so a file that shrank or was replaced is read again from its start. */
static int index_catch_up(struct vg_audit_index *x, int *fd_out)
{
    int fd = open(x->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        index_reset(x);
        return VG_ENOENT;
    }
    if (st.st_dev != x->dev || st.st_ino != x->ino || st.st_size < x->done) {
        index_reset(x);
        x->dev = st.st_dev;
        x->ino = st.st_ino;
    }
    *fd_out = fd;
    return scan_lines(fd, &x->done, &x->lines, index_line, x);
}

/* A line naming a manifest, checked: VG_OK with its hash if it names case_id and its
 * signature verifies with pub. */
/* A line's entry (without its signature: json_decref it) if it names case_id and its
 * signature verifies with pub; NULL otherwise. The question a seal's and a hold's
 * lines are both asked once their hint matched. */
static json_t *verified_entry(EVP_PKEY *pub, const char *p, size_t len, const char *case_id)
{
    const char *json;
    size_t jlen;
    uint8_t sig[64];
    if (vg_ev_audit_split(p, len, &json, &jlen, sig) != VG_OK)
        return NULL;
    json_t *e = json_loadb(json, jlen, 0, NULL);
    const char *c = json_string_value(json_object_get(e, "case_id"));
    if (!c || strcmp(c, case_id) != 0 ||
        vg_evkey_verify(pub, (const uint8_t *)json, jlen, sig) != VG_OK) {
        json_decref(e);
        return NULL;
    }
    return e;
}

static int seal_in(EVP_PKEY *pub, const char *p, size_t len, const char *case_id, char sha_hex[65])
{
    json_t *e = verified_entry(pub, p, len, case_id);
    const char *h =
        json_string_value(json_object_get(json_object_get(e, "detail"), "manifest_sha256"));
    int rc = h && strlen(h) == 64 ? VG_OK : VG_EINVAL;
    if (rc == VG_OK)
        memcpy(sha_hex, h, 65);
    json_decref(e);
    return rc;
}

/* The slow way, when the last line indexed for a case does not verify (someone wrote
 * to the log): every line of the case, the last that verifies. */
struct slow {
    EVP_PKEY *pub;
    const char *case_id;
    char *sha_hex;
    int64_t line;
};

static void slow_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct slow *w = ud;
    char c[128], hex[65];
    (void)off;
    if (names_seal(p, len, c, sizeof c) && strcmp(c, w->case_id) == 0 &&
        seal_in(w->pub, p, len, w->case_id, hex) == VG_OK) {
        memcpy(w->sha_hex, hex, 65);
        w->line = line;
    }
}

int vg_audit_index_last_seal(struct vg_audit_index *x, const char *case_id, char sha_hex[65],
                             int64_t *line)
{
    *line = 0;
    int fd = -1;
    if (index_catch_up(x, &fd) == VG_ENOENT)
        return VG_ENOENT;
    const struct seal_line *sl = g_hash_table_lookup(x->cases, case_id);
    char *p = sl ? g_malloc(sl->len ? sl->len : 1) : NULL;
    if (sl && pread(fd, p, sl->len, sl->off) == (ssize_t)sl->len &&
        seal_in(x->pub, p, sl->len, case_id, sha_hex) == VG_OK) {
        *line = sl->line;
    } else if (sl && sl->earlier) {
        struct slow w = {x->pub, case_id, sha_hex, 0};
        off_t from = 0;
        int64_t n = 0;
        scan_lines(fd, &from, &n, slow_line, &w);
        *line = w.line;
    }
    g_free(p);
    close(fd);
    return *line ? VG_OK : VG_ENOENT;
}

int vg_audit_last_seal(const char *path, EVP_PKEY *pub, const char *case_id, char sha_hex[65],
                       int64_t *line)
{
    /* one question: the slow way is the fast one, and holds no index */
    *line = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOENT;
    struct slow w = {pub, case_id, sha_hex, 0};
    off_t from = 0;
    int64_t n = 0;
    scan_lines(fd, &from, &n, slow_line, &w);
    close(fd);
    *line = w.line;
    return *line ? VG_OK : VG_ENOENT;
}

/* Legal holds (audit.h) ------------------------------------------------------------- */

enum hold { HOLD_BAD, HOLD_PLACED, HOLD_LIFTED };

/* A line placing or lifting a hold, checked: which, if it names case_id and its
 * signature verifies with pub; HOLD_BAD otherwise. */
static enum hold hold_in(EVP_PKEY *pub, const char *p, size_t len, const char *case_id)
{
    json_t *e = verified_entry(pub, p, len, case_id);
    const char *a = json_string_value(json_object_get(e, "action"));
    const char *r = json_string_value(json_object_get(e, "result"));
    enum hold h = !a || !r || strcmp(a, "legal_hold") != 0 ? HOLD_BAD
                  : strcmp(r, "placed") == 0               ? HOLD_PLACED
                  : strcmp(r, "lifted") == 0               ? HOLD_LIFTED
                                                           : HOLD_BAD;
    json_decref(e);
    return h;
}

/* Every line of the case (the slow way): the hold standing after its last valid one. */
struct slow_hold {
    EVP_PKEY *pub;
    const char *case_id;
    int64_t line; /* the standing hold's "placed" line, 0: none */
};

static void slow_hold_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct slow_hold *w = ud;
    char c[128];
    (void)off;
    if (!names_hold(p, len, c, sizeof c) || strcmp(c, w->case_id) != 0)
        return;
    enum hold h = hold_in(w->pub, p, len, w->case_id);
    if (h != HOLD_BAD)
        w->line = h == HOLD_PLACED ? line : 0;
}

static int64_t held_slow(int fd, EVP_PKEY *pub, const char *case_id)
{
    struct slow_hold w = {pub, case_id, 0};
    off_t from = 0;
    int64_t n = 0;
    scan_lines(fd, &from, &n, slow_hold_line, &w);
    return w.line;
}

int vg_audit_index_held(struct vg_audit_index *x, const char *case_id, int64_t *line)
{
    *line = 0;
    int fd = -1;
    if (index_catch_up(x, &fd) == VG_ENOENT)
        return VG_ENOENT;
    const struct seal_line *hl = g_hash_table_lookup(x->holds, case_id);
    enum hold h = HOLD_BAD;
    if (hl) {
        char *p = g_malloc(hl->len ? hl->len : 1);
        if (pread(fd, p, hl->len, hl->off) == (ssize_t)hl->len)
            h = hold_in(x->pub, p, hl->len, case_id);
        g_free(p);
    }
    if (h == HOLD_PLACED)
        *line = hl->line;
    else if (h == HOLD_BAD && hl && hl->earlier) /* the last one is not ours: look back */
        *line = held_slow(fd, x->pub, case_id);
    close(fd);
    return *line ? VG_OK : VG_ENOENT;
}

bool vg_audit_hold_name_ok(const char *case_id)
{
    size_t n = strlen(case_id);
    return n >= 1 && n <= 40 &&
           strspn(case_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int vg_audit_held(const char *path, EVP_PKEY *pub, const char *case_id, int64_t *line)
{
    *line = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOENT;
    *line = held_slow(fd, pub, case_id);
    close(fd);
    return *line ? VG_OK : VG_ENOENT;
}

/* The last verified entry of one action for one case (the slow way: every line). */
struct last_action {
    EVP_PKEY *pub;
    const char *case_id, *action;
    int64_t line;
    json_t *entry;
};

static void action_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct last_action *w = ud;
    char c[128];
    const char *json;
    size_t jlen;
    uint8_t sig[64];
    (void)off;
    if (!case_of(p, len, c, sizeof c) || strcmp(c, w->case_id) != 0 ||
        vg_ev_audit_split(p, len, &json, &jlen, sig) != VG_OK)
        return;
    json_t *e = json_loadb(json, jlen, 0, NULL);
    const char *a = json_string_value(json_object_get(e, "action"));
    const char *ec = json_string_value(json_object_get(e, "case_id"));
    if (a && ec && strcmp(a, w->action) == 0 && strcmp(ec, w->case_id) == 0 &&
        vg_evkey_verify(w->pub, (const uint8_t *)json, jlen, sig) == VG_OK) {
        json_decref(w->entry);
        w->entry = e;
        w->line = line;
        return;
    }
    json_decref(e);
}

int vg_audit_last_action(const char *path, EVP_PKEY *pub, const char *case_id, const char *action,
                         int64_t *line, json_t **entry)
{
    *line = 0;
    *entry = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOENT;
    struct last_action w = {pub, case_id, action, 0, NULL};
    off_t from = 0;
    int64_t n = 0;
    scan_lines(fd, &from, &n, action_line, &w);
    close(fd);
    *line = w.line;
    *entry = w.entry;
    return w.entry ? VG_OK : VG_ENOENT;
}

/* Every case's seal and deletion (vg_audit_cases). */
struct cases_walk {
    EVP_PKEY *pub;
    GHashTable *by_id; /* case id -> struct vg_audit_case, owned */
    GPtrArray *order;
};

static void case_entry(struct cases_walk *w, json_t *e, int64_t line)
{
    const char *c = json_string_value(json_object_get(e, "case_id"));
    const char *action = json_string_value(json_object_get(e, "action"));
    const char *result = json_string_value(json_object_get(e, "result"));
    json_t *d = json_object_get(e, "detail");
    const char *seal = json_string_value(json_object_get(d, "manifest_sha256"));
    const char *gone = json_string_value(json_object_get(d, "deleted_manifest_sha256"));
    bool deleted =
        action && result && strcmp(action, "delete_expired") == 0 && strcmp(result, "done") == 0;
    bool hold = action && result && strcmp(action, "legal_hold") == 0 &&
                (strcmp(result, "placed") == 0 || strcmp(result, "lifted") == 0);
    if (!c || !c[0] || (!(seal && strlen(seal) == 64) && !deleted && !hold))
        return;
    struct vg_audit_case *k = g_hash_table_lookup(w->by_id, c);
    if (!k) {
        k = g_new0(struct vg_audit_case, 1);
        k->case_id = g_strdup(c);
        g_hash_table_insert(w->by_id, (char *)k->case_id, k);
        g_ptr_array_add(w->order, k);
    }
    int64_t at = json_integer_value(json_object_get(e, "at_us"));
    if (seal && strlen(seal) == 64) {
        memcpy(k->seal_sha, seal, 65);
        k->seal_line = line;
        k->seal_at_us = at;
    }
    if (deleted) {
        snprintf(k->deleted_sha, sizeof k->deleted_sha, "%s", gone ? gone : "");
        k->deleted_line = line;
        k->deleted_at_us = at;
        k->retention_days = (int)json_integer_value(json_object_get(d, "retention_days"));
        k->deleted_held_line = k->hold_line;
    }
    if (hold)
        k->hold_line = strcmp(result, "placed") == 0 ? line : 0;
}

static void cases_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct cases_walk *w = ud;
    static const char del[] = "\"delete_expired\"";
    char c[128];
    const char *json;
    size_t jlen;
    uint8_t sig[64];
    (void)off;
    if (!names_seal(p, len, c, sizeof c) && !memmem(p, len, del, sizeof del - 1) &&
        !names_hold(p, len, c, sizeof c))
        return; /* the rest (downloads, refusals) says nothing of what exists */
    if (vg_ev_audit_split(p, len, &json, &jlen, sig) != VG_OK ||
        vg_evkey_verify(w->pub, (const uint8_t *)json, jlen, sig) != VG_OK)
        return;
    json_t *e = json_loadb(json, jlen, 0, NULL);
    if (e)
        case_entry(w, e, line);
    json_decref(e);
}

static void free_case(gpointer p)
{
    struct vg_audit_case *k = p;
    g_free((char *)k->case_id);
    g_free(k);
}

int vg_audit_cases(const char *path, EVP_PKEY *pub,
                   void (*fn)(const struct vg_audit_case *c, void *ud), void *ud)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOENT;
    struct cases_walk w = {pub, g_hash_table_new(g_str_hash, g_str_equal),
                           g_ptr_array_new_with_free_func(free_case)};
    off_t from = 0;
    int64_t n = 0;
    int rc = scan_lines(fd, &from, &n, cases_line, &w);
    close(fd);
    for (guint i = 0; rc == VG_OK && i < w.order->len; i++)
        fn(g_ptr_array_index(w.order, i), ud);
    g_hash_table_destroy(w.by_id);
    g_ptr_array_free(w.order, TRUE);
    return rc;
}

/* Anchors (audit.h) ----------------------------------------------------------------- */

int vg_audit_head(const char *path, int64_t *seq, char hex[65])
{
    *seq = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return VG_ENOENT;
    int rc = VG_ENOENT;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        /* an entry is a few hundred bytes; a line is at most MAX_LINE */
        off_t want = st.st_size < MAX_LINE + 1 ? st.st_size : MAX_LINE + 1;
        char *buf = g_malloc((size_t)want + 1);
        ssize_t n = pread(fd, buf, (size_t)want, st.st_size - want);
        if (n != (ssize_t)want) {
            rc = VG_EIO;
        } else {
            /* the last whole line ends at the last newline (a line being written or
             * cut after it is not one yet) */
            char *end = buf + n;
            while (end > buf && end[-1] != '\n')
                end--;
            char *start = end > buf ? end - 1 : buf;
            while (start > buf && start[-1] != '\n')
                start--;
            const char *json;
            size_t jlen;
            uint8_t sig[64];
            json_t *e = NULL;
            if (end > buf && (start > buf || want == st.st_size) &&
                vg_ev_audit_split(start, (size_t)(end - 1 - start), &json, &jlen, sig) == VG_OK &&
                (e = json_loadb(json, jlen, 0, NULL)) &&
                json_integer_value(json_object_get(e, "seq")) > 0) {
                *seq = json_integer_value(json_object_get(e, "seq"));
                line_hash(start, (size_t)(end - 1 - start), hex);
                rc = VG_OK;
            }
            json_decref(e);
        }
        g_free(buf);
    }
    close(fd);
    return rc;
}

struct hash_at {
    int64_t want;
    char *hex;
    bool found;
};

static void hash_line(void *ud, const char *p, size_t len, off_t off, int64_t line)
{
    struct hash_at *w = ud;
    (void)off;
    if (line == w->want) {
        line_hash(p, len, w->hex);
        w->found = true;
    }
}

int vg_audit_hash_at(const char *path, int64_t line, int64_t *lines, char hex[65])
{
    *lines = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return VG_ENOENT;
    struct hash_at w = {line, hex, false};
    off_t from = 0;
    int rc = scan_lines(fd, &from, lines, hash_line, &w);
    close(fd);
    return rc != VG_OK ? rc : w.found ? VG_OK : VG_ENOENT;
}
