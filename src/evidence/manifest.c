/* Manifests: build and sign (at a recording's end), verify (vigil-verify). */
#include "manifest.h"

#include "evfmt.h"
#include "evkey.h"
#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sha256_hex(const void *b, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned mdn = 0;
    EVP_Digest(b, n, md, &mdn, EVP_sha256(), NULL);
    vg_ev_hex(md, 32, out);
}

static bool is_segment(const char *name)
{
    return g_str_has_suffix(name, ".vgs") &&
           (g_str_has_prefix(name, "events-") || g_str_has_prefix(name, "leg-"));
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b); /* pointers to the elements */
}

/* Sorted names of the regular files in dir (relative, prefixed). */
static GPtrArray *list_files(const char *dir, const char *prefix)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *full = g_build_filename(dir, n, NULL);
        if (g_file_test(full, G_FILE_TEST_IS_REGULAR) && !g_file_test(full, G_FILE_TEST_IS_SYMLINK))
            g_ptr_array_add(a, g_strconcat(prefix, n, NULL));
        g_free(full);
    }
    if (d)
        g_dir_close(d);
    g_ptr_array_sort(a, cmp_names);
    return a;
}

/* A recording resumed after a restart (recorder.c): the time vigild was down is a
 * gap of every leg, and what the resume cut off the segments a crash left torn is
 * listed as a crash's cut is. */
static void read_resumed(json_t *e, json_t *gaps, json_t *truncated)
{
    json_t *cut = json_object_get(e, "truncated");
    if (truncated && json_is_array(cut))
        json_array_extend(truncated, cut);
    json_array_append_new(gaps, json_pack("{s:s, s:s, s:O?, s:O?, s:s}", "type", "gap", "leg",
                                          "all", "from_us", json_object_get(e, "stopped_us"),
                                          "to_us", json_object_get(e, "resumed_us"), "reason",
                                          "vigild_restarted"));
}

/* Participants and gaps, from the events log's records. */
static void read_events(const uint8_t *buf, size_t len, json_t *parties, json_t *gaps,
                        json_t *truncated)
{
    size_t off = VG_EV_HDR_LEN;
    struct vg_ev_record r;
    int n;
    while (off < len && (n = vg_ev_record_parse(buf + off, len - off, &r)) > 0) {
        off += (size_t)n;
        json_t *e = json_loadb((const char *)r.data, r.len, 0, NULL);
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *leg = json_string_value(json_object_get(e, "leg"));
        const char *party = json_string_value(json_object_get(e, "party"));
        if (type && strcmp(type, "leg") == 0 && leg && party)
            json_object_set_new(parties, leg, json_string(party));
        else if (type && strcmp(type, "gap") == 0)
            json_array_append(gaps, e);
        else if (type && strcmp(type, "recording_resumed") == 0)
            read_resumed(e, gaps, truncated);
        json_decref(e);
    }
}

struct build {
    json_t *files, *gaps, *parties, *truncated;
    int64_t first_us, last_us;
};

