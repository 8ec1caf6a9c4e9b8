/* The Janus target: Debian's janus (1.1.2) with its VideoRoom plugin, configured in
 * a temp dir at run time, spoken to over its WebSocket API (janus-protocol).
 *
 * A call is one room: the citizen is its publisher, the call-taker a subscriber.
 * The publisher creates a session, attaches to the plugin, creates the room
 * (recording on or off) and joins it with its offer (joinandconfigure); once Janus
 * reports the publisher's PeerConnection up (webrtcup: VideoRoom refuses a
 * subscriber before that), the subscriber does the same on its own connection,
 * answers Janus's offer and starts. Setup time runs from the publisher's first
 * message to the first whole keyframe at the subscriber.
 *
 * Janus 1.1.2 skips loopback interfaces when gathering and has no setting to allow
 * them, so on a loopback-only namespace it is started with LD_PRELOAD of
 * libvigil-janus-lo.so (janus_lo_shim.c), which hides IFF_LOOPBACK from
 * getifaddrs(); ice_enforce_list then keeps it to lo. */
#include "load.h"

#include "vg_err.h"
#include "vtime.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define JANUS_LIB "/usr/lib/x86_64-linux-gnu/janus"

struct jside {
    json_int_t session, handle;
};

struct jcall {
    struct jside pub, sub;
    json_int_t room, feed;
    bool pub_up;
};

static void janus_subscribe(struct call *c);

static int write_conf(struct vg_load *L, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/janus/%s", L->tmpdir, name);
    return g_file_set_contents(path, text, -1, NULL) ? VG_OK : VG_EIO;
}

static int janus_config(struct vg_load *L)
{
    char dir[320], *main_conf, *ws_conf;
    snprintf(dir, sizeof dir, "%s/janus", L->tmpdir);
    if (g_mkdir_with_parents(dir, 0700))
        return VG_EIO;
    main_conf = g_strdup_printf(
        "general: {\n configs_folder = \"%s\"\n plugins_folder = \"" JANUS_LIB "/plugins\"\n"
        " transports_folder = \"" JANUS_LIB "/transports\"\n events_folder = \"" JANUS_LIB
        "/events\"\n loggers_folder = \"" JANUS_LIB "/loggers\"\n debug_level = 3\n"
        " session_timeout = 0\n server_name = \"vigil-load\"\n}\n"
        "certificates: {\n}\nmedia: {\n}\n"
        "nat: {\n ice_enforce_list = \"lo\"\n full_trickle = false\n ice_tcp = false\n}\n"
        "plugins: {\n disable = \"libjanus_audiobridge.so,libjanus_duktape.so,"
        "libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,"
        "libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,"
        "libjanus_voicemail.so\"\n}\n"
        "transports: {\n disable = \"libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,"
        "libjanus_pfunix.so,libjanus_rabbitmq.so\"\n}\n"
        "events: {\n broadcast = false\n disable = \"libjanus_gelfevh.so,libjanus_mqttevh.so,"
        "libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,"
        "libjanus_wsevh.so\"\n}\n"
        "loggers: {\n disable = \"libjanus_jsonlog.so\"\n}\n",
        dir);
    ws_conf = g_strdup_printf("general: {\n json = \"compact\"\n ws = true\n ws_port = %d\n"
                              " ws_ip = \"127.0.0.1\"\n wss = false\n}\n"
                              "admin: {\n admin_ws = false\n admin_wss = false\n}\n",
                              L->port);
    int rc = write_conf(L, "janus.jcfg", main_conf);
    if (!rc)
        rc = write_conf(L, "janus.transport.websockets.jcfg", ws_conf);
    if (!rc)
        rc = write_conf(L, "janus.plugin.videoroom.jcfg", "general: {\n}\n");
    g_free(main_conf);
    g_free(ws_conf);
    return rc;
}

