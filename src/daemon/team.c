/* Teamwork on a live case: the holder invites a specialist (by account or by
 * group), who joins the call or takes the case over; a supervisor listens unheard
 * (monitor) or takes part (barge).
 *
 * People on a case: the holder (lc->holder, the case row's held_by) and parties
 * (lc->parties: specialists, monitoring or barged supervisors). Every change of
 * people is a case event with its time and the accounts involved, is told to
 * everyone on the case as "participants", and ends with media_sync(), which
 * brings the legs in line (media.c). The citizen is told nothing of invitations:
 * a declined or unanswered one changes nothing they can notice.
 *
 * One invitation per case at a time. Blind: whoever accepts becomes the holder
 * and the inviting call-taker leaves at once. Otherwise the specialist joins; the
 * holder may then "transfer" to them (attended) and leave. A holder who got the
 * case by a transfer may "hand_back": a blind invitation of the one before. */
#include "hub_internal.h"

#include "log.h"
#include "team_store.h"
#include "vg_err.h"
#include "vtime.h"

#include <string.h>

static const char *party_role_name(enum party_role r)
{
    switch (r) {
    case P_SPECIALIST: return "specialist";
    case P_MONITOR: return "monitor";
    case P_BARGED: return "barged";
    }
    return "?";
}

struct party *team_party(struct live_case *lc, const char *account)
{
    for (unsigned i = 0; i < lc->n_parties; i++)
        if (strcmp(lc->parties[i].account, account) == 0)
            return &lc->parties[i];
    return NULL;
}

json_t *team_parties_json(const struct live_case *lc)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < lc->n_parties; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "account", lc->parties[i].account,
                                           "role", party_role_name(lc->parties[i].role),
                                           "connected", lc->parties[i].s != NULL));
    return a;
}

/* Records a case event with data built from a JSON object (taken). */
static void event(struct vg_hub *h, struct live_case *lc, const char *kind, const char *actor,
                  json_t *data)
{
    json_object_set_new(data, "at", json_integer(vg_wall_us() / 1000));
    char *text = json_dumps(data, JSON_COMPACT);
    vg_store_case_event(h->store, lc->row.id, vg_wall_us(), kind, actor, text);
    free(text);
    json_object_set_new(data, "actor", actor ? json_string(actor) : json_null());
    evidence_note(lc, kind, data); /* the recording's event log has them too */
}

/* Tells everyone on the case who is on it now, and brings the media in line. */
static void people_changed(struct vg_hub *h, struct live_case *lc)
{
    cases_to_staff(h, lc,
                   json_pack("{s:s, s:s, s:s?, s:o}", "type", "participants", "case_id", lc->row.id,
                             "held_by", lc->row.held_by[0] ? lc->row.held_by : NULL, "parties",
                             team_parties_json(lc)),
                   NULL);
    media_sync(h, lc);
    cases_board_update(h);
}

static void add_party(struct vg_hub *h, struct live_case *lc, struct session *s,
                      enum party_role role, const char *invite_id)
{
    if (lc->n_parties >= MAX_PARTIES) { /* every caller checks; never past the array */
        vg_error(lc->row.id, NULL, "%s %s not added: the case has %d parties",
                 hub_role_name(s->role), s->account, MAX_PARTIES);
        return;
    }
    struct party *p = &lc->parties[lc->n_parties++];
    snprintf(p->account, sizeof p->account, "%s", s->account);
    p->role = role;
    p->s = s;
    p->gone_us = 0;
    snprintf(s->case_id, sizeof s->case_id, "%s", lc->row.id);
    event(h, lc,
          role == P_MONITOR  ? "monitor"
          : role == P_BARGED ? "barge"
                             : "join",
          s->account,
          json_pack("{s:s, s:s, s:s?}", "account", s->account, "role", party_role_name(role),
                    "invite_id", invite_id));
    vg_info(lc->row.id, NULL, "%s %s joined as %s", hub_role_name(s->role), s->account,
            party_role_name(role));
}

