#include "config.h"

#include "engine.h"
#include "vg_err.h"

#include <arpa/inet.h>
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type { K_LISTEN, K_PATH, K_TEXT, K_INT, K_LEVEL, K_CHOICE, K_BOOL };

struct key {
    const char *group, *name;
    enum key_type type;
    size_t offset, size;
    long min, max;
};

#define F(field) offsetof(struct vg_config, field), sizeof(((struct vg_config *)0)->field)

static const struct key keys[] = {
    {"server", "listen", K_LISTEN, 0, 0, 0, 0},
    {"server", "data_dir", K_PATH, F(data_dir), 0, 0},
    {"server", "web_root", K_PATH, F(web_root), 0, 0},
    {"tls", "certificate", K_PATH, F(tls_cert), 0, 0},
    {"tls", "key", K_PATH, F(tls_key), 0, 0},
    {"log", "level", K_LEVEL, 0, 0, 0, 0},
    {"signaling", "max_message_bytes", K_INT, F(ws_max_message), 1024, 1048576},
    {"signaling", "rate_per_s", K_INT, F(rate_per_s), 1, 1000},
    {"signaling", "rate_burst", K_INT, F(rate_burst), 1, 10000},
    {"signaling", "ping_after_s", K_INT, F(ws_ping_after_s), 2, 600},
    {"signaling", "dead_after_s", K_INT, F(ws_dead_after_s), 3, 900},
    {"accounts", "first_call_taker", K_TEXT, F(first_call_taker), 1, 64},
    {"accounts", "session_ttl_s", K_INT, F(session_ttl_s), 60, 7 * 86400},
    {"accounts", "phone_verify_command", K_TEXT, F(phone_verify_command), 0, 511},
    {"accounts", "logins_waiting_max", K_INT, F(logins_waiting_max), 1, 100000},
    {"queue", "escalate_after_s", K_INT, F(escalate_after_s), 1, 3600},
    {"queue", "abandon_grace_s", K_INT, F(abandon_grace_s), 0, 3600},
    {"queue", "holder_grace_s", K_INT, F(holder_grace_s), 0, 3600},
    {"queue", "callback_window_h", K_INT, F(callback_window_h), 1, 720},
    {"queue", "escalation_message", K_TEXT, F(escalation_message), 1, 255},
    {"team", "invite_timeout_s", K_INT, F(invite_timeout_s), 5, 600},
    {"links", "valid_min", K_INT, F(link_valid_min), 1, 1440},
    {"links", "ring_s", K_INT, F(link_ring_s), 5, 600},
    {"links", "base_url", K_TEXT, F(link_base_url), 0, 200},
    {"links", "sms_url", K_TEXT, F(link_sms_url), 0, 511},
    {"links", "sms_command", K_TEXT, F(link_sms_command), 0, 511},
    {"service_area", "file", K_PATH, F(service_area_file), 0, 0},
    {"service_area", "message", K_TEXT, F(outside_area_message), 1, 255},
    {"service_area", "country_code", K_TEXT, F(country_code), 0, 4},
    {"service_area", "sms_number", K_TEXT, F(sms_number), 0, 15},
    {"blacklist", "mode", K_CHOICE, F(blacklist_hard), 0, 1},
    {"blacklist", "refused_message", K_TEXT, F(refused_message), 1, 255},
    {"alerts", "repeat_count", K_INT, F(repeat_count), 2, 1000},
    {"alerts", "repeat_window_min", K_INT, F(repeat_window_min), 1, 10080},
    {"alerts", "key_persons", K_TEXT, F(key_persons), 0, 2047},
    {"alerts", "key_places_file", K_PATH, F(key_places_file), 0, 0},
    {"alerts", "hook_url", K_TEXT, F(hook_url), 0, 511},
    {"alerts", "hook_command", K_TEXT, F(hook_command), 0, 511},
    {"dispatch", "hook_url", K_TEXT, F(dispatch_hook_url), 0, 511},
    {"dispatch", "hook_command", K_TEXT, F(dispatch_hook_command), 0, 511},
    {"dispatch", "location_every_s", K_INT, F(dispatch_location_every_s), 1, 3600},
    {"dispatch", "api_key", K_TEXT, F(dispatch_api_key), 0, 128},
    {"media", "addresses", K_TEXT, F(media_addresses), 0, 511},
    {"media", "stun_server", K_TEXT, F(stun_server), 0, 127},
    {"media", "turn_server", K_TEXT, F(turn_server), 0, 127},
    {"media", "turn_username", K_TEXT, F(turn_username), 0, 127},
    {"media", "turn_password", K_TEXT, F(turn_password), 0, 127},
    {"media", "workers", K_INT, F(media_workers), 0, 64},
    {"media", "nack", K_BOOL, F(media_nack), 0, 1},
    {"media", "simulate_loss_permille", K_INT, F(media_simulate_loss_permille), 0, 500},
    {"evidence", "enabled", K_BOOL, F(evidence_enabled), 0, 1},
    {"evidence", "dir", K_PATH, F(evidence_dir), 0, 0},
    {"evidence", "retention_days", K_INT, F(evidence_retention_days), 0, 36500},
    {"evidence", "queue_mb", K_INT, F(evidence_queue_mb), 1, 1024},
    {"evidence", "segment_seconds", K_INT, F(evidence_segment_seconds), 1, 3600},
    {"evidence", "segment_mb", K_INT, F(evidence_segment_mb), 1, 4096},
    {"uploads", "max_photos", K_INT, F(upload_max_photos), 0, 100},
    {"uploads", "max_videos", K_INT, F(upload_max_videos), 0, 100},
    {"uploads", "max_photo_bytes", K_INT, F(upload_max_photo_bytes), 1024, 1073741824},
    {"uploads", "max_video_bytes", K_INT, F(upload_max_video_bytes), 1024, 2000000000},
    {"uploads", "chunk_bytes", K_INT, F(upload_chunk_bytes), 4096, 4194304},
    {"uploads", "max_open", K_INT, F(upload_max_open), 1, 10000},
    {"uploads", "chunk_timeout_s", K_INT, F(upload_chunk_timeout_s), 1, 3600},
    {"uploads", "stale_after_s", K_INT, F(upload_stale_after_s), 10, 604800},
    {"uploads", "window_after_end_s", K_INT, F(upload_window_s), 0, 86400},
    {"console", "tile_url", K_TEXT, F(tile_url), 0, 511},
    {"console", "quick_messages", K_TEXT, F(quick_messages), 0, 2047},
    {"console", "quick_messages_zh", K_TEXT, F(quick_messages_zh), 0, 2047},
};

