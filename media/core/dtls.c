#include "dtls.h"
#include "bytes.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <threads.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define DEFAULT_MAX_QUEUE 16
#define RTX_INITIAL_US 100000u
#define RTX_MAX_US 3000000u
#define CERT_DAY_S 86400
#define CERT_VALID_S (365 * CERT_DAY_S)

/* ECDHE only, AEAD first; the RSA suites are for peers whose own certificate is RSA
 * (GStreamer's webrtcbin), the SHA-1 CBC suites for old stacks. Our certificate is
 * ECDSA, so as a server only the ECDSA half can be chosen. */
#define CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                                   \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"

#define SRTP_LABEL "EXTRACTOR-dtls_srtp"

struct vg_dtls_cert {
    SSL_CTX *ctx; /* holds the key and certificate; each SSL takes a reference */
    char fingerprint[VG_DTLS_CERT_FINGERPRINT_LEN];
};

/* Datagrams waiting for the owner, oldest at head. */
struct out_queue {
    uint8_t **data;
    size_t *len;
    size_t head, count, max;
};

struct vg_dtls {
    enum vg_dtls_role role;
    enum vg_dtls_state state;
    SSL *ssl;
    BIO *rbio; /* memory BIO holding the one datagram being processed; SSL owns it */
    const EVP_MD *fp_md;
    uint8_t fp_want[EVP_MAX_MD_SIZE];
    unsigned fp_len;
    bool fp_mismatch; /* set by the verify callback: names the failure */
    bool overflowed;  /* the queue dropped a datagram during this call */
    unsigned rtx_initial_us, rtx_max_us;
    int64_t next_timeout_us;
    struct out_queue q;
    struct vg_srtp_keys keys;
    struct vg_dtls_stats stats;
    char failure[160];
};

/* --- Fingerprints ------------------------------------------------------------------ */

static const EVP_MD *fp_algorithm(const char *alg)
{
    if (!alg)
        return NULL;
    if (!strcasecmp(alg, "sha-256"))
        return EVP_sha256();
    if (!strcasecmp(alg, "sha-384"))
        return EVP_sha384();
    if (!strcasecmp(alg, "sha-512"))
        return EVP_sha512();
    return NULL;
}

/* RFC 8122 section 5: exactly `want` bytes as two hex digits each, joined by ':'. */
static int parse_fp_hex(const char *hex, uint8_t *out, size_t want)
{
    size_t n = 0;
    const char *p = hex;
    for (;;) {
        int hi = vg_hex_value(p[0]);
        int lo = hi < 0 ? -1 : vg_hex_value(p[1]); /* p[1] exists: p[0] was not NUL */
        if (lo < 0 || n == want)
            return VG_EINVAL;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == '\0')
            break;
        if (*p++ != ':')
            return VG_EINVAL;
    }
    return n == want ? 0 : VG_EINVAL;
}

const char *vg_dtls_fingerprint_problem(const char *alg, const char *hex)
{
    if (!alg || !hex)
        return "no fingerprint";
    const EVP_MD *md = fp_algorithm(alg);
    if (!md)
        return "unsupported fingerprint algorithm (sha-256, sha-384 or sha-512 required)";
    uint8_t bytes[EVP_MAX_MD_SIZE];
    if (parse_fp_hex(hex, bytes, (size_t)EVP_MD_get_size(md)))
        return "malformed fingerprint (colon-separated hex bytes of the digest's length)";
    return NULL;
}

static bool fp_matches(const struct vg_dtls *ep, X509 *cert)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (!cert || !X509_digest(cert, ep->fp_md, md, &n))
        return false;
    return n == ep->fp_len && CRYPTO_memcmp(md, ep->fp_want, n) == 0;
}

/* --- The certificate ---------------------------------------------------------------- */

