/* The data dir: where the store, the generated TLS certificate and (later) the
 * evidence live. It must exist or be creatable, be a directory, and be writable,
 * checked before anything else starts. */
#ifndef VG_DATADIR_H
#define VG_DATADIR_H

#include <stddef.h>

/* Creates dir (and parents, mode 0700) if missing and proves it writable by
 * creating and removing a file. On failure writes "data dir PATH: reason". */
int vg_datadir_prepare(const char *dir, char *err, size_t errlen);

/* Makes this process the data dir's only vigild: an exclusive lock on DIR/vigild.lock
 * (holding our pid), kept until the process ends (*fd stays open). A second vigild on
 * the same dir would restore the same live cases and take the first one's open
 * recordings for a crash's, sealing them while they are written. On failure writes
 * "data dir PATH: in use by vigild pid N" (or the reason). */
int vg_datadir_lock(const char *dir, int *fd, char *err, size_t errlen);

/* Creates a subdirectory of the data dir (0700) if missing. */
int vg_datadir_subdir(const char *dir, const char *sub, char *out, size_t outlen, char *err,
                      size_t errlen);

#endif