/* Takes *p out of lc->parties (keeping the others' order); returns what it was. */
static struct party remove_party(struct live_case *lc, struct party *p)
{
    struct party was = *p;
    memmove(p, p + 1, (size_t)(&lc->parties[lc->n_parties] - (p + 1)) * sizeof *p);
    lc->n_parties--;
    return was;
}

/* Takes a party off the case; their session (if any) is free again. */
static void drop_party(struct vg_hub *h, struct live_case *lc, struct party *party,
                       const char *reason)
{
    struct party p = remove_party(lc, party);
    event(h, lc, "leave", p.account,
          json_pack("{s:s, s:s, s:s}", "account", p.account, "role", party_role_name(p.role),
                    "reason", reason));
    vg_info(lc->row.id, NULL, "%s left (%s, %s)", p.account, party_role_name(p.role), reason);
    if (p.s && strcmp(p.s->case_id, lc->row.id) == 0) {
        p.s->case_id[0] = '\0';
    }
}

/* Invitations ------------------------------------------------------------------------ */

static void invite_free(struct invite *iv)
{
    if (iv->timer)
        g_source_remove(iv->timer);
    iv->lc->invite = NULL;
    g_free(iv);
}

static void tell_rung(struct vg_hub *h, struct invite *iv, const char *except, const char *reason)
{
    for (unsigned i = 0; i < iv->n_rung; i++)
        if (!except || strcmp(iv->rung[i], except) != 0)
            hub_send(hub_staff_session(h, iv->rung[i]),
                     json_pack("{s:s, s:s, s:s, s:s}", "type", "invite_cancelled", "invite_id",
                               iv->id, "case_id", iv->lc->row.id, "reason", reason));
}

/* Nobody will come: the holder is told at once; the citizen notices nothing. */
static void invite_failed(struct vg_hub *h, struct invite *iv, const char *reason, const char *by)
{
    struct live_case *lc = iv->lc;
    event(h, lc, "invite_declined", by,
          json_pack("{s:s, s:s, s:s, s:s?}", "invite_id", iv->id, "target", iv->target, "reason",
                    reason, "by", by));
    vg_info(lc->row.id, NULL, "invitation %s of %s %s: %s", iv->id, iv->group ? "group" : "",
            iv->target, reason);
    hub_send(lc->holder, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "type", "invite_declined",
                                   "invite_id", iv->id, "case_id", lc->row.id, "target", iv->target,
                                   "reason", reason, "by", by));
    invite_free(iv);
}

static gboolean invite_timeout_cb(gpointer ud)
{
    struct invite *iv = ud;
    struct vg_hub *h = iv->lc->hub;
    iv->timer = 0;
    tell_rung(h, iv, NULL, "timeout");
    invite_failed(h, iv, "timeout", NULL);
    return G_SOURCE_REMOVE;
}

static struct invite *find_invite(struct vg_hub *h, const char *id)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct live_case *lc = v;
        if (lc->invite && strcmp(lc->invite->id, id) == 0)
            return lc->invite;
    }
    return NULL;
}

/* May this console be rung for an invitation? Free, available staff only. */
static bool can_ring(const struct session *s, const struct live_case *lc)
{
    return (s->role & R_STAFF) && s->available && !s->case_id[0] && s != lc->holder &&
           !team_party((struct live_case *)lc, s->account);
}

struct member_ctx {
    struct vg_hub *hub;
    struct invite *iv;
};

static int ring_member(const char *group, const char *account, void *ud)
{
    (void)group;
    struct member_ctx *c = ud;
    struct session *s = hub_staff_session(c->hub, account);
    if (s && can_ring(s, c->iv->lc) && c->iv->n_rung < MAX_RUNG)
        snprintf(c->iv->rung[c->iv->n_rung++], VG_NAME_MAX + 1, "%s", account);
    return 0;
}

static void ring_one(struct vg_hub *h, struct invite *iv, struct session *s)
{
    struct live_case *lc = iv->lc;
    json_t *msg = cases_full(h, "invited", lc);
    json_object_set_new(msg, "invite_id", json_string(iv->id));
    json_object_set_new(msg, "from", json_string(iv->from));
    json_object_set_new(msg, "transfer", json_boolean(iv->blind));
    json_object_set_new(msg, "running_s",
                        json_integer((vg_wall_us() - lc->row.created_us) / 1000000));
    hub_send(s, msg);
}