static X509 *make_x509(EVP_PKEY *key, int64_t now_s)
{
    X509 *x = X509_new();
    uint64_t serial = 0;
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    if (!name || RAND_bytes((unsigned char *)&serial, sizeof serial) != 1 ||
        !X509_set_version(x, X509_VERSION_3) ||
        !ASN1_INTEGER_set_int64(X509_get_serialNumber(x), (int64_t)(serial >> 1 | 1)) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now_s - CERT_DAY_S)) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now_s + CERT_VALID_S)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vigil", -1,
                                    -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
        !X509_sign(x, key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static SSL_CTX *make_ctx(EVP_PKEY *key, X509 *x)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) || !SSL_CTX_use_certificate(ctx, x) ||
        !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx) ||
        !SSL_CTX_set_cipher_list(ctx, CIPHERS)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* No resumption (each leg is a fresh handshake with a fresh fingerprint check),
     * no renegotiation (the SRTP keys are fixed at the first handshake), and the MTU
     * is ours, not the BIO's: there is no socket to ask. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

static void format_fp(X509 *x, char *out)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    size_t at = (size_t)snprintf(out, VG_DTLS_CERT_FINGERPRINT_LEN, "sha-256 ");
    for (unsigned i = 0; i < n && at + 3 < VG_DTLS_CERT_FINGERPRINT_LEN; i++)
        at += (size_t)snprintf(out + at, VG_DTLS_CERT_FINGERPRINT_LEN - at, i ? ":%02X" : "%02X",
                               md[i]);
}

int vg_dtls_cert_new(int64_t wall_us, struct vg_dtls_cert **out)
{
    *out = NULL;
    int rc = VG_EIO;
    X509 *x = NULL;
    struct vg_dtls_cert *c = calloc(1, sizeof *c);
    EVP_PKEY *key = c ? EVP_EC_gen("P-256") : NULL;
    if (!c) {
        rc = VG_ENOMEM;
        goto done;
    }
    if (!key || !(x = make_x509(key, wall_us / 1000000)) || !(c->ctx = make_ctx(key, x)))
        goto done;
    format_fp(x, c->fingerprint);
    *out = c;
    c = NULL;
    rc = 0;
done:
    X509_free(x);
    EVP_PKEY_free(key);
    vg_dtls_cert_free(c);
    ERR_clear_error();
    return rc;
}

void vg_dtls_cert_free(struct vg_dtls_cert *cert)
{
    if (!cert)
        return;
    SSL_CTX_free(cert->ctx);
    free(cert);
}

const char *vg_dtls_cert_fingerprint(const struct vg_dtls_cert *cert)
{
    return cert->fingerprint;
}

/* --- The outgoing queue ------------------------------------------------------------- */

static int queue_init(struct out_queue *q, size_t max)
{
    q->data = calloc(max, sizeof *q->data);
    q->len = calloc(max, sizeof *q->len);
    q->head = q->count = 0;
    q->max = max;
    return q->data && q->len ? 0 : VG_ENOMEM;
}

static int queue_push(struct out_queue *q, const void *data, size_t len)
{
    if (q->count == q->max)
        return VG_ENOSPC;
    uint8_t *copy = malloc(len);
    if (!copy)
        return VG_ENOMEM;
    memcpy(copy, data, len);
    size_t at = (q->head + q->count) % q->max;
    q->data[at] = copy;
    q->len[at] = len;
    q->count++;
    return 0;
}

static void queue_drop_head(struct out_queue *q)
{
    free(q->data[q->head]);
    q->data[q->head] = NULL;
    q->head = (q->head + 1) % q->max;
    q->count--;
}

static void queue_free(struct out_queue *q)
{
    while (q->count)
        queue_drop_head(q);
    free(q->data);
    free(q->len);
}

/* --- The outgoing BIO ----------------------------------------------------------------
 * OpenSSL writes each datagram with one BIO_write (it packs a flight's records into
 * datagrams of at most the MTU, flushing between them). A plain memory BIO would run
 * those datagrams together into one byte stream; this BIO keeps each write as one
 * datagram in the endpoint's queue instead. */

static int out_bio_write(BIO *b, const char *data, int len)
{
    struct vg_dtls *ep = BIO_get_data(b);
    if (len <= 0)
        return 0;
    if ((size_t)len > VG_DTLS_MTU || queue_push(&ep->q, data, (size_t)len)) {
        ep->stats.out_dropped++;
        ep->overflowed = true;
    } else {
        ep->stats.datagrams_out++;
    }
    /* Reported as sent either way: a dropped datagram is a lost datagram, which DTLS
     * recovers from; an error here would abort the handshake instead. */
    return len;
}

