/* The dispatch feed ([dispatch] hook_url / hook_command): each answered case's
 * course, posted to the centre's dispatch system (CAD), so an alarm taken on video
 * becomes an incident there as a phone call does, without the call-taker typing it
 * in again: answered (the caller, the number, the place), the place as it moves
 * (at most every [dispatch] location_every_s, the latest fix), each note, the end
 * with its outcome, and an outcome given after the end.
 *
 * One event at a time, in order (each carries the feed's own seq): an event is sent
 * once the one before it was delivered or given up on (the hooks' three tries), so
 * the dispatch system never sees an end before its answer. The queue holds
 * FEED_MAX events; a full queue (the dispatch system down for long) first loses its
 * place updates, which later ones replace, then refuses new events, each loss
 * logged and counted (vigil_dispatch_feed_dropped_total). */
#include "hub_internal.h"

#include "hooks.h"
#include "log.h"
#include "vtime.h"

#include <string.h>

#define FEED_MAX 1000

struct feed_item {
    char *body;
    bool location;
};

struct feed {
    struct vg_hub *hub;
    GQueue queue;   /* struct feed_item*, oldest first */
    bool busy;      /* one is with the hooks now */
    int64_t run_ms; /* when this vigild's feed started: seq counts from 1 in each run */
    uint64_t seq, sent, failed, dropped;
};

static bool feed_on(const struct vg_hub *h)
{
    return h->cfg->dispatch_hook_url[0] || h->cfg->dispatch_hook_command[0];
}

static void item_free(struct feed_item *it)
{
    g_free(it->body);
    g_free(it);
}

static void pump(struct feed *f);

static void sent(bool ok, void *ud)
{
    struct feed *f = ud;
    f->busy = false;
    if (ok) {
        f->sent++;
    } else {
        f->failed++;
        vg_error(NULL, NULL, "dispatch feed: an event was not delivered after three tries");
    }
    pump(f);
}

static void pump(struct feed *f)
{
    const struct vg_config *c = f->hub->cfg;
    struct feed_item *it;
    while (!f->busy && (it = g_queue_pop_head(&f->queue))) {
        f->busy = vg_hooks_run("dispatch feed", true, c->dispatch_hook_url,
                               c->dispatch_hook_command, it->body, sent, f);
        item_free(it);
    }
}

/* Room for one more: the oldest place update goes first, then nothing does. */
static bool make_room(struct feed *f)
{
    if (g_queue_get_length(&f->queue) < FEED_MAX)
        return true;
    for (GList *l = f->queue.head; l; l = l->next) {
        struct feed_item *it = l->data;
        if (it->location) {
            item_free(it);
            g_queue_delete_link(&f->queue, l);
            f->dropped++;
            return true;
        }
    }
    return false;
}

static json_t *place(const struct live_case *lc)
{
    const struct vg_fix_row *x = &lc->last_fix;
    if (!lc->has_fix)
        return json_null();
    return json_pack("{s:f, s:f, s:f, s:I, s:s*}", "lat", x->lat, "lon", x->lon, "accuracy",
                     x->accuracy, "at", (json_int_t)(x->at_us / 1000), "source",
                     x->source[0] ? x->source : NULL);
}

void feed_event(struct vg_hub *h, const struct live_case *lc, const char *case_id,
                const char *event, json_t *extra)
{
    struct feed *f = h->feed;
    if (!f) {
        json_decref(extra);
        return;
    }
    bool location = strcmp(event, "location") == 0;
    if (!make_room(f)) {
        f->dropped++;
        vg_error(case_id, NULL, "dispatch feed: %u events wait; %s dropped", FEED_MAX, event);
        json_decref(extra);
        return;
    }
    json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I}", "type", "case_event", "run",
                          (json_int_t)f->run_ms, "seq", (json_int_t)++f->seq, "event", event,
                          "case_id", case_id, "at", (json_int_t)(vg_wall_us() / 1000));
    if (lc) {
        const struct vg_case_row *r = &lc->row;
        json_t *caller = json_loads(r->caller, 0, NULL);
        json_object_set_new(
            o, "case",
            json_pack("{s:s, s:s, s:b, s:o, s:s?, s:I, s:o}", "mode", r->mode, "phone", r->phone,
                      "phone_verified", strstr(r->flags, "phone_verified") != NULL, "caller",
                      caller ? caller : json_object(), "held_by", r->held_by[0] ? r->held_by : NULL,
                      "created_at", (json_int_t)(r->created_us / 1000), "location", place(lc)));
    }
    if (extra)
        json_object_update(o, extra);
    json_decref(extra);
    struct feed_item *it = g_new0(struct feed_item, 1);
    it->body = json_dumps(o, JSON_COMPACT);
    it->location = location;
    json_decref(o);
    g_queue_push_tail(&f->queue, it);
    pump(f);
}

