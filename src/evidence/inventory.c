/* The evidence folder against its audit log (see inventory.h). */
#include "inventory.h"

#include "audit.h"
#include "evfmt.h"
#include "manifest.h"
#include "vg_err.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

struct walk {
    const char *dir;
    EVP_PKEY *pub;
    bool verify_each;
    void (*say)(const char *level, const char *case_id, const char *what, void *ud);
    void *ud;
    struct vg_inventory *inv;
    GHashTable *named; /* case ids the log names */
};

/* A name the log gives that is not one folder in dir ("..", "a/b"): the log is
 * signed, but a reviewer's tool does not follow a path out of the folder. */
static bool plain_name(const char *id)
{
    return id[0] && id[0] != '.' && !strchr(id, '/') && !strchr(id, '\\');
}

/* Says `what` (taken) of the case at level. */
static void say_owned(struct walk *w, const char *level, const char *id, char *what)
{
    w->say(level, id, what, w->ud);
    g_free(what);
}

static void fail(struct walk *w, const char *id, char *what)
{
    say_owned(w, "FAIL", id, what);
    w->inv->problems++;
}

/* A recording gone whose deletion the log accounts for, said at level. */
static void deleted(struct walk *w, const char *level, const char *id, char *what)
{
    say_owned(w, level, id, what);
    w->inv->deleted++;
}

static void verify_report(const char *file, const char *what, void *ud)
{
    struct walk *w = ((void **)ud)[0];
    const char *id = ((void **)ud)[1];
    fail(w, id, g_strdup_printf("%s: %s", file, what));
}

static void present(struct walk *w, const struct vg_audit_case *k, const char *path)
{
    char have[65], when[40];
    char *pending = g_build_filename(path, VG_MANIFEST_PENDING, NULL);
    bool resealing = g_file_test(pending, G_FILE_TEST_EXISTS);
    g_free(pending);
    if (resealing) { /* vigild is signing it again (or a crash cut that): not yet */
        w->say("NOTE", k->case_id,
               "a reseal is in progress (or was cut by a crash: the next start finishes it): "
               "check it again",
               w->ud);
        return;
    }
    if (k->deleted_line > k->seal_line) {
        w->say("NOTE", k->case_id,
               "in the folder again after the log recorded its deletion: restored from a copy?",
               w->ud);
    }
    if (!k->seal_line) {
        w->say("NOTE", k->case_id, "in the folder; the log names no seal of it", w->ud);
    } else if (vg_manifest_sha256(path, have) != VG_OK) {
        fail(w, k->case_id, g_strdup("manifest.json unreadable"));
        return;
    } else if (strcmp(have, k->seal_sha) != 0) {
        fail(w, k->case_id,
             g_strdup_printf("not the manifest the centre last signed for it (audit log line %lld, "
                             "%s, names %.16s...; this one is %.16s...): replaced or rolled "
                             "back",
                             (long long)k->seal_line, vg_ev_utc(k->seal_at_us, when, sizeof when),
                             k->seal_sha, have));
        return;
    } else {
        w->inv->present++;
    }
    if (k->hold_line) {
        char *what = g_strdup_printf("under a legal hold (audit log line %lld): kept past its "
                                     "retention until the hold is lifted",
                                     (long long)k->hold_line);
        say_owned(w, "NOTE", k->case_id, what);
    }
    if (w->verify_each) {
        struct vg_manifest_summary s = {0};
        void *ctx[2] = {w, (void *)k->case_id};
        if (vg_manifest_verify(path, w->pub, verify_report, ctx, &s) == 0)
            w->say("OK", k->case_id,
                   s.complete ? "verified whole, complete"
                              : "verified whole, "
                                "INCOMPLETE (vigil-verify CASE_DIR says why)",
                   w->ud);
    }
}

