/* The direct target: no gateway. Each call's citizen offers straight to its
 * call-taker inside this process (candidates handed across), so the figures are the
 * load generator's own floor: the one-way time it measures with nothing in between,
 * and the setup a bare ICE + DTLS connection costs it. Subtract them from a
 * gateway's to see what the gateway adds. There is no gateway process, so no CPU or
 * RSS figures. */
#include "load.h"

#include "vg_err.h"
#include "vtime.h"

#include <stdio.h>
#include <string.h>

static int direct_start(struct vg_load *L)
{
    L->gw_pid = 0;
    return VG_OK;
}

static void direct_stop(struct vg_load *L)
{
    (void)L;
}

static void direct_start_call(struct call *c)
{
    char offer[16384], answer[16384], err[256];
    uint32_t a = g_random_int() | 1, v;
    do
        v = g_random_int() | 1;
    while (v == a);
    c->snd[K_AUDIO].ssrc = a;
    c->snd[K_VIDEO].ssrc = v;
    c->t_start_us = vg_now_us();
    int n;
    if (load_rtc_new(c, true, &c->cit) ||
        (n = vg_rtc_offer(c->cit, a, v, offer, sizeof offer)) < 0 ||
        load_rtc_new(c, false, &c->tk) ||
        vg_rtc_answer(c->tk, offer, (size_t)n, answer, sizeof answer, err, sizeof err) < 0 ||
        vg_rtc_apply_answer(c->cit, answer, strlen(answer), err, sizeof err))
        load_call_failed(c, "direct offer/answer failed");
}

static void direct_candidate(struct call *c, bool citizen, const char *line)
{
    struct vg_rtc *other = citizen ? c->tk : c->cit;
    if (other)
        vg_rtc_add_candidate(other, line);
}

static void direct_end_call(struct call *c)
{
    (void)c;
}

const struct vg_load_target vg_load_direct = {
    "direct", direct_start, NULL, direct_start_call, direct_candidate, direct_end_call, direct_stop,
};