static void ring(struct vg_hub *h, struct invite *iv)
{
    for (unsigned i = 0; i < iv->n_rung; i++)
        ring_one(h, iv, hub_staff_session(h, iv->rung[i]));
}

/* Starts an invitation from the holder s; replies invite_sent, or invite_declined
 * at once when nobody can be rung. */
static void start_invite(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                         struct live_case *lc, const char *target, bool group, bool blind)
{
    struct invite *iv = g_new0(struct invite, 1);
    char hex[65];
    hub_random_token(hex, sizeof hex);
    snprintf(iv->id, sizeof iv->id, "i-%.12s", hex);
    iv->lc = lc;
    iv->group = group;
    iv->blind = blind;
    snprintf(iv->from, sizeof iv->from, "%s", s->account);
    snprintf(iv->target, sizeof iv->target, "%s", target);
    struct member_ctx c = {h, iv};
    if (group) {
        if (vg_store_group_members(h->store, target, ring_member, &c) == VG_ENOENT) {
            g_free(iv);
            return hub_error(s, m->id, "not_found", "no group %s", target);
        }
    } else {
        ring_member(NULL, target, &c);
    }
    lc->invite = iv;
    event(h, lc, "invite", s->account,
          json_pack("{s:s, s:s, s:b, s:b, s:i}", "invite_id", iv->id, "target", target, "group",
                    group, "transfer", blind, "rung", (int)iv->n_rung));
    json_t *rung = json_array();
    for (unsigned i = 0; i < iv->n_rung; i++)
        json_array_append_new(rung, json_string(iv->rung[i]));
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s, s:o}", "type", "invite_sent", "invite_id", iv->id,
                        "case_id", lc->row.id, "rung", rung));
    if (!iv->n_rung)
        return invite_failed(h, iv, "unavailable", NULL);
    vg_info(lc->row.id, NULL, "%s invites %s%s (%s), %u rung", s->account, group ? "group " : "",
            target, blind ? "blind transfer" : "to join", iv->n_rung);
    iv->timer = g_timeout_add_seconds((guint)h->cfg->invite_timeout_s, invite_timeout_cb, iv);
    ring(h, iv);
}

/* A name field: 1..64 bytes, or absent (NULL). */
static bool name_field(const struct vg_proto_msg *m, const char *key, const char **out)
{
    json_t *v = json_object_get(m->body, key);
    *out = json_string_value(v);
    return !v || (json_is_string(v) && *out[0] && strlen(*out) <= VG_NAME_MAX);
}

/* The live case s holds, named by the request's case_id. */
static struct live_case *held(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char id[VG_CASE_ID_MAX + 1], why[200];
    if (vg_msg_case_id(m->body, id, sizeof id, why, sizeof why)) {
        hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
        return NULL;
    }
    struct live_case *lc = cases_live(h, id);
    if (!lc || lc->holder != s) {
        h->stats.forbidden++;
        vg_warn(id, NULL, "%s %s: only the holder of a live case may do that",
                hub_role_name(s->role), s->account);
        hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "only the holder of a live case may do that");
        return NULL;
    }
    return lc;
}

void team_invite(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    const char *account, *group;
    json_t *tr = json_object_get(m->body, "transfer");
    if (!name_field(m, "account", &account) || !name_field(m, "group", &group) ||
        !account == !group || (tr && !json_is_boolean(tr)))
        return hub_error(s, m->id, VG_PROTO_E_INVALID,
                         "give \"account\" or \"group\" (1 to 64 bytes), and \"transfer\" "
                         "true or false");
    struct live_case *lc = held(h, s, m);
    if (!lc)
        return;
    if (lc->invite)
        return hub_error(s, m->id, "busy", "invitation %s is still ringing", lc->invite->id);
    if (account && (strcmp(account, s->account) == 0 || team_party(lc, account)))
        return hub_error(s, m->id, "state", "%s is already on the case", account);
    if (lc->n_parties >= MAX_PARTIES)
        return hub_error(s, m->id, "busy", "the case has %d parties already", MAX_PARTIES);
    start_invite(h, s, m, lc, account ? account : group, group != NULL, json_is_true(tr));
}

