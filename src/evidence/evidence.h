/* Evidence recording: what happened in a case, kept so a court can trust it.
 *
 * The service (struct vg_evidence) owns DATA/evidence, the centre's Ed25519 key,
 * the audit log and ONE writer thread. A case's recording (struct vg_recording)
 * takes RTP from the media workers, through one tap per leg, and events from the
 * main loop. RTP goes into a bounded ring per producer thread (ring.h: a copy and
 * a store, no lock), events into a short locked list; nothing waits for the disk,
 * so writing never blocks forwarding. The writer turns both into segment files
 * (evfmt.h), one stream per leg plus the events log, fsyncs them at least once a
 * second, rolls them by time or size (hash-chained), and at the end hands the
 * recording to a second thread, the sealer, which writes manifest.json, signed
 * (manifest.sig): hashing every byte of a long case must not hold the rings.
 *
 * A full queue drops RTP (never events), records the gap as an event, and raises
 * an alert through the owner's callback; a write error is handled the same way.
 * At start, a recording left open by a crash (or a stop) is resumed if its case
 * is still live (config `live`), else closed as incomplete: each segment truncated
 * to its last complete record, and a signed manifest saying when the recording
 * stopped.
 *
 * Layout: DATA/evidence/<case_id>/{events-NNNNNN.vgs, leg-<id>-NNNNNN.vgs,
 * uploads/..., manifest.json, manifest.sig}, DATA/evidence/audit.log, and the key
 * DATA/evidence-key.pem (0600) with its public half DATA/evidence-key.pub. */
#ifndef VG_EVIDENCE_H
#define VG_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _GMainContext GMainContext;

struct vg_evidence;
struct vg_recording;
struct vg_recording_tap;

struct vg_evidence_config {
    const char *dir;      /* DATA/evidence */
    const char *key_path; /* DATA/evidence-key.pem; the .pub is written next to it */
    unsigned queue_kb;    /* each producer thread's ring, KiB (0: 4096) */
    unsigned segment_seconds;
    unsigned segment_mb;
    /* Called on owner's context when a recording loses media (queue full, disk
     * error): kind "recording_gap" or "recording_error", detail a JSON object. */
    void (*alert)(const char *case_id, const char *kind, const char *detail_json, void *ud);
    void *ud;
    GMainContext *owner; /* NULL: the global default context */
    /* Rings made (and touched) at open, one per thread expected to record RTP (the
     * media workers); a further thread gets one made at its first packet. */
    unsigned producers;
    /* Whether a case is still live (called at open, with ud). When set, a recording
     * that a crash or a stop left open, of a case still live, is not sealed at open:
     * vg_recording_restore resumes it; and vg_evidence_close pauses the recordings
     * still open (synced, not sealed) for the next start to resume. NULL: each is
     * sealed as incomplete, at open or at close. */
    bool (*live)(const char *case_id, void *ud);
};

/* Loads (or creates, 0600) the key, closes recordings a crash or a stop left open
 * (but those of live cases, with config `live`: to be resumed), and starts the
 * writer. On failure writes a one-line reason into err. */
int vg_evidence_open(const struct vg_evidence_config *cfg, struct vg_evidence **out, char *err,
                     size_t errlen);

/* Finishes what is queued (open recordings are closed as incomplete, or with
 * config `live` paused for the next start: the daemon stops while they run) and
 * joins the writer. NULL allowed. */
void vg_evidence_close(struct vg_evidence *ev);

/* How many recordings a crash had left open, closed at the last open. */
unsigned vg_evidence_recovered(const struct vg_evidence *ev);

/* Starts recording a case. Returns a reference the caller owns (release with
 * vg_recording_finish), or NULL when the case directory cannot be made. */
struct vg_recording *vg_recording_start(struct vg_evidence *ev, const char *case_id);

/* The same for a case restored at start (owner's thread): its recording left open at
 * the last stop or crash (config `live`) is resumed: its last segments cut at their
 * last whole record, what a stop's audit entry says checked, its events log
 * continued, a recording_resumed event saying since when nothing was recorded; its
 * manifest will say incomplete, with that time as a gap. With no such recording, a
 * new one, whose manifest will say it began only at the restart; NULL if the
 * directory holds anything else. */
struct vg_recording *vg_recording_restore(struct vg_evidence *ev, const char *case_id);

/* After the owner has started every live case: a recording left open for a case it
 * did not resume is sealed as incomplete. Owner's thread. */
void vg_evidence_seal_unresumed(struct vg_evidence *ev);

/* One case event (a JSON object; "at" in microseconds is added). Any thread. */
void vg_recording_event(struct vg_recording *r, int64_t at_us, const char *json);

