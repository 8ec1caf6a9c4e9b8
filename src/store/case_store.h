/* Persistence of cases and what belongs to them: the event log, the location
 * track, the chat, blocks, staff sessions and alerts.
 *
 * The case model writes here *before* it tells anyone: a transition is durable
 * when its function returns (nothing about a case lives only in memory). Each
 * transition writes the state change and its event in one transaction, and is
 * conditional on the state it comes from, so the first claim of a case wins even
 * if two requests race. Times are microseconds since the epoch. */
#ifndef VG_CASE_STORE_H
#define VG_CASE_STORE_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* The caller's details as compact JSON: the protocol refuses more (signaling/core/msg.c),
 * so what was accepted is stored whole (a cut object had read back as none). */
#define VG_CALLER_MAX 4000

struct vg_case_row {
    char id[24];
    char mode[8];
    char state[12];
    char phone[32];
    char queue[12]; /* normal | supervised */
    bool callback_allowed;
    char caller[VG_CALLER_MAX + 1]; /* JSON object from the citizen */
    char flags[256]; /* comma list: repeat_caller,key_person,key_place,blocked,no_location */
    bool escalated;
    char held_by[65];
    char citizen_token[72]; /* SHA-256 hex of the citizen's resume token */
    int64_t created_us, updated_us, answered_us, ended_us;
    char ended_by[65];
    char end_reason[64];
    char disposition[64];
    bool callback_needed;
    int rating; /* 0 = none */
};

int vg_store_case_insert(struct vg_store *st, const struct vg_case_row *c, const char *actor,
                         const char *event_data);
int vg_store_case_get(struct vg_store *st, const char *id, struct vg_case_row *out);
int vg_store_case_by_token(struct vg_store *st, const char *token_hash, struct vg_case_row *out);

/* Cases in queued, offered or answered, oldest first. */
int vg_store_case_list_live(struct vg_store *st, int (*cb)(const struct vg_case_row *c, void *ud),
                            void *ud);

/* Appends an event (kind, actor may be NULL, data a JSON object text or NULL). */
int vg_store_case_event(struct vg_store *st, const char *id, int64_t at_us, const char *kind,
                        const char *actor, const char *data);

/* Transitions. Each returns VG_ESTATE when the case is not in a state it may
 * leave that way, VG_ENOENT when there is no such case. */
int vg_store_case_offered(struct vg_store *st, const char *id, int64_t at_us);
int vg_store_case_claim(struct vg_store *st, const char *id, const char *by, int64_t at_us);
/* event_data: the "ended" event's JSON (reason, disposition), built by the caller. */
int vg_store_case_end(struct vg_store *st, const char *id, const char *by, const char *reason,
                      const char *disposition, int64_t at_us, const char *event_data);
/* The outcome of a case the citizen ended, given afterwards by whoever held it: only
 * once, and only while it has none (VG_ESTATE otherwise). */
int vg_store_case_set_disposition(struct vg_store *st, const char *id, const char *by,
                                  const char *disposition, int64_t at_us, const char *event_data);
/* An answered case whose holder (by) is gone goes back to the queue, escalated (so
 * supervisors are rung too); event "requeued" with event_data. */
int vg_store_case_requeue(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                          const char *event_data);
int vg_store_case_abandon(struct vg_store *st, const char *id, int64_t at_us);
int vg_store_case_escalate(struct vg_store *st, const char *id, int64_t at_us);
int vg_store_case_set_flags(struct vg_store *st, const char *id, const char *flags);
int vg_store_case_rate(struct vg_store *st, const char *id, int rating, const char *comment,
                       int64_t at_us);

/* Abandoned cases whose citizen allowed a call back and nobody has called yet, left
 * at or after since_us, the latest first, at most limit; with normal_only, only
 * those of the normal queue (not a blocked caller's). A case from a number that got
 * through (was answered) later is not listed: they were helped. */
int vg_store_callbacks_list(struct vg_store *st, int64_t since_us, bool normal_only, int limit,
                            int (*cb)(const struct vg_case_row *c, void *ud), void *ud);
