/* The Vigil target: vigild started in a temp dir, one call-taker account per call,
 * and each call through protocol vigil.v1 (docs/protocol.md).
 *
 * A call: before any alarm, its call-taker logs in and goes away (so alarms of
 * other calls do not ring it), as staff are logged in before alarms come; then the
 * citizen raises a video alarm and offers its media at once (early
 * media); the call-taker becomes available, is offered the case and claims it as
 * soon as it rings, which is what an auto-answering console would do; the gateway
 * then offers it a leg, which it answers receive-only. Setup time runs from the
 * alarm_start to the first whole keyframe at the call-taker. */
#include "load.h"

#include "vg_err.h"
#include "vtime.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct vcall {
    char case_id[80];
    char taker[32], password[128];
    bool claimed;
};

struct password {
    char s[128];
};

struct vstate {
    char data_dir[300];
    struct password *passwords;
};

/* The gateway process --------------------------------------------------------------- */

static pid_t spawn_logged(struct vg_load *L, char **argv, const char *log_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(log_path, "w");
        if (f) {
            dup2(fileno(f), 1);
            dup2(fileno(f), 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0)
        snprintf(L->err, sizeof L->err, "fork failed");
    return pid;
}

pid_t load_spawn_gateway(struct vg_load *L, char **argv, const char *log_name)
{
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/%s", L->tmpdir, log_name);
    gchar **wrap = NULL;
    gint nwrap = 0;
    if (L->o.wrap && !g_shell_parse_argv(L->o.wrap, &nwrap, &wrap, NULL)) {
        snprintf(L->err, sizeof L->err, "cannot parse --wrap");
        return -1;
    }
    GPtrArray *a = g_ptr_array_new();
    for (gint i = 0; i < nwrap; i++)
        g_ptr_array_add(a, wrap[i]);
    for (char **p = argv; *p; p++)
        g_ptr_array_add(a, *p);
    g_ptr_array_add(a, NULL);
    pid_t pid = spawn_logged(L, (char **)a->pdata, log_path);
    g_ptr_array_free(a, TRUE);
    g_strfreev(wrap);
    return pid;
}

void load_stop_gateway(struct vg_load *L)
{
    if (L->gw_pid <= 0)
        return;
    kill(L->gw_pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(L->gw_pid, NULL, WNOHANG) == L->gw_pid) {
            L->gw_pid = 0;
            return;
        }
        g_usleep(10000);
    }
    kill(L->gw_pid, SIGKILL);
    waitpid(L->gw_pid, NULL, 0);
    L->gw_pid = 0;
}

static int add_accounts(struct vg_load *L, struct vstate *S)
{
    S->passwords = g_new0(struct password, L->o.calls);
    for (unsigned i = 0; i < L->o.calls; i++) {
        char name[32];
        snprintf(name, sizeof name, "k%u", i);
        char *argv[] = {
            (char *)L->o.ctl_bin, "--data-dir", S->data_dir, "account", "add", name, "--role",
            "call_taker",         NULL};
        char *out = load_run(L, argv);
        const char *pw = out ? strstr(out, "password: ") : NULL;
        if (!pw) {
            g_free(out);
            return VG_EIO;
        }
        snprintf(S->passwords[i].s, sizeof S->passwords[i].s, "%s", pw + strlen("password: "));
        g_strchomp(S->passwords[i].s);
        g_free(out);
    }
    return VG_OK;
}