void team_invite_cancel(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = held(h, s, m);
    if (!lc)
        return;
    if (!lc->invite)
        return hub_error(s, m->id, "not_found", "no invitation is ringing");
    struct invite *iv = lc->invite;
    tell_rung(h, iv, NULL, "cancelled");
    event(h, lc, "invite_cancelled", s->account, json_pack("{s:s}", "invite_id", iv->id));
    hub_reply(s, m, json_pack("{s:s, s:s}", "type", "invite_cancelled", "invite_id", iv->id));
    invite_free(iv);
}

/* An invitation still ringing when the case changes hands was the old holder's: the
 * new holder did not ask for it (accepted, a blind one would take the case from
 * them). It stops, the rung and the old holder are told, and it is a case event. */
static void drop_invite(struct vg_hub *h, struct live_case *lc, struct session *told,
                        const char *reason)
{
    struct invite *iv = lc->invite;
    if (!iv)
        return;
    tell_rung(h, iv, NULL, reason);
    event(h, lc, "invite_cancelled", NULL,
          json_pack("{s:s, s:s}", "invite_id", iv->id, "reason", reason));
    hub_send(told, json_pack("{s:s, s:s, s:s, s:s}", "type", "invite_cancelled", "invite_id",
                             iv->id, "case_id", lc->row.id, "reason", reason));
    invite_free(iv);
}

/* The invitation the request names, if s was rung for it. */
static struct invite *rung_invite(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                                  unsigned *idx)
{
    const char *id = json_string_value(json_object_get(m->body, "invite_id"));
    struct invite *iv = id ? find_invite(h, id) : NULL;
    for (unsigned i = 0; iv && i < iv->n_rung; i++)
        if (strcmp(iv->rung[i], s->account) == 0) {
            *idx = i;
            return iv;
        }
    hub_error(s, m->id, "not_found", "no invitation %s is ringing for you", id ? id : "");
    return NULL;
}

/* The holder leaves; `to` (on the case or just accepting) becomes the holder. */
static int move_case(struct vg_hub *h, struct live_case *lc, struct session *to, const char *how)
{
    struct session *from = lc->holder;
    char from_name[VG_NAME_MAX + 1];
    snprintf(from_name, sizeof from_name, "%s", lc->row.held_by);
    json_t *d = json_pack("{s:s, s:s, s:s, s:I}", "from", from_name, "to", to->account, "kind", how,
                          "at", (json_int_t)(vg_wall_us() / 1000));
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    int rc =
        vg_store_case_transfer(h->store, lc->row.id, from_name, to->account, vg_wall_us(), text);
    free(text);
    if (rc)
        return rc;
    drop_invite(h, lc, from, "transferred");
    evidence_note(lc, "transfer",
                  json_pack("{s:s, s:s, s:s}", "from", from_name, "to", to->account, "kind", how));
    struct party *p = team_party(lc, to->account);
    if (p) /* a specialist in the call becomes its holder: no longer a party */
        remove_party(lc, p);
    snprintf(lc->prev_holder, sizeof lc->prev_holder, "%s", from_name);
    snprintf(lc->row.held_by, sizeof lc->row.held_by, "%s", to->account);
    lc->holder = to;
    snprintf(to->case_id, sizeof to->case_id, "%s", lc->row.id);
    vg_info(lc->row.id, NULL, "transferred (%s) from %s to %s", how, from_name, to->account);
    feed_event(h, lc, lc->row.id, "transferred",
               json_pack("{s:s, s:s}", "from", from_name, "kind", how));
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "transferred", "case_id",
                            lc->row.id, "from", from_name, "to", to->account, "kind", how);
    if (from) {
        hub_send(from, json_incref(msg));
        from->case_id[0] = '\0';
    }
    cases_to_staff(h, lc, msg, from);
    people_changed(h, lc);
    if (from)
        cases_staff_ready(h, from); /* free for the queue again */
    return 0;
}

