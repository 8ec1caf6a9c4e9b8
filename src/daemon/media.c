/* Media for cases: which legs a case has, who may negotiate them, and the bridge.
 *
 * The citizen's leg starts at the citizen's offer, right after alarm_start (early
 * media: the stream exists, and can be recorded, while the case waits). When a
 * call-taker holds the case the gateway offers a leg to their console and
 * connects the two: citizen -> call-taker always; call-taker -> citizen as the
 * mode allows. A silent alarm's citizen leg never carries audio from the gateway:
 * its SDP answer says recvonly for audio and the engine forwards nothing to it
 * (engine.h, send_kinds); on top of that, nothing is connected towards the citizen
 * at all in that mode, so the page stays silent and innocuous. */
#include "hub_internal.h"

#include "log.h"
#include "vg_err.h"

#include <string.h>

/* What the gateway may send to the citizen, by mode. */
static unsigned to_citizen(const struct live_case *lc)
{
    if (strcmp(lc->row.mode, "video") == 0)
        return VG_MEDIA_AUDIO | VG_MEDIA_VIDEO;
    if (strcmp(lc->row.mode, "voice") == 0)
        return VG_MEDIA_AUDIO;
    return 0; /* silent: nothing, ever; report: no live media */
}

/* What the citizen sends, so what the call-taker's console receives. */
static unsigned from_citizen(const struct live_case *lc)
{
    return strcmp(lc->row.mode, "voice") == 0 ? VG_MEDIA_AUDIO : VG_MEDIA_AUDIO | VG_MEDIA_VIDEO;
}

/* What staff send each other and receive: a voice alarm stays audio only. */
static unsigned staff_kinds(const struct live_case *lc)
{
    return from_citizen(lc);
}

static struct leg_ref *add_ref(struct vg_hub *h, uint64_t id, const struct live_case *lc,
                               const char *account, const char *peer, unsigned kinds, bool recv)
{
    struct leg_ref *r = g_new0(struct leg_ref, 1);
    r->id = id;
    snprintf(r->case_id, sizeof r->case_id, "%s", lc->row.id);
    r->citizen = account == NULL;
    snprintf(r->account, sizeof r->account, "%s", account ? account : "");
    snprintf(r->peer, sizeof r->peer, "%s", peer ? peer : "");
    r->kinds = kinds;
    r->recv = recv;
    g_hash_table_insert(h->legs, &r->id, r);
    if (recv) /* only legs that bring media in have anything to record */
        evidence_tap_leg(h, (struct live_case *)lc, id);
    return r;
}

static void close_leg(struct vg_hub *h, uint64_t *id)
{
    if (!*id)
        return;
    vg_media_leg_close(h->media, *id);
    g_hash_table_remove(h->legs, id);
    *id = 0;
}

/* The staff session of an account on the case (holder or party), or NULL. */
static struct session *staff_on_case(struct live_case *lc, const char *account)
{
    if (lc->holder && strcmp(lc->holder->account, account) == 0)
        return lc->holder;
    struct party *p = team_party(lc, account);
    return p ? p->s : NULL;
}

/* The session a leg's messages go to, or NULL while that party is away. */
static struct session *party(struct vg_hub *h, const struct leg_ref *r, struct live_case **lcp)
{
    struct live_case *lc = cases_live(h, r->case_id);
    *lcp = lc;
    if (!lc)
        return NULL;
    return r->citizen ? lc->citizen : staff_on_case(lc, r->account);
}

/* A media message for a leg: case_id, and peer for an extra leg. */
static json_t *leg_msg(const struct leg_ref *r, const char *type)
{
    json_t *o = json_pack("{s:s, s:s}", "type", type, "case_id", r ? r->case_id : "");
    if (r && r->peer[0])
        json_object_set_new(o, "peer", json_string(r->peer));
    return o;
}

/* Engine events (on the main loop) ------------------------------------------------- */

