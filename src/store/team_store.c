#include "team_store.h"

#include "case_store.h"
#include "store_sql.h"
#include "vg_err.h"

#include <string.h>

int vg_store_group_add_member(struct vg_store *st, const char *group, const char *account,
                              int64_t now_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int rc = vg_sql_exec(st, NULL, "INSERT OR IGNORE INTO staff_groups VALUES (?1, ?2)", "si",
                         group, now_us);
    if (!rc)
        rc = vg_sql_exec(st, NULL, "INSERT OR IGNORE INTO group_members VALUES (?1, ?2)", "ss",
                         group, account);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

int vg_store_group_remove_member(struct vg_store *st, const char *group, const char *account)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n = 0,
        rc = vg_sql_exec(st, &n, "DELETE FROM group_members WHERE group_name = ?1 AND account = ?2",
                         "ss", group, account);
    if (!rc)
        rc = vg_sql_exec(st, NULL,
                         "DELETE FROM staff_groups WHERE name = ?1 AND NOT EXISTS"
                         " (SELECT 1 FROM group_members WHERE group_name = ?1)",
                         "s", group);
    if (rc || n == 0) {
        vg_sql_rollback(st);
        return rc ? rc : VG_ENOENT;
    }
    return vg_sql_commit(st);
}

int vg_store_group_members(struct vg_store *st, const char *group,
                           int (*cb)(const char *group, const char *account, void *ud), void *ud)
{
    if (group) {
        int64_t exists = 0;
        int rc = vg_sql_int(st, &exists, "SELECT count(*) FROM staff_groups WHERE name = ?1", "s",
                            group);
        if (rc)
            return rc;
        if (!exists)
            return VG_ENOENT;
    }
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT group_name, account FROM group_members"
                                     " WHERE ?1 IS NULL OR group_name = ?1"
                                     " ORDER BY group_name, account",
                                     "s", group);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char g[65], a[65];
        vg_sql_text(q, 0, g, sizeof g);
        vg_sql_text(q, 1, a, sizeof a);
        if (cb(g, a, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_case_transfer(struct vg_store *st, const char *id, const char *from, const char *to,
                           int64_t at_us, const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n = 0, rc = vg_sql_exec(st, &n,
                                "UPDATE cases SET held_by = ?3, updated_us = ?4"
                                " WHERE id = ?1 AND state = 'answered' AND held_by = ?2",
                                "sssi", id, from, to, at_us);
    if (!rc && n == 0)
        rc = VG_ESTATE;
    if (!rc)
        rc = vg_store_case_event(st, id, at_us, "transfer", from, event_data);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

int vg_store_case_open_invite(struct vg_store *st, const char *id, char *invite_id, size_t n)
{
    /* An accepted one ends in a join (with its id) or a blind transfer. */
    sqlite3_stmt *q = vg_sql_prepare(
        st,
        "SELECT kind, coalesce(json_extract(data, '$.invite_id'), '') FROM case_events"
        " WHERE case_id = ?1 AND (kind IN ('invite', 'invite_declined', 'invite_cancelled')"
        " OR (kind = 'join' AND json_extract(data, '$.invite_id') IS NOT NULL)"
        " OR (kind = 'transfer' AND json_extract(data, '$.kind') = 'blind'))"
        " ORDER BY seq DESC LIMIT 1",
        "s", id);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q), found = VG_ENOENT;
    if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "invite") == 0) {
        vg_sql_text(q, 1, invite_id, n);
        found = VG_OK;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : VG_EIO;
}

int vg_store_case_team_events(struct vg_store *st, const char *id,
                              int (*cb)(const char *kind, const char *actor, const char *data,
                                        void *ud),
                              void *ud)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT kind, coalesce(actor, ''), coalesce(data, '')"
                                     " FROM case_events WHERE case_id = ?1 AND kind IN"
                                     " ('join', 'barge', 'leave', 'transfer', 'requeued')"
                                     " ORDER BY seq",
                                     "s", id);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char kind[24], actor[65], data[1024];
        vg_sql_text(q, 0, kind, sizeof kind);
        vg_sql_text(q, 1, actor, sizeof actor);
        vg_sql_text(q, 2, data, sizeof data);
        if (cb(kind, actor, data, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}