void team_invite_accept(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    unsigned idx;
    struct invite *iv = rung_invite(h, s, m, &idx);
    if (!iv)
        return;
    struct live_case *lc = iv->lc;
    if (s->case_id[0])
        return hub_error(s, m->id, "busy", "end case %s before joining another", s->case_id);
    if (iv->blind && !lc->holder)
        return hub_error(s, m->id, "state", "the call-taker is away; try again");
    /* the invite counted the parties when it rang; a monitor may have come since */
    if (!iv->blind && lc->n_parties >= MAX_PARTIES)
        return hub_error(s, m->id, "busy", "the case has %d parties already; try again",
                         MAX_PARTIES);
    tell_rung(h, iv, s->account, "taken");
    char id[sizeof iv->id];
    snprintf(id, sizeof id, "%s", iv->id);
    bool blind = iv->blind;
    hub_send(lc->holder, json_pack("{s:s, s:s, s:s, s:s}", "type", "invite_accepted", "invite_id",
                                   id, "case_id", lc->row.id, "by", s->account));
    invite_free(iv);
    if (blind) {
        if (move_case(h, lc, s, "blind"))
            return hub_error(s, m->id, "internal", "the transfer could not be recorded");
        json_t *r = cases_full(h, "joined", lc);
        json_object_set_new(r, "role", json_string("holder"));
        return hub_reply(s, m, r);
    }
    add_party(h, lc, s, P_SPECIALIST, id);
    json_t *r = cases_full(h, "joined", lc);
    json_object_set_new(r, "role", json_string("specialist"));
    hub_reply(s, m, r);
    people_changed(h, lc);
}

void team_invite_decline(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    unsigned idx;
    struct invite *iv = rung_invite(h, s, m, &idx);
    if (!iv)
        return;
    hub_reply(s, m, json_pack("{s:s, s:s}", "type", "invite_declined_ok", "invite_id", iv->id));
    memmove(iv->rung[idx], iv->rung[idx + 1], (iv->n_rung - idx - 1) * sizeof iv->rung[0]);
    iv->n_rung--;
    event(iv->lc->hub, iv->lc, "invite_declined_by", s->account,
          json_pack("{s:s, s:s}", "invite_id", iv->id, "by", s->account));
    if (!iv->n_rung)
        invite_failed(h, iv, "declined", s->account);
}

/* Transfers --------------------------------------------------------------------------- */

void team_transfer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    const char *to;
    if (!name_field(m, "to", &to) || !to)
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "\"to\" must name a specialist on the case");
    struct live_case *lc = held(h, s, m);
    if (!lc)
        return;
    struct party *p = team_party(lc, to);
    if (!p || p->role == P_MONITOR || !p->s)
        return hub_error(s, m->id, "state", "%s is not taking part in the call", to);
    if (move_case(h, lc, p->s, "attended"))
        return hub_error(s, m->id, "internal", "the transfer could not be recorded");
    if (m->id[0])
        hub_reply(s, m,
                  json_pack("{s:s, s:s, s:s}", "type", "transfer_ok", "case_id", lc->row.id, "to",
                            lc->row.held_by));
}

void team_hand_back(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = held(h, s, m);
    if (!lc)
        return;
    if (!lc->prev_holder[0])
        return hub_error(s, m->id, "state", "this case was not transferred to you");
    if (lc->invite)
        return hub_error(s, m->id, "busy", "invitation %s is still ringing", lc->invite->id);
    char prev[VG_NAME_MAX + 1];
    snprintf(prev, sizeof prev, "%s", lc->prev_holder);
    start_invite(h, s, m, lc, prev, false, true);
}

/* Leaving, monitor, barge ------------------------------------------------------------- */

void team_leave(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = cases_live(h, s->case_id);
    struct party *p = lc ? team_party(lc, s->account) : NULL;
    if (!p || p->s != s)
        return hub_error(s, m->id, "state", "you are not taking part in a case%s",
                         lc && lc->holder == s ? " (the holder transfers or ends it)" : "");
    drop_party(h, lc, p, "left");
    hub_reply(s, m, json_pack("{s:s, s:s}", "type", "left", "case_id", lc->row.id));
    people_changed(h, lc);
    cases_staff_ready(h, s);
}

