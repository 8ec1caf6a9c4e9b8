#include "case_store.h"

#include "log.h"
#include "store_sql.h"
#include "vg_err.h"

#include <stdio.h>
#include <string.h>

#define CASE_COLUMNS                                                                               \
    "id, mode, state, phone, queue, callback_allowed, caller, flags, escalated, held_by,"          \
    " citizen_token, created_us, updated_us, answered_us, ended_us, ended_by, end_reason,"         \
    " disposition, callback_needed, rating"

static void row_to_case(sqlite3_stmt *q, struct vg_case_row *c)
{
    memset(c, 0, sizeof *c);
    vg_sql_text(q, 0, c->id, sizeof c->id);
    vg_sql_text(q, 1, c->mode, sizeof c->mode);
    vg_sql_text(q, 2, c->state, sizeof c->state);
    vg_sql_text(q, 3, c->phone, sizeof c->phone);
    vg_sql_text(q, 4, c->queue, sizeof c->queue);
    c->callback_allowed = sqlite3_column_int(q, 5) != 0;
    vg_sql_text(q, 6, c->caller, sizeof c->caller);
    vg_sql_text(q, 7, c->flags, sizeof c->flags);
    c->escalated = sqlite3_column_int(q, 8) != 0;
    vg_sql_text(q, 9, c->held_by, sizeof c->held_by);
    vg_sql_text(q, 10, c->citizen_token, sizeof c->citizen_token);
    c->created_us = sqlite3_column_int64(q, 11);
    c->updated_us = sqlite3_column_int64(q, 12);
    c->answered_us = sqlite3_column_int64(q, 13);
    c->ended_us = sqlite3_column_int64(q, 14);
    vg_sql_text(q, 15, c->ended_by, sizeof c->ended_by);
    vg_sql_text(q, 16, c->end_reason, sizeof c->end_reason);
    vg_sql_text(q, 17, c->disposition, sizeof c->disposition);
    c->callback_needed = sqlite3_column_int(q, 18) != 0;
    c->rating = sqlite3_column_int(q, 19);
}

static int event_in_tx(struct vg_store *st, const char *id, int64_t at_us, const char *kind,
                       const char *actor, const char *data)
{
    return vg_sql_exec(st, NULL,
                       "INSERT INTO case_events (case_id, seq, at_us, kind, actor, data)"
                       " VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM case_events"
                       " WHERE case_id = ?1), ?2, ?3, ?4, coalesce(?5, '{}'))",
                       "sisss", id, at_us, kind, actor, data);
}

int vg_store_case_event(struct vg_store *st, const char *id, int64_t at_us, const char *kind,
                        const char *actor, const char *data)
{
    return event_in_tx(st, id, at_us, kind, actor, data);
}