static long out_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return VG_DTLS_MTU;
    default: return 0; /* nothing pending, no peer address, no socket options */
    }
}

static int out_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static once_flag g_bio_once = ONCE_FLAG_INIT;
static BIO_METHOD *g_bio_method; /* made once per process, like OpenSSL's own tables */

static void make_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vigil-dtls-out");
    if (m && BIO_meth_set_write(m, out_bio_write) && BIO_meth_set_ctrl(m, out_bio_ctrl) &&
        BIO_meth_set_create(m, out_bio_create)) {
        g_bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

static BIO *new_out_bio(struct vg_dtls *ep)
{
    call_once(&g_bio_once, make_bio_method);
    BIO *b = g_bio_method ? BIO_new(g_bio_method) : NULL;
    if (b)
        BIO_set_data(b, ep);
    return b;
}

/* --- Failure ------------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int fail(struct vg_dtls *ep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ep->failure, sizeof ep->failure, fmt, ap);
    va_end(ap);
    ep->state = VG_DTLS_FAILED;
    ep->next_timeout_us = -1;
    OPENSSL_cleanse(&ep->keys, sizeof ep->keys);
    ERR_clear_error();
    return VG_EPROTO;
}

/* The failure after an SSL call returned ssl_error; `what` says in which phase. */
static int fail_from_ssl(struct vg_dtls *ep, int ssl_error, const char *what)
{
    if (ep->fp_mismatch)
        return fail(ep, "fingerprint mismatch");
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        SSL_shutdown(ep->ssl); /* answer the close_notify with ours */
        return fail(ep, "closed by peer");
    }
    const char *why = ERR_reason_error_string(ERR_peek_error());
    if (!why)
        why = ssl_error == SSL_ERROR_SYSCALL ? "transport error" : "unknown error";
    return fail(ep, "%s: %s", what, why);
}

/* --- Handshake ---------------------------------------------------------------------- */

/* Self-signed certificates are the norm in WebRTC, so OpenSSL's own chain verdict
 * (preverify_ok) is ignored: the one check that matters is the leaf's digest against
 * the fingerprint from SDP. Failing here stops the handshake before our Finished. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct vg_dtls *ep = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!ep)
        return 0;
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    if (fp_matches(ep, X509_STORE_CTX_get_current_cert(store)))
        return 1;
    ep->fp_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* OpenSSL asks for a duration with prev_us 0 when it arms the timer for a new
 * flight, and with the previous duration when that timer expired and it is about to
 * resend: also when it finds the timer expired while reading a datagram, which
 * vg_dtls_handle_timeout() never sees. So this is where expiries are counted. */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    struct vg_dtls *ep = SSL_get_app_data(ssl);
    unsigned initial = ep ? ep->rtx_initial_us : RTX_INITIAL_US;
    unsigned max = ep ? ep->rtx_max_us : RTX_MAX_US;
    if (prev_us == 0)
        return initial;
    if (ep)
        ep->stats.retransmits++;
    return prev_us >= max / 2 ? max : prev_us * 2;
}

/* RFC 5764 section 4.2: the exporter yields client key, server key, client salt,
 * server salt. The client's write key is the client's local key. */
static int export_srtp_keys(struct vg_dtls *ep, enum vg_srtp_profile profile)
{
    size_t k = vg_srtp_key_len(profile), s = vg_srtp_salt_len(profile);
    uint8_t m[2 * VG_SRTP_MAX_MASTER_LEN];
    if (!k || !SSL_export_keying_material(ep->ssl, m, 2 * (k + s), SRTP_LABEL, strlen(SRTP_LABEL),
                                          NULL, 0, 0))
        return VG_EIO;
    const uint8_t *ck = m, *sk = m + k, *cs = m + 2 * k, *ss = m + 2 * k + s;
    bool client = ep->role == VG_DTLS_CLIENT;
    ep->keys.profile = profile;
    ep->keys.key_len = k;
    ep->keys.salt_len = s;
    memcpy(ep->keys.local, client ? ck : sk, k);
    memcpy(ep->keys.local + k, client ? cs : ss, s);
    memcpy(ep->keys.remote, client ? sk : ck, k);
    memcpy(ep->keys.remote + k, client ? ss : cs, s);
    OPENSSL_cleanse(m, sizeof m);
    return 0;
}

