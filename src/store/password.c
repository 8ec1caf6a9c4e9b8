#include "password.h"

#include "vg_err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define SALT_LEN 16
#define KEY_LEN 32
#define LN 15
#define R 8
#define P 1
/* OpenSSL refuses scrypt above maxmem; 128 * r * N = 32 MiB, leave headroom. */
#define MAXMEM (64u * 1024 * 1024)

static int derive(const char *pw, const unsigned char *salt, size_t salt_len, int ln, int r, int p,
                  unsigned char *key, size_t key_len)
{
    if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16)
        return VG_EINVAL;
    if (!EVP_PBE_scrypt(pw, strlen(pw), salt, salt_len, (uint64_t)1 << ln, (uint64_t)r, (uint64_t)p,
                        MAXMEM, key, key_len))
        return VG_EIO;
    return VG_OK;
}

int vg_password_hash(const char *password, char *out, size_t n)
{
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    char salt64[32], key64[48];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return VG_EIO;
    int rc = derive(password, salt, sizeof salt, LN, R, P, key, sizeof key);
    if (rc)
        return rc;
    EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof salt);
    EVP_EncodeBlock((unsigned char *)key64, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    int w = snprintf(out, n, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", LN, R, P, salt64, key64);
    return (w < 0 || (size_t)w >= n) ? VG_ENOSPC : VG_OK;
}

/* Decodes base64 of an exact expected length; -1 on anything else. */
static int b64_exact(const char *in, size_t in_len, unsigned char *out, size_t want)
{
    unsigned char tmp[64];
    if (in_len == 0 || in_len > 4 * ((sizeof tmp) / 3) || in_len % 4)
        return -1;
    int len = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)in_len);
    if (len < 0)
        return -1;
    size_t pad = (in[in_len - 1] == '=') + (in[in_len - 2] == '=');
    if ((size_t)len - pad != want)
        return -1;
    memcpy(out, tmp, want);
    return 0;
}

bool vg_password_verify(const char *password, const char *stored)
{
    int ln, r, p, used = 0;
    if (!password || !stored ||
        sscanf(stored, "$scrypt$ln=%d,r=%d,p=%d$%n", &ln, &r, &p, &used) != 3 || used == 0)
        return false;
    const char *salt64 = stored + used;
    const char *dollar = strchr(salt64, '$');
    if (!dollar)
        return false;
    unsigned char salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    if (b64_exact(salt64, (size_t)(dollar - salt64), salt, sizeof salt) ||
        b64_exact(dollar + 1, strlen(dollar + 1), want, sizeof want))
        return false;
    if (derive(password, salt, sizeof salt, ln, r, p, got, sizeof got))
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

int vg_password_generate(char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const size_t k = sizeof alphabet - 1; /* 56 */
    size_t o = 0;
    while (o < len) {
        unsigned char b[32];
        if (RAND_bytes(b, sizeof b) != 1)
            return VG_EIO;
        for (size_t i = 0; i < sizeof b && o < len; i++) {
            if (b[i] >= 224) /* 224 = 4 * 56: reject to keep the choice uniform */
                continue;
            out[o++] = alphabet[b[i] % k];
        }
    }
    out[len] = '\0';
    return VG_OK;
}