int vg_store_case_insert(struct vg_store *st, const struct vg_case_row *c, const char *actor,
                         const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int rc = vg_sql_exec(st, NULL,
                         "INSERT INTO cases (id, mode, state, phone, queue, callback_allowed,"
                         " caller, flags, citizen_token, created_us, updated_us)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                         "sssssisssi", c->id, c->mode, c->state, c->phone, c->queue,
                         (int64_t)c->callback_allowed, c->caller, c->flags, c->citizen_token,
                         c->created_us);
    if (rc == VG_OK)
        rc = event_in_tx(st, c->id, c->created_us, "created", actor, event_data);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

static int get_one(struct vg_store *st, const char *where, const char *key, struct vg_case_row *out)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " CASE_COLUMNS " FROM cases WHERE %s = ?1", where);
    sqlite3_stmt *q = vg_sql_prepare(st, sql, "s", key);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_to_case(q, out);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

int vg_store_case_get(struct vg_store *st, const char *id, struct vg_case_row *out)
{
    return get_one(st, "id", id, out);
}

int vg_store_case_by_token(struct vg_store *st, const char *token_hash, struct vg_case_row *out)
{
    return get_one(st, "citizen_token", token_hash, out);
}

static int list_rows(sqlite3_stmt *q, int (*cb)(const struct vg_case_row *c, void *ud), void *ud)
{
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_case_row c;
        row_to_case(q, &c);
        if (cb(&c, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_case_list_live(struct vg_store *st, int (*cb)(const struct vg_case_row *c, void *ud),
                            void *ud)
{
    return list_rows(vg_sql_prepare(st,
                                    "SELECT " CASE_COLUMNS " FROM cases WHERE state IN"
                                    " ('queued','offered','answered') ORDER BY created_us",
                                    ""),
                     cb, ud);
}

int vg_store_case_search(struct vg_store *st, const char *phone, int64_t from_us, int64_t to_us,
                         int limit, int (*cb)(const struct vg_case_row *c, void *ud), void *ud)
{
    int64_t to = to_us > 0 ? to_us : INT64_MAX;
    /* two statements, each on its index (cases_phone; cases_created) */
    sqlite3_stmt *q =
        phone ? vg_sql_prepare(st,
                               "SELECT " CASE_COLUMNS " FROM cases WHERE phone = ?1"
                               " AND created_us >= ?2 AND created_us < ?3"
                               " ORDER BY created_us DESC, id LIMIT ?4",
                               "siii", phone, from_us, to, (int64_t)limit)
              : vg_sql_prepare(st,
                               "SELECT " CASE_COLUMNS " FROM cases WHERE created_us >= ?1"
                               " AND created_us < ?2 ORDER BY created_us DESC, id LIMIT ?3",
                               "iii", from_us, to, (int64_t)limit);
    return list_rows(q, cb, ud);
}

int vg_store_callbacks_list(struct vg_store *st, int64_t since_us, bool normal_only, int limit,
                            int (*cb)(const struct vg_case_row *c, void *ud), void *ud)
{
    return list_rows(
        vg_sql_prepare(
            st,
            "SELECT " CASE_COLUMNS " FROM cases c WHERE callback_needed = 1"
            " AND state = 'abandoned' AND ended_us >= ?1 AND (?2 = 0 OR queue = 'normal')"
            " AND NOT EXISTS (SELECT 1 FROM cases l WHERE l.phone = c.phone"
            " AND l.created_us > c.created_us AND l.answered_us IS NOT NULL)"
            " ORDER BY ended_us DESC, id LIMIT ?3",
            "iii", since_us, (int64_t)normal_only, (int64_t)limit),
        cb, ud);
}

bool vg_store_case_event_by(struct vg_store *st, const char *id, const char *kind,
                            const char *actor)
{
    int64_t one;
    return vg_sql_int(st, &one,
                      "SELECT 1 FROM case_events WHERE case_id = ?1 AND kind = ?2 AND actor = ?3"
                      " LIMIT 1",
                      "sss", id, kind, actor) == VG_OK;
}

int64_t vg_store_case_event_last(struct vg_store *st, const char *id, const char *kind)
{
    int64_t at = 0;
    if (vg_sql_int(st, &at,
                   "SELECT coalesce(max(at_us), 0) FROM case_events WHERE case_id = ?1"
                   " AND kind = ?2",
                   "ss", id, kind) != VG_OK)
        return 0;
    return at;
}

static int finish_transition(struct vg_store *st, const char *id, int changes, int rc,
                             int64_t at_us, const char *kind, const char *actor, const char *data)
{
    if (rc == VG_OK && changes == 0) {
        struct vg_case_row c;
        rc = vg_store_case_get(st, id, &c) == VG_ENOENT ? VG_ENOENT : VG_ESTATE;
    }
    if (rc == VG_OK)
        rc = event_in_tx(st, id, at_us, kind, actor, data);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

int vg_store_case_offered(struct vg_store *st, const char *id, int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET state = 'offered', updated_us = ?2"
                            " WHERE id = ?1 AND state = 'queued'",
                            "si", id, at_us);
    return finish_transition(st, id, n, rc, at_us, "offered", NULL, NULL);
}

int vg_store_case_claim(struct vg_store *st, const char *id, const char *by, int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET state = 'answered', held_by = ?2,"
                            " answered_us = coalesce(answered_us, ?3), updated_us = ?3"
                            " WHERE id = ?1 AND state IN ('queued','offered')",
                            "ssi", id, by, at_us);
    return finish_transition(st, id, n, rc, at_us, "answered", by, NULL);
}

int vg_store_case_end(struct vg_store *st, const char *id, const char *by, const char *reason,
                      const char *disposition, int64_t at_us, const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET state = 'ended', ended_by = ?2, end_reason = ?3,"
                            " disposition = ?4, ended_us = ?5, updated_us = ?5"
                            " WHERE id = ?1 AND state IN ('queued','offered','answered')",
                            "ssssi", id, by, reason, disposition, at_us);
    return finish_transition(st, id, n, rc, at_us, "ended", by, event_data);
}

int vg_store_case_requeue(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                          const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n,
        rc = vg_sql_exec(st, &n,
                         "UPDATE cases SET state = 'queued', held_by = NULL, escalated = 1,"
                         " updated_us = ?3 WHERE id = ?1 AND state = 'answered' AND held_by = ?2",
                         "ssi", id, by, at_us);
    return finish_transition(st, id, n, rc, at_us, "requeued", by, event_data);
}

int vg_store_callback_done(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                           const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET callback_needed = 0, updated_us = ?2"
                            " WHERE id = ?1 AND callback_needed = 1",
                            "si", id, at_us);
    return finish_transition(st, id, n, rc, at_us, "callback", by, event_data);
}

int vg_store_case_set_disposition(struct vg_store *st, const char *id, const char *by,
                                  const char *disposition, int64_t at_us, const char *event_data)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET disposition = ?3, updated_us = ?4"
                            " WHERE id = ?1 AND held_by = ?2 AND state = 'ended'"
                            " AND disposition IS NULL",
                            "sssi", id, by, disposition, at_us);
    return finish_transition(st, id, n, rc, at_us, "disposition", by, event_data);
}

