#include "ratelimit.h"

static void refill(struct vg_bucket *b, int64_t now_us)
{
    if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * b->rate / 1e6;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_us = now_us;
}

void vg_bucket_init(struct vg_bucket *b, double rate, double burst, int64_t now_us)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_us = now_us;
}

bool vg_bucket_take(struct vg_bucket *b, int64_t now_us)
{
    return vg_bucket_take_n(b, now_us, 1.0);
}

bool vg_bucket_take_n(struct vg_bucket *b, int64_t now_us, double n)
{
    refill(b, now_us);
    if (b->tokens < n)
        return false;
    b->tokens -= n;
    return true;
}

int64_t vg_bucket_wait_us(struct vg_bucket *b, int64_t now_us)
{
    refill(b, now_us);
    if (b->tokens >= 1.0 || b->rate <= 0)
        return 0;
    return (int64_t)((1.0 - b->tokens) * 1e6 / b->rate) + 1;
}