bool team_monitoring(struct vg_hub *h, struct session *s)
{
    struct live_case *lc = cases_live(h, s->case_id);
    struct party *p = lc ? team_party(lc, s->account) : NULL;
    return p && p->s == s && p->role == P_MONITOR;
}

/* A monitoring supervisor answers an alarm (the console rings them for escalated
 * ones while they listen in): they leave the monitored case first, told so. */
void team_stop_monitoring(struct vg_hub *h, struct session *s)
{
    struct live_case *lc = cases_live(h, s->case_id);
    struct party *p = lc ? team_party(lc, s->account) : NULL;
    if (!p || p->s != s || p->role != P_MONITOR)
        return;
    drop_party(h, lc, p, "answering");
    hub_send(s, json_pack("{s:s, s:s}", "type", "left", "case_id", lc->row.id));
    people_changed(h, lc);
}

static struct live_case *supervised(struct vg_hub *h, struct session *s,
                                    const struct vg_proto_msg *m)
{
    char id[VG_CASE_ID_MAX + 1], why[200];
    if (vg_msg_case_id(m->body, id, sizeof id, why, sizeof why)) {
        hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
        return NULL;
    }
    struct live_case *lc = cases_live(h, id);
    if (!lc || !cases_answered(lc)) {
        hub_error(s, m->id, "not_found", "no answered live case %s", id);
        return NULL;
    }
    if (lc->holder == s) {
        hub_error(s, m->id, "state", "you hold case %s", id);
        return NULL;
    }
    if (s->case_id[0] && strcmp(s->case_id, id) != 0) {
        hub_error(s, m->id, "busy", "leave case %s first", s->case_id);
        return NULL;
    }
    return lc;
}

/* A supervisor listens to a live case unheard: they receive everyone, and nobody
 * receives anything from them. Logged as a case event. */
void team_monitor(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = supervised(h, s, m);
    if (!lc)
        return;
    if (team_party(lc, s->account))
        return hub_error(s, m->id, "state", "you are on case %s already", lc->row.id);
    if (lc->n_parties >= MAX_PARTIES)
        return hub_error(s, m->id, "busy", "the case has %d parties already", MAX_PARTIES);
    add_party(h, lc, s, P_MONITOR, NULL);
    json_t *r = cases_full(h, "monitoring", lc);
    hub_reply(s, m, r);
    people_changed(h, lc);
}

/* A supervisor joins the call (from monitoring or directly): heard and seen by all. */
void team_barge(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct live_case *lc = supervised(h, s, m);
    if (!lc)
        return;
    struct party *p = team_party(lc, s->account);
    if (p && p->role == P_BARGED)
        return hub_error(s, m->id, "state", "you are in the call already");
    if (!p && lc->n_parties >= MAX_PARTIES)
        return hub_error(s, m->id, "busy", "the case has %d parties already", MAX_PARTIES);
    if (p) {
        p->role = P_BARGED;
        event(h, lc, "barge", s->account,
              json_pack("{s:s, s:s}", "account", s->account, "from", "monitor"));
        vg_info(lc->row.id, NULL, "supervisor %s barged in", s->account);
    } else {
        add_party(h, lc, s, P_BARGED, NULL);
    }
    hub_reply(s, m, cases_full(h, "barged", lc));
    people_changed(h, lc);
}

/* A specialist or barged supervisor whose console went keeps their place for
 * [queue] holder_grace_s, as a holder does, and is then taken off the case: else
 * they would be pulled back into it at their next login, maybe hours on, and the
 * holder could not ring anyone else in their place. */
static gboolean party_timer_cb(gpointer ud);

static void arm_party_timer(struct vg_hub *h, struct live_case *lc)
{
    int64_t first = 0;
    for (unsigned i = 0; i < lc->n_parties; i++)
        if (!lc->parties[i].s && (!first || lc->parties[i].gone_us < first))
            first = lc->parties[i].gone_us;
    if (lc->party_timer)
        g_source_remove(lc->party_timer);
    lc->party_timer = 0;
    if (!first)
        return;
    int64_t due_ms = (first + (int64_t)h->cfg->holder_grace_s * 1000000 - vg_now_us()) / 1000;
    lc->party_timer = g_timeout_add(due_ms > 0 ? (guint)due_ms + 1 : 0, party_timer_cb, lc);
}

