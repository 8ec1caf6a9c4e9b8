#include "srtp_evp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <srtp2/srtp.h>

#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/crypto_types.h>

#include "vg_err.h"

#define GCM_KEY_LEN 16
#define GCM_IV_LEN 12 /* RFC 7714 section 8.1 */

/* A cipher's functions as its provider exports them (provider-cipher(7)), taken
 * from the provider that EVP_CIPHER_fetch() chose, and called directly instead of
 * through EVP_CIPHER_CTX. Why: OpenSSL 3.0's EVP layer asks the provider for the IV
 * length at every new nonce (EVP_CIPHER_CTX_get_iv_length(), a walk of its
 * OSSL_PARAM names with strcmp), and wraps every tag in a ctrl translated to
 * OSSL_PARAMs. Per packet that was ~33 strcmp calls in the gateway's receive path
 * (callgrind) and ~90 of the ~450 ns one 1,200-byte packet costs to protect
 * (tools/bench/evp_gcm.c: 450 against 360 ns). The provider's functions take the IV
 * length as an argument; only the tag still travels as an OSSL_PARAM. The fetched
 * EVP_CIPHER is kept: it holds the provider loaded. */
struct prov_cipher {
    EVP_CIPHER *cipher;
    void *provctx;
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_freectx_fn *freectx;
    OSSL_FUNC_cipher_encrypt_init_fn *einit;
    OSSL_FUNC_cipher_decrypt_init_fn *dinit;
    OSSL_FUNC_cipher_update_fn *update;
    OSSL_FUNC_cipher_final_fn *final;
    OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
    OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
};

static struct prov_cipher G;   /* AES-128-GCM */
static struct prov_cipher CTR; /* AES-128-CTR, for AES-ICM */

/* What both cipher types' states begin with. */
struct prov_state {
    void *ctx; /* the provider's */
};

/* A libsrtp2 cipher of type with a zeroed state of size bytes, which begins with a
 * struct prov_state holding a new context of pc. */
static srtp_err_status_t cipher_new(const struct prov_cipher *pc, const srtp_cipher_type_t *type,
                                    size_t size, int key_len, srtp_cipher_pointer_t *cp)
{
    srtp_cipher_t *c = calloc(1, sizeof *c);
    struct prov_state *st = calloc(1, size);
    if (st)
        st->ctx = pc->newctx(pc->provctx);
    if (!c || !st || !st->ctx) {
        if (st && st->ctx)
            pc->freectx(st->ctx);
        free(st);
        free(c);
        return srtp_err_status_alloc_fail;
    }
    c->type = type;
    c->state = st;
    c->key_len = key_len;
    c->algorithm = type->id; /* libsrtp2's tests branch on it */
    *cp = c;
    return srtp_err_status_ok;
}

static srtp_err_status_t cipher_free(const struct prov_cipher *pc, srtp_cipher_pointer_t c,
                                     size_t size)
{
    struct prov_state *st = c->state;
    pc->freectx(st->ctx); /* OpenSSL's clear the key schedule */
    OPENSSL_cleanse(st, size);
    free(st);
    free(c);
    return srtp_err_status_ok;
}

/* One libsrtp2 cipher instance. libsrtp2 calls, per packet: set_iv, set_aad (once or
 * twice: SRTCP adds its trailer), then encrypt + get_tag, or decrypt with the tag at
 * the end of the buffer. The provider's context keeps the expanded key across
 * packets; set_iv only restarts GCM with a new nonce. */
struct gcm {
    struct prov_state base; /* first: cipher_new() and cipher_free() see it */
    int tag_len;
    bool encrypting;
};

extern const srtp_cipher_type_t vg_srtp_evp_gcm128;

static srtp_err_status_t gcm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
    *cp = NULL;
    if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT || (tag_len != 16 && tag_len != 8))
        return srtp_err_status_bad_param;
    srtp_err_status_t st = cipher_new(&G, &vg_srtp_evp_gcm128, sizeof(struct gcm), key_len, cp);
    if (st == srtp_err_status_ok)
        ((struct gcm *)(*cp)->state)->tag_len = tag_len;
    return st;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_pointer_t c)
{
    return cipher_free(&G, c, sizeof(struct gcm));
}

/* key is the master-derived session key followed by the salt; libsrtp2 mixes the
 * salt into the IV itself, so the cipher takes only the first 16 bytes. */