/* When the case's latest event of this kind happened (wall clock us); 0 for none. */
int64_t vg_store_case_event_last(struct vg_store *st, const char *id, const char *kind);
/* Did actor record an event of this kind on the case? */
bool vg_store_case_event_by(struct vg_store *st, const char *id, const char *kind,
                            const char *actor);
/* The time of the latest case event (0: none): about when vigild last did anything. */
int64_t vg_store_last_event_us(struct vg_store *st);
/* Facts recorded since since_us about cases that had ended by then: an outcome given
 * after a hang-up (kind "disposition"), a call back's result ("callback") and a note
 * ("note"), in time order, with who (actor) and the event's data. cb returning non-zero stops. */
int vg_store_late_facts(struct vg_store *st, int64_t since_us,
                        int (*cb)(const char *case_id, const char *kind, const char *actor,
                                  int64_t at_us, const char *data, void *ud),
                        void *ud);
/* Someone (by) called the citizen back: the case leaves the list, event "callback"
 * with event_data. Only once (VG_ESTATE). */
int vg_store_callback_done(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                           const char *event_data);

/* Notes on a case (what the staff on it wrote down for the record): events of kind
 * "note" by the author, data {"text": …}. At most max per case (VG_ENOSPC past it). */
int vg_store_note_add(struct vg_store *st, const char *id, const char *by, int64_t at_us,
                      const char *event_data, int max);
/* A case's events of one kind, oldest first: when, who (actor, "" for none) and the
 * data as stored (JSON). cb returning non-zero stops. */
int vg_store_case_events_of(struct vg_store *st, const char *id, const char *kind,
                            int (*cb)(int64_t at_us, const char *actor, const char *data, void *ud),
                            void *ud);
/* A case's notes, oldest first. */
int vg_store_notes(struct vg_store *st, const char *id,
                   int (*cb)(int64_t at_us, const char *by, const char *text, void *ud), void *ud);

/* One earlier case from a number, for the card of its next alarm. */
#define VG_RECENT_NOTE_MAX 200 /* characters of the last note shown */
struct vg_recent_case {
    char id[24];
    char mode[8];
    char state[12];
    char held_by[65];
    char disposition[64];
    int64_t created_us;
    int64_t notes;                         /* how many */
    char note[VG_RECENT_NOTE_MAX * 4 + 1]; /* the last one, its first characters */
};
/* The latest max cases from phone created before before_us, the latest first. */
int vg_store_phone_recent(struct vg_store *st, const char *phone, int64_t before_us, int max,
                          int (*cb)(const struct vg_recent_case *c, void *ud), void *ud);

/* Cases created in [from_us, to_us) (to_us 0: no end), from phone if not NULL, the
 * latest first, at most limit. */
int vg_store_case_search(struct vg_store *st, const char *phone, int64_t from_us, int64_t to_us,
                         int limit, int (*cb)(const struct vg_case_row *c, void *ud), void *ud);

/* Earlier cases from one number (all before before_us). */
struct vg_phone_history {
    int64_t total, ended, abandoned, live;
    int64_t since_window; /* cases created at or after window_start_us */
};
int vg_store_phone_history(struct vg_store *st, const char *phone, int64_t before_us,
                           int64_t window_start_us, struct vg_phone_history *h);

/* Location fixes ------------------------------------------------------------ */

struct vg_fix_row {
    int64_t at_us;
    double lat, lon, accuracy;
    double heading, speed, altitude;
    bool has_heading, has_speed, has_altitude;
    char source[16];
    int64_t device_ms; /* 0 = not given */
};

int vg_store_location_add(struct vg_store *st, const char *id, const struct vg_fix_row *f,
                          int64_t *seq);
/* The last fix; VG_ENOENT when the case has none. */
int vg_store_location_last(struct vg_store *st, const char *id, struct vg_fix_row *out);
/* The track, oldest first, at most max fixes (the newest ones). */
int vg_store_location_track(struct vg_store *st, const char *id, int max,
                            int (*cb)(const struct vg_fix_row *f, void *ud), void *ud);

