/* Case operations of the hub: the alarm from start to end.
 *
 * Pattern for every operation: validate, write the store (which refuses a
 * transition the case's state does not allow), then update the live mirror, then
 * tell the people on the case. A failed store write changes nothing and is
 * answered with an error. */
#include "hub_internal.h"

#include "hooks.h"
#include "log.h"
#include "vg_err.h"
#include "vtime.h"

#include <stdio.h>
#include <string.h>

#define TRACK_MAX 500

/* JSON views --------------------------------------------------------------------------- */

static int mode_rank(const char *mode, const char *queue)
{
    enum vg_mode m = VG_MODE_REPORT;
    vg_mode_parse(mode, &m);
    /* silent 0 < video 1 < voice 2 < report 3; the supervised (blocked) queue last */
    return (int)m + (strcmp(queue, "supervised") == 0 ? 10 : 0);
}

static json_t *fix_json(const struct vg_fix_row *f, int64_t now_us)
{
    json_t *o = json_pack("{s:f, s:f, s:f, s:I, s:I}", "lat", f->lat, "lon", f->lon, "accuracy",
                          f->accuracy, "at", (json_int_t)(f->at_us / 1000), "age_s",
                          (json_int_t)((now_us - f->at_us) / 1000000));
    if (f->has_heading)
        json_object_set_new(o, "heading", json_real(f->heading));
    if (f->has_speed)
        json_object_set_new(o, "speed", json_real(f->speed));
    if (f->has_altitude)
        json_object_set_new(o, "altitude", json_real(f->altitude));
    if (f->source[0])
        json_object_set_new(o, "source", json_string(f->source));
    if (f->device_ms)
        json_object_set_new(o, "device_time", json_integer(f->device_ms));
    return o;
}

static json_t *flags_json(const char *csv)
{
    json_t *a = json_array();
    char **parts = g_strsplit(csv, ",", -1);
    for (int i = 0; parts[i]; i++)
        if (*parts[i])
            json_array_append_new(a, json_string(parts[i]));
    g_strfreev(parts);
    return a;
}

static json_t *card(const struct live_case *lc)
{
    const struct vg_case_row *r = &lc->row;
    int64_t now = vg_wall_us();
    json_t *caller = json_loads(r->caller, 0, NULL);
    json_t *c = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:I, s:I, s:o, s:o, s:{s:I, s:I, s:I}}",
        "case_id", r->id, "mode", r->mode, "state", r->state, "phone", r->phone, "queue", r->queue,
        "priority", lc->rank, "escalated", r->escalated, "callback_allowed", r->callback_allowed,
        "created_at", (json_int_t)(r->created_us / 1000), "waiting_s",
        (json_int_t)((now - r->created_us) / 1000000), "flags", flags_json(r->flags), "caller",
        caller ? caller : json_object(), "history", "earlier_cases", (json_int_t)lc->history.total,
        "ended", (json_int_t)lc->history.ended, "abandoned", (json_int_t)lc->history.abandoned);
    if (lc->recent)
        json_object_set(json_object_get(c, "history"), "recent", lc->recent);
    if (lc->units)
        json_object_set(c, "units", lc->units);
    json_object_set_new(c, "location", lc->has_fix ? fix_json(&lc->last_fix, now) : json_null());
    json_object_set_new(c, "held_by", r->held_by[0] ? json_string(r->held_by) : json_null());
    if (lc->link_by[0])
        json_object_set_new(c, "link_by", json_string(lc->link_by));
    json_object_set_new(c, "citizen_connected", json_boolean(lc->citizen != NULL));
    /* An answered case whose holder's console is gone: the board shows it. */
    json_object_set_new(c, "holder_connected", json_boolean(lc->holder != NULL));
    json_object_set_new(c, "phone_verified", json_boolean(strstr(r->flags, "phone_verified")));
    json_object_set_new(c, "parties", team_parties_json(lc));
    return c;
}

static int add_fix(const struct vg_fix_row *f, void *ud)
{
    json_array_append_new(ud, fix_json(f, vg_wall_us()));
    return 0;
}

static int add_chat(const struct vg_chat_row *m, void *ud)
{
    json_array_append_new(
        ud, json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:b}", "seq", (json_int_t)m->seq, "at",
                      (json_int_t)(m->at_us / 1000), "from", m->sender_role, "sender", m->sender,
                      "text", m->text, "delivered", m->delivered_us != 0, "read", m->read_us != 0));
    return 0;
}

/* A case message with the card, the track and the chat so far. */
static json_t *full_case(struct vg_hub *h, const char *type, const struct live_case *lc);

json_t *cases_full(struct vg_hub *h, const char *type, const struct live_case *lc)
{
    return full_case(h, type, lc);
}

/* The chat a case message carries: the last CHAT_MAX messages (2000 bytes each at
 * most), and how many older ones it leaves out. A message to a console is cut past
 * the connection's send queue (1 MiB): all of a long chat, which a citizen can type
 * at the rate limit in under a minute, had cut every call-taker who took the case.
 * Every message stays in the store and the recording. */
#define CHAT_MAX 200

static json_t *chat_tail(struct vg_hub *h, const char *case_id, json_int_t *omitted)
{
    json_t *chat = json_array();
    int64_t n = 0;
    vg_store_chat_tail(h->store, case_id, CHAT_MAX, add_chat, chat);
    vg_store_chat_count(h->store, case_id, &n);
    *omitted = n > (int64_t)json_array_size(chat) ? n - (int64_t)json_array_size(chat) : 0;
    return chat;
}

static json_t *note_json(int64_t at_us, const char *by, const char *text)
{
    return json_pack("{s:I, s:s, s:s}", "at", (json_int_t)(at_us / 1000), "by", by, "text", text);
}

static int add_note(int64_t at_us, const char *by, const char *text, void *ud)
{
    json_array_append_new(ud, note_json(at_us, by, text));
    return 0;
}

/* A case message stays well inside a connection's send queue (1 MiB): CHAT_MAX
 * messages and NOTES_MAX notes of 2000 bytes, each character escaped to two (a quote,
 * a backslash), would pass it. Past CASE_MSG_BUDGET the oldest of the longer list go,
 * a quarter at a time, counted in chat_omitted or notes_omitted; the store and the
 * recording keep them. Only a chat or notes written to be long are cut. */
#define CASE_MSG_BUDGET (768 * 1024)

static void fit_budget(json_t *msg)
{
    while (json_dumpb(msg, NULL, 0, JSON_COMPACT) > CASE_MSG_BUDGET) {
        json_t *chat = json_object_get(msg, "chat"), *notes = json_object_get(msg, "notes");
        bool from_chat = json_array_size(chat) >= json_array_size(notes);
        json_t *list = from_chat ? chat : notes;
        const char *count = from_chat ? "chat_omitted" : "notes_omitted";
        size_t drop = (json_array_size(list) + 3) / 4;
        if (!drop)
            return;
        for (size_t i = 0; i < drop; i++)
            json_array_remove(list, 0);
        json_int_t was = json_integer_value(json_object_get(msg, count));
        json_object_set_new(msg, count, json_integer(was + (json_int_t)drop));
    }
}

static json_t *full_case(struct vg_hub *h, const char *type, const struct live_case *lc)
{
    json_t *track = json_array(), *notes = json_array();
    json_int_t omitted = 0;
    vg_store_location_track(h->store, lc->row.id, TRACK_MAX, add_fix, track);
    vg_store_notes(h->store, lc->row.id, add_note, notes);
    json_t *chat = chat_tail(h, lc->row.id, &omitted);
    json_t *msg =
        json_pack("{s:s, s:o, s:o, s:o, s:I, s:o, s:I, s:o}", "type", type, "case", card(lc),
                  "track", track, "chat", chat, "chat_omitted", omitted, "notes", notes,
                  "notes_omitted", (json_int_t)0, "uploads", uploads_of_case(h, lc->row.id));
    fit_budget(msg);
    return msg;
}

/* The caller's latest earlier cases, for the card: when, how each ended, who held it
 * and the last note on it, so a call-taker sees at once that the man calling for the
 * third time tonight was sent a unit an hour ago. Read when the case comes in (or back
 * after a restart), not at every card: a note written on an earlier case meanwhile
 * shows from the next alarm on. */
#define RECENT_MAX 5

static int add_recent(const struct vg_recent_case *c, void *ud)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:I}", "case_id", c->id, "created_at",
                          (json_int_t)(c->created_us / 1000), "mode", c->mode, "state", c->state,
                          "notes", (json_int_t)c->notes);
    if (c->held_by[0])
        json_object_set_new(o, "held_by", json_string(c->held_by));
    if (c->disposition[0])
        json_object_set_new(o, "disposition", json_string(c->disposition));
    if (c->note[0])
        json_object_set_new(o, "note", json_string(c->note));
    json_array_append_new(ud, o);
    return 0;
}

/* lc->history, and with recent lc->recent too (a card sent once; the call-back list's
 * cards go out at every change, to every console, without it). */
static void load_history(struct vg_hub *h, struct live_case *lc, bool recent)
{
    const struct vg_case_row *r = &lc->row;
    vg_store_phone_history(h->store, r->phone, r->created_us,
                           r->created_us - (int64_t)h->cfg->repeat_window_min * 60000000,
                           &lc->history);
    if (!recent)
        return;
    lc->recent = json_array();
    vg_store_phone_recent(h->store, r->phone, r->created_us, RECENT_MAX, add_recent, lc->recent);
}

/* The live mirror ------------------------------------------------------------------------ */

static struct live_case *live_get(struct vg_hub *h, const char *id)
{
    return id && *id ? g_hash_table_lookup(h->cases, id) : NULL;
}

struct live_case *cases_live(struct vg_hub *h, const char *id)
{
    return live_get(h, id);
}

static struct live_case *live_add(struct vg_hub *h, const struct vg_case_row *row)
{
    struct live_case *lc = g_new0(struct live_case, 1);
    lc->hub = h;
    lc->row = *row;
    lc->rank = mode_rank(row->mode, row->queue);
    lc->has_fix = vg_store_location_last(h->store, row->id, &lc->last_fix) == VG_OK;
    g_hash_table_insert(h->cases, lc->row.id, lc);
    return lc;
}

static void stop_timer(guint *t)
{
    if (*t)
        g_source_remove(*t);
    *t = 0;
}

/* An alarm from a video link rings as any alarm from now on (offering it again, if it
 * still waits, is the caller's). */
static void drop_link(struct live_case *lc)
{
    stop_timer(&lc->link_timer);
    lc->link_by[0] = '\0';
}

