/* The event loop of one media thread (ice.h, vg_ice_loop_*).
 *
 * Why not GLib's own loop: every iteration of a GMainContext walks every source
 * attached to it twice (prepare and check, taking a reference to each). A media
 * worker carries a hundred legs or more, each with libnice's socket source and its
 * agent's timers, and wakes ~1,700 times a second for the datagrams; at 100 calls
 * that walk was ~14% of vigild's CPU (perf: g_main_context_check, g_source_ref,
 * g_main_context_prepare), for a wakeup that almost always finds one or two
 * sockets ready.
 *
 * So each transport's sockets live on a context of their own (the "io" context
 * libnice takes in nice_agent_attach_recv(), made by ice.c), and this loop polls
 * the fds of all of them and of its main context with one epoll set. A ready
 * socket runs only its own tiny context, through libnice's usual receive path (STUN,
 * consent, TURN and TCP all stay libnice's); the main context, with the timers and
 * the engine's messages, is run only when one of its own fds is ready or its
 * earliest timeout is due.
 *
 * The main context stays prepared (queried, its timeout known) across rounds that
 * only serve sockets. Anything that changes it meanwhile (a source attached from a
 * socket's callback, a timer re-armed, another thread posting) signals its wakeup
 * fd, which is in the set: that is what G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING is
 * for (GLib otherwise skips the signal when the owner itself attaches). The io
 * contexts have the flag too, so libnice adding or removing a socket wakes the loop
 * to register it.
 *
 * Registrations are kept per fd number (which set owns it, with which events). A
 * set's registrations are redone when its fds or events change, or when sockets may
 * have been opened or closed anywhere (vg_ice_sockets_changed()): an fd number
 * closed and reused looks unchanged in GLib's array but has left the epoll set.
 * epoll refuses regular files (EPERM), which poll() calls always ready: such an fd
 * is counted and served as always ready, as GLib's poll() would; sockets and
 * eventfds are never refused.
 *
 * Sends go out in batches: a datagram the engine forwards during a round is copied
 * into a slot, and the slots are sent after the round's sockets (and after each run
 * of the main context) with one sendmmsg() per run of one socket. A video frame
 * arrives as a burst of packets from one citizen and goes to one call-taker, so the
 * runs are several long; on this VM a sendmmsg of four costs ~1.3 us less per
 * datagram than four sendto() calls. The queue is flushed when full and before a
 * transport is released, so a datagram waits at most for the rest of its round.
 *
 * Within a run, consecutive datagrams to one address that are all of one size (the
 * last may be shorter) go out as one UDP GSO send (UDP_SEGMENT, Linux 4.18): the
 * stack is walked once for the group and the kernel cuts it into the datagrams at
 * the device, or on loopback at delivery. A video frame is just such a group: the
 * packetizer fills every packet but the last. On this VM a group of four costs
 * ~1.3 us per datagram against ~2.6 us in a sendmmsg (tools/bench/udp_floor.c).
 * The peer receives ordinary datagrams. A transport whose GSO send is refused (no
 * checksum offload, IPsec, a path MTU below the segment) sends one by one from then
 * on (ice.c, ice_note_gso_refused()): the group is sent again that way at once.
 *
 * Receiving past libnice: once a transport has a selected host UDP pair, ice.c puts
 * a socket of its own beside libnice's (same address and port, SO_REUSEPORT, with a
 * steering program that gives STUN to libnice and the rest to it: ice.c, rx_open()).
 * The loop polls that socket directly, with no context around it, and reads it with
 * recvmmsg(): a burst of datagrams is one syscall, and the read that finds the
 * socket empty is saved too when a batch comes back short. */
#include "ice.h"
#include "loop.h"

