/* Private to the hub (hub.c, cases.c): sessions, live cases, helpers. */
#ifndef VG_HUB_INTERNAL_H
#define VG_HUB_INTERNAL_H

#include "case_store.h"
#include "config.h"
#include "engine.h"
#include "evidence.h"
#include "hub.h"
#include "msg.h"
#include "policy.h"
#include "proto.h"
#include "ratelimit.h"
#include "server.h"

#include <glib.h>
#include <jansson.h>

enum role {
    R_ANON = 1 << 0,
    R_CITIZEN = 1 << 1,
    R_CALL_TAKER = 1 << 2,
    R_SPECIALIST = 1 << 3,
    R_SUPERVISOR = 1 << 4,
    R_EVIDENCE = 1 << 5, /* reads recordings; no console, no cases */
};
#define R_STAFF (R_CALL_TAKER | R_SPECIALIST | R_SUPERVISOR)

struct session {
    struct vg_hub *hub;
    struct vg_ws_conn *conn;
    uint64_t conn_id;
    enum role role;
    char account[VG_NAME_MAX + 1];
    char token_hash[65]; /* staff: their session */
    /* staff: the status they chose (set_status; true at login). Never changed by taking
     * or leaving a case: busy is case_id; a call-taker who went away while finishing
     * a case stays away when it ends. */
    bool available;
    char case_id[VG_CASE_ID_MAX + 1]; /* citizen: its case; staff: the case held */
    struct vg_bucket bucket;
    int throttled;         /* messages that found the bucket empty */
    int64_t over_since_us; /* over the rate without a break since, 0 = not */
    guint resume_timer;
    bool login_pending;
    bool signed_out; /* its account was disabled: closing */
    /* evidence_get: the file this connection downloads and the offset its next chunk
     * continues at; any other chunk is audited as a download of its own */
    char ev_file[VG_CASE_ID_MAX + 80];
    int64_t ev_next;
};

/* A member of staff on a case who does not hold it (DOMAIN.md): an invited
 * specialist, or a supervisor listening unheard (monitor) or taking part (barge). */
enum party_role { P_SPECIALIST = 1, P_MONITOR, P_BARGED };
#define MAX_PARTIES 6
#define MAX_RUNG 16

struct party {
    char account[VG_NAME_MAX + 1];
    enum party_role role;
    struct session *s; /* NULL while their connection is away */
    int64_t gone_us;   /* since when away (monotonic), 0 = here */
};

/* The holder's pending invitation of a specialist (one per case at a time). */
struct invite {
    char id[24];
    struct live_case *lc;
    char from[VG_NAME_MAX + 1];
    char target[VG_NAME_MAX + 1]; /* the account, or the group's name */
    bool group, blind;
    char rung[MAX_RUNG][VG_NAME_MAX + 1];
    unsigned n_rung, n_declined;
    guint timer;
};

struct live_case {
    struct vg_hub *hub;
    struct vg_case_row row;
    int rank; /* queue order: mode priority, supervised queue last */
    struct vg_phone_history history;
    json_t *recent;          /* the caller's latest earlier cases (card.history.recent), or NULL */
    json_t *units;           /* the dispatch system's latest word of each unit (units.c), or NULL */
    struct session *citizen; /* NULL while disconnected */
    struct session *holder;  /* NULL unless answered and the holder is connected */
    bool has_fix;
    struct vg_fix_row last_fix;
    guint escalate_timer, abandon_timer; /* escalate: also a requeued case's "unanswered" */
    int64_t requeued_us;                 /* wall clock; 0 = never requeued */
    guint holder_timer;                  /* the holder's console is gone: requeue when it fires */
    int64_t holder_gone_us;              /* since when (wall clock) */
    uint64_t citizen_leg;                /* the citizen's own (first) media leg, 0 = none */
    uint64_t citizen_src; /* the staff leg the citizen's leg receives from, 0 = none */
    struct party parties[MAX_PARTIES];
    unsigned n_parties;
    guint party_timer;                 /* a party is away: drop them when it fires */
    struct invite *invite;             /* NULL: none pending */
    char prev_holder[VG_NAME_MAX + 1]; /* who transferred it here, for hand_back */
    struct vg_recording *rec;          /* NULL: not recorded */
    /* alarm_start's client_ref and the token it was answered with, kept while the case
     * is live (memory only) so a try whose answer was lost gets the same case back */
    char client_ref[VG_CLIENT_REF_MAX + 1];
    char token[65];
    /* From a video link (links.c): it rings only at the link's maker until link_timer
     * fires ([links] ring_s), then as any alarm. "" = not (or no longer). */
    char link_by[VG_NAME_MAX + 1];
    guint link_timer;
    /* The dispatch feed's place updates (feed.c): when the last went (monotonic), and
     * the trailing one due. */
    int64_t feed_fix_us;
    guint feed_timer;
};

