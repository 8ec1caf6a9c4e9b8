#include "srtp_evp.h"

#include <stdbool.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <srtp2/cipher.h>
#include <srtp2/crypto_types.h>

#include "vg_err.h"

#define GCM_KEY_LEN 16
#define GCM_IV_LEN 12 /* RFC 7714 section 8.1 */

/* One libsrtp2 cipher instance. libsrtp2 calls, per packet: set_iv, set_aad (once or
 * twice: SRTCP adds its trailer), then encrypt + get_tag, or decrypt with the tag at
 * the end of the buffer. The EVP context keeps the expanded key across packets;
 * set_iv only restarts GCM with a new nonce. */
struct gcm {
    EVP_CIPHER_CTX *ctx;
    int tag_len;
    bool encrypting;
};

static EVP_CIPHER *g_aes128gcm; /* fetched once: a fetch per session costs a lock */

extern const srtp_cipher_type_t vg_srtp_evp_gcm128;

static srtp_err_status_t gcm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
    *cp = NULL;
    if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT || (tag_len != 16 && tag_len != 8))
        return srtp_err_status_bad_param;
    srtp_cipher_t *c = calloc(1, sizeof *c);
    struct gcm *g = calloc(1, sizeof *g);
    if (g)
        g->ctx = EVP_CIPHER_CTX_new();
    if (!c || !g || !g->ctx) {
        if (g)
            EVP_CIPHER_CTX_free(g->ctx);
        free(g);
        free(c);
        return srtp_err_status_alloc_fail;
    }
    g->tag_len = tag_len;
    c->type = &vg_srtp_evp_gcm128;
    c->state = g;
    c->key_len = key_len;
    c->algorithm = SRTP_AES_GCM_128; /* libsrtp2's tests branch on it */
    *cp = c;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_pointer_t c)
{
    struct gcm *g = c->state;
    EVP_CIPHER_CTX_free(g->ctx); /* clears the key schedule */
    OPENSSL_cleanse(g, sizeof *g);
    free(g);
    free(c);
    return srtp_err_status_ok;
}

/* key is the master-derived session key followed by the salt; libsrtp2 mixes the
 * salt into the IV itself, so the cipher takes only the first 16 bytes. */
static srtp_err_status_t gcm_init(void *state, const uint8_t *key)
{
    struct gcm *g = state;
    g->encrypting = true;
    if (EVP_CipherInit_ex(g->ctx, g_aes128gcm, NULL, key, NULL, 1) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    struct gcm *g = state;
    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    g->encrypting = dir == srtp_direction_encrypt;
    /* 12 bytes is GCM's default nonce length in OpenSSL: no ctrl call needed. */
    if (EVP_CipherInit_ex(g->ctx, NULL, NULL, NULL, iv, g->encrypting) != 1)
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad, uint32_t len)
{
    struct gcm *g = state;
    int out;
    if (len && EVP_CipherUpdate(g->ctx, NULL, &out, aad, (int)len) != 1)
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

/* In place. libsrtp2 passes a NULL buffer and 0 bytes for SRTCP it only authenticates. */
static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct gcm *g = state;
    int out;
    if (!g->encrypting)
        return srtp_err_status_bad_param;
    if (*len && EVP_CipherUpdate(g->ctx, buf, &out, buf, (int)*len) != 1)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
    struct gcm *g = state;
    uint8_t none[16];
    int out;
    if (!g->encrypting || EVP_CipherFinal_ex(g->ctx, none, &out) != 1 ||
        EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_GET_TAG, g->tag_len, tag) != 1)
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
    int out;
    if (g->encrypting || *len < (unsigned)g->tag_len)
        return srtp_err_status_bad_param;
    unsigned int n = *len - (unsigned)g->tag_len;
    if (EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_SET_TAG, g->tag_len, buf + n) != 1)
        return srtp_err_status_algo_fail;
    if (n && EVP_CipherUpdate(g->ctx, buf, &out, buf, (int)n) != 1)
        return srtp_err_status_cipher_fail;
    uint8_t none[16];
    if (EVP_CipherFinal_ex(g->ctx, none, &out) != 1)
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
    .description = "AES-128 GCM (OpenSSL EVP, Vigil)",
    .test_data = &tc4,
    .id = SRTP_AES_GCM_128,
};

int vg_srtp_evp_install(void)
{
    if (!g_aes128gcm && !(g_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL)))
        return VG_EIO;
    if (srtp_replace_cipher_type(&vg_srtp_evp_gcm128, SRTP_AES_GCM_128) != srtp_err_status_ok)
        return VG_EIO;
    return 0;
}
