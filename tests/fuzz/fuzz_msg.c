/* Typed requests: any JSON body through every validator. A validator either
 * accepts (and leaves only bounded, NUL-terminated strings) or refuses with a
 * reason naming a field; never reads or writes out of bounds. */
#include "msg.h"
#include "vg_err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need_reason(int rc, const char *why)
{
    if (rc != VG_OK && (rc != VG_EINVAL || why[0] != '"'))
        abort(); /* a refusal names the field, in quotes */
}

static void bounded(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    char why[200], id[VG_CASE_ID_MAX + 1], tok[129];
    bool avail;
    struct vg_req_alarm a;
    struct vg_req_login l;
    struct vg_req_chat c;
    struct vg_req_receipt r;
    struct vg_req_end e;
    struct vg_req_callback cb;
    struct vg_req_block b;
    struct vg_req_rate rt;
    struct vg_fix f;
    why[0] = '\0';
    int rc = vg_msg_alarm_start(body, &a, why, sizeof why);
    need_reason(rc, why);
    if (rc == VG_OK) {
        bounded(a.phone, sizeof a.phone);
        bounded(a.link, sizeof a.link);
        if (a.has_fix && (a.fix.lat < -90 || a.fix.lat > 90 || a.fix.accuracy < 0))
            abort();
    }
    struct vg_req_link lk;
    why[0] = '\0';
    if ((rc = vg_msg_link_create(body, &lk, why, sizeof why)) == VG_OK) {
        bounded(lk.base, sizeof lk.base);
        if (lk.mode == VG_MODE_REPORT || (lk.base[0] && strncmp(lk.base, "https://", 8) != 0) ||
            strpbrk(lk.base, "\"<> \\"))
            abort(); /* the address goes into an SMS and a page as it is */
    }
    need_reason(rc, why);
    why[0] = '\0';
    if ((rc = vg_msg_alarm_cancel(body, &a, why, sizeof why)) == VG_OK)
        bounded(a.client_ref, sizeof a.client_ref);
    need_reason(rc, why);
    why[0] = '\0';
    need_reason(vg_msg_login(body, &l, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_token(body, tok, sizeof tok, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_case_id(body, id, sizeof id, why, sizeof why), why);
    why[0] = '\0';
    if ((rc = vg_msg_chat(body, &c, why, sizeof why)) == VG_OK)
        bounded(c.text, sizeof c.text);
    need_reason(rc, why);
    why[0] = '\0';
    if ((rc = vg_msg_chat_draft(body, &c, why, sizeof why)) == VG_OK)
        bounded(c.text, sizeof c.text);
    need_reason(rc, why);
    why[0] = '\0';
    need_reason(vg_msg_receipt(body, &r, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_end(body, &e, why, sizeof why), why);
    why[0] = '\0';
    if ((rc = vg_msg_callback_done(body, &cb, why, sizeof why)) == VG_OK)
        bounded(cb.outcome, sizeof cb.outcome);
    need_reason(rc, why);
    why[0] = '\0';
    need_reason(vg_msg_block(body, &b, false, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_block(body, &b, true, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_status(body, &avail, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_rate(body, &rt, why, sizeof why), why);
    why[0] = '\0';
    need_reason(vg_msg_fix(body, &f, why, sizeof why), why);
    why[0] = '\0';
    int64_t alert_id;
    need_reason(vg_msg_alert_ack(body, &alert_id, why, sizeof why), why);
    why[0] = '\0';
    struct vg_req_search q;
    if ((rc = vg_msg_case_search(body, &q, why, sizeof why)) == VG_OK) {
        bounded(q.phone, sizeof q.phone);
        if (q.limit < 1 || q.limit > VG_SEARCH_MAX || (q.to_ms && q.from_ms >= q.to_ms))
            abort(); /* a search outside what the parser promises */
    }
    need_reason(rc, why);
    why[0] = '\0';
    struct vg_req_unit u;
    if ((rc = vg_msg_unit_status(body, &u, why, sizeof why)) == VG_OK) {
        bounded(u.unit, sizeof u.unit);
        if (!u.unit[0] || (u.has_eta && (u.eta_s < 0 || u.eta_s > 86400)))
            abort(); /* a unit's word outside what the parser promises */
    }
    need_reason(rc, why);
    json_decref(body);
    return 0;
}
