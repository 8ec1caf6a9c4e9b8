/* One-off: what one SRTP session costs to create and free (srtp_create, which derives
 * its keys with AES-ICM, and srtp_dealloc), with Debian's libsrtp2 ciphers (NSS)
 * and with Vigil's (media/core/srtp_evp.c, OpenSSL). A leg makes two sessions when
 * its DTLS handshake ends, on the media worker that carries its case and others. Not
 * built by meson (it also times protecting 1,090-byte packets with AES_CM_128_HMAC_SHA1_80,
 * whose cipher and MAC both change with the install):
 *
 *   cc -O2 -Imedia/core -Isrc/base tools/bench/srtp_session.c media/core/srtp_evp.c \
 *       -o /tmp/srtp_session -lsrtp2 -lcrypto && /tmp/srtp_session
 */
#include "srtp_evp.h"

#include <srtp2/srtp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 200

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static const unsigned char master[28] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                                         15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};

/* us per session: create and free N inbound sessions, as vg_srtp_new() makes them,
 * of AEAD_AES_128_GCM or AES_CM_128_HMAC_SHA1_80. */
static double sessions(int gcm)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    p.ssrc.type = ssrc_any_inbound;
    p.key = (unsigned char *)master;
    p.window_size = 1024;
    double t0 = now();
    for (int i = 0; i < N; i++) {
        srtp_t s;
        if (srtp_create(&s, &p) != srtp_err_status_ok)
            return -1;
        srtp_dealloc(s);
    }
    return (now() - t0) / N * 1e6;
}

/* ns per packet: N * 500 AES_CM_128_HMAC_SHA1_80 protects of a 1,090-byte payload. */
static double protect_cm(void)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.ssrc.type = ssrc_any_outbound;
    p.key = (unsigned char *)master;
    p.window_size = 1024;
    srtp_t s;
    if (srtp_create(&s, &p) != srtp_err_status_ok)
        return -1;
    unsigned char pkt[1200] = {0x80, 96};
    int n = N * 500;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        int len = 12 + 1090;
        pkt[2] = (unsigned char)(i >> 8), pkt[3] = (unsigned char)i;
        if (srtp_protect(s, pkt, &len) != srtp_err_status_ok)
            return -1;
    }
    double ns = (now() - t0) / n * 1e9;
    srtp_dealloc(s);
    return ns;
}

int main(void)
{
    if (srtp_init() != srtp_err_status_ok)
        return 1;
    double gcm = sessions(1), cm = sessions(0);
    printf("libsrtp2's own ciphers:     GCM %8.1f, AES-CM %8.1f us per session\n", gcm, cm);
    printf("  AES-CM protect, 1,090 bytes: %.0f ns\n", protect_cm());
    if (vg_srtp_evp_install() || vg_srtp_evp_install_icm())
        return 1;
    gcm = sessions(1), cm = sessions(0);
    printf("Vigil's (OpenSSL) ciphers:  GCM %8.1f, AES-CM %8.1f us per session\n", gcm, cm);
    printf("  AES-CM protect, 1,090 bytes: %.0f ns\n", protect_cm());
    return 0;
}
