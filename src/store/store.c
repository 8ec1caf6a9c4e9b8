#include "store.h"

#include "log.h"
#include "migrations.h"
#include "store_sql.h"
#include "vg_err.h"
#include "vtime.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void now_text(char *buf, size_t n)
{
    vg_rfc3339(vg_wall_us(), buf, n);
}

static int exec_sql(struct vg_store *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return VG_EIO;
    }
    return VG_OK;
}

static int read_schema_version(struct vg_store *st, int *version)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                           &q, NULL) != SQLITE_OK)
        return VG_EIO;
    int rc = sqlite3_step(q) == SQLITE_ROW ? VG_OK : VG_EIO;
    *version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return rc;
}

/* Applies one migration and its bookkeeping row in one transaction. */
static int apply_migration(struct vg_store *st, const struct vg_migration *m, char *err,
                           size_t errlen)
{
    char e[256] = "";
    if (exec_sql(st, "BEGIN IMMEDIATE", e, sizeof e) || exec_sql(st, m->sql, e, sizeof e)) {
        exec_sql(st, "ROLLBACK", NULL, 0);
        snprintf(err, errlen, "migration %d (%s): %s", m->version, m->name, e);
        return VG_EIO;
    }
    char at[32], sql[160];
    now_text(at, sizeof at);
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, '%s', '%s')", m->version,
             m->name, at);
    if (exec_sql(st, sql, e, sizeof e) || exec_sql(st, "COMMIT", e, sizeof e)) {
        exec_sql(st, "ROLLBACK", NULL, 0);
        snprintf(err, errlen, "migration %d (%s): %s", m->version, m->name, e);
        return VG_EIO;
    }
    vg_info(NULL, NULL, "store: applied migration %d (%s)", m->version, m->name);
    return VG_OK;
}

static int migrate(struct vg_store *st, char *err, size_t errlen)
{
    int rc = exec_sql(st,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                      err, errlen);
    if (rc || (rc = read_schema_version(st, &st->schema_version)))
        return rc ? rc : VG_EIO;
    int count;
    const struct vg_migration *m = vg_migrations(&count);
    if (st->schema_version > m[count - 1].version) {
        snprintf(err, errlen, "database schema %d is newer than this vigild (%d)",
                 st->schema_version, m[count - 1].version);
        return VG_ESTATE;
    }
    for (int i = 0; i < count; i++) {
        if (m[i].version <= st->schema_version)
            continue;
        if ((rc = apply_migration(st, &m[i], err, errlen)))
            return rc;
        st->schema_version = m[i].version;
    }
    return VG_OK;
}

int vg_store_open(const char *path, struct vg_store **out, char *err, size_t errlen)
{
    struct vg_store *st = calloc(1, sizeof *st);
    if (!st)
        return VG_ENOMEM;
    int rc = VG_EIO;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char e[256];
    if (exec_sql(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", e,
                 sizeof e)) {
        snprintf(err, errlen, "%s: %s", path, e);
        goto fail;
    }
    if ((rc = migrate(st, e, sizeof e))) {
        snprintf(err, errlen, "%s: %s", path, e);
        goto fail;
    }
    *out = st;
    return VG_OK;
fail:
    vg_store_close(st);
    return rc;
}

void vg_store_close(struct vg_store *st)
{
    if (!st)
        return;
    if (st->db) {
        vg_store_checkpoint(st);
        sqlite3_close(st->db);
    }
    free(st);
}

int vg_store_schema_version(struct vg_store *st)
{
    return st->schema_version;
}

int vg_store_checkpoint(struct vg_store *st)
{
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return rc == SQLITE_OK ? VG_OK : VG_EIO;
}

/* Accounts ------------------------------------------------------------------ */

bool vg_store_role_valid(const char *role)
{
    static const char *const roles[] = {"call_taker", "specialist", "supervisor", "evidence"};
    for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

static bool name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Runs a prepared write statement; maps constraint failures to VG_EEXIST. */
static int step_write(struct vg_store *st, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    int ext = sqlite3_extended_errcode(st->db);
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE) {
        st->last_write_failed = false;
        return VG_OK;
    }
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return VG_EEXIST;
    vg_error(NULL, NULL, "store: write failed: %s", sqlite3_errmsg(st->db));
    st->write_errors++;
    st->last_write_failed = true;
    return VG_EIO;
}

int vg_store_account_add(struct vg_store *st, const char *name, const char *role,
                         const char *pw_hash)
{
    if (!name_valid(name) || !vg_store_role_valid(role) || !pw_hash)
        return VG_EINVAL;
    char at[32];
    now_text(at, sizeof at);
    return vg_sql_exec(st, NULL,
                       "INSERT INTO accounts (name, role, pw_hash, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?4)",
                       "ssss", name, role, pw_hash, at);
}

static int count_query(struct vg_store *st, const char *sql, int64_t *count)
{
    return vg_sql_int(st, count, sql, "");
}

int vg_store_account_count(struct vg_store *st, int64_t *count)
{
    return count_query(st, "SELECT count(*) FROM accounts", count);
}

static void row_to_account(sqlite3_stmt *q, struct vg_account *a)
{
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(q, 0);
    snprintf(a->name, sizeof a->name, "%s", (const char *)sqlite3_column_text(q, 1));
    snprintf(a->role, sizeof a->role, "%s", (const char *)sqlite3_column_text(q, 2));
    a->disabled = sqlite3_column_int(q, 3) != 0;
    snprintf(a->created_at, sizeof a->created_at, "%s", (const char *)sqlite3_column_text(q, 4));
}

