/* The NACK history (media/core/history.h): packets found again byte for byte, "written
 * over" told apart from "never here", growth that keeps what was readable, and a
 * simulated receiver on a long round trip that gets its retransmissions once the
 * ring has grown (as the engine grows it: to the measured round trip, and twice as
 * big when a NACK comes too late). */
#include "history.h"
#include "vg_err.h"
#include "vt.h"

#include <stdlib.h>

#define SSRC 0x11223344u

static void fill(uint8_t *p, uint16_t seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 7 + i);
}

static int same(const uint8_t *p, uint16_t seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != (uint8_t)(seq * 7 + i))
            return 0;
    return 1;
}

static void put(struct vg_history *h, uint16_t seq, size_t len)
{
    uint64_t at;
    uint8_t *p = vg_history_reserve(h, len, &at);
    fill(p, seq, len);
    vg_history_commit(h, at, SSRC, seq, len);
}

static int readable(const struct vg_history *h, uint16_t seq, size_t want_len)
{
    const uint8_t *p;
    size_t len;
    return vg_history_find(h, SSRC, seq, &p, &len) == 0 && len == want_len && same(p, seq, len);
}

static void test_basics(void)
{
    VT_CHECK(vg_history_new(0, 1024) == NULL);
    VT_CHECK(vg_history_new(2048, 1024) == NULL);
    struct vg_history *h = vg_history_new(32 * 1024, 160 * 1024);
    VT_CHECK(h != NULL);
    const uint8_t *p;
    size_t len;
    VT_EQ_INT(vg_history_find(h, SSRC, 1, &p, &len), VG_ENOENT);
    /* 100 packets of 1,000 bytes through 32 KiB: the last 32 or so stay. */
    for (uint16_t s = 0; s < 100; s++)
        put(h, s, 1000 + s % 3);
    VT_CHECK(readable(h, 99, 1000));
    VT_CHECK(readable(h, 75, 1000));
    VT_EQ_INT(vg_history_find(h, SSRC, 10, &p, &len), VG_ENOSPC);  /* indexed, written over */
    VT_EQ_INT(vg_history_find(h, SSRC, 500, &p, &len), VG_ENOENT); /* never here */
    VT_EQ_INT(vg_history_find(h, SSRC + 1, 99, &p, &len), VG_ENOENT);
    unsigned live = 0;
    for (uint16_t s = 0; s < 100; s++)
        live += readable(h, s, 1000 + s % 3);
    printf("basics: %u of 100 packets of ~1,000 bytes readable in %zu bytes\n", live, h->cap);
    VT_CHECK(live >= 30 && live <= 33);

    /* Growing keeps every readable packet, drops the written-over ones from the index,
     * and new packets land after the kept ones. */
    VT_EQ_INT(vg_history_grow(h, 40 * 1024), 0);
    VT_EQ_INT(h->cap, 48 * 1024); /* rounded up to a step */
    unsigned kept = 0;
    for (uint16_t s = 0; s < 100; s++)
        kept += readable(h, s, 1000 + s % 3);
    VT_EQ_INT(kept, live);
    VT_EQ_INT(vg_history_find(h, SSRC, 10, &p, &len), VG_ENOENT);
    for (uint16_t s = 100; s < 110; s++)
        put(h, s, 1200);
    VT_CHECK(readable(h, 109, 1200));
    VT_CHECK(readable(h, 99, 1000));
    /* Bounded: at most max, however much is asked for; asking for less is a no-op. */
    VT_EQ_INT(vg_history_grow(h, 10 * 1024 * 1024), 0);
    VT_EQ_INT(h->cap, 160 * 1024);
    VT_EQ_INT(vg_history_grow(h, 1024), 0);
    VT_EQ_INT(h->cap, 160 * 1024);
    VT_EQ_INT(h->grows, 2);
    VT_CHECK(readable(h, 109, 1200));
    vg_history_free(h);
    vg_history_free(NULL);

    VT_EQ_INT(vg_history_bytes_for(0, 300000), 0);
    VT_EQ_INT(vg_history_bytes_for(187500, 300000), 187500 * 750 / 1000); /* 2 x 300 + 150 ms */
    VT_EQ_INT(vg_history_bytes_for(187500, -5), 187500 * 150 / 1000);
}