static void on_sdp(uint64_t leg, const char *type, const char *sdp, void *ud)
{
    struct vg_hub *h = ud;
    struct leg_ref *r = g_hash_table_lookup(h->legs, &leg);
    struct live_case *lc = NULL;
    struct session *s = r ? party(h, r, &lc) : NULL;
    if (r) /* the recording's player needs the leg's payload types */
        evidence_leg_sdp(lc, leg, r->citizen ? "citizen" : r->account, sdp);
    json_t *msg = leg_msg(r, strcmp(type, "offer") == 0 ? "media_offer" : "media_answer");
    json_object_set_new(msg, "sdp", json_string(sdp));
    hub_send(s, msg);
}

static void on_candidate(uint64_t leg, const char *line, void *ud)
{
    struct vg_hub *h = ud;
    struct leg_ref *r = g_hash_table_lookup(h->legs, &leg);
    struct live_case *lc;
    struct session *s = r ? party(h, r, &lc) : NULL;
    json_t *msg = leg_msg(r, "ice");
    json_object_set_new(msg, "candidate", json_string(line));
    hub_send(s, msg);
}

static void on_state(uint64_t leg, enum vg_leg_state st, const char *detail, void *ud)
{
    struct vg_hub *h = ud;
    struct leg_ref *r = g_hash_table_lookup(h->legs, &leg);
    if (!r || st == VG_LEG_CLOSED)
        return;
    struct live_case *lc;
    struct session *s = party(h, r, &lc);
    const char *who = r->citizen ? "citizen" : r->account;
    char data[300];
    snprintf(data, sizeof data, "{\"party\":\"%s\",\"peer\":\"%s\",\"state\":\"%s\"}",
             r->citizen ? "citizen" : "staff", r->peer, vg_leg_state_name(st));
    vg_store_case_event(h->store, r->case_id, g_get_real_time(), "media", who, data);
    evidence_note(lc, "media",
                  json_pack("{s:s, s:s, s:s, s:s}", "who", who, "peer", r->peer, "state",
                            vg_leg_state_name(st), "detail", detail));
    json_t *msg = leg_msg(r, "media_state");
    json_object_set_new(msg, "state", json_string(vg_leg_state_name(st)));
    json_object_set_new(msg, "detail", json_string(detail));
    hub_send(s, msg);
    if (r->peer[0])
        return;
    if (lc && r->citizen) /* everyone on the call sees the citizen's media state */
        cases_to_people(h, lc,
                        json_pack("{s:s, s:s, s:s, s:s}", "type", "media_state", "case_id",
                                  r->case_id, "party", "citizen", "state", vg_leg_state_name(st)));
}

/* Start and stop ------------------------------------------------------------------------ */

int media_start(struct vg_hub *h, char *err, size_t n)
{
    const struct vg_config *c = h->cfg;
    char addrs[600];
    snprintf(addrs, sizeof addrs, "%s",
             c->media_addresses[0] ? c->media_addresses
             : (strcmp(c->listen_addr, "0.0.0.0") && strcmp(c->listen_addr, "::")) ? c->listen_addr
                                                                                   : "");
    gchar **list = g_strsplit(addrs, ",", -1);
    size_t count = 0;
    for (size_t i = 0; list[i]; i++)
        if (*g_strstrip(list[i]))
            list[count++] = list[i];
    list[count] = NULL;
    struct vg_media_config mc = {(const char *const *)list,
                                 count,
                                 c->stun_server[0] ? c->stun_server : NULL,
                                 c->turn_server[0] ? c->turn_server : NULL,
                                 c->turn_username[0] ? c->turn_username : NULL,
                                 c->turn_password[0] ? c->turn_password : NULL,
                                 (unsigned)c->media_workers,
                                 c->media_nack != 0,
                                 (unsigned)c->media_simulate_loss_permille};
    if (c->media_simulate_loss_permille)
        vg_warn(NULL, NULL,
                "media: simulating %d per mille RTP loss each way ([media] "
                "simulate_loss_permille): for drills and tests only",
                c->media_simulate_loss_permille);
    struct vg_media_events ev = {on_sdp, on_candidate, on_state};
    int rc = vg_media_new(&mc, &ev, h, NULL, &h->media);
    g_strfreev(list);
    if (rc)
        snprintf(err, n, "the media engine did not start");
    return rc;
}