int vg_store_account_list(struct vg_store *st, int (*cb)(const struct vg_account *a, void *ud),
                          void *ud)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, name, role, disabled, created_at FROM accounts"
                           " ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK)
        return VG_EIO;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct vg_account a;
        row_to_account(q, &a);
        if (cb(&a, ud))
            break;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : VG_EIO;
}

int vg_store_account_get(struct vg_store *st, const char *name, struct vg_account *out,
                         char *pw_hash, size_t pw_hash_len)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, name, role, disabled, created_at, pw_hash FROM accounts"
                           " WHERE name = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        row_to_account(q, out);
        if (pw_hash)
            snprintf(pw_hash, pw_hash_len, "%s", (const char *)sqlite3_column_text(q, 5));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

/* UPDATE accounts SET <column> = value WHERE name = name; VG_ENOENT if no row. */
static int account_update(struct vg_store *st, const char *sql, const char *name, const char *text,
                          int number)
{
    char at[32];
    int changes = 0;
    now_text(at, sizeof at);
    int rc = text ? vg_sql_exec(st, &changes, sql, "sss", text, at, name)
                  : vg_sql_exec(st, &changes, sql, "iss", (int64_t)number, at, name);
    return rc ? rc : changes ? VG_OK : VG_ENOENT;
}

int vg_store_account_set_disabled(struct vg_store *st, const char *name, bool disabled)
{
    return account_update(st, "UPDATE accounts SET disabled = ?1, updated_at = ?2 WHERE name = ?3",
                          name, NULL, disabled ? 1 : 0);
}

int vg_store_account_set_password(struct vg_store *st, const char *name, const char *pw_hash)
{
    return account_update(st, "UPDATE accounts SET pw_hash = ?1, updated_at = ?2 WHERE name = ?3",
                          name, pw_hash, 0);
}

/* Cases --------------------------------------------------------------------- */

int64_t vg_store_latest_event_us(struct vg_store *st)
{
    int64_t at = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(at_us), 0) FROM case_events", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        at = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return at;
}

int vg_store_cases_active(struct vg_store *st, int64_t *count)
{
    return count_query(st, "SELECT count(*) FROM cases WHERE state NOT IN ('ended','abandoned')",
                       count);
}

/* SQL helpers (store_sql.h) ------------------------------------------------- */

static int bind_all(sqlite3_stmt *q, const char *fmt, va_list ap)
{
    int idx = 1, rc = SQLITE_OK;
    for (const char *f = fmt; *f && rc == SQLITE_OK; f++, idx++) {
        switch (*f) {
        case 's': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(q, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, idx);
            break;
        }
        case 'i': rc = sqlite3_bind_int64(q, idx, va_arg(ap, int64_t)); break;
        case 'd': rc = sqlite3_bind_double(q, idx, va_arg(ap, double)); break;
        case 'D': {
            double v = va_arg(ap, double);
            int has = va_arg(ap, int);
            rc = has ? sqlite3_bind_double(q, idx, v) : sqlite3_bind_null(q, idx);
            break;
        }
        default: rc = SQLITE_MISUSE;
        }
    }
    return rc;
}

static sqlite3_stmt *prepare_v(struct vg_store *st, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        vg_error(NULL, NULL, "store: prepare failed: %s", sqlite3_errmsg(st->db));
        return NULL;
    }
    if (bind_all(q, fmt, ap) != SQLITE_OK) {
        vg_error(NULL, NULL, "store: bind failed: %s", sqlite3_errmsg(st->db));
        sqlite3_finalize(q);
        return NULL;
    }
    return q;
}

sqlite3_stmt *vg_sql_prepare(struct vg_store *st, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *q = prepare_v(st, sql, fmt, ap);
    va_end(ap);
    return q;
}

int vg_sql_exec(struct vg_store *st, int *changes, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *q = prepare_v(st, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return VG_EIO;
    int rc = step_write(st, q);
    if (changes)
        *changes = rc == VG_OK ? sqlite3_changes(st->db) : 0;
    return rc;
}

int vg_sql_int(struct vg_store *st, int64_t *out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *q = prepare_v(st, sql, fmt, ap);
    va_end(ap);
    if (!q)
        return VG_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ENOENT : VG_EIO;
}

int vg_sql_begin(struct vg_store *st)
{
    return exec_sql(st, "BEGIN IMMEDIATE", NULL, 0);
}

int vg_sql_commit(struct vg_store *st)
{
    char err[256];
    int rc = exec_sql(st, "COMMIT", err, sizeof err);
    if (rc) {
        /* What a full disk looks like: every alarm refused. Said loudly. */
        vg_error(NULL, NULL, "store: a transaction could not be committed: %s", err);
        st->write_errors++;
        st->last_write_failed = true;
        vg_sql_rollback(st);
    } else {
        st->last_write_failed = false;
    }
    return rc;
}

bool vg_store_writes_failing(const struct vg_store *st, uint64_t *errors)
{
    if (errors)
        *errors = st->write_errors;
    return st->last_write_failed;
}

void vg_sql_rollback(struct vg_store *st)
{
    exec_sql(st, "ROLLBACK", NULL, 0);
}

void vg_sql_text(sqlite3_stmt *q, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(buf, n, "%s", t ? (const char *)t : "");
}
