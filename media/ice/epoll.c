/* GLib's poll step as epoll, for the contexts that carry media.
 *
 * Each iteration of a GMainContext hands poll() every fd of the context: on a media
 * worker that is one UDP socket per leg, a hundred or more, and the kernel walks
 * them all (sock_poll, a wait-queue entry each) although a wakeup usually finds one
 * or two ready. At 60 calls that was about a quarter of vigild's CPU per forwarded
 * packet (perf, docs/benchmarks.md). epoll keeps the set in the kernel and reports
 * only what is ready.
 *
 * GLib rebuilds its array of fds each iteration; it is almost always the same as the
 * last one, so the set is rebuilt only when its fds change (changed events are
 * applied in place), or when sockets may have been opened or closed (vg_ice_new,
 * gathering and vg_ice_free call vg_ice_sockets_changed()): a closed fd leaves the
 * epoll set by itself, but a new socket that got the same fd number would look
 * unchanged in the array and never be watched.
 *
 * GPollFunc has no user data, so the set lives in a thread-local: a context that
 * uses this is iterated by one thread (the media workers, the load generator). If
 * epoll refuses an fd (a regular file, a repeated fd), that iteration falls back to
 * poll(). */
#include "ice.h"
#include "loop.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_READY 256

static atomic_uint_fast64_t sockets_gen;

void vg_ice_sockets_changed(void)
{
    atomic_fetch_add_explicit(&sockets_gen, 1, memory_order_release);
}

uint64_t vg_ice_sockets_gen(void)
{
    return atomic_load_explicit(&sockets_gen, memory_order_acquire);
}

struct epoll_set {
    int ep;            /* -1 until the first build */
    uint_fast64_t gen; /* vg_ice_sockets_gen when built */
    GPollFD *fds;      /* the array the set was built from (fd, events) */
    guint n, cap;
    struct epoll_event *ready;
};

static _Thread_local struct epoll_set S = {.ep = -1};

/* Whether the set still matches GLib's array. The same fds with other events (a
 * WebSocket that now waits to write: the load generator's) are changed in place. */
static bool still_matches(const GPollFD *fds, guint n)
{
    if (n != S.n || S.ep < 0 || vg_ice_sockets_gen() != S.gen)
        return false;
    for (guint i = 0; i < n; i++)
        if (fds[i].fd != S.fds[i].fd)
            return false;
    for (guint i = 0; i < n; i++) {
        if (fds[i].events == S.fds[i].events || fds[i].fd < 0)
            continue;
        struct epoll_event ev = {.events = fds[i].events, .data.u32 = i};
        if (epoll_ctl(S.ep, EPOLL_CTL_MOD, fds[i].fd, &ev))
            return false;
        S.fds[i].events = fds[i].events;
    }
    return true;
}

/* One epoll entry per GPollFD, carrying its index. GLib merges the records of one
 * fd into one GPollFD (its poll records are sorted by fd); were that to change, a
 * repeated fd makes epoll_ctl fail with EEXIST and the iteration falls back to
 * poll(), slower but right. poll's POLLIN/POLLOUT/POLLPRI are epoll's bits on
 * Linux; ERR and HUP are always reported by both. */
static bool rebuild(const GPollFD *fds, guint n)
{
    if (S.ep >= 0)
        close(S.ep);
    if (n > S.cap) {
        S.cap = n + 16;
        S.fds = g_renew(GPollFD, S.fds, S.cap);
    }
    if (!S.ready)
        S.ready = g_new(struct epoll_event, MAX_READY);
    S.gen = vg_ice_sockets_gen();
    memcpy(S.fds, fds, n * sizeof *fds);
    S.n = n;
    S.ep = epoll_create1(EPOLL_CLOEXEC);
    for (guint i = 0; S.ep >= 0 && i < n; i++) {
        if (fds[i].fd < 0)
            continue;
        struct epoll_event ev = {.events = fds[i].events, .data.u32 = i};
        if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fds[i].fd, &ev)) {
            close(S.ep);
            S.ep = -1;
        }
    }
    return S.ep >= 0;
}

static gint vg_epoll_poll(GPollFD *fds, guint n, gint timeout)
{
    if (!still_matches(fds, n) && !rebuild(fds, n))
        return g_poll(fds, n, timeout); /* epoll refused an fd: this time, poll */
    for (guint i = 0; i < n; i++)
        fds[i].revents = 0;
    int got = epoll_wait(S.ep, S.ready, MAX_READY, timeout);
    if (got <= 0)
        return got; /* 0: timeout; -1 with errno (EINTR), as poll */
    for (int r = 0; r < got; r++) {
        GPollFD *f = &fds[S.ready[r].data.u32];
        f->revents = (gushort)(S.ready[r].events & (f->events | POLLERR | POLLHUP));
    }
    return got;
}

void vg_ice_use_epoll(GMainContext *ctx)
{
    g_main_context_set_poll_func(ctx, vg_epoll_poll);
}

void vg_ice_epoll_thread_done(void)
{
    if (S.ep >= 0)
        close(S.ep);
    g_free(S.fds);
    g_free(S.ready);
    memset(&S, 0, sizeof S);
    S.ep = -1;
}