static void live_remove(struct vg_hub *h, struct live_case *lc)
{
    struct session *freed[MAX_PARTIES];
    unsigned n = 0;
    for (unsigned i = 0; i < lc->n_parties; i++)
        if (lc->parties[i].s)
            freed[n++] = lc->parties[i].s;
    team_case_closed(h, lc);
    media_case_closed(h, lc);
    evidence_case_end(lc, "case closed");
    stop_timer(&lc->escalate_timer);
    stop_timer(&lc->abandon_timer);
    stop_timer(&lc->holder_timer);
    stop_timer(&lc->link_timer);
    feed_case_gone(lc);
    if (lc->holder && strcmp(lc->holder->case_id, lc->row.id) == 0) {
        lc->holder->case_id[0] = '\0';
    }
    g_hash_table_remove(h->cases, lc->row.id);
    json_decref(lc->recent);
    json_decref(lc->units);
    g_free(lc);
    for (unsigned i = 0; i < n; i++) /* specialists and supervisors on it are free again */
        cases_staff_ready(h, freed[i]);
}

static bool unclaimed(const struct live_case *lc)
{
    return strcmp(lc->row.state, "answered") != 0;
}

bool cases_answered(const struct live_case *lc)
{
    return !unclaimed(lc);
}

/* Call-takers take the normal queue; a blocked caller's alarm (the supervised queue)
 * too once it is unanswered past escalate_after_s: with no supervisor there to take
 * it, it must not wait for nobody (if no one takes it within a minute, it is handled
 * the normal way). */
static bool for_call_takers(const struct live_case *lc)
{
    return strcmp(lc->row.queue, "normal") == 0 || lc->row.escalated;
}

/* Does this waiting case ring on this console? Call-takers who are free take the
 * normal queue (for_call_takers); supervisors who are available are rung for
 * escalated cases and the supervised (blocked callers') queue, and follow everything
 * else on their board. A supervisor away is rung for nothing: escalated cases ring
 * the call-takers too, and the supervised queue reaches them once it escalates. */
static bool rings_on(const struct session *s, const struct live_case *lc)
{
    if (!unclaimed(lc))
        return false;
    if (lc->link_by[0]) /* from a video link: its maker's first, whoever they are */
        return (s->role & (R_CALL_TAKER | R_SUPERVISOR)) && !s->case_id[0] &&
               strcmp(s->account, lc->link_by) == 0;
    if (s->role == R_SUPERVISOR)
        return s->available && (lc->row.escalated || strcmp(lc->row.queue, "normal") != 0);
    return s->role == R_CALL_TAKER && s->available && !s->case_id[0] && for_call_takers(lc);
}

/* May this staff session see the waiting case's live updates? */
static bool staff_sees(const struct session *s, const struct live_case *lc)
{
    return unclaimed(lc) && (s->role == R_SUPERVISOR || rings_on(s, lc));
}

static gint by_queue_order(gconstpointer a, gconstpointer b)
{
    const struct live_case *x = *(struct live_case *const *)a, *y = *(struct live_case *const *)b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return x->row.created_us < y->row.created_us ? -1 : x->row.created_us > y->row.created_us;
}

static GPtrArray *waiting_in_order(struct vg_hub *h)
{
    GPtrArray *q = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (unclaimed(v))
            g_ptr_array_add(q, v);
    g_ptr_array_sort(q, by_queue_order);
    return q;
}

/* Tells every waiting citizen their place in the queue. */
static void announce_positions(struct vg_hub *h)
{
    GPtrArray *q = waiting_in_order(h);
    for (guint i = 0; i < q->len; i++) {
        struct live_case *lc = g_ptr_array_index(q, i);
        hub_send(lc->citizen,
                 json_pack("{s:s, s:s, s:s, s:i, s:i}", "type", "queue", "case_id", lc->row.id,
                           "state", lc->row.state, "position", (int)i + 1, "waiting", (int)q->len));
    }
    g_ptr_array_free(q, TRUE);
}

static json_t *board_card(const struct live_case *lc)
{
    json_t *c = card(lc);
    json_object_del(c, "caller");
    json_object_del(json_object_get(c, "history"), "recent");
    json_object_del(c, "units");
    return c;
}

static json_t *board_json(struct vg_hub *h)
{
    json_t *cases = json_array();
    GPtrArray *q = waiting_in_order(h);
    /* Without the caller's details (up to 4000 bytes a card, not shown on the board):
     * the board goes to every supervisor at every change, and a message past a
     * connection's send queue cuts it. */
    for (guint i = 0; i < q->len; i++)
        json_array_append_new(cases, board_card(g_ptr_array_index(q, i)));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (!unclaimed(v))
            json_array_append_new(cases, board_card(v));
    g_ptr_array_free(q, TRUE);
    return json_pack("{s:s, s:o}", "type", "board", "cases", cases);
}

/* Supervisors' board follows every change of state. */
static void board_update(struct vg_hub *h)
{
    hub_to_staff(h, R_SUPERVISOR, board_json(h));
}

void cases_board_update(struct vg_hub *h)
{
    board_update(h);
}

/* A closed case from its stored row (tmp->row filled): its card with how it ended,
 * in a message of type `type` (full: with track, chat and uploads) or the card alone
 * (type NULL). */
static json_t *closed_case(struct vg_hub *h, const char *type, struct live_case *tmp)
{
    tmp->hub = h;
    tmp->rank = mode_rank(tmp->row.mode, tmp->row.queue);
    load_history(h, tmp, type != NULL);
    tmp->has_fix = vg_store_location_last(h->store, tmp->row.id, &tmp->last_fix) == VG_OK;
    json_t *r = type ? full_case(h, type, tmp) : card(tmp);
    json_decref(tmp->recent);
    tmp->recent = NULL;
    json_t *c = type ? json_object_get(r, "case") : r;
    json_object_set_new(c, "ended_by", json_string(tmp->row.ended_by));
    json_object_set_new(c, "end_reason", json_string(tmp->row.end_reason));
    json_object_set_new(c, "disposition", json_string(tmp->row.disposition));
    json_object_set_new(c, "ended_at", json_integer(tmp->row.ended_us / 1000));
    return r;
}

/* Call-backs ---------------------------------------------------------------------------
 * A citizen who left while waiting and allowed a call back (callback_allowed) is owed
 * one: the case is flagged when abandoned. Call-takers and supervisors see the list
 * (on login, and pushed on every change) and say when they called and how it went. */

/* Listed for [queue] callback_window_h after the citizen left; older flags (and those
 * from before the list existed) stay in the store, off the list. At most this many,
 * the latest first: a console is not meant to scroll through more. */
#define CALLBACKS_MAX 100

struct callbacks_ctx {
    struct vg_hub *hub;
    json_t *list;
};

static int add_callback(const struct vg_case_row *row, void *ud)
{
    struct callbacks_ctx *x = ud;
    struct live_case tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.row = *row;
    json_array_append_new(x->list, closed_case(x->hub, NULL, &tmp));
    return 0;
}

/* A call-taker's list holds the normal queue's callers; a supervisor's also the
 * blocked callers' (the supervised queue is theirs). */
static json_t *callbacks_json(struct vg_hub *h, bool supervisor)
{
    struct callbacks_ctx x = {h, json_array()};
    vg_store_callbacks_list(h->store,
                            vg_wall_us() - (int64_t)h->cfg->callback_window_h * 3600 * 1000000,
                            !supervisor, CALLBACKS_MAX, add_callback, &x);
    return json_pack("{s:s, s:o}", "type", "callbacks", "cases", x.list);
}

static gboolean callbacks_push_cb(gpointer ud)
{
    struct vg_hub *h = ud;
    h->callbacks_idle = 0;
    hub_to_staff(h, R_CALL_TAKER, callbacks_json(h, false));
    hub_to_staff(h, R_SUPERVISOR, callbacks_json(h, true));
    return G_SOURCE_REMOVE;
}

/* Every console's list, once per turn of the loop however many changes came (a
 * network that drops a hundred waiting citizens at once). */
static void callbacks_push(struct vg_hub *h)
{
    if (!h->callbacks_idle)
        h->callbacks_idle = g_idle_add(callbacks_push_cb, h);
}

void cases_callbacks_send(struct vg_hub *h, struct session *s)
{
    if (s->role & (R_CALL_TAKER | R_SUPERVISOR))
        hub_send(s, callbacks_json(h, s->role == R_SUPERVISOR));
}

void case_callbacks(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    hub_reply(s, m, callbacks_json(h, s->role == R_SUPERVISOR));
}

void case_callback_done(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_callback r;
    char why[200];
    if (vg_msg_callback_done(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct vg_case_row row;
    if (s->role != R_SUPERVISOR && vg_store_case_get(h->store, r.case_id, &row) == VG_OK &&
        strcmp(row.queue, "normal") != 0)
        return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "a blocked caller is the supervisors'");
    json_t *ev = json_pack("{s:s}", "outcome", r.outcome);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int64_t now = vg_wall_us(); /* the store's and the recording's time: one fact */
    int rc = vg_store_callback_done(h->store, r.case_id, s->account, now, evtext);
    free(evtext);
    if (rc == VG_ENOENT || rc == VG_ESTATE)
        return hub_error(s, m->id, "not_found", "case %s owes no call back (done already?)",
                         r.case_id);
    if (rc)
        return hub_error(s, m->id, "internal", "the call back could not be recorded");
    vg_info(r.case_id, NULL, "called back by %s: %s", s->account, r.outcome);
    evidence_after_end(h, r.case_id, "callback",
                       json_pack("{s:s, s:s}", "outcome", r.outcome, "by", s->account),
                       "call back after the case ended", now);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s}", "type", "callback_done", "case_id", r.case_id, "outcome",
                        r.outcome));
    callbacks_push(h);
}

static void offer_to(struct vg_hub *h, struct live_case *lc, struct session *s)
{
    hub_send(s, json_pack("{s:s, s:o}", "type", "offer", "case", card(lc)));
    if (strcmp(lc->row.state, "queued") == 0 &&
        vg_store_case_offered(h->store, lc->row.id, vg_wall_us()) == VG_OK)
        snprintf(lc->row.state, sizeof lc->row.state, "offered");
}

/* Rings every console that may take the case. */
static void offer_case(struct vg_hub *h, struct live_case *lc)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (rings_on(s, lc))
            offer_to(h, lc, s);
    }
}

/* Alerts ------------------------------------------------------------------------------- */

struct hook_ctx {
    struct vg_hub *hub;
    int64_t alert_id;
};

static void hook_done(bool ok, void *ud)
{
    struct hook_ctx *c = ud;
    if (!ok)
        c->hub->stats.hooks_failed++;
    vg_store_alert_hook_status(c->hub->store, c->alert_id, ok ? "delivered" : "failed");
    g_free(c);
}

/* An alert as supervisors get it (and the hooks); case_id, phone and mode may be
 * NULL or "". Takes flags and detail. */
static json_t *alert_json(int64_t id, const char *kind, const char *case_id, const char *phone,
                          const char *mode, json_t *flags, json_t *detail, int64_t at_us)
{
    return json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:o, s:o, s:I}", "type", "alert",
                     "alert_id", (json_int_t)id, "kind", kind, "case_id",
                     case_id && *case_id ? case_id : NULL, "phone", phone && *phone ? phone : NULL,
                     "mode", mode && *mode ? mode : NULL, "flags", flags, "detail", detail, "at",
                     (json_int_t)(at_us / 1000));
}

