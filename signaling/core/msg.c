#include "msg.h"

#include "vg_err.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const mode_names[] = {"silent", "video", "voice", "report"};

const char *vg_mode_name(enum vg_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

int vg_mode_parse(const char *s, enum vg_mode *out)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, mode_names[i]) == 0) {
            *out = (enum vg_mode)i;
            return VG_OK;
        }
    return VG_EINVAL;
}

static char country[5]; /* vg_phone_set_country's, "" = none */

int vg_phone_set_country(const char *code)
{
    size_t len = strlen(code);
    if (len > 4 || strspn(code, "0123456789") != len || (len && code[0] == '0'))
        return VG_EINVAL;
    memcpy(country, code, len + 1);
    return VG_OK;
}

/* "86 139 0000 0000": China's country code written without its "+" before a whole
 * mobile number (11 digits from 1), as a caller copies it from a contact card. No
 * Chinese national number is 13 digits, so it cannot be one written nationally. Other
 * countries' numbers have no such sure sign and are read as national. */
static bool cn_mobile_with_code(const char *out)
{
    return strcmp(country, "86") == 0 && strlen(out) == 13 && out[0] == '8' && out[1] == '6' &&
           out[2] == '1';
}

/* A number written without "+" in the national way, made international: "00" is the
 * international prefix, a single "0" the trunk prefix; anything else is a national
 * number (a Chinese mobile: 11 digits from 1). */
static int internationalize(char *out, size_t n)
{
    char tmp[64];
    if (out[0] == '+' || !country[0])
        return VG_OK;
    if (cn_mobile_with_code(out))
        snprintf(tmp, sizeof tmp, "+%s", out);
    else if (out[0] == '0' && out[1] == '0')
        snprintf(tmp, sizeof tmp, "+%s", out + 2);
    else
        snprintf(tmp, sizeof tmp, "+%s%s", country, out + (out[0] == '0'));
    if (strlen(tmp) >= n || strlen(tmp) > 16)
        return VG_EINVAL;
    memcpy(out, tmp, strlen(tmp) + 1);
    return VG_OK;
}

int vg_phone_normalize(const char *in, char *out, size_t n)
{
    size_t o = 0, digits = 0;
    for (size_t i = 0; in[i]; i++) {
        char c = in[i];
        /* "+86 (0)139...": the trunk 0 a caller would dial at home, written in
         * brackets after the country code (E.123); never part of the number. */
        if (c == '(' && in[i + 1] == '0' && in[i + 2] == ')' && o > 1 && out[0] == '+') {
            i += 2;
            continue;
        }
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        bool plus = c == '+' && o == 0;
        if (!plus && (c < '0' || c > '9'))
            return VG_EINVAL;
        if (o + 1 >= n)
            return VG_EINVAL;
        digits += !plus;
        out[o++] = c;
    }
    out[o] = '\0';
    if (digits < 3 || digits > 15)
        return VG_EINVAL;
    return internationalize(out, n);
}

/* Field readers: each returns VG_OK, or VG_EINVAL with why naming the field. */

static int fail(char *why, size_t n, const char *field, const char *what)
{
    snprintf(why, n, "\"%s\" %s", field, what);
    return VG_EINVAL;
}

static int get_str(const json_t *o, const char *key, bool required, size_t min, size_t max,
                   char *out, size_t outlen, char *why, size_t n)
{
    json_t *v = json_object_get(o, key);
    out[0] = '\0';
    if (!v || json_is_null(v))
        return required ? fail(why, n, key, "is required") : VG_OK;
    if (!json_is_string(v))
        return fail(why, n, key, "must be a string");
    size_t len = json_string_length(v);
    if (len < min || len > max || len >= outlen || strlen(json_string_value(v)) != len) {
        char what[80];
        snprintf(what, sizeof what, "must be %zu to %zu bytes of text", min, max);
        return fail(why, n, key, what);
    }
    memcpy(out, json_string_value(v), len + 1);
    return VG_OK;
}

static int get_num(const json_t *o, const char *key, bool required, double min, double max,
                   double *out, bool *present, char *why, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (present)
        *present = false;
    if (!v || json_is_null(v))
        return required ? fail(why, n, key, "is required") : VG_OK;
    if (!json_is_number(v))
        return fail(why, n, key, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max) {
        char what[80];
        snprintf(what, sizeof what, "must be between %g and %g", min, max);
        return fail(why, n, key, what);
    }
    *out = d;
    if (present)
        *present = true;
    return VG_OK;
}

