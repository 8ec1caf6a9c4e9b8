/* The dispatch system's answer: which units go to a case and where they are
 * (POST /api/dispatch/status, [dispatch] api_key). The other half of the dispatch
 * feed (feed.c): the call-taker sees on the case that a unit is on its way or has
 * arrived, without asking the dispatcher; the caller's page says that help is on
 * its way and about when (as ride-hailing shows the car coming), which is what a
 * frightened caller most needs to hear. Kept as the case's "unit" events and in its
 * recording.
 *
 *   POST /api/dispatch/status   Authorization: Bearer <api_key>
 *   {"case_id": "c-…", "unit": "Patrol 12", "status": "en_route", "eta_s": 300}
 *
 * status: dispatched, en_route, on_scene or cleared; eta_s optional (0 .. 86400). */
#include "hub_internal.h"

#include "log.h"
#include "vg_err.h"
#include "vtime.h"

#include <openssl/crypto.h>
#include <string.h>

#define BODY_MAX 4096

static void respond(struct vg_http_exchange *x, int status, const char *code, const char *message)
{
    json_t *o = status == 200 ? json_pack("{s:b}", "ok", 1)
                              : json_pack("{s:s, s:s}", "error", code, "message", message);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    vg_http_respond(x, status, text);
    free(text);
    if (status != 200 && status != 401) /* a wrong key is logged with its peer */
        vg_info(NULL, NULL, "http %llu: dispatch status refused (%d %s): %s",
                (unsigned long long)vg_http_exchange_id(x), status, code, message);
}

/* The key compared in constant time: a caller may not learn it byte by byte. */
static bool key_ok(const struct vg_hub *h, const char *bearer)
{
    const char *key = h->cfg->dispatch_api_key;
    size_t n = strlen(key);
    return n && strlen(bearer) == n && CRYPTO_memcmp(bearer, key, n) == 0;
}

bool units_begin(struct vg_hub *h, struct vg_http_exchange *x, const struct vg_http_request *r)
{
    if (!h->cfg->dispatch_api_key[0]) {
        respond(x, 404, "not_found", "no dispatch status API here ([dispatch] api_key is not set)");
        return false;
    }
    if (!key_ok(h, r->bearer)) {
        vg_warn(NULL, NULL, "http %llu: dispatch status from %s refused (401): a wrong or no key",
                (unsigned long long)vg_http_exchange_id(x), r->peer);
        respond(x, 401, "unauthorized", "a Bearer token, the [dispatch] api_key, is needed");
        return false;
    }
    if (r->content_length > BODY_MAX) {
        respond(x, 400, "bad_request", "the request body is over 4096 bytes");
        return false;
    }
    vg_http_want_body(x, BODY_MAX);
    return true;
}

/* The case's latest word from each unit (card.units), at most MAX_UNITS: a case
 * brings a patrol, an ambulance, perhaps a fire engine, not dozens. */
#define MAX_UNITS 8

static json_t *unit_named(const struct live_case *lc, const char *name, size_t *at)
{
    for (size_t i = 0; lc->units && i < json_array_size(lc->units); i++) {
        json_t *v = json_array_get(lc->units, i);
        if (strcmp(json_string_value(json_object_get(v, "unit")), name) == 0) {
            *at = i;
            return v;
        }
    }
    return NULL;
}

static bool cleared(const json_t *u)
{
    return strcmp(json_string_value(json_object_get(u, "status")), "cleared") == 0;
}

/* Where u goes: in place of the unit's last word, else a free place, else in place of
 * a unit that has cleared; false when MAX_UNITS are active. */
static bool unit_place(const struct live_case *lc, const char *name, size_t *at, bool *append)
{
    *append = false;
    if (unit_named(lc, name, at))
        return true;
    size_t n = lc->units ? json_array_size(lc->units) : 0;
    if (n < MAX_UNITS) {
        *append = true;
        return true;
    }
    for (*at = 0; *at < n; (*at)++)
        if (cleared(json_array_get(lc->units, *at)))
            return true;
    return false;
}

static void keep_unit(struct live_case *lc, json_t *u, size_t at, bool append)
{
    if (!lc->units)
        lc->units = json_array();
    if (append)
        json_array_append(lc->units, u);
    else
        json_array_set(lc->units, at, u);
}

