/* One-off: what this machine's kernel charges per loopback UDP datagram, sent one by
 * one and in batches, so that per-packet figures from different machines can be read
 * against their floor (docs/benchmarks.md: a forwarded packet is at least one receive
 * and one send). One thread sends 1,200-byte datagrams to a socket of its own and
 * reads them back; CPU time (not wall time) of each side is summed. The send side
 * includes the kernel's delivery into the receiving socket, as a gateway's send does
 * for its peer. Sent as UDP GSO (one sendmsg with UDP_SEGMENT) too. Not built by meson:
 *
 *   cc -O2 tools/bench/udp_floor.c -o /tmp/udp_floor && tests/netns-run /tmp/udp_floor
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define N 200000
#define LEN 1200
#define MAX_BATCH 16

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char out[LEN], in[MAX_BATCH][1500];
static struct iovec out_iov[MAX_BATCH], in_iov[MAX_BATCH];
static struct mmsghdr out_m[MAX_BATCH], in_m[MAX_BATCH];

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* One sendmsg() of `batch` datagrams as one UDP GSO buffer (UDP_SEGMENT): the
 * stack is walked once and the kernel cuts the segments at delivery. */
static int send_gso(int tx, struct sockaddr_in *to, int batch)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } c = {0};
    struct msghdr m = {.msg_name = to,
                       .msg_namelen = sizeof *to,
                       .msg_iov = out_iov,
                       .msg_iovlen = (size_t)batch,
                       .msg_control = c.buf,
                       .msg_controllen = sizeof c.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = LEN;
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    return (int)sendmsg(tx, &m, 0);
}

static void run(int tx, int rx, struct sockaddr_in *to, int batch, int gso, double *send_us,
                double *recv_us)
{
    for (int i = 0; i < MAX_BATCH; i++) {
        out_iov[i] = (struct iovec){out, LEN};
        out_m[i] = (struct mmsghdr){.msg_hdr = {.msg_name = to,
                                                .msg_namelen = sizeof *to,
                                                .msg_iov = &out_iov[i],
                                                .msg_iovlen = 1}};
        in_iov[i] = (struct iovec){in[i], sizeof in[i]};
        in_m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &in_iov[i], .msg_iovlen = 1}};
    }
    double s = 0, r = 0;
    for (int i = 0; i < N; i += batch) {
        double t0 = cpu_s();
        if (gso) {
            if (send_gso(tx, to, batch) < 0)
                perror("udp_floor: UDP_SEGMENT");
        } else if (batch == 1)
            sendto(tx, out, LEN, 0, (struct sockaddr *)to, sizeof *to);
        else
            sendmmsg(tx, out_m, (unsigned)batch, 0);
        double t1 = cpu_s();
        if (batch == 1)
            recv(rx, in[0], sizeof in[0], MSG_DONTWAIT);
        else
            recvmmsg(rx, in_m, (unsigned)batch, MSG_DONTWAIT, NULL);
        r += cpu_s() - t1;
        s += t1 - t0;
    }
    *send_us = s / N * 1e6;
    *recv_us = r / N * 1e6;
}

int main(void)
{
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int big = 8 << 20;
    if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&a, sizeof a) ||
        getsockname(rx, (struct sockaddr *)&a, &len) ||
        setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big)) {
        perror("udp_floor: socket");
        return 1;
    }
    /* Each call also pays for reading the clock twice: measured and subtracted. */
    double c0 = cpu_s();
    for (int i = 0; i < N; i++)
        cpu_s();
    double clock_us = (cpu_s() - c0) / N * 1e6;
    printf("loopback UDP, %d-byte datagrams, CPU per datagram (clock read: %.2f us, "
           "subtracted)\n",
           LEN, clock_us);
    const int batches[] = {1, 4, 8, 16};
    for (int gso = 0; gso <= 1; gso++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            double s, r;
            run(tx, rx, &a, batches[b], gso, &s, &r);
            double per_call = clock_us / batches[b];
            printf("  %s %2d: send %.2f us, receive %.2f us\n", gso ? "GSO  " : "batch", batches[b],
                   s - per_call, r - per_call);
        }
    return 0;
}