/* One segment: truncated if torn (only when closing a crashed recording). */
static bool all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int add_segment(struct build *b, const char *dir, const char *name, bool cut, char *err,
                       size_t errlen)
{
    char *path = g_build_filename(dir, name, NULL);
    gchar *buf = NULL;
    gsize len = 0;
    int rc = VG_OK;
    struct vg_ev_scan sc;
    int scanned = VG_OK;
    if (g_file_get_contents(path, &buf, &len, NULL)) {
        scanned = vg_ev_scan((const uint8_t *)buf, len, &sc);
        /* Zeros after the last whole record: a power cut lost the data of blocks the
         * file already had (reserved ahead, or its size written before its data). As
         * a torn record, they are cut and listed, not signed as part of the recording
         * (vigil-verify would then call it altered). Other bytes that are not a record
         * are kept, and named. */
        if (scanned != VG_OK && sc.bad_offset && cut &&
            all_zero(buf + sc.bad_offset, len - sc.bad_offset)) {
            sc.torn = true;
            sc.complete_len = sc.bad_offset;
            scanned = VG_OK;
        }
    }
    if (!buf) {
        snprintf(err, errlen, "%s: cannot read", path);
        rc = VG_EIO;
    } else if (scanned != VG_OK && sc.bad_offset == 0) {
        /* no header at all (a crash right after creating it): nothing to keep */
        if (cut && len < VG_EV_HDR_LEN) {
            unlink(path);
            json_array_append_new(b->truncated, json_pack("{s:s, s:I, s:I, s:b}", "path", name,
                                                          "from_size", (json_int_t)len, "to_size",
                                                          (json_int_t)0, "removed", 1));
        } else {
            snprintf(err, errlen, "%s: not a segment", path);
            rc = VG_EINVAL;
        }
        goto out;
    }
    if (sc.torn && cut) {
        if (truncate(path, (off_t)sc.complete_len) != 0) {
            snprintf(err, errlen, "%s: cannot truncate (%s)", path, strerror(errno));
            rc = VG_EIO;
            goto out;
        }
        json_array_append_new(b->truncated,
                              json_pack("{s:s, s:I, s:I}", "path", name, "from_size",
                                        (json_int_t)len, "to_size", (json_int_t)sc.complete_len));
        len = sc.complete_len;
    } else if (cut && truncate(path, (off_t)len) != 0) { /* gives back blocks reserved ahead */
        snprintf(err, errlen, "%s: cannot truncate (%s)", path, strerror(errno));
        rc = VG_EIO;
        goto out;
    }
    char hash[65], prev[65], stream[24];
    sha256_hex(buf, len, hash);
    vg_ev_hex(sc.hdr.prev, 32, prev);
    snprintf(stream, sizeof stream, "%llu", (unsigned long long)sc.hdr.stream);
    if (sc.hdr.stream == 0)
        read_events((const uint8_t *)buf, len, b->parties, b->gaps, b->truncated);
    json_t *f = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "path", name, "sha256", hash, "size",
        (json_int_t)len, "type", sc.hdr.stream ? "media" : "events", "stream", stream, "seq",
        (json_int_t)sc.hdr.seq, "prev_sha256", prev, "from_us", (json_int_t)sc.first_us, "to_us",
        (json_int_t)sc.last_us, "records", (json_int_t)sc.records);
    json_array_append_new(b->files, f);
    if (sc.first_us && (!b->first_us || sc.first_us < b->first_us))
        b->first_us = sc.first_us;
    if (sc.last_us > b->last_us)
        b->last_us = sc.last_us;
out:
    g_free(buf);
    g_free(path);
    return rc;
}

static int add_upload(struct build *b, const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    gchar *buf = NULL;
    gsize len = 0;
    struct stat st;
    int rc = VG_EIO;
    if (g_file_get_contents(path, &buf, &len, NULL) && stat(path, &st) == 0) {
        char hash[65];
        sha256_hex(buf, len, hash);
        json_array_append_new(b->files, json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "path",
                                                  name, "sha256", hash, "size", (json_int_t)len,
                                                  "type", "upload", "participant", "citizen",
                                                  "from_us", (json_int_t)st.st_mtime * 1000000,
                                                  "to_us", (json_int_t)st.st_mtime * 1000000));
        rc = VG_OK;
    }
    g_free(buf);
    g_free(path);
    return rc;
}

