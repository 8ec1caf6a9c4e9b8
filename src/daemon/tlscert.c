#include "tlscert.h"

#include "datadir.h"
#include "log.h"
#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fingerprint_of(X509 *x, char *out, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!X509_digest(x, EVP_sha256(), md, &len) || n < len * 3)
        return VG_EIO;
    for (unsigned i = 0; i < len; i++)
        snprintf(out + i * 3, n - i * 3, "%02X%s", md[i], i + 1 < len ? ":" : "");
    return VG_OK;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* Checks a pair: both readable PEM, and the key belongs to the certificate. */
/* Whole days until the certificate's notAfter (negative once past it); *early when it
 * is not valid yet. False for a certificate that cannot be read. */
static bool days_left(X509 *x, int *days, bool *early)
{
    int d = 0, secs = 0;
    if (!x || !ASN1_TIME_diff(&d, &secs, NULL, X509_get0_notAfter(x)))
        return false;
    *days = d - (d == 0 && secs < 0); /* past by less than a day: -1 */
    *early = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
    return true;
}

static int check_pair(const char *cert, const char *key, const char *what, char *fp, size_t fplen,
                      char *err, size_t errlen)
{
    X509 *x = read_cert(cert);
    EVP_PKEY *k = x ? read_key(key) : NULL;
    int rc = VG_OK;
    if (!x)
        snprintf(err, errlen, "%scertificate %s: not a readable PEM certificate", what, cert);
    else if (!k)
        snprintf(err, errlen, "%skey %s: not a readable PEM private key", what, key);
    else if (X509_check_private_key(x, k) != 1)
        snprintf(err, errlen, "%skey %s does not match certificate %s", what, key, cert);
    if (!x || !k || X509_check_private_key(x, k) != 1)
        rc = VG_EINVAL;
    /* An expired certificate would start a service no browser connects to. */
    int days = 0;
    bool early = false;
    if (rc == VG_OK && days_left(x, &days, &early) && (days < 0 || early)) {
        snprintf(err, errlen, "%scertificate %s is %s", what, cert,
                 early ? "not valid yet" : "expired");
        rc = VG_EINVAL;
    } else if (rc == VG_OK && days < 30) {
        vg_warn(NULL, NULL, "tls: %scertificate %s expires in %d days: renew it", what, cert, days);
    }
    if (rc == VG_OK)
        rc = fingerprint_of(x, fp, fplen);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static int add_san(X509 *x, const char *listen_addr)
{
    char san[160];
    snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
             strcmp(listen_addr, "127.0.0.1") && strcmp(listen_addr, "::1") ? ",IP:" : "",
             strcmp(listen_addr, "127.0.0.1") && strcmp(listen_addr, "::1") ? listen_addr : "");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    if (!ext)
        return VG_EIO;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? VG_OK : VG_EIO;
}

static X509 *make_self_signed(EVP_PKEY *k, const char *listen_addr)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    int ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    X509_NAME *name = X509_get_subject_name(x);
    if (!ok || !X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 825L * 24 * 3600) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vigil", -1,
                                    -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, k) || add_san(x, listen_addr) ||
        !X509_sign(x, k, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* Writes PEM to a new file of the given mode; fails rather than overwrite. */
static int write_new(const char *path, mode_t mode, X509 *x, EVP_PKEY *k)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return VG_EIO;
    }
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    fclose(f);
    return ok ? VG_OK : VG_EIO;
}

static int generate(const struct vg_config *c, const char *cert, const char *key, char *err,
                    size_t errlen)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = k ? make_self_signed(k, c->listen_addr) : NULL;
    int rc = VG_EIO;
    if (!x)
        snprintf(err, errlen, "cannot generate a self-signed certificate");
    else if (write_new(key, 0600, NULL, k))
        snprintf(err, errlen, "cannot write %s: %s", key, strerror(errno));
    else if (write_new(cert, 0644, x, NULL))
        snprintf(err, errlen, "cannot write %s: %s", cert, strerror(errno));
    else
        rc = VG_OK;
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

int vg_tls_ensure(const struct vg_config *c, char *cert, char *key, size_t pathlen,
                  char *fingerprint, size_t fplen, char *err, size_t errlen)
{
    if (c->tls_cert[0]) {
        snprintf(cert, pathlen, "%s", c->tls_cert);
        snprintf(key, pathlen, "%s", c->tls_key);
        return check_pair(cert, key, "[tls] ", fingerprint, fplen, err, errlen);
    }
    char dir[PATH_MAX];
    int rc = vg_datadir_subdir(c->data_dir, "tls", dir, sizeof dir, err, errlen);
    if (rc)
        return rc;
    snprintf(cert, pathlen, "%s/cert.pem", dir);
    snprintf(key, pathlen, "%s/key.pem", dir);
    bool have_cert = access(cert, F_OK) == 0, have_key = access(key, F_OK) == 0;
    if (have_cert != have_key) {
        snprintf(err, errlen, "%s holds only one of cert.pem and key.pem: restore or remove it",
                 dir);
        return VG_EINVAL;
    }
    /* The generated one is renewed when it has expired or is about to (825 days):
     * the old pair is kept beside it, and the fingerprint changes. */
    X509 *old = have_cert ? read_cert(cert) : NULL;
    int days = 0;
    bool early = false;
    if (old && days_left(old, &days, &early) && days < 7) {
        char was[PATH_MAX + 16];
        snprintf(was, sizeof was, "%s.expired", cert);
        rename(cert, was);
        snprintf(was, sizeof was, "%s.expired", key);
        rename(key, was);
        have_cert = false;
        vg_warn(NULL, NULL,
                "tls: the generated certificate %s %s: a new one is made (its fingerprint "
                "changes; the old pair is kept as *.expired)",
                cert, days < 0 ? "has expired" : "expires within a week");
    }
    X509_free(old);
    if (!have_cert) {
        if ((rc = generate(c, cert, key, err, errlen)))
            return rc;
        vg_info(NULL, NULL, "tls: generated a self-signed ECDSA P-256 certificate in %s", dir);
    }
    return check_pair(cert, key, "", fingerprint, fplen, err, errlen);
}