void media_stop(struct vg_hub *h)
{
    vg_media_free(h->media);
    h->media = NULL;
}

/* Requests ------------------------------------------------------------------------------ */

static struct leg_ref *find_leg(struct vg_hub *h, const struct live_case *lc, bool citizen,
                                const char *account, const char *peer)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->legs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct leg_ref *r = v;
        if (r->citizen == citizen && strcmp(r->case_id, lc->row.id) == 0 &&
            (citizen || strcmp(r->account, account) == 0) && strcmp(r->peer, peer) == 0)
            return r;
    }
    return NULL;
}

/* The case and the leg a media request is about: the sender's main leg, or with
 * "peer" the extra leg bringing that person's media. *leg is NULL-free: it points
 * at 0 when the leg does not exist (yet). */
static struct live_case *media_case(struct vg_hub *h, struct session *s,
                                    const struct vg_proto_msg *m, uint64_t **leg)
{
    static uint64_t none;
    const char *id =
        s->role == R_CITIZEN ? s->case_id : json_string_value(json_object_get(m->body, "case_id"));
    json_t *pj = json_object_get(m->body, "peer");
    const char *peer = json_is_string(pj) ? json_string_value(pj) : "";
    struct live_case *lc = id ? cases_live(h, id) : NULL;
    if (!lc) {
        hub_error(s, m->id, "not_found", "no open case for media");
        return NULL;
    }
    if (pj && (!json_is_string(pj) || strlen(peer) > VG_NAME_MAX)) {
        hub_error(s, m->id, VG_PROTO_E_INVALID, "\"peer\" must be an account name");
        return NULL;
    }
    if (s->role != R_CITIZEN && staff_on_case(lc, s->account) != s) {
        hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "media only for a case you are on");
        return NULL;
    }
    if (s->role == R_CITIZEN && !peer[0]) {
        *leg = &lc->citizen_leg;
        return lc;
    }
    struct leg_ref *r = find_leg(h, lc, s->role == R_CITIZEN, s->account, peer);
    none = 0;
    *leg = r ? &r->id : &none;
    return lc;
}

static const char *sdp_field(struct session *s, const struct vg_proto_msg *m)
{
    json_t *v = json_object_get(m->body, "sdp");
    if (!json_is_string(v) || json_string_length(v) < 10 || json_string_length(v) > 65536) {
        hub_error(s, m->id, VG_PROTO_E_INVALID, "\"sdp\" must be SDP text (10 to 65536 bytes)");
        return NULL;
    }
    return json_string_value(v);
}

void media_offer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    uint64_t *leg;
    struct live_case *lc = media_case(h, s, m, &leg);
    const char *sdp = lc ? sdp_field(s, m) : NULL;
    if (!sdp)
        return;
    if (strcmp(lc->row.mode, "report") == 0)
        return hub_error(s, m->id, "state", "a report has no live media");
    if (*leg) {
        vg_media_leg_reoffer(h->media, *leg, sdp); /* ICE restart, or a new connection */
    } else if (s->role == R_CITIZEN && leg == &lc->citizen_leg) {
        *leg = vg_media_leg_from_offer(h->media, lc->row.id, "citizen", sdp, to_citizen(lc));
        add_ref(h, *leg, lc, NULL, NULL, from_citizen(lc), true);
        vg_info(lc->row.id, "citizen", "media: citizen leg %llu started (%s)",
                (unsigned long long)*leg, lc->row.mode);
        media_sync(h, lc);
    } else {
        return hub_error(s, m->id, "state", "the gateway makes the offer to consoles");
    }
    if (m->id[0])
        hub_reply(s, m, json_pack("{s:s, s:s}", "type", "media_offer_ok", "case_id", lc->row.id));
}