/* Writes bytes to dir/name through a temp file, fsync'd, renamed. */
static int write_atomic(const char *dir, const char *name, const char *bytes, size_t len)
{
    char *path = g_build_filename(dir, name, NULL), *tmp = g_strconcat(path, ".tmp", NULL);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc = VG_EIO;
    if (fd >= 0) {
        bool ok = write(fd, bytes, len) == (ssize_t)len && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        if (ok && rename(tmp, path) == 0)
            rc = VG_OK;
        else
            unlink(tmp);
    }
    g_free(tmp);
    g_free(path);
    return rc;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int collect(struct build *b, const char *dir, bool cut, char *err, size_t errlen)
{
    GPtrArray *names = list_files(dir, "");
    int rc = VG_OK;
    for (guint i = 0; i < names->len && rc == VG_OK; i++)
        if (is_segment(names->pdata[i]))
            rc = add_segment(b, dir, names->pdata[i], cut, err, errlen);
    g_ptr_array_free(names, TRUE);
    char *up = g_build_filename(dir, "uploads", NULL);
    GPtrArray *ups = list_files(up, "uploads/");
    for (guint i = 0; i < ups->len && rc == VG_OK; i++)
        if (add_upload(b, dir, ups->pdata[i])) {
            snprintf(err, errlen, "%s/%s: cannot read", dir, (char *)ups->pdata[i]);
            rc = VG_EIO;
        }
    g_ptr_array_free(ups, TRUE);
    g_free(up);
    return rc;
}

/* The stream a segment's name belongs to: the name without "-NNNNNN.vgs". */
static size_t stream_prefix(const char *name)
{
    const char *dash = strrchr(name, '-');
    return dash ? (size_t)(dash - name) : strlen(name);
}

/* The last segment of one stream (names[i]), cut, and the time of the stream's last
 * record into b->last_us (the latest of all streams'). A last segment with no record
 * yet (just opened at a rotation when the crash came) has it in the stream's segment
 * before: without that, one stream's older record (the events log's) was taken for
 * when everything stopped, and the gap claimed seconds a leg had recorded. */
static int stream_last(struct build *b, const char *dir, GPtrArray *names, guint i, char *err,
                       size_t errlen)
{
    int64_t before = b->last_us;
    b->last_us = 0;
    const char *n = names->pdata[i];
    size_t k = stream_prefix(n);
    int rc = add_segment(b, dir, n, true, err, errlen);
    for (guint j = i; rc == VG_OK && !b->last_us && j-- > 0;) {
        const char *p = names->pdata[j];
        if (!is_segment(p) || stream_prefix(p) != k || strncmp(p, n, k) != 0)
            break;
        struct build earlier = {json_array(), json_array(), json_object(), json_array(), 0, 0};
        rc = add_segment(&earlier, dir, p, false, err, errlen);
        b->last_us = earlier.last_us;
        json_decref(earlier.files);
        json_decref(earlier.gaps);
        json_decref(earlier.parties);
        json_decref(earlier.truncated);
    }
    if (before > b->last_us)
        b->last_us = before;
    return rc;
}

int vg_manifest_cut_open(const char *dir, json_t *truncated, int64_t *stopped_us,
                         uint32_t *events_seq, uint8_t events_sha[32], char *err, size_t errlen)
{
    struct build b = {json_array(), json_array(), json_object(), json_array(), 0, 0};
    GPtrArray *names = list_files(dir, "");
    int rc = VG_OK;
    /* Sorted, and the sequence numbers zero-padded: a stream's last segment is the
     * last of its names. Only those can be torn (a segment is synced and whole
     * before the next one opens). */
    for (guint i = 0; i < names->len && rc == VG_OK; i++) {
        const char *n = names->pdata[i], *next = i + 1 < names->len ? names->pdata[i + 1] : "";
        size_t k = stream_prefix(n);
        bool last = !is_segment(next) || stream_prefix(next) != k || strncmp(n, next, k) != 0;
        if (is_segment(n) && last)
            rc = stream_last(&b, dir, names, i, err, errlen);
    }
    /* No record in any last segment (each just opened, or its only record torn):
     * the time of the last record is in a segment before them. */
    if (!b.last_us) {
        g_ptr_array_free(names, TRUE);
        names = list_files(dir, ""); /* without any the cut removed */
    }
    for (guint i = 0; i < names->len && rc == VG_OK && !b.last_us; i++)
        if (is_segment(names->pdata[i]))
            rc = add_segment(&b, dir, names->pdata[i], false, err, errlen);
    g_ptr_array_free(names, TRUE);
    *stopped_us = b.last_us;
    json_array_extend(truncated, b.truncated);
    json_decref(b.files);
    json_decref(b.gaps);
    json_decref(b.parties);
    json_decref(b.truncated);
    /* the events log's last whole segment, which the resumed log chains to (one cut
     * to nothing was removed: the one before it is then the last) */
    *events_seq = 0;
    memset(events_sha, 0, 32);
    names = list_files(dir, "");
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        unsigned seq;
        if (g_str_has_prefix(n, "events-") && is_segment(n) &&
            sscanf(n, "events-%u.vgs", &seq) == 1)
            *events_seq = seq;
    }
    if (*events_seq && rc == VG_OK) {
        char name[32];
        snprintf(name, sizeof name, "events-%06u.vgs", *events_seq);
        char *path = g_build_filename(dir, name, NULL);
        gchar *buf = NULL;
        gsize len = 0;
        unsigned mdn = 0;
        if (!g_file_get_contents(path, &buf, &len, NULL) ||
            EVP_Digest(buf, len, events_sha, &mdn, EVP_sha256(), NULL) != 1) {
            snprintf(err, errlen, "%s: cannot read", path);
            rc = VG_EIO;
        }
        g_free(buf);
        g_free(path);
    }
    g_ptr_array_free(names, TRUE);
    return rc;
}

