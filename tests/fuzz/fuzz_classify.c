/* Every byte string classifies to exactly one class, and never reads past its end. */
#include "classify.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum vg_pkt_class c = vg_classify(data, size);
    if (c > VG_PKT_RTCP)
        abort();
    if (size == 0 && c != VG_PKT_UNKNOWN)
        abort();
    return 0;
}
