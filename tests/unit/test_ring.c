/* The recorder's single-producer, single-consumer ring: entries come out whole and
 * in order across many wraps, full is a NULL (and clears once the consumer
 * releases), an entry over half the capacity is refused, and a producer thread
 * and a consumer thread running at once lose and corrupt nothing. */
#include "ring.h"
#include "vt.h"

#include <glib.h>
#include <string.h>

/* Entry i: its length and a byte pattern that names it. */
static size_t len_of(uint32_t i)
{
    return 4 + (i * 37u) % 300;
}

static void fill(uint8_t *p, uint32_t i)
{
    size_t n = len_of(i);
    memcpy(p, &i, 4);
    for (size_t k = 4; k < n; k++)
        p[k] = (uint8_t)(i + k);
}

static bool check(const uint8_t *p, size_t len, uint32_t want)
{
    uint32_t i;
    memcpy(&i, p, 4);
    if (i != want || len != len_of(i))
        return false;
    for (size_t k = 4; k < len; k++)
        if (p[k] != (uint8_t)(i + k))
            return false;
    return true;
}

static void test_full_and_wrap(void)
{
    struct vg_ring *g = vg_ring_new(1024);
    VT_EQ_INT(vg_ring_capacity(g), 1024);
    VT_CHECK(vg_ring_reserve(g, 600) == NULL); /* over half: never fits */
    uint32_t put = 0, got = 0, fulls = 0;
    for (int round = 0; round < 200; round++) {
        uint8_t *p;
        while ((p = vg_ring_reserve(g, len_of(put)))) { /* until full */
            fill(p, put++);
            vg_ring_commit(g);
        }
        fulls++;
        struct vg_ring_cursor c;
        vg_ring_begin(g, &c, round % 2 ? 100 : 1 << 20); /* partial reads too */
        const uint8_t *e;
        size_t len;
        while ((e = vg_ring_next(g, &c, &len)))
            VT_CHECK(check(e, len, got++));
        vg_ring_release(g, &c);
    }
    printf("ring 1024 B: %u entries through %u fills, %u read back in order\n", put, fulls, got);
    VT_CHECK(put > 500);
    VT_CHECK(got <= put && put - got < 1024 / 8);
    vg_ring_free(g);
}

struct pc {
    struct vg_ring *g;
    uint32_t n, full;
};

static gpointer producer(gpointer data)
{
    struct pc *pc = data;
    for (uint32_t i = 0; i < pc->n;) {
        uint8_t *p = vg_ring_reserve(pc->g, len_of(i));
        if (!p) {
            pc->full++;
            g_thread_yield();
            continue;
        }
        fill(p, i++);
        vg_ring_commit(pc->g);
    }
    return NULL;
}

static void test_two_threads(void)
{
    struct pc pc = {vg_ring_new(4096), 200000, 0};
    GThread *t = g_thread_new("producer", producer, &pc);
    uint32_t got = 0, bad = 0;
    while (got < pc.n) {
        struct vg_ring_cursor c;
        vg_ring_begin(pc.g, &c, 512);
        const uint8_t *e;
        size_t len;
        while ((e = vg_ring_next(pc.g, &c, &len)))
            bad += !check(e, len, got++);
        vg_ring_release(pc.g, &c);
    }
    g_thread_join(t);
    printf("two threads: %u entries, %u wrong, producer found it full %u times\n", got, bad,
           pc.full);
    VT_EQ_INT(bad, 0);
    VT_EQ_INT(got, pc.n);
    vg_ring_free(pc.g);
}

int main(void)
{
    test_full_and_wrap();
    test_two_threads();
    return vt_done("ring");
}