/* Each media file gets its leg's participant, named by the events log. */
static void name_participants(struct build *b)
{
    size_t i;
    json_t *f;
    json_array_foreach(b->files, i, f)
    {
        const char *type = json_string_value(json_object_get(f, "type"));
        if (strcmp(type, "media") != 0)
            continue;
        json_t *p = json_object_get(b->parties, json_string_value(json_object_get(f, "stream")));
        json_object_set_new(f, "participant", p ? json_incref(p) : json_string("unknown"));
    }
}

/* Signs text and writes manifest.json, then manifest.sig, each through a temp file. */
static int sign_and_write(const char *dir, EVP_PKEY *key, const char *text, char *err,
                          size_t errlen)
{
    uint8_t sig[64];
    char b64[90];
    size_t len = strlen(text);
    if (vg_evkey_sign(key, (const uint8_t *)text, len, sig) != VG_OK) {
        snprintf(err, errlen, "%s: signing the manifest failed", dir);
        return VG_EIO;
    }
    vg_evkey_sig_b64(sig, b64);
    strcat(b64, "\n");
    int rc = write_atomic(dir, "manifest.json", text, len);
    if (rc == VG_OK)
        rc = write_atomic(dir, "manifest.sig", b64, strlen(b64));
    if (rc)
        snprintf(err, errlen, "%s: cannot write the manifest", dir);
    fsync_dir(dir);
    return rc;
}

int vg_manifest_restore(const char *dir, const char *text, size_t len, const char *sig, size_t slen,
                        char *err, size_t errlen)
{
    int rc = write_atomic(dir, "manifest.json", text, len);
    if (rc == VG_OK)
        rc = write_atomic(dir, "manifest.sig", sig, slen);
    if (rc)
        snprintf(err, errlen, "%s: cannot put the manifest back", dir);
    fsync_dir(dir);
    return rc;
}

int vg_manifest_write(const char *dir, const char *case_id, EVP_PKEY *key, bool complete,
                      const char *reason, int64_t closed_us, char *err, size_t errlen)
{
    struct build b = {json_array(), json_array(), json_object(), json_array(), 0, 0};
    int rc = collect(&b, dir, !complete, err, errlen);
    char kid[65] = "";
    vg_evkey_id(key, kid);
    name_participants(&b);
    json_t *m = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:o}", "format",
                          VG_MANIFEST_FORMAT, "case_id", case_id, "complete", complete, "reason",
                          reason ? reason : "", "started_us", (json_int_t)b.first_us, "stopped_us",
                          (json_int_t)b.last_us, "closed_us", (json_int_t)closed_us, "key_id", kid,
                          "files", b.files, "gaps", b.gaps, "truncated", b.truncated);
    json_decref(b.parties);
    char *text = rc == VG_OK ? json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);
    if (rc == VG_OK)
        rc = sign_and_write(dir, key, text, err, errlen);
    free(text);
    return rc;
}

/* Verification ------------------------------------------------------------------------ */

struct check {
    void (*report)(const char *file, const char *what, void *ud);
    void *ud;
    int problems;
};

static void problem(struct check *c, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *c, const char *file, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    c->problems++;
    c->report(file, what, c->ud);
}

