#include "hub_internal.h"

#include "accounts.h"
#include "log.h"
#include "password.h"
#include "vg_err.h"
#include "vtime.h"

#include <gio/gio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A client over its rate is slowed; one that stays over it this long without a
 * break is cut. Counted in time, not in messages: while a client is slowed, how
 * many of its messages arrive per pause depends on how the WebSocket library
 * buffers, so a count would cut one flood in 4 s and the next in 40. */
#define THROTTLE_CUT_US 2000000

/* Sending --------------------------------------------------------------------------- */

void hub_send(struct session *s, json_t *msg)
{
    if (s && msg) {
        char *text = json_dumps(msg, JSON_COMPACT);
        if (text)
            vg_ws_send(s->conn, text, strlen(text));
        free(text);
    }
    json_decref(msg);
}

void hub_reply(struct session *s, const struct vg_proto_msg *m, json_t *msg)
{
    if (msg && m->id[0])
        json_object_set_new(msg, "id", json_string(m->id));
    hub_send(s, msg);
}

void hub_error(struct session *s, const char *id, const char *code, const char *fmt, ...)
{
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->hub->stats.refused++;
    vg_info(s->case_id[0] ? s->case_id : NULL, NULL, "conn=%llu %s%s: refused (%s): %s",
            (unsigned long long)s->conn_id, hub_role_name(s->role), s->account[0] ? s->account : "",
            code, text);
    char *e = vg_proto_error(id, code, text);
    if (e)
        vg_ws_send(s->conn, e, strlen(e));
    free(e);
}

void hub_to_staff(struct vg_hub *h, unsigned roles, json_t *msg)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (s->role & roles)
            hub_send(s, json_incref(msg));
    }
    json_decref(msg);
}

struct session *hub_staff_session(struct vg_hub *h, const char *account)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if ((s->role & R_STAFF) && strcmp(s->account, account) == 0)
            return s;
    }
    return NULL;
}

void hub_random_token(char *hex, size_t n)
{
    unsigned char b[32];
    if (n < 65 || RAND_bytes(b, sizeof b) != 1)
        g_error("no randomness for a token"); /* cannot serve safely without it */
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
}

void hub_sha256_hex(const char *in, char *hex65)
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(in, strlen(in), md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex65 + 2 * i, 3, "%02x", md[i]);
}

const char *hub_role_name(enum role r)
{
    switch (r) {
    case R_ANON: return "anonymous";
    case R_CITIZEN: return "citizen";
    case R_CALL_TAKER: return "call_taker";
    case R_SPECIALIST: return "specialist";
    case R_SUPERVISOR: return "supervisor";
    case R_EVIDENCE: return "evidence";
    }
    return "?";
}

static enum role role_of(const char *name)
{
    if (strcmp(name, "call_taker") == 0)
        return R_CALL_TAKER;
    if (strcmp(name, "specialist") == 0)
        return R_SPECIALIST;
    if (strcmp(name, "supervisor") == 0)
        return R_SUPERVISOR;
    if (strcmp(name, "evidence") == 0)
        return R_EVIDENCE;
    return R_ANON;
}

/* Staff login: the password check runs on a worker thread (scrypt costs ~100 ms,
 * which must not stall every other client on this loop). ------------------------ */

struct login_job {
    struct vg_hub *hub;
    uint64_t conn_id;
    char msg_id[VG_PROTO_ID_MAX + 1];
    char name[VG_NAME_MAX + 1];
    char password[129];
    char hash[VG_PASSWORD_HASH_MAX];
    struct vg_account acct;
    int found;
    bool ok;
};

static void login_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void)src;
    (void)c;
    struct login_job *j = data;
    j->ok = j->found == VG_OK && vg_password_verify(j->password, j->hash);
    OPENSSL_cleanse(j->password, sizeof j->password);
    g_task_return_boolean(task, TRUE);
}

static struct session *session_by_conn_id(struct vg_hub *h, uint64_t id)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (s->conn_id == id)
            return s;
    }
    return NULL;
}

