/* The audit log's seal index (audit.h): the same answers as reading the whole log,
 * kept up to date by reading only what was appended, through lines that cross its
 * read chunks, lines not signed by the key, a line still being written, and a log
 * replaced under it. */
#include "audit.h"
#include "evkey.h"
#include "vg_err.h"
#include "vt.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static char dir[256], log_path[300];
static EVP_PKEY *key;

static void seal(struct vg_audit *a, const char *case_id, char c)
{
    char detail[120], sha[65];
    memset(sha, c, 64);
    sha[64] = '\0';
    snprintf(detail, sizeof detail, "{\"manifest_sha256\":\"%s\"}", sha);
    VT_EQ_INT(vg_audit_append(a, 1, "vigild", "system", "sealed", case_id, "done", detail), VG_OK);
}

/* The index and a whole read agree: sha of 64 c's at line, or none (c = 0). */
static void expect(struct vg_audit_index *x, const char *case_id, char c, int64_t line)
{
    char got[65] = "", once[65] = "";
    int64_t at = -1, at_once = -1;
    int rc = vg_audit_index_last_seal(x, case_id, got, &at);
    int rc_once = vg_audit_last_seal(log_path, key, case_id, once, &at_once);
    if (!c) {
        VT_EQ_INT(rc, VG_ENOENT);
        VT_EQ_INT(rc_once, VG_ENOENT);
        return;
    }
    char want[65];
    memset(want, c, 64);
    want[64] = '\0';
    VT_EQ_INT(rc, VG_OK);
    VT_EQ_STR(got, want);
    VT_EQ_INT(at, line);
    VT_EQ_INT(rc_once, VG_OK);
    VT_EQ_STR(once, want);
    VT_EQ_INT(at_once, line);
}

static char last_problem[300];

static void keep_problem(const char *file, const char *what, void *ud)
{
    (void)ud;
    snprintf(last_problem, sizeof last_problem, "%s: %s", file, what);
}

static void append_raw(const char *text)
{
    FILE *f = fopen(log_path, "a");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/vg-audit-XXXXXX", g_get_tmp_dir());
    VT_CHECK(g_mkdtemp(dir) != NULL);
    char key_path[300], err[200];
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(log_path, sizeof log_path, "%s/audit.log", dir);
    VT_EQ_INT(vg_evkey_load_or_create(key_path, &key, err, sizeof err), VG_OK);
    struct vg_audit *a = NULL;
    VT_EQ_INT(vg_audit_open(log_path, key, &a, err, sizeof err), VG_OK);
    struct vg_audit_index *x = vg_audit_index_new(log_path, key);
    expect(x, "c-a", 0, 0); /* no log yet */

    seal(a, "c-a", 'a');
    VT_EQ_INT(vg_audit_append(a, 2, "sue", "supervisor", "download", "c-a", "allowed", NULL),
              VG_OK);
    seal(a, "c-b", 'b');
    expect(x, "c-a", 'a', 1);
    expect(x, "c-b", 'b', 3);
    expect(x, "c-x", 0, 0);

    /* Enough entries that lines cross the index's 64 KiB reads: each case's answer
     * still the whole read's. */
    char id[32];
    for (int i = 0; i < 400; i++) {
        snprintf(id, sizeof id, "c-%03d", i);
        seal(a, id, "0123456789"[i % 10]);
    }
    for (int i = 0; i < 400; i++) { /* each case sealed once: a line lost shows */
        snprintf(id, sizeof id, "c-%03d", i);
        expect(x, id, "0123456789"[i % 10], 3 + i + 1);
    }
    seal(a, "c-a", 'c'); /* a reseal, appended after the index caught up */
    expect(x, "c-a", 'c', 404);

    /* A line the key did not sign names another manifest: not taken. */
    append_raw(
        "{\"seq\":405,\"case_id\":\"c-a\",\"detail\":{\"manifest_sha256\":\""
        "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"}}\t"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AA==\n");
    expect(x, "c-a", 'c', 404);
    /* A line still being written (no newline yet) waits; its case is not seen. */
    append_raw("{\"case_id\":\"c-new\",\"detail\":{\"manifest_sha256\":");
    char got[65];
    int64_t line = 0;
    VT_EQ_INT(vg_audit_index_last_seal(x, "c-new", got, &line), VG_ENOENT);
    VT_EQ_INT(vg_audit_index_last_seal(x, "c-a", got, &line), VG_OK);
    VT_EQ_INT(line, 404);

    /* That unfinished line (a crash in the middle of an append): the next append
     * removes it rather than glue its entry to it, and the log verifies. */
    vg_audit_free(a);
    VT_EQ_INT(vg_audit_open(log_path, key, &a, err, sizeof err), VG_OK);
    seal(a, "c-after", 'e');
    unsigned entries = 0;
    VT_EQ_INT(vg_audit_verify(log_path, key, keep_problem, NULL, &entries), 1); /* the forged */
    VT_CHECK(strstr(last_problem, "line 405") != NULL);
    expect(x, "c-after", 'e', 406);
    gchar *text = NULL;
    VT_CHECK(g_file_get_contents(log_path, &text, NULL, NULL));
    VT_CHECK(strstr(text, "c-new") == NULL);
    g_free(text);

    /* The log replaced by another (a restore, say): read again from its start. */
    vg_audit_free(a);
    char other[320];
    snprintf(other, sizeof other, "%s/other.log", dir);
    VT_EQ_INT(vg_audit_open(other, key, &a, err, sizeof err), VG_OK);
    seal(a, "c-a", 'f');
    VT_EQ_INT(g_rename(other, log_path), 0);
    expect(x, "c-a", 'f', 1);
    expect(x, "c-b", 0, 0);

    vg_audit_index_free(x);
    vg_audit_free(a);
    EVP_PKEY_free(key);
    g_unlink(log_path);
    g_unlink(key_path);
    char pub[320];
    snprintf(pub, sizeof pub, "%s/key.pub", dir);
    g_unlink(pub);
    g_rmdir(dir);
    return vt_done("audit");
}
