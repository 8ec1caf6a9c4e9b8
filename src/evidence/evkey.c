/* The centre's Ed25519 key (see evkey.h). */
#include "evkey.h"

#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void pub_path(const char *path, char *out, size_t n)
{
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".pem") == 0)
        snprintf(out, n, "%.*s.pub", (int)(len - 4), path);
    else
        snprintf(out, n, "%s.pub", path);
}

static int write_public(EVP_PKEY *k, const char *path)
{
    char pub[4200], tmp[4300];
    pub_path(path, pub, sizeof pub);
    snprintf(tmp, sizeof tmp, "%s.tmp", pub);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return VG_EIO;
    int ok = PEM_write_PUBKEY(f, k) == 1;
    ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, pub) != 0) {
        unlink(tmp);
        return VG_EIO;
    }
    return VG_OK;
}

/* A new key, written 0600 through a temp file so a crash leaves no half key. */
static int create_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = k ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    else if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "evidence key %s: cannot create it (%s)", path,
                 k ? strerror(errno) : "key generation failed");
        unlink(tmp);
        EVP_PKEY_free(k);
        return VG_EIO;
    }
    *out = k;
    return VG_OK;
}

int vg_evkey_load_or_create(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    struct stat st;
    int rc;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "evidence key %s: %s", path, strerror(errno));
            return VG_EIO;
        }
        rc = create_key(path, out, err, errlen);
    } else {
        if (st.st_mode & 077) {
            snprintf(err, errlen, "evidence key %s: readable by others (mode %o): chmod 600", path,
                     (unsigned)(st.st_mode & 0777));
            return VG_EPERM;
        }
        FILE *f = fopen(path, "r");
        EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
            snprintf(err, errlen, "evidence key %s: not an Ed25519 private key in PEM", path);
            EVP_PKEY_free(k);
            return VG_EINVAL;
        }
        *out = k;
        rc = VG_OK;
    }
    if (rc == VG_OK && write_public(*out, path) != VG_OK) {
        snprintf(err, errlen, "evidence key %s: cannot write the public key", path);
        EVP_PKEY_free(*out);
        *out = NULL;
        return VG_EIO;
    }
    return rc;
}

int vg_evkey_load_public(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return VG_ENOENT;
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!k) {
        rewind(f);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        return VG_EINVAL;
    }
    *out = k;
    return VG_OK;
}

int vg_evkey_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == 64;
    EVP_MD_CTX_free(c);
    return ok ? VG_OK : VG_EIO;
}

int vg_evkey_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(c);
    return ok ? VG_OK : VG_EINVAL;
}

int vg_evkey_id(EVP_PKEY *k, char out[65])
{
    uint8_t raw[32], md[32];
    size_t n = sizeof raw;
    unsigned mdn = 0;
    if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 ||
        EVP_Digest(raw, n, md, &mdn, EVP_sha256(), NULL) != 1)
        return VG_EIO;
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[md[i] >> 4];
        out[2 * i + 1] = d[md[i] & 15];
    }
    out[64] = '\0';
    return VG_OK;
}

void vg_evkey_sig_b64(const uint8_t sig[64], char out[89])
{
    EVP_EncodeBlock((unsigned char *)out, sig, 64);
    out[88] = '\0';
}

void vg_evkey_free(EVP_PKEY *k)
{
    EVP_PKEY_free(k);
}