static srtp_err_status_t gcm_init(void *state, const uint8_t *key)
{
    struct gcm *g = state;
    g->encrypting = true;
    if (G.einit(g->base.ctx, key, GCM_KEY_LEN, NULL, 0, NULL) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    struct gcm *g = state;
    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    g->encrypting = dir == srtp_direction_encrypt;
    int ok = g->encrypting ? G.einit(g->base.ctx, NULL, 0, iv, GCM_IV_LEN, NULL)
                           : G.dinit(g->base.ctx, NULL, 0, iv, GCM_IV_LEN, NULL);
    if (ok != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad, uint32_t len)
{
    struct gcm *g = state;
    size_t out;
    if (len && G.update(g->base.ctx, NULL, &out, len, aad, len) != 1)
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

/* In place. libsrtp2 passes a NULL buffer and 0 bytes for SRTCP it only authenticates. */
static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct gcm *g = state;
    size_t out;
    if (!g->encrypting)
        return srtp_err_status_bad_param;
    if (*len && G.update(g->base.ctx, buf, &out, *len, buf, *len) != 1)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
    struct gcm *g = state;
    uint8_t none[16];
    size_t out;
    OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, (size_t)g->tag_len),
                       OSSL_PARAM_END};
    if (!g->encrypting || G.final(g->base.ctx, none, &out, sizeof none) != 1 ||
        G.get_ctx_params(g->base.ctx, p) != 1)
        return srtp_err_status_algo_fail;
    *len = (uint32_t)g->tag_len;
    return srtp_err_status_ok;
}

/* In place: *len covers the ciphertext and its tag; on success it shrinks by the
 * tag. A tag that does not match is auth_fail, as libsrtp2's own ciphers say, and
 * the caller throws the (already decrypted) bytes away. */
static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct gcm *g = state;
    size_t out;
    if (g->encrypting || *len < (unsigned)g->tag_len)
        return srtp_err_status_bad_param;
    unsigned int n = *len - (unsigned)g->tag_len;
    OSSL_PARAM p[2] = {
        OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, buf + n, (size_t)g->tag_len),
        OSSL_PARAM_END};
    if (G.set_ctx_params(g->base.ctx, p) != 1)
        return srtp_err_status_algo_fail;
    if (n && G.update(g->base.ctx, buf, &out, n, buf, n) != 1)
        return srtp_err_status_cipher_fail;
    uint8_t none[16];
    if (G.final(g->base.ctx, none, &out, sizeof none) != 1)
        return srtp_err_status_auth_fail;
    *len = n;
    return srtp_err_status_ok;
}

/* The GCM specification's test case 4 (McGrew and Viega, "The Galois/Counter Mode of
 * Operation", appendix B): AES-128, 96-bit IV, 20 bytes of AAD, a plaintext that is
 * not a whole number of blocks. libsrtp2 keys its ciphers with key || salt, so the
 * key is followed by 12 salt bytes the cipher ignores. */
static const uint8_t tc4_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
    0x83, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
static uint8_t tc4_iv[GCM_IV_LEN] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                     0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t tc4_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                    0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t tc4_plain[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t tc4_cipher[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c,
    0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e,
    0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
    0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    /* tag */
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};

static const srtp_cipher_test_case_t tc4 = {
    .key_length_octets = SRTP_AES_GCM_128_KEY_LEN_WSALT,
    .key = tc4_key,
    .idx = tc4_iv,
    .plaintext_length_octets = sizeof tc4_plain,
    .plaintext = tc4_plain,
    .ciphertext_length_octets = sizeof tc4_cipher,
    .ciphertext = tc4_cipher,
    .aad_length_octets = sizeof tc4_aad,
    .aad = tc4_aad,
    .tag_length_octets = 16,
};

const srtp_cipher_type_t vg_srtp_evp_gcm128 = {
    .alloc = gcm_alloc,
    .dealloc = gcm_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "AES-128 GCM (OpenSSL, Vigil)",
    .test_data = &tc4,
    .id = SRTP_AES_GCM_128,
};

/* AES-ICM, SRTP's counter mode (RFC 3711 section 4.1.1) ---------------------------
 *
 * libsrtp2 derives every session's keys with it (its KDF), whatever the profile,
 * and AES_CM_128_HMAC_SHA1_80 encrypts packets with it. Debian's libsrtp2 runs it on
 * NSS, whose cipher allocation calls NSS_InitContext(), which loads NSS's softoken
 * module (SECMOD_LoadModule, a dlopen) for every cipher and unloads it at the end:
 * ~1.06 million instructions to allocate and ~0.15 million to free, twice per leg
 * (callgrind, srtp_create: 2.7 million instructions per session), on the media
 * worker that carries a hundred other legs. Here it is OpenSSL's AES-128-CTR. */
struct icm {
    struct prov_state base; /* first: cipher_new() and cipher_free() see it */
    uint8_t offset[16];     /* the salt, its last two bytes zero */
};

extern const srtp_cipher_type_t vg_srtp_evp_icm128;

#define ICM_SALT_LEN 14

static srtp_err_status_t icm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
    (void)tag_len;
    *cp = NULL;
    if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
        return srtp_err_status_bad_param;
    return cipher_new(&CTR, &vg_srtp_evp_icm128, sizeof(struct icm), key_len, cp);
}