/* K_CHOICE keys: the words, index = stored value. */
static const char *const blacklist_modes[] = {"soft", "hard", NULL};
#define NKEYS (sizeof keys / sizeof keys[0])

const char *vg_config_key(size_t i, const char **group)
{
    if (i >= NKEYS)
        return NULL;
    *group = keys[i].group;
    return keys[i].name;
}

void vg_config_defaults(struct vg_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_addr, sizeof c->listen_addr, "127.0.0.1");
    c->listen_port = 8443;
    snprintf(c->data_dir, sizeof c->data_dir, "/var/lib/vigil");
    snprintf(c->web_root, sizeof c->web_root, "%s", VG_SOURCE_WEB_ROOT);
    c->log_level = VG_LOG_INFO;
    c->ws_max_message = 65536;
    c->rate_per_s = 20;
    c->logins_waiting_max = 1000;
    c->rate_burst = 40;
    c->ws_ping_after_s = 15;
    c->ws_dead_after_s = 30;
    snprintf(c->first_call_taker, sizeof c->first_call_taker, "calltaker");
    c->session_ttl_s = 12 * 3600;
    c->escalate_after_s = 60;
    c->link_valid_min = 15;
    c->link_ring_s = 30;
    c->abandon_grace_s = 30;
    c->holder_grace_s = 20;
    c->callback_window_h = 72;
    c->invite_timeout_s = 30;
    snprintf(c->escalation_message, sizeof c->escalation_message,
             "No call-taker has answered yet. Please also call 110 now.");
    snprintf(c->outside_area_message, sizeof c->outside_area_message,
             "You are outside the area this service covers. Please call 110.");
    snprintf(c->refused_message, sizeof c->refused_message,
             "This service cannot take your alarm. In an emergency, call 110.");
    snprintf(c->quick_messages, sizeof c->quick_messages, "%s",
             "Are you safe now?|Is the person still with you?|Are you injured?"
             "|Can you talk? Answer Yes or No.|Help is on the way.|Stay on the line.");
    snprintf(c->quick_messages_zh, sizeof c->quick_messages_zh, "%s",
             "您现在安全吗？|那个人还在您身边吗？|您受伤了吗？|您能说话吗？请回答“是”或“否”。"
             "|警察正在赶来。|请不要挂断。");
    c->repeat_count = 3;
    c->dispatch_location_every_s = 10;
    c->repeat_window_min = 60;
    c->media_nack = 1;
    c->evidence_enabled = 1;
    c->evidence_retention_days = 90;
    c->evidence_queue_mb = 4;
    c->evidence_segment_seconds = 60;
    c->evidence_segment_mb = 64;
    c->upload_max_photos = 9;
    c->upload_max_videos = 3;
    c->upload_max_photo_bytes = 20 * 1024 * 1024;
    c->upload_max_video_bytes = 100 * 1024 * 1024;
    c->upload_chunk_bytes = 262144;
    c->upload_max_open = 64;
    c->upload_chunk_timeout_s = 30;
    c->upload_stale_after_s = 3600;
    c->upload_window_s = 600;
}

