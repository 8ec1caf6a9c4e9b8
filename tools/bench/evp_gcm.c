/* One-off: where one AES-128-GCM operation through OpenSSL's EVP goes, the way
 * media/core/srtp_evp.c drives it per SRTP packet (a new nonce, the RTP header as
 * AAD, the payload, final, the tag), against its parts alone. Hot in cache: the
 * gateway pays more, its state is cold by the next packet of a leg. Not built by
 * meson:
 *
 *   cc -O2 tools/bench/evp_gcm.c -o /tmp/evp_gcm -lcrypto && /tmp/evp_gcm 1200
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 1000000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned char key[16] = {1}, iv[12] = {2}, aad[12] = {3}, buf[2048], tag[16];

static void whole(EVP_CIPHER_CTX *e, int len, int i)
{
    int out;
    iv[11] = (unsigned char)i;
    EVP_CipherInit_ex(e, NULL, NULL, NULL, iv, 1);
    EVP_CipherUpdate(e, NULL, &out, aad, sizeof aad);
    EVP_CipherUpdate(e, buf, &out, buf, len);
    EVP_CipherFinal_ex(e, tag, &out);
    EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag);
}

static void nonce_only(EVP_CIPHER_CTX *e, int len, int i)
{
    (void)len;
    iv[11] = (unsigned char)i;
    EVP_CipherInit_ex(e, NULL, NULL, NULL, iv, 1);
}

static void nonce_aad_final(EVP_CIPHER_CTX *e, int len, int i)
{
    int out;
    (void)len;
    nonce_only(e, 0, i);
    EVP_CipherUpdate(e, NULL, &out, aad, sizeof aad);
    EVP_CipherFinal_ex(e, tag, &out);
}

static void tag_ctrl(EVP_CIPHER_CTX *e, int len, int i)
{
    (void)len, (void)i;
    EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag);
}

static void tag_params(EVP_CIPHER_CTX *e, int len, int i)
{
    OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag),
                       OSSL_PARAM_END};
    (void)len, (void)i;
    EVP_CIPHER_CTX_get_params(e, p);
}

static void time_it(const char *what, void (*fn)(EVP_CIPHER_CTX *, int, int), EVP_CIPHER_CTX *e,
                    int len)
{
    double t0 = now();
    for (int i = 0; i < N; i++)
        fn(e, len, i);
    printf("%-40s %6.0f ns\n", what, (now() - t0) / N * 1e9);
}

int main(int argc, char **argv)
{
    int len = argc > 1 ? atoi(argv[1]) : 1200;
    if (len < 0 || len > (int)sizeof buf)
        return 2;
    memset(buf, 7, sizeof buf);
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    if (!c || !e || EVP_CipherInit_ex(e, c, NULL, key, NULL, 1) != 1)
        return 1;
    printf("AES-128-GCM, %d bytes, %s\n", len, OpenSSL_version(OPENSSL_VERSION));
    time_it("whole (as srtp_evp.c encrypts)", whole, e, len);
    time_it("  nonce (EVP_CipherInit_ex)", nonce_only, e, len);
    time_it("  nonce + 12 bytes AAD + final", nonce_aad_final, e, len);
    time_it("  tag through EVP_CIPHER_CTX_ctrl", tag_ctrl, e, len);
    time_it("  tag through prebuilt OSSL_PARAMs", tag_params, e, len);
    EVP_CIPHER_CTX_free(e);
    EVP_CIPHER_free(c);
    return 0;
}