static srtp_err_status_t icm_dealloc(srtp_cipher_pointer_t c)
{
    return cipher_free(&CTR, c, sizeof(struct icm));
}

/* key is the 16-byte AES key followed by the 14-byte salt. */
static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
    struct icm *k = state;
    memset(k->offset, 0, sizeof k->offset);
    memcpy(k->offset, key + 16, ICM_SALT_LEN);
    if (CTR.einit(k->base.ctx, key, 16, NULL, 0, NULL) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* The counter block is the salt XOR libsrtp2's IV (the SSRC, index or KDF label,
 * already placed); counter mode is the same both ways. */
static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    struct icm *k = state;
    (void)dir;
    uint8_t counter[16];
    for (size_t i = 0; i < sizeof counter; i++)
        counter[i] = k->offset[i] ^ iv[i];
    if (CTR.einit(k->base.ctx, NULL, 0, counter, sizeof counter, NULL) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct icm *k = state;
    size_t out = 0;
    if (*len && CTR.update(k->base.ctx, buf, &out, *len, buf, *len) != 1)
        return srtp_err_status_cipher_fail;
    *len = (unsigned int)out;
    return srtp_err_status_ok;
}

/* RFC 3711 appendix B.2: the keystream of session key 2B7E...4F3C with salt
 * F0F1...FCFD at index 0 (libsrtp2 keys the cipher with key || salt). */
static const uint8_t b2_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static uint8_t b2_iv[16];
static const uint8_t b2_zeros[48];
static const uint8_t b2_keystream[48] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
    0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0};

static const srtp_cipher_test_case_t b2 = {
    .key_length_octets = SRTP_AES_ICM_128_KEY_LEN_WSALT,
    .key = b2_key,
    .idx = b2_iv,
    .plaintext_length_octets = sizeof b2_zeros,
    .plaintext = b2_zeros,
    .ciphertext_length_octets = sizeof b2_keystream,
    .ciphertext = b2_keystream,
};

const srtp_cipher_type_t vg_srtp_evp_icm128 = {
    .alloc = icm_alloc,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .encrypt = icm_crypt,
    .decrypt = icm_crypt,
    .set_iv = icm_set_iv,
    .description = "AES-128 ICM (OpenSSL, Vigil)",
    .test_data = &b2,
    .id = SRTP_AES_ICM_128,
};

/* HMAC-SHA1, AES_CM_128_HMAC_SHA1_80's authentication (RFC 3711 section 4.2.1) ---
 *
 * Debian's libsrtp2 runs it on NSS too, with the same NSS_InitContext() per
 * allocation as its AES-ICM: an AES_CM session still took ~0.85 ms to create with
 * the cipher above replaced (tools/bench/srtp_session.c). Here it is OpenSSL's HMAC
 * (EVP_MAC), its key set once and the context restarted per packet. */
#define SHA1_LEN 20

static EVP_MAC *g_hmac; /* fetched once, as the ciphers above */

extern const srtp_auth_type_t vg_srtp_evp_hmac_sha1;

static srtp_err_status_t hmac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len)
{
    *ap = NULL;
    if (key_len < 0 || key_len > SHA1_LEN || out_len < 0 || out_len > SHA1_LEN)
        return srtp_err_status_bad_param;
    srtp_auth_t *a = calloc(1, sizeof *a);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(g_hmac);
    if (!a || !ctx) {
        EVP_MAC_CTX_free(ctx);
        free(a);
        return srtp_err_status_alloc_fail;
    }
    a->type = &vg_srtp_evp_hmac_sha1;
    a->state = ctx;
    a->out_len = out_len;
    a->key_len = key_len;
    a->prefix_len = 0;
    *ap = a;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_pointer_t a)
{
    EVP_MAC_CTX_free(a->state); /* OpenSSL's clears the key */
    free(a);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len)
{
    char sha1[] = "SHA1";
    OSSL_PARAM p[2] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, sha1, 0), OSSL_PARAM_END};
    if (EVP_MAC_init(state, key, (size_t)key_len, p) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* A new message under the same key. */
static srtp_err_status_t hmac_start(void *state)
{
    if (EVP_MAC_init(state, NULL, 0, NULL) != 1)
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
    if (len > 0 && EVP_MAC_update(state, buf, (size_t)len) != 1)
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

/* The last bytes, then the first tag_len bytes of the MAC. */
static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
                                      uint8_t *tag)
{
    uint8_t mac[SHA1_LEN];
    size_t n = 0;
    if (tag_len < 0 || tag_len > SHA1_LEN || hmac_update(state, buf, len) ||
        EVP_MAC_final(state, mac, &n, sizeof mac) != 1 || n != SHA1_LEN)
        return srtp_err_status_auth_fail;
    memcpy(tag, mac, (size_t)tag_len);
    OPENSSL_cleanse(mac, sizeof mac);
    return srtp_err_status_ok;
}

/* RFC 2202 test case 1. */
static const uint8_t h1_key[SHA1_LEN] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                         0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                         0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t h1_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t h1_tag[SHA1_LEN] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                         0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                         0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};

