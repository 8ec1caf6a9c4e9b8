/* The evidence audit log: who listed, downloaded, exported or deleted which
 * recording, and who was refused. One line per entry (evfmt.h): JSON naming the
 * SHA-256 of the line before ("prev"), a tab, the Ed25519 signature of the JSON.
 * Appended and fsync'd on the caller's thread: entries are rare and must not be
 * lost. */
#ifndef VG_AUDIT_H
#define VG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;
struct vg_audit;

/* Opens (or creates, 0600) the log; continues its chain from the last line. key
 * is borrowed and must outlive the log. */
int vg_audit_open(const char *path, EVP_PKEY *key, struct vg_audit **out, char *err, size_t errlen);
void vg_audit_free(struct vg_audit *a);

int vg_audit_append(struct vg_audit *a, int64_t at_us, const char *actor, const char *role,
                    const char *action, const char *case_id, const char *result,
                    const char *detail_json);

/* Checks one line (without newline) against the previous line's hash (hex) and
 * the expected sequence number: VG_OK, or VG_EINVAL with the reason in why. The
 * fuzzed parser. */
int vg_audit_check_line(const char *line, size_t len, const char *prev_hex, int64_t seq,
                        EVP_PKEY *pub, char *why, size_t whylen);

/* The manifest the log last says was signed for case_id (an entry's detail
 * "manifest_sha256": every seal and reseal writes one), and its line number. Only
 * lines whose signature verifies with pub count (the chain is vg_audit_verify's).
 * VG_OK, or VG_ENOENT when the log names none (or is missing). */
int vg_audit_last_seal(const char *path, EVP_PKEY *pub, const char *case_id, char sha_hex[65],
                       int64_t *line);

/* The last entry of that action for case_id whose signature verifies with pub (the
 * whole entry, without its signature: json_decref it), and its line number. VG_OK,
 * or VG_ENOENT. Reads the whole log. */
int vg_audit_last_action(const char *path, EVP_PKEY *pub, const char *case_id, const char *action,
                         int64_t *line, json_t **entry);

/* The same question asked again and again (the sealer: once per seal) without reading
 * the whole log each time: an index of the lines that name a manifest, by case, kept
 * up to date by reading only what was appended since the last question (a log that
 * shrank or was replaced is read again). Memory: a few dozen bytes per sealed case.
 * One thread at a time; pub is borrowed. */
struct vg_audit_index;
struct vg_audit_index *vg_audit_index_new(const char *path, EVP_PKEY *pub);
void vg_audit_index_free(struct vg_audit_index *x);
int vg_audit_index_last_seal(struct vg_audit_index *x, const char *case_id, char sha_hex[65],
                             int64_t *line);

/* Legal holds: a recording under a hold is never deleted by the retention sweep,
 * however old. A hold is placed and lifted by audit entries (action "legal_hold",
 * result "placed" or "lifted", detail {"reason"}), so the log that proves who held
 * what, when and why is also the one place a hold is kept: vigilctl appends one
 * beside a running vigild and the next sweep sees it, and no store or file can say
 * otherwise. A hold stands from its "placed" entry until a later "lifted" one; only
 * entries whose signature verifies with pub count (so a line written into the log by
 * hand can neither place nor lift one).
 *
 * Whether case_id is held now: VG_OK with the "placed" entry's line in *line, or
 * VG_ENOENT (never held, lifted, or no log). The index reads only what was appended
 * since it was last asked; vg_audit_held reads the whole log. */
int vg_audit_index_held(struct vg_audit_index *x, const char *case_id, int64_t *line);
int vg_audit_held(const char *path, EVP_PKEY *pub, const char *case_id, int64_t *line);

/* Whether a hold may name case_id: 1 to 40 of [A-Za-z0-9_-] (vigild's case ids are
 * "c-" and hex). An entry naming anything else could never be read back as a hold. */
bool vg_audit_hold_name_ok(const char *case_id);

/* vg_audit_append, unless a legal hold stands on case_id once the log is locked for
 * the append: then nothing is written and VG_EPERM says so, the hold's line in *held.
 * The retention sweep's deletion entry: a hold placed by anyone (vigild's loop,
 * vigilctl) is either in the log before the question, and the deletion is refused, or
 * after the deletion's entry. x: an index of this log to ask (NULL: the whole log is
 * read), used by one thread at a time as always. */
int vg_audit_append_unless_held(struct vg_audit *a, struct vg_audit_index *x, int64_t at_us,
                                const char *actor, const char *role, const char *action,
                                const char *case_id, const char *result, const char *detail_json,
                                int64_t *held);

/* What the log says of one case's recording: the manifest signed last (every seal
 * and reseal names it; seal_line 0: none) and its deletion under retention, if any
 * (deleted_line 0: none). Lines count from 1; times are the entries' own. */
struct vg_audit_case {
    const char *case_id;
    char seal_sha[65];
    int64_t seal_line, seal_at_us;
    char deleted_sha[65];
    int64_t deleted_line, deleted_at_us;
    int retention_days;
    int64_t hold_line;         /* the hold standing at the log's end (its line; 0: none) */
    int64_t deleted_held_line; /* a hold standing when it was deleted (0: none) */
};

/* Calls fn once per case the log names a seal, a deletion or a hold of, in the order it
 * first names them, with what its entries whose signature verifies with pub say (the
 * chain is vg_audit_verify's). VG_OK, VG_ENOENT (no log) or VG_EIO. For vigil-verify's
 * inventory (inventory.h): the whole log in memory, a hundred bytes or so per case. */
int vg_audit_cases(const char *path, EVP_PKEY *pub,
                   void (*fn)(const struct vg_audit_case *c, void *ud), void *ud);

/* Anchors: the log's chain proves every line up to the last, but not that the last
 * is the real last (a log cut back at its end still verifies). A line's number and
 * SHA-256 (its bytes without the newline: what the next line's "prev" names),
 * written down somewhere the log's holder cannot reach (vigild's own log each hour,
 * vigilctl evidence-anchor for a paper record), pins the log up to that line.
 *
 * vg_audit_head: the last whole line's number (its "seq") and hash, reading only
 * the file's end (cheap enough for vigild's main loop). VG_OK, VG_ENOENT (no log or
 * no line), VG_EIO. */
int vg_audit_head(const char *path, int64_t *seq, char hex[65]);

/* vg_audit_hash_at: the hash of line `line` (from 1), and in *lines the number of
 * whole lines. VG_OK, VG_ENOENT (no log, or fewer lines: *lines says how many),
 * VG_EIO. Reads the whole log. */
int vg_audit_hash_at(const char *path, int64_t line, int64_t *lines, char hex[65]);

/* Verifies the whole log: calls report once per bad line ("audit.log line N").
 * Returns the number of problems; *entries receives the number of lines. */
int vg_audit_verify(const char *path, EVP_PKEY *pub,
                    void (*report)(const char *file, const char *what, void *ud), void *ud,
                    unsigned *entries);

#endif
