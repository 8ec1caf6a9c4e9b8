/* Persistence of citizens' uploads: one row per upload in `uploads` (migration 4).
 *
 * An upload is `open` while its bytes arrive, then `complete` (its file is with
 * the case's evidence and never changes again) or `dropped` (refused or gone
 * stale; its partial file is deleted, the row stays as the record). `received`
 * only moves forward, and only from the value the caller read: a chunk committed
 * twice, or by two racing requests, is refused rather than counted twice. Times
 * are microseconds since the epoch. */
#ifndef VG_UPLOAD_STORE_H
#define VG_UPLOAD_STORE_H

#include "store.h"

#include <stdint.h>

struct vg_upload_row {
    char id[24];
    char case_id[24];
    char name[256];
    int64_t size, received;
    char type[32];   /* "" until known */
    char state[12];  /* open | complete | dropped */
    char sha256[65]; /* hex, "" until complete */
    char path[128];  /* relative to the data dir, "" until complete */
    int64_t created_us, updated_us, completed_us;
};

/* Inserts an open upload (received 0). */
int vg_store_upload_insert(struct vg_store *st, const struct vg_upload_row *u);
/* VG_ENOENT when there is no such upload. */
int vg_store_upload_get(struct vg_store *st, const char *id, struct vg_upload_row *out);

/* Moves `received` from `from` to `to` (and sets type when not NULL). VG_ESTATE
 * when the upload is not open at `from`. */
int vg_store_upload_advance(struct vg_store *st, const char *id, int64_t from, int64_t to,
                            const char *type, int64_t at_us);

/* Every byte is in and hashed: the hash, recorded before the file is moved into the
 * evidence, so that a completion a crash interrupted after the move can check the
 * file it finds against it. VG_ESTATE unless open with every byte received. */
int vg_store_upload_hashed(struct vg_store *st, const char *id, const char *sha256);

/* Marks it complete with its hash and file, and appends the case's `upload`
 * event (event_data: JSON text) in the same transaction. VG_ESTATE unless it is
 * open with every byte received. */
int vg_store_upload_complete(struct vg_store *st, const char *id, const char *sha256,
                             const char *path, int64_t at_us, const char *event_data);

/* Marks an open upload dropped, with the reason, and appends an `upload_dropped`
 * case event. VG_ESTATE when it is not open. */
int vg_store_upload_drop(struct vg_store *st, const char *id, const char *reason, int64_t at_us);

/* Uploads of a case that are not dropped, by what they are. */
struct vg_upload_counts {
    int64_t photos, videos, untyped, total;
};
int vg_store_upload_counts(struct vg_store *st, const char *case_id, const char *const *photo_types,
                           struct vg_upload_counts *out);

/* Open uploads across every case. */
int vg_store_upload_open_count(struct vg_store *st, int64_t *out);

/* Complete uploads of a case, oldest first. */
int vg_store_upload_list(struct vg_store *st, const char *case_id,
                         int (*cb)(const struct vg_upload_row *u, void *ud), void *ud);

/* Open uploads not touched since before_us, oldest first (to drop as stale). */
int vg_store_upload_list_stale(struct vg_store *st, int64_t before_us,
                               int (*cb)(const struct vg_upload_row *u, void *ud), void *ud);

/* Uploads completed since since_us after their case had ended (each made a reseal of
 * the case's recording), in the order they completed. */
int vg_store_upload_list_late(struct vg_store *st, int64_t since_us,
                              int (*cb)(const struct vg_upload_row *u, void *ud), void *ud);

#endif