/* One-click messages as a JSON array (the setting was checked at start). */
static json_t *quick_list(const char *setting)
{
    char quick[VG_QUICK_MAX][VG_QUICK_LEN + 1];
    int n = vg_config_quick_messages(setting, quick);
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(quick[i]));
    return a;
}

static void start_staff_session(struct vg_hub *h, struct session *s, const char *account,
                                enum role role, const char *token, const char *msg_id,
                                const char *type)
{
    s->role = role;
    snprintf(s->account, sizeof s->account, "%s", account);
    s->available = true;
    h->stats.staff_online++;
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:s}}", "type", type, "name", account,
                          "role", hub_role_name(role), "token", token, "session_ttl_s",
                          h->cfg->session_ttl_s, "map", "tile_url", h->cfg->tile_url);
    json_object_set_new(r, "quick_messages", quick_list(h->cfg->quick_messages));
    /* a caller's page in Chinese is asked in Chinese (the card's caller.language) */
    json_object_set_new(r, "quick_messages_lang",
                        json_pack("{s:o}", "zh", quick_list(h->cfg->quick_messages_zh)));
    if (msg_id[0])
        json_object_set_new(r, "id", json_string(msg_id));
    hub_send(s, r);
    vg_info(NULL, NULL, "conn=%llu: %s %s logged in", (unsigned long long)s->conn_id,
            hub_role_name(role), account);
    cases_staff_ready(h, s);
    cases_callbacks_send(h, s);
}

/* A password check costs 32 MiB and a core for ~0.1 s (scrypt): two at a time, so a
 * flood of logins from anonymous connections (each may have one in flight) cannot
 * exhaust memory or take the cores from the media workers. The rest wait, in order
 * (a shift of a hundred call-takers signing in at once is served in ~5 s); past
 * [accounts] logins_waiting_max (a job is ~1 KiB), a login is answered busy. */
#define LOGINS_AT_ONCE 2

static void login_done(GObject *src, GAsyncResult *res, gpointer data);

static void login_run(struct login_job *j)
{
    j->hub->logins_running++;
    GTask *t = g_task_new(NULL, NULL, login_done, j);
    g_task_set_task_data(t, j, NULL);
    g_task_run_in_thread(t, login_thread);
    g_object_unref(t);
}

static void login_next(struct vg_hub *h)
{
    h->logins_running--;
    struct login_job *n;
    while ((n = g_queue_pop_head(&h->logins_waiting)) && !session_by_conn_id(h, n->conn_id)) {
        OPENSSL_cleanse(n->password, sizeof n->password); /* its client left while it waited */
        g_free(n);
    }
    if (n)
        login_run(n);
}

static void login_done(GObject *src, GAsyncResult *res, gpointer data)
{
    (void)src;
    (void)res;
    struct login_job *j = data;
    login_next(j->hub);
    struct session *s = session_by_conn_id(j->hub, j->conn_id);
    enum role role = role_of(j->acct.role);
    if (!s) {
        /* the client left while its password was being checked */
    } else if (!j->ok || j->acct.disabled || role == R_ANON) {
        s->login_pending = false;
        vg_warn(NULL, NULL, "conn=%llu: failed login as \"%s\"", (unsigned long long)j->conn_id,
                j->name);
        hub_error(s, j->msg_id, "login_failed", "wrong name or password, or account disabled");
    } else {
        char token[65], hash[65];
        hub_random_token(token, sizeof token);
        hub_sha256_hex(token, hash);
        int64_t now = vg_wall_us();
        s->login_pending = false;
        if (vg_store_session_add(j->hub->store, hash, j->acct.name, j->acct.role, now,
                                 now + (int64_t)j->hub->cfg->session_ttl_s * 1000000)) {
            hub_error(s, j->msg_id, "internal", "could not record the session");
        } else {
            memcpy(s->token_hash, hash, sizeof hash);
            start_staff_session(j->hub, s, j->acct.name, role, token, j->msg_id, "login");
        }
    }
    g_free(j);
}

