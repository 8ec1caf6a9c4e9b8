/* The embedded store: one SQLite file in the data dir, in WAL mode.
 *
 * The only file that includes sqlite3.h. Opening applies any pending schema
 * migrations (migrations.h) before anything else may use the store; a store that
 * cannot be brought to the current schema is not opened. Writes are durable when
 * the call returns (synchronous=FULL: an alarm's record must survive a power cut).
 *
 * Not thread-safe: one owner thread per vg_store; other threads open their own. */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_store;

/* Opens (creating if need be) the database at path and migrates it. On failure
 * returns a negative code and writes a one-line reason into err. *out is owned by
 * the caller: vg_store_close() it. */
int vg_store_open(const char *path, struct vg_store **out, char *err, size_t errlen);

/* Checkpoints the WAL into the main file and closes. NULL is allowed. */
void vg_store_close(struct vg_store *st);

/* Highest migration applied. */
int vg_store_schema_version(struct vg_store *st);

/* Whether the store's last write failed (a full or failing disk), and how many have
 * since it opened: for the health check and metrics. */
bool vg_store_writes_failing(const struct vg_store *st, uint64_t *errors);

/* Moves the WAL's content into the main file (on shutdown, and on request). */
int vg_store_checkpoint(struct vg_store *st);

/* Accounts ------------------------------------------------------------------ */

struct vg_account {
    int64_t id;
    char name[65];
    char role[16];
    bool disabled;
    char created_at[32];
};

/* True for call_taker, specialist, supervisor, evidence. */
bool vg_store_role_valid(const char *role);

/* Adds an account with an already hashed password. VG_EEXIST if the name is taken,
 * VG_EINVAL for a bad name or role. */
int vg_store_account_add(struct vg_store *st, const char *name, const char *role,
                         const char *pw_hash);

int vg_store_account_count(struct vg_store *st, int64_t *count);

/* Calls cb for each account in name order; stops early when cb returns non-zero. */
int vg_store_account_list(struct vg_store *st, int (*cb)(const struct vg_account *a, void *ud),
                          void *ud);

/* VG_ENOENT when there is no such account. */
int vg_store_account_get(struct vg_store *st, const char *name, struct vg_account *out,
                         char *pw_hash, size_t pw_hash_len);
int vg_store_account_set_disabled(struct vg_store *st, const char *name, bool disabled);
int vg_store_account_set_password(struct vg_store *st, const char *name, const char *pw_hash);

/* Cases --------------------------------------------------------------------- */

/* Cases neither ended nor abandoned. */
int vg_store_cases_active(struct vg_store *st, int64_t *count);

/* When the latest case event happened (wall clock us, as it was recorded); 0 for none. */
int64_t vg_store_latest_event_us(struct vg_store *st);

#endif
