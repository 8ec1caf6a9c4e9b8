/* The media loop (media/ice/loop.c) against what GLib expects of poll(), for the fds
 * of its own context: only ready sources are dispatched, two sources on one fd both
 * hear it, more ready fds than one epoll_wait returns are all served, changed events
 * are applied, an fd number reused by a new file is watched once
 * vg_ice_sockets_changed() says so, an fd epoll refuses (a regular file) is always
 * ready as poll() says, and a timeout blocks, then fires. The transports' own
 * contexts are test_ice --loop's. eventfds and pipes only: no network. */
#include "ice.h"
#include "vt.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define N_MANY 300 /* more than loop.c's MAX_READY (256) */

static struct vg_ice_loop *loop;
static GMainContext *ctx;

/* One round without waiting; whether anything was ready. */
static bool round_now(void)
{
    return vg_ice_loop_iterate(loop, 0) > 0;
}

struct watch {
    int fd;
    GSource *src;
    int calls;
    bool drain; /* read the eventfd in the callback (level-triggered: else it repeats) */
};

static gboolean on_fd(gint fd, GIOCondition cond, gpointer p)
{
    struct watch *w = p;
    (void)cond;
    w->calls++;
    if (w->drain) {
        uint64_t v;
        if (read(fd, &v, sizeof v) != sizeof v)
            w->calls += 1000; /* shows up as a wrong count */
    }
    return G_SOURCE_CONTINUE;
}

static void watch_add(struct watch *w, int fd, GIOCondition cond, bool drain)
{
    w->fd = fd;
    w->calls = 0;
    w->drain = drain;
    w->src = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(w->src, G_SOURCE_FUNC(on_fd), w, NULL);
    g_source_attach(w->src, ctx);
}

static void watch_del(struct watch *w)
{
    g_source_destroy(w->src);
    g_source_unref(w->src);
    w->src = NULL;
}

static void kick(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) != sizeof one)
        abort();
}

/* Iterate without blocking until nothing more is dispatched (at most n times). */
static void settle(int n)
{
    for (int i = 0; i < n && round_now(); i++)
        ;
}

static void test_only_ready_dispatched(void)
{
    struct watch w[3];
    for (int i = 0; i < 3; i++)
        watch_add(&w[i], eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), G_IO_IN, true);
    settle(10);
    kick(w[1].fd);
    settle(10);
    VT_EQ_INT(w[0].calls, 0);
    VT_EQ_INT(w[1].calls, 1);
    VT_EQ_INT(w[2].calls, 0);
    kick(w[0].fd);
    kick(w[2].fd);
    settle(10);
    VT_EQ_INT(w[0].calls, 1);
    VT_EQ_INT(w[1].calls, 1);
    VT_EQ_INT(w[2].calls, 1);
    for (int i = 0; i < 3; i++) {
        watch_del(&w[i]);
        close(w[i].fd);
    }
}

/* Two sources on one fd: GLib merges them into one GPollFD today; either way both
 * must hear it. */
static void test_same_fd_twice(void)
{
    int p[2];
    VT_CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    struct watch in1, in2, out;
    watch_add(&in1, p[0], G_IO_IN, false);
    watch_add(&in2, p[0], G_IO_IN, false);
    watch_add(&out, p[1], G_IO_OUT, false);
    round_now();
    round_now(); /* the first may only register the new fds */
    VT_EQ_INT(in1.calls, 0);
    VT_EQ_INT(in2.calls, 0);
    VT_CHECK(out.calls >= 1); /* an empty pipe is writable */
    watch_del(&out);
    VT_CHECK(write(p[1], "x", 1) == 1);
    round_now();
    VT_EQ_INT(in1.calls, 1);
    VT_EQ_INT(in2.calls, 1);
    watch_del(&in1);
    watch_del(&in2);
    close(p[0]);
    close(p[1]);
}

static void test_more_ready_than_one_wait(void)
{
    static struct watch w[N_MANY];
    for (int i = 0; i < N_MANY; i++)
        watch_add(&w[i], eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), G_IO_IN, true);
    settle(10);
    for (int i = 0; i < N_MANY; i++)
        kick(w[i].fd);
    settle(20);
    int once = 0;
    for (int i = 0; i < N_MANY; i++)
        once += w[i].calls == 1;
    VT_EQ_INT(once, N_MANY);
    for (int i = 0; i < N_MANY; i++) {
        watch_del(&w[i]);
        close(w[i].fd);
    }
}

/* The same fd, now waited on for writing: the set changes its events in place. */
static void test_events_change(void)
{
    int p[2];
    VT_CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    struct watch r, w;
    watch_add(&r, p[0], G_IO_IN, false);
    watch_add(&w, p[1], G_IO_IN, false); /* a pipe's write end is never readable */
    settle(10);
    VT_EQ_INT(w.calls, 0);
    watch_del(&w);
    watch_add(&w, p[1], G_IO_OUT, false);
    round_now();
    round_now();
    VT_CHECK(w.calls >= 1);
    VT_EQ_INT(r.calls, 0);
    watch_del(&w);
    watch_del(&r);
    close(p[0]);
    close(p[1]);
}

/* A source replaced within one iteration by another on a new file that got the
 * same fd number leaves GLib's array unchanged; the kernel dropped the old file
 * from the epoll set when it closed, so only vg_ice_sockets_changed() makes the set
 * watch the new one. */
