/* The media engine's liveness question (vg_media_stall_us()), against a real engine:
 * an idle worker runs its pings at once; a worker stuck in a lock leaves its ping
 * unrun, and the answer grows with the time it has been stuck, until it runs again.
 * The worker is made to stick by holding its legs' lock while it adds a leg
 * (engine.c, add_leg()). In a loopback-only namespace: the leg opens sockets. */
#include "engine.h"
#include "engine_internal.h"
#include "vt.h"
#include "vtime.h"

#include <glib.h>
#include <stdio.h>

static void on_sdp(uint64_t leg, const char *type, const char *sdp, void *ud)
{
    (void)leg, (void)type, (void)sdp, (void)ud;
}

static void on_candidate(uint64_t leg, const char *line, void *ud)
{
    (void)leg, (void)line, (void)ud;
}

static void on_state(uint64_t leg, enum vg_leg_state st, const char *detail, void *ud)
{
    (void)leg, (void)st, (void)detail, (void)ud;
}

/* Asks until the answer is 0 (every ping ran) or ms pass; returns the last answer. */
static int64_t settle(struct vg_media *m, unsigned ms)
{
    int64_t stall = 0;
    for (unsigned i = 0; i < ms / 10; i++) {
        if ((stall = vg_media_stall_us(m, vg_now_us())) == 0 && i > 0)
            return 0;
        g_usleep(10000);
    }
    return stall;
}

int main(void)
{
    const char *addrs[] = {"127.0.0.1"};
    struct vg_media_config cfg = {.local_addrs = addrs, .n_local_addrs = 1, .workers = 1};
    struct vg_media_events ev = {.sdp = on_sdp, .candidate = on_candidate, .state = on_state};
    GMainContext *owner = g_main_context_new();
    struct vg_media *m = NULL;
    VT_EQ_INT(vg_media_new(&cfg, &ev, NULL, owner, &m), 0);
    VT_EQ_INT(vg_media_stall_us(m, vg_now_us()), 0); /* the first ping goes out */
    VT_EQ_INT(settle(m, 2000), 0);                   /* and an idle worker runs it */

    g_mutex_lock(&m->workers[0].lock);
    vg_media_leg_offer(m, "c-stuck", "console", VG_MEDIA_AUDIO, false);
    /* settle() left a ping out, ahead of the leg: it runs; the next goes behind the
     * leg the worker cannot add */
    g_usleep(50000);
    vg_media_stall_us(m, vg_now_us());
    g_usleep(50000);
    vg_media_stall_us(m, vg_now_us());
    g_usleep(300000);
    int64_t stuck = vg_media_stall_us(m, vg_now_us());
    VT_CHECK(stuck >= 300000);
    if (stuck < 300000)
        fprintf(stderr, "stall %lld us\n", (long long)stuck);
    g_usleep(200000);
    VT_CHECK(vg_media_stall_us(m, vg_now_us()) >= stuck + 200000); /* it grows */
    g_mutex_unlock(&m->workers[0].lock);
    VT_EQ_INT(settle(m, 2000), 0); /* running again */

    vg_media_free(m);
    while (g_main_context_iteration(owner, FALSE))
        ;
    g_main_context_unref(owner);
    return vt_done("engine");
}
