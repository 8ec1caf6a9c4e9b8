/* One-off: what one SRTP session costs to create and free (srtp_create, which derives
 * its keys with AES-ICM, and srtp_dealloc), with Debian's libsrtp2 ciphers (NSS)
 * and with Vigil's (media/core/srtp_evp.c, OpenSSL). A leg makes two sessions when
 * its DTLS handshake ends, on the media worker that carries its case and others. Not
 * built by meson:
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

/* us per session: create and free N inbound GCM sessions, as vg_srtp_new() makes them. */
static double sessions(void)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
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

int main(void)
{
    if (srtp_init() != srtp_err_status_ok)
        return 1;
    printf("libsrtp2's own ciphers:       %8.1f us per session\n", sessions());
    if (vg_srtp_evp_install() || vg_srtp_evp_install_icm())
        return 1;
    printf("Vigil's (OpenSSL) ciphers:    %8.1f us per session\n", sessions());
    return 0;
}
