/* Request validation: every field's type, length and range; reasons name the field. */
#include "msg.h"
#include "vg_err.h"
#include "vt.h"

#include <jansson.h>

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        fprintf(stderr, "bad test JSON: %s\n", text);
    return j;
}

static void test_phone(void)
{
    static const struct {
        const char *in, *want;
    } ok[] = {{"+86 138-1234-5678", "+8613812345678"},
              {"(030) 123.456", "030123456"},
              {"110", "110"},
              {"+123456789012345", "+123456789012345"},
              {"+86 (0)138 1234 5678", "+8613812345678"}, /* the trunk 0 in brackets */
              {"+44(0)20 7946 0000", "+442079460000"},
              {"(0)30 123456", "030123456"}}; /* at the start it is the number's own */
    char out[VG_PHONE_MAX + 1];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        VT_EQ_INT(vg_phone_normalize(ok[i].in, out, sizeof out), VG_OK);
        VT_EQ_STR(out, ok[i].want);
    }
    const char *bad[] = {"", "12", "+", "1+2345", "12a45", "+1234567890123456", "++123", "phone"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        VT_EQ_INT(vg_phone_normalize(bad[i], out, sizeof out), VG_EINVAL);
    /* With a country code, one caller however the number is written. */
    VT_EQ_INT(vg_phone_set_country("86"), VG_OK);
    static const struct {
        const char *in, *want;
    } cn[] = {{"13800000006", "+8613800000006"},        /* a mobile, national */
              {"+86 138 0000 0006", "+8613800000006"},  /* international */
              {"0086 138 0000 0006", "+8613800000006"}, /* the international prefix */
              {"(0716) 123 4567", "+867161234567"},     /* a landline with the trunk 0 */
              {"86 138 0000 0006", "+8613800000006"},   /* the code without its "+" */
              {"8613800000006", "+8613800000006"},
              {"86123456", "+8686123456"},         /* a local number from 86 */
              {"861012345678", "+86861012345678"}, /* not a mobile: as national */
              {"+49 30 1234567", "+49301234567"}}; /* another country's, as written */
    for (size_t i = 0; i < sizeof cn / sizeof cn[0]; i++) {
        VT_EQ_INT(vg_phone_normalize(cn[i].in, out, sizeof out), VG_OK);
        VT_EQ_STR(out, cn[i].want);
    }
    VT_EQ_INT(vg_phone_normalize("8613800000006123", out, sizeof out), VG_EINVAL); /* 18 digits */
    VT_EQ_INT(vg_phone_set_country("086"), VG_EINVAL);
    VT_EQ_INT(vg_phone_set_country("12345"), VG_EINVAL);
    VT_EQ_INT(vg_phone_set_country("8a"), VG_EINVAL);
    VT_EQ_INT(vg_phone_set_country(""), VG_OK);
    VT_EQ_INT(vg_phone_normalize("13800000006", out, sizeof out), VG_OK);
    VT_EQ_STR(out, "13800000006");
}