static int janus_start(struct vg_load *L)
{
    const char *bin = L->o.gateway_bin ? L->o.gateway_bin : "/usr/bin/janus";
    L->port = load_free_port();
    if (janus_config(L)) {
        snprintf(L->err, sizeof L->err, "cannot write the Janus config in %s", L->tmpdir);
        return VG_EIO;
    }
    char conf[600], dir[400];
    snprintf(dir, sizeof dir, "%s/janus", L->tmpdir);
    snprintf(conf, sizeof conf, "%s/janus.jcfg", dir);
    char *argv[] = {(char *)bin, "-C", conf, "-F", dir, NULL};
    /* The shim goes to Janus only, from next to this program unless given. */
    char *exe = g_file_read_link("/proc/self/exe", NULL), *exe_dir = g_path_get_dirname(exe);
    char *shim = L->o.janus_shim ? g_strdup(L->o.janus_shim)
                                 : g_build_filename(exe_dir, "libvigil-janus-lo.so", NULL);
    g_free(exe);
    g_free(exe_dir);
    if (!g_file_test(shim, G_FILE_TEST_EXISTS)) {
        snprintf(L->err, sizeof L->err, "no %s (see --janus-shim)", shim);
        g_free(shim);
        return VG_EINVAL;
    }
    g_setenv("LD_PRELOAD", shim, TRUE);
    L->gw_pid = load_spawn_gateway(L, argv, "janus.log");
    g_unsetenv("LD_PRELOAD");
    g_free(shim);
    if (L->gw_pid < 0)
        return VG_EIO;
    for (int i = 0; i < 3000 && !load_port_open(L->port); i++) {
        if (waitpid(L->gw_pid, NULL, WNOHANG) == L->gw_pid) {
            L->gw_pid = 0;
            snprintf(L->err, sizeof L->err, "janus exited (see %s/janus.log)", L->tmpdir);
            return VG_EIO;
        }
        g_usleep(10000);
    }
    if (!load_port_open(L->port)) {
        snprintf(L->err, sizeof L->err, "janus does not listen (see %s/janus.log)", L->tmpdir);
        return VG_EIO;
    }
    return VG_OK;
}

static void janus_stop(struct vg_load *L)
{
    load_stop_gateway(L);
}

/* Signalling ------------------------------------------------------------------------- */

static void send_json(struct call *c, struct vg_ws *ws, json_t *m)
{
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!s || vg_ws_send(ws, s, strlen(s)))
        load_call_failed(c, "signalling queue full");
    free(s);
}

static json_t *msg(const char *janus, const struct jside *s, const char *tx)
{
    json_t *m = json_pack("{s:s, s:s}", "janus", janus, "transaction", tx);
    if (s->session)
        json_object_set_new(m, "session_id", json_integer(s->session));
    if (s->handle)
        json_object_set_new(m, "handle_id", json_integer(s->handle));
    return m;
}

static void plugin_msg(struct call *c, bool pub, const char *tx, json_t *body, json_t *jsep)
{
    struct jcall *j = c->t;
    json_t *m = msg("message", pub ? &j->pub : &j->sub, tx);
    json_object_set_new(m, "body", body);
    if (jsep)
        json_object_set_new(m, "jsep", jsep);
    send_json(c, pub ? c->cit_ws : c->tk_ws, m);
}

/* Session and handle: the same two steps for both sides. Returns true if m was one. */
static bool session_steps(struct call *c, bool pub, json_t *m, const char *janus, const char *tx)
{
    struct jcall *j = c->t;
    struct jside *s = pub ? &j->pub : &j->sub;
    json_int_t id = json_integer_value(json_object_get(json_object_get(m, "data"), "id"));
    if (strcmp(janus, "success"))
        return false;
    if (!strcmp(tx, "create")) {
        s->session = id;
        json_t *a = msg("attach", s, "attach");
        json_object_set_new(a, "plugin", json_string("janus.plugin.videoroom"));
        send_json(c, pub ? c->cit_ws : c->tk_ws, a);
        return true;
    }
    if (!strcmp(tx, "attach")) {
        s->handle = id;
        if (pub)
            plugin_msg(c, true, "room",
                       json_pack("{s:s, s:I, s:i, s:s, s:s, s:b, s:s, s:b}", "request", "create",
                                 "room", j->room, "publishers", 1, "videocodec", "vp8",
                                 "audiocodec", "opus", "record", c->L->o.record, "rec_dir",
                                 c->L->tmpdir, "is_private", 1),
                       NULL);
        else
            plugin_msg(c, false, "join",
                       json_pack("{s:s, s:I, s:s, s:[{s:I}]}", "request", "join", "room", j->room,
                                 "ptype", "subscriber", "streams", "feed", j->feed),
                       NULL);
        return true;
    }
    return false;
}

static void publish(struct call *c)
{
    char sdp[16384];
    uint32_t a = g_random_int() | 1, v;
    do
        v = g_random_int() | 1;
    while (v == a);
    c->snd[K_AUDIO].ssrc = a;
    c->snd[K_VIDEO].ssrc = v;
    if (load_rtc_new(c, true, &c->cit) || vg_rtc_offer(c->cit, a, v, sdp, sizeof sdp) < 0) {
        load_call_failed(c, "publisher offer");
        return;
    }
    struct jcall *j = c->t;
    plugin_msg(c, true, "join",
               json_pack("{s:s, s:I, s:s, s:s, s:b, s:b}", "request", "joinandconfigure", "room",
                         j->room, "ptype", "publisher", "display", c->name, "audio", 1, "video", 1),
               json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp));
}