static int rank(const char *status)
{
    return strcmp(status, "on_scene") == 0     ? 3
           : strcmp(status, "en_route") == 0   ? 2
           : strcmp(status, "dispatched") == 0 ? 1
                                               : 0;
}

json_t *units_help(const struct live_case *lc)
{
    if (!lc->units || !json_array_size(lc->units))
        return NULL;
    int best = 0;
    int64_t eta = -1, now_ms = vg_wall_us() / 1000;
    for (size_t i = 0; i < json_array_size(lc->units); i++) {
        const json_t *u = json_array_get(lc->units, i);
        int r = rank(json_string_value(json_object_get(u, "status")));
        best = r > best ? r : best;
        json_t *e = json_object_get(u, "eta_s");
        if (r == 2 && e) { /* counted from when the unit said it */
            int64_t left = json_integer_value(e) -
                           (now_ms - json_integer_value(json_object_get(u, "at"))) / 1000;
            left = left < 0 ? 0 : left;
            eta = eta < 0 || left < eta ? left : eta;
        }
    }
    static const char *const names[] = {"cleared", "dispatched", "en_route", "on_scene"};
    json_t *o = json_pack("{s:s}", "status", names[best]);
    if (best == 2 && eta >= 0)
        json_object_set_new(o, "eta_s", json_integer(eta));
    return o;
}

/* After a restart: each unit's latest word again, from the case's unit events, so
 * the card and a caller who reconnects (case_resumed's help) have them as before. */
static int restore_one(int64_t at_us, const char *actor, const char *data, void *ud)
{
    struct live_case *lc = ud;
    (void)at_us, (void)actor;
    json_t *u = json_loads(data, 0, NULL);
    const char *name = json_string_value(json_object_get(u, "unit"));
    size_t at = 0;
    bool append;
    if (name && json_string_value(json_object_get(u, "status")) &&
        unit_place(lc, name, &at, &append))
        keep_unit(lc, u, at, append);
    json_decref(u);
    return 0;
}

void units_restore(struct vg_hub *h, struct live_case *lc)
{
    vg_store_case_events_of(h->store, lc->row.id, "unit", restore_one, lc);
}

void units_body(struct vg_hub *h, struct vg_http_exchange *x, const uint8_t *body, size_t len)
{
    struct vg_req_unit r;
    char why[200];
    json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
    bool object = json_is_object(o);
    int bad = object ? vg_msg_unit_status(o, &r, why, sizeof why) : VG_EINVAL;
    json_decref(o);
    if (bad)
        return respond(x, 400, "bad_request", object ? why : "the body is not a JSON object");
    struct live_case *lc = cases_live(h, r.case_id);
    size_t at = 0;
    bool append;
    if (!lc)
        return respond(x, 404, "not_found", "no open case by that id");
    if (!unit_place(lc, r.unit, &at, &append))
        return respond(x, 409, "too_many_units", "the case has 8 units that have not cleared");
    const char *name = r.unit, *status = r.status;
    int64_t now = vg_wall_us();
    json_t *u = json_pack("{s:s, s:s, s:I}", "unit", name, "status", status, "at",
                          (json_int_t)(now / 1000));
    if (r.has_eta)
        json_object_set_new(u, "eta_s", json_integer(r.eta_s));
    char *data = json_dumps(u, JSON_COMPACT);
    int rc = vg_store_case_event(h->store, lc->row.id, now, "unit", "dispatch", data);
    free(data);
    if (rc) {
        json_decref(u);
        return respond(x, 500, "internal", "the status could not be recorded");
    }
    keep_unit(lc, u, at, append);
    vg_info(lc->row.id, NULL, "unit %s: %s", name, status);
    evidence_note(lc, "unit", json_deep_copy(u));
    /* The caller hears that help comes and about when, not which unit: the best word
     * of them all (one unit's "sent" does not undo another's "arrived"). */
    json_t *help = units_help(lc);
    json_object_set_new(help, "type", json_string("help"));
    json_object_set_new(help, "case_id", json_string(lc->row.id));
    hub_send(lc->citizen, help);
    cases_to_staff(h, lc,
                   json_pack("{s:s, s:s, s:o}", "type", "unit", "case_id", lc->row.id, "unit", u),
                   NULL);
    respond(x, 200, NULL, NULL);
}