int vg_store_case_abandon(struct vg_store *st, const char *id, int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET state = 'abandoned', ended_us = ?2, updated_us = ?2,"
                            " ended_by = 'citizen', end_reason = 'abandoned',"
                            " callback_needed = callback_allowed"
                            " WHERE id = ?1 AND state IN ('queued','offered')",
                            "si", id, at_us);
    return finish_transition(st, id, n, rc, at_us, "abandoned", "citizen", NULL);
}

int vg_store_case_escalate(struct vg_store *st, const char *id, int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET escalated = 1, updated_us = ?2"
                            " WHERE id = ?1 AND escalated = 0 AND state IN ('queued','offered')",
                            "si", id, at_us);
    return finish_transition(st, id, n, rc, at_us, "escalated", NULL, NULL);
}

int vg_store_case_set_flags(struct vg_store *st, const char *id, const char *flags)
{
    int n, rc = vg_sql_exec(st, &n, "UPDATE cases SET flags = ?2 WHERE id = ?1", "ss", id, flags);
    return rc ? rc : n ? VG_OK : VG_ENOENT;
}

int vg_store_case_rate(struct vg_store *st, const char *id, int rating, const char *comment,
                       int64_t at_us)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE cases SET rating = ?2, rating_comment = ?3"
                            " WHERE id = ?1 AND state IN ('ended','abandoned') AND rating IS NULL",
                            "sis", id, (int64_t)rating, comment);
    return finish_transition(st, id, n, rc, at_us, "rated", "citizen", NULL);
}

int vg_store_phone_history(struct vg_store *st, const char *phone, int64_t before_us,
                           int64_t window_start_us, struct vg_phone_history *h)
{
    memset(h, 0, sizeof *h);
    sqlite3_stmt *q = vg_sql_prepare(
        st,
        "SELECT count(*), coalesce(sum(state = 'ended'), 0), coalesce(sum(state = 'abandoned'), 0),"
        " coalesce(sum(state IN ('queued','offered','answered')), 0),"
        " coalesce(sum(created_us >= ?3), 0) FROM cases WHERE phone = ?1 AND created_us < ?2",
        "sii", phone, before_us, window_start_us);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        h->total = sqlite3_column_int64(q, 0);
        h->ended = sqlite3_column_int64(q, 1);
        h->abandoned = sqlite3_column_int64(q, 2);
        h->live = sqlite3_column_int64(q, 3);
        h->since_window = sqlite3_column_int64(q, 4);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : VG_EIO;
}

int vg_store_note_add(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                      const char *event_data, int max)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int64_t n = 0;
    int rc = vg_sql_int(
        st, &n, "SELECT count(*) FROM case_events WHERE case_id = ?1 AND kind = 'note'", "s", id);
    if (rc == VG_OK && n >= max)
        rc = VG_ENOSPC;
    if (rc == VG_OK)
        rc = event_in_tx(st, id, at_us, "note", by, event_data);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    return vg_sql_commit(st);
}

/* Steps q, whose columns are a case event's time, actor and one text (its data, or a
 * field of it), into cb: the loop vg_store_case_events_of() and vg_store_notes() share. */