int vg_manifest_parse(const char *text, size_t len, struct vg_manifest_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    json_t *m = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *fmt = json_string_value(json_object_get(m, "format"));
    const char *id = json_string_value(json_object_get(m, "case_id"));
    json_t *files = json_object_get(m, "files"), *gaps = json_object_get(m, "gaps");
    int rc = VG_EINVAL;
    if (fmt && strcmp(fmt, VG_MANIFEST_FORMAT) == 0 && id && strlen(id) < sizeof sum->case_id &&
        json_is_array(files) && json_is_array(gaps) &&
        json_is_boolean(json_object_get(m, "complete"))) {
        rc = VG_OK;
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            const char *p = json_string_value(json_object_get(f, "path"));
            const char *h = json_string_value(json_object_get(f, "sha256"));
            if (!p || !*p || strstr(p, "..") || p[0] == '/' || !h || strlen(h) != 64 ||
                !json_is_integer(json_object_get(f, "size")))
                rc = VG_EINVAL;
        }
        snprintf(sum->case_id, sizeof sum->case_id, "%s", id);
        sum->complete = json_is_true(json_object_get(m, "complete"));
        sum->started_us = json_integer_value(json_object_get(m, "started_us"));
        sum->stopped_us = json_integer_value(json_object_get(m, "stopped_us"));
        sum->files = (unsigned)json_array_size(files);
        sum->gaps = (unsigned)json_array_size(gaps);
    }
    json_decref(m);
    return rc;
}

static void check_signature(struct check *c, EVP_PKEY *pub, const char *text, size_t len,
                            const char *sig, size_t slen)
{
    uint8_t raw[66];
    if (!sig) {
        problem(c, "manifest.sig", "missing");
    } else if (slen != VG_EV_SIG_B64 + 1 || sig[VG_EV_SIG_B64] != '\n' ||
               EVP_DecodeBlock(raw, (const unsigned char *)sig, VG_EV_SIG_B64) != 66 ||
               memcmp(sig + VG_EV_SIG_B64 - 2, "==", 2) != 0) {
        problem(c, "manifest.sig", "altered: not one base64 Ed25519 signature");
    } else if (vg_evkey_verify(pub, (const uint8_t *)text, len, raw) != VG_OK) {
        problem(c, "manifest.json",
                "altered: its signature does not verify with this key (the manifest or "
                "manifest.sig was changed, or another centre's key)");
    }
}

/* One listed file: present, same size, same SHA-256; a segment also parses whole,
 * belongs to this case and names its predecessor's hash. */
static void check_file(struct check *c, const char *dir, const char *case_id, json_t *f,
                       json_t *by_stream_seq)
{
    const char *name = json_string_value(json_object_get(f, "path"));
    const char *want = json_string_value(json_object_get(f, "sha256"));
    json_int_t size = json_integer_value(json_object_get(f, "size"));
    if (!name || !want) {
        problem(c, "manifest.json", "a file entry without path or sha256");
        return;
    }
    char *path = g_build_filename(dir, name, NULL);
    gchar *buf = NULL;
    gsize len = 0;
    char got[65];
    if (!g_file_get_contents(path, &buf, &len, NULL)) {
        problem(c, name, "missing");
        g_free(path);
        return;
    }
    sha256_hex(buf, len, got);
    if ((json_int_t)len != size)
        problem(c, name, "altered: %zu bytes, the manifest says %lld", (size_t)len,
                (long long)size);
    else if (strcmp(got, want) != 0)
        problem(c, name, "altered: SHA-256 %.16s..., the manifest says %.16s...", got, want);
    const char *type = json_string_value(json_object_get(f, "type"));
    if (type && strcmp(type, "upload") != 0) {
        struct vg_ev_scan sc;
        int rc = vg_ev_scan((const uint8_t *)buf, len, &sc);
        if (rc != VG_OK && sc.bad_offset == 0)
            problem(c, name, "altered: its segment header is not valid");
        else if (rc != VG_OK)
            problem(c, name, "altered: a malformed record at byte %zu", sc.bad_offset);
        else if (sc.torn)
            problem(c, name, "altered: it ends inside a record (at byte %zu)", sc.complete_len);
        else if (strcmp(sc.hdr.case_id, case_id) != 0)
            problem(c, name, "belongs to case %s, not %s", sc.hdr.case_id, case_id);
        else if (sc.hdr.seq > 1) {
            char key[48], prev[65];
            snprintf(key, sizeof key, "%llu/%u", (unsigned long long)sc.hdr.stream, sc.hdr.seq - 1);
            const char *before = json_string_value(json_object_get(by_stream_seq, key));
            vg_ev_hex(sc.hdr.prev, 32, prev);
            if (!before)
                problem(c, name, "chain broken: segment %u of its stream is missing",
                        sc.hdr.seq - 1);
            else if (strcmp(before, prev) != 0)
                problem(c, name,
                        "chain broken: names %.16s... as its predecessor, which is %.16s...", prev,
                        before);
        }
    }
    g_free(buf);
    g_free(path);
}