static void do_login(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    struct vg_req_login r;
    char why[200];
    if (s->login_pending)
        return hub_error(s, m->id, "state", "a login is already in progress");
    if (vg_msg_login(m->body, &r, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    struct login_job *j = g_new0(struct login_job, 1);
    j->hub = h;
    j->conn_id = s->conn_id;
    snprintf(j->msg_id, sizeof j->msg_id, "%s", m->id);
    snprintf(j->name, sizeof j->name, "%s", r.name);
    memcpy(j->password, r.password, sizeof j->password);
    OPENSSL_cleanse(r.password, sizeof r.password);
    /* Unknown names are checked against a dummy hash too, so timing does not say
     * which names exist. */
    j->found = vg_store_account_get(h->store, r.name, &j->acct, j->hash, sizeof j->hash);
    if (j->found)
        snprintf(j->hash, sizeof j->hash,
                 "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    if (h->logins_running >= LOGINS_AT_ONCE &&
        g_queue_get_length(&h->logins_waiting) >= (guint)h->cfg->logins_waiting_max) {
        OPENSSL_cleanse(j->password, sizeof j->password);
        g_free(j);
        vg_warn(NULL, NULL, "conn=%llu: login refused: %d logins waiting already",
                (unsigned long long)s->conn_id, h->cfg->logins_waiting_max);
        return hub_error(s, m->id, "busy", "too many logins at once: try again in a moment");
    }
    s->login_pending = true;
    if (h->logins_running >= LOGINS_AT_ONCE)
        g_queue_push_tail(&h->logins_waiting, j);
    else
        login_run(j);
}

/* A console whose connection died without closing (a tunnel, a NAT that forgot it)
 * comes back with the same session token while the gateway still holds the old
 * connection: nothing told it, and TCP can take many minutes to give up. The new
 * connection replaces the old one, as case_resume does for a citizen, so the case
 * it held comes back now (cases_staff_ready skips a case that still has a holder).
 * The old connection is closed; its close then finds no case. */
static void replace_stale_sessions(struct vg_hub *h, struct session *s)
{
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *o = g_ptr_array_index(h->sessions, i);
        if (o == s || !(o->role & (R_STAFF | R_EVIDENCE)) ||
            strcmp(o->token_hash, s->token_hash) != 0)
            continue;
        vg_info(o->case_id[0] ? o->case_id : NULL, NULL,
                "conn=%llu: %s %s replaced by conn=%llu, resuming the same session",
                (unsigned long long)o->conn_id, hub_role_name(o->role), o->account,
                (unsigned long long)s->conn_id);
        cases_session_closed(h, o);
        o->case_id[0] = '\0';
        o->available = false; /* offered nothing more while it closes */
        /* If the old connection is alive it is another tab or window of the same
         * session (a duplicated tab): told, it stops reconnecting instead of taking the
         * session back, and the two do not push each other out for ever. */
        hub_send(o, json_pack("{s:s, s:s}", "type", "session_moved", "message",
                              "this session was taken up by another console"));
        vg_ws_close(o->conn);
    }
}

static void do_resume(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char token[129], hash[65], account[VG_NAME_MAX + 1], role[16], why[200];
    if (vg_msg_token(m->body, token, sizeof token, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    hub_sha256_hex(token, hash);
    if (vg_store_session_get(h->store, hash, vg_wall_us(), account, sizeof account, role,
                             sizeof role) ||
        role_of(role) == R_ANON)
        return hub_error(s, m->id, "login_failed", "session expired or unknown: log in again");
    memcpy(s->token_hash, hash, sizeof hash);
    replace_stale_sessions(h, s);
    start_staff_session(h, s, account, role_of(role), token, m->id, "resume");
}

static void do_logout(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    vg_store_session_delete(h->store, s->token_hash);
    hub_reply(s, m, json_pack("{s:s}", "type", "logout"));
    vg_ws_close(s->conn);
}

/* An account disabled or removed with vigilctl, or its password reset (which ends its
 * sessions), while its console is open: vigilctl writes only the store, so the hub
 * looks every few seconds. The console is told and closed; a case it held goes the
 * way of any lost console ([queue] holder_grace_s, then back in the queue with the
 * supervisors alerted), and its session no longer resumes. (A session past its TTL
 * is not ended here: nobody is cut off mid-call by the clock.) */
#define ACCOUNT_CHECK_S 5

static gboolean check_accounts(gpointer ud)
{
    struct vg_hub *h = ud;
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        char account[VG_NAME_MAX + 1], role[16];
        if (!(s->role & (R_STAFF | R_EVIDENCE)) || s->signed_out)
            continue;
        /* now = 0: any row, expired or not, of an account still enabled */
        int rc = vg_store_session_get(h->store, s->token_hash, 0, account, sizeof account, role,
                                      sizeof role);
        if (rc != VG_ENOENT)
            continue; /* a store that cannot answer now is asked again next time */
        s->signed_out = true;
        s->available = false;
        cases_link_release(h, s->account, "its maker was signed out");
        vg_warn(s->case_id[0] ? s->case_id : NULL, NULL,
                "conn=%llu: %s %s signed out: the account was disabled or removed, or its "
                "password reset",
                (unsigned long long)s->conn_id, hub_role_name(s->role), s->account);
        vg_store_session_delete(h->store, s->token_hash);
        hub_send(s,
                 json_pack("{s:s, s:s, s:s}", "type", "signed_out", "reason", "revoked", "message",
                           "An administrator ended this session (account disabled or "
                           "password reset). Sign in again if you may."));
        vg_ws_close(s->conn);
    }
    return G_SOURCE_CONTINUE;
}

static void do_hello(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    char *r = vg_proto_hello_reply(m->id, VG_VERSION, h->cfg->sms_number);
    if (r)
        vg_ws_send(s->conn, r, strlen(r));
    free(r);
}

static void do_status(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    bool available;
    char why[200];
    if (vg_msg_status(m->body, &available, why, sizeof why))
        return hub_error(s, m->id, VG_PROTO_E_INVALID, "%s", why);
    s->available = available;
    hub_reply(
        s, m,
        json_pack("{s:s, s:s}", "type", "status", "status", available ? "available" : "away"));
    vg_info(NULL, NULL, "%s %s is %s", hub_role_name(s->role), s->account,
            available ? "available" : "away");
    if (available)
        cases_staff_ready(h, s);
    else
        cases_link_release(h, s->account, "its maker went away");
}

/* Dispatch ------------------------------------------------------------------------- */

typedef void (*handler_fn)(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m);

static const struct {
    const char *type;
    unsigned roles;
    handler_fn fn;
} handlers[] = {
    {"hello", ~0u, do_hello},
    {"login", R_ANON, do_login},
    {"resume", R_ANON, do_resume},
    {"logout", R_STAFF | R_EVIDENCE, do_logout},
    {"alarm_start", R_ANON | R_CITIZEN, case_alarm_start},
    {"case_resume", R_ANON | R_CITIZEN, case_resume},
    {"location", R_CITIZEN, case_location},
    {"hangup", R_CITIZEN, case_hangup},
    {"alarm_cancel", R_ANON | R_CITIZEN, case_alarm_cancel},
    {"rate", R_CITIZEN, case_rate},
    {"chat", R_CITIZEN | R_STAFF, case_chat},
    {"chat_draft", R_CITIZEN, case_chat_draft},
    {"chat_receipt", R_CITIZEN | R_STAFF, case_receipt},
    {"note", R_STAFF, case_note},
    {"set_status", R_STAFF, do_status},
    {"claim", R_CALL_TAKER | R_SUPERVISOR, case_claim},
    {"end", R_STAFF, case_end},
    {"callbacks", R_CALL_TAKER | R_SUPERVISOR, case_callbacks},
    {"callback_done", R_CALL_TAKER | R_SUPERVISOR, case_callback_done},
    {"case_get", R_STAFF, case_get},
    {"block", R_CALL_TAKER | R_SUPERVISOR, case_block},
    {"unblock", R_SUPERVISOR, case_unblock},
    {"board", R_SUPERVISOR, case_board},
    {"case_search", R_SUPERVISOR, case_search},
    {"alert_ack", R_SUPERVISOR, case_alert_ack},
    {"blocks", R_SUPERVISOR, case_blocks},
    {"media_offer", R_CITIZEN | R_STAFF, media_offer},
    {"media_answer", R_CITIZEN | R_STAFF, media_answer},
    {"ice", R_CITIZEN | R_STAFF, media_ice},
    {"media_pause", R_STAFF, media_pause},
    {"invite", R_STAFF, team_invite},
    {"invite_cancel", R_STAFF, team_invite_cancel},
    {"invite_accept", R_STAFF, team_invite_accept},
    {"invite_decline", R_STAFF, team_invite_decline},
    {"transfer", R_STAFF, team_transfer},
    {"hand_back", R_STAFF, team_hand_back},
    {"leave", R_STAFF, team_leave},
    {"monitor", R_SUPERVISOR, team_monitor},
    {"barge", R_SUPERVISOR, team_barge},
    /* checked inside, so a refusal is audited */
    {"evidence_list", R_STAFF | R_EVIDENCE, evidence_list},
    {"evidence_get", R_STAFF | R_EVIDENCE, evidence_get},
    {"evidence_hold", R_STAFF | R_EVIDENCE, evidence_hold},
    {"link_create", R_CALL_TAKER | R_SUPERVISOR, links_create},
};

static void dispatch(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(handlers[i].type, m->type) != 0)
            continue;
        if (!(handlers[i].roles & s->role)) {
            h->stats.forbidden++;
            vg_warn(s->case_id[0] ? s->case_id : NULL, NULL,
                    "conn=%llu: %s %s tried \"%s\": forbidden for this role",
                    (unsigned long long)s->conn_id, hub_role_name(s->role), s->account, m->type);
            return hub_error(s, m->id, VG_PROTO_E_FORBIDDEN, "a %s may not send \"%s\"",
                             hub_role_name(s->role), m->type);
        }
        return handlers[i].fn(h, s, m);
    }
    hub_error(s, m->id, VG_PROTO_E_UNKNOWN, "unknown request type \"%s\"", m->type);
}

