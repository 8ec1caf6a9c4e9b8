/* Arbitrary bytes through the SRTP wrapper with fixed keys: unprotected as RTP and
 * as RTCP (what any host on the path can send us), and protected as RTP and RTCP
 * (malformed headers must be refused before libsrtp2 reads them).
 * Input: one selector byte (bit 0: AES-GCM instead of AES-CM), then the packet. */
#include "srtp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libsrtp's reference master keys (test/srtp_driver.c), so the corpus can hold real
 * SRTP packets that authenticate. */
static const uint8_t cm_master[30] = {
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
    0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t gcm_master[28] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};

static struct vg_srtp *make_session(enum vg_srtp_profile p)
{
    struct vg_srtp_keys k = {.profile = p, .key_len = 16, .salt_len = vg_srtp_salt_len(p)};
    const uint8_t *m = p == VG_SRTP_AEAD_AES_128_GCM ? gcm_master : cm_master;
    memcpy(k.local, m, 16 + k.salt_len);
    memcpy(k.remote, m, 16 + k.salt_len);
    struct vg_srtp *s = NULL;
    if (vg_srtp_new(&k, 4, &s))
        abort();
    return s;
}

/* The result of one call must be a length the buffer holds, or one of the codes
 * the header lists. */
static void check(int rc, size_t cap)
{
    if (rc >= 0 ? (size_t)rc > cap
                : (rc != VG_EINVAL && rc != VG_ENOSPC && rc != VG_SRTP_EAUTH &&
                   rc != VG_SRTP_EREPLAY && rc != VG_EIO))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    enum vg_srtp_profile p = data[0] & 1 ? VG_SRTP_AEAD_AES_128_GCM : VG_SRTP_AES128_CM_SHA1_80;
    const uint8_t *pkt = data + 1;
    size_t len = size - 1;
    /* One session takes the arbitrary bytes; a fresh one does the round trip, so a
     * corpus packet that authenticated cannot make the round trip look replayed. */
    struct vg_srtp *s = make_session(p), *rt = make_session(p);
    /* Exact-size heap copies: AddressSanitizer sees any access past the packet. */
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, pkt, len);
    check(vg_srtp_unprotect_rtp(s, buf, len), len);
    memcpy(buf, pkt, len);
    check(vg_srtp_unprotect_rtcp(s, buf, len), len);
    free(buf);

    size_t cap = len + vg_srtp_rtcp_overhead(p);
    buf = malloc(cap ? cap : 1);
    memcpy(buf, pkt, len);
    int n = vg_srtp_protect_rtp(rt, buf, len, cap);
    check(n, cap);
    /* What we protected must come back unchanged. */
    if (n >= 0 &&
        (vg_srtp_unprotect_rtp(rt, buf, (size_t)n) != (int)len || memcmp(buf, pkt, len) != 0))
        abort();
    memcpy(buf, pkt, len);
    n = vg_srtp_protect_rtcp(rt, buf, len, cap);
    check(n, cap);
    if (n >= 0 &&
        (vg_srtp_unprotect_rtcp(rt, buf, (size_t)n) != (int)len || memcmp(buf, pkt, len) != 0))
        abort();
    free(buf);
    vg_srtp_free(s);
    vg_srtp_free(rt);
    return 0;
}
