#include "ratelimit.h"
#include "vt.h"

int main(void)
{
    struct vg_bucket b;
    vg_bucket_init(&b, 10, 3, 0); /* 10/s, burst 3 */
    VT_CHECK(vg_bucket_take(&b, 0));
    VT_CHECK(vg_bucket_take(&b, 0));
    VT_CHECK(vg_bucket_take(&b, 0));
    VT_CHECK(!vg_bucket_take(&b, 0)); /* burst spent */
    VT_EQ_INT(vg_bucket_wait_us(&b, 0), 100001);
    VT_CHECK(!vg_bucket_take(&b, 50000));
    VT_CHECK(vg_bucket_take(&b, 100001)); /* one refilled */
    VT_CHECK(!vg_bucket_take(&b, 100001));
    /* A long pause refills only up to the burst. */
    VT_CHECK(vg_bucket_take(&b, 10000000));
    VT_CHECK(vg_bucket_take(&b, 10000000));
    VT_CHECK(vg_bucket_take(&b, 10000000));
    VT_CHECK(!vg_bucket_take(&b, 10000000));
    /* Time going backwards never adds tokens. */
    VT_CHECK(!vg_bucket_take(&b, 5));
    VT_EQ_INT(vg_bucket_wait_us(&b, 10000000 + 100001), 0);
    /* By size: 1,000 bytes a second, 1,500 at once. */
    struct vg_bucket by;
    vg_bucket_init(&by, 1000, 1500, 0);
    VT_CHECK(vg_bucket_take_n(&by, 0, 1200));
    VT_CHECK(!vg_bucket_take_n(&by, 0, 1200)); /* 300 left: none taken */
    VT_CHECK(vg_bucket_take_n(&by, 0, 300));
    VT_CHECK(!vg_bucket_take_n(&by, 500000, 600)); /* half a second: 500 */
    VT_CHECK(vg_bucket_take_n(&by, 600000, 600));
    return vt_done("ratelimit");
}
