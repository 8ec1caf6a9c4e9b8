#include "upload_store.h"

#include "store_sql.h"
#include "vg_err.h"

#include <stdio.h>
#include <string.h>

#define UPLOAD_COLUMNS                                                                             \
    "id, case_id, name, size, received, coalesce(type, ''), state, coalesce(sha256, ''),"          \
    " coalesce(path, ''), created_us, updated_us, coalesce(completed_us, 0)"

static void row_to_upload(sqlite3_stmt *q, struct vg_upload_row *u)
{
    memset(u, 0, sizeof *u);
    vg_sql_text(q, 0, u->id, sizeof u->id);
    vg_sql_text(q, 1, u->case_id, sizeof u->case_id);
    vg_sql_text(q, 2, u->name, sizeof u->name);
    u->size = sqlite3_column_int64(q, 3);
    u->received = sqlite3_column_int64(q, 4);
    vg_sql_text(q, 5, u->type, sizeof u->type);
    vg_sql_text(q, 6, u->state, sizeof u->state);
    vg_sql_text(q, 7, u->sha256, sizeof u->sha256);
    vg_sql_text(q, 8, u->path, sizeof u->path);
    u->created_us = sqlite3_column_int64(q, 9);
    u->updated_us = sqlite3_column_int64(q, 10);
    u->completed_us = sqlite3_column_int64(q, 11);
}

int vg_store_upload_insert(struct vg_store *st, const struct vg_upload_row *u)
{
    return vg_sql_exec(st, NULL,
                       "INSERT INTO uploads (id, case_id, name, size, created_us, updated_us)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                       "sssii", u->id, u->case_id, u->name, u->size, u->created_us);
}

int vg_store_upload_get(struct vg_store *st, const char *id, struct vg_upload_row *out)
{
    sqlite3_stmt *q =
        vg_sql_prepare(st, "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE id = ?1", "s", id);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_to_upload(q, out);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

int vg_store_upload_advance(struct vg_store *st, const char *id, int64_t from, int64_t to,
                            const char *type, int64_t at_us)
{
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE uploads SET received = ?3, type = coalesce(?4, type),"
                            " updated_us = ?5 WHERE id = ?1 AND state = 'open' AND received = ?2",
                            "siisi", id, from, to, type, at_us);
    return rc ? rc : n ? VG_OK : VG_ESTATE;
}

static int event(struct vg_store *st, const char *id, int64_t at_us, const char *kind,
                 const char *data)
{
    return vg_sql_exec(st, NULL,
                       "INSERT INTO case_events (case_id, seq, at_us, kind, actor, data)"
                       " SELECT case_id, (SELECT coalesce(max(seq), 0) + 1 FROM case_events e"
                       " WHERE e.case_id = u.case_id), ?2, ?3, 'citizen', ?4"
                       " FROM uploads u WHERE u.id = ?1",
                       "siss", id, at_us, kind, data);
}

int vg_store_upload_complete(struct vg_store *st, const char *id, const char *sha256,
                             const char *path, int64_t at_us, const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE uploads SET state = 'complete', sha256 = ?2, path = ?3,"
                            " completed_us = ?4, updated_us = ?4"
                            " WHERE id = ?1 AND state = 'open' AND received = size",
                            "sssi", id, sha256, path, at_us);
    if (rc == VG_OK && n == 0)
        rc = VG_ESTATE;
    if (rc == VG_OK)
        rc = event(st, id, at_us, "upload", event_data ? event_data : "{}");
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

int vg_store_upload_drop(struct vg_store *st, const char *id, const char *reason, int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n,
        rc = vg_sql_exec(st, &n,
                         "UPDATE uploads SET state = 'dropped', drop_reason = ?2, updated_us = ?3"
                         " WHERE id = ?1 AND state = 'open'",
                         "ssi", id, reason, at_us);
    if (rc == VG_OK && n == 0)
        rc = VG_ESTATE;
    char data[160];
    snprintf(data, sizeof data, "{\"upload_id\":\"%s\",\"reason\":\"%s\"}", id, reason);
    if (rc == VG_OK)
        rc = event(st, id, at_us, "upload_dropped", data);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

int vg_store_upload_counts(struct vg_store *st, const char *case_id, const char *const *photo_types,
                           struct vg_upload_counts *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q = vg_sql_prepare(
        st, "SELECT coalesce(type, '') FROM uploads WHERE case_id = ?1 AND state != 'dropped'", "s",
        case_id);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        out->total++;
        if (!t || !*t) {
            out->untyped++;
            continue;
        }
        bool photo = false;
        for (int i = 0; photo_types[i]; i++)
            photo |= strcmp(photo_types[i], t) == 0;
        if (photo)
            out->photos++;
        else
            out->videos++;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? VG_OK : VG_EIO;
}

int vg_store_upload_open_count(struct vg_store *st, int64_t *out)
{
    return vg_sql_int(st, out, "SELECT count(*) FROM uploads WHERE state = 'open'", "");
}

static int list(struct vg_store *st, sqlite3_stmt *q,
                int (*cb)(const struct vg_upload_row *u, void *ud), void *ud)
{
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_upload_row u;
        row_to_upload(q, &u);
        if (cb(&u, ud))
            break;
    }
    (void)st;
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_upload_list(struct vg_store *st, const char *case_id,
                         int (*cb)(const struct vg_upload_row *u, void *ud), void *ud)
{
    return list(st,
                vg_sql_prepare(st,
                               "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE case_id = ?1 AND"
                               " state = 'complete' ORDER BY completed_us, id",
                               "s", case_id),
                cb, ud);
}

int vg_store_upload_list_stale(struct vg_store *st, int64_t before_us,
                               int (*cb)(const struct vg_upload_row *u, void *ud), void *ud)
{
    return list(st,
                vg_sql_prepare(st,
                               "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE state = 'open' AND"
                               " updated_us < ?1 ORDER BY updated_us",
                               "i", before_us),
                cb, ud);
}

int vg_store_upload_list_late(struct vg_store *st, int64_t since_us,
                              int (*cb)(const struct vg_upload_row *u, void *ud), void *ud)
{
    return list(st,
                vg_sql_prepare(st,
                               "SELECT " UPLOAD_COLUMNS " FROM uploads u WHERE u.state = 'complete'"
                               " AND u.completed_us >= ?1 AND u.completed_us >"
                               " (SELECT c.ended_us FROM cases c WHERE c.id = u.case_id)"
                               " ORDER BY u.completed_us, u.id",
                               "i", since_us),
                cb, ud);
}

int vg_store_upload_hashed(struct vg_store *st, const char *id, const char *sha256)
{
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE uploads SET sha256 = ?2 WHERE id = ?1 AND state = 'open'"
                            " AND received = size",
                            "ss", id, sha256);
    return rc == VG_OK && n == 0 ? VG_ESTATE : rc;
}