#include "log.h"
#include "vg_err.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_READY 256
#define RX_SLOTS 32    /* datagrams per recvmmsg() */
#define RX_SLOT 4096   /* bigger ones are truncated by the kernel: dropped and counted */
#define RX_BATCHES 4   /* recvmmsg() runs per socket per round, for fairness */
#define SEND_SLOTS 64  /* datagrams queued per loop: 64 x 2 KiB */
#define SEND_SLOT 2048 /* an SRTP packet of a 1500-byte MTU fits */
#define POLL_EXTRA (POLLERR | POLLHUP | POLLNVAL)
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif
#define GSO_MAX_SEGS 64     /* the kernel's UDP_MAX_SEGMENTS (64 before Linux 6.1) */
#define GSO_MAX_BYTES 60000 /* one IP datagram's payload, with room for the headers */

/* A control message with the segment size of one GSO send. */
union gso_cmsg {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
};

/* The fds of one GMainContext as this loop polls them. */
struct pset {
    struct vg_ice_loop *L;
    GMainContext *ctx;
    GPollFD *fds; /* from the last query; revents gathered from epoll until check */
    GPollFD *tmp; /* the next query, swapped in */
    gint n, cap;
    gint prio;                          /* from the last prepare */
    uint64_t gen;                       /* vg_ice_sockets_gen() when last registered */
    bool ready;                         /* an fd fired since the last check: on the ready list */
    bool again;                         /* its last prepare found a source ready without an fd */
    struct pset *next;                  /* ready list */
    struct pset *link_prev, *link_next; /* all io sets, for the "again" sweep */
};

struct queued {
    struct vg_ice *t;
    int fd;
    socklen_t tolen;
    struct sockaddr_storage to;
};

struct fd_reg {
    struct pset *owner; /* NULL: not registered by this loop (or an rx socket) */
    uint32_t events;
    bool always;       /* epoll refused it: ready every round, as poll() says */
    struct vg_ice *rx; /* a transport's own receive socket (ice_loop_add_rx()) */
};

static atomic_uint_fast64_t sockets_gen;

void vg_ice_sockets_changed(void)
{
    atomic_fetch_add_explicit(&sockets_gen, 1, memory_order_release);
}

uint64_t vg_ice_sockets_gen(void)
{
    return atomic_load_explicit(&sockets_gen, memory_order_acquire);
}

struct vg_ice_loop {
    GMainContext *ctx;
    struct pset main;
    bool main_prepared;
    int64_t main_deadline_us; /* -1: no timeout */
    int wake_fd;              /* the main context's wakeup eventfd, -1 if not known */
    int ep;
    struct fd_reg *reg; /* indexed by fd */
    int n_reg;
    struct epoll_event ev[MAX_READY];
    struct pset *ready;
    struct pset *io_sets; /* list of attached io sets */
    unsigned n_again;     /* io sets with again set */
    unsigned n_always;    /* fds registered as always ready */
    atomic_bool quit;
    struct vg_ice_loop_stats stats;
    /* sends waiting for the end of the round */
    unsigned n_queued;
    struct queued q[SEND_SLOTS];
    struct iovec iov[SEND_SLOTS];
    uint8_t *slots; /* SEND_SLOTS x SEND_SLOT */
    /* one run as sendmmsg() takes it: a header per GSO group or single datagram,
     * group g being q[gfirst[g] .. gfirst[g + 1]) */
    struct mmsghdr gmm[SEND_SLOTS];
    unsigned gfirst[SEND_SLOTS + 1];
    union gso_cmsg gcm[SEND_SLOTS];
    /* receive sockets ready this round, and recvmmsg()'s buffers */
    unsigned n_rx_ready;
    int rx_ready[MAX_READY];
    struct mmsghdr rmm[RX_SLOTS];
    struct iovec riov[RX_SLOTS];
    struct sockaddr_storage rfrom[RX_SLOTS];
    uint8_t *rslots; /* RX_SLOTS x RX_SLOT */
};

/* Registrations ------------------------------------------------------------ */