/* The handshake finished: check again what the verify callback checked (it is the
 * guard of the export, so it must not rest on a callback alone), then export. */
static int on_handshake_done(struct vg_dtls *ep)
{
    if (!fp_matches(ep, SSL_get0_peer_certificate(ep->ssl))) {
        SSL_shutdown(ep->ssl);
        return fail(ep, "fingerprint mismatch");
    }
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(ep->ssl);
    if (!p || (p->id != VG_SRTP_AES128_CM_SHA1_80 && p->id != VG_SRTP_AEAD_AES_128_GCM)) {
        SSL_shutdown(ep->ssl);
        return fail(ep, "no SRTP profile negotiated");
    }
    if (export_srtp_keys(ep, (enum vg_srtp_profile)p->id)) {
        SSL_shutdown(ep->ssl);
        return fail(ep, "keying material export failed");
    }
    ep->state = VG_DTLS_CONNECTED;
    return 0;
}

/* After the handshake the peer sends alerts (close_notify, fatal ones) and, if it
 * lost our last flight, a retransmission of its own, which OpenSSL answers inside
 * SSL_read. Application data has no taker: WebRTC data channels are not offered. */
static int read_records(struct vg_dtls *ep)
{
    uint8_t scratch[VG_DTLS_MTU];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(ep->ssl, scratch, sizeof scratch);
        if (r > 0) {
            ep->stats.app_data_ignored++;
            continue;
        }
        int e = SSL_get_error(ep->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        return fail_from_ssl(ep, e, "DTLS error");
    }
}