static int get_int(const json_t *o, const char *key, bool required, int64_t min, int64_t max,
                   int64_t *out, char *why, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return required ? fail(why, n, key, "is required") : VG_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char what[80];
        snprintf(what, sizeof what, "must be a whole number from %lld to %lld", (long long)min,
                 (long long)max);
        return fail(why, n, key, what);
    }
    *out = json_integer_value(v);
    return VG_OK;
}

static int get_bool(const json_t *o, const char *key, bool def, bool *out, char *why, size_t n)
{
    json_t *v = json_object_get(o, key);
    *out = def;
    if (!v)
        return VG_OK;
    if (!json_is_boolean(v))
        return fail(why, n, key, "must be true or false");
    *out = json_is_true(v);
    return VG_OK;
}

static int get_phone(const json_t *o, const char *key, char *out, size_t outlen, char *why,
                     size_t n)
{
    char raw[64];
    int rc = get_str(o, key, true, 3, 32, raw, sizeof raw, why, n);
    if (rc)
        return rc;
    if (vg_phone_normalize(raw, out, outlen))
        return fail(why, n, key, "must be a phone number: optional +, 3 to 15 digits");
    return VG_OK;
}

/* Case ids are "c-" and lower-case hex; anything else cannot name a case. */
static int get_case_id(const json_t *o, char *out, size_t outlen, char *why, size_t n)
{
    int rc = get_str(o, "case_id", true, 3, VG_CASE_ID_MAX, out, outlen, why, n);
    if (rc)
        return rc;
    for (const char *c = out; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return fail(why, n, "case_id", "is not a case id");
    return VG_OK;
}

static bool token_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

int vg_msg_fix(const json_t *o, struct vg_fix *f, char *why, size_t n)
{
    memset(f, 0, sizeof *f);
    if (!json_is_object(o))
        return fail(why, n, "location", "must be an object");
    double dev = 0;
    bool has_dev;
    int rc;
    if ((rc = get_num(o, "lat", true, -90, 90, &f->lat, NULL, why, n)) ||
        (rc = get_num(o, "lon", true, -180, 180, &f->lon, NULL, why, n)) ||
        (rc = get_num(o, "accuracy", true, 0, 1e6, &f->accuracy, NULL, why, n)) ||
        (rc = get_num(o, "heading", false, 0, 360, &f->heading, &f->has_heading, why, n)) ||
        (rc = get_num(o, "speed", false, 0, 1000, &f->speed, &f->has_speed, why, n)) ||
        (rc =
             get_num(o, "altitude", false, -1000, 20000, &f->altitude, &f->has_altitude, why, n)) ||
        (rc = get_num(o, "device_time", false, 0, 1e14, &dev, &has_dev, why, n)) ||
        (rc = get_str(o, "source", false, 0, 15, f->source, sizeof f->source, why, n)))
        return rc;
    f->device_ms = has_dev ? (int64_t)dev : 0;
    if (f->source[0] && !token_chars_ok(f->source))
        return fail(why, n, "source", "must be a short lower-case word");
    return VG_OK;
}

/* Caller details are shown to staff as text: a flat object of short strings. */
static int check_caller(const json_t *c, char *why, size_t n)
{
    if (!json_is_object(c) || json_object_size(c) > 8)
        return fail(why, n, "caller", "must be an object of at most 8 short text fields");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c, k, v)
    {
        if (!*k || strlen(k) > 32 || !json_is_string(v) || json_string_length(v) > 500)
            return fail(why, n, "caller",
                        "fields must be named (1-32 bytes) text of at most 500 bytes");
    }
    /* as the store holds it (VG_CALLER_MAX in the case row) */
    char *text = json_dumps(c, JSON_COMPACT);
    size_t len = text ? strlen(text) : SIZE_MAX;
    free(text);
    if (len > VG_MSG_CALLER_MAX)
        return fail(why, n, "caller", "must be at most 4000 bytes in all, as JSON");
    return VG_OK;
}