int vg_config_parse_listen(const char *s, char *addr, size_t addr_len, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return VG_EINVAL;
    const char *a = s, *a_end = colon;
    if (*s == '[') {
        if (colon[-1] != ']')
            return VG_EINVAL;
        a = s + 1;
        a_end = colon - 1;
    }
    size_t len = (size_t)(a_end - a);
    if (len == 0 || len >= addr_len)
        return VG_EINVAL;
    char tmp[64];
    if (len >= sizeof tmp)
        return VG_EINVAL;
    memcpy(tmp, a, len);
    tmp[len] = '\0';
    if (*s != '[' && strchr(tmp, ':'))
        return VG_EINVAL; /* an IPv6 address needs brackets: "::1:80" is ambiguous */
    unsigned char bin[16];
    if (inet_pton(AF_INET, tmp, bin) != 1 && inet_pton(AF_INET6, tmp, bin) != 1)
        return VG_EINVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535)
        return VG_EINVAL;
    memcpy(addr, tmp, len + 1);
    *port = (int)p;
    return VG_OK;
}

/* The 1-based line of the [group] header (key NULL) or of "key =" inside [group],
 * or 0 if absent. GKeyFile does not report lines, and an operator needs them. */
static int line_of(const char *text, const char *group, const char *key)
{
    char **lines = g_strsplit(text, "\n", -1);
    bool in_group = false;
    int found = 0;
    for (int i = 0; lines[i] && !found; i++) {
        char *l = g_strstrip(lines[i]);
        size_t n = strlen(l);
        if (l[0] == '[' && n > 1 && l[n - 1] == ']') {
            in_group = n - 2 == strlen(group) && strncmp(l + 1, group, n - 2) == 0;
            found = (in_group && !key) ? i + 1 : 0;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in_group || !key || !eq)
            continue;
        char *name = g_strstrip(g_strndup(l, (size_t)(eq - l)));
        found = strcmp(name, key) == 0 ? i + 1 : 0;
        g_free(name);
    }
    g_strfreev(lines);
    return found;
}

/* Every line must be blank, a comment, a [group] or key = value. */
static int check_syntax(const char *path, const char *text, char *err, size_t errlen)
{
    char **lines = g_strsplit(text, "\n", -1);
    int rc = VG_OK;
    bool in_group = false;
    for (int i = 0; lines[i] && rc == VG_OK; i++) {
        char *l = g_strstrip(lines[i]);
        size_t n = strlen(l);
        if (n == 0 || l[0] == '#' || l[0] == ';')
            continue;
        if (l[0] == '[') {
            in_group = n > 2 && l[n - 1] == ']';
            if (!in_group) {
                snprintf(err, errlen, "%s:%d: malformed group header \"%s\"", path, i + 1, l);
                rc = VG_EINVAL;
            }
        } else if (!strchr(l, '=') || l[0] == '=') {
            snprintf(err, errlen, "%s:%d: expected \"key = value\", got \"%s\"", path, i + 1, l);
            rc = VG_EINVAL;
        } else if (!in_group) {
            snprintf(err, errlen, "%s:%d: key outside any [group]", path, i + 1);
            rc = VG_EINVAL;
        }
    }
    g_strfreev(lines);
    return rc;
}

static const struct key *find_key(const char *group, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].group, group) == 0 && (!name || strcmp(keys[i].name, name) == 0))
            return &keys[i];
    return NULL;
}

/* Unknown groups and keys are errors: a misspelt key silently falling back to its
 * default is how a centre ends up listening on the wrong address. */