/* Lets OpenSSL consume what is in the read BIO and write what it wants to send. */
static int drive(struct vg_dtls *ep)
{
    if (ep->state != VG_DTLS_CONNECTED) {
        ERR_clear_error();
        int r = SSL_do_handshake(ep->ssl);
        if (r != 1) {
            int e = SSL_get_error(ep->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            return fail_from_ssl(ep, e, "handshake error");
        }
        int rc = on_handshake_done(ep);
        if (rc)
            return rc;
    }
    return read_records(ep); /* records that came in the same datagram */
}

static void update_deadline(struct vg_dtls *ep, int64_t now_us)
{
    struct timeval tv;
    bool live = ep->state == VG_DTLS_HANDSHAKING || ep->state == VG_DTLS_CONNECTED;
    if (live && DTLSv1_get_timeout(ep->ssl, &tv) == 1)
        ep->next_timeout_us = now_us + (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    else
        ep->next_timeout_us = -1;
}

/* The common tail of every call that let OpenSSL run. */
static int finish_call(struct vg_dtls *ep, int rc, int64_t now_us)
{
    update_deadline(ep, now_us);
    ERR_clear_error();
    if (!rc && ep->overflowed)
        rc = VG_ENOSPC;
    ep->overflowed = false;
    return rc;
}

/* --- The endpoint ------------------------------------------------------------------- */

static const char *profile_list(unsigned bits)
{
    switch (bits) {
    case VG_DTLS_SRTP_GCM: return "SRTP_AEAD_AES_128_GCM";
    case VG_DTLS_SRTP_CM_SHA1_80: return "SRTP_AES128_CM_SHA1_80";
    default: return "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"; /* GCM preferred */
    }
}

static int check_config(const struct vg_dtls_config *cfg)
{
    const unsigned all = VG_DTLS_SRTP_GCM | VG_DTLS_SRTP_CM_SHA1_80;
    if (!cfg->cert || (cfg->role != VG_DTLS_CLIENT && cfg->role != VG_DTLS_SERVER) ||
        (cfg->srtp_profiles & ~all) ||
        (cfg->rtx_initial_us && cfg->rtx_initial_us < VG_DTLS_RTX_MIN_US) ||
        (cfg->rtx_max_us && cfg->rtx_max_us < cfg->rtx_initial_us))
        return VG_EINVAL;
    return vg_dtls_fingerprint_problem(cfg->remote_fp_alg, cfg->remote_fp_hex) ? VG_EINVAL : 0;
}

/* The SSL object with its BIOs, timer and offers. */
static int make_ssl(struct vg_dtls *ep, const struct vg_dtls_config *cfg)
{
    BIO *wbio = NULL;
    ep->ssl = SSL_new(cfg->cert->ctx);
    ep->rbio = ep->ssl ? BIO_new(BIO_s_mem()) : NULL;
    if (!ep->rbio || !(wbio = new_out_bio(ep))) {
        BIO_free(ep->rbio); /* not yet owned by the SSL */
        ep->rbio = NULL;
        return VG_ENOMEM;
    }
    SSL_set_bio(ep->ssl, ep->rbio, wbio);
    SSL_set_app_data(ep->ssl, ep);
    SSL_set_verify(ep->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    DTLS_set_timer_cb(ep->ssl, timer_cb);
    if (!DTLS_set_link_mtu(ep->ssl, VG_DTLS_MTU) ||
        SSL_set_tlsext_use_srtp(ep->ssl, profile_list(cfg->srtp_profiles)) != 0)
        return VG_EIO;
    if (cfg->role == VG_DTLS_CLIENT)
        SSL_set_connect_state(ep->ssl);
    else
        SSL_set_accept_state(ep->ssl);
    return 0;
}

int vg_dtls_new(const struct vg_dtls_config *cfg, struct vg_dtls **out)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc)
        return rc;
    struct vg_dtls *ep = calloc(1, sizeof *ep);
    if (!ep)
        return VG_ENOMEM;
    ep->role = cfg->role;
    ep->state = VG_DTLS_NEW;
    ep->next_timeout_us = -1;
    ep->rtx_initial_us = cfg->rtx_initial_us ? cfg->rtx_initial_us : RTX_INITIAL_US;
    ep->rtx_max_us = cfg->rtx_max_us ? cfg->rtx_max_us : RTX_MAX_US;
    if (ep->rtx_max_us < ep->rtx_initial_us)
        ep->rtx_max_us = ep->rtx_initial_us;
    ep->fp_md = fp_algorithm(cfg->remote_fp_alg);
    ep->fp_len = (unsigned)EVP_MD_get_size(ep->fp_md);
    parse_fp_hex(cfg->remote_fp_hex, ep->fp_want, ep->fp_len); /* checked above */
    if ((rc = queue_init(&ep->q, cfg->max_queue ? cfg->max_queue : DEFAULT_MAX_QUEUE)) ||
        (rc = make_ssl(ep, cfg)))
        goto fail;
    *out = ep;
    return 0;
fail:
    vg_dtls_free(ep);
    ERR_clear_error();
    return rc;
}

void vg_dtls_free(struct vg_dtls *ep)
{
    if (!ep)
        return;
    SSL_free(ep->ssl); /* and both BIOs */
    queue_free(&ep->q);
    OPENSSL_cleanse(&ep->keys, sizeof ep->keys);
    free(ep);
}

int vg_dtls_start(struct vg_dtls *ep, int64_t now_us)
{
    if (ep->state == VG_DTLS_FAILED || ep->state == VG_DTLS_CLOSED)
        return VG_ESTATE;
    if (ep->state != VG_DTLS_NEW)
        return 0;
    ep->state = VG_DTLS_HANDSHAKING;
    if (ep->role == VG_DTLS_SERVER)
        return 0;
    return finish_call(ep, drive(ep), now_us); /* writes the ClientHello */
}

int vg_dtls_handle_datagram(struct vg_dtls *ep, const uint8_t *buf, size_t len, int64_t now_us)
{
    if (len == 0 || len > VG_DTLS_MAX_DATAGRAM_IN) {
        ep->stats.in_refused++;
        return VG_EINVAL;
    }
    if (ep->state == VG_DTLS_FAILED || ep->state == VG_DTLS_CLOSED ||
        (ep->state == VG_DTLS_NEW && ep->role == VG_DTLS_CLIENT)) {
        ep->stats.in_refused++;
        return VG_ESTATE;
    }
    if (!ep->ssl) { /* released: see vg_dtls_release() */
        ep->stats.in_refused++;
        return VG_ESTATE;
    }
    if (BIO_write(ep->rbio, buf, (int)len) != (int)len) {
        (void)BIO_reset(ep->rbio);
        ep->stats.in_refused++;
        return VG_ENOMEM;
    }
    ep->stats.datagrams_in++;
    if (ep->state == VG_DTLS_NEW)
        ep->state = VG_DTLS_HANDSHAKING; /* a server's first ClientHello, maybe early */
    int rc = drive(ep);
    /* Whatever OpenSSL left unread belongs to this datagram only. */
    (void)BIO_reset(ep->rbio);
    return finish_call(ep, rc, now_us);
}

int vg_dtls_pop_datagram(struct vg_dtls *ep, uint8_t *buf, size_t cap)
{
    if (ep->q.count == 0)
        return 0;
    size_t len = ep->q.len[ep->q.head];
    if (cap < len)
        return VG_ENOSPC;
    memcpy(buf, ep->q.data[ep->q.head], len);
    queue_drop_head(&ep->q);
    return (int)len;
}

size_t vg_dtls_pending(const struct vg_dtls *ep)
{
    return ep->q.count;
}

int64_t vg_dtls_next_timeout_us(const struct vg_dtls *ep)
{
    return ep->next_timeout_us;
}

int vg_dtls_handle_timeout(struct vg_dtls *ep, int64_t now_us)
{
    if (ep->next_timeout_us < 0 || now_us < ep->next_timeout_us)
        return 0;
    ERR_clear_error();
    int rc = 0;
    if (DTLSv1_handle_timeout(ep->ssl) < 0)
        rc = fail_from_ssl(ep, SSL_ERROR_SSL, "handshake timed out");
    return finish_call(ep, rc, now_us);
}

int vg_dtls_close(struct vg_dtls *ep)
{
    if (ep->state == VG_DTLS_FAILED)
        return VG_ESTATE;
    if (ep->state == VG_DTLS_CONNECTED && ep->ssl) {
        ERR_clear_error();
        SSL_shutdown(ep->ssl); /* queues close_notify; we do not wait for the peer's */
        ERR_clear_error();
    }
    ep->state = VG_DTLS_CLOSED;
    ep->next_timeout_us = -1;
    ep->overflowed = false;
    OPENSSL_cleanse(&ep->keys, sizeof ep->keys);
    return 0;
}

int vg_dtls_release(struct vg_dtls *ep)
{
    if (ep->state != VG_DTLS_CONNECTED)
        return VG_ESTATE;
    SSL_free(ep->ssl); /* and both BIOs; NULL after an earlier release */
    ep->ssl = NULL;
    ep->rbio = NULL;
    ep->next_timeout_us = -1;
    while (ep->q.count)
        queue_drop_head(&ep->q);
    return 0;
}

bool vg_dtls_released(const struct vg_dtls *ep)
{
    return ep->state == VG_DTLS_CONNECTED && !ep->ssl;
}

enum vg_dtls_state vg_dtls_state(const struct vg_dtls *ep)
{
    return ep->state;
}

const char *vg_dtls_state_name(enum vg_dtls_state state)
{
    switch (state) {
    case VG_DTLS_NEW: return "new";
    case VG_DTLS_HANDSHAKING: return "handshaking";
    case VG_DTLS_CONNECTED: return "connected";
    case VG_DTLS_FAILED: return "failed";
    case VG_DTLS_CLOSED: return "closed";
    default: return "unknown";
    }
}

const char *vg_dtls_failure(const struct vg_dtls *ep)
{
    return ep->state == VG_DTLS_FAILED ? ep->failure : NULL;
}

int vg_dtls_srtp_keys(const struct vg_dtls *ep, struct vg_srtp_keys *out)
{
    if (ep->state != VG_DTLS_CONNECTED)
        return VG_ESTATE;
    *out = ep->keys;
    return 0;
}

int vg_dtls_export(const struct vg_dtls *ep, const char *label, uint8_t *out, size_t len)
{
    if (ep->state != VG_DTLS_CONNECTED)
        return VG_ESTATE;
    if (!label || !out || !len)
        return VG_EINVAL;
    if (!ep->ssl)
        return VG_ESTATE;
    int ok = SSL_export_keying_material(ep->ssl, out, len, label, strlen(label), NULL, 0, 0);
    ERR_clear_error();
    return ok == 1 ? 0 : VG_EIO;
}

const struct vg_dtls_stats *vg_dtls_stats(const struct vg_dtls *ep)
{
    return &ep->stats;
}