/* Connections ------------------------------------------------------------------------ */

static gboolean resume_reading(gpointer ud)
{
    struct session *s = ud;
    s->resume_timer = 0;
    vg_ws_pause(s->conn, false);
    return G_SOURCE_REMOVE;
}

/* Over its rate, a client is slowed (reading paused until a token is due); a
 * client that keeps it up is cut. Returns false when the connection was cut. */
static bool throttle(struct vg_hub *h, struct session *s)
{
    int64_t now = vg_now_us();
    if (vg_bucket_take(&s->bucket, now)) {
        if (s->bucket.tokens >= 1.0)
            s->over_since_us = 0; /* a token to spare: the client is under its rate again */
        return true;
    }
    h->stats.throttled++;
    s->throttled++;
    if (!s->over_since_us)
        s->over_since_us = now;
    if (now - s->over_since_us > THROTTLE_CUT_US) {
        h->stats.cut++;
        vg_warn(s->case_id[0] ? s->case_id : NULL, NULL,
                "conn=%llu %s %s: flooding (%d messages over the rate): cut",
                (unsigned long long)s->conn_id, hub_role_name(s->role), s->account, s->throttled);
        vg_ws_close(s->conn);
        return false;
    }
    if (s->throttled == 1)
        vg_warn(NULL, NULL, "conn=%llu: over %d messages/s: slowed", (unsigned long long)s->conn_id,
                h->cfg->rate_per_s);
    if (!s->resume_timer) {
        vg_ws_pause(s->conn, true);
        s->resume_timer = g_timeout_add((guint)(vg_bucket_wait_us(&s->bucket, now) / 1000 + 1),
                                        resume_reading, s);
    }
    return true;
}