/* Whether name is one of the files a reseal may add: the same name and SHA-256. */
static bool allowed(const char *dir, const char *name, const struct vg_manifest_allow *allow,
                    size_t n_allow)
{
    for (size_t i = 0; i < n_allow; i++) {
        if (strcmp(allow[i].name, name) != 0)
            continue;
        char *path = g_build_filename(dir, name, NULL);
        gchar *buf = NULL;
        gsize len = 0;
        uint8_t md[32];
        unsigned mdn = 0;
        bool same = g_file_test(path, G_FILE_TEST_IS_REGULAR) && /* as list_files sees files */
                    !g_file_test(path, G_FILE_TEST_IS_SYMLINK) &&
                    g_file_get_contents(path, &buf, &len, NULL) &&
                    EVP_Digest(buf, len, md, &mdn, EVP_sha256(), NULL) == 1 &&
                    memcmp(md, allow[i].sha, 32) == 0;
        g_free(buf);
        g_free(path);
        return same;
    }
    return false;
}

/* A recording is regular files (and its uploads/ directory): a symbolic link or any
 * other entry is named, as an added file is. A link to a file outside passed
 * unseen, and the exporter read it as part of the case. */
static void odd_entries(struct check *c, const char *dir, const char *prefix)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        char *full = g_build_filename(dir, n, NULL);
        GStatBuf st;
        bool uploads_dir = !*prefix && strcmp(n, "uploads") == 0;
        if (g_lstat(full, &st) != 0 || S_ISLNK(st.st_mode) ||
            !(S_ISREG(st.st_mode) || (uploads_dir && S_ISDIR(st.st_mode)))) {
            char *name = g_strconcat(prefix, n, NULL);
            problem(c, name,
                    S_ISLNK(st.st_mode) ? "a symbolic link, not part of a recording"
                                        : "not a regular file, not part of a recording");
            g_free(name);
        }
        g_free(full);
    }
    if (d)
        g_dir_close(d);
}

/* Every file in the directory must be listed (an added file is tampering too), but
 * in a reseal the files it may add (allow: exact names with their SHA-256) and its
 * own note (VG_MANIFEST_PENDING). */
static void check_unlisted(struct check *c, const char *dir, json_t *listed,
                           const struct vg_manifest_allow *allow, size_t n_allow, bool reseal)
{
    const char *const subs[] = {"", "uploads"};
    for (int s = 0; s < 2; s++) {
        char *d = g_build_filename(dir, subs[s], NULL);
        odd_entries(c, d, s ? "uploads/" : "");
        GPtrArray *names = list_files(d, s ? "uploads/" : "");
        for (guint i = 0; i < names->len; i++) {
            const char *n = names->pdata[i];
            if (strcmp(n, "manifest.json") && strcmp(n, "manifest.sig") &&
                !json_object_get(listed, n) && !(reseal && strcmp(n, VG_MANIFEST_PENDING) == 0) &&
                !allowed(dir, n, allow, n_allow))
                problem(c, n,
                        strcmp(n, VG_MANIFEST_PENDING) == 0
                            ? "an interrupted reseal (vigild finishes it at its next start)"
                            : "not in the manifest (added after the recording closed)");
        }
        g_ptr_array_free(names, TRUE);
        g_free(d);
    }
}

/* The recording in dir against a manifest's text and signature (vigil-verify's
 * checks); in a reseal, the files it may add pass. */