static gboolean party_timer_cb(gpointer ud)
{
    struct live_case *lc = ud;
    struct vg_hub *h = lc->hub;
    lc->party_timer = 0;
    int64_t cut = vg_now_us() - (int64_t)h->cfg->holder_grace_s * 1000000;
    bool dropped = false;
    for (unsigned i = lc->n_parties; i-- > 0;) { /* from the end: a drop moves the rest */
        struct party *p = &lc->parties[i];
        if (!p->s && p->gone_us <= cut) {
            vg_warn(lc->row.id, NULL, "%s's console did not come back within %d s: off the case",
                    p->account, h->cfg->holder_grace_s);
            drop_party(h, lc, p, "connection_lost");
            dropped = true;
        }
    }
    arm_party_timer(h, lc);
    if (dropped)
        people_changed(h, lc);
    return G_SOURCE_REMOVE;
}

/* Hooks from cases.c ------------------------------------------------------------------ */

void team_case_closed(struct vg_hub *h, struct live_case *lc)
{
    if (lc->invite) {
        tell_rung(h, lc->invite, NULL, "case_ended");
        invite_free(lc->invite);
    }
    for (unsigned i = 0; i < lc->n_parties; i++) {
        struct session *s = lc->parties[i].s;
        if (s && strcmp(s->case_id, lc->row.id) == 0) {
            s->case_id[0] = '\0';
        }
    }
    lc->n_parties = 0;
    arm_party_timer(h, lc); /* nobody away: stopped */
}

/* Who on the call takes over from a holder who is gone: a specialist (brought in for
 * this case), else a supervisor who barged in (already talking with the citizen);
 * never a monitor, whom the citizen has not heard and who did not choose to be. */
static struct session *successor(const struct live_case *lc)
{
    static const enum party_role order[] = {P_SPECIALIST, P_BARGED};
    for (unsigned k = 0; k < sizeof order / sizeof order[0]; k++)
        for (unsigned i = 0; i < lc->n_parties; i++)
            if (lc->parties[i].role == order[k] && lc->parties[i].s)
                return lc->parties[i].s;
    return NULL;
}

bool team_holder_lost(struct vg_hub *h, struct live_case *lc)
{
    drop_invite(h, lc, NULL, "holder_lost"); /* the holder who rang it is gone */
    struct session *to = successor(lc);
    if (to && move_case(h, lc, to, "holder_lost") == 0) {
        lc->prev_holder[0] = '\0'; /* nobody to hand it back to */
        return true;
    }
    return false;
}

void team_requeued(struct vg_hub *h, struct live_case *lc)
{
    struct session *freed[MAX_PARTIES];
    unsigned n = 0;
    while (lc->n_parties) {
        struct session *s = lc->parties[0].s;
        drop_party(h, lc, &lc->parties[0], "requeued");
        if (s) {
            hub_send(s, json_pack("{s:s, s:s}", "type", "requeued", "case_id", lc->row.id));
            freed[n++] = s;
        }
    }
    arm_party_timer(h, lc);          /* nobody away: stopped */
    for (unsigned i = 0; i < n; i++) /* free for the queue again */
        cases_staff_ready(h, freed[i]);
}

/* At start: who was on a live case besides its holder, from its events (join and
 * barge add, leave and a transfer to them remove, a requeue clears; a monitor
 * leaves when their connection does, so none is kept). Each is away until their
 * console logs in again within holder_grace_s (team_staff_ready), as after a drop. */
