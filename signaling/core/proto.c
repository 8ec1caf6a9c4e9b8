#include "proto.h"

#include "vg_err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Reads "id" (a string or an integer) so errors can echo it. */
static int read_id(json_t *obj, char *id, size_t n)
{
    json_t *v = json_object_get(obj, "id");
    if (!v)
        return VG_OK;
    if (json_is_string(v) && json_string_length(v) <= VG_PROTO_ID_MAX) {
        snprintf(id, n, "%s", json_string_value(v));
        return VG_OK;
    }
    if (json_is_integer(v)) {
        snprintf(id, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return VG_OK;
    }
    return VG_EINVAL;
}

int vg_proto_parse(const char *buf, size_t len, struct vg_proto_msg *msg, char *why, size_t why_len)
{
    memset(msg, 0, sizeof *msg);
    json_error_t jerr;
    /* REJECT_DUPLICATES: two "type" keys would let a client smuggle a request past
     * a check that read the other one. */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(why, why_len, "not valid JSON at byte %d: %s", jerr.position, jerr.text);
        return VG_EINVAL;
    }
    if (!json_is_object(root)) {
        snprintf(why, why_len, "a message must be a JSON object");
        json_decref(root);
        return VG_EINVAL;
    }
    if (read_id(root, msg->id, sizeof msg->id)) {
        snprintf(why, why_len, "\"id\" must be a string of at most %d characters or an integer",
                 VG_PROTO_ID_MAX);
        json_decref(root);
        return VG_EINVAL;
    }
    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type) || json_string_length(type) == 0 ||
        json_string_length(type) > VG_PROTO_TYPE_MAX) {
        snprintf(why, why_len, "\"type\" must be a non-empty string of at most %d characters",
                 VG_PROTO_TYPE_MAX);
        json_decref(root);
        return VG_EINVAL;
    }
    snprintf(msg->type, sizeof msg->type, "%s", json_string_value(type));
    msg->body = root;
    return VG_OK;
}

void vg_proto_msg_free(struct vg_proto_msg *msg)
{
    if (msg && msg->body) {
        json_decref(msg->body);
        msg->body = NULL;
    }
}

static char *dump_and_free(json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return s;
}

char *vg_proto_error(const char *id, const char *code, const char *message)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message);
    if (o && id && *id)
        json_object_set_new(o, "id", json_string(id));
    return dump_and_free(o);
}

char *vg_proto_hello_reply(const char *id, const char *server_version, const char *sms_number)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "type", "hello", "server", "vigil", "version",
                          server_version, "protocol", VG_PROTO_VERSION);
    if (o && sms_number && *sms_number)
        json_object_set_new(o, "sms_alarm", json_string(sms_number));
    if (o && id && *id)
        json_object_set_new(o, "id", json_string(id));
    return dump_and_free(o);
}