static void test_fd_number_reused(void)
{
    struct watch a, b;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    watch_add(&a, fd, G_IO_IN, true);
    settle(10);
    watch_del(&a);
    close(fd);
    int fd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    VT_EQ_INT(fd2, fd); /* lowest free number: the same */
    watch_add(&b, fd2, G_IO_IN, true);
    vg_ice_sockets_changed();
    kick(fd2);
    settle(10);
    VT_EQ_INT(b.calls, 1);
    watch_del(&b);
    close(fd2);
}

/* epoll_ctl refuses regular files (EPERM); poll() calls them always ready. */
static void test_regular_file_always_ready(void)
{
    char path[] = "/tmp/vigil-test-epoll-XXXXXX";
    int fd = mkstemp(path);
    VT_CHECK(fd >= 0);
    unlink(path);
    struct watch f, e;
    watch_add(&f, fd, G_IO_IN, false);
    watch_add(&e, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), G_IO_IN, true);
    kick(e.fd);
    round_now();
    round_now();
    VT_CHECK(f.calls >= 1);
    VT_EQ_INT(e.calls, 1);
    struct vg_ice_loop_stats st;
    vg_ice_loop_get_stats(loop, &st);
    VT_CHECK(st.refused >= 1);
    watch_del(&f);
    close(fd);
    kick(e.fd); /* and epoll again once the file is gone */
    settle(10);
    VT_EQ_INT(e.calls, 2);
    watch_del(&e);
    close(e.fd);
}

static gboolean on_timeout(gpointer p)
{
    *(int *)p += 1;
    return G_SOURCE_REMOVE;
}

static void test_timeout_blocks_then_fires(void)
{
    struct watch idle;
    watch_add(&idle, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), G_IO_IN, true);
    int fired = 0;
    GSource *t = g_timeout_source_new(30);
    g_source_set_callback(t, on_timeout, &fired, NULL);
    g_source_attach(t, ctx);
    gint64 t0 = g_get_monotonic_time();
    while (!fired && g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC)
        vg_ice_loop_iterate(loop, -1);
    gint64 waited = g_get_monotonic_time() - t0;
    VT_EQ_INT(fired, 1);
    VT_CHECK(waited >= 25 * 1000); /* it blocked rather than spun through */
    VT_EQ_INT(idle.calls, 0);
    g_source_unref(t);
    watch_del(&idle);
    close(idle.fd);
}

/* libnice re-arms a timer as a new source from the callback of the old one. With
 * OWNERLESS_POLLING that signals the context's wakeup fd from the loop's own
 * thread; the loop takes that signal after the dispatch (its next prepare sees the
 * new source), so a firing costs one run of the context, not two. A change the
 * loop missed would leave it waiting the whole max_wait (1 s) for each firing. */
#define REARMS 20
static gboolean on_rearm(gpointer p)
{
    int *left = p;
    if (--*left > 0) {
        GSource *next = g_timeout_source_new(2);
        g_source_set_callback(next, on_rearm, left, NULL);
        g_source_attach(next, ctx);
        g_source_unref(next);
    }
    return G_SOURCE_REMOVE;
}

static void test_rearmed_timer_one_run(void)
{
    int left = REARMS;
    struct vg_ice_loop_stats a, b;
    settle(10);
    vg_ice_loop_get_stats(loop, &a);
    on_rearm(&left); /* arms the first */
    gint64 t0 = g_get_monotonic_time();
    while (left > 0 && g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC)
        vg_ice_loop_iterate(loop, 1000);
    gint64 took = g_get_monotonic_time() - t0;
    vg_ice_loop_get_stats(loop, &b);
    uint64_t runs = b.main_dispatches - a.main_dispatches;
    printf("%d timer firings: %llu runs of the context, %lld ms\n", REARMS - 1,
           (unsigned long long)runs, (long long)(took / 1000));
    VT_EQ_INT(left, 0);
    VT_CHECK(took < 2 * G_USEC_PER_SEC); /* no firing waited for max_wait */
    VT_CHECK(runs <= REARMS + 2);        /* was 2 x REARMS */
}

/* A source attached from another thread while the loop sleeps wakes it: the signal
 * the loop takes after its own dispatches must not swallow this one. */
static gpointer attach_later(gpointer p)
{
    g_usleep(30 * 1000);
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, on_timeout, p, NULL); /* on_timeout counts a firing */
    g_source_attach(s, ctx);
    g_source_unref(s);
    return NULL;
}

static void test_other_thread_wakes(void)
{
    int fired = 0;
    settle(10);
    GThread *th = g_thread_new("attach", attach_later, &fired);
    gint64 t0 = g_get_monotonic_time();
    while (!fired && g_get_monotonic_time() - t0 < 3 * G_USEC_PER_SEC)
        vg_ice_loop_iterate(loop, 2000);
    gint64 took = g_get_monotonic_time() - t0;
    g_thread_join(th);
    VT_EQ_INT(fired, 1);
    VT_CHECK(took < G_USEC_PER_SEC); /* woken, not timed out */
}

int main(void)
{
    loop = vg_ice_loop_new();
    VT_CHECK(loop != NULL);
    ctx = vg_ice_loop_context(loop);
    g_main_context_push_thread_default(ctx);
    test_only_ready_dispatched();
    test_same_fd_twice();
    test_more_ready_than_one_wait();
    test_events_change();
    test_fd_number_reused();
    test_regular_file_always_ready();
    test_timeout_blocks_then_fires();
    test_rearmed_timer_one_run();
    test_other_thread_wakes();
    g_main_context_pop_thread_default(ctx);
    vg_ice_loop_free(loop);
    return vt_done("loop");
}