void media_answer(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    uint64_t *leg;
    struct live_case *lc = media_case(h, s, m, &leg);
    const char *sdp = lc ? sdp_field(s, m) : NULL;
    if (!sdp)
        return;
    if (!*leg)
        return hub_error(s, m->id, "state", "no media offer is waiting for an answer");
    vg_media_leg_answer(h->media, *leg, sdp);
    if (m->id[0])
        hub_reply(s, m, json_pack("{s:s, s:s}", "type", "media_answer_ok", "case_id", lc->row.id));
}

void media_ice(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    uint64_t *leg;
    struct live_case *lc = media_case(h, s, m, &leg);
    if (!lc)
        return;
    json_t *c = json_object_get(m->body, "candidate");
    if (!json_is_string(c) || json_string_length(c) > 512)
        return hub_error(s, m->id, VG_PROTO_E_INVALID,
                         "\"candidate\" must be a candidate line (\"\" for the end)");
    if (!*leg)
        return hub_error(s, m->id, "state", "no media leg for this candidate");
    vg_media_leg_candidate(h->media, *leg, json_string_value(c));
}

/* The bridge ------------------------------------------------------------------------------ */

struct want {
    bool citizen;
    const char *account, *peer;
    unsigned kinds;
    bool recv;
    uint64_t src;
};

/* Makes sure the wanted leg exists (and is connected to its source); marks it. */
static struct leg_ref *ensure_leg(struct vg_hub *h, struct live_case *lc, const struct want *w)
{
    struct leg_ref *r = find_leg(h, lc, w->citizen, w->account, w->peer);
    if (r && !w->peer[0] && r->recv != w->recv) {
        uint64_t id = r->id; /* a monitor who barges: their console now sends too */
        close_leg(h, &id);
        r = NULL;
    }
    if (!r) {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", w->citizen ? "citizen" : w->account,
                 w->peer[0] ? "<-" : "", w->peer);
        uint64_t id = vg_media_leg_offer(h->media, lc->row.id, name, w->kinds, w->recv);
        r = add_ref(h, id, lc, w->citizen ? NULL : w->account, w->peer, w->kinds, w->recv);
        if (w->src)
            vg_media_connect(h->media, w->src, id, w->kinds);
        vg_info(lc->row.id, NULL, "media: leg %llu for %s", (unsigned long long)id, name);
    }
    r->mark = true;
    return r;
}

/* Who sends media to the others: the holder, specialists, a supervisor who barged. */
static bool sends(const struct party *p)
{
    return p->role != P_MONITOR;
}

/* The connected staff on the case: [0] the holder (may be absent). */
static unsigned staff_list(struct live_case *lc, struct session **who, bool *snd)
{
    unsigned n = 0;
    if (lc->holder) {
        who[n] = lc->holder;
        snd[n++] = true;
    }
    for (unsigned i = 0; i < lc->n_parties; i++)
        if (lc->parties[i].s) {
            who[n] = lc->parties[i].s;
            snd[n++] = sends(&lc->parties[i]);
        }
    return n;
}

/* Marks (wants) every staff leg an answered case needs, and points the citizen's leg
 * at its holder's. */
