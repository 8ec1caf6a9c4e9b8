/* vigild: the Vigil gateway daemon. Everything lives in src/daemon/app.c. */
#include "app.h"

#include <stdlib.h> /* defines __GLIBC__ */
#ifdef __GLIBC__
#include <malloc.h>
#endif

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Blocks of 64 KiB and more come from mmap, not from the heaps. Each leg's
     * libnice component allocates two 64 KiB receive buffers it barely touches (a
     * UDP datagram's worth; the other is for TCP framing). From a heap they land
     * in holes left by earlier calls' freed DTLS state, whose pages are resident,
     * so each call paid ~100 KiB of RSS for bytes never read; from mmap only the
     * pages written count (vigil-load, 50 calls: 345 -> ~235 KiB RSS per call).
     * The cost is four mmap/munmap per call set up. Per packet, only through
     * allocations of others: Debian's libsrtp2 on NSS callocs per packet, and in
     * heaps whose holes the buffers no longer fill that costs ~250-370 more
     * instructions per SRTP operation (callgrind, ~2% of the packet path); GCM
     * through OpenSSL's EVP allocates nothing per packet. A fixed threshold also
     * stops glibc raising it after the first such free, which would send the
     * buffers back to the heaps. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
    return vg_app_main(argc, argv);
}