/* A secret name (client_ref, link): 22 to VG_CLIENT_REF_MAX of [A-Za-z0-9_-]. */
static int get_secret(const json_t *body, const char *key, bool required, char *out, size_t outlen,
                      char *why, size_t n)
{
    int rc = get_str(body, key, required, 22, VG_CLIENT_REF_MAX, out, outlen, why, n);
    if (rc)
        return rc;
    for (const char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return fail(why, n, key, "must be letters, digits, _ or -");
    return VG_OK;
}

static int get_client_ref(const json_t *body, bool required, char *out, size_t outlen, char *why,
                          size_t n)
{
    return get_secret(body, "client_ref", required, out, outlen, why, n);
}

int vg_msg_alarm_cancel(const json_t *body, struct vg_req_alarm *r, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    int rc = get_phone(body, "phone", r->phone, sizeof r->phone, why, n);
    return rc ? rc : get_client_ref(body, true, r->client_ref, sizeof r->client_ref, why, n);
}

int vg_msg_alarm_start(const json_t *body, struct vg_req_alarm *r, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    char mode[16];
    int rc = get_str(body, "mode", true, 1, 15, mode, sizeof mode, why, n);
    if (rc)
        return rc;
    if (vg_mode_parse(mode, &r->mode))
        return fail(why, n, "mode", "must be video, silent, voice or report");
    if ((rc = get_phone(body, "phone", r->phone, sizeof r->phone, why, n)) ||
        (rc = get_bool(body, "callback_allowed", true, &r->callback_allowed, why, n)) ||
        (rc = get_client_ref(body, false, r->client_ref, sizeof r->client_ref, why, n)) ||
        (rc = get_secret(body, "link", false, r->link, sizeof r->link, why, n)))
        return rc;
    json_t *loc = json_object_get(body, "location");
    if (loc && !json_is_null(loc)) {
        if ((rc = vg_msg_fix(loc, &r->fix, why, n)))
            return rc;
        r->has_fix = true;
    }
    json_t *caller = json_object_get(body, "caller");
    if (caller && !json_is_null(caller)) {
        if ((rc = check_caller(caller, why, n)))
            return rc;
        r->caller = caller;
    }
    return VG_OK;
}

int vg_msg_link_create(const json_t *body, struct vg_req_link *r, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    char mode[16] = "video";
    int rc = get_phone(body, "phone", r->phone, sizeof r->phone, why, n);
    if (!rc && json_object_get(body, "mode"))
        rc = get_str(body, "mode", true, 1, 15, mode, sizeof mode, why, n);
    if (rc)
        return rc;
    if (vg_mode_parse(mode, &r->mode) || r->mode == VG_MODE_REPORT)
        return fail(why, n, "mode", "must be video, silent or voice");
    rc = get_str(body, "base", false, 8, 200, r->base, sizeof r->base, why, n);
    if (!rc && r->base[0] && strncmp(r->base, "https://", 8) != 0)
        return fail(why, n, "base", "must be an https:// address");
    for (const char *p = r->base; !rc && *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\' || *p == 0x7f ||
            *p == '@' || *p == '?' || *p == '#')
            return fail(why, n, "base", "must be an address");
    return rc;
}

int vg_msg_login(const json_t *body, struct vg_req_login *r, char *why, size_t n)
{
    int rc = get_str(body, "name", true, 1, VG_NAME_MAX, r->name, sizeof r->name, why, n);
    return rc ? rc
              : get_str(body, "password", true, 1, 128, r->password, sizeof r->password, why, n);
}

int vg_msg_token(const json_t *body, char *token, size_t tlen, char *why, size_t n)
{
    return get_str(body, "token", true, 16, 128, token, tlen, why, n);
}

int vg_msg_case_id(const json_t *body, char *id, size_t idlen, char *why, size_t n)
{
    return get_case_id(body, id, idlen, why, n);
}

/* Text a person typed: no control character but a line break or a tab. Any other
 * is written as six bytes ("\\u0001") in every message that carries it again: a chat
 * of them made a case's message six times the size it was typed as. */
static int typed_text(const json_t *body, size_t min, struct vg_req_chat *r, char *why, size_t n)
{
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc || (rc = get_str(body, "text", true, min, VG_CHAT_MAX, r->text, sizeof r->text, why, n)))
        return rc;
    for (const unsigned char *p = (const unsigned char *)r->text; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f)
            return fail(why, n, "text", "must hold no control character but a line break or tab");
    return VG_OK;
}

int vg_msg_chat(const json_t *body, struct vg_req_chat *r, char *why, size_t n)
{
    return typed_text(body, 1, r, why, n);
}

int vg_msg_chat_draft(const json_t *body, struct vg_req_chat *r, char *why, size_t n)
{
    return typed_text(body, 0, r, why, n);
}

int vg_msg_receipt(const json_t *body, struct vg_req_receipt *r, char *why, size_t n)
{
    char status[16];
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc || (rc = get_int(body, "seq", true, 1, INT32_MAX, &r->seq, why, n)) ||
        (rc = get_str(body, "status", true, 4, 9, status, sizeof status, why, n)))
        return rc;
    if (strcmp(status, "read") && strcmp(status, "delivered"))
        return fail(why, n, "status", "must be delivered or read");
    r->read = strcmp(status, "read") == 0;
    return VG_OK;
}

