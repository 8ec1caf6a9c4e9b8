/* A recording's manifest: every file of the case directory with its SHA-256, size,
 * time range and participant, every gap, whether the recording is complete (or
 * when it stopped), signed with the centre's key. Written once, at the case's end
 * or when a crashed recording is closed at restart; checked by vigil-verify. */
#ifndef VG_MANIFEST_H
#define VG_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;

#define VG_MANIFEST_FORMAT "vigil-evidence-manifest/1"
/* A reseal's note of what it is doing, there only while it runs (seal.h). */
#define VG_MANIFEST_PENDING "reseal.pending"

/* Writes case_dir/manifest.json and manifest.sig. When complete is false (a
 * recording a crash left open) every segment is first truncated to its last
 * complete record, and the manifest records what was cut. */
int vg_manifest_write(const char *case_dir, const char *case_id, EVP_PKEY *key, bool complete,
                      const char *reason, int64_t closed_us, char *err, size_t errlen);

/* A recording left open by a crash or a stop, to be resumed (recorder.c): the last
 * segment of each stream cut at its last whole record (what was cut appended to
 * truncated, as the manifest lists it), *stopped_us the time of the last record
 * kept, and the events log's last segment, which the resumed log chains to
 * (*events_seq 0: there is none). */
int vg_manifest_cut_open(const char *case_dir, json_t *truncated, int64_t *stopped_us,
                         uint32_t *events_seq, uint8_t events_sha[32], char *err, size_t errlen);

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

/* A file a reseal may add to a closed recording: its name in the case directory
 * ("uploads/u-1.jpg", "events-000002.vgs") and its SHA-256. */
struct vg_manifest_allow {
    char name[64];
    uint8_t sha[32];
};

/* Checks the recording in case_dir against a manifest's text and its signature
 * (manifest.sig's bytes; NULL: missing) as vg_manifest_verify does, with key (the
 * centre's private key verifies too). A file the manifest does not list passes only
 * if it is one of allow[0..n_allow) with that very SHA-256, or the reseal's own note
 * VG_MANIFEST_PENDING. VG_OK, or VG_EINVAL with the first problem in err. */
int vg_manifest_check(const char *case_dir, EVP_PKEY *key, const char *text, size_t len,
                      const char *sig, size_t slen, const struct vg_manifest_allow *allow,
                      size_t n_allow, char *err, size_t errlen);

/* A closed recording grew (a late upload, an events segment appended): checks it
 * against the old manifest (text, sig) as above, so that a reseal never signs what
 * was altered since or what it was not asked to add, then writes and signs a
 * manifest listing every file, keeping what the first seal said (complete,
 * started_us, stopped_us, closed_us, gaps, truncated), its reason followed by
 * "; resealed: <why>", and resealed_us = now_us. VG_OK; VG_EINVAL when the check
 * fails (nothing written); VG_EIO (manifest.json may be the new one already). */
int vg_manifest_reseal(const char *case_dir, const char *case_id, EVP_PKEY *key, const char *text,
                       size_t len, const char *sig, size_t slen,
                       const struct vg_manifest_allow *allow, size_t n_allow, const char *why,
                       int64_t now_us, char *err, size_t errlen);

/* SHA-256 (hex) of case_dir's manifest.json as it is: what the audit log anchors. */
int vg_manifest_sha256(const char *case_dir, char hex[65]);

/* Whether the file is in case_dir with that SHA-256. */
bool vg_manifest_has(const char *case_dir, const struct vg_manifest_allow *file);

/* Whether case_dir's manifest.json is a manifest and manifest.sig its signature by
 * key (the files are not checked). */
bool vg_manifest_signed(const char *case_dir, EVP_PKEY *key);

/* Puts a manifest and its signature back as they were (a reseal undone). */
int vg_manifest_restore(const char *case_dir, const char *text, size_t len, const char *sig,
                        size_t slen, char *err, size_t errlen);

/* Parses manifest text into its summary (no file checks): VG_OK or VG_EINVAL.
 * The fuzzed parser. */
int vg_manifest_parse(const char *text, size_t len, struct vg_manifest_summary *sum);

#endif