static int check_known(GKeyFile *kf, const char *path, const char *text, char *err, size_t errlen)
{
    gchar **groups = g_key_file_get_groups(kf, NULL);
    int rc = VG_OK;
    for (int g = 0; groups[g] && rc == VG_OK; g++) {
        if (!find_key(groups[g], NULL)) {
            snprintf(err, errlen, "%s:%d: unknown group [%s]", path, line_of(text, groups[g], NULL),
                     groups[g]);
            rc = VG_EINVAL;
            break;
        }
        gchar **names = g_key_file_get_keys(kf, groups[g], NULL, NULL);
        for (int k = 0; names && names[k] && rc == VG_OK; k++) {
            if (!find_key(groups[g], names[k])) {
                snprintf(err, errlen, "%s:%d: [%s] %s: unknown key", path,
                         line_of(text, groups[g], names[k]), groups[g], names[k]);
                rc = VG_EINVAL;
            }
        }
        g_strfreev(names);
    }
    g_strfreev(groups);
    return rc;
}

/* Stores one value; returns a reason on error, NULL on success. */
static const char *apply_value(struct vg_config *c, const struct key *k, const char *v)
{
    char *field = (char *)c + k->offset;
    switch (k->type) {
    case K_LISTEN:
        return vg_config_parse_listen(v, c->listen_addr, sizeof c->listen_addr, &c->listen_port)
                   ? "must be ADDRESS:PORT with an IP address and a port 1-65535"
                   : NULL;
    case K_LEVEL:
        return vg_log_parse_level(v, &c->log_level) ? "must be debug, info, warn or error" : NULL;
    case K_INT: {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < k->min || n > k->max)
            return "must be a whole number in range";
        *(int *)field = (int)n;
        return NULL;
    }
    case K_BOOL:
        if (strcmp(v, "true") && strcmp(v, "false"))
            return "must be true or false";
        *(int *)field = strcmp(v, "true") == 0;
        return NULL;
    case K_CHOICE:
        for (int i = 0; blacklist_modes[i]; i++)
            if (strcmp(v, blacklist_modes[i]) == 0) {
                *(int *)field = i;
                return NULL;
            }
        return "must be soft or hard";
    case K_TEXT:
        if (strlen(v) < (size_t)k->min || strlen(v) > (size_t)k->max)
            return "has the wrong length";
        snprintf(field, k->size, "%s", v);
        return NULL;
    case K_PATH:
        if (strlen(v) >= k->size)
            return "path too long";
        snprintf(field, k->size, "%s", v);
        return NULL;
    }
    return "unhandled key type";
}

static int apply_all(struct vg_config *c, GKeyFile *kf, const char *path, const char *text,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (!g_key_file_has_key(kf, k->group, k->name, NULL))
            continue;
        gchar *v = g_key_file_get_string(kf, k->group, k->name, NULL);
        const char *why = v ? apply_value(c, k, g_strstrip(v)) : "is not valid UTF-8 text";
        if (why) {
            char range[64] = "";
            if (k->type == K_INT)
                snprintf(range, sizeof range, " (%ld-%ld)", k->min, k->max);
            snprintf(err, errlen, "%s:%d: [%s] %s: \"%s\" %s%s", path,
                     line_of(text, k->group, k->name), k->group, k->name, v ? v : "", why, range);
            g_free(v);
            return VG_EINVAL;
        }
        g_free(v);
    }
    return VG_OK;
}

int vg_config_load(struct vg_config *c, const char *path, char *err, size_t errlen)
{
    gchar *text = NULL;
    GError *ge = NULL;
    if (!g_file_get_contents(path, &text, NULL, &ge)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        return VG_EINVAL;
    }
    int rc = check_syntax(path, text, err, errlen);
    GKeyFile *kf = g_key_file_new();
    if (rc == VG_OK && !g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, &ge)) {
        snprintf(err, errlen, "%s: %s", path, ge->message);
        g_error_free(ge);
        rc = VG_EINVAL;
    }
    if (rc == VG_OK)
        rc = check_known(kf, path, text, err, errlen);
    if (rc == VG_OK)
        rc = apply_all(c, kf, path, text, err, errlen);
    g_key_file_free(kf);
    g_free(text);
    return rc;
}