static int check_recording(const char *dir, EVP_PKEY *pub, const char *text, size_t len,
                           const char *sig, size_t slen, const struct vg_manifest_allow *allow,
                           size_t n_allow, bool reseal,
                           void (*report)(const char *file, const char *what, void *ud), void *ud,
                           struct vg_manifest_summary *sum)
{
    struct check c = {report, ud, 0};
    memset(sum, 0, sizeof *sum);
    check_signature(&c, pub, text, len, sig, slen);
    if (vg_manifest_parse(text, len, sum) != VG_OK) {
        problem(&c, "manifest.json", "altered: not a manifest");
        return c.problems;
    }
    json_t *m = json_loadb(text, len, 0, NULL), *files = json_object_get(m, "files");
    json_t *listed = json_object(), *chain = json_object();
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        json_object_set_new(listed, p, json_true());
        const char *st = json_string_value(json_object_get(f, "stream"));
        if (st) {
            char key[48];
            snprintf(key, sizeof key, "%s/%lld", st,
                     (long long)json_integer_value(json_object_get(f, "seq")));
            json_object_set(chain, key, json_object_get(f, "sha256"));
        }
    }
    json_array_foreach(files, i, f) check_file(&c, dir, sum->case_id, f, chain);
    check_unlisted(&c, dir, listed, allow, n_allow, reseal);
    json_decref(listed);
    json_decref(chain);
    json_decref(m);
    return c.problems;
}

int vg_manifest_verify(const char *dir, EVP_PKEY *pub,
                       void (*report)(const char *file, const char *what, void *ud), void *ud,
                       struct vg_manifest_summary *sum)
{
    char *mp = g_build_filename(dir, "manifest.json", NULL);
    char *sp = g_build_filename(dir, "manifest.sig", NULL);
    gchar *text = NULL, *sig = NULL;
    gsize len = 0, slen = 0;
    int n;
    memset(sum, 0, sizeof *sum);
    if (!g_file_get_contents(mp, &text, &len, NULL)) {
        /* with its signature still here it was closed and sealed: removed since */
        report("manifest.json",
               g_file_test(sp, G_FILE_TEST_EXISTS)
                   ? "missing, though manifest.sig is here: removed after the recording was "
                     "sealed"
                   : "missing: the recording was never closed (or its manifest and signature "
                     "were removed; the audit log names every seal)",
               ud);
        n = 1;
    } else {
        if (!g_file_get_contents(sp, &sig, &slen, NULL))
            sig = NULL;
        n = check_recording(dir, pub, text, len, sig, slen, NULL, 0, false, report, ud, sum);
    }
    g_free(text);
    g_free(sig);
    g_free(mp);
    g_free(sp);
    return n;
}

/* Reseals ---------------------------------------------------------------------------- */

struct first_problem {
    char *err;
    size_t errlen;
    int n;
};

static void keep_first(const char *file, const char *what, void *ud)
{
    struct first_problem *fp = ud;
    if (!fp->n++ && fp->err)
        snprintf(fp->err, fp->errlen, "%s: %s", file, what);
}

int vg_manifest_check(const char *dir, EVP_PKEY *key, const char *text, size_t len, const char *sig,
                      size_t slen, const struct vg_manifest_allow *allow, size_t n_allow, char *err,
                      size_t errlen)
{
    struct first_problem fp = {err, errlen, 0};
    struct vg_manifest_summary sum;
    check_recording(dir, key, text, len, sig, slen, allow, n_allow, true, keep_first, &fp, &sum);
    return fp.n ? VG_EINVAL : VG_OK;
}