static int each_event(sqlite3_stmt *q,
                      int (*cb)(int64_t at_us, const char *actor, const char *text, void *ud),
                      void *ud)
{
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *actor = sqlite3_column_text(q, 1), *text = sqlite3_column_text(q, 2);
        if (cb(sqlite3_column_int64(q, 0), actor ? (const char *)actor : "",
               text ? (const char *)text : "", ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_case_events_of(struct vg_store *st, const char *id, const char *kind,
                            int (*cb)(int64_t at_us, const char *actor, const char *data, void *ud),
                            void *ud)
{
    return each_event(vg_sql_prepare(st,
                                     "SELECT at_us, coalesce(actor, ''), coalesce(data, '{}')"
                                     " FROM case_events WHERE case_id = ?1 AND kind = ?2"
                                     " ORDER BY seq",
                                     "ss", id, kind),
                      cb, ud);
}

int vg_store_notes(struct vg_store *st, const char *id,
                   int (*cb)(int64_t at_us, const char *by, const char *text, void *ud), void *ud)
{
    return each_event(vg_sql_prepare(st,
                                     "SELECT at_us, coalesce(actor, ''),"
                                     " coalesce(json_extract(data, '$.text'), '') FROM case_events"
                                     " WHERE case_id = ?1 AND kind = 'note' ORDER BY seq",
                                     "s", id),
                      cb, ud);
}

int vg_store_phone_recent(struct vg_store *st, const char *phone, int64_t before_us, int max,
                          int (*cb)(const struct vg_recent_case *c, void *ud), void *ud)
{
    /* substr() counts characters in UTF-8 text, so a cut note stays whole characters */
    sqlite3_stmt *q = vg_sql_prepare(
        st,
        "SELECT c.id, c.mode, c.state, coalesce(c.held_by, ''), coalesce(c.disposition, ''),"
        " c.created_us, (SELECT count(*) FROM case_events e WHERE e.case_id = c.id"
        " AND e.kind = 'note'), coalesce((SELECT substr(json_extract(e.data, '$.text'), 1, ?4)"
        " FROM case_events e WHERE e.case_id = c.id AND e.kind = 'note' ORDER BY e.seq DESC"
        " LIMIT 1), '') FROM cases c WHERE c.phone = ?1 AND c.created_us < ?2"
        " ORDER BY c.created_us DESC LIMIT ?3",
        "siii", phone, before_us, (int64_t)max, (int64_t)VG_RECENT_NOTE_MAX);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_recent_case c;
        vg_sql_text(q, 0, c.id, sizeof c.id);
        vg_sql_text(q, 1, c.mode, sizeof c.mode);
        vg_sql_text(q, 2, c.state, sizeof c.state);
        vg_sql_text(q, 3, c.held_by, sizeof c.held_by);
        vg_sql_text(q, 4, c.disposition, sizeof c.disposition);
        c.created_us = sqlite3_column_int64(q, 5);
        c.notes = sqlite3_column_int64(q, 6);
        vg_sql_text(q, 7, c.note, sizeof c.note);
        if (cb(&c, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

/* Location fixes ------------------------------------------------------------ */

int vg_store_location_add(struct vg_store *st, const char *id, const struct vg_fix_row *f,
                          int64_t *seq)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int64_t next = 0;
    int rc = vg_sql_int(
        st, &next, "SELECT coalesce(max(seq), 0) + 1 FROM locations WHERE case_id = ?1", "s", id);
    if (rc == VG_OK)
        rc = vg_sql_exec(st, NULL,
                         "INSERT INTO locations (case_id, seq, at_us, lat, lon, accuracy, heading,"
                         " speed, altitude, source, device_ms)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                         "siidddDDDsi", id, next, f->at_us, f->lat, f->lon, f->accuracy, f->heading,
                         (int)f->has_heading, f->speed, (int)f->has_speed, f->altitude,
                         (int)f->has_altitude, f->source[0] ? f->source : NULL, f->device_ms);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    if (seq)
        *seq = next;
    return vg_sql_commit(st);
}

static void row_to_fix(sqlite3_stmt *q, struct vg_fix_row *f)
{
    memset(f, 0, sizeof *f);
    f->at_us = sqlite3_column_int64(q, 0);
    f->lat = sqlite3_column_double(q, 1);
    f->lon = sqlite3_column_double(q, 2);
    f->accuracy = sqlite3_column_double(q, 3);
    f->has_heading = sqlite3_column_type(q, 4) != SQLITE_NULL;
    f->heading = sqlite3_column_double(q, 4);
    f->has_speed = sqlite3_column_type(q, 5) != SQLITE_NULL;
    f->speed = sqlite3_column_double(q, 5);
    f->has_altitude = sqlite3_column_type(q, 6) != SQLITE_NULL;
    f->altitude = sqlite3_column_double(q, 6);
    vg_sql_text(q, 7, f->source, sizeof f->source);
    f->device_ms = sqlite3_column_int64(q, 8);
}

#define FIX_COLUMNS "at_us, lat, lon, accuracy, heading, speed, altitude, source, device_ms"

int vg_store_location_last(struct vg_store *st, const char *id, struct vg_fix_row *out)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT " FIX_COLUMNS " FROM locations WHERE case_id = ?1"
                                     " ORDER BY seq DESC LIMIT 1",
                                     "s", id);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        row_to_fix(q, out);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

int vg_store_location_track(struct vg_store *st, const char *id, int max,
                            int (*cb)(const struct vg_fix_row *f, void *ud), void *ud)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT * FROM (SELECT " FIX_COLUMNS ", seq FROM locations"
                                     " WHERE case_id = ?1 ORDER BY seq DESC LIMIT ?2)"
                                     " ORDER BY seq",
                                     "si", id, (int64_t)max);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_fix_row f;
        row_to_fix(q, &f);
        if (cb(&f, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

/* Chat ------------------------------------------------------------------------ */

int vg_store_chat_add(struct vg_store *st, const char *id, int64_t at_us, const char *role,
                      const char *sender, const char *text, int64_t *seq)
{
    if (vg_sql_begin(st))
        return VG_EIO;
    int64_t next = 0;
    int rc = vg_sql_int(st, &next, "SELECT coalesce(max(seq), 0) + 1 FROM chat WHERE case_id = ?1",
                        "s", id);
    if (rc == VG_OK)
        rc = vg_sql_exec(st, NULL,
                         "INSERT INTO chat (case_id, seq, at_us, sender_role, sender, text)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         "siisss", id, next, at_us, role, sender, text);
    if (rc) {
        vg_sql_rollback(st);
        return rc;
    }
    if (seq)
        *seq = next;
    return vg_sql_commit(st);
}

int vg_store_chat_mark(struct vg_store *st, const char *id, int64_t seq, const char *status,
                       int64_t at_us)
{
    const char *sql =
        strcmp(status, "read") == 0
            ? "UPDATE chat SET read_us = coalesce(read_us, ?3),"
              " delivered_us = coalesce(delivered_us, ?3) WHERE case_id = ?1 AND seq = ?2"
            : "UPDATE chat SET delivered_us = coalesce(delivered_us, ?3)"
              " WHERE case_id = ?1 AND seq = ?2";
    int n, rc = vg_sql_exec(st, &n, sql, "sii", id, seq, at_us);
    return rc ? rc : n ? VG_OK : VG_ENOENT;
}

int vg_store_chat_list(struct vg_store *st, const char *id,
                       int (*cb)(const struct vg_chat_row *m, void *ud), void *ud)
{
    return vg_store_chat_tail(st, id, -1, cb, ud);
}

int vg_store_chat_tail(struct vg_store *st, const char *id, int64_t max,
                       int (*cb)(const struct vg_chat_row *m, void *ud), void *ud)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT * FROM (SELECT seq, at_us, coalesce(delivered_us, 0),"
                                     " coalesce(read_us, 0), sender_role, sender, text FROM chat"
                                     " WHERE case_id = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY 1",
                                     "si", id, max);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_chat_row m;
        m.seq = sqlite3_column_int64(q, 0);
        m.at_us = sqlite3_column_int64(q, 1);
        m.delivered_us = sqlite3_column_int64(q, 2);
        m.read_us = sqlite3_column_int64(q, 3);
        vg_sql_text(q, 4, m.sender_role, sizeof m.sender_role);
        vg_sql_text(q, 5, m.sender, sizeof m.sender);
        vg_sql_text(q, 6, m.text, sizeof m.text);
        if (cb(&m, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_chat_count(struct vg_store *st, const char *id, int64_t *n)
{
    return vg_sql_int(st, n, "SELECT count(*) FROM chat WHERE case_id = ?1", "s", id);
}

/* Blocks ---------------------------------------------------------------------- */

int vg_store_block_add(struct vg_store *st, const char *phone, const char *reason, const char *by,
                       int64_t now_us, int64_t expires_us)
{
    return vg_sql_exec(st, NULL,
                       "INSERT INTO blocks (phone, reason, created_by, created_us, expires_us)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                       "sssii", phone, reason, by, now_us, expires_us);
}

int vg_store_block_lift(struct vg_store *st, const char *phone, const char *by, const char *reason,
                        int64_t now_us)
{
    int n, rc = vg_sql_exec(st, &n,
                            "UPDATE blocks SET lifted_us = ?4, lifted_by = ?2, lift_reason = ?3"
                            " WHERE phone = ?1 AND lifted_us IS NULL AND expires_us > ?4",
                            "sssi", phone, by, reason, now_us);
    return rc ? rc : n ? VG_OK : VG_ENOENT;
}

static void block_from(sqlite3_stmt *q, struct vg_block_row *out)
{
    out->id = sqlite3_column_int64(q, 0);
    out->created_us = sqlite3_column_int64(q, 1);
    out->expires_us = sqlite3_column_int64(q, 2);
    vg_sql_text(q, 3, out->phone, sizeof out->phone);
    vg_sql_text(q, 4, out->reason, sizeof out->reason);
    vg_sql_text(q, 5, out->created_by, sizeof out->created_by);
}

int vg_store_block_list(struct vg_store *st, int64_t now_us, int limit,
                        int (*cb)(const struct vg_block_row *b, void *ud), void *ud)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT id, created_us, expires_us, phone, reason, created_by"
                                     " FROM blocks WHERE lifted_us IS NULL AND expires_us > ?1"
                                     " ORDER BY created_us DESC, id DESC LIMIT ?2",
                                     "ii", now_us, (int64_t)limit);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_block_row b;
        block_from(q, &b);
        if (cb(&b, ud))
            break;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK : VG_EIO;
}

int vg_store_block_active(struct vg_store *st, const char *phone, int64_t now_us,
                          struct vg_block_row *out)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT id, created_us, expires_us, phone, reason, created_by"
                                     " FROM blocks WHERE phone = ?1 AND lifted_us IS NULL AND"
                                     " expires_us > ?2 ORDER BY expires_us DESC LIMIT 1",
                                     "si", phone, now_us);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        block_from(q, out);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

/* Staff sessions ------------------------------------------------------------- */

int vg_store_session_add(struct vg_store *st, const char *token_hash, const char *account,
                         const char *role, int64_t now_us, int64_t expires_us)
{
    return vg_sql_exec(st, NULL,
                       "INSERT INTO staff_sessions (token_hash, account, role, created_us,"
                       " expires_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                       "sssii", token_hash, account, role, now_us, expires_us);
}

int vg_store_session_get(struct vg_store *st, const char *token_hash, int64_t now_us, char *account,
                         size_t alen, char *role, size_t rlen)
{
    sqlite3_stmt *q =
        vg_sql_prepare(st,
                       "SELECT s.account, s.role FROM staff_sessions s JOIN accounts a"
                       " ON a.name = s.account WHERE s.token_hash = ?1 AND"
                       " s.expires_us > ?2 AND a.disabled = 0",
                       "si", token_hash, now_us);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        vg_sql_text(q, 0, account, alen);
        vg_sql_text(q, 1, role, rlen);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

int vg_store_session_delete(struct vg_store *st, const char *token_hash)
{
    return vg_sql_exec(st, NULL, "DELETE FROM staff_sessions WHERE token_hash = ?1", "s",
                       token_hash);
}

int vg_store_session_delete_account(struct vg_store *st, const char *account)
{
    return vg_sql_exec(st, NULL, "DELETE FROM staff_sessions WHERE account = ?1", "s", account);
}

/* Alerts ---------------------------------------------------------------------- */

int vg_store_alert_add(struct vg_store *st, const char *case_id, const char *kind, int64_t at_us,
                       const char *detail, const char *phone, const char *mode, int64_t *id)
{
    int rc = vg_sql_exec(st, NULL,
                         "INSERT INTO alerts (case_id, kind, at_us, detail, phone, mode)"
                         " VALUES (?1, ?2, ?3, coalesce(?4, '{}'), ?5, ?6)",
                         "ssisss", case_id, kind, at_us, detail, phone, mode);
    if (rc == VG_OK && id)
        rc = vg_sql_int(st, id, "SELECT last_insert_rowid()", "");
    return rc;
}

int vg_store_alert_hook_status(struct vg_store *st, int64_t id, const char *status)
{
    return vg_sql_exec(st, NULL, "UPDATE alerts SET hook_status = ?2 WHERE id = ?1", "is", id,
                       status);
}

int vg_store_alert_open(struct vg_store *st, int64_t since_us, int limit,
                        int (*cb)(const struct vg_alert_row *a, void *ud), void *ud)
{
    /* Older rows (before migration 7) have no phone or mode: the case's stand in. */
    sqlite3_stmt *q = vg_sql_prepare(
        st,
        "SELECT * FROM (SELECT a.id, coalesce(a.case_id, ''), a.kind, a.at_us,"
        " coalesce(a.phone, c.phone, ''), coalesce(a.mode, c.mode, ''), coalesce(c.flags, ''),"
        " a.detail FROM alerts a LEFT JOIN cases c ON c.id = a.case_id"
        " WHERE a.acked_us IS NULL AND a.at_us >= ?1 ORDER BY a.at_us DESC, a.id DESC"
        " LIMIT ?2) ORDER BY 4, 1",
        "ii", since_us, (int64_t)limit);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_alert_row a = {.id = sqlite3_column_int64(q, 0),
                                 .at_us = sqlite3_column_int64(q, 3)};
        vg_sql_text(q, 1, a.case_id, sizeof a.case_id);
        vg_sql_text(q, 2, a.kind, sizeof a.kind);
        vg_sql_text(q, 4, a.phone, sizeof a.phone);
        vg_sql_text(q, 5, a.mode, sizeof a.mode);
        vg_sql_text(q, 6, a.flags, sizeof a.flags);
        const unsigned char *d = sqlite3_column_text(q, 7);
        a.detail = d ? (const char *)d : "{}";
        if (cb(&a, ud))
            break;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK : VG_EIO;
}

int64_t vg_store_alert_last(struct vg_store *st, const char *case_id, const char *kind)
{
    int64_t at = 0;
    if (vg_sql_int(st, &at,
                   "SELECT coalesce(max(at_us), 0) FROM alerts WHERE case_id = ?1 AND kind = ?2",
                   "ss", case_id, kind) != VG_OK)
        return 0;
    return at;
}

int vg_store_alert_ack(struct vg_store *st, int64_t id, const char *who, int64_t at_us)
{
    int n = 0, rc = vg_sql_exec(st, &n,
                                "UPDATE alerts SET acked_by = ?2, acked_us = ?3"
                                " WHERE id = ?1 AND acked_us IS NULL",
                                "isi", id, who, at_us);
    return rc ? rc : n ? VG_OK : VG_ENOENT;
}

int vg_store_late_facts(struct vg_store *st, int64_t since_us,
                        int (*cb)(const char *case_id, const char *kind, const char *actor,
                                  int64_t at_us, const char *data, void *ud),
                        void *ud)
{
    sqlite3_stmt *q = vg_sql_prepare(st,
                                     "SELECT e.case_id, e.kind, coalesce(e.actor, ''), e.at_us,"
                                     " e.data FROM case_events e JOIN cases c ON c.id = e.case_id"
                                     " WHERE e.kind IN ('disposition', 'callback', 'note')"
                                     " AND e.at_us >= ?1 AND c.ended_us IS NOT NULL"
                                     " AND e.at_us > c.ended_us ORDER BY e.at_us",
                                     "i", since_us);
    if (!q)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        char id[48], kind[24], actor[65];
        vg_sql_text(q, 0, id, sizeof id);
        vg_sql_text(q, 1, kind, sizeof kind);
        vg_sql_text(q, 2, actor, sizeof actor);
        /* the data whole, as SQLite holds it until the next step: a copy into a fixed
         * buffer cut a long outcome note, and the cut JSON was then skipped */
        const unsigned char *data = sqlite3_column_text(q, 4);
        if (cb(id, kind, actor, sqlite3_column_int64(q, 3), data ? (const char *)data : "{}", ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int64_t vg_store_last_event_us(struct vg_store *st)
{
    int64_t at = 0;
    if (vg_sql_int(st, &at, "SELECT coalesce(max(at_us), 0) FROM case_events", "") != VG_OK)
        return 0;
    return at;
}
