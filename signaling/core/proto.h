/* The client protocol's envelope (docs/protocol.md), sans-IO.
 *
 * Every client message is one JSON object in one WebSocket text message:
 *   {"type": "<request>", "id": "<client's id>", ...fields}
 * A reply echoes `id`; an error carries a stable `code` and a human `message`.
 * This module only reads and writes envelopes: it owns no connection and no case.
 * The request handlers (the case model) take a parsed vg_proto_msg. */
#ifndef VG_PROTO_H
#define VG_PROTO_H

#include <stddef.h>

#define VG_PROTO_VERSION 1
#define VG_PROTO_ID_MAX 64
#define VG_PROTO_TYPE_MAX 32

/* Stable error codes sent to clients. */
#define VG_PROTO_E_MALFORMED "malformed"   /* not JSON, not an object, bad envelope */
#define VG_PROTO_E_TOO_LARGE "too_large"   /* message over the size limit */
#define VG_PROTO_E_UNKNOWN "unknown_type"  /* no such request */
#define VG_PROTO_E_INVALID "invalid_field" /* a field has the wrong type or range */
#define VG_PROTO_E_FORBIDDEN "forbidden"   /* the role may not do this */

struct json_t;

struct vg_proto_msg {
    char type[VG_PROTO_TYPE_MAX + 1];
    char id[VG_PROTO_ID_MAX + 1]; /* "" when the client sent none */
    struct json_t *body;          /* the whole object; owned by the msg */
};

/* Parses one message of len bytes. On success fills msg (free it with
 * vg_proto_msg_free). On failure returns VG_EINVAL and writes a reason (for the
 * client's error message) into why; msg->id is filled if it could be read, so the
 * error can still echo it. */
int vg_proto_parse(const char *buf, size_t len, struct vg_proto_msg *msg, char *why,
                   size_t why_len);

void vg_proto_msg_free(struct vg_proto_msg *msg);

/* Builds {"type":"error","id":id,"code":code,"message":message}. id may be "" or
 * NULL (then omitted). Returns a malloc'd string the caller frees, or NULL. */
char *vg_proto_error(const char *id, const char *code, const char *message);

/* Builds the reply to "hello": server name, version and protocol version. */
/* sms_number: where text alarms go by SMS ([service_area] sms_number), for a
 * citizen's page to offer when the alarm cannot be sent; NULL or "": none. */
char *vg_proto_hello_reply(const char *id, const char *server_version, const char *sms_number);

#endif
