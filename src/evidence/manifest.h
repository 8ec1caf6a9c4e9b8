/* A recording's manifest: every file of the case directory with its SHA-256, size,
 * time range and participant, every gap, whether the recording is complete (or
 * when it stopped), signed with the centre's key. Written once, at the case's end
 * or when a crashed recording is closed at restart; checked by vigil-verify. */
#ifndef VG_MANIFEST_H
#define VG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;

#define VG_MANIFEST_FORMAT "vigil-evidence-manifest/1"

/* Writes case_dir/manifest.json and manifest.sig. When complete is false (a
 * recording a crash left open) every segment is first truncated to its last
 * complete record, and the manifest records what was cut. */
int vg_manifest_write(const char *case_dir, const char *case_id, EVP_PKEY *key, bool complete,
                      const char *reason, int64_t closed_us, char *err, size_t errlen);

struct vg_manifest_summary {
    char case_id[48];
    bool complete;
    int64_t started_us, stopped_us;
    unsigned files, gaps;
};

/* Checks case_dir against its manifest and the manifest's signature against pub.
 * Calls report once per problem, naming the file (relative to case_dir) and what
 * is wrong. Returns the number of problems (0: all verified). */
int vg_manifest_verify(const char *case_dir, EVP_PKEY *pub,
                       void (*report)(const char *file, const char *what, void *ud), void *ud,
                       struct vg_manifest_summary *sum);

/* Parses manifest text into its summary (no file checks): VG_OK or VG_EINVAL.
 * The fuzzed parser. */
int vg_manifest_parse(const char *text, size_t len, struct vg_manifest_summary *sum);

#endif