/* Chat ------------------------------------------------------------------------ */

struct vg_chat_row {
    int64_t seq, at_us, delivered_us, read_us;
    char sender_role[16];
    char sender[65];
    char text[2048];
};

int vg_store_chat_add(struct vg_store *st, const char *id, int64_t at_us, const char *role,
                      const char *sender, const char *text, int64_t *seq);
/* status "delivered" or "read"; the first time counts, later ones change nothing. */
int vg_store_chat_mark(struct vg_store *st, const char *id, int64_t seq, const char *status,
                       int64_t at_us);
int vg_store_chat_list(struct vg_store *st, const char *id,
                       int (*cb)(const struct vg_chat_row *m, void *ud), void *ud);
/* The last max messages (all: max < 0), oldest first. */
int vg_store_chat_tail(struct vg_store *st, const char *id, int64_t max,
                       int (*cb)(const struct vg_chat_row *m, void *ud), void *ud);
int vg_store_chat_count(struct vg_store *st, const char *id, int64_t *n);

/* Blocks ---------------------------------------------------------------------- */

struct vg_block_row {
    int64_t id, created_us, expires_us;
    char phone[32], reason[256], created_by[65];
};

int vg_store_block_add(struct vg_store *st, const char *phone, const char *reason, const char *by,
                       int64_t now_us, int64_t expires_us);
/* Lifts every active block of phone. VG_ENOENT when none was active. */
int vg_store_block_lift(struct vg_store *st, const char *phone, const char *by, const char *reason,
                        int64_t now_us);
/* The blocks in force (unexpired, unlifted) at now_us, newest first, at most limit. */
int vg_store_block_list(struct vg_store *st, int64_t now_us, int limit,
                        int (*cb)(const struct vg_block_row *b, void *ud), void *ud);
/* VG_OK and *out filled when phone has an unexpired, unlifted block. */
int vg_store_block_active(struct vg_store *st, const char *phone, int64_t now_us,
                          struct vg_block_row *out);

/* Staff sessions ------------------------------------------------------------- */

int vg_store_session_add(struct vg_store *st, const char *token_hash, const char *account,
                         const char *role, int64_t now_us, int64_t expires_us);
/* VG_ENOENT for an unknown or expired token, or a disabled account. */
int vg_store_session_get(struct vg_store *st, const char *token_hash, int64_t now_us, char *account,
                         size_t alen, char *role, size_t rlen);
int vg_store_session_delete(struct vg_store *st, const char *token_hash);
/* Ends every session of the account (a password reset: whoever had one is out). */
int vg_store_session_delete_account(struct vg_store *st, const char *account);

/* Alerts ---------------------------------------------------------------------- */

/* phone and mode may be NULL (an alert about no caller). */
int vg_store_alert_add(struct vg_store *st, const char *case_id, const char *kind, int64_t at_us,
                       const char *detail, const char *phone, const char *mode, int64_t *id);
int vg_store_alert_hook_status(struct vg_store *st, int64_t id, const char *status);

struct vg_alert_row {
    int64_t id;
    char case_id[24]; /* "" for none */
    char kind[32];
    int64_t at_us;
    char phone[32], mode[8]; /* "" when unknown */
    char flags[256];         /* the case's, "" for none */
    const char *detail;      /* JSON text, valid during the callback */
};

/* Alerts not acknowledged, raised at or after since_us: the newest `limit` of them,
 * given oldest first. */
int vg_store_alert_open(struct vg_store *st, int64_t since_us, int limit,
                        int (*cb)(const struct vg_alert_row *a, void *ud), void *ud);

/* When the case's latest alert of this kind was raised (wall clock us); 0 for none. */
int64_t vg_store_alert_last(struct vg_store *st, const char *case_id, const char *kind);

/* Acknowledges an open alert; VG_ENOENT if there is none by that id or it was
 * acknowledged already. */
int vg_store_alert_ack(struct vg_store *st, int64_t id, const char *who, int64_t at_us);

#endif