int vg_manifest_reseal(const char *dir, const char *case_id, EVP_PKEY *key, const char *text,
                       size_t len, const char *sig, size_t slen,
                       const struct vg_manifest_allow *allow, size_t n_allow, const char *why,
                       int64_t now_us, char *err, size_t errlen)
{
    int rc = vg_manifest_check(dir, key, text, len, sig, slen, allow, n_allow, err, errlen);
    json_t *old = rc == VG_OK ? json_loadb(text, len, 0, NULL) : NULL;
    if (rc != VG_OK || !old)
        return VG_EINVAL;
    /* The old list, and each allowed file that is there (with its hash: checked) and
     * not listed yet: never what else the directory may hold by now. */
    struct build b = {json_deep_copy(json_object_get(old, "files")),
                      json_array(),
                      json_object(),
                      json_array(),
                      0,
                      0};
    if (!json_is_array(b.files)) {
        json_decref(b.files);
        b.files = json_array();
    }
    json_t *paths = json_object(), *f;
    size_t i;
    json_array_foreach(b.files, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        if (p)
            json_object_set_new(paths, p, json_true());
    }
    for (size_t k = 0; k < n_allow && rc == VG_OK; k++) {
        if (json_object_get(paths, allow[k].name) || !allowed(dir, allow[k].name, &allow[k], 1))
            continue; /* listed already, or announced and not there */
        rc = is_segment(allow[k].name) ? add_segment(&b, dir, allow[k].name, false, err, errlen)
             : g_str_has_prefix(allow[k].name, "uploads/") ? add_upload(&b, dir, allow[k].name)
                                                           : VG_EINVAL;
        char hex[65];
        vg_ev_hex(allow[k].sha, 32, hex);
        json_t *added = json_array_get(b.files, json_array_size(b.files) - 1);
        const char *got = json_string_value(json_object_get(added, "sha256"));
        if (rc == VG_OK && (!got || strcmp(got, hex) != 0)) { /* changed since its check */
            snprintf(err, errlen, "%s: changed while it was being added", allow[k].name);
            rc = VG_EINVAL;
        }
        json_object_set_new(paths, allow[k].name, json_true());
    }
    json_decref(paths);
    json_decref(b.parties);
    json_decref(b.truncated); /* what the first seal cut is kept from it, below */
    char kid[65] = "",
         *reason = g_strdup_printf("%s; resealed: %s",
                                   json_string_value(json_object_get(old, "reason"))
                                       ? json_string_value(json_object_get(old, "reason"))
                                       : "",
                                   why);
    vg_evkey_id(key, kid);
    /* What the recording was stays as the first seal said: complete or not, when its
     * media started and stopped, when it closed (retention counts from then), what a
     * crash cut; the reseal adds its reason and time. */
    json_t *m = json_pack(
        "{s:s, s:s, s:O, s:s, s:O, s:O, s:O, s:I, s:s, s:o, s:O, s:O}", "format",
        VG_MANIFEST_FORMAT, "case_id", case_id, "complete", json_object_get(old, "complete"),
        "reason", reason, "started_us", json_object_get(old, "started_us"), "stopped_us",
        json_object_get(old, "stopped_us"), "closed_us", json_object_get(old, "closed_us"),
        "resealed_us", (json_int_t)now_us, "key_id", kid, "files", b.files, "gaps",
        json_object_get(old, "gaps"), "truncated", json_object_get(old, "truncated"));
    json_decref(b.gaps);
    g_free(reason);
    json_decref(old);
    if (!m) {
        snprintf(err, errlen, "%s: the old manifest lacks a field", dir);
        return VG_EINVAL;
    }
    char *out = rc == VG_OK ? json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);
    if (rc == VG_OK)
        rc = sign_and_write(dir, key, out, err, errlen);
    free(out);
    return rc;
}

bool vg_manifest_signed(const char *dir, EVP_PKEY *key)
{
    struct vg_manifest_summary sum;
    struct first_problem fp = {NULL, 0, 0};
    char *mp = g_build_filename(dir, "manifest.json", NULL);
    char *sp = g_build_filename(dir, "manifest.sig", NULL);
    gchar *text = NULL, *sig = NULL;
    gsize len = 0, slen = 0;
    bool ok =
        g_file_get_contents(mp, &text, &len, NULL) && g_file_get_contents(sp, &sig, &slen, NULL);
    if (ok) {
        struct check c = {keep_first, &fp, 0};
        check_signature(&c, key, text, len, sig, slen);
        ok = c.problems == 0 && vg_manifest_parse(text, len, &sum) == VG_OK;
    }
    g_free(text);
    g_free(sig);
    g_free(mp);
    g_free(sp);
    return ok;
}

int vg_manifest_sha256(const char *dir, char hex[65])
{
    char *mp = g_build_filename(dir, "manifest.json", NULL);
    gchar *text = NULL;
    gsize len = 0;
    int rc = g_file_get_contents(mp, &text, &len, NULL) ? VG_OK : VG_ENOENT;
    if (rc == VG_OK)
        sha256_hex(text, len, hex);
    g_free(text);
    g_free(mp);
    return rc;
}

bool vg_manifest_has(const char *dir, const struct vg_manifest_allow *file)
{
    return allowed(dir, file->name, file, 1);
}
