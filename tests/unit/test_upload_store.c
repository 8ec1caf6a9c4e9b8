/* Upload rows against a real SQLite file: `received` moves only forward from the
 * value read (a chunk committed twice counts once), completion needs every byte
 * and writes the case's `upload` event, and counts tell photos from videos. */
#include "case_store.h"
#include "upload_store.h"
#include "vg_err.h"
#include "vt.h"

#include <stdio.h>
#include <stdlib.h>

static struct vg_store *st;
static const char *const photo_types[] = {"image/jpeg", "image/png", "image/webp", NULL};

static void new_upload(const char *id, int64_t size)
{
    struct vg_upload_row u = {0};
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.case_id, sizeof u.case_id, "c-1");
    snprintf(u.name, sizeof u.name, "IMG_%s.jpg", id);
    u.size = size;
    u.created_us = 1000;
    VT_EQ_INT(vg_store_upload_insert(st, &u), VG_OK);
}

static int add_one(const struct vg_upload_row *u, void *ud)
{
    (void)u;
    (*(int *)ud)++;
    return 0;
}

static void test_lifecycle(void)
{
    new_upload("u-1", 300);
    VT_EQ_INT(
        vg_store_upload_insert(
            st, &(struct vg_upload_row){.id = "u-1", .case_id = "c-1", .name = "x", .size = 1}),
        VG_EEXIST);
    VT_EQ_INT(vg_store_upload_advance(st, "u-1", 0, 100, "image/png", 1100), VG_OK);
    VT_EQ_INT(vg_store_upload_advance(st, "u-1", 0, 100, NULL, 1101), VG_ESTATE); /* replayed */
    VT_EQ_INT(vg_store_upload_advance(st, "u-1", 100, 400, NULL, 1101), VG_EIO);  /* past size */
    VT_EQ_INT(vg_store_upload_complete(st, "u-1", "ab", "evidence/x", 1200, NULL),
              VG_ESTATE); /* not all in */
    VT_EQ_INT(vg_store_upload_advance(st, "u-1", 100, 300, NULL, 1300), VG_OK);
    struct vg_upload_row u;
    VT_EQ_INT(vg_store_upload_get(st, "u-1", &u), VG_OK);
    VT_EQ_INT(u.received, 300);
    VT_EQ_STR(u.type, "image/png");
    VT_EQ_STR(u.state, "open");
    VT_EQ_INT(vg_store_upload_complete(st, "u-1", "deadbeef", "evidence/c-1/uploads/u-1.png", 1400,
                                       "{\"upload_id\":\"u-1\"}"),
              VG_OK);
    VT_EQ_INT(vg_store_upload_get(st, "u-1", &u), VG_OK);
    VT_EQ_STR(u.state, "complete");
    VT_EQ_STR(u.sha256, "deadbeef");
    VT_EQ_INT(u.completed_us, 1400);
    VT_EQ_INT(vg_store_upload_complete(st, "u-1", "x", "y", 1500, NULL), VG_ESTATE); /* once */
    VT_EQ_INT(vg_store_upload_drop(st, "u-1", "stale", 1500), VG_ESTATE); /* complete stays */
    VT_EQ_INT(vg_store_upload_get(st, "u-404", &u), VG_ENOENT);
}

static void test_counts_and_lists(void)
{
    new_upload("u-2", 10);
    new_upload("u-3", 10);
    new_upload("u-4", 10);
    VT_EQ_INT(vg_store_upload_advance(st, "u-2", 0, 5, "video/mp4", 2000), VG_OK);
    VT_EQ_INT(vg_store_upload_advance(st, "u-3", 0, 5, "image/jpeg", 2000), VG_OK);
    VT_EQ_INT(vg_store_upload_drop(st, "u-4", "type", 2000), VG_OK);
    struct vg_upload_counts c;
    VT_EQ_INT(vg_store_upload_counts(st, "c-1", photo_types, &c), VG_OK);
    printf("counts: photos %lld videos %lld untyped %lld total %lld\n", (long long)c.photos,
           (long long)c.videos, (long long)c.untyped, (long long)c.total);
    VT_EQ_INT(c.photos, 2); /* u-1 (complete) and u-3 */
    VT_EQ_INT(c.videos, 1);
    VT_EQ_INT(c.untyped, 0);
    VT_EQ_INT(c.total, 3); /* the dropped one does not count */
    int64_t open = 0;
    VT_EQ_INT(vg_store_upload_open_count(st, &open), VG_OK);
    VT_EQ_INT(open, 2);
    int n = 0;
    VT_EQ_INT(vg_store_upload_list(st, "c-1", add_one, &n), VG_OK);
    VT_EQ_INT(n, 1);
    n = 0;
    VT_EQ_INT(vg_store_upload_list_stale(st, 2001, add_one, &n), VG_OK);
    VT_EQ_INT(n, 2);
    n = 0;
    VT_EQ_INT(vg_store_upload_list_stale(st, 1999, add_one, &n), VG_OK);
    VT_EQ_INT(n, 0);
}

/* Uploads completed after their case ended, since a time: what a restart offers the
 * closed recordings again. u-1 completed at 1400, while c-1 was open. */
static void test_late(void)
{
    int n = 0;
    VT_EQ_INT(vg_store_upload_list_late(st, 0, add_one, &n), VG_OK);
    VT_EQ_INT(n, 0); /* c-1 has not ended */
    VT_EQ_INT(vg_store_case_end(st, "c-1", "ann", "ended_by_staff", "resolved", 3000, NULL), VG_OK);
    new_upload("u-5", 10);
    VT_EQ_INT(vg_store_upload_advance(st, "u-5", 0, 10, "image/jpeg", 3100), VG_OK);
    VT_EQ_INT(vg_store_upload_complete(st, "u-5", "aa", "evidence/c-1/uploads/u-5.jpg", 3200, NULL),
              VG_OK);
    n = 0;
    VT_EQ_INT(vg_store_upload_list_late(st, 0, add_one, &n), VG_OK);
    VT_EQ_INT(n, 1); /* u-5 only: u-1 came before the end */
    n = 0;
    VT_EQ_INT(vg_store_upload_list_late(st, 3300, add_one, &n), VG_OK);
    VT_EQ_INT(n, 0); /* and not since 3300 */
}

int main(void)
{
    char dir[] = "/tmp/vigil-test-uploads-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    struct vg_case_row c = {.id = "c-1",
                            .mode = "report",
                            .state = "queued",
                            .phone = "+1",
                            .queue = "normal",
                            .caller = "{}",
                            .citizen_token = "t"};
    VT_EQ_INT(vg_store_case_insert(st, &c, "citizen", NULL), VG_OK);
    test_lifecycle();
    test_counts_and_lists();
    test_late();
    vg_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vt_done("upload_store");
}
