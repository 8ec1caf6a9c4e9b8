/* The sealer: everything that signs a case's manifest, on a thread of its own.
 *
 * A manifest hashes every byte its case recorded, read back: about half a second
 * for an hour of one leg's video. On the writer thread that held every ring, and
 * other cases lost packets; so the writer closes and syncs a recording's files and
 * hands it here (vg_sealer_close). Reseals (a file joined a closed recording),
 * appends (a fact about a case that came after it closed) and the retention sweep
 * come here too, one queue, first in first out: a case's seal always precedes what
 * extends it, and nothing deletes a directory while it is being sealed.
 *
 * Every manifest signed here is an audit log entry naming its SHA-256, and a reseal
 * builds only on the manifest the log names last: a manifest put back from before
 * is neither extended nor taken for the current one (vigil-verify tells it). A
 * reseal never signs what was altered since the last seal, nor what it was not
 * asked to add: the recording is checked against its manifest first
 * (vg_manifest_check), and only exact (name, SHA-256) files join; refused and
 * alerted otherwise, rolled back at once on a failure. Before it changes a closed
 * recording it writes reseal.pending, one line signed with the centre's key (the old
 * manifest and signature, the files it adds, why), and removes it once the new
 * manifest is signed and audited: after a crash vg_seal_recover settles it (finishes
 * the reseal, undoes an append whose segment is not whole, or leaves it for a
 * person). */
#ifndef VG_SEAL_H
#define VG_SEAL_H

#include "manifest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;

struct vg_audit_index;

struct vg_seal_env {
    const char *dir; /* DATA/evidence */
    EVP_PKEY *key;   /* the centre's key: signs, and checks what it signed */
    /* An audit log entry (any thread; the owner serialises): VG_OK or an error. */
    int (*audit)(void *ud, const char *action, const char *case_id, const char *result,
                 const char *detail_json);
    /* An alert to the owner, e.g. "recording_error"; takes detail. */
    void (*alert)(void *ud, const char *case_id, const char *kind, json_t *detail);
    void *ud;
    /* Which manifest the audit log names last per case, kept by the one thread that
     * uses this env (the sealer makes its own); NULL: the log is read per question. */
    struct vg_audit_index *seals;
    /* vg_seal_recover: whether a recording left open belongs to a case that is still
     * live, to be resumed instead of sealed. NULL: none is. */
    bool (*resume)(void *ud, const char *case_id);
    /* The retention sweep's deletion entry, written only if no legal hold stands on
     * the case once the log is locked for it (vg_audit_append_unless_held, asking x):
     * VG_OK, VG_EPERM (held, its line in *held) or the log's error. */
    int (*audit_unless_held)(void *ud, struct vg_audit_index *x, const char *action,
                             const char *case_id, const char *result, const char *detail_json,
                             int64_t *held);
};

struct vg_sealer;

/* Starts the thread (at nice 10: below forwarding and writing). env is copied; its
 * dir and key must outlive the sealer. */
struct vg_sealer *vg_sealer_start(const struct vg_seal_env *env);
/* Does every job queued, then joins the thread and frees. NULL allowed. */
void vg_sealer_stop(struct vg_sealer *s);

/* The writer closed a recording (every file synced): its manifest, signed. */
void vg_sealer_close(struct vg_sealer *s, const char *case_id, bool complete, const char *reason,
                     int64_t closed_us);
/* An upload is about to join the case's directory (name "uploads/u-1.jpg", its
 * SHA-256): a reseal or append of the case that runs before its own reseal accepts
 * it (and lists it). Any thread. */
void vg_sealer_expect(struct vg_sealer *s, const char *case_id, const char *name,
                      const uint8_t sha[32]);
/* That upload joined the closed recording: sign it again, listing it. */
void vg_sealer_reseal(struct vg_sealer *s, const char *case_id, const char *name,
                      const uint8_t sha[32], const char *why);
/* json (an event object, "at_us" and "after_end" already in it) as a new segment of
 * the case's events log, chained to its last, then sign it again. */
void vg_sealer_append(struct vg_sealer *s, const char *case_id, int64_t at_us, const char *json,
                      const char *why);
/* Deletes recordings closed more than days before now_us (audited). */
void vg_sealer_sweep(struct vg_sealer *s, int64_t now_us, unsigned days);
/* For tests: while skip is true a closed recording's seal is dropped, as if vigild
 * had died between the close and the seal. */
void vg_sealer_skip_seals(struct vg_sealer *s, bool skip);
/* Manifests signed so far. */
uint64_t vg_sealer_manifests(struct vg_sealer *s);

/* At start, before any thread: finishes or undoes an interrupted reseal; signs a
 * recording the writer had closed before a crash as it meant (its events log ends
 * with recording_closed, every segment whole); leaves open each other recording
 * without a manifest whose case env->resume says is live (its id set in the object
 * resumable, when not NULL); closes the rest as incomplete, cut at their last whole
 * record. Returns how many it closed or signed. */
unsigned vg_seal_recover(const struct vg_seal_env *env, json_t *resumable);
/* A recording left open by a stop (its log ends with recording_paused, every segment
 * whole): the reason the stop gave (g_free() it); NULL: a crash left it open. */
char *vg_seal_paused(const char *case_dir);
/* The sweep, synchronously. Returns how many recordings it deleted. */
int vg_seal_sweep(const struct vg_seal_env *env, int64_t now_us, unsigned days);

#endif