static int vigil_start(struct vg_load *L)
{
    struct vstate *S = g_new0(struct vstate, 1);
    L->t = S;
    if (!L->o.gateway_bin || !L->o.ctl_bin) {
        snprintf(L->err, sizeof L->err, "--gateway PATH/vigild and --ctl PATH/vigilctl needed");
        return VG_EINVAL;
    }
    snprintf(S->data_dir, sizeof S->data_dir, "%s/data", L->tmpdir);
    char conf[400], port[40];
    snprintf(conf, sizeof conf, "%s/vigil.conf", L->tmpdir);
    /* [queue] escalate_after_s: calls wait for their call-taker only briefly, but a
     * ramp of hundreds must not raise alerts that would cost the gateway work.
     * [evidence] enabled: vigild records every case unless told not to; --record
     * leaves it on, as in service. */
    char text[256];
    snprintf(text, sizeof text,
             "[media]\naddresses = 127.0.0.1\n[queue]\nescalate_after_s = 3600\n"
             "[evidence]\nenabled = %s\n",
             L->o.record ? "true" : "false");
    if (!g_file_set_contents(conf, text, -1, NULL) || g_mkdir_with_parents(S->data_dir, 0700)) {
        snprintf(L->err, sizeof L->err, "cannot write %s", conf);
        return VG_EIO;
    }
    int64_t t = vg_now_us();
    if (add_accounts(L, S))
        return VG_EIO;
    load_log("vigil: %u accounts in %.1f s", L->o.calls, (vg_now_us() - t) / 1e6);
    L->port = load_free_port();
    snprintf(port, sizeof port, "127.0.0.1:%d", L->port);
    char *argv[] = {(char *)L->o.gateway_bin,
                    "--data-dir",
                    S->data_dir,
                    "--listen",
                    port,
                    "--config",
                    conf,
                    NULL};
    if ((L->gw_pid = load_spawn_gateway(L, argv, "vigild.log")) < 0)
        return VG_EIO;
    for (int i = 0; i < 3000 && !load_port_open(L->port); i++) {
        if (waitpid(L->gw_pid, NULL, WNOHANG) == L->gw_pid) {
            L->gw_pid = 0;
            snprintf(L->err, sizeof L->err, "vigild exited (see %s/vigild.log)", L->tmpdir);
            return VG_EIO;
        }
        g_usleep(10000);
    }
    return load_port_open(L->port) ? VG_OK : VG_EIO;
}