static void reg_grow(struct vg_ice_loop *L, int fd)
{
    if (fd < L->n_reg)
        return;
    int n = fd + 64;
    L->reg = g_renew(struct fd_reg, L->reg, n);
    memset(L->reg + L->n_reg, 0, (size_t)(n - L->n_reg) * sizeof *L->reg);
    L->n_reg = n;
}

/* Adds fd to the epoll set, or changes its events if the set has it already.
 * false with errno set if epoll refuses. */
static bool ep_set(struct vg_ice_loop *L, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ||
           (errno == EEXIST && epoll_ctl(L->ep, EPOLL_CTL_MOD, fd, &ev) == 0);
}

/* Adds fd, or changes its events if epoll has it already. A second set polling the
 * same fd would take it over: GLib merges the records of one fd within a context,
 * and no two of our contexts poll one socket. */
static void reg_fd(struct pset *ps, int fd, uint32_t events)
{
    struct vg_ice_loop *L = ps->L;
    reg_grow(L, fd);
    if (L->reg[fd].rx)
        return; /* a stale entry of GLib's: the fd number is an rx socket's now */
    bool always = false;
    if (L->reg[fd].always) {
        L->n_always--;
        L->reg[fd].always = false;
    }
    if (!ep_set(L, fd, events)) {
        L->stats.refused++;
        if (errno != EPERM) {
            vg_warn(NULL, NULL, "media loop: epoll refused fd %d: %s", fd, g_strerror(errno));
            L->reg[fd].owner = NULL;
            return;
        }
        always = true;
        L->n_always++;
    }
    L->reg[fd] = (struct fd_reg){.owner = ps, .events = events, .always = always};
}

static void unreg_fd(struct pset *ps, int fd)
{
    struct vg_ice_loop *L = ps->L;
    if (fd < 0 || fd >= L->n_reg || L->reg[fd].owner != ps)
        return;
    if (L->reg[fd].always)
        L->n_always--;
    else
        epoll_ctl(L->ep, EPOLL_CTL_DEL, fd, NULL); /* ENOENT if it was closed: fine */
    L->reg[fd] = (struct fd_reg){0};
}

static bool has_fd(const GPollFD *fds, gint n, int fd)
{
    for (gint i = 0; i < n; i++)
        if (fds[i].fd == fd)
            return true;
    return false;
}

static bool same_set(const GPollFD *a, gint na, const GPollFD *b, gint nb)
{
    if (na != nb)
        return false;
    for (gint i = 0; i < na; i++)
        if (a[i].fd != b[i].fd || a[i].events != b[i].events)
            return false;
    return true;
}

/* Registers nf[0..n) for ps in place of ps->fds[0..ps->n). When the array changed
 * at all, every fd is added again (EEXIST: modified): a source may have gone and
 * another come on a new file with the old fd number between two queries. */
static void sync_set(struct pset *ps, const GPollFD *nf, gint n)
{
    struct vg_ice_loop *L = ps->L;
    uint64_t gen = vg_ice_sockets_gen();
    bool force = gen != ps->gen || !same_set(ps->fds, ps->n, nf, n);
    for (gint i = 0; i < ps->n; i++)
        if (!has_fd(nf, n, ps->fds[i].fd))
            unreg_fd(ps, ps->fds[i].fd);
    for (gint i = 0; i < n; i++) {
        int fd = nf[i].fd;
        if (fd < 0)
            continue;
        if (!force && fd < L->n_reg && L->reg[fd].owner == ps && L->reg[fd].events == nf[i].events)
            continue;
        reg_fd(ps, fd, nf[i].events);
    }
    ps->gen = gen;
}

static void unreg_all(struct pset *ps)
{
    for (gint i = 0; i < ps->n; i++)
        unreg_fd(ps, ps->fds[i].fd);
    ps->n = 0;
}

/* Sending ---------------------------------------------------------------------- */

static bool same_dest(const struct queued *a, const struct queued *b)
{
    return a->t == b->t && a->tolen == b->tolen && memcmp(&a->to, &b->to, a->tolen) == 0;
}

