/* One-off: the cost of one AES-128-GCM SRTP protect through Debian's libsrtp2 (built on
 * NSS) against OpenSSL's EVP on the same bytes, to bound what SRTP costs the gateway
 * per forwarded packet (docs/benchmarks.md). Not built by meson:
 *
 *   cc -O2 tools/bench/srtp_gcm.c -o /tmp/srtp_gcm -lsrtp2 -lcrypto && /tmp/srtp_gcm
 *   valgrind --tool=callgrind /tmp/srtp_gcm    # instructions, independent of load
 */
#include <openssl/evp.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 100000
#define PAYLOAD 1090 /* a video packet of the vigil-load clip, ~1,100 bytes */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double libsrtp2_us(unsigned char *key)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    p.ssrc.type = ssrc_any_outbound;
    p.key = key;
    p.window_size = 1024;
    srtp_t s;
    if (srtp_create(&s, &p))
        return -1;
    unsigned char pkt[1400];
    double t0 = now();
    for (int i = 0; i < N; i++) {
        memset(pkt, 0, 12);
        pkt[0] = 0x80, pkt[1] = 96, pkt[2] = (unsigned char)(i >> 8), pkt[3] = (unsigned char)i;
        pkt[8] = 1;
        int len = 12 + PAYLOAD;
        if (srtp_protect(s, pkt, &len))
            return -1;
    }
    double t = (now() - t0) / N * 1e6;
    srtp_dealloc(s);
    return t;
}

static double openssl_us(unsigned char *key)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char iv[12] = {0}, tag[16], in[1400] = {0}, out[1400];
    int ol;
    EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, NULL);
    double t0 = now();
    for (int i = 0; i < N; i++) {
        iv[11] = (unsigned char)i;
        EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv);
        EVP_EncryptUpdate(c, NULL, &ol, in, 12); /* the RTP header, authenticated */
        EVP_EncryptUpdate(c, out, &ol, in + 12, PAYLOAD);
        EVP_EncryptFinal_ex(c, out + ol, &ol);
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    }
    double t = (now() - t0) / N * 1e6;
    EVP_CIPHER_CTX_free(c);
    return t;
}

int main(void)
{
    unsigned char key[30] = {1, 2, 3};
    if (srtp_init())
        return 1;
    printf("libsrtp2 (Debian, on NSS) AES-128-GCM protect, %d-byte payload: %.2f us\n", PAYLOAD,
           libsrtp2_us(key));
    printf("OpenSSL EVP AES-128-GCM on the same bytes:                %.2f us\n", openssl_us(key));
    return 0;
}
