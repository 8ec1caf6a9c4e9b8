/* Typed, validated client requests (docs/protocol.md), sans-IO.
 *
 * Each vg_msg_<request>() reads one parsed envelope body into a fixed-size struct,
 * checking every field's type, length and range. Unknown fields are ignored (a
 * newer client may send more); a wrong field is refused with a reason naming it,
 * written into why, for the client's `invalid_field` error. Nothing here allocates
 * or keeps a reference to the JSON except where a field says "borrowed". */
#ifndef VG_MSG_H
#define VG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_t;

enum vg_mode { VG_MODE_SILENT = 0, VG_MODE_VIDEO, VG_MODE_VOICE, VG_MODE_REPORT };

#define VG_CASE_ID_MAX 23
#define VG_PHONE_MAX 20 /* "+" and up to 15 digits (E.164), normalized */
#define VG_NAME_MAX 64
#define VG_CHAT_MAX 2000
#define VG_CLIENT_REF_MAX 64
#define VG_MSG_CALLER_MAX 4000 /* alarm_start's caller as compact JSON, bytes */
#define VG_REASON_MAX 256

const char *vg_mode_name(enum vg_mode m);
/* Parses "video", "silent", "voice", "report". */
int vg_mode_parse(const char *s, enum vg_mode *out);

/* Normalizes a phone number: spaces, dashes, dots and parentheses dropped; an
 * optional leading '+' and 3 to 15 digits remain. VG_EINVAL otherwise. */
int vg_phone_normalize(const char *in, char *out, size_t n);
/* The country code (1-4 digits, or "" for none) a number written without "+" belongs
 * to: with "86", "13800000006" and "+86 138 0000 0006" are the same caller, so a
 * block, a key person or a repeat count is not dodged by writing it the other way.
 * Process-wide, set at start from [service_area] country_code. */
int vg_phone_set_country(const char *code);

struct vg_fix {
    double lat, lon, accuracy; /* degrees, degrees, metres (> 0) */
    double heading, speed, altitude;
    bool has_heading, has_speed, has_altitude;
    char source[16];   /* "gps", "network", "wifi", "cell", "manual" or "" */
    int64_t device_ms; /* the device's clock, ms since the epoch; 0 = not given */
};

/* A location object: {"lat", "lon", "accuracy", "heading"?, "speed"?, "altitude"?,
 * "source"?, "device_time"?}. */
int vg_msg_fix(const struct json_t *o, struct vg_fix *f, char *why, size_t n);

struct vg_req_alarm {
    enum vg_mode mode;
    char phone[VG_PHONE_MAX + 1];
    bool callback_allowed;
    bool has_fix;
    struct vg_fix fix;
    const struct json_t *caller; /* borrowed; an object of short strings, or NULL */
    /* The client's name for this alarm (22-64 of [A-Za-z0-9_-], unguessable), sent
     * again with each try: a try whose answer was lost gets the same case back. ""
     * if none. */
    char client_ref[VG_CLIENT_REF_MAX + 1];
    /* A video link a call-taker sent this caller (link_create): the alarm rings at
     * that call-taker first. "" if none. */
    char link[VG_CLIENT_REF_MAX + 1];
};
int vg_msg_alarm_start(const struct json_t *body, struct vg_req_alarm *r, char *why, size_t n);

/* link_create: {phone, mode? (video, silent or voice; video if absent), base? (the
 * https:// address of the citizen page, as the console knows it)}. */
struct vg_req_link {
    enum vg_mode mode;
    char phone[VG_PHONE_MAX + 1];
    char base[201];
};
int vg_msg_link_create(const struct json_t *body, struct vg_req_link *r, char *why, size_t n);
/* alarm_cancel: phone and client_ref (required), into r's fields of those names. */
int vg_msg_alarm_cancel(const struct json_t *body, struct vg_req_alarm *r, char *why, size_t n);

struct vg_req_login {
    char name[VG_NAME_MAX + 1];
    char password[129];
};
int vg_msg_login(const struct json_t *body, struct vg_req_login *r, char *why, size_t n);

/* {"token": "..."}: staff session resume or citizen case resume. */
int vg_msg_token(const struct json_t *body, char *token, size_t tlen, char *why, size_t n);

/* Requests that name one case: {"case_id": "..."}. */
int vg_msg_case_id(const struct json_t *body, char *id, size_t idlen, char *why, size_t n);

struct vg_req_chat {
    char case_id[VG_CASE_ID_MAX + 1];
    char text[VG_CHAT_MAX + 1];
};
int vg_msg_chat(const struct json_t *body, struct vg_req_chat *r, char *why, size_t n);
/* chat_draft: as chat, the text may be empty (the box cleared). */
int vg_msg_chat_draft(const struct json_t *body, struct vg_req_chat *r, char *why, size_t n);

struct vg_req_receipt {
    char case_id[VG_CASE_ID_MAX + 1];
    int64_t seq;
    bool read; /* else delivered */
};
int vg_msg_receipt(const struct json_t *body, struct vg_req_receipt *r, char *why, size_t n);

struct vg_req_end {
    char case_id[VG_CASE_ID_MAX + 1];
    char disposition[33]; /* a short token: [a-z0-9_]{1,32} */
};
int vg_msg_end(const struct json_t *body, struct vg_req_end *r, char *why, size_t n);

/* callback_done: case_id and outcome (a word, as a disposition). */
struct vg_req_callback {
    char case_id[VG_CASE_ID_MAX + 1];
    char outcome[33]; /* [a-z0-9_]{1,32} */
};
int vg_msg_callback_done(const struct json_t *body, struct vg_req_callback *r, char *why, size_t n);

struct vg_req_block {
    char phone[VG_PHONE_MAX + 1];
    char reason[VG_REASON_MAX + 1];
    int64_t expires_in_s; /* block: 60 s .. 400 days; unblock: unused */
};
int vg_msg_block(const struct json_t *body, struct vg_req_block *r, bool unblock, char *why,
                 size_t n);

/* case_search: closed and live cases by number and time, the latest first. */
#define VG_SEARCH_MAX 200
struct vg_req_search {
    char phone[VG_PHONE_MAX + 1]; /* "" = any */
    int64_t from_ms, to_ms;       /* created in [from, to); 0 = open-ended */
    int64_t limit;                /* 1 .. VG_SEARCH_MAX, 50 if not given */
};
int vg_msg_case_search(const struct json_t *body, struct vg_req_search *r, char *why, size_t n);

/* The dispatch system's word of a unit (POST /api/dispatch/status). */
#define VG_UNIT_NAME_MAX 64
struct vg_req_unit {
    char case_id[VG_CASE_ID_MAX + 1];
    char unit[VG_UNIT_NAME_MAX + 1];
    char status[16]; /* dispatched, en_route, on_scene, cleared */
    bool has_eta;
    int64_t eta_s; /* 0 .. 86400 */
};
int vg_msg_unit_status(const struct json_t *body, struct vg_req_unit *r, char *why, size_t n);

/* {"status": "available" | "away"}; *available receives which. */
int vg_msg_status(const struct json_t *body, bool *available, char *why, size_t n);

struct vg_req_rate {
    char case_id[VG_CASE_ID_MAX + 1];
    int stars; /* 1..5 */
    char comment[501];
};
int vg_msg_rate(const struct json_t *body, struct vg_req_rate *r, char *why, size_t n);

/* {"alert_id": N}, N >= 1. */
int vg_msg_alert_ack(const struct json_t *body, int64_t *alert_id, char *why, size_t n);

#endif