static const srtp_auth_test_case_t h1 = {
    .key_length_octets = sizeof h1_key,
    .key = h1_key,
    .data_length_octets = sizeof h1_data,
    .data = h1_data,
    .tag_length_octets = sizeof h1_tag,
    .tag = h1_tag,
};

const srtp_auth_type_t vg_srtp_evp_hmac_sha1 = {
    .alloc = hmac_alloc,
    .dealloc = hmac_dealloc,
    .init = hmac_init,
    .compute = hmac_compute,
    .update = hmac_update,
    .start = hmac_start,
    .description = "HMAC-SHA1 (OpenSSL, Vigil)",
    .test_data = &h1,
    .id = SRTP_HMAC_SHA1,
};

/* Installing ------------------------------------------------------------------------ */

/* Is name one of the provider's ':'-separated names for an algorithm? */
static bool has_name(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
        if (!strncasecmp(p, name, n) && (p[n] == ':' || !p[n]))
            return true;
    return false;
}

static void take(struct prov_cipher *pc, const OSSL_DISPATCH *d)
{
    for (; d->function_id; d++) {
        switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX: pc->newctx = OSSL_FUNC_cipher_newctx(d); break;
        case OSSL_FUNC_CIPHER_FREECTX: pc->freectx = OSSL_FUNC_cipher_freectx(d); break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT: pc->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT: pc->dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
        case OSSL_FUNC_CIPHER_UPDATE: pc->update = OSSL_FUNC_cipher_update(d); break;
        case OSSL_FUNC_CIPHER_FINAL: pc->final = OSSL_FUNC_cipher_final(d); break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
            pc->get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
            break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
            pc->set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d);
            break;
        default: break;
        }
    }
}

/* Fetches name and takes the functions of the implementation EVP_CIPHER_fetch()
 * chose, from its provider. 0, or VG_EIO with pc left empty. */
static int resolve(struct prov_cipher *pc, const char *name)
{
    if (pc->cipher)
        return 0;
    if (!(pc->cipher = EVP_CIPHER_fetch(NULL, name, NULL)))
        return VG_EIO;
    const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(pc->cipher);
    int no_store = 0;
    const OSSL_ALGORITHM *all =
        prov ? OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store) : NULL;
    for (const OSSL_ALGORITHM *a = all; a && a->algorithm_names; a++)
        if (has_name(a->algorithm_names, EVP_CIPHER_get0_name(pc->cipher))) {
            take(pc, a->implementation);
            break;
        }
    if (all)
        OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, all);
    pc->provctx = prov ? OSSL_PROVIDER_get0_provider_ctx(prov) : NULL;
    if (pc->newctx && pc->freectx && pc->einit && pc->dinit && pc->update && pc->final &&
        pc->get_ctx_params && pc->set_ctx_params)
        return 0;
    EVP_CIPHER_free(pc->cipher);
    memset(pc, 0, sizeof *pc);
    return VG_EIO;
}

int vg_srtp_evp_install(void)
{
    if (resolve(&G, "AES-128-GCM"))
        return VG_EIO;
    if (srtp_replace_cipher_type(&vg_srtp_evp_gcm128, SRTP_AES_GCM_128) != srtp_err_status_ok)
        return VG_EIO;
    return 0;
}

int vg_srtp_evp_install_icm(void)
{
    if (resolve(&CTR, "AES-128-CTR"))
        return VG_EIO;
    if (srtp_replace_cipher_type(&vg_srtp_evp_icm128, SRTP_AES_ICM_128) != srtp_err_status_ok)
        return VG_EIO;
    if (!g_hmac && !(g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return VG_EIO;
    if (srtp_replace_auth_type(&vg_srtp_evp_hmac_sha1, SRTP_HMAC_SHA1) != srtp_err_status_ok)
        return VG_EIO;
    return 0;
}