static void absent(struct walk *w, const struct vg_audit_case *k)
{
    char when[40], sealed[40];
    char *tomb = g_strdup_printf("%s/.deleting-%s", w->dir, k->case_id);
    bool deleting = g_file_test(tomb, G_FILE_TEST_IS_DIR);
    g_free(tomb);
    if (k->deleted_line <= k->seal_line && deleting) { /* renamed, its entry not yet in */
        w->say("NOTE", k->case_id,
               "being deleted under retention (or a crash cut its deletion: the next start "
               "finishes it): check it again",
               w->ud);
        return;
    }
    if (!k->seal_line && !k->deleted_line) { /* the log names only a hold of it */
        w->say("NOTE", k->case_id,
               "a legal hold names it; no recording of it is in the folder, and the log "
               "names none",
               w->ud);
        return;
    }
    if (k->deleted_held_line && k->deleted_line > k->seal_line) {
        fail(w, k->case_id,
             g_strdup_printf("deleted at %s (audit log line %lld) while under the legal hold "
                             "placed at line %lld",
                             vg_ev_utc(k->deleted_at_us, when, sizeof when),
                             (long long)k->deleted_line, (long long)k->deleted_held_line));
        return;
    }
    if (k->deleted_line <= k->seal_line) { /* no deletion after its last seal */
        fail(w, k->case_id,
             g_strdup_printf("MISSING: its recording was sealed at %s (audit log line %lld) "
                             "and the log records no deletion",
                             vg_ev_utc(k->seal_at_us, sealed, sizeof sealed),
                             (long long)k->seal_line));
        return;
    }
    if (!k->seal_line) {
        char *what = g_strdup_printf("deleted under retention at %s (audit log line %lld); "
                                     "the log names no seal of it (sealed before seals were "
                                     "audited)",
                                     vg_ev_utc(k->deleted_at_us, when, sizeof when),
                                     (long long)k->deleted_line);
        deleted(w, "NOTE", k->case_id, what);
    } else if (!k->deleted_sha[0]) {
        char *what = g_strdup_printf("deleted at %s (audit log line %lld), finishing a deletion "
                                     "a crash had cut; that entry does not name the manifest "
                                     "deleted (written before deletions named it)",
                                     vg_ev_utc(k->deleted_at_us, when, sizeof when),
                                     (long long)k->deleted_line);
        deleted(w, "NOTE", k->case_id, what);
    } else if (strcmp(k->deleted_sha, k->seal_sha) == 0) {
        char kept[64] = "finished at a start, after a crash";
        if (k->retention_days > 0)
            snprintf(kept, sizeof kept, "kept %d days", k->retention_days);
        char *what = g_strdup_printf("deleted under retention (%s) at %s, audit log line %lld; the "
                                     "manifest deleted is the one signed last (line %lld)",
                                     kept, vg_ev_utc(k->deleted_at_us, when, sizeof when),
                                     (long long)k->deleted_line, (long long)k->seal_line);
        deleted(w, "OK", k->case_id, what);
    } else {
        fail(w, k->case_id,
             g_strdup_printf("deleted at %s (audit log line %lld), but the manifest deleted "
                             "(%.16s...) is not the one signed last (line %lld, %.16s...)",
                             vg_ev_utc(k->deleted_at_us, when, sizeof when),
                             (long long)k->deleted_line, k->deleted_sha, (long long)k->seal_line,
                             k->seal_sha));
    }
}

static void one_case(const struct vg_audit_case *k, void *ud)
{
    struct walk *w = ud;
    w->inv->named++;
    g_hash_table_add(w->named, g_strdup(k->case_id));
    if (!plain_name(k->case_id)) {
        fail(w, k->case_id, g_strdup("the log names a case that is not a folder name"));
        return;
    }
    char *path = g_build_filename(w->dir, k->case_id, NULL);
    char *man = g_build_filename(path, "manifest.json", NULL);
    if (g_file_test(man, G_FILE_TEST_EXISTS))
        present(w, k, path);
    else
        absent(w, k);
    g_free(man);
    g_free(path);
}

/* Folders holding a recording (a manifest) that the log does not name. */
static void unnamed(struct walk *w)
{
    GDir *d = g_dir_open(w->dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        if (n[0] == '.' || g_hash_table_contains(w->named, n))
            continue;
        char *man = g_build_filename(w->dir, n, "manifest.json", NULL);
        if (g_file_test(man, G_FILE_TEST_EXISTS)) {
            w->inv->unnamed++;
            w->say("NOTE", n,
                   "a recording the audit log names no seal of (sealed before seals were "
                   "audited, or a crash came between the seal and its entry)",
                   w->ud);
        }
        g_free(man);
    }
    if (d)
        g_dir_close(d);
}

unsigned vg_inventory_check(const char *ev_dir, const char *log, EVP_PKEY *pub, bool verify_each,
                            void (*say)(const char *level, const char *case_id, const char *what,
                                        void *ud),
                            void *ud, struct vg_inventory *out)
{
    *out = (struct vg_inventory){0};
    struct walk w = {ev_dir,
                     pub,
                     verify_each,
                     say,
                     ud,
                     out,
                     g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    int rc = vg_audit_cases(log, pub, one_case, &w);
    if (rc != VG_OK) {
        say("FAIL", "-", rc == VG_ENOENT ? "no audit log" : "the audit log could not be read", ud);
        out->problems++;
    } else {
        unnamed(&w);
    }
    g_hash_table_destroy(w.named);
    return out->problems;
}