static void want_staff_legs(struct vg_hub *h, struct live_case *lc)
{
    struct session *who[1 + MAX_PARTIES];
    bool snd[1 + MAX_PARTIES];
    uint64_t main_of[1 + MAX_PARTIES] = {0};
    unsigned n = staff_list(lc, who, snd), sk = staff_kinds(lc);
    for (unsigned i = 0; i < n; i++) { /* everyone's main leg brings the citizen */
        struct want w = {false, who[i]->account, "", from_citizen(lc), snd[i], lc->citizen_leg};
        main_of[i] = ensure_leg(h, lc, &w)->id;
    }
    uint64_t primary = lc->holder ? main_of[0] : 0;
    if (primary != lc->citizen_src && primary && to_citizen(lc)) {
        /* The citizen's one leg now brings the (new) holder: the same stream goes on. */
        vg_media_connect(h->media, primary, lc->citizen_leg, to_citizen(lc));
        vg_info(lc->row.id, NULL, "media: the citizen now hears %s", lc->holder->account);
    }
    lc->citizen_src = primary;
    for (unsigned j = 0; j < n; j++) {
        if (!snd[j])
            continue;
        if (to_citizen(lc) && main_of[j] != primary) {
            struct want w = {true, NULL, who[j]->account, to_citizen(lc), false, main_of[j]};
            ensure_leg(h, lc, &w);
        }
        for (unsigned i = 0; i < n; i++)
            if (i != j) {
                struct want w = {false, who[i]->account, who[j]->account, sk, false, main_of[j]};
                ensure_leg(h, lc, &w);
            }
    }
}

void media_sync(struct vg_hub *h, struct live_case *lc)
{
    if (!lc->citizen_leg)
        return;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->legs);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (strcmp(((struct leg_ref *)v)->case_id, lc->row.id) == 0)
            ((struct leg_ref *)v)->mark = ((struct leg_ref *)v)->id == lc->citizen_leg;
    /* Waiting (early media, or back in the queue): the citizen's leg alone, recorded,
     * until someone answers. */
    if (cases_answered(lc))
        want_staff_legs(h, lc);
    else
        lc->citizen_src = 0;
    g_hash_table_iter_init(&it, h->legs); /* whatever is no longer wanted goes */
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct leg_ref *r = v;
        if (strcmp(r->case_id, lc->row.id) == 0 && !r->mark) {
            vg_info(lc->row.id, NULL, "media: leg %llu (%s%s%s) closed", (unsigned long long)r->id,
                    r->citizen ? "citizen" : r->account, r->peer[0] ? "<-" : "", r->peer);
            struct live_case *owner_case;
            json_t *msg = leg_msg(r, "media_state"); /* the page closes its side */
            json_object_set_new(msg, "state", json_string("closed"));
            hub_send(party(h, r, &owner_case), msg);
            vg_media_leg_close(h->media, r->id);
            g_hash_table_iter_remove(&it);
        }
    }
}

void media_case_closed(struct vg_hub *h, struct live_case *lc)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h->legs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct leg_ref *r = v;
        if (strcmp(r->case_id, lc->row.id) == 0) {
            vg_media_leg_close(h->media, r->id);
            g_hash_table_iter_remove(&it);
        }
    }
    lc->citizen_leg = lc->citizen_src = 0;
}

/* The holder's console stops (or resumes) receiving audio and/or video, e.g. to
 * save a weak link: {"case_id", "kinds": ["video"], "paused": true}. */
void media_pause(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    uint64_t *leg;
    struct live_case *lc = media_case(h, s, m, &leg);
    if (!lc)
        return;
    json_t *kinds = json_object_get(m->body, "kinds"), *paused = json_object_get(m->body, "paused");
    unsigned bits = 0;
    size_t i;
    json_t *k;
    json_array_foreach(kinds, i, k)
    {
        const char *name = json_string_value(k);
        bits |= name && !strcmp(name, "audio")   ? VG_MEDIA_AUDIO
                : name && !strcmp(name, "video") ? VG_MEDIA_VIDEO
                                                 : 0x80u;
    }
    if (!json_is_array(kinds) || !bits || (bits & 0x80u) || !json_is_boolean(paused))
        return hub_error(
            s, m->id, VG_PROTO_E_INVALID,
            "\"kinds\" must list \"audio\" and/or \"video\", \"paused\" true or false");
    if (!*leg)
        return hub_error(s, m->id, "state", "no media leg on this case");
    vg_media_set_paused(h->media, *leg, bits, json_is_true(paused));
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:b}", "type", "media_paused", "case_id", lc->row.id, "paused",
                        json_is_true(paused)));
}