void vg_hub_ws_open(struct vg_hub *h, struct vg_ws_conn *c)
{
    struct session *s = g_new0(struct session, 1);
    s->hub = h;
    s->conn = c;
    s->conn_id = vg_ws_conn_id(c);
    s->role = R_ANON;
    vg_bucket_init(&s->bucket, h->cfg->rate_per_s, h->cfg->rate_burst, vg_now_us());
    vg_ws_set_data(c, s);
    g_ptr_array_add(h->sessions, s);
}

void vg_hub_ws_message(struct vg_hub *h, struct vg_ws_conn *c, const char *text, size_t len)
{
    struct session *s = vg_ws_get_data(c);
    if (!s || !throttle(h, s))
        return;
    h->stats.requests++;
    struct vg_proto_msg m;
    char why[200];
    if (vg_proto_parse(text, len, &m, why, sizeof why))
        return hub_error(s, m.id, VG_PROTO_E_MALFORMED, "%s", why);
    dispatch(h, s, &m);
    vg_proto_msg_free(&m);
}

void vg_hub_ws_oversize(struct vg_hub *h, struct vg_ws_conn *c, size_t len)
{
    struct session *s = vg_ws_get_data(c);
    /* counted against the same rate as any message: a client sending one too large
     * after another is slowed, then cut, as a flood is, not answered at line rate */
    if (s && throttle(h, s))
        hub_error(s, NULL, VG_PROTO_E_TOO_LARGE, "message of %zu bytes exceeds the limit of %d",
                  len, h->cfg->ws_max_message);
}

