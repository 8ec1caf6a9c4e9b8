#include "proto.h"
#include "vg_err.h"
#include "vt.h"

#include <jansson.h>
#include <stdlib.h>

static void test_vectors(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *type, *id, *why;
    } v[] = {
        {"{\"type\":\"hello\",\"id\":\"r1\"}", VG_OK, "hello", "r1", NULL},
        {"{\"type\":\"hello\",\"id\":42}", VG_OK, "hello", "42", NULL},
        {"{\"type\":\"hello\"}", VG_OK, "hello", "", NULL},
        {"{\"type\":\"hello\",\"extra\":[1,2]}", VG_OK, "hello", "", NULL}, /* unknown ignored */
        {"", VG_EINVAL, NULL, "", "not valid JSON"},
        {"{", VG_EINVAL, NULL, "", "not valid JSON"},
        {"[1,2]", VG_EINVAL, NULL, "", "JSON object"},
        {"\"hello\"", VG_EINVAL, NULL, "", "not valid JSON"},
        {"{\"id\":\"x\"}", VG_EINVAL, NULL, "x", "\"type\""},
        {"{\"type\":5,\"id\":\"x\"}", VG_EINVAL, NULL, "x", "\"type\""},
        {"{\"type\":\"\"}", VG_EINVAL, NULL, "", "\"type\""},
        {"{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", VG_EINVAL, NULL, "", "\"type\""},
        {"{\"type\":\"hello\",\"id\":{}}", VG_EINVAL, NULL, "", "\"id\""},
        {"{\"type\":\"hello\",\"type\":\"alarm\"}", VG_EINVAL, NULL, "", "duplicate"},
        {"{\"type\":\"hello\"} trailing", VG_EINVAL, NULL, "", "not valid JSON"},
        {"{\"type\":\"he\\u0000llo\"}", VG_EINVAL, NULL, "", "not valid JSON"},
        {"{\"type\":\"\xff\"}", VG_EINVAL, NULL, "", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_proto_msg m;
        char why[200] = "";
        int rc = vg_proto_parse(v[i].in, strlen(v[i].in), &m, why, sizeof why);
        if (rc != v[i].rc)
            fprintf(stderr, "vector %zu (%s): rc %d why %s\n", i, v[i].in, rc, why);
        VT_EQ_INT(rc, v[i].rc);
        VT_EQ_STR(m.id, v[i].id);
        if (rc == VG_OK)
            VT_EQ_STR(m.type, v[i].type);
        else
            VT_CONTAINS(why, v[i].why);
        vg_proto_msg_free(&m);
    }
}

static void test_replies(void)
{
    char *e = vg_proto_error("r7", VG_PROTO_E_MALFORMED, "bad \"quote\"");
    json_t *j = json_loads(e, 0, NULL);
    VT_CHECK(j != NULL);
    VT_EQ_STR(json_string_value(json_object_get(j, "type")), "error");
    VT_EQ_STR(json_string_value(json_object_get(j, "id")), "r7");
    VT_EQ_STR(json_string_value(json_object_get(j, "code")), "malformed");
    VT_EQ_STR(json_string_value(json_object_get(j, "message")), "bad \"quote\"");
    json_decref(j);
    free(e);
    e = vg_proto_error(NULL, VG_PROTO_E_TOO_LARGE, "x");
    VT_CHECK(strstr(e, "\"id\"") == NULL);
    free(e);
    char *h = vg_proto_hello_reply("1", "9.9.9", "");
    VT_CONTAINS(h, "\"protocol\":1");
    VT_CONTAINS(h, "\"version\":\"9.9.9\"");
    VT_CHECK(strstr(h, "sms_alarm") == NULL); /* none configured: none offered */
    free(h);
    h = vg_proto_hello_reply("1", "9.9.9", "12110");
    VT_CONTAINS(h, "\"sms_alarm\":\"12110\"");
    free(h);
}

int main(void)
{
    test_vectors();
    test_replies();
    return vt_done("proto");
}