/* Stores an alert, fires the hooks without waiting for them, and tells the
 * supervisors; case_id NULL for an alarm refused before it became a case, phone and
 * mode NULL for an alert about no caller. It stays open (shown again to a supervisor
 * who signs in) until one of them acknowledges it. Takes detail and flags. */
static void alert_out(struct vg_hub *h, const char *case_id, const char *phone, const char *mode,
                      json_t *flags, const char *kind, json_t *detail)
{
    int64_t now = vg_wall_us(), id = 0;
    char *dtext = json_dumps(detail, JSON_COMPACT);
    vg_store_alert_add(h->store, case_id, kind, now, dtext, phone, mode, &id);
    free(dtext);
    h->stats.alerts++;
    json_t *msg = alert_json(id, kind, case_id, phone, mode, flags, detail, now);
    char logged[40];
    vg_warn(case_id, NULL, "alert %s: caller %s", kind,
            phone ? vg_log_phone(phone, logged, sizeof logged) : "none");
    char *body = json_dumps(msg, JSON_COMPACT);
    struct hook_ctx *ctx = g_new0(struct hook_ctx, 1);
    ctx->hub = h;
    ctx->alert_id = id;
    if (!body || !vg_policy_fire_hooks(h->policy, body, hook_done, ctx))
        g_free(ctx);
    free(body);
    hub_to_staff(h, R_SUPERVISOR, msg);
}

static void raise_alert(struct vg_hub *h, struct live_case *lc, const char *kind, json_t *detail)
{
    char *dtext = json_dumps(detail, JSON_COMPACT);
    vg_store_case_event(h->store, lc->row.id, vg_wall_us(), "alert", NULL, dtext);
    free(dtext);
    evidence_note(lc, "alert", json_pack("{s:s, s:O}", "kind", kind, "detail", detail));
    alert_out(h, lc->row.id, lc->row.phone, lc->row.mode, flags_json(lc->row.flags), kind, detail);
}

/* Timers ------------------------------------------------------------------------------- */

static gboolean escalate_cb(gpointer ud)
{
    struct live_case *lc = ud;
    struct vg_hub *h = lc->hub;
    lc->escalate_timer = 0;
    if (vg_store_case_escalate(h->store, lc->row.id, vg_wall_us()) != VG_OK)
        return G_SOURCE_REMOVE;
    lc->row.escalated = true;
    h->stats.escalations++;
    drop_link(lc); /* unanswered: everyone's now, a link's maker or not */
    raise_alert(h, lc, "unanswered",
                json_pack("{s:I}", "waiting_s",
                          (json_int_t)((vg_wall_us() - lc->row.created_us) / 1000000)));
    hub_send(lc->citizen, json_pack("{s:s, s:s, s:s}", "type", "escalated", "case_id", lc->row.id,
                                    "message", h->cfg->escalation_message));
    offer_case(h, lc); /* now to supervisors too */
    board_update(h);
    return G_SOURCE_REMOVE;
}

/* A case back in the queue (its holder's console lost) was escalated when it went back:
 * it rings everyone at once. If it still waits escalate_after_s later, the supervisors
 * hear that it is unanswered, and the citizen is asked to call 110 too, as a new
 * alarm's would be. */
static gboolean requeued_unanswered_cb(gpointer ud)
{
    struct live_case *lc = ud;
    struct vg_hub *h = lc->hub;
    lc->escalate_timer = 0;
    if (!unclaimed(lc))
        return G_SOURCE_REMOVE;
    raise_alert(h, lc, "unanswered",
                json_pack("{s:I, s:b}", "waiting_s",
                          (json_int_t)((vg_wall_us() - lc->requeued_us) / 1000000), "requeued", 1));
    hub_send(lc->citizen, json_pack("{s:s, s:s, s:s}", "type", "escalated", "case_id", lc->row.id,
                                    "message", h->cfg->escalation_message));
    return G_SOURCE_REMOVE;
}

static void arm_escalation(struct vg_hub *h, struct live_case *lc)
{
    if (lc->row.escalated || !unclaimed(lc))
        return;
    int64_t due = lc->row.created_us + (int64_t)h->cfg->escalate_after_s * 1000000;
    int64_t ms = (due - vg_wall_us()) / 1000;
    lc->escalate_timer = g_timeout_add(ms > 0 ? (guint)ms : 0, escalate_cb, lc);
}

void cases_alert(struct vg_hub *h, const char *case_id, const char *kind, const char *detail_json)
{
    struct live_case *lc = live_get(h, case_id);
    json_t *d = json_loads(detail_json, 0, NULL);
    if (lc) {
        raise_alert(h, lc, kind, d ? d : json_object());
        return;
    }
    /* The case has closed, or there is none (a clock jump): the alert goes out the
     * same way, hooks too, with the caller's number when there is a case. */
    struct vg_case_row *row = g_new0(struct vg_case_row, 1);
    bool known = case_id && vg_store_case_get(h->store, case_id, row) == VG_OK;
    alert_out(h, case_id, known ? row->phone : NULL, known ? row->mode : NULL,
              known ? flags_json(row->flags) : json_array(), kind, d ? d : json_object());
    g_free(row);
}

/* The alerts still open (not acknowledged) of the last day, for a supervisor who
 * signs in: what fired while nobody was there, or before a restart, is not lost. */
#define OPEN_ALERTS_H 24
#define OPEN_ALERTS_MAX 100

static int add_open_alert(const struct vg_alert_row *a, void *ud)
{
    json_t *d = json_loads(a->detail, 0, NULL);
    json_array_append_new(ud, alert_json(a->id, a->kind, a->case_id, a->phone, a->mode,
                                         flags_json(a->flags), d ? d : json_object(), a->at_us));
    return 0;
}

static void send_open_alerts(struct vg_hub *h, struct session *s)
{
    json_t *list = json_array();
    vg_store_alert_open(h->store, vg_wall_us() - (int64_t)OPEN_ALERTS_H * 3600 * 1000000,
                        OPEN_ALERTS_MAX, add_open_alert, list);
    hub_send(s, json_pack("{s:s, s:o}", "type", "alerts", "alerts", list));
}