int vg_config_check(const struct vg_config *c, char *err, size_t errlen)
{
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        snprintf(err, errlen,
                 "[tls] certificate and key must be given together (or neither, "
                 "to use a generated self-signed certificate)");
        return VG_EINVAL;
    }
    if (c->ws_dead_after_s <= c->ws_ping_after_s) {
        snprintf(err, errlen, "[signaling] dead_after_s (%d) must be more than ping_after_s (%d)",
                 c->ws_dead_after_s, c->ws_ping_after_s);
        return VG_EINVAL;
    }
    if (c->link_sms_url[0] && strncmp(c->link_sms_url, "http://", 7) != 0) {
        snprintf(err, errlen, "[links] sms_url must start with http:// (got \"%s\")",
                 c->link_sms_url);
        return VG_EINVAL;
    }
    if ((c->link_sms_url[0] || c->link_sms_command[0]) && !c->link_base_url[0]) {
        snprintf(err, errlen,
                 "[links] sms_url or sms_command needs [links] base_url (the "
                 "citizen page's address the texts give)");
        return VG_EINVAL;
    }
    if (c->link_base_url[0] && strncmp(c->link_base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "[links] base_url must start with https:// (got \"%s\")",
                 c->link_base_url);
        return VG_EINVAL;
    }
    if (c->dispatch_api_key[0] && strlen(c->dispatch_api_key) < 32) {
        snprintf(err, errlen,
                 "[dispatch] api_key must be at least 32 characters (it lets "
                 "whoever holds it tell callers that help is coming)");
        return VG_EINVAL;
    }
    if (c->dispatch_hook_url[0] && strncmp(c->dispatch_hook_url, "http://", 7) != 0) {
        snprintf(err, errlen, "[dispatch] hook_url must start with http:// (got \"%s\")",
                 c->dispatch_hook_url);
        return VG_EINVAL;
    }
    if (c->hook_url[0] && strncmp(c->hook_url, "http://", 7) != 0) {
        snprintf(err, errlen, "[alerts] hook_url must start with http:// (got \"%s\")",
                 c->hook_url);
        return VG_EINVAL;
    }
    if (!c->turn_server[0] != !c->turn_username[0] || !c->turn_server[0] != !c->turn_password[0]) {
        snprintf(err, errlen, "[media] turn_server, turn_username and turn_password go together");
        return VG_EINVAL;
    }
    /* Checked here, not at the first call: a bad one made every call's media fail. */
    const char *servers[][2] = {{"stun_server", c->stun_server}, {"turn_server", c->turn_server}};
    for (size_t i = 0; i < 2; i++)
        if (servers[i][1][0] && vg_media_check_server(servers[i][1])) {
            snprintf(err, errlen,
                     "[media] %s \"%s\": an IP address and port (IP:PORT or [IPv6]:PORT); "
                     "names are not resolved",
                     servers[i][0], servers[i][1]);
            return VG_EINVAL;
        }
    gchar **addrs = g_strsplit(c->media_addresses, ",", -1);
    int bad = -1;
    for (int i = 0; addrs[i] && bad < 0; i++)
        if (*g_strstrip(addrs[i]) && vg_media_check_address(addrs[i]))
            bad = i;
    if (bad >= 0)
        snprintf(err, errlen, "[media] addresses: \"%s\" is not an IP address", addrs[bad]);
    g_strfreev(addrs);
    if (bad >= 0)
        return VG_EINVAL;
    if (c->tile_url[0] && strncmp(c->tile_url, "https://", 8) != 0 &&
        strncmp(c->tile_url, "http://", 7) != 0 && c->tile_url[0] != '/') {
        snprintf(err, errlen,
                 "[console] tile_url must start with https://, http:// or / (got \"%s\")",
                 c->tile_url);
        return VG_EINVAL;
    }
    /* It goes into a Content-Security-Policy header: no spaces, quotes or
     * separators that could add a directive. */
    if (strpbrk(c->tile_url, " \t;,'\"\r\n\\")) {
        snprintf(err, errlen,
                 "[console] tile_url must be a plain URL (no spaces, quotes, ';' or ',')");
        return VG_EINVAL;
    }
    if (vg_config_quick_messages(c->quick_messages, NULL) < 0 ||
        vg_config_quick_messages(c->quick_messages_zh, NULL) < 0) {
        snprintf(err, errlen,
                 "[console] quick_messages%s: at most %d messages of 1 to %d bytes, "
                 "separated by '|'",
                 vg_config_quick_messages(c->quick_messages, NULL) < 0 ? "" : "_zh", VG_QUICK_MAX,
                 VG_QUICK_LEN);
        return VG_EINVAL;
    }
    if (!c->data_dir[0]) {
        snprintf(err, errlen, "[server] data_dir must not be empty");
        return VG_EINVAL;
    }
    return VG_OK;
}

int vg_config_quick_messages(const char *setting, char out[][VG_QUICK_LEN + 1])
{
    int n = 0;
    for (const char *p = setting; *p; n++) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len > VG_QUICK_LEN || n == VG_QUICK_MAX)
            return -1; /* "a||b", a '|' at either end, too long, too many */
        if (out)
            snprintf(out[n], VG_QUICK_LEN + 1, "%.*s", (int)len, p);
        if (!end)
            return n + 1;
        p = end + 1;
        if (!*p)
            return -1;
    }
    return n;
}