/* Which party of which case a media leg belongs to. Each party has one main leg
 * (peer ""): the citizen's carries their media and brings them their holder's; a
 * member of staff's brings them the citizen's and carries theirs. Every other
 * person a party must see or hear comes on an extra leg named after that person
 * (peer = their account), so no one's stream restarts when people join or leave. */
struct leg_ref {
    uint64_t id;
    char case_id[VG_CASE_ID_MAX + 1];
    bool citizen;
    char account[VG_NAME_MAX + 1]; /* staff legs: the owner */
    char peer[VG_NAME_MAX + 1];    /* "" = main leg; else whose media it brings */
    unsigned kinds;                /* what it brings */
    bool recv;                     /* staff main legs: the gateway takes their media */
    bool mark;                     /* media_sync's: still wanted */
};

struct vg_hub {
    struct vg_store *store;
    struct vg_policy *policy;
    const struct vg_config *cfg;
    GHashTable *cases;   /* id -> struct live_case*, live cases only */
    GPtrArray *sessions; /* struct session*, every open connection */
    struct vg_hub_stats stats;
    struct vg_media *media;
    GHashTable *legs;             /* leg id -> struct leg_ref* */
    struct vg_evidence *evidence; /* NULL: recording off */
    guint sweep_timer;
    int64_t sweep_wall0, sweep_boot0; /* the clocks at start: a wall clock jump is seen */
    bool sweep_held;                  /* the sweep counts from the latest event: said once */
    GHashTable *uploads; /* upload id -> struct upload_live* (uploads.c), open ones in use */
    guint upload_sweep;
    struct upload_io *upload_io; /* the chunks' disk work, off this loop (uploads.c) */
    guint account_timer;         /* looks for accounts disabled while signed in (hub.c) */
    guint callbacks_idle;        /* a push of the call-back lists is due (cases.c) */
    unsigned logins_running;     /* password checks on threads now (hub.c) */
    GQueue logins_waiting;       /* struct login_job*, to run when one finishes */
    GHashTable *links;           /* video links not used yet (links.c), NULL until one */
    struct feed *feed;           /* the dispatch feed (feed.c), NULL when off */
};