void case_alert_ack(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    int64_t id = 0, now = vg_wall_us();
    char why[200];
    if (vg_msg_alert_ack(m->body, &id, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    int rc = vg_store_alert_ack(h->store, id, s->account, now);
    if (rc == VG_ENOENT)
        return hub_error(s, m->id, "not_found", "alert %lld is not open", (long long)id);
    if (rc)
        return hub_error(s, m->id, "internal", "the acknowledgement could not be recorded");
    vg_info(NULL, NULL, "alert %lld acknowledged by %s", (long long)id, s->account);
    json_t *msg = json_pack("{s:s, s:I, s:s, s:I}", "type", "alert_acked", "alert_id",
                            (json_int_t)id, "by", s->account, "at", (json_int_t)(now / 1000));
    hub_to_staff(h, R_SUPERVISOR, json_incref(msg));
    hub_reply(s, m, msg);
}

/* A silent alarm and a report wait for a call-taker whether or not their citizen is
 * still connected: a silent caller's phone may lock or lose the network at any
 * moment (and a call back could ring it), and a report is a message, read whenever
 * it is read. Only video and voice alarms are abandoned when their citizen leaves
 * unanswered; these stay queued, shown offline, until a call-taker ends them. */
static bool waits_without_citizen(const struct live_case *lc)
{
    return strcmp(lc->row.mode, "silent") == 0 || strcmp(lc->row.mode, "report") == 0;
}

/* The consoles that listed the case see whether its citizen is connected. */
static void citizen_presence_changed(struct vg_hub *h, struct live_case *lc)
{
    if (unclaimed(lc))
        offer_case(h, lc);
    board_update(h);
}

static void close_waiting(struct vg_hub *h, struct live_case *lc, const char *reason)
{
    /* The store flagged it for a call back if the citizen allowed one. */
    bool owed = strcmp(reason, "abandoned") == 0 && lc->row.callback_allowed;
    evidence_note(lc, "state", json_pack("{s:s}", "state", reason));
    if (lc->row.answered_us) /* answered once, then requeued: the dispatch system has it */
        feed_event(h, lc, lc->row.id, "ended", json_pack("{s:s}", "reason", reason));
    hub_to_staff(
        h, R_STAFF,
        json_pack("{s:s, s:s, s:s}", "type", "closed", "case_id", lc->row.id, "reason", reason));
    live_remove(h, lc);
    announce_positions(h);
    board_update(h);
    if (owed)
        callbacks_push(h);
}

static gboolean abandon_cb(gpointer ud)
{
    struct live_case *lc = ud;
    struct vg_hub *h = lc->hub;
    lc->abandon_timer = 0;
    if (vg_store_case_abandon(h->store, lc->row.id, vg_wall_us()) != VG_OK)
        return G_SOURCE_REMOVE;
    vg_info(lc->row.id, NULL, "abandoned: the citizen left while waiting%s",
            lc->row.callback_allowed ? "; flagged for callback" : "");
    close_waiting(h, lc, "abandoned");
    return G_SOURCE_REMOVE;
}

static void arm_abandon(struct vg_hub *h, struct live_case *lc)
{
    stop_timer(&lc->abandon_timer);
    lc->abandon_timer = g_timeout_add((guint)h->cfg->abandon_grace_s * 1000, abandon_cb, lc);
}

/* The holder's console went (closed, or silent past [signaling] dead_after_s) and has
 * not come back: a citizen in danger must not stay with someone who cannot see them.
 * A specialist still on the call takes the case over; otherwise it goes back to the
 * queue, escalated, and rings every free call-taker and the supervisors at once. */
static gboolean holder_lost_cb(gpointer ud);

/* escalate_after_s after the requeue: across a restart too (then at once if due). */
static void arm_requeued_unanswered(struct vg_hub *h, struct live_case *lc)
{
    stop_timer(&lc->escalate_timer);
    int64_t ms =
        (lc->requeued_us + (int64_t)h->cfg->escalate_after_s * 1000000 - vg_wall_us()) / 1000;
    lc->escalate_timer = g_timeout_add(ms > 0 ? (guint)ms : 0, requeued_unanswered_cb, lc);
}

static void requeue(struct vg_hub *h, struct live_case *lc, const char *lost, json_t *detail)
{
    char *text = json_dumps(detail, JSON_COMPACT);
    int rc = vg_store_case_requeue(h->store, lc->row.id, lost, vg_wall_us(), text);
    free(text);
    if (rc) {
        vg_error(lc->row.id, NULL, "could not requeue the case of %s (%d); trying again in %d s",
                 lost, rc, h->cfg->holder_grace_s);
        json_decref(detail);
        lc->holder_timer = g_timeout_add((guint)h->cfg->holder_grace_s * 1000, holder_lost_cb, lc);
        return;
    }
    h->stats.holders_lost++;
    snprintf(lc->row.state, sizeof lc->row.state, "queued");
    lc->row.held_by[0] = '\0';
    lc->row.escalated = true;
    lc->prev_holder[0] = '\0';
    drop_link(lc); /* back for everyone */
    lc->requeued_us = vg_wall_us();
    arm_requeued_unanswered(h, lc);
    vg_warn(lc->row.id, NULL, "back in the queue: %s's console did not come back", lost);
    evidence_note(lc, "state", json_pack("{s:s, s:s}", "state", "requeued", "was_held_by", lost));
    feed_event(h, lc, lc->row.id, "requeued", json_pack("{s:s}", "was_held_by", lost));
    raise_alert(h, lc, "holder_lost", detail);
    team_requeued(h, lc);
    media_sync(h, lc); /* the parties' legs go; the citizen's stays, recorded */
    /* No abandon timer even if the citizen is away too: the alarm was being handled,
     * and whoever claims it has their number to call back. */
    hub_send(lc->citizen, json_pack("{s:s, s:s}", "type", "requeued", "case_id", lc->row.id));
    offer_case(h, lc);
    announce_positions(h);
    board_update(h);
}

static gboolean holder_lost_cb(gpointer ud)
{
    struct live_case *lc = ud;
    struct vg_hub *h = lc->hub;
    lc->holder_timer = 0;
    if (lc->holder || unclaimed(lc))
        return G_SOURCE_REMOVE; /* back, or handed on, meanwhile */
    char lost[VG_NAME_MAX + 1];
    snprintf(lost, sizeof lost, "%s", lc->row.held_by);
    json_t *detail = json_pack("{s:s, s:I}", "was_held_by", lost, "gone_s",
                               (json_int_t)((vg_wall_us() - lc->holder_gone_us) / 1000000));
    if (team_holder_lost(h, lc)) {
        h->stats.holders_lost++;
        vg_warn(lc->row.id, NULL, "%s's console did not come back: %s on the call holds it now",
                lost, lc->row.held_by);
        json_object_set_new(detail, "taken_over_by", json_string(lc->row.held_by));
        raise_alert(h, lc, "holder_lost", detail);
        /* The citizen was told the call-taker's connection dropped: who has them now. */
        hub_send(lc->citizen, json_pack("{s:s, s:s, s:s}", "type", "answered", "case_id",
                                        lc->row.id, "by", lc->row.held_by));
        board_update(h);
        return G_SOURCE_REMOVE;
    }
    requeue(h, lc, lost, detail);
    return G_SOURCE_REMOVE;
}

static void arm_holder_lost(struct vg_hub *h, struct live_case *lc)
{
    stop_timer(&lc->holder_timer);
    lc->holder_gone_us = vg_wall_us();
    lc->holder_timer = g_timeout_add((guint)h->cfg->holder_grace_s * 1000, holder_lost_cb, lc);
}

/* Load and close ---------------------------------------------------------------------------- */

static int load_one(const struct vg_case_row *row, void *ud)
{
    struct vg_hub *h = ud;
    struct live_case *lc = live_add(h, row);
    evidence_case_restore(h, lc); /* its recording resumed: what follows is recorded too */
    evidence_note(lc, "state",
                  json_pack("{s:s, s:s}", "state", row->state, "why", "restored after a restart"));
    load_history(h, lc, true);
    units_restore(h, lc);
    /* back after a restart: the dispatch system hears of the answered ones again,
     * in case what was queued for it was lost with the process */
    if (!unclaimed(lc))
        feed_event(h, lc, row->id, "restored", NULL);
    arm_escalation(h, lc);
    /* Requeued before the restart (answered once, waiting again): its own alert is
     * still due escalate_after_s after the requeue, unless it went out already. */
    if (unclaimed(lc) && lc->row.answered_us &&
        (lc->requeued_us = vg_store_case_event_last(h->store, row->id, "requeued")) &&
        vg_store_alert_last(h->store, row->id, "unanswered") < lc->requeued_us)
        arm_requeued_unanswered(h, lc);
    if (unclaimed(lc) && !lc->row.answered_us && !waits_without_citizen(lc))
        arm_abandon(h, lc); /* its citizen must reconnect within the grace time */
    else if (!unclaimed(lc))
        arm_holder_lost(h, lc); /* and its holder too */
    if (!unclaimed(lc))
        team_restore(h, lc); /* and the others who were on it */
    return 0;
}

void cases_load(struct vg_hub *h)
{
    vg_store_case_list_live(h->store, load_one, h);
    if (h->evidence)
        vg_evidence_seal_unresumed(h->evidence); /* left open for a case not restored */
    if (g_hash_table_size(h->cases))
        vg_info(NULL, NULL, "restored %u live cases from the store", g_hash_table_size(h->cases));
}

void cases_free(struct vg_hub *h)
{
    stop_timer(&h->callbacks_idle);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct live_case *lc = v;
        stop_timer(&lc->escalate_timer);
        stop_timer(&lc->abandon_timer);
        stop_timer(&lc->holder_timer);
        stop_timer(&lc->party_timer);
        stop_timer(&lc->link_timer);
        feed_case_gone(lc);
        evidence_case_drop(lc);
        g_hash_table_iter_remove(&it);
        json_decref(lc->recent);
        json_decref(lc->units);
        g_free(lc);
    }
}

void cases_staff_ready(struct vg_hub *h, struct session *s)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct live_case *lc = v;
        /* A call-taker back after a drop or a restart gets the case they held, on a
         * console with no case: one console holds one case, and a second console of
         * the same account that holds another would otherwise take this one too and
         * leave the other held by a console that no longer shows it. */
        if (!unclaimed(lc) && !lc->holder && strcmp(lc->row.held_by, s->account) == 0 &&
            !live_get(h, s->case_id)) {
            lc->holder = s;
            stop_timer(&lc->holder_timer);
            snprintf(s->case_id, sizeof s->case_id, "%s", lc->row.id);
            evidence_note(lc, "participant",
                          json_pack("{s:s, s:s}", "action", "join", "who", s->account));
            hub_send(s, full_case(h, "claimed", lc));
            hub_send(lc->citizen, json_pack("{s:s, s:s, s:b}", "type", "staff_connection",
                                            "case_id", lc->row.id, "connected", 1));
            media_sync(h, lc);
            board_update(h); /* "console lost" goes */
        }
    }
    team_staff_ready(h, s);
    GPtrArray *q = waiting_in_order(h);
    for (guint i = 0; i < q->len; i++)
        if (rings_on(s, g_ptr_array_index(q, i)))
            offer_to(h, g_ptr_array_index(q, i), s);
    g_ptr_array_free(q, TRUE);
    if (s->role == R_SUPERVISOR) {
        hub_send(s, board_json(h));
        send_open_alerts(h, s);
    }
}

void cases_session_closed(struct vg_hub *h, struct session *s)
{
    if (s->role & R_STAFF) { /* closing: offered nothing more, its links ring everyone */
        s->available = false;
        cases_link_release(h, s->account, "its maker's console closed");
    }
    struct live_case *lc = live_get(h, s->case_id);
    if (!lc)
        return;
    if (lc->citizen == s) {
        lc->citizen = NULL;
        evidence_note(lc, "participant",
                      json_pack("{s:s, s:s}", "action", "leave", "who", "citizen"));
        vg_info(lc->row.id, NULL, "citizen connection lost");
        /* Abandoned only if nobody ever answered: a requeued alarm was being
         * handled, and whoever claims it can call back. */
        if (unclaimed(lc) && !lc->row.answered_us && !waits_without_citizen(lc))
            arm_abandon(h, lc);
        else if (unclaimed(lc))
            citizen_presence_changed(h, lc);
        else /* the holder and the specialists on the call alike */
            cases_to_people(h, lc,
                            json_pack("{s:s, s:s, s:b}", "type", "citizen_connection", "case_id",
                                      lc->row.id, "connected", 0));
    } else if (lc->holder == s) {
        lc->holder = NULL;
        evidence_note(lc, "participant",
                      json_pack("{s:s, s:s}", "action", "leave", "who", s->account));
        media_sync(h, lc); /* their legs go; a console that comes back gets new offers */
        arm_holder_lost(h, lc);
        vg_info(lc->row.id, NULL, "%s %s connection lost; the case stays theirs for %d s",
                hub_role_name(s->role), s->account, h->cfg->holder_grace_s);
        board_update(h);
        hub_send(lc->citizen, json_pack("{s:s, s:s, s:b}", "type", "staff_connection", "case_id",
                                        lc->row.id, "connected", 0));
    } else {
        team_session_closed(h, lc, s);
    }
}

/* Requests: citizen ------------------------------------------------------------------------ */

static void fix_row(const struct vg_fix *f, struct vg_fix_row *r)
{
    memset(r, 0, sizeof *r);
    r->at_us = vg_wall_us();
    r->lat = f->lat;
    r->lon = f->lon;
    r->accuracy = f->accuracy;
    r->heading = f->heading;
    r->has_heading = f->has_heading;
    r->speed = f->speed;
    r->has_speed = f->has_speed;
    r->altitude = f->altitude;
    r->has_altitude = f->has_altitude;
    snprintf(r->source, sizeof r->source, "%s", f->source);
    r->device_ms = f->device_ms;
}

static void add_flag(char *flags, size_t n, const char *flag)
{
    size_t len = strlen(flags);
    snprintf(flags + len, n - len, "%s%s", len ? "," : "", flag);
}

/* The checks before a case exists: service area and a hard block refuse it. */
static bool alarm_allowed(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                          const struct vg_req_alarm *r, bool *blocked)
{
    char phone[40];
    vg_log_phone(r->phone, phone, sizeof phone);
    if (r->has_fix && !vg_policy_in_service_area(h->policy, r->fix.lon, r->fix.lat) &&
        !vg_policy_near_service_area(h->policy, r->fix.lon, r->fix.lat, r->fix.accuracy)) {
        vg_warn(NULL, NULL, "alarm from %s at %.5f,%.5f refused: outside the service area", phone,
                r->fix.lat, r->fix.lon);
        hub_error(s, m->id, "outside_service_area", "%s", h->cfg->outside_area_message);
        /* no case, but not without a trace: someone just over the border may be in
         * danger, and the supervisor sees who was sent to the ordinary line */
        alert_out(h, NULL, r->phone, vg_mode_name(r->mode), json_array(), "alarm_refused",
                  json_pack("{s:s, s:f, s:f, s:f}", "reason", "outside_service_area", "lat",
                            r->fix.lat, "lon", r->fix.lon, "accuracy", r->fix.accuracy));
        return false;
    }
    struct vg_block_row b;
    *blocked = vg_store_block_active(h->store, r->phone, vg_wall_us(), &b) == VG_OK;
    if (*blocked && h->cfg->blacklist_hard) {
        vg_warn(NULL, NULL, "alarm from blocked caller %s refused (block by %s: %s)", phone,
                b.created_by, b.reason);
        hub_error(s, m->id, "refused", "%s", h->cfg->refused_message);
        /* a blocked caller's real emergency must not vanish: the supervisor sees it */
        json_t *d = json_pack("{s:s, s:s, s:s}", "reason", "blocked", "blocked_by", b.created_by,
                              "block_reason", b.reason);
        if (r->has_fix) /* where they are, for whoever decides to call them back */
            json_object_update_missing_new(d, json_pack("{s:f, s:f, s:f}", "lat", r->fix.lat, "lon",
                                                        r->fix.lon, "accuracy", r->fix.accuracy));
        alert_out(h, NULL, r->phone, vg_mode_name(r->mode), json_array(), "alarm_refused", d);
        return false;
    }
    return true;
}