void vg_hub_ws_close(struct vg_hub *h, struct vg_ws_conn *c)
{
    struct session *s = vg_ws_get_data(c);
    if (!s)
        return;
    cases_session_closed(h, s);
    if (s->role & (R_STAFF | R_EVIDENCE))
        h->stats.staff_online--;
    if (s->resume_timer)
        g_source_remove(s->resume_timer);
    g_ptr_array_remove_fast(h->sessions, s);
    vg_ws_set_data(c, NULL);
    g_free(s);
}

/* The hub ------------------------------------------------------------------------------ */

int vg_hub_new(struct vg_store *st, struct vg_policy *policy, const struct vg_config *cfg,
               struct vg_hub **out, char *err, size_t errlen)
{
    struct vg_hub *h = g_new0(struct vg_hub, 1);
    h->store = st;
    h->policy = policy;
    h->cfg = cfg;
    h->cases = g_hash_table_new(g_str_hash, g_str_equal);
    h->sessions = g_ptr_array_new();
    g_queue_init(&h->logins_waiting);
    h->legs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    if (uploads_start(h, err, errlen)) {
        vg_hub_free(h);
        return VG_EIO;
    }
    if (evidence_start(h, err, errlen) || media_start(h, err, errlen)) {
        vg_hub_free(h);
        return VG_EIO;
    }
    feed_start(h);
    cases_load(h);
    h->account_timer = g_timeout_add_seconds(ACCOUNT_CHECK_S, check_accounts, h);
    *out = h;
    return VG_OK;
}

void vg_hub_media_metrics(struct vg_hub *h, GString *out)
{
    if (h->media)
        vg_media_write_metrics(h->media, out);
    evidence_metrics(h, out);
    feed_metrics(h, out);
}

int64_t vg_hub_media_stall_us(struct vg_hub *h)
{
    return h->media ? vg_media_stall_us(h->media, vg_now_us()) : 0;
}

void vg_hub_free(struct vg_hub *h)
{
    if (!h)
        return;
    if (h->account_timer)
        g_source_remove(h->account_timer);
    media_stop(h); /* first: no media event may arrive for a case being freed */
    uploads_stop(h);
    cases_free(h);
    feed_stop(h);
    evidence_stop(h); /* after the cases dropped their recordings */
    links_free(h);
    g_hash_table_destroy(h->cases);
    g_hash_table_destroy(h->legs);
    for (guint i = 0; i < h->sessions->len; i++) {
        struct session *s = g_ptr_array_index(h->sessions, i);
        if (s->resume_timer)
            g_source_remove(s->resume_timer);
        g_free(s);
    }
    g_ptr_array_free(h->sessions, TRUE);
    struct login_job *j;
    while ((j = g_queue_pop_head(&h->logins_waiting))) {
        OPENSSL_cleanse(j->password, sizeof j->password);
        g_free(j);
    }
    g_free(h);
}

int64_t vg_hub_cases_live(const struct vg_hub *h)
{
    return g_hash_table_size(h->cases);
}

void vg_hub_get_stats(const struct vg_hub *h, struct vg_hub_stats *out)
{
    *out = h->stats;
    out->uploads_refused = uploads_refused_total();
}