/* A source sending 1.5 Mbit/s (180 packets/s of ~1,040 bytes, and a 40-packet
 * keyframe burst every 2 s, unpaced) to one receiver that loses every 20th packet and asks
 * for it one round trip later, then again each round trip, three times in all. The
 * engine's rules: the ring grows to vg_history_bytes_for() when a report measures the
 * round trip (each second from the first), and doubles when a NACK finds its packet
 * written over. Returns the share of lost packets (after the first 3 s) served. */
struct nack {
    int64_t due;
    uint16_t seq;
    int tries;
    int counted; /* lost in the measured window */
};

static double simulate(int64_t rtt_us, int grow, size_t *cap)
{
    struct vg_history *h = vg_history_new(32 * 1024, 160 * 1024);
    static struct nack q[4096];
    unsigned nq = 0, lost = 0, served = 0;
    uint16_t seq = 0;
    const int64_t gap = 1000000 / 180, end = 20000000;
    for (int64_t now = 0; now < end; now += gap) {
        /* the receiver's NACKs that reach us by now */
        for (unsigned i = 0; i < nq;) {
            if (q[i].due > now) {
                i++;
                continue;
            }
            const uint8_t *p;
            size_t len;
            int rc = vg_history_find(h, SSRC, q[i].seq, &p, &len);
            if (rc == VG_ENOSPC && grow)
                vg_history_grow(h, h->cap * 2);
            if (rc == 0 || ++q[i].tries > 3) {
                served += rc == 0 && q[i].counted;
                q[i] = q[--nq];
                continue;
            }
            q[i++].due = now + rtt_us;
        }
        if (grow && now / 1000000 != (now - gap) / 1000000 && now >= 1000000)
            vg_history_grow(h, vg_history_bytes_for(187500, rtt_us));
        int burst = now % 2000000 < gap ? 40 : 1;
        for (int b = 0; b < burst; b++, seq++) {
            put(h, seq, burst > 1 ? 1150 : 1040);
            if (seq % 20 == 7 && nq < 4096) { /* lost on the way to the receiver */
                int counted = now > 3000000 && now < end - 4 * rtt_us - 20000;
                q[nq++] = (struct nack){now + rtt_us + 10000, seq, 1, counted};
                lost += counted;
            }
        }
    }
    *cap = h->cap;
    vg_history_free(h);
    return lost ? (double)served / lost : 0;
}

static void test_long_round_trip(void)
{
    size_t cap;
    double lan = simulate(2000, 1, &cap);
    printf("LAN receiver (2 ms): %.1f%% of lost packets served, ring %zu KiB\n", lan * 100,
           cap / 1024);
    VT_CHECK(lan >= 0.99);
    /* A 46 KB keyframe arriving at once overruns 32 KiB before even a LAN NACK comes
     * back: the first such loss doubles the ring, and that is enough. */
    VT_CHECK(cap <= 64 * 1024);

    double fixed = simulate(300000, 0, &cap);
    printf("mobile receiver (300 ms), ring kept at 32 KiB: %.1f%% served\n", fixed * 100);
    VT_CHECK(fixed < 0.1);

    double grown = simulate(300000, 1, &cap);
    printf("mobile receiver (300 ms), ring grown: %.1f%% served, ring %zu KiB\n", grown * 100,
           cap / 1024);
    VT_CHECK(grown >= 0.99);
    VT_CHECK(cap >= 128 * 1024 && cap <= 160 * 1024);

    /* No round trip measured (no reports): the late NACKs alone grow it. */
    double by_nacks = 0;
    {
        struct vg_history *h = vg_history_new(32 * 1024, 160 * 1024);
        unsigned asked = 0, got = 0;
        for (uint16_t s = 0; s < 2000; s++) {
            put(h, s, 1040);
            if (s >= 100 && s % 20 == 0) { /* asked for 60 packets (~330 ms) later */
                const uint8_t *p;
                size_t len;
                uint16_t want = (uint16_t)(s - 60);
                int rc = vg_history_find(h, SSRC, want, &p, &len);
                if (rc == VG_ENOSPC)
                    vg_history_grow(h, h->cap * 2);
                asked++;
                got += rc == 0 && same(p, want, len);
            }
        }
        by_nacks = (double)got / asked;
        printf("no reports, NACKs 60 packets late: %u of %u served, ring %zu KiB after %u grows\n",
               got, asked, h->cap / 1024, h->grows);
        VT_EQ_INT(h->grows, 1);
        vg_history_free(h);
    }
    VT_CHECK(by_nacks >= 0.95);
}

int main(void)
{
    test_basics();
    test_long_round_trip();
    return vt_done("history");
}