/* hub.c */
void hub_send(struct session *s, json_t *msg); /* steals msg; NULL s is fine */
void hub_reply(struct session *s, const struct vg_proto_msg *m, json_t *msg);
void hub_error(struct session *s, const char *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hub_to_staff(struct vg_hub *h, unsigned roles, json_t *msg); /* steals msg */
struct session *hub_staff_session(struct vg_hub *h, const char *account);
void hub_random_token(char *hex, size_t n); /* n >= 65: 32 random bytes as hex */
void hub_sha256_hex(const char *in, char *hex65);
const char *hub_role_name(enum role r);

/* feed.c: the dispatch feed. feed_event() takes extra (may be NULL); lc may be NULL
 * for a case no longer live (an outcome after its end). */
void feed_start(struct vg_hub *h);
void feed_stop(struct vg_hub *h);
void feed_event(struct vg_hub *h, const struct live_case *lc, const char *case_id,
                const char *event, json_t *extra);
void feed_location(struct vg_hub *h, struct live_case *lc);
void feed_case_gone(struct live_case *lc);
void feed_metrics(struct vg_hub *h, GString *out);

/* units.c: POST /api/dispatch/status. units_begin answers (false) or asks for the
 * body (true), which units_body then answers. */
bool units_begin(struct vg_hub *h, struct vg_http_exchange *x, const struct vg_http_request *r);
void units_body(struct vg_hub *h, struct vg_http_exchange *x, const uint8_t *body, size_t len);
/* What the citizen is told of the units ({status, eta_s?}: the best word of those not
 * cleared, "cleared" when none is active), NULL when no unit has spoken. */
json_t *units_help(const struct live_case *lc);
/* A case restored after a restart gets its units back from the store. */
void units_restore(struct vg_hub *h, struct live_case *lc);

/* links.c */
void links_create(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
bool links_take(struct vg_hub *h, const char *token, char *by, size_t n, char *phone, size_t pn);
void links_free(struct vg_hub *h);

/* cases.c */
void cases_load(struct vg_hub *h);
void cases_free(struct vg_hub *h);
void cases_staff_ready(struct vg_hub *h, struct session *s); /* login, or now available */
void cases_session_closed(struct vg_hub *h, struct session *s);
/* account can no longer take alarms from its links (away, on a case, signed out):
 * those ringing only at it ring everyone. */
void cases_link_release(struct vg_hub *h, const char *account, const char *why);
void case_alarm_start(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_resume(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_location(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_hangup(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_alarm_cancel(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_rate(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_chat(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_chat_draft(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_receipt(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_note(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_search(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_claim(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_end(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_callbacks(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void cases_callbacks_send(struct vg_hub *h, struct session *s); /* at login and resume */
void case_callback_done(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_get(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_block(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_unblock(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_board(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_alert_ack(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void case_blocks(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
struct live_case *cases_live(struct vg_hub *h, const char *id);
json_t *cases_full(struct vg_hub *h, const char *type, const struct live_case *lc);
/* Sends msg to the people on the case: its holder and its parties. Takes msg. */
void cases_to_people(struct vg_hub *h, struct live_case *lc, json_t *msg);
void cases_to_staff(struct vg_hub *h, struct live_case *lc, json_t *msg,
                    const struct session *except); /* steals msg */
void cases_board_update(struct vg_hub *h);
bool cases_answered(const struct live_case *lc);

/* team.c: invitations, joins, transfers, monitor and barge */
void team_invite(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_invite_cancel(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_invite_accept(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_invite_decline(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_transfer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_hand_back(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_leave(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_monitor(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void team_barge(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
struct party *team_party(struct live_case *lc, const char *account);
json_t *team_parties_json(const struct live_case *lc);
void team_case_closed(struct vg_hub *h, struct live_case *lc); /* cancels, frees parties */
void team_session_closed(struct vg_hub *h, struct live_case *lc, struct session *s);
void team_staff_ready(struct vg_hub *h, struct session *s); /* rebinds a returning party */
bool team_monitoring(struct vg_hub *h, struct session *s);  /* only monitors s->case_id */
void team_stop_monitoring(struct vg_hub *h, struct session *s);
/* The holder's console is gone for good: cancels their invitation and hands the case
 * to a specialist (else a supervisor who barged in) still connected on the call, if
 * any (true). */
bool team_holder_lost(struct vg_hub *h, struct live_case *lc);
/* At start: the case's parties rebuilt from its events, each away until they log in. */
void team_restore(struct vg_hub *h, struct live_case *lc);
/* The case went back to the queue: nobody stays on it (a specialist could not act on
 * a waiting case, a monitor could not claim it); those connected are told and are
 * free for the queue. */
void team_requeued(struct vg_hub *h, struct live_case *lc);
/* An alert about a case (live or not): stored, shown to supervisors, hooks fired. */
void cases_alert(struct vg_hub *h, const char *case_id, const char *kind, const char *detail_json);

/* An upload completed: tells the citizen and the staff on the case. Takes upload. */
void cases_upload_done(struct vg_hub *h, const char *case_id, json_t *upload);

/* uploads.c */
int uploads_start(struct vg_hub *h, char *err, size_t n);
void uploads_stop(struct vg_hub *h);
json_t *uploads_of_case(struct vg_hub *h, const char *case_id); /* new reference */
uint64_t uploads_refused_total(void);

/* media.c */
int media_start(struct vg_hub *h, char *err, size_t n);
void media_stop(struct vg_hub *h);
void media_offer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void media_answer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void media_ice(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void media_pause(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
/* Brings the case's legs in line with who is on it (holder, parties, citizen):
 * creates, connects and closes legs. Call after any change of people. */
void media_sync(struct vg_hub *h, struct live_case *lc);
void media_case_closed(struct vg_hub *h, struct live_case *lc);

/* evidence.c */
int evidence_start(struct vg_hub *h, char *err, size_t n);
void evidence_stop(struct vg_hub *h);
void evidence_case_start(struct vg_hub *h, struct live_case *lc);
/* The same for a case restored at start: its recording resumed (src/evidence). */
void evidence_case_restore(struct vg_hub *h, struct live_case *lc);
void evidence_note(struct live_case *lc, const char *type, json_t *e); /* steals e */
/* A citizen's upload completed: an event of the live case's recording, or, after
 * the case ended, its manifest resealed (and audited). upload is borrowed. */
void evidence_upload(struct vg_hub *h, struct live_case *lc, const char *case_id, json_t *upload);
/* An upload is about to be moved into its case's directory: a reseal of the case's
 * closed recording that runs meanwhile may take that file (its SHA-256) in. */
void evidence_expect_upload(struct vg_hub *h, const char *case_id, const char *id, const char *type,
                            const char *sha_hex);
/* A fact about a case that came after it ended (an outcome, a call back's result):
 * appended to its sealed recording as an event of `type` with e's fields, the
 * manifest signed again (and audited). Steals e. */
void evidence_after_end(struct vg_hub *h, const char *case_id, const char *type, json_t *e,
                        const char *why, int64_t at_us);
/* At start: late facts and uploads of the last hour offered to the recordings again
 * (the sealer skips what they hold): a crash may have cut their queue. */
void evidence_reconcile(struct vg_hub *h);
void evidence_case_end(struct live_case *lc, const char *reason);
void evidence_case_drop(struct live_case *lc);
void evidence_tap_leg(struct vg_hub *h, struct live_case *lc, uint64_t leg);
void evidence_leg_sdp(struct live_case *lc, uint64_t leg, const char *party, const char *sdp);
void evidence_list(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void evidence_get(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void evidence_hold(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);
void evidence_metrics(struct vg_hub *h, GString *out);

#endif