_Static_assert(VG_MSG_CALLER_MAX <= VG_CALLER_MAX, "an accepted caller fits the case row");

static void new_case_row(const struct vg_req_alarm *r, bool blocked, struct vg_case_row *c,
                         char *token)
{
    memset(c, 0, sizeof *c);
    char rnd[65];
    hub_random_token(rnd, sizeof rnd);
    snprintf(c->id, sizeof c->id, "c-%.12s", rnd);
    snprintf(c->mode, sizeof c->mode, "%s", vg_mode_name(r->mode));
    snprintf(c->state, sizeof c->state, "queued");
    snprintf(c->phone, sizeof c->phone, "%s", r->phone);
    snprintf(c->queue, sizeof c->queue, "%s", blocked ? "supervised" : "normal");
    c->callback_allowed = r->callback_allowed;
    char *caller = r->caller ? json_dumps(r->caller, JSON_COMPACT) : NULL;
    snprintf(c->caller, sizeof c->caller, "%s", caller ? caller : "{}");
    free(caller);
    hub_random_token(token, 65);
    hub_sha256_hex(token, c->citizen_token);
    c->created_us = vg_wall_us();
}

/* Flags from the caller's history, the number, the place; raises their alerts. */
static void flag_and_alert(struct vg_hub *h, struct live_case *lc, const struct vg_req_alarm *r,
                           bool blocked)
{
    char place[64] = "";
    struct vg_case_row *c = &lc->row;
    bool repeat = lc->history.since_window + 1 >= h->cfg->repeat_count;
    bool key_person = vg_policy_key_person(h->policy, c->phone);
    bool key_place =
        r->has_fix && vg_policy_key_place(h->policy, r->fix.lon, r->fix.lat, place, sizeof place);
    if (!r->has_fix)
        add_flag(c->flags, sizeof c->flags, "no_location");
    else if (!vg_policy_in_service_area(h->policy, r->fix.lon, r->fix.lat))
        add_flag(c->flags, sizeof c->flags, "area_uncertain"); /* taken on its accuracy */
    if (repeat)
        add_flag(c->flags, sizeof c->flags, "repeat_caller");
    if (key_person)
        add_flag(c->flags, sizeof c->flags, "key_person");
    if (key_place)
        add_flag(c->flags, sizeof c->flags, "key_place");
    if (blocked)
        add_flag(c->flags, sizeof c->flags, "blocked");
    if (c->flags[0])
        vg_store_case_set_flags(h->store, c->id, c->flags);
    if (repeat)
        raise_alert(h, lc, "repeat_caller",
                    json_pack("{s:I, s:i}", "alarms_in_window",
                              (json_int_t)lc->history.since_window + 1, "window_min",
                              h->cfg->repeat_window_min));
    if (key_person)
        raise_alert(h, lc, "key_person", json_object());
    if (key_place)
        raise_alert(h, lc, "key_place", json_pack("{s:s}", "place", place));
    if (blocked)
        raise_alert(h, lc, "blocked_caller", json_object());
}

struct verify_ctx {
    struct vg_hub *hub;
    char case_id[VG_CASE_ID_MAX + 1];
};

static void to_case_staff(struct vg_hub *h, struct live_case *lc, json_t *msg,
                          const struct session *except);

static void verified(bool ok, void *ud)
{
    struct verify_ctx *v = ud;
    struct live_case *lc = live_get(v->hub, v->case_id);
    if (ok && lc && !strstr(lc->row.flags, "phone_verified")) {
        add_flag(lc->row.flags, sizeof lc->row.flags, "phone_verified");
        vg_store_case_set_flags(v->hub->store, lc->row.id, lc->row.flags);
        vg_store_case_event(v->hub->store, lc->row.id, vg_wall_us(), "phone_verified", NULL, NULL);
        evidence_note(lc, "phone_verified", NULL);
        vg_info(lc->row.id, NULL, "phone number verified");
        to_case_staff(v->hub, lc, json_pack("{s:s, s:o}", "type", "case_update", "case", card(lc)),
                      NULL);
        board_update(v->hub);
    }
    g_free(v);
}

/* Asks the configured command whether the caller's number is genuine. */
static void verify_phone(struct vg_hub *h, const struct live_case *lc)
{
    json_t *b = json_pack("{s:s, s:s}", "phone", lc->row.phone, "case_id", lc->row.id);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct verify_ctx *v = g_new0(struct verify_ctx, 1);
    v->hub = h;
    snprintf(v->case_id, sizeof v->case_id, "%s", lc->row.id);
    if (!body || !vg_hooks_check(h->cfg->phone_verify_command, body, verified, v))
        g_free(v);
    free(body);
}

/* The live case a try of the same alarm names (its client_ref, from the same phone). */
static struct live_case *same_alarm(struct vg_hub *h, const struct vg_req_alarm *r)
{
    if (!r->client_ref[0])
        return NULL;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct live_case *lc = v;
        if (strcmp(lc->client_ref, r->client_ref) == 0 && strcmp(lc->row.phone, r->phone) == 0)
            return lc;
    }
    return NULL;
}

/* A try of an alarm already started, whose answer the client did not get (a timeout,
 * or the connection dropped after sending it): the same case, bound to this
 * connection, answered as the first try was, not a second alarm. */
static void alarm_again(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                        struct live_case *lc)
{
    if (lc->citizen && lc->citizen != s)
        lc->citizen->case_id[0] = '\0'; /* the new connection replaces the old one */
    if (lc->citizen != s) {
        lc->citizen = s;
        s->role = R_CITIZEN;
        snprintf(s->case_id, sizeof s->case_id, "%s", lc->row.id);
        stop_timer(&lc->abandon_timer);
        evidence_note(lc, "participant",
                      json_pack("{s:s, s:s}", "action", "join", "who", "citizen"));
        vg_info(lc->row.id, NULL, "alarm_start tried again on a new connection: the same case");
    } else {
        vg_info(lc->row.id, NULL, "alarm_start tried again: the same case");
    }
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "alarm_started", "case_id", lc->row.id,
                        "token", lc->token, "state",
                        strcmp(lc->row.state, "answered") == 0 ? "answered" : "queued", "again",
                        1));
    announce_positions(h);
    board_update(h);
}

/* An alarm from a link stops ringing only at its maker: from now on it rings as any
 * alarm (offered to all if it still waits). */
static void unlink_case(struct vg_hub *h, struct live_case *lc, const char *why)
{
    if (!lc->link_by[0])
        return;
    bool waits = unclaimed(lc);
    if (waits)
        vg_info(lc->row.id, NULL, "from %s's link, %s: offered to all", lc->link_by, why);
    drop_link(lc);
    if (waits) {
        offer_case(h, lc);
        board_update(h);
    }
}

static gboolean link_ring_over(gpointer ud)
{
    struct live_case *lc = ud;
    lc->link_timer = 0;
    unlink_case(lc->hub, lc, "not answered within [links] ring_s");
    return G_SOURCE_REMOVE;
}

void cases_link_release(struct vg_hub *h, const char *account, const char *why)
{
    GHashTableIter it;
    gpointer k, v;
    GPtrArray *mine = g_ptr_array_new(); /* collected first: offers go out after the walk */
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (strcmp(((struct live_case *)v)->link_by, account) == 0)
            g_ptr_array_add(mine, v);
    for (guint n = 0; n < mine->len; n++)
        unlink_case(h, g_ptr_array_index(mine, n), why);
    g_ptr_array_free(mine, TRUE);
}

/* An alarm from a video link rings first at the console that sent it, if that
 * console is there and free to take it; otherwise at once as any alarm. A link not
 * known (used, expired, forgotten at a restart) changes nothing: the alarm is taken. */
static void linked(struct vg_hub *h, struct live_case *lc, const char *link)
{
    char by[VG_NAME_MAX + 1], phone[VG_PHONE_MAX + 1];
    if (!link[0])
        return;
    if (!links_take(h, link, by, sizeof by, phone, sizeof phone)) {
        vg_info(lc->row.id, NULL,
                "alarm from a link not known (used, expired, or before a restart): queued as "
                "any alarm");
        return;
    }
    /* A link forwarded to someone else still brings them: the evidence says so. */
    bool same = strcmp(phone, lc->row.phone) == 0;
    evidence_note(lc, "link",
                  json_pack("{s:s, s:s, s:b}", "by", by, "sent_to", phone, "same_phone", same));
    struct session *s = hub_staff_session(h, by);
    const char *busy = !s                               ? "they are not signed in"
                       : s->case_id[0]                  ? "they are on a case"
                       : !s->available || s->signed_out ? "they are away"
                       : !for_call_takers(lc) && s->role != R_SUPERVISOR
                           ? "a blocked caller's alarm is for supervisors"
                           : NULL;
    if (busy) {
        vg_info(lc->row.id, NULL, "alarm from %s's link: %s, so it rings as any alarm", by, busy);
        return;
    }
    snprintf(lc->link_by, sizeof lc->link_by, "%s", by);
    lc->link_timer = g_timeout_add_seconds((guint)h->cfg->link_ring_s, link_ring_over, lc);
    vg_info(lc->row.id, NULL, "alarm from %s's link: rings at their console for %d s", by,
            h->cfg->link_ring_s);
}

void case_alarm_start(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_alarm r;
    char why[200], token[65];
    bool blocked = false;
    if (vg_msg_alarm_start(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *again = same_alarm(h, &r);
    struct live_case *mine = live_get(h, s->case_id);
    if (again && (!mine || mine == again))
        return alarm_again(h, s, m, again);
    if (mine)
        return hub_error(s, m->id, "state", "this connection already has an open alarm");
    if (!alarm_allowed(h, s, m, &r, &blocked))
        return;
    struct vg_case_row c;
    new_case_row(&r, blocked, &c, token);
    json_t *ev = json_pack("{s:s, s:b}", "mode", c.mode, "location", r.has_fix);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int rc = vg_store_case_insert(h->store, &c, "citizen", evtext);
    free(evtext);
    if (rc)
        return hub_error(s, m->id, "internal", "the alarm could not be recorded: call 110");
    struct vg_fix_row f;
    if (r.has_fix) {
        fix_row(&r.fix, &f);
        vg_store_location_add(h->store, c.id, &f, NULL);
    }
    struct live_case *lc = live_add(h, &c);
    load_history(h, lc, true); /* cases before this one's creation: not itself */
    lc->citizen = s;
    if (r.client_ref[0]) {
        snprintf(lc->client_ref, sizeof lc->client_ref, "%s", r.client_ref);
        snprintf(lc->token, sizeof lc->token, "%s", token);
    }
    s->role = R_CITIZEN;
    snprintf(s->case_id, sizeof s->case_id, "%s", c.id);
    h->stats.alarms++;
    /* Recorded from the alarm on, before anyone answers. */
    evidence_case_start(h, lc);
    evidence_note(
        lc, "state",
        json_pack("{s:s, s:s, s:s}", "state", "queued", "mode", c.mode, "queue", c.queue));
    evidence_note(lc, "participant", json_pack("{s:s, s:s}", "action", "join", "who", "citizen"));
    if (r.has_fix)
        evidence_note(lc, "location", fix_json(&f, f.at_us));
    char phone[40];
    vg_info(c.id, NULL, "alarm %s from %s queued%s", c.mode,
            vg_log_phone(c.phone, phone, sizeof phone), r.has_fix ? "" : " without location");
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s, s:s}", "type", "alarm_started", "case_id", c.id, "token",
                        token, "state", "queued"));
    flag_and_alert(h, lc, &r, blocked);
    verify_phone(h, lc);
    arm_escalation(h, lc);
    linked(h, lc, r.link);
    offer_case(h, lc);
    announce_positions(h);
    board_update(h);
}