static void vigil_stop(struct vg_load *L)
{
    load_stop_gateway(L);
    struct vstate *S = L->t;
    if (S)
        g_free(S->passwords);
    g_free(S);
    L->t = NULL;
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

static void citizen_offer(struct call *c, const char *case_id)
{
    struct vcall *v = c->t;
    snprintf(v->case_id, sizeof v->case_id, "%s", case_id);
    char sdp[16384];
    uint32_t ssrc[2] = {g_random_int() | 1, 0};
    do
        ssrc[1] = g_random_int() | 1;
    while (ssrc[1] == ssrc[0]);
    c->snd[K_AUDIO].ssrc = ssrc[0];
    c->snd[K_VIDEO].ssrc = ssrc[1];
    int n;
    if (load_rtc_new(c, true, &c->cit) ||
        (n = vg_rtc_offer(c->cit, ssrc[0], ssrc[1], sdp, sizeof sdp)) < 0) {
        load_call_failed(c, "citizen offer");
        return;
    }
    send_json(c, c->cit_ws,
              json_pack("{s:s, s:s, s:s}", "type", "media_offer", "id", "m1", "sdp", sdp));
    send_json(
        c, c->tk_ws,
        json_pack("{s:s, s:s, s:s}", "type", "set_status", "id", "avail", "status", "available"));
}

static void citizen_msg(const char *text, size_t len, void *ud)
{
    struct call *c = ud;
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    char err[256];
    if (!type || c->failed) {
    } else if (!strcmp(type, "alarm_started")) {
        citizen_offer(c, json_string_value(json_object_get(m, "case_id")));
    } else if (!strcmp(type, "media_answer")) {
        const char *sdp = json_string_value(json_object_get(m, "sdp"));
        if (!sdp || vg_rtc_apply_answer(c->cit, sdp, strlen(sdp), err, sizeof err))
            load_call_failed(c, "citizen: %s", sdp ? err : "answer without sdp");
    } else if (!strcmp(type, "ice")) {
        const char *cand = json_string_value(json_object_get(m, "candidate"));
        if (cand && c->cit)
            vg_rtc_add_candidate(c->cit, cand);
    } else if (!strcmp(type, "error")) {
        load_call_failed(c, "citizen: %s", text);
    } else if (!strcmp(type, "media_state") &&
               !strcmp(json_string_value(json_object_get(m, "state")) ?: "", "failed")) {
        load_call_failed(c, "citizen media: %s", text);
    }
    json_decref(m);
}

static void citizen_open(void *ud)
{
    struct call *c = ud;
    char phone[40];
    snprintf(phone, sizeof phone, "+86 139 %04u %04u", c->idx / 10000, c->idx % 10000);
    c->t_start_us = vg_now_us();
    send_json(c, c->cit_ws,
              json_pack("{s:s, s:s, s:s, s:s, s:{s:f, s:f, s:f}}", "type", "alarm_start", "id", "1",
                        "mode", "video", "phone", phone, "location", "lat", 30.6, "lon", 114.5,
                        "accuracy", 10.0));
}

static void on_close(const char *why, void *ud)
{
    struct call *c = ud;
    if (!c->failed && c->L->gw_pid > 0)
        load_call_failed(c, "signalling closed: %s", why);
}

static void taker_offer(struct call *c, json_t *m)
{
    struct vcall *v = c->t;
    const char *sdp = json_string_value(json_object_get(m, "sdp"));
    char ans[16384], err[256];
    int n;
    if (!sdp || load_rtc_new(c, false, &c->tk) ||
        (n = vg_rtc_answer(c->tk, sdp, strlen(sdp), ans, sizeof ans, err, sizeof err)) < 0) {
        load_call_failed(c, "call-taker answer: %s", sdp ? err : "no sdp");
        return;
    }
    send_json(c, c->tk_ws,
              json_pack("{s:s, s:s, s:s, s:s}", "type", "media_answer", "id", "m2", "case_id",
                        v->case_id, "sdp", ans));
}

static void taker_msg(const char *text, size_t len, void *ud)
{
    struct call *c = ud;
    struct vcall *v = c->t;
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *id = json_string_value(json_object_get(m, "id"));
    const char *cid = json_string_value(json_object_get(m, "case_id"));
    if (!type || c->failed) {
    } else if (!strcmp(type, "login")) {
        send_json(
            c, c->tk_ws,
            json_pack("{s:s, s:s, s:s}", "type", "set_status", "id", "away", "status", "away"));
    } else if (!strcmp(type, "status") && id && !strcmp(id, "away")) {
        c->ready = true;
    } else if (!strcmp(type, "offer")) {
        const char *oc = json_string_value(json_object_get(json_object_get(m, "case"), "case_id"));
        if (!v->claimed && oc && !strcmp(oc, v->case_id)) {
            v->claimed = true;
            send_json(c, c->tk_ws,
                      json_pack("{s:s, s:s, s:s}", "type", "claim", "id", "claim", "case_id",
                                v->case_id));
        }
    } else if (!strcmp(type, "media_offer") && cid && !strcmp(cid, v->case_id) && !c->tk) {
        taker_offer(c, m);
    } else if (!strcmp(type, "ice") && cid && !strcmp(cid, v->case_id)) {
        const char *cand = json_string_value(json_object_get(m, "candidate"));
        if (cand && c->tk)
            vg_rtc_add_candidate(c->tk, cand);
    } else if (!strcmp(type, "error")) {
        load_call_failed(c, "call-taker: %s", text);
    }
    json_decref(m);
}

static void taker_open(void *ud)
{
    struct call *c = ud;
    struct vcall *v = c->t;
    send_json(c, c->tk_ws,
              json_pack("{s:s, s:s, s:s, s:s}", "type", "login", "id", "login", "name", v->taker,
                        "password", v->password));
}

static void vigil_prepare_call(struct call *c)
{
    struct vstate *S = c->L->t;
    struct vcall *v = g_new0(struct vcall, 1);
    c->t = v;
    snprintf(v->taker, sizeof v->taker, "k%u", c->idx);
    snprintf(v->password, sizeof v->password, "%s", S->passwords[c->idx].s);
    struct vg_ws_callbacks cb = {taker_open, taker_msg, on_close};
    if (vg_ws_connect("127.0.0.1", c->L->port, "/ws", true, "vigil.v1", &cb, c, &c->tk_ws))
        load_call_failed(c, "call-taker cannot connect");
}

static void vigil_start_call(struct call *c)
{
    struct vg_ws_callbacks cb = {citizen_open, citizen_msg, on_close};
    if (vg_ws_connect("127.0.0.1", c->L->port, "/ws", true, "vigil.v1", &cb, c, &c->cit_ws))
        load_call_failed(c, "citizen cannot connect");
}

static void vigil_candidate(struct call *c, bool citizen, const char *line)
{
    struct vcall *v = c->t;
    if (citizen)
        send_json(c, c->cit_ws, json_pack("{s:s, s:s}", "type", "ice", "candidate", line));
    else
        send_json(
            c, c->tk_ws,
            json_pack("{s:s, s:s, s:s}", "type", "ice", "case_id", v->case_id, "candidate", line));
}

static void vigil_end_call(struct call *c)
{
    g_free(c->t);
    c->t = NULL;
}

const struct vg_load_target vg_load_vigil = {
    "vigil",         vigil_start,    vigil_prepare_call, vigil_start_call,
    vigil_candidate, vigil_end_call, vigil_stop,
};