static int restore_event(const char *kind, const char *actor, const char *data, void *ud)
{
    struct live_case *lc = ud;
    json_t *d = json_loads(data, 0, NULL);
    const char *who =
        json_string_value(json_object_get(d, strcmp(kind, "transfer") ? "account" : "to"));
    if (!who || !*who)
        who = actor;
    struct party *p = who ? team_party(lc, who) : NULL;
    bool adds = strcmp(kind, "join") == 0 || strcmp(kind, "barge") == 0;
    if (strcmp(kind, "transfer") == 0) {
        /* who may be handed it back, as move_case() and team_holder_lost() left it */
        const char *from = json_string_value(json_object_get(d, "from"));
        const char *how = json_string_value(json_object_get(d, "kind"));
        snprintf(lc->prev_holder, sizeof lc->prev_holder, "%s",
                 from && strlen(from) <= VG_NAME_MAX && !(how && !strcmp(how, "holder_lost")) ? from
                                                                                              : "");
    }
    if (strcmp(kind, "requeued") == 0) {
        lc->n_parties = 0;
        lc->prev_holder[0] = '\0';
    } else if (adds && who && *who && strlen(who) <= VG_NAME_MAX) {
        if (!p && lc->n_parties < MAX_PARTIES) {
            p = &lc->parties[lc->n_parties++];
            memset(p, 0, sizeof *p);
            snprintf(p->account, sizeof p->account, "%s", who);
        }
        if (p)
            p->role = strcmp(kind, "join") == 0 ? P_SPECIALIST : P_BARGED;
    } else if (!adds && p) {
        remove_party(lc, p);
    }
    json_decref(d);
    return 0;
}

void team_restore(struct vg_hub *h, struct live_case *lc)
{
    /* An invitation that rang when vigild stopped is not rung again: its end is
     * recorded, as any other's. */
    char open_id[64];
    if (vg_store_case_open_invite(h->store, lc->row.id, open_id, sizeof open_id) == VG_OK) {
        event(h, lc, "invite_cancelled", NULL,
              json_pack("{s:s, s:s}", "invite_id", open_id, "reason", "restart"));
        vg_info(lc->row.id, NULL, "invitation %s ended by the restart", open_id);
    }
    vg_store_case_team_events(h->store, lc->row.id, restore_event, lc);
    if (team_party(lc, lc->row.held_by)) /* the holder is never a party of their own case */
        remove_party(lc, team_party(lc, lc->row.held_by));
    int64_t now = vg_now_us();
    for (unsigned i = 0; i < lc->n_parties; i++) {
        lc->parties[i].s = NULL;
        lc->parties[i].gone_us = now;
    }
    if (lc->n_parties) {
        vg_info(lc->row.id, NULL, "%u on the case besides its holder: their places kept for %d s",
                lc->n_parties, h->cfg->holder_grace_s);
        arm_party_timer(h, lc);
    }
}

void team_session_closed(struct vg_hub *h, struct live_case *lc, struct session *s)
{
    struct party *p = team_party(lc, s->account);
    if (!p || p->s != s)
        return;
    if (p->role == P_MONITOR) { /* a monitor who drops is gone: they can start again */
        drop_party(h, lc, p, "connection_lost");
    } else {
        p->s = NULL; /* kept for the grace time; back by then, they get it again */
        p->gone_us = vg_now_us();
        arm_party_timer(h, lc);
        vg_info(lc->row.id, NULL, "%s connection lost; their place on the case is kept for %d s",
                s->account, h->cfg->holder_grace_s);
    }
    people_changed(h, lc);
}

void team_staff_ready(struct vg_hub *h, struct session *s)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->cases);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct live_case *lc = v;
        /* An invitation still ringing for them: a console back from a drop (which
         * forgets what rang before) rings again. */
        for (unsigned i = 0; lc->invite && i < lc->invite->n_rung; i++)
            if (strcmp(lc->invite->rung[i], s->account) == 0)
                ring_one(h, lc->invite, s);
        struct party *p = team_party(lc, s->account);
        if (p && !p->s && !s->case_id[0]) {
            p->s = s;
            p->gone_us = 0;
            arm_party_timer(h, lc);
            snprintf(s->case_id, sizeof s->case_id, "%s", lc->row.id);
            json_t *r = cases_full(h, "joined", lc);
            json_object_set_new(r, "role", json_string(party_role_name(p->role)));
            hub_send(s, r);
            people_changed(h, lc);
        }
    }
}