void case_resume(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char token[129], hash[65], why[200];
    struct vg_case_row row;
    if (vg_msg_token(m->body, token, sizeof token, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    hub_sha256_hex(token, hash);
    if (vg_store_case_by_token(h->store, hash, &row))
        return hub_error(s, m->id, "not_found", "no case for this token");
    /* One connection, one case: a connection that carries a live alarm and resumed
     * another would stay that alarm's citizen after it closed (a freed pointer). */
    struct live_case *mine = live_get(h, s->case_id);
    if (mine && mine->citizen == s && strcmp(mine->row.id, row.id) != 0)
        return hub_error(s, m->id, "state", "this connection already has an open alarm");
    struct live_case *lc = live_get(h, row.id);
    if (lc && lc->citizen && lc->citizen != s)
        lc->citizen->case_id[0] = '\0'; /* the new connection replaces the old one */
    s->role = R_CITIZEN;
    snprintf(s->case_id, sizeof s->case_id, "%s", row.id);
    if (!lc) {
        hub_reply(s, m,
                  json_pack("{s:s, s:s, s:s, s:o}", "type", "case_resumed", "case_id", row.id,
                            "state", row.state, "uploads", uploads_of_case(h, row.id)));
        return;
    }
    lc->citizen = s;
    stop_timer(&lc->abandon_timer);
    vg_info(row.id, NULL, "citizen reconnected");
    evidence_note(lc, "participant", json_pack("{s:s, s:s}", "action", "join", "who", "citizen"));
    json_int_t omitted = 0;
    json_t *chat = chat_tail(h, row.id, &omitted);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s, s:s?, s:o, s:I, s:o, s:o*}", "type", "case_resumed",
                        "case_id", row.id, "state", lc->row.state, "held_by",
                        lc->row.held_by[0] ? lc->row.held_by : NULL, "chat", chat, "chat_omitted",
                        omitted, "uploads", uploads_of_case(h, row.id), "help", units_help(lc)));
    cases_to_people(h, lc,
                    json_pack("{s:s, s:s, s:b}", "type", "citizen_connection", "case_id", row.id,
                              "connected", 1));
    if (unclaimed(lc) && waits_without_citizen(lc))
        citizen_presence_changed(h, lc); /* shown offline while it was away */
    announce_positions(h);
}

/* Sends msg to every staff session following the case: its holder, supervisors, and
 * (while it waits) every console it rings on. Takes msg; skips `except`. */
/* This connection is on the call: its holder's, or a party's (a specialist, a
 * monitoring or barged supervisor). Not on_case(), which is who may act on it. */
static bool in_call(const struct session *s, struct live_case *lc)
{
    return s == lc->holder || ((s->role & R_STAFF) && strcmp(s->case_id, lc->row.id) == 0 &&
                               team_party(lc, s->account));
}

static void to_case_staff(struct vg_hub *h, struct live_case *lc, json_t *msg,
                          const struct session *except)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (s != except && (in_call(s, lc) || s->role == R_SUPERVISOR || staff_sees(s, lc)))
            hub_send(s, json_incref(msg));
    }
    json_decref(msg);
}

void cases_to_staff(struct vg_hub *h, struct live_case *lc, json_t *msg,
                    const struct session *except)
{
    to_case_staff(h, lc, msg, except);
}

void cases_to_people(struct vg_hub *h, struct live_case *lc, json_t *msg)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (in_call(s, lc))
            hub_send(s, json_incref(msg));
    }
    json_decref(msg);
}

/* The first fix of an alarm that started without one: what alarm_start would have
 * checked. Outside the service area the case is not refused (it is under way): the
 * staff are told, and so is the citizen, that the ordinary line serves them. */
static void first_fix(struct vg_hub *h, struct live_case *lc, const struct vg_fix_row *f)
{
    char place[64] = "";
    bool outside = !vg_policy_in_service_area(h->policy, f->lon, f->lat) &&
                   !vg_policy_near_service_area(h->policy, f->lon, f->lat, f->accuracy);
    bool key_place = vg_policy_key_place(h->policy, f->lon, f->lat, place, sizeof place);
    if (!outside && !key_place)
        return;
    if (outside)
        add_flag(lc->row.flags, sizeof lc->row.flags, "outside_area");
    if (key_place && !strstr(lc->row.flags, "key_place"))
        add_flag(lc->row.flags, sizeof lc->row.flags, "key_place");
    vg_store_case_set_flags(h->store, lc->row.id, lc->row.flags);
    if (outside) {
        vg_warn(lc->row.id, NULL, "first location %.5f,%.5f: outside the service area", f->lat,
                f->lon);
        raise_alert(
            h, lc, "outside_area",
            json_pack("{s:f, s:f, s:f}", "lat", f->lat, "lon", f->lon, "accuracy", f->accuracy));
        hub_send(lc->citizen, json_pack("{s:s, s:s, s:s}", "type", "outside_area", "case_id",
                                        lc->row.id, "message", h->cfg->outside_area_message));
    }
    if (key_place)
        raise_alert(h, lc, "key_place", json_pack("{s:s}", "place", place));
    to_case_staff(h, lc, json_pack("{s:s, s:o}", "type", "case_update", "case", card(lc)), NULL);
    board_update(h);
}

void case_location(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = live_get(h, s->case_id);
    struct vg_fix fix;
    struct vg_fix_row f;
    char why[200];
    int64_t seq = 0;
    if (!lc)
        return hub_error(s, m->id, "state", "no open alarm on this connection");
    if (vg_msg_fix(m->body, &fix, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    fix_row(&fix, &f);
    if (vg_store_location_add(h->store, lc->row.id, &f, &seq))
        return hub_error(s, m->id, "internal", "the location could not be recorded");
    bool first = !lc->has_fix;
    lc->last_fix = f;
    lc->has_fix = true;
    if (first)
        first_fix(h, lc, &f);
    evidence_note(lc, "location", fix_json(&f, f.at_us));
    feed_location(h, lc);
    to_case_staff(h, lc,
                  json_pack("{s:s, s:s, s:I, s:o}", "type", "location", "case_id", lc->row.id,
                            "seq", (json_int_t)seq, "fix", fix_json(&f, f.at_us)),
                  NULL);
    if (m->id[0])
        hub_reply(s, m, json_pack("{s:s, s:I}", "type", "location", "seq", (json_int_t)seq));
}

static void citizen_ends(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                         struct live_case *lc);

/* Ends an answered case, or abandons a waiting one, at the citizen's request. */
void case_hangup(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = live_get(h, s->case_id);
    if (!lc)
        return hub_error(s, m->id, "state", "no open alarm on this connection");
    citizen_ends(h, s, m, lc);
}

/* The page went back while its alarm was still trying to go out (no connection, or
 * no answer): a try may have arrived all the same, and its case would wait for a
 * caller who is gone. Named by the alarm's secret client_ref and the phone, it ends as
 * a hang-up would; none found is no error (no try arrived). */
void case_alarm_cancel(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_alarm r;
    char why[200];
    if (vg_msg_alarm_cancel(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = same_alarm(h, &r);
    if (!lc)
        return hub_reply(s, m, json_pack("{s:s, s:b}", "type", "alarm_cancelled", "found", 0));
    /* one connection, one case: this one's own alarm is not left behind it */
    struct live_case *mine = live_get(h, s->case_id);
    if (mine && mine->citizen == s && mine != lc)
        return hub_error(s, m->id, "state", "this connection already has an open alarm");
    vg_info(lc->row.id, NULL, "the citizen's page cancelled an alarm it had no answer for");
    if (lc->citizen != s) { /* bound here for the hang-up, as a try again would be */
        if (lc->citizen)
            lc->citizen->case_id[0] = '\0'; /* a connection the page gave up on */
        lc->citizen = s;
        s->role = R_CITIZEN;
        snprintf(s->case_id, sizeof s->case_id, "%s", lc->row.id);
        stop_timer(&lc->abandon_timer);
    }
    citizen_ends(h, s, m, lc);
}

static void citizen_ends(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                         struct live_case *lc)
{
    int64_t now = vg_wall_us();
    if (unclaimed(lc) && strcmp(lc->row.mode, "report") == 0) {
        /* Closing the page of a report sent is not withdrawing it: it stays queued
         * for a call-taker; the connection is free for another alarm. */
        lc->citizen = NULL;
        s->case_id[0] = '\0';
        evidence_note(lc, "participant",
                      json_pack("{s:s, s:s}", "action", "leave", "who", "citizen"));
        vg_info(lc->row.id, NULL, "citizen closed the report's page; the report stays queued");
        hub_reply(s, m,
                  json_pack("{s:s, s:s, s:s}", "type", "ended", "case_id", lc->row.id, "state",
                            lc->row.state));
        return citizen_presence_changed(h, lc);
    }
    if (unclaimed(lc)) {
        if (vg_store_case_abandon(h->store, lc->row.id, now))
            return hub_error(s, m->id, "internal", "could not record the hang-up");
        vg_info(lc->row.id, NULL, "citizen cancelled while waiting");
        hub_reply(s, m,
                  json_pack("{s:s, s:s, s:s}", "type", "ended", "case_id", lc->row.id, "state",
                            "abandoned"));
        return close_waiting(h, lc, "abandoned");
    }
    if (vg_store_case_end(h->store, lc->row.id, "citizen", "citizen_hung_up", NULL, now,
                          "{\"reason\":\"citizen_hung_up\"}"))
        return hub_error(s, m->id, "internal", "could not record the hang-up");
    vg_info(lc->row.id, NULL, "citizen hung up");
    feed_event(h, lc, lc->row.id, "ended",
               json_pack("{s:s, s:s}", "by", "citizen", "reason", "citizen_hung_up"));
    evidence_note(lc, "state",
                  json_pack("{s:s, s:s, s:s}", "state", "ended", "by", "citizen", "reason",
                            "citizen_hung_up"));
    hub_reply(
        s, m,
        json_pack("{s:s, s:s, s:s}", "type", "ended", "case_id", lc->row.id, "state", "ended"));
    to_case_staff(h, lc,
                  json_pack("{s:s, s:s, s:s, s:s}", "type", "ended", "case_id", lc->row.id, "by",
                            "citizen", "reason", "citizen_hung_up"),
                  NULL);
    struct session *holder = lc->holder;
    live_remove(h, lc);
    board_update(h);
    if (holder)
        cases_staff_ready(h, holder);
}

void case_rate(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_rate r;
    char why[200];
    if (vg_msg_rate(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    if (strcmp(r.case_id, s->case_id) != 0)
        return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "not your case");
    int rc = vg_store_case_rate(h->store, r.case_id, r.stars, r.comment, vg_wall_us());
    if (rc)
        return hub_error(s, m->id, "state", "a case can be rated once, after it ended");
    hub_reply(s, m, json_pack("{s:s, s:s}", "type", "rated", "case_id", r.case_id));
}

/* Requests: both sides ---------------------------------------------------------------------- */

/* Is s a party to the live case: its citizen, its holder, or a supervisor? */
static bool on_case(const struct session *s, const struct live_case *lc)
{
    if (s->role == R_CITIZEN)
        return strcmp(s->case_id, lc->row.id) == 0;
    return s->role == R_SUPERVISOR ||
           (!unclaimed(lc) && (strcmp(lc->row.held_by, s->account) == 0 ||
                               (strcmp(s->case_id, lc->row.id) == 0 &&
                                team_party((struct live_case *)lc, s->account))));
}

static struct live_case *case_for(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                                  const char *id)
{
    struct live_case *lc = live_get(h, id);
    if (!lc) {
        hub_error(s, m->id, "not_found", "no open case %s", id);
        return NULL;
    }
    if (!on_case(s, lc)) {
        h->stats.forbidden++;
        vg_warn(id, NULL, "conn=%llu %s %s tried to act on a case that is not theirs",
                (unsigned long long)s->conn_id, hub_role_name(s->role), s->account);
        hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "not your case");
        return NULL;
    }
    return lc;
}

void case_chat(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_chat r;
    char why[200];
    int64_t seq, now = vg_wall_us();
    if (vg_msg_chat(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = case_for(h, s, m, r.case_id);
    if (!lc)
        return;
    const char *sender = s->role == R_CITIZEN ? "citizen" : s->account;
    if (vg_store_chat_add(h->store, r.case_id, now, hub_role_name(s->role), sender, r.text, &seq))
        return hub_error(s, m->id, "internal", "the message could not be recorded");
    evidence_note(lc, "chat",
                  json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)seq, "from",
                            hub_role_name(s->role), "sender", sender, "text", r.text));
    json_t *msg = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "type", "chat", "case_id",
                            r.case_id, "seq", (json_int_t)seq, "at", (json_int_t)(now / 1000),
                            "from", hub_role_name(s->role), "sender", sender, "text", r.text);
    if (s != lc->citizen)
        hub_send(lc->citizen, json_incref(msg));
    to_case_staff(h, lc, msg, s);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:I}", "type", "chat_sent", "case_id", r.case_id, "seq",
                        (json_int_t)seq));
}