int vg_msg_end(const json_t *body, struct vg_req_end *r, char *why, size_t n)
{
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc || (rc = get_str(body, "disposition", true, 1, 32, r->disposition, sizeof r->disposition,
                            why, n)))
        return rc;
    if (!token_chars_ok(r->disposition))
        return fail(why, n, "disposition", "must be a word of a-z, 0-9 and _");
    return VG_OK;
}

int vg_msg_callback_done(const json_t *body, struct vg_req_callback *r, char *why, size_t n)
{
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc || (rc = get_str(body, "outcome", true, 1, 32, r->outcome, sizeof r->outcome, why, n)))
        return rc;
    if (!token_chars_ok(r->outcome))
        return fail(why, n, "outcome", "must be a word of a-z, 0-9 and _");
    return VG_OK;
}

int vg_msg_block(const json_t *body, struct vg_req_block *r, bool unblock, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    int rc = get_phone(body, "phone", r->phone, sizeof r->phone, why, n);
    if (rc ||
        (rc = get_str(body, "reason", true, 1, VG_REASON_MAX, r->reason, sizeof r->reason, why, n)))
        return rc;
    if (unblock)
        return VG_OK;
    r->expires_in_s = 30 * 86400;
    return get_int(body, "expires_in_s", false, 60, 400LL * 86400, &r->expires_in_s, why, n);
}

int vg_msg_case_search(const json_t *body, struct vg_req_search *r, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    r->limit = 50;
    int rc = VG_OK;
    if (json_object_get(body, "phone") && !json_is_null(json_object_get(body, "phone")))
        rc = get_phone(body, "phone", r->phone, sizeof r->phone, why, n);
    if (rc || (rc = get_int(body, "from", false, 0, INT64_MAX / 1000, &r->from_ms, why, n)) ||
        (rc = get_int(body, "to", false, 0, INT64_MAX / 1000, &r->to_ms, why, n)) ||
        (rc = get_int(body, "limit", false, 1, VG_SEARCH_MAX, &r->limit, why, n)))
        return rc;
    if (r->to_ms && r->from_ms >= r->to_ms)
        return fail(why, n, "to", "must be after from");
    return VG_OK;
}

int vg_msg_unit_status(const json_t *body, struct vg_req_unit *r, char *why, size_t n)
{
    static const char *const statuses[] = {"dispatched", "en_route", "on_scene", "cleared"};
    memset(r, 0, sizeof *r);
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc ||
        (rc = get_str(body, "unit", true, 1, VG_UNIT_NAME_MAX, r->unit, sizeof r->unit, why, n)) ||
        (rc = get_str(body, "status", true, 1, 15, r->status, sizeof r->status, why, n)))
        return rc;
    for (const unsigned char *p = (const unsigned char *)r->unit; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return fail(why, n, "unit", "must hold no control character");
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || strcmp(r->status, statuses[i]) == 0;
    if (!known)
        return fail(why, n, "status", "must be dispatched, en_route, on_scene or cleared");
    json_t *eta = json_object_get(body, "eta_s");
    r->has_eta = eta && !json_is_null(eta);
    return r->has_eta ? get_int(body, "eta_s", true, 0, 86400, &r->eta_s, why, n) : VG_OK;
}

int vg_msg_status(const json_t *body, bool *available, char *why, size_t n)
{
    char s[16];
    int rc = get_str(body, "status", true, 1, 15, s, sizeof s, why, n);
    if (rc)
        return rc;
    if (strcmp(s, "available") && strcmp(s, "away"))
        return fail(why, n, "status", "must be available or away");
    *available = strcmp(s, "available") == 0;
    return VG_OK;
}

int vg_msg_alert_ack(const json_t *body, int64_t *alert_id, char *why, size_t n)
{
    return get_int(body, "alert_id", true, 1, INT64_MAX, alert_id, why, n);
}

int vg_msg_rate(const json_t *body, struct vg_req_rate *r, char *why, size_t n)
{
    int64_t stars = 0;
    int rc = get_case_id(body, r->case_id, sizeof r->case_id, why, n);
    if (rc || (rc = get_int(body, "stars", true, 1, 5, &stars, why, n)) ||
        (rc = get_str(body, "comment", false, 0, 500, r->comment, sizeof r->comment, why, n)))
        return rc;
    r->stars = (int)stars;
    return VG_OK;
}
