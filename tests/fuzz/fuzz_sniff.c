/* Any bytes type to one answer, the answer never changes as more bytes of the
 * same file arrive once decided, and nothing is read past the input's end. */
#include "sniff.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum vg_sniff_type all = vg_sniff(data, size, true);
    if (all == VG_SNIFF_NEED_MORE || all > VG_SNIFF_WEBM)
        abort();
    if (all != VG_SNIFF_UNKNOWN && !vg_sniff_mime(all))
        abort();
    enum vg_sniff_type decided = VG_SNIFF_NEED_MORE;
    for (size_t n = 0; n <= size && n <= VG_SNIFF_HEAD + 1; n++) {
        enum vg_sniff_type t = vg_sniff(data, n, n == size);
        if (decided != VG_SNIFF_NEED_MORE && t != decided && n < size)
            abort(); /* a decision taken on a prefix must hold */
        if (t != VG_SNIFF_NEED_MORE && decided == VG_SNIFF_NEED_MORE)
            decided = t;
    }
    if (size >= VG_SNIFF_HEAD && vg_sniff(data, size, false) == VG_SNIFF_NEED_MORE)
        abort(); /* VG_SNIFF_HEAD bytes always decide */
    return 0;
}