/* A leg's media into a recording: what the media engine's tap calls. It holds a
 * reference to the recording, and the leg's gap state: packets the queue could
 * not take are counted here and written as one gap event when it takes them
 * again (or when the tap is freed). Free with vg_recording_tap_free. */
struct vg_recording_tap *vg_recording_tap_new(struct vg_recording *r, uint64_t leg);

/* One decrypted RTP packet of the tap's leg (kind 0 audio, 1 video) that arrived
 * at at_us (wall clock). Never blocks: it is copied into the calling thread's ring,
 * or, if that is full, dropped and counted as a gap. One thread at a time per tap
 * (the engine calls a leg's tap only on the leg's worker). */
void vg_recording_tap_rtp(struct vg_recording_tap *t, unsigned kind, int64_t at_us,
                          const uint8_t *rtp, size_t len);

/* Queues a gap still pending and drops the reference. NULL allowed. Called on the
 * thread that fed the tap, after its last packet. */
void vg_recording_tap_free(struct vg_recording_tap *t);

/* Extra references, e.g. one per media tap. */
struct vg_recording *vg_recording_ref(struct vg_recording *r);
void vg_recording_unref(struct vg_recording *r);

/* The case ended: the writer closes the recording and signs its manifest. Drops
 * the caller's reference. NULL allowed. */
void vg_recording_finish(struct vg_recording *r, const char *reason);

/* A citizen's upload is about to be moved into the case's directory as name
 * ("uploads/u-1.jpg") with that SHA-256: call before the move. A reseal of the closed
 * recording that runs meanwhile accepts that file, and only that one. Any thread. */
void vg_evidence_expect(struct vg_evidence *ev, const char *case_id, const char *name,
                        const uint8_t sha[32]);

/* That upload is in the directory and the case's recording had closed (it finished
 * after the case ended): the sealer checks the recording and signs a new manifest
 * listing it (nothing happens if a manifest lists it already). Any thread. */
void vg_evidence_reseal(struct vg_evidence *ev, const char *case_id, const char *name,
                        const uint8_t sha[32], const char *why);

/* A fact about a case that came after its recording closed (the outcome a
 * call-taker gives once the citizen has hung up, a call back's result): json (an
 * object; "at_us" is added) joins the case's events log as a segment of its own,
 * chained to the log's last one, and the manifest is signed again over every file,
 * its reason saying "resealed: <why>". Queued behind the case's close, so it
 * extends the manifest that close writes; logged and dropped when the case has no
 * sealed recording. Any thread. */
void vg_evidence_append(struct vg_evidence *ev, const char *case_id, int64_t at_us,
                        const char *json, const char *why);

/* For tests: while skip is true the sealer drops closed recordings' seals, as if
 * vigild died between a case's close and its seal. */
void vg_evidence_skip_seals(struct vg_evidence *ev, bool skip);

/* For tests: the writer sleeps ms, as it would behind a stalled disk. Returns once
 * the writer has started sleeping. */
void vg_evidence_stall(struct vg_evidence *ev, unsigned ms);

/* Appends a signed, hash-chained entry to the audit log (synchronous, fsync'd).
 * result: "allowed", "refused", "done". detail may be NULL or a JSON object. */
int vg_evidence_audit(struct vg_evidence *ev, const char *actor, const char *role,
                      const char *action, const char *case_id, const char *result,
                      const char *detail_json);

/* Legal holds (audit.h): a recording under one is kept past the retention period.
 * vg_evidence_held: whether one stands on case_id now (the line that placed it in
 * *line); vg_evidence_hold places (place) or lifts one, as an audit entry naming who
 * and why: VG_OK, or the audit log's error (then nothing changed). The owner's
 * thread. */
bool vg_evidence_held(struct vg_evidence *ev, const char *case_id, int64_t *line);
int vg_evidence_hold(struct vg_evidence *ev, const char *actor, const char *role,
                     const char *case_id, bool place, const char *reason);

/* Deletes closed recordings whose manifest closed before now - days; each deletion
 * is audited. Returns how many were deleted. */
int vg_evidence_sweep(struct vg_evidence *ev, int64_t now_us, unsigned days);
/* (vg_evidence_sweep runs on the calling thread, beside the sealer: for tests and
 * tools with nothing else running. The daemon uses the one below.) */
/* The same on the sealer's thread (after what is queued there): deleting a long
 * recording is slow IO that has no place on the owner's loop. */
void vg_evidence_sweep_later(struct vg_evidence *ev, int64_t now_us, unsigned days);

const char *vg_evidence_dir(const struct vg_evidence *ev);

/* Queue and writer counters for /metrics. */
struct vg_evidence_stats {
    uint64_t packets, bytes, dropped, events, segments, manifests, write_errors;
};
void vg_evidence_get_stats(struct vg_evidence *ev, struct vg_evidence_stats *out);

#endif