/* How many of q[i..to) go out as one GSO send: those after q[i] to the same
 * transport and address, of q[i]'s size, and at most one shorter to end it. */
static unsigned gso_count(const struct vg_ice_loop *L, unsigned i, unsigned to)
{
    if (!ice_gso_allowed(L->q[i].t))
        return 1;
    size_t seg = L->iov[i].iov_len, total = seg;
    unsigned j = i + 1;
    while (j < to && j - i < GSO_MAX_SEGS && L->iov[j].iov_len <= seg &&
           total + L->iov[j].iov_len <= GSO_MAX_BYTES && same_dest(&L->q[i], &L->q[j])) {
        total += L->iov[j].iov_len;
        if (L->iov[j++].iov_len < seg)
            break;
    }
    return j - i;
}

/* Fills gmm[] and gfirst[] for q[from..to); returns the number of groups. A group
 * of one is a plain datagram; a bigger one carries its segment size. The iovecs of
 * a group are consecutive in iov[], so its header points at the first. */
static unsigned group_run(struct vg_ice_loop *L, unsigned from, unsigned to)
{
    unsigned g = 0;
    for (unsigned i = from; i < to; g++) {
        unsigned n = gso_count(L, i, to);
        struct msghdr *m = &L->gmm[g].msg_hdr;
        *m = (struct msghdr){.msg_name = &L->q[i].to,
                             .msg_namelen = L->q[i].tolen,
                             .msg_iov = &L->iov[i],
                             .msg_iovlen = n};
        if (n > 1) {
            m->msg_control = L->gcm[g].buf;
            m->msg_controllen = sizeof L->gcm[g].buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(m);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)L->iov[i].iov_len; /* <= SEND_SLOT */
            memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
        L->gfirst[g] = i;
        i += n;
    }
    L->gfirst[g] = to;
    return g;
}

/* The errors a GSO send gets where one datagram would go: no checksum offload or
 * IPsec (EIO), a segment over the path MTU (EMSGSIZE; EINVAL before Linux 5.x), a
 * kernel without UDP_SEGMENT (EINVAL, ENOPROTOOPT). */
static bool gso_refusal(int err)
{
    return err == EIO || err == EINVAL || err == EMSGSIZE || err == ENOPROTOOPT ||
           err == EOPNOTSUPP;
}

static void note_group(struct vg_ice_loop *L, unsigned g, int err)
{
    unsigned first = L->gfirst[g], end = L->gfirst[g + 1];
    for (unsigned i = first; i < end; i++)
        ice_note_sent(L->q[i].t, L->iov[i].iov_len, err);
    if (err == 0 && end - first > 1) {
        L->stats.gso_sends++;
        L->stats.gso_datagrams += end - first;
    }
}