static void remote_candidate(struct call *c, bool pub, json_t *m)
{
    json_t *cand = json_object_get(m, "candidate");
    struct vg_rtc *r = pub ? c->cit : c->tk;
    if (!r || !cand)
        return;
    if (json_is_true(json_object_get(cand, "completed")))
        vg_rtc_add_candidate(r, "");
    else if (json_string_value(json_object_get(cand, "candidate")))
        vg_rtc_add_candidate(r, json_string_value(json_object_get(cand, "candidate")));
}

static void subscriber_offer(struct call *c, const char *sdp)
{
    char ans[16384], err[256];
    if (load_rtc_new(c, false, &c->tk) ||
        vg_rtc_answer(c->tk, sdp, strlen(sdp), ans, sizeof ans, err, sizeof err) < 0) {
        load_call_failed(c, "subscriber answer: %s", err);
        return;
    }
    plugin_msg(c, false, "start", json_pack("{s:s}", "request", "start"),
               json_pack("{s:s, s:s}", "type", "answer", "sdp", ans));
}

static void side_msg(struct call *c, bool pub, const char *text, size_t len)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *janus = json_string_value(json_object_get(m, "janus"));
    const char *tx = json_string_value(json_object_get(m, "transaction")) ?: "";
    json_t *data = json_object_get(json_object_get(m, "plugindata"), "data");
    const char *sdp = json_string_value(json_object_get(json_object_get(m, "jsep"), "sdp"));
    char err[256];
    if (!janus || c->failed || session_steps(c, pub, m, janus, tx)) {
    } else if (!strcmp(janus, "error") || json_object_get(data, "error")) {
        load_call_failed(c, "%s: %s", pub ? "publisher" : "subscriber", text);
    } else if (!strcmp(janus, "trickle")) {
        remote_candidate(c, pub, m);
    } else if (pub && !strcmp(tx, "room") && !strcmp(janus, "success")) {
        publish(c);
    } else if (pub && !strcmp(janus, "event") && sdp) {
        struct jcall *j = c->t;
        j->feed = json_integer_value(json_object_get(data, "id"));
        if (vg_rtc_apply_answer(c->cit, sdp, strlen(sdp), err, sizeof err))
            load_call_failed(c, "publisher: %s", err);
    } else if (pub && !strcmp(janus, "webrtcup")) {
        janus_subscribe(c);
    } else if (!pub && !strcmp(janus, "event") && sdp && !c->tk) {
        subscriber_offer(c, sdp);
    }
    json_decref(m);
}

static void pub_msg(const char *text, size_t len, void *ud)
{
    side_msg(ud, true, text, len);
}

static void sub_msg(const char *text, size_t len, void *ud)
{
    side_msg(ud, false, text, len);
}

static void on_close(const char *why, void *ud)
{
    struct call *c = ud;
    if (!c->failed && c->L->gw_pid > 0)
        load_call_failed(c, "signalling closed: %s", why);
}

static void pub_open(void *ud)
{
    struct call *c = ud;
    struct jcall *j = c->t;
    c->t_start_us = vg_now_us();
    send_json(c, c->cit_ws, msg("create", &j->pub, "create"));
}

static void sub_open(void *ud)
{
    struct call *c = ud;
    struct jcall *j = c->t;
    send_json(c, c->tk_ws, msg("create", &j->sub, "create"));
}

static void janus_subscribe(struct call *c)
{
    struct jcall *j = c->t;
    if (j->pub_up)
        return;
    j->pub_up = true;
    struct vg_ws_callbacks cb = {sub_open, sub_msg, on_close};
    if (vg_ws_connect("127.0.0.1", c->L->port, "/", false, "janus-protocol", &cb, c, &c->tk_ws))
        load_call_failed(c, "subscriber cannot connect");
}

static void janus_start_call(struct call *c)
{
    struct jcall *j = g_new0(struct jcall, 1);
    c->t = j;
    j->room = 1000 + c->idx;
    struct vg_ws_callbacks cb = {pub_open, pub_msg, on_close};
    if (vg_ws_connect("127.0.0.1", c->L->port, "/", false, "janus-protocol", &cb, c, &c->cit_ws))
        load_call_failed(c, "publisher cannot connect");
}

static void janus_candidate(struct call *c, bool pub, const char *line)
{
    struct jcall *j = c->t;
    json_t *m = msg("trickle", pub ? &j->pub : &j->sub, "trickle");
    if (line[0])
        json_object_set_new(
            m, "candidate",
            json_pack("{s:s, s:s, s:i}", "candidate", line, "sdpMid", "0", "sdpMLineIndex", 0));
    else
        json_object_set_new(m, "candidate", json_pack("{s:b}", "completed", 1));
    send_json(c, pub ? c->cit_ws : c->tk_ws, m);
}

static void janus_end_call(struct call *c)
{
    g_free(c->t);
    c->t = NULL;
}

const struct vg_load_target vg_load_janus = {
    "janus", janus_start, NULL, janus_start_call, janus_candidate, janus_end_call, janus_stop,
};