/* The place of an answered case as it moves: the first fix at once, then at most one
 * every location_every_s, the latest (a trailing send when the window ends). */
static gboolean location_due(gpointer ud)
{
    struct live_case *lc = ud;
    lc->feed_timer = 0;
    lc->feed_fix_us = vg_now_us();
    feed_event(lc->hub, lc, lc->row.id, "location", NULL);
    return G_SOURCE_REMOVE;
}

void feed_location(struct vg_hub *h, struct live_case *lc)
{
    if (!h->feed || !lc->row.answered_us || lc->feed_timer)
        return;
    int64_t every = (int64_t)h->cfg->dispatch_location_every_s * 1000000, now = vg_now_us();
    if (!lc->feed_fix_us || now - lc->feed_fix_us >= every) {
        location_due(lc);
        return;
    }
    lc->feed_timer =
        g_timeout_add((guint)((lc->feed_fix_us + every - now) / 1000) + 1, location_due, lc);
}

void feed_case_gone(struct live_case *lc)
{
    if (lc->feed_timer)
        g_source_remove(lc->feed_timer);
    lc->feed_timer = 0;
}

void feed_start(struct vg_hub *h)
{
    if (!feed_on(h))
        return;
    h->feed = g_new0(struct feed, 1);
    h->feed->hub = h;
    h->feed->run_ms = vg_wall_us() / 1000;
    g_queue_init(&h->feed->queue);
    char url[300] = "", cmd[300] = "";
    const struct vg_config *c = h->cfg;
    if (c->dispatch_hook_url[0])
        vg_hooks_name(c->dispatch_hook_url, NULL, url, sizeof url);
    if (c->dispatch_hook_command[0])
        vg_hooks_name(NULL, c->dispatch_hook_command, cmd, sizeof cmd);
    vg_info(NULL, NULL, "dispatch feed on: answered cases go to %s%s%s", url,
            url[0] && cmd[0] ? " and " : "", cmd); /* no user, key or arguments */
}

/* An event with the hooks when vigild stops is not waited for: it is logged and lost
 * (the dispatch system has the case from its answer on). */
void feed_stop(struct vg_hub *h)
{
    struct feed *f = h->feed;
    if (!f)
        return;
    if (f->busy || f->queue.length)
        vg_warn(NULL, NULL, "dispatch feed: %u events not sent at the stop",
                f->queue.length + (f->busy ? 1 : 0));
    g_queue_clear_full(&f->queue, (GDestroyNotify)item_free);
    /* a hook still running calls sent() no more: the main loop has stopped */
    g_free(f);
    h->feed = NULL;
}

void feed_metrics(struct vg_hub *h, GString *out)
{
    struct feed *f = h->feed;
    if (!f)
        return;
    g_string_append_printf(out,
                           "# HELP vigil_dispatch_feed_sent_total Case events the dispatch "
                           "system took.\n# TYPE vigil_dispatch_feed_sent_total counter\n"
                           "vigil_dispatch_feed_sent_total %llu\n"
                           "# HELP vigil_dispatch_feed_failed_total Case events not delivered "
                           "after three tries.\n# TYPE vigil_dispatch_feed_failed_total counter\n"
                           "vigil_dispatch_feed_failed_total %llu\n"
                           "# HELP vigil_dispatch_feed_dropped_total Case events dropped from a "
                           "full queue.\n# TYPE vigil_dispatch_feed_dropped_total counter\n"
                           "vigil_dispatch_feed_dropped_total %llu\n"
                           "# HELP vigil_dispatch_feed_queued Case events waiting.\n"
                           "# TYPE vigil_dispatch_feed_queued gauge\n"
                           "vigil_dispatch_feed_queued %u\n",
                           (unsigned long long)f->sent, (unsigned long long)f->failed,
                           (unsigned long long)f->dropped, f->queue.length + (f->busy ? 1 : 0));
}
