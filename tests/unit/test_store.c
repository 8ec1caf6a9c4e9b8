/* The store against a real SQLite file: migrations applied once and in order,
 * accounts, and the live-case count. */
#include "migrations.h"
#include "store.h"
#include "vg_err.h"
#include "vt.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/vigil-test-store-XXXXXX";
static char path[256];

static int count_rows(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    int n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

static void exec(const char *sql)
{
    sqlite3 *db;
    VT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    VT_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Versions are 1..n with no gap: the runner applies those above the database's
 * version, so a gap filled later would never be applied to a database past it. */
static void test_versions_contiguous(void)
{
    int n;
    const struct vg_migration *m = vg_migrations(&n);
    for (int i = 0; i < n; i++)
        VT_EQ_INT(m[i].version, i + 1);
}

static void test_migrations_once(void)
{
    int n;
    const struct vg_migration *m = vg_migrations(&n);
    struct vg_store *st;
    char err[256];
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_store_schema_version(st), m[n - 1].version);
    vg_store_close(st);
    VT_EQ_INT(count_rows("SELECT count(*) FROM schema_migrations"), n);
    exec("UPDATE schema_migrations SET applied_at = 'first'");
    /* A second open applies nothing again: same rows, same times. */
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    vg_store_close(st);
    VT_EQ_INT(count_rows("SELECT count(*) FROM schema_migrations"), n);
    VT_EQ_INT(count_rows("SELECT count(*) FROM schema_migrations WHERE applied_at = 'first'"), n);
    VT_EQ_INT(count_rows("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'"), 1);
}

/* Drops every table a migration after the first made, as an old vigild left it.
 * Children before parents: tables are dropped newest first. */
static void drop_later_tables(void)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    char sql[4096] = "PRAGMA foreign_keys=OFF;";
    VT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    VT_EQ_INT(sqlite3_prepare_v2(db,
                                 "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
                                 " NOT IN ('accounts', 'schema_migrations') AND name NOT LIKE"
                                 " 'sqlite_%' ORDER BY rowid DESC",
                                 -1, &q, NULL),
              SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, "DROP TABLE %s;", sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    exec(sql);
}

/* A database left at migration 1 (an older vigild) gets 2.. applied, keeping data. */
static void test_upgrade_from_old(void)
{
    drop_later_tables();
    exec("DELETE FROM schema_migrations WHERE version > 1;"
         "INSERT INTO accounts (name, role, pw_hash, created_at, updated_at) "
         "VALUES ('old', 'supervisor', 'x', 't', 't')");
    struct vg_store *st;
    char err[256];
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    int n;
    vg_migrations(&n);
    VT_EQ_INT(count_rows("SELECT count(*) FROM schema_migrations"), n);
    struct vg_account a;
    VT_EQ_INT(vg_store_account_get(st, "old", &a, NULL, 0), VG_OK);
    VT_EQ_STR(a.role, "supervisor");
    int64_t active = -1;
    VT_EQ_INT(vg_store_cases_active(st, &active), VG_OK);
    VT_EQ_INT(active, 0);
    vg_store_close(st);
}

static void test_newer_schema_refused(void)
{
    exec("INSERT INTO schema_migrations VALUES (9999, 'future', 't')");
    struct vg_store *st = NULL;
    char err[256] = "";
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_ESTATE);
    VT_CONTAINS(err, "newer than this vigild");
    VT_CHECK(st == NULL);
    exec("DELETE FROM schema_migrations WHERE version = 9999");
}

static int collect(const struct vg_account *a, void *ud)
{
    char *names = ud;
    strcat(names, a->name);
    strcat(names, a->disabled ? "(off)," : ",");
    return 0;
}

static void test_accounts(void)
{
    struct vg_store *st;
    char err[256];
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_store_account_add(st, "ann", "call_taker", "h1"), VG_OK);
    VT_EQ_INT(vg_store_account_add(st, "ann", "supervisor", "h2"), VG_EEXIST);
    VT_EQ_INT(vg_store_account_add(st, "bad name", "call_taker", "h"), VG_EINVAL);
    VT_EQ_INT(vg_store_account_add(st, "bob", "admin", "h"), VG_EINVAL);
    VT_EQ_INT(vg_store_account_add(st, "", "call_taker", "h"), VG_EINVAL);
    VT_EQ_INT(vg_store_account_set_disabled(st, "ann", true), VG_OK);
    VT_EQ_INT(vg_store_account_set_disabled(st, "nobody", true), VG_ENOENT);
    VT_EQ_INT(vg_store_account_set_password(st, "ann", "h3"), VG_OK);
    char hash[64];
    struct vg_account a;
    VT_EQ_INT(vg_store_account_get(st, "ann", &a, hash, sizeof hash), VG_OK);
    VT_EQ_STR(hash, "h3");
    VT_CHECK(a.disabled);
    char names[256] = "";
    VT_EQ_INT(vg_store_account_list(st, collect, names), VG_OK);
    VT_EQ_STR(names, "ann(off),old,");
    int64_t count;
    VT_EQ_INT(vg_store_account_count(st, &count), VG_OK);
    VT_EQ_INT(count, 2);
    vg_store_close(st);
}

static void test_cases_active(void)
{
    exec("INSERT INTO cases (id, mode, state, phone, citizen_token, created_us, updated_us)"
         " VALUES ('c1','video','queued','110','a',1,1), ('c2','silent','answered','110','b',1,1),"
         " ('c3','voice','ended','110','c',1,1), ('c4','report','abandoned','110','d',1,1)");
    struct vg_store *st;
    char err[256];
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    int64_t active;
    VT_EQ_INT(vg_store_cases_active(st, &active), VG_OK);
    VT_EQ_INT(active, 2);
    vg_store_close(st);
}

static void test_unopenable(void)
{
    struct vg_store *st = NULL;
    char err[256] = "";
    VT_CHECK(vg_store_open("/proc/nonexistent/dir/vigil.db", &st, err, sizeof err) < 0);
    VT_CONTAINS(err, "/proc/nonexistent/dir/vigil.db");
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    test_versions_contiguous();
    test_migrations_once();
    test_upgrade_from_old();
    test_newer_schema_refused();
    test_accounts();
    test_cases_active();
    test_unopenable();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vt_done("store");
}
