/* Private to src/store: the store's handle and small helpers to run SQL with
 * bound parameters. Not part of the store's API. */
#ifndef VG_STORE_SQL_H
#define VG_STORE_SQL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct vg_store {
    sqlite3 *db;
    int schema_version;
    /* Writes that failed (a full or failing disk): counted, and whether the last
     * write failed, for the health check. */
    uint64_t write_errors;
    bool last_write_failed;
};

/* Binds parameters by a format string, one letter each:
 *   s  const char *  (NULL binds NULL)
 *   i  int64_t
 *   d  double
 *   D  double, bool has: binds NULL unless has (two arguments)
 * Returns a prepared statement or NULL (logged). */
sqlite3_stmt *vg_sql_prepare(struct vg_store *st, const char *sql, const char *fmt, ...);

/* Prepares, binds, steps to completion. Returns VG_OK, VG_EEXIST on a unique
 * constraint, or VG_EIO. *changes (may be NULL) receives the rows changed. */
int vg_sql_exec(struct vg_store *st, int *changes, const char *sql, const char *fmt, ...);

/* The first column of the first row as an integer; VG_ENOENT if no row. */
int vg_sql_int(struct vg_store *st, int64_t *out, const char *sql, const char *fmt, ...);

int vg_sql_begin(struct vg_store *st);
int vg_sql_commit(struct vg_store *st);
void vg_sql_rollback(struct vg_store *st);

/* Copies column i as text into buf ("" for NULL). */
void vg_sql_text(sqlite3_stmt *q, int i, char *buf, size_t n);

#endif
