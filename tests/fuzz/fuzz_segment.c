/* The segment reader: any byte string is a segment or refused; a scan accounts for
 * every byte (complete records, then at most one torn tail), never reads past the
 * input, and its records re-encode to the same bytes. */
#include "evfmt.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_ev_scan sc;
    int rc = vg_ev_scan(data, size, &sc);
    if (rc != VG_OK) {
        CHECK(rc == VG_EINVAL);
        return 0;
    }
    CHECK(sc.complete_len <= size && sc.complete_len >= VG_EV_HDR_LEN);
    CHECK(sc.torn == (sc.complete_len < size));
    CHECK(sc.records == sc.rtp + sc.events);
    uint8_t hdr[VG_EV_HDR_LEN];
    CHECK(vg_ev_header_write(&sc.hdr, hdr) == VG_OK && memcmp(hdr, data, VG_EV_HDR_LEN) == 0);
    size_t off = VG_EV_HDR_LEN;
    uint8_t *out = malloc(VG_EV_REC_HDR + VG_EV_REC_MAX);
    while (off < sc.complete_len) {
        struct vg_ev_record r;
        int n = vg_ev_record_parse(data + off, size - off, &r);
        CHECK(n > 0 && off + (size_t)n <= sc.complete_len);
        CHECK(r.data == data + off + VG_EV_REC_HDR);
        CHECK(vg_ev_record_write(&r, out, VG_EV_REC_HDR + VG_EV_REC_MAX) == n);
        CHECK(memcmp(out, data + off, (size_t)n) == 0);
        off += (size_t)n;
    }
    free(out);
    CHECK(off == sc.complete_len);
    return 0;
}