/* Sends q[from..to), all on one fd; each outcome goes to its transport. */
static void send_run(struct vg_ice_loop *L, unsigned from, unsigned to)
{
    while (from < to) {
        unsigned ng = group_run(L, from, to);
        int n = sendmmsg(L->q[from].fd, L->gmm, ng, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        int err = n < 0 ? errno : EIO;
        unsigned ok = n > 0 ? (unsigned)n : 0;
        for (unsigned g = 0; g < ok; g++)
            note_group(L, g, 0);
        from = L->gfirst[ok];
        if (n > 0 || from >= to)
            continue; /* sent some: the next call tells what stopped it */
        /* The first unsent group failed. Refused as GSO: again one by one. */
        if (L->gfirst[1] - from > 1 && gso_refusal(err)) {
            ice_note_gso_refused(L->q[from].t, err);
            continue;
        }
        note_group(L, 0, err);
        from = L->gfirst[1];
    }
    L->stats.send_batches++;
}

static void flush_sends(struct vg_ice_loop *L)
{
    unsigned start = 0;
    for (unsigned i = 1; i <= L->n_queued; i++)
        if (i == L->n_queued || L->q[i].fd != L->q[start].fd) {
            send_run(L, start, i);
            start = i;
        }
    L->n_queued = 0;
}

void vg_ice_loop_flush(struct vg_ice_loop *L)
{
    flush_sends(L);
}

void ice_loop_send(struct vg_ice_loop *L, struct vg_ice *t, int fd, const void *to, unsigned tolen,
                   const uint8_t *buf, size_t len)
{
    if (L->n_queued == SEND_SLOTS || len > SEND_SLOT || tolen > sizeof L->q[0].to)
        flush_sends(L);
    if (len > SEND_SLOT || tolen > sizeof L->q[0].to) {
        ssize_t n;
        do
            n = sendto(fd, buf, len, MSG_DONTWAIT, to, tolen);
        while (n < 0 && errno == EINTR);
        ice_note_sent(t, len, n == (ssize_t)len ? 0 : n < 0 ? errno : EIO);
        return;
    }
    unsigned i = L->n_queued++;
    struct queued *e = &L->q[i];
    e->t = t;
    e->fd = fd;
    e->tolen = tolen;
    memcpy(&e->to, to, tolen);
    memcpy(L->slots + (size_t)i * SEND_SLOT, buf, len);
    L->iov[i] = (struct iovec){.iov_base = L->slots + (size_t)i * SEND_SLOT, .iov_len = len};
    L->stats.datagrams_queued++;
}

/* Preparing and dispatching a context -------------------------------------- */

/* prepare + query into ps->tmp; returns the timeout. The revents seen for the old
 * array are carried over to the fds still in the new one. */
static gint prepare_query(struct pset *ps)
{
    gint timeout = -1, n;
    g_main_context_prepare(ps->ctx, &ps->prio);
    while ((n = g_main_context_query(ps->ctx, ps->prio, &timeout, ps->tmp, ps->cap)) > ps->cap) {
        ps->cap = n + 4;
        ps->tmp = g_renew(GPollFD, ps->tmp, ps->cap);
        ps->fds = g_renew(GPollFD, ps->fds, ps->cap);
    }
    for (gint i = 0; i < n; i++) {
        ps->tmp[i].revents = 0;
        for (gint j = 0; j < ps->n; j++)
            if (ps->fds[j].fd == ps->tmp[i].fd)
                ps->tmp[i].revents = ps->fds[j].revents & (ps->tmp[i].events | POLL_EXTRA);
    }
    /* With a source ready at once, GLib leaves lower-priority fds out of the query:
     * the registrations stay as they were rather than churn (nothing blocks now). */
    if (timeout != 0)
        sync_set(ps, ps->tmp, n);
    GPollFD *swap = ps->fds;
    ps->fds = ps->tmp;
    ps->tmp = swap;
    ps->n = n;
    return timeout;
}

static void check_dispatch(struct pset *ps)
{
    if (g_main_context_check(ps->ctx, ps->prio, ps->fds, ps->n))
        g_main_context_dispatch(ps->ctx);
    for (gint i = 0; i < ps->n; i++)
        ps->fds[i].revents = 0;
}

/* One whole iteration of an io context, without a poll: epoll already said which of
 * its fds are ready. */
static void run_io(struct pset *ps)
{
    if (!g_main_context_acquire(ps->ctx))
        return; /* only this loop's thread iterates it: cannot happen */
    gint timeout = prepare_query(ps);
    check_dispatch(ps);
    g_main_context_release(ps->ctx);
    bool again = timeout == 0;
    if (again != ps->again)
        ps->L->n_again += again ? 1u : (unsigned)-1;
    ps->again = again;
    ps->L->stats.io_dispatches++;
}

static void main_prepare(struct vg_ice_loop *L)
{
    gint timeout = prepare_query(&L->main);
    L->main_deadline_us = timeout < 0 ? -1 : g_get_monotonic_time() + (int64_t)timeout * 1000;
    L->main_prepared = true;
}

/* A timer that fires re-arms itself (libnice's do: a new source each time), and
 * with OWNERLESS_POLLING that signals the context's wakeup fd even from this
 * thread, during this dispatch. The prepare that comes before the next wait sees
 * every such change, so the signal is taken here: else it made a second run of the
 * context at once (a walk over every source, twice), for each timer that fired.
 * A signal from another thread after this read wakes the loop as before; one
 * before it is covered by the prepare too (what it announces was done first). */
static void main_dispatch(struct vg_ice_loop *L)
{
    check_dispatch(&L->main);
    if (L->wake_fd >= 0) {
        uint64_t n;
        if (read(L->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
            L->wake_fd = -1; /* not the eventfd it was: leave it to GLib */
    }
    L->main_prepared = false;
    L->stats.main_dispatches++;
}

/* The loop ------------------------------------------------------------------ */

static int wait_ms(const struct vg_ice_loop *L, int max_wait_ms)
{
    if (L->n_again || L->n_always)
        return 0;
    if (L->main_deadline_us < 0)
        return max_wait_ms;
    int64_t left = L->main_deadline_us - g_get_monotonic_time();
    int ms = left <= 0 ? 0 : (int)((left + 999) / 1000);
    return max_wait_ms < 0 || ms < max_wait_ms ? ms : max_wait_ms;
}

static void note_ready(struct vg_ice_loop *L, struct pset *ps, int fd, uint32_t events)
{
    for (gint i = 0; i < ps->n; i++)
        if (ps->fds[i].fd == fd)
            ps->fds[i].revents |= (gushort)(events & (ps->fds[i].events | POLL_EXTRA));
    if (!ps->ready) {
        ps->ready = true;
        ps->next = L->ready;
        L->ready = ps;
    }
}

/* Notes each epoll event on its set and lists the sets that have one. */
static void collect(struct vg_ice_loop *L, int got)
{
    for (int r = 0; r < got; r++) {
        int fd = L->ev[r].data.fd;
        if (fd < L->n_reg && L->reg[fd].rx) {
            L->rx_ready[L->n_rx_ready++] = fd; /* got <= MAX_READY */
            continue;
        }
        struct pset *ps = fd < L->n_reg ? L->reg[fd].owner : NULL;
        if (!ps) { /* left over from a set already gone */
            epoll_ctl(L->ep, EPOLL_CTL_DEL, fd, NULL);
            continue;
        }
        note_ready(L, ps, fd, L->ev[r].events);
    }
    for (int fd = 0; L->n_always && fd < L->n_reg; fd++)
        if (L->reg[fd].always)
            note_ready(L, L->reg[fd].owner, fd, POLLIN | POLLOUT);
}

/* Runs the io sets that are ready, then those that asked to run again. Nothing an
 * io context dispatches frees a set: sets go from the main context (ice.c frees a
 * transport from an idle there). */
static void run_ready_io(struct vg_ice_loop *L)
{
    while (L->ready) {
        struct pset *ps = L->ready;
        L->ready = ps->next;
        ps->ready = false;
        if (ps == &L->main)
            continue; /* its flag in main.fds' revents is what counts */
        run_io(ps);
    }
    if (L->n_again)
        for (struct pset *ps = L->io_sets; ps; ps = ps->link_next)
            if (ps->again)
                run_io(ps);
}

/* Reads one rx socket: up to RX_BATCHES recvmmsg() runs, stopping at a short one
 * (the socket is empty: no read that finds nothing) or when the transport takes no
 * more from this fd (freed, or its pair moved, from inside a callback). */
static void rx_drain(struct vg_ice_loop *L, int fd)
{
    for (int batch = 0; batch < RX_BATCHES; batch++) {
        struct vg_ice *t = fd < L->n_reg ? L->reg[fd].rx : NULL;
        if (!t)
            return;
        for (unsigned i = 0; i < RX_SLOTS; i++) {
            L->rmm[i].msg_hdr.msg_namelen = sizeof L->rfrom[i];
            L->rmm[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(fd, L->rmm, RX_SLOTS, MSG_DONTWAIT, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN; any other error was the socket's pending one, now read */
        L->stats.rx_reads++;
        L->stats.datagrams_rx += (unsigned)n;
        for (int i = 0; i < n; i++) {
            const struct msghdr *h = &L->rmm[i].msg_hdr;
            if (!ice_rx_datagram(t, fd, L->riov[i].iov_base, L->rmm[i].msg_len, h->msg_name,
                                 h->msg_namelen, (h->msg_flags & MSG_TRUNC) != 0))
                return;
        }
        if (n < RX_SLOTS)
            return;
    }
}

static void run_rx(struct vg_ice_loop *L)
{
    for (unsigned i = 0; i < L->n_rx_ready; i++)
        rx_drain(L, L->rx_ready[i]);
    L->n_rx_ready = 0;
}

static bool main_fd_ready(const struct vg_ice_loop *L)
{
    for (gint i = 0; i < L->main.n; i++)
        if (L->main.fds[i].revents)
            return true;
    return false;
}

int vg_ice_loop_iterate(struct vg_ice_loop *L, int max_wait_ms)
{
    if (!g_main_context_acquire(L->ctx))
        return VG_ESTATE;
    flush_sends(L); /* sent from outside a round (tests, start-up) */
    if (!L->main_prepared)
        main_prepare(L);
    int got = epoll_wait(L->ep, L->ev, MAX_READY, wait_ms(L, max_wait_ms));
    if (got < 0 && errno != EINTR)
        vg_warn(NULL, NULL, "media loop: epoll_wait: %s", g_strerror(errno));
    L->stats.rounds++;
    collect(L, got > 0 ? got : 0);
    run_rx(L);
    run_ready_io(L);
    flush_sends(L);
    bool due = L->main_deadline_us >= 0 && g_get_monotonic_time() >= L->main_deadline_us;
    if (due || main_fd_ready(L)) {
        main_dispatch(L);
        flush_sends(L);
    }
    g_main_context_release(L->ctx);
    return got < 0 ? 0 : got;
}

void vg_ice_loop_run(struct vg_ice_loop *L)
{
    atomic_store(&L->quit, false);
    while (!atomic_load(&L->quit))
        vg_ice_loop_iterate(L, -1);
}

void vg_ice_loop_quit(struct vg_ice_loop *L)
{
    atomic_store(&L->quit, true);
    g_main_context_wakeup(L->ctx);
}

/* Life ------------------------------------------------------------------------ */

/* A new context polls one fd: its wakeup, an eventfd (GLib's GWakeup on Linux).
 * Anything else found there (a GLib built with a pipe): -1, and it is left alone. */
static int wakeup_fd(GMainContext *ctx)
{
    GPollFD fds[2];
    gint prio, timeout, n = 0;
    if (g_main_context_acquire(ctx)) {
        g_main_context_prepare(ctx, &prio);
        n = g_main_context_query(ctx, prio, &timeout, fds, 2);
        g_main_context_release(ctx);
    }
    char link[64], target[32];
    if (n != 1)
        return -1;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fds[0].fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len < 0)
        return -1;
    target[len] = 0;
    int fl = fcntl(fds[0].fd, F_GETFL);
    return strcmp(target, "anon_inode:[eventfd]") == 0 && fl >= 0 && (fl & O_NONBLOCK) ? fds[0].fd
                                                                                       : -1;
}

struct vg_ice_loop *vg_ice_loop_new(void)
{
    struct vg_ice_loop *L = g_new0(struct vg_ice_loop, 1);
    L->ep = epoll_create1(EPOLL_CLOEXEC);
    if (L->ep < 0) {
        g_free(L);
        return NULL;
    }
    L->ctx = g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
    L->wake_fd = wakeup_fd(L->ctx);
    L->slots = g_malloc((size_t)SEND_SLOTS * SEND_SLOT);
    L->rslots = g_malloc((size_t)RX_SLOTS * RX_SLOT);
    for (unsigned i = 0; i < RX_SLOTS; i++) {
        L->riov[i] =
            (struct iovec){.iov_base = L->rslots + (size_t)i * RX_SLOT, .iov_len = RX_SLOT};
        L->rmm[i].msg_hdr =
            (struct msghdr){.msg_name = &L->rfrom[i], .msg_iov = &L->riov[i], .msg_iovlen = 1};
    }
    L->main.L = L;
    L->main.ctx = L->ctx;
    L->main.gen = (uint64_t)-1;
    L->main_deadline_us = -1;
    return L;
}

GMainContext *vg_ice_loop_context(struct vg_ice_loop *L)
{
    return L->ctx;
}

void vg_ice_loop_get_stats(const struct vg_ice_loop *L, struct vg_ice_loop_stats *out)
{
    *out = L->stats;
}

void vg_ice_loop_free(struct vg_ice_loop *L)
{
    if (!L)
        return;
    flush_sends(L);
    unreg_all(&L->main);
    close(L->ep);
    g_free(L->slots);
    g_free(L->rslots);
    g_free(L->main.fds);
    g_free(L->main.tmp);
    g_free(L->reg);
    g_main_context_unref(L->ctx);
    g_free(L);
}

/* For ice.c ------------------------------------------------------------------- */

GMainContext *ice_loop_new_io_context(void)
{
    return g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
}

/* The first run registers the context's wakeup fd, so that libnice attaching its
 * socket sources (at gathering) wakes the loop to register them in turn. */
struct ice_io *ice_loop_attach(struct vg_ice_loop *L, GMainContext *io)
{
    struct pset *ps = g_new0(struct pset, 1);
    ps->L = L;
    ps->ctx = g_main_context_ref(io);
    ps->gen = (uint64_t)-1;
    ps->link_next = L->io_sets;
    if (L->io_sets)
        L->io_sets->link_prev = ps;
    L->io_sets = ps;
    run_io(ps);
    return (struct ice_io *)ps;
}

void ice_loop_detach(struct ice_io *io)
{
    struct pset *ps = (struct pset *)io;
    if (!ps)
        return;
    struct vg_ice_loop *L = ps->L;
    flush_sends(L); /* queued datagrams name their transport, which goes next */
    unreg_all(ps);
    if (ps->again)
        L->n_again--;
    if (ps->ready) { /* cannot be: sets go between rounds; kept safe all the same */
        struct pset **pp = &L->ready;
        while (*pp != ps)
            pp = &(*pp)->next;
        *pp = ps->next;
    }
    if (ps->link_prev)
        ps->link_prev->link_next = ps->link_next;
    else
        L->io_sets = ps->link_next;
    if (ps->link_next)
        ps->link_next->link_prev = ps->link_prev;
    g_main_context_unref(ps->ctx);
    g_free(ps->fds);
    g_free(ps->tmp);
    g_free(ps);
}

/* A transport's own receive socket: polled alone, read by rx_drain(). A stale
 * registration of the fd number by a GLib set (its socket closed, the number reused)
 * gives way. */
int ice_loop_add_rx(struct vg_ice_loop *L, int fd, struct vg_ice *t)
{
    reg_grow(L, fd);
    struct fd_reg *r = &L->reg[fd];
    if (r->always)
        L->n_always--;
    *r = (struct fd_reg){0};
    if (!ep_set(L, fd, EPOLLIN))
        return VG_EIO;
    r->rx = t;
    return 0;
}

/* Before the socket closes. Its events still in this round's list find no owner. */
void ice_loop_del_rx(struct vg_ice_loop *L, int fd)
{
    if (fd < 0 || fd >= L->n_reg || !L->reg[fd].rx)
        return;
    epoll_ctl(L->ep, EPOLL_CTL_DEL, fd, NULL);
    L->reg[fd] = (struct fd_reg){0};
}