static void test_alarm(void)
{
    struct vg_req_alarm r;
    char why[200];
    json_t *j = J("{\"mode\":\"silent\",\"phone\":\"+86 138 0000 0001\",\"callback_allowed\":false,"
                  "\"location\":{\"lat\":30.5,\"lon\":114.3,\"accuracy\":8,\"heading\":90,"
                  "\"source\":\"gps\",\"device_time\":1790000000000},"
                  "\"caller\":{\"name\":\"Li\",\"language\":\"zh\"},\"future_field\":1}");
    VT_EQ_INT(vg_msg_alarm_start(j, &r, why, sizeof why), VG_OK);
    VT_EQ_INT(r.mode, VG_MODE_SILENT);
    VT_EQ_STR(r.phone, "+8613800000001");
    VT_CHECK(!r.callback_allowed && r.has_fix && r.fix.has_heading && !r.fix.has_speed);
    VT_CHECK(r.fix.lat == 30.5 && r.fix.accuracy == 8 && r.fix.device_ms == 1790000000000);
    VT_EQ_STR(r.fix.source, "gps");
    VT_CHECK(r.caller != NULL);
    json_decref(j);

    j = J("{\"mode\":\"video\",\"phone\":\"110\"}");
    VT_EQ_INT(vg_msg_alarm_start(j, &r, why, sizeof why), VG_OK);
    VT_CHECK(r.callback_allowed && !r.has_fix && r.caller == NULL); /* defaults */
    json_decref(j);

    static const struct {
        const char *in, *why;
    } bad[] = {
        {"{\"phone\":\"110\"}", "\"mode\" is required"},
        {"{\"mode\":\"panic\",\"phone\":\"110\"}", "\"mode\" must be video, silent"},
        {"{\"mode\":5,\"phone\":\"110\"}", "\"mode\" must be a string"},
        {"{\"mode\":\"video\"}", "\"phone\" is required"},
        {"{\"mode\":\"video\",\"phone\":\"abc\"}", "\"phone\" must be a phone number"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"callback_allowed\":\"yes\"}",
         "\"callback_allowed\" must be true or false"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"location\":[1,2]}",
         "\"location\" must be an object"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"location\":{\"lat\":91,\"lon\":0,\"accuracy\":1}"
         "}",
         "\"lat\" must be between -90 and 90"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"location\":{\"lat\":1,\"lon\":0}}",
         "\"accuracy\" is required"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"location\":{\"lat\":\"1\",\"lon\":0,"
         "\"accuracy\":1}}",
         "\"lat\" must be a number"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"location\":{\"lat\":1,\"lon\":0,\"accuracy\":1,"
         "\"source\":\"GPS!\"}}",
         "\"source\" must be a short lower-case word"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"caller\":{\"name\":7}}", "\"caller\" fields"},
        /* an unnamed field had broken the console's caller card */
        {"{\"mode\":\"video\",\"phone\":\"110\",\"caller\":{\"\":\"x\"}}",
         "\"caller\" fields must be named"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"client_ref\":\"short\"}",
         "\"client_ref\" must be 22 to 64"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"client_ref\":\"0123456789abcdef0123456789!\"}",
         "\"client_ref\" must be letters"},
        {"{\"mode\":\"video\",\"phone\":\"110\",\"caller\":\"Li\"}",
         "\"caller\" must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = J(bad[i].in);
        why[0] = '\0';
        VT_EQ_INT(vg_msg_alarm_start(j, &r, why, sizeof why), VG_EINVAL);
        VT_CONTAINS(why, bad[i].why);
        json_decref(j);
    }
}

static void test_others(void)
{
    char why[200], id[VG_CASE_ID_MAX + 1];
    json_t *j = J("{\"case_id\":\"c-0123456789ab\"}");
    VT_EQ_INT(vg_msg_case_id(j, id, sizeof id, why, sizeof why), VG_OK);
    VT_EQ_STR(id, "c-0123456789ab");
    json_decref(j);
    j = J("{\"case_id\":\"../etc\"}");
    VT_EQ_INT(vg_msg_case_id(j, id, sizeof id, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"case_id\" is not a case id");
    json_decref(j);

    struct vg_req_chat c;
    j = J("{\"case_id\":\"c-1\",\"text\":\"\"}");
    VT_EQ_INT(vg_msg_chat(j, &c, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"text\" must be 1 to 2000 bytes");
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"text\":\"a\\u0000b\"}");
    VT_EQ_INT(vg_msg_chat(j, &c, why, sizeof why), VG_EINVAL); /* embedded NUL */
    json_decref(j);
    /* typed text: line breaks and tabs, and no other control character */
    j = J("{\"case_id\":\"c-1\",\"text\":\"flat 3\\n\\tsecond floor\\r\\n\"}");
    VT_EQ_INT(vg_msg_chat(j, &c, why, sizeof why), VG_OK);
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"text\":\"a\\u0001b\"}");
    VT_EQ_INT(vg_msg_chat(j, &c, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"text\" must hold no control character");
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"text\":\"\\u007f\"}");
    VT_EQ_INT(vg_msg_chat_draft(j, &c, why, sizeof why), VG_EINVAL);
    json_decref(j);

    struct vg_req_search q;
    j = J("{}");
    VT_EQ_INT(vg_msg_case_search(j, &q, why, sizeof why), VG_OK);
    VT_CHECK(q.phone[0] == '\0' && q.limit == 50 && q.from_ms == 0 && q.to_ms == 0);
    json_decref(j);
    j = J("{\"phone\":\"+86 138 0000 0041\",\"from\":1000,\"to\":2000,\"limit\":3}");
    VT_EQ_INT(vg_msg_case_search(j, &q, why, sizeof why), VG_OK);
    VT_EQ_STR(q.phone, "+8613800000041");
    VT_CHECK(q.from_ms == 1000 && q.to_ms == 2000 && q.limit == 3);
    json_decref(j);
    j = J("{\"from\":2000,\"to\":2000}");
    VT_EQ_INT(vg_msg_case_search(j, &q, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"to\" must be after from");
    json_decref(j);
    j = J("{\"limit\":201}");
    VT_EQ_INT(vg_msg_case_search(j, &q, why, sizeof why), VG_EINVAL);
    json_decref(j);

    struct vg_req_unit un;
    j = J("{\"case_id\":\"c-1\",\"unit\":\"Patrol 12\",\"status\":\"en_route\",\"eta_s\":300}");
    VT_EQ_INT(vg_msg_unit_status(j, &un, why, sizeof why), VG_OK);
    VT_CHECK(un.has_eta && un.eta_s == 300 && strcmp(un.status, "en_route") == 0);
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"unit\":\"P\",\"status\":\"on_scene\",\"eta_s\":null}");
    VT_EQ_INT(vg_msg_unit_status(j, &un, why, sizeof why), VG_OK);
    VT_CHECK(!un.has_eta);
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"unit\":\"P\",\"status\":\"lost\"}");
    VT_EQ_INT(vg_msg_unit_status(j, &un, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"status\" must be dispatched");
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"unit\":\"P\\u0007\",\"status\":\"cleared\"}");
    VT_EQ_INT(vg_msg_unit_status(j, &un, why, sizeof why), VG_EINVAL);
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"unit\":\"P\",\"status\":\"cleared\",\"eta_s\":86401}");
    VT_EQ_INT(vg_msg_unit_status(j, &un, why, sizeof why), VG_EINVAL);
    json_decref(j);

    struct vg_req_receipt rr;
    j = J("{\"case_id\":\"c-1\",\"seq\":3,\"status\":\"read\"}");
    VT_EQ_INT(vg_msg_receipt(j, &rr, why, sizeof why), VG_OK);
    VT_CHECK(rr.read && rr.seq == 3);
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"seq\":0,\"status\":\"read\"}");
    VT_EQ_INT(vg_msg_receipt(j, &rr, why, sizeof why), VG_EINVAL);
    json_decref(j);

    struct vg_req_end e;
    j = J("{\"case_id\":\"c-1\",\"disposition\":\"Drop Table\"}");
    VT_EQ_INT(vg_msg_end(j, &e, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"disposition\"");
    json_decref(j);

    struct vg_req_callback cb;
    j = J("{\"case_id\":\"c-1\",\"outcome\":\"no_answer\"}");
    VT_EQ_INT(vg_msg_callback_done(j, &cb, why, sizeof why), VG_OK);
    VT_EQ_STR(cb.outcome, "no_answer");
    json_decref(j);
    j = J("{\"case_id\":\"c-1\",\"outcome\":\"Reached!\"}");
    VT_EQ_INT(vg_msg_callback_done(j, &cb, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"outcome\"");
    json_decref(j);
    j = J("{\"case_id\":\"c-1\"}");
    VT_EQ_INT(vg_msg_callback_done(j, &cb, why, sizeof why), VG_EINVAL);
    json_decref(j);

    struct vg_req_block b;
    j = J("{\"phone\":\"+86138\",\"reason\":\"pranks\"}");
    VT_EQ_INT(vg_msg_block(j, &b, false, why, sizeof why), VG_OK);
    VT_EQ_INT(b.expires_in_s, 30 * 86400);
    json_decref(j);
    j = J("{\"phone\":\"+86138\",\"reason\":\"x\",\"expires_in_s\":5}");
    VT_EQ_INT(vg_msg_block(j, &b, false, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"expires_in_s\" must be a whole number from 60");
    json_decref(j);

    bool avail;
    j = J("{\"status\":\"busy\"}");
    VT_EQ_INT(vg_msg_status(j, &avail, why, sizeof why), VG_EINVAL);
    json_decref(j);
    struct vg_req_rate rate;
    j = J("{\"case_id\":\"c-1\",\"stars\":6}");
    VT_EQ_INT(vg_msg_rate(j, &rate, why, sizeof why), VG_EINVAL);
    json_decref(j);
    int64_t alert_id = 0;
    j = J("{\"alert_id\":0}");
    VT_EQ_INT(vg_msg_alert_ack(j, &alert_id, why, sizeof why), VG_EINVAL);
    json_decref(j);
    j = J("{\"alert_id\":\"7\"}");
    VT_EQ_INT(vg_msg_alert_ack(j, &alert_id, why, sizeof why), VG_EINVAL);
    json_decref(j);
    j = J("{\"alert_id\":7}");
    VT_EQ_INT(vg_msg_alert_ack(j, &alert_id, why, sizeof why), VG_OK);
    VT_EQ_INT(alert_id, 7);
    json_decref(j);
    struct vg_req_login l;
    j = J("{\"name\":\"ann\"}");
    VT_EQ_INT(vg_msg_login(j, &l, why, sizeof why), VG_EINVAL);
    VT_CONTAINS(why, "\"password\" is required");
    json_decref(j);
}

int main(void)
{
    test_phone();
    test_alarm();
    test_others();
    return vt_done("msg");
}
