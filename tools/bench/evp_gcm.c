/* One-off: where one AES-128-GCM operation goes per SRTP packet (a new nonce, the
 * RTP header as AAD, the payload, final, the tag), driven through OpenSSL's EVP
 * layer as media/core/srtp_evp.c did until 2026-12-07, and through the provider's
 * own functions as it does now, with each one's parts alone. The two are timed
 * alternately, four rounds, and must give the same tag. Hot in cache: the gateway
 * pays more, its state is cold by the next packet of a leg. Not built by meson:
 *
 *   cc -O2 tools/bench/evp_gcm.c -o /tmp/evp_gcm -lcrypto && /tmp/evp_gcm 1200
 */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <strings.h>
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

/* The same through the provider's own functions (provider-cipher(7)), as
 * srtp_evp.c calls them now: no EVP wrapper, no IV length query per nonce. */
static struct {
    void *provctx, *ctx;
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_encrypt_init_fn *einit;
    OSSL_FUNC_cipher_update_fn *update;
    OSSL_FUNC_cipher_final_fn *final;
    OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
} P;

static int has_name(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
        if (!strncasecmp(p, name, n) && (p[n] == ':' || !p[n]))
            return 1;
    return 0;
}

static int prov_setup(const EVP_CIPHER *c)
{
    const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(c);
    int no_store = 0;
    const OSSL_ALGORITHM *a = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
    for (; a && a->algorithm_names; a++) {
        if (!has_name(a->algorithm_names, "AES-128-GCM"))
            continue;
        for (const OSSL_DISPATCH *d = a->implementation; d->function_id; d++) {
            switch (d->function_id) {
            case OSSL_FUNC_CIPHER_NEWCTX: P.newctx = OSSL_FUNC_cipher_newctx(d); break;
            case OSSL_FUNC_CIPHER_ENCRYPT_INIT: P.einit = OSSL_FUNC_cipher_encrypt_init(d); break;
            case OSSL_FUNC_CIPHER_UPDATE: P.update = OSSL_FUNC_cipher_update(d); break;
            case OSSL_FUNC_CIPHER_FINAL: P.final = OSSL_FUNC_cipher_final(d); break;
            case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
                P.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
                break;
            }
        }
        break;
    }
    P.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
    if (!P.newctx || !P.einit || !P.update || !P.final || !P.get_ctx_params)
        return 0;
    P.ctx = P.newctx(P.provctx);
    return P.ctx && P.einit(P.ctx, key, sizeof key, NULL, 0, NULL);
}

static void prov_whole(EVP_CIPHER_CTX *e, int len, int i)
{
    size_t out;
    (void)e;
    iv[11] = (unsigned char)i;
    P.einit(P.ctx, NULL, 0, iv, sizeof iv, NULL);
    P.update(P.ctx, NULL, &out, sizeof aad, aad, sizeof aad);
    P.update(P.ctx, buf, &out, sizeof buf, buf, (size_t)len);
    P.final(P.ctx, tag, &out, sizeof tag);
    OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag),
                       OSSL_PARAM_END};
    P.get_ctx_params(P.ctx, p);
}

static void prov_nonce(EVP_CIPHER_CTX *e, int len, int i)
{
    (void)e, (void)len;
    iv[11] = (unsigned char)i;
    P.einit(P.ctx, NULL, 0, iv, sizeof iv, NULL);
}

static void prov_tag(EVP_CIPHER_CTX *e, int len, int i)
{
    (void)e, (void)len, (void)i;
    OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag),
                       OSSL_PARAM_END};
    P.get_ctx_params(P.ctx, p);
}

static void prov_nonce_aad_final(EVP_CIPHER_CTX *e, int len, int i)
{
    size_t out;
    (void)e, (void)len;
    iv[11] = (unsigned char)i;
    P.einit(P.ctx, NULL, 0, iv, sizeof iv, NULL);
    P.update(P.ctx, NULL, &out, sizeof aad, aad, sizeof aad);
    P.final(P.ctx, tag, &out, sizeof tag);
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
    time_it("EVP: whole", whole, e, len);
    time_it("  nonce (EVP_CipherInit_ex)", nonce_only, e, len);
    time_it("  nonce + 12 bytes AAD + final", nonce_aad_final, e, len);
    time_it("  tag through EVP_CIPHER_CTX_ctrl", tag_ctrl, e, len);
    time_it("  tag through prebuilt OSSL_PARAMs", tag_params, e, len);
    if (!prov_setup(c))
        return 1;
    time_it("provider: whole", prov_whole, e, len);
    time_it("  nonce (encrypt_init)", prov_nonce, e, len);
    time_it("  nonce + 12 bytes AAD + final", prov_nonce_aad_final, e, len);
    time_it("  tag (get_ctx_params)", prov_tag, e, len);
    for (int r = 0; r < 4; r++) {
        time_it("EVP: whole", whole, e, len);
        time_it("provider: whole", prov_whole, e, len);
    }
    unsigned char t1[16];
    memset(buf, 7, sizeof buf);
    whole(e, len, 5);
    memcpy(t1, tag, 16);
    memset(buf, 7, sizeof buf);
    prov_whole(e, len, 5);
    int same = !memcmp(t1, tag, 16);
    printf("same tag both ways: %s\n", same ? "yes" : "NO");
    EVP_CIPHER_CTX_free(e);
    EVP_CIPHER_free(c);
    return same ? 0 : 1;
}