/* What the citizen is typing, before it is sent (real-time text, as text calls to
 * emergency numbers have it, RFC 4103): a silent caller cut off mid-sentence ("he has
 * a kni") has still told the call-taker something. To the staff on the case and into
 * the evidence (what the call-taker saw), not into the chat. */
void case_chat_draft(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_chat r;
    char why[200];
    if (vg_msg_chat_draft(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = case_for(h, s, m, r.case_id);
    if (!lc)
        return;
    evidence_note(lc, "chat_draft", json_pack("{s:s}", "text", r.text));
    to_case_staff(h, lc,
                  json_pack("{s:s, s:s, s:s, s:I}", "type", "chat_draft", "case_id", r.case_id,
                            "text", r.text, "at", (json_int_t)(vg_wall_us() / 1000)),
                  s);
    if (m->id[0])
        hub_reply(s, m, json_pack("{s:s}", "type", "chat_draft_ok"));
}

void case_receipt(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_receipt r;
    char why[200];
    if (vg_msg_receipt(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = case_for(h, s, m, r.case_id);
    if (!lc)
        return;
    const char *status = r.read ? "read" : "delivered";
    if (vg_store_chat_mark(h->store, r.case_id, r.seq, status, vg_wall_us()))
        return hub_error(s, m->id, "not_found", "no message %lld in this case", (long long)r.seq);
    json_t *msg =
        json_pack("{s:s, s:s, s:I, s:s, s:s}", "type", "chat_receipt", "case_id", r.case_id, "seq",
                  (json_int_t)r.seq, "status", status, "by", hub_role_name(s->role));
    if (s != lc->citizen)
        hub_send(lc->citizen, json_incref(msg));
    to_case_staff(h, lc, msg, s);
    if (m->id[0])
        hub_reply(s, m, json_pack("{s:s}", "type", "chat_receipt_ok"));
}

/* Notes: what the staff on a case write down for the record (an address said aloud,
 * the unit sent, what to watch for), kept with the case, shown to everyone on it,
 * recorded, and shown with the case in the caller's later alarms (load_history()).
 * For NOTE_AFTER_END_H after the case closed its last holder or a supervisor may
 * still add one (the unit's report comes later): it joins the sealed recording as a
 * late outcome does. Not for ever: each is a new signed segment of a recording that
 * reviewers may have taken as final. At most NOTES_MAX a case, each a chat
 * message's length. */
#define NOTES_MAX 100
#define NOTE_AFTER_END_H 24

static bool may_note_closed(struct vg_hub *h, const struct session *s, const char *id,
                            struct vg_case_row *row)
{
    return vg_store_case_get(h->store, id, row) == VG_OK && row->ended_us &&
           vg_wall_us() - row->ended_us <= NOTE_AFTER_END_H * 3600LL * 1000000 &&
           (s->role == R_SUPERVISOR || strcmp(row->held_by, s->account) == 0);
}

void case_note(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_chat r; /* the same shape: a case and a text of 1 to VG_CHAT_MAX bytes */
    char why[200];
    if (vg_msg_chat(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = live_get(h, r.case_id);
    if (lc && !case_for(h, s, m, r.case_id))
        return;
    struct vg_case_row row;
    if (!lc && !may_note_closed(h, s, r.case_id, &row))
        return hub_error(s, m->id, "not_found",
                         "no case %s you may write a note on (open, or closed within %d h)",
                         r.case_id, NOTE_AFTER_END_H);
    int64_t now = vg_wall_us();
    json_t *ev = json_pack("{s:s}", "text", r.text);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int rc = vg_store_note_add(h->store, r.case_id, s->account, now, evtext, NOTES_MAX);
    free(evtext);
    if (rc == VG_ENOSPC)
        return hub_error(s, m->id, "limit", "case %s has %d notes, the most it keeps", r.case_id,
                         NOTES_MAX);
    if (rc)
        return hub_error(s, m->id, "internal", "the note could not be recorded");
    vg_info(r.case_id, NULL, "note by %s %s%s", hub_role_name(s->role), s->account,
            lc ? "" : " after the case ended");
    /* text, then by: as the reconcile after a crash writes it from the store */
    json_t *e = json_pack("{s:s, s:s}", "text", r.text, "by", s->account);
    if (lc)
        evidence_note(lc, "note", e);
    else
        evidence_after_end(h, r.case_id, "note", e, "note added after the case ended", now);
    json_t *note = note_json(now, s->account, r.text);
    if (lc ? lc->row.answered_us : row.answered_us) /* a case the dispatch system has */
        feed_event(h, lc, r.case_id, "note", json_pack("{s:O}", "note", note));
    if (lc)
        to_case_staff(
            h, lc, json_pack("{s:s, s:s, s:O}", "type", "note", "case_id", r.case_id, "note", note),
            s);
    hub_reply(
        s, m,
        json_pack("{s:s, s:s, s:o}", "type", "note_added", "case_id", r.case_id, "note", note));
}

/* Requests: staff ------------------------------------------------------------------------------ */

void case_claim(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char id[VG_CASE_ID_MAX + 1], why[200];
    if (vg_msg_case_id(m->body, id, sizeof id, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = live_get(h, id);
    if (!lc)
        return hub_error(s, m->id, "not_found", "no open case %s", id);
    /* A supervisor only listening in on another case may answer: they leave it. */
    bool monitoring = s->case_id[0] && strcmp(s->case_id, id) != 0 && team_monitoring(h, s);
    if (s->case_id[0] && !monitoring)
        return hub_error(s, m->id, "busy", "end case %s before taking another", s->case_id);
    if (s->role == R_CALL_TAKER && !for_call_takers(lc))
        return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN,
                         "this case is for supervisors until it waits past escalate_after_s");
    int64_t now = vg_wall_us();
    int rc = vg_store_case_claim(h->store, id, s->account, now);
    if (rc == VG_ESTATE)
        return hub_error(s, m->id, "already_taken", "case %s was taken by %s", id,
                         lc->row.held_by[0] ? lc->row.held_by : "someone else");
    if (rc)
        return hub_error(s, m->id, "internal", "the claim could not be recorded");
    if (monitoring)
        team_stop_monitoring(h, s);
    snprintf(lc->row.state, sizeof lc->row.state, "answered");
    snprintf(lc->row.held_by, sizeof lc->row.held_by, "%s", s->account);
    if (!lc->row.answered_us) /* the first answer's time stays, should it come back */
        lc->row.answered_us = now;
    lc->holder = s;
    snprintf(s->case_id, sizeof s->case_id, "%s", id);
    evidence_note(lc, "state", json_pack("{s:s, s:s}", "state", "answered", "by", s->account));
    evidence_note(lc, "participant",
                  json_pack("{s:s, s:s, s:s}", "action", "join", "who", s->account, "role",
                            hub_role_name(s->role)));
    stop_timer(&lc->escalate_timer);
    stop_timer(&lc->abandon_timer);
    drop_link(lc);
    feed_event(h, lc, id, "answered", NULL);
    h->stats.claims++;
    vg_info(id, NULL, "answered by %s %s after %lld s", hub_role_name(s->role), s->account,
            (long long)((now - lc->row.created_us) / 1000000));
    hub_reply(s, m, full_case(h, "claimed", lc));
    hub_send(lc->citizen,
             json_pack("{s:s, s:s, s:s}", "type", "answered", "case_id", id, "by", s->account));
    media_sync(h, lc);
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *o = g_ptr_array_index(h->sessions, i);
        if ((o->role & R_STAFF) && o != s)
            hub_send(
                o, json_pack("{s:s, s:s, s:s}", "type", "taken", "case_id", id, "by", s->account));
    }
    announce_positions(h);
    board_update(h);
    cases_link_release(h, s->account, "its maker took another case");
}

/* `end` for a case the citizen already ended (hung up): its holder gives the outcome
 * afterwards, once. The outcome goes to the case's row and its event history, and
 * joins its recording, which closed with the case (evidence_after_end()). */
static void case_give_disposition(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                                  const struct vg_req_end *r)
{
    json_t *ev = json_pack("{s:s}", "disposition", r->disposition);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int64_t now = vg_wall_us(); /* the store's and the recording's time: one fact */
    int rc = vg_store_case_set_disposition(h->store, r->case_id, s->account, r->disposition, now,
                                           evtext);
    free(evtext);
    if (rc == VG_ENOENT || rc == VG_ESTATE)
        return hub_error(s, m->id, "not_found",
                         "no open case %s, nor one you held that ended without an outcome",
                         r->case_id);
    if (rc)
        return hub_error(s, m->id, "internal", "the outcome could not be recorded");
    vg_info(r->case_id, NULL, "outcome given by %s after the citizen ended it: %s", s->account,
            r->disposition);
    evidence_after_end(h, r->case_id, "disposition",
                       json_pack("{s:s, s:s}", "disposition", r->disposition, "by", s->account),
                       "outcome given after the case ended", now);
    feed_event(h, NULL, r->case_id, "outcome",
               json_pack("{s:s, s:s}", "disposition", r->disposition, "by", s->account));
    hub_reply(
        s, m,
        json_pack("{s:s, s:s, s:s}", "type", "ended", "case_id", r->case_id, "state", "ended"));
}

void case_end(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_end r;
    char why[200];
    if (vg_msg_end(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    if (!live_get(h, r.case_id))
        return case_give_disposition(h, s, m, &r);
    struct live_case *lc = case_for(h, s, m, r.case_id);
    if (!lc)
        return;
    if (s->role != R_SUPERVISOR && lc->holder != s)
        return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN,
                         "only the holder or a supervisor ends a case (a specialist leaves it)");
    json_t *ev = json_pack("{s:s, s:s}", "reason", "ended_by_staff", "disposition", r.disposition);
    char *evtext = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int rc = vg_store_case_end(h->store, r.case_id, s->account, "ended_by_staff", r.disposition,
                               vg_wall_us(), evtext);
    free(evtext);
    if (rc)
        return hub_error(s, m->id, "internal", "the end could not be recorded");
    vg_info(r.case_id, NULL, "ended by %s %s: %s", hub_role_name(s->role), s->account,
            r.disposition);
    if (lc->row.answered_us)
        feed_event(h, lc, r.case_id, "ended",
                   json_pack("{s:s, s:s, s:s}", "by", s->account, "reason", "ended_by_staff",
                             "disposition", r.disposition));
    evidence_note(lc, "state",
                  json_pack("{s:s, s:s, s:s}", "state", "ended", "by", s->account, "disposition",
                            r.disposition));
    hub_send(lc->citizen, json_pack("{s:s, s:s, s:s, s:s}", "type", "ended", "case_id", r.case_id,
                                    "by", "staff", "reason", "ended_by_staff"));
    hub_reply(
        s, m,
        json_pack("{s:s, s:s, s:s}", "type", "ended", "case_id", r.case_id, "state", "ended"));
    to_case_staff(h, lc,
                  json_pack("{s:s, s:s, s:s, s:s}", "type", "ended", "case_id", r.case_id, "by",
                            s->account, "reason", "ended_by_staff"),
                  s);
    bool waited = unclaimed(lc);
    struct session *holder = lc->holder;
    live_remove(h, lc);
    if (waited)
        announce_positions(h);
    board_update(h);
    if (holder)
        cases_staff_ready(h, holder);
}

void case_get(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char id[VG_CASE_ID_MAX + 1], why[200];
    if (vg_msg_case_id(m->body, id, sizeof id, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct live_case *lc = live_get(h, id), tmp;
    if (lc && !on_case(s, lc) && !staff_sees(s, lc))
        return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "not your case");
    if (lc)
        return hub_reply(s, m, full_case(h, "case", lc));
    /* A closed case: supervisors may read it back, and so may the one who held it
     * last (a console back from a drop learns how it ended, and whether its outcome
     * is still to be given). */
    memset(&tmp, 0, sizeof tmp);
    if (vg_store_case_get(h->store, id, &tmp.row) ||
        (s->role != R_SUPERVISOR && strcmp(tmp.row.held_by, s->account) != 0 &&
         !vg_store_case_event_by(h->store, id, "requeued", s->account)))
        return hub_error(s, m->id, "not_found", "no case %s you may see", id);
    json_t *r = closed_case(h, "case", &tmp);
    hub_reply(s, m, r);
}

/* Looking cases up (supervisors): by number and time, the latest first, each as a
 * line of a list (case_get then reads one whole). Logged, with the number masked. */
struct search_ctx {
    json_t *list;
    int64_t limit;
    bool more; /* a row past the limit came */
};

static int add_found(const struct vg_case_row *r, void *ud)
{
    struct search_ctx *x = ud;
    if ((int64_t)json_array_size(x->list) >= x->limit) {
        x->more = true;
        return 1;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "case_id", r->id, "mode", r->mode,
                          "state", r->state, "phone", r->phone, "created_at",
                          (json_int_t)(r->created_us / 1000), "flags", flags_json(r->flags));
    if (r->held_by[0])
        json_object_set_new(o, "held_by", json_string(r->held_by));
    if (r->ended_us) {
        json_object_set_new(o, "ended_at", json_integer(r->ended_us / 1000));
        json_object_set_new(o, "end_reason", json_string(r->end_reason));
    }
    if (r->disposition[0])
        json_object_set_new(o, "disposition", json_string(r->disposition));
    if (r->rating)
        json_object_set_new(o, "rating", json_integer(r->rating));
    json_array_append_new(x->list, o);
    return 0;
}

void case_search(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_search r;
    char why[200], phone[40];
    if (vg_msg_case_search(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct search_ctx x = {.list = json_array(), .limit = r.limit};
    int rc = vg_store_case_search(h->store, r.phone[0] ? r.phone : NULL, r.from_ms * 1000,
                                  r.to_ms * 1000, (int)r.limit + 1, add_found, &x);
    if (rc) {
        json_decref(x.list);
        return hub_error(s, m->id, "internal", "the cases could not be read");
    }
    vg_info(NULL, NULL, "case search by %s: number %s, created %lld..%lld ms, %zu found%s",
            s->account, r.phone[0] ? vg_log_phone(r.phone, phone, sizeof phone) : "any",
            (long long)r.from_ms, (long long)r.to_ms, json_array_size(x.list),
            x.more ? " and more" : "");
    hub_reply(s, m,
              json_pack("{s:s, s:o, s:b}", "type", "cases_found", "cases", x.list, "more", x.more));
}

void case_block(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_block r;
    char why[200], phone[40];
    if (vg_msg_block(m->body, &r, false, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    int64_t now = vg_wall_us(), until = now + r.expires_in_s * 1000000;
    if (vg_store_block_add(h->store, r.phone, r.reason, s->account, now, until))
        return hub_error(s, m->id, "internal", "the block could not be recorded");
    vg_warn(NULL, NULL, "caller %s blocked by %s %s until %lld: %s",
            vg_log_phone(r.phone, phone, sizeof phone), hub_role_name(s->role), s->account,
            (long long)(until / 1000000), r.reason);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:I}", "type", "blocked", "phone", r.phone, "expires_at",
                        (json_int_t)(until / 1000)));
    /* A block keeps a caller from the normal queue for up to 400 days: supervisors
     * see each one made, and can lift it (blocks, unblock). */
    hub_to_staff(h, R_SUPERVISOR,
                 json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "block_changed", "action",
                           "blocked", "phone", r.phone, "by", s->account, "reason", r.reason,
                           "expires_at", (json_int_t)(until / 1000)));
}

void case_unblock(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_block r;
    char why[200], phone[40];
    if (vg_msg_block(m->body, &r, true, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    int rc = vg_store_block_lift(h->store, r.phone, s->account, r.reason, vg_wall_us());
    if (rc == VG_ENOENT)
        return hub_error(s, m->id, "not_found", "%s is not blocked", r.phone);
    if (rc)
        return hub_error(s, m->id, "internal", "the unblock could not be recorded");
    vg_warn(NULL, NULL, "caller %s unblocked by %s %s: %s",
            vg_log_phone(r.phone, phone, sizeof phone), hub_role_name(s->role), s->account,
            r.reason);
    hub_reply(s, m, json_pack("{s:s, s:s}", "type", "unblocked", "phone", r.phone));
    hub_to_staff(h, R_SUPERVISOR,
                 json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "block_changed", "action",
                           "unblocked", "phone", r.phone, "by", s->account, "reason", r.reason));
}

static int add_block(const struct vg_block_row *b, void *ud)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:I, s:I}", "phone", b->phone, "reason",
                                        b->reason, "by", b->created_by, "at",
                                        (json_int_t)(b->created_us / 1000), "expires_at",
                                        (json_int_t)(b->expires_us / 1000)));
    return 0;
}

/* The blocks in force, newest first (at most 500), for the supervisors' list. */
void case_blocks(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    json_t *list = json_array();
    if (vg_store_block_list(h->store, vg_wall_us(), 500, add_block, list)) {
        json_decref(list);
        return hub_error(s, m->id, "internal", "the blocks could not be read");
    }
    hub_reply(s, m, json_pack("{s:s, s:o}", "type", "blocks", "blocks", list));
}

void case_board(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    hub_reply(s, m, board_json(h));
}

/* Uploads -------------------------------------------------------------------------------------- */

/* The citizen's connection on a case, live or (within the upload window) closed. */
static struct session *citizen_of(struct vg_hub *h, const char *case_id)
{
    struct live_case *lc = live_get(h, case_id);
    if (lc)
        return lc->citizen;
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (s->role == R_CITIZEN && strcmp(s->case_id, case_id) == 0)
            return s;
    }
    return NULL;
}

void cases_upload_done(struct vg_hub *h, const char *case_id, json_t *upload)
{
    struct vg_case_row row;
    struct live_case *lc = live_get(h, case_id);
    if (!lc && vg_store_case_get(h->store, case_id, &row) != VG_OK)
        row.held_by[0] = '\0';
    const char *held_by = lc ? lc->row.held_by : row.held_by;
    hub_send(citizen_of(h, case_id),
             json_pack("{s:s, s:s, s:O, s:O, s:O, s:O, s:O}", "type", "upload_received", "case_id",
                       case_id, "upload_id", json_object_get(upload, "upload_id"), "name",
                       json_object_get(upload, "name"), "content_type",
                       json_object_get(upload, "type"), "size", json_object_get(upload, "size"),
                       "sha256", json_object_get(upload, "sha256")));
    json_t *msg =
        json_pack("{s:s, s:s, s:o}", "type", "upload", "case_id", case_id, "upload", upload);
    evidence_upload(h, lc, case_id, upload);
    if (lc)
        return to_case_staff(h, lc, msg, NULL); /* holder, parties, supervisors */
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        bool holder = (s->role & (R_CALL_TAKER | R_SPECIALIST)) && held_by[0] &&
                      strcmp(s->account, held_by) == 0;
        if (s->role == R_SUPERVISOR || holder)
            hub_send(s, json_incref(msg));
    }
    json_decref(msg);
}
