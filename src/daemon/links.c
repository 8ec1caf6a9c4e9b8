/* Video links: a call-taker on the ordinary phone line with a caller who cannot say
 * what they see sends them a link (by SMS through [links] sms_url/sms_command, or read
 * out); the caller opens it in the phone's browser and the alarm it starts rings at
 * that call-taker's console first (cases.c, rings_on), for [links] ring_s, then
 * everyone's as any alarm does.
 *
 * A link is a secret of 128 bits, good once, for [links] valid_min, in memory only: a
 * restart forgets the links not used yet (they were minutes from expiring anyway, and
 * an alarm with a link that is not known is still taken, as any other). */
#include "hooks.h"
#include "hub_internal.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "vtime.h"

#include <glib.h>
#include <jansson.h>
#include <string.h>

#define LINKS_MAX 1000       /* outstanding in all: a console that loops cannot fill memory */
#define LINKS_PER_ACCOUNT 20 /* one console cannot use them all up, or text on and on */
#define LINK_LEN 32          /* hex characters: 128 bits */

struct link {
    char token[LINK_LEN + 1];
    char by[VG_NAME_MAX + 1];
    char phone[VG_PHONE_MAX + 1];
    enum vg_mode mode;
    int64_t expires_us; /* wall clock */
};

static GHashTable *table(struct vg_hub *h)
{
    if (!h->links)
        h->links = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    return h->links;
}

static gboolean expired(gpointer k, gpointer v, gpointer now)
{
    (void)k;
    return ((struct link *)v)->expires_us <= *(int64_t *)now;
}

static void prune(struct vg_hub *h, int64_t now)
{
    g_hash_table_foreach_remove(table(h), expired, &now);
}

static unsigned made_by(struct vg_hub *h, const char *account)
{
    unsigned n = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, table(h));
    while (g_hash_table_iter_next(&it, &k, &v))
        n += strcmp(((struct link *)v)->by, account) == 0;
    return n;
}

struct sms_ctx {
    struct vg_hub *hub;
    char by[VG_NAME_MAX + 1];
    char token[LINK_LEN + 1];
};

/* The SMS hook's outcome, to the console that asked (if it is still there). */
static void sms_done(bool ok, void *ud)
{
    struct sms_ctx *c = ud;
    if (!ok) {
        c->hub->stats.hooks_failed++;
        vg_warn(NULL, NULL, "link by %s: the SMS could not be sent", c->by);
    }
    struct session *s = hub_staff_session(c->hub, c->by);
    if (s)
        hub_send(s,
                 json_pack("{s:s, s:s, s:b}", "type", "link_sms", "token", c->token, "sent", ok));
    g_free(c);
}

/* {"phone", "mode"?, "base"?}: a link for this caller. The page's address is
 * [links] base_url, else the console's own (base): the console is served by the
 * same gateway as the citizen page. A link is texted only with [links] base_url
 * (vg_config_check requires it with an SMS hook), never with an address a console
 * gave, which would let one text any link from the centre's number. */
void links_create(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_link r;
    char why[200];
    if (vg_msg_link_create(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    const char *base = h->cfg->link_base_url[0] ? h->cfg->link_base_url : r.base;
    if (!base[0])
        return hub_error(s, m->id, VG_PROTO_E_INVALID,
                         "\"base\" is required: [links] base_url is not set");
    int64_t now = vg_wall_us();
    prune(h, now);
    if (g_hash_table_size(table(h)) >= LINKS_MAX || made_by(h, s->account) >= LINKS_PER_ACCOUNT)
        return hub_error(s, m->id, "busy", "too many links waiting to be used: try again later");
    struct link *l = g_new0(struct link, 1);
    char hex[65];
    hub_random_token(hex, sizeof hex);
    memcpy(l->token, hex, LINK_LEN);
    snprintf(l->by, sizeof l->by, "%s", s->account);
    snprintf(l->phone, sizeof l->phone, "%s", r.phone);
    l->mode = r.mode;
    l->expires_us = now + (int64_t)h->cfg->link_valid_min * 60000000;
    g_hash_table_insert(table(h), l->token, l);
    size_t bl = strlen(base);
    char *phone = g_uri_escape_string(r.phone, NULL, FALSE); /* "+" is %2B */
    char *url =
        g_strdup_printf("%s%s?link=%s&mode=%s&phone=%s", base, bl && base[bl - 1] == '/' ? "" : "/",
                        l->token, vg_mode_name(l->mode), phone);
    g_free(phone);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "link", "phone", l->phone,
                             "url", url, "by", l->by, "mode", vg_mode_name(l->mode), "expires_at",
                             (json_int_t)(l->expires_us / 1000));
    char *text = json_dumps(body, JSON_COMPACT);
    struct sms_ctx *c = g_new0(struct sms_ctx, 1);
    c->hub = h;
    snprintf(c->by, sizeof c->by, "%s", l->by);
    memcpy(c->token, l->token, sizeof c->token);
    bool sms = text && vg_hooks_run("link SMS hook", false, h->cfg->link_sms_url,
                                    h->cfg->link_sms_command, text, sms_done, c);
    if (!sms)
        g_free(c);
    free(text);
    char logged[40];
    vg_info(NULL, NULL, "link %.8s... for %s made by %s (%s)%s", l->token,
            vg_log_phone(l->phone, logged, sizeof logged), l->by, vg_mode_name(l->mode),
            sms ? ", SMS on its way" : "");
    json_object_set_new(body, "type", json_string("link_created"));
    json_object_set_new(body, "token", json_string(l->token));
    json_object_set_new(body, "sms", json_string(sms ? "sending" : "none"));
    hub_reply(s, m, body);
    g_free(url);
}

/* The link an alarm names, used up: true with its maker in by and the number it was
 * made for in phone. A link not known,
 * used or expired is false (the alarm is taken all the same). */
bool links_take(struct vg_hub *h, const char *token, char *by, size_t n, char *phone, size_t pn)
{
    int64_t now = vg_wall_us();
    prune(h, now);
    struct link *l = token[0] ? g_hash_table_lookup(table(h), token) : NULL;
    if (!l)
        return false;
    snprintf(by, n, "%s", l->by);
    snprintf(phone, pn, "%s", l->phone);
    g_hash_table_remove(table(h), token);
    return true;
}

void links_free(struct vg_hub *h)
{
    if (h->links)
        g_hash_table_destroy(h->links);
    h->links = NULL;
}
