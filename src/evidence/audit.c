/* The audit log (see audit.h). */
#include "audit.h"

#include "evfmt.h"
#include "evkey.h"
#include "vg_err.h"

#include <errno.h>
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
    off_t size; /* the file's size when prev and seq were right */
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
 * number of lines. 0, or an errno. */
static int load_chain(struct vg_audit *a, int fd)
{
    memcpy(a->prev, ZERO_HASH, 65);
    a->seq = 0;
    a->size = 0;
    GString *text = g_string_new(NULL);
    char buf[8192];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, (off_t)text->len)) > 0)
        g_string_append_len(text, buf, n);
    int rc = n < 0 ? errno : 0;
    char **lines = g_strsplit(text->str, "\n", -1);
    for (int i = 0; lines[i]; i++)
        if (*lines[i]) {
            line_hash(lines[i], strlen(lines[i]), a->prev);
            a->seq++;
        }
    a->size = (off_t)text->len;
    g_strfreev(lines);
    g_string_free(text, TRUE);
    return rc;
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

/* Appends under an exclusive lock on the file, so vigild and vigilctl (an export
 * audited from the command line) can both write: if the file grew since our last
 * line, someone else appended, and the chain continues from their last line. */
int vg_audit_append(struct vg_audit *a, int64_t at_us, const char *actor, const char *role,
                    const char *action, const char *case_id, const char *result,
                    const char *detail_json)
{
    int fd = open(a->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return VG_EIO;
    struct stat st;
    int rc = VG_EIO;
    GString *line = NULL;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 &&
        (st.st_size == a->size || load_chain(a, fd) == 0)) {
        line = make_line(a, at_us, actor, role, action, case_id, result, detail_json);
        rc = !line ? VG_EINVAL
             : write(fd, line->str, line->len) == (ssize_t)line->len && fdatasync(fd) == 0 ? VG_OK
                                                                                           : VG_EIO;
    }
    if (rc == VG_OK) {
        line_hash(line->str, line->len - 1, a->prev);
        a->seq++;
        a->size = st.st_size + (off_t)line->len;
    }
    if (line)
        g_string_free(line, TRUE);
    close(fd); /* releases the lock */
    return rc;
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

int vg_audit_last_seal(const char *path, EVP_PKEY *pub, const char *case_id, char sha_hex[65],
                       int64_t *line)
{
    gchar *text = NULL;
    gsize len = 0;
    *line = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return VG_ENOENT;
    const char *p = text, *end = text + len;
    for (int64_t n = 1; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *json;
        size_t json_len;
        uint8_t sig[64];
        json_t *e = vg_ev_audit_split(p, l, &json, &json_len, sig) == VG_OK
                        ? json_loadb(json, json_len, 0, NULL)
                        : NULL;
        const char *c = json_string_value(json_object_get(e, "case_id"));
        const char *h =
            json_string_value(json_object_get(json_object_get(e, "detail"), "manifest_sha256"));
        if (c && h && strcmp(c, case_id) == 0 && strlen(h) == 64 &&
            vg_evkey_verify(pub, (const uint8_t *)json, json_len, sig) == VG_OK) {
            memcpy(sha_hex, h, 65);
            *line = n;
        }
        json_decref(e);
        p += l + 1;
    }
    g_free(text);
    return *line ? VG_OK : VG_ENOENT;
}
