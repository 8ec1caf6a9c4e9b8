/* SRTP with libsrtp's own reference vectors (fixed keys, known ciphertext), and with
 * keys from a real DTLS handshake between two endpoints: what one side protects the
 * other unprotects, for both profiles, RTP and RTCP, in both directions. */
#include "dtls.h"
#include "srtp.h"
#include "vt.h"

#include <stdlib.h>
#include <time.h>

/* libsrtp's srtp_validate() and srtp_validate_gcm() vectors (test/srtp_driver.c):
 * SSRC 0xcafebabe, sequence 0x1234, 16 bytes of 0xab payload. */
static const uint8_t cm_master[30] = {
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
    0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t gcm_master[28] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};
static const uint8_t rtp_plain[28] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t rtcp_plain[24] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t cm_srtp[38] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e,
    0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d,
    0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
};
static const uint8_t cm_srtcp[38] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28, 0x03, 0x5b, 0xe4,
    0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00,
    0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
};
static const uint8_t gcm_srtp[44] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xc5, 0x00, 0x2e,
    0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97,
    0x68, 0x26, 0xf7, 0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92,
};
static const uint8_t gcm_srtcp[44] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a,
    0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e, 0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3,
    0xb4, 0x46, 0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01,
};

/* Keys whose local and remote master are the same, so one session can protect a
 * packet and unprotect it again. */
static struct vg_srtp_keys fixed_keys(enum vg_srtp_profile p)
{
    struct vg_srtp_keys k = {.profile = p, .key_len = 16, .salt_len = vg_srtp_salt_len(p)};
    const uint8_t *m = p == VG_SRTP_AEAD_AES_128_GCM ? gcm_master : cm_master;
    memcpy(k.local, m, 16 + k.salt_len);
    memcpy(k.remote, m, 16 + k.salt_len);
    return k;
}

static struct vg_srtp *session(const struct vg_srtp_keys *k, size_t max_ssrcs)
{
    struct vg_srtp *s = NULL;
    VT_EQ_INT(vg_srtp_new(k, max_ssrcs, &s), 0);
    if (!s)
        exit(1);
    return s;
}

static void test_reference_vectors(void)
{
    static const struct {
        enum vg_srtp_profile p;
        const uint8_t *srtp, *srtcp;
        size_t srtp_len, srtcp_len;
    } v[] = {
        {VG_SRTP_AES128_CM_SHA1_80, cm_srtp, cm_srtcp, sizeof cm_srtp, sizeof cm_srtcp},
        {VG_SRTP_AEAD_AES_128_GCM, gcm_srtp, gcm_srtcp, sizeof gcm_srtp, sizeof gcm_srtcp},
    };
    for (size_t i = 0; i < 2; i++) {
        struct vg_srtp_keys k = fixed_keys(v[i].p);
        struct vg_srtp *s = session(&k, 0);
        VT_EQ_INT(vg_srtp_profile(s), v[i].p);
        uint8_t buf[64];
        memcpy(buf, rtp_plain, sizeof rtp_plain);
        VT_EQ_INT(vg_srtp_protect_rtp(s, buf, sizeof rtp_plain, sizeof buf), v[i].srtp_len);
        VT_CHECK(memcmp(buf, v[i].srtp, v[i].srtp_len) == 0);
        memcpy(buf, rtcp_plain, sizeof rtcp_plain);
        VT_EQ_INT(vg_srtp_protect_rtcp(s, buf, sizeof rtcp_plain, sizeof buf), v[i].srtcp_len);
        VT_CHECK(memcmp(buf, v[i].srtcp, v[i].srtcp_len) == 0);

        memcpy(buf, v[i].srtp, v[i].srtp_len);
        VT_EQ_INT(vg_srtp_unprotect_rtp(s, buf, v[i].srtp_len), sizeof rtp_plain);
        VT_CHECK(memcmp(buf, rtp_plain, sizeof rtp_plain) == 0);
        memcpy(buf, v[i].srtcp, v[i].srtcp_len);
        VT_EQ_INT(vg_srtp_unprotect_rtcp(s, buf, v[i].srtcp_len), sizeof rtcp_plain);
        VT_CHECK(memcmp(buf, rtcp_plain, sizeof rtcp_plain) == 0);
        const struct vg_srtp_stats *st = vg_srtp_stats(s);
        VT_EQ_INT(st->rtp_protected + st->rtcp_protected, 2);
        VT_EQ_INT(st->rtp_unprotected + st->rtcp_unprotected, 2);
        vg_srtp_free(s);
    }
}

static void test_sizes(void)
{
    VT_EQ_INT(vg_srtp_rtp_overhead(VG_SRTP_AES128_CM_SHA1_80), 10);
    VT_EQ_INT(vg_srtp_rtcp_overhead(VG_SRTP_AES128_CM_SHA1_80), 14);
    VT_EQ_INT(vg_srtp_rtp_overhead(VG_SRTP_AEAD_AES_128_GCM), 16);
    VT_EQ_INT(vg_srtp_rtcp_overhead(VG_SRTP_AEAD_AES_128_GCM), 20);
    VT_EQ_INT(vg_srtp_rtp_overhead(VG_SRTP_NONE), 0);
    VT_EQ_INT(vg_srtp_salt_len(VG_SRTP_AES128_CM_SHA1_80), 14);
    VT_EQ_INT(vg_srtp_salt_len(VG_SRTP_AEAD_AES_128_GCM), 12);
    VT_EQ_STR(vg_srtp_profile_name(VG_SRTP_AEAD_AES_128_GCM), "AEAD_AES_128_GCM");
    VT_EQ_STR(vg_srtp_profile_name(VG_SRTP_AES128_CM_SHA1_80), "AES_CM_128_HMAC_SHA1_80");
    VT_EQ_STR(vg_srtp_profile_name(VG_SRTP_NONE), "none");
    VT_EQ_INT(vg_srtp_global_init(), 0);
    VT_EQ_INT(vg_srtp_global_init(), 0);
}

static void test_bad_keys(void)
{
    struct vg_srtp *s = (struct vg_srtp *)&s;
    struct vg_srtp_keys k = fixed_keys(VG_SRTP_AES128_CM_SHA1_80);
    k.salt_len = 12; /* GCM's salt under the AES-CM profile */
    VT_EQ_INT(vg_srtp_new(&k, 0, &s), VG_EINVAL);
    VT_CHECK(s == NULL);
    k = fixed_keys(VG_SRTP_AES128_CM_SHA1_80);
    k.profile = VG_SRTP_NONE;
    VT_EQ_INT(vg_srtp_new(&k, 0, &s), VG_EINVAL);
    k.profile = (enum vg_srtp_profile)2; /* SRTP_AES128_CM_SHA1_32: not offered */
    VT_EQ_INT(vg_srtp_new(&k, 0, &s), VG_EINVAL);
    vg_srtp_free(NULL);
}

/* --- With keys from a DTLS handshake --------------------------------------------- */

static void pump(struct vg_dtls *from, struct vg_dtls *to)
{
    uint8_t buf[VG_DTLS_MTU];
    int n;
    while ((n = vg_dtls_pop_datagram(from, buf, sizeof buf)) > 0)
        vg_dtls_handle_datagram(to, buf, (size_t)n, 0);
}

/* Handshakes two fresh endpoints offering `profiles`; returns each side's keys. */
static void handshake(unsigned profiles, struct vg_srtp_keys *kc, struct vg_srtp_keys *ks)
{
    struct vg_dtls_cert *cc = NULL, *cs = NULL;
    int64_t wall = (int64_t)time(NULL) * 1000000;
    VT_EQ_INT(vg_dtls_cert_new(wall, &cc), 0);
    VT_EQ_INT(vg_dtls_cert_new(wall, &cs), 0);
    char fc[VG_DTLS_CERT_FINGERPRINT_LEN], fs[VG_DTLS_CERT_FINGERPRINT_LEN];
    snprintf(fc, sizeof fc, "%s", vg_dtls_cert_fingerprint(cc) + 8); /* past "sha-256 " */
    snprintf(fs, sizeof fs, "%s", vg_dtls_cert_fingerprint(cs) + 8);
    struct vg_dtls_config ccfg = {.role = VG_DTLS_CLIENT,
                                  .cert = cc,
                                  .remote_fp_alg = "sha-256",
                                  .remote_fp_hex = fs,
                                  .srtp_profiles = profiles};
    struct vg_dtls_config scfg = {.role = VG_DTLS_SERVER,
                                  .cert = cs,
                                  .remote_fp_alg = "sha-256",
                                  .remote_fp_hex = fc,
                                  .srtp_profiles = profiles};
    struct vg_dtls *c = NULL, *s = NULL;
    VT_EQ_INT(vg_dtls_new(&ccfg, &c), 0);
    VT_EQ_INT(vg_dtls_new(&scfg, &s), 0);
    vg_dtls_start(c, 0);
    for (int i = 0; i < 4; i++) {
        pump(c, s);
        pump(s, c);
    }
    VT_EQ_INT(vg_dtls_srtp_keys(c, kc), 0);
    VT_EQ_INT(vg_dtls_srtp_keys(s, ks), 0);
    vg_dtls_free(c);
    vg_dtls_free(s);
    vg_dtls_cert_free(cc);
    vg_dtls_cert_free(cs);
}

static size_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, size_t payload)
{
    b[0] = 0x80;
    b[1] = 111; /* Opus */
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    memset(b + 4, 0, 4); /* timestamp */
    b[8] = (uint8_t)(ssrc >> 24);
    b[9] = (uint8_t)(ssrc >> 16);
    b[10] = (uint8_t)(ssrc >> 8);
    b[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload; i++)
        b[12 + i] = (uint8_t)(i ^ seq);
    return 12 + payload;
}

static size_t make_rtcp_rr(uint8_t *b, uint32_t ssrc)
{
    static const uint8_t rr[8] = {0x80, 201, 0x00, 0x01};
    memcpy(b, rr, sizeof rr);
    b[4] = (uint8_t)(ssrc >> 24);
    b[5] = (uint8_t)(ssrc >> 16);
    b[6] = (uint8_t)(ssrc >> 8);
    b[7] = (uint8_t)ssrc;
    return 8;
}

/* One packet each way, RTP and RTCP, checking lengths and bytes. */
static void roundtrip(struct vg_srtp *a, struct vg_srtp *b, enum vg_srtp_profile p)
{
    uint8_t plain[1300], buf[1300];
    struct vg_srtp *from[2] = {a, b}, *to[2] = {b, a};
    for (int dir = 0; dir < 2; dir++) {
        size_t n = make_rtp(plain, (uint16_t)(1000 + dir), 0x1234 + (uint32_t)dir, 1200);
        memcpy(buf, plain, n);
        int got = vg_srtp_protect_rtp(from[dir], buf, n, sizeof buf);
        VT_EQ_INT(got, n + vg_srtp_rtp_overhead(p));
        VT_CHECK(memcmp(buf + 12, plain + 12, 16) != 0); /* encrypted */
        VT_EQ_INT(vg_srtp_unprotect_rtp(to[dir], buf, (size_t)got), n);
        VT_CHECK(memcmp(buf, plain, n) == 0);

        n = make_rtcp_rr(plain, 0x1234 + (uint32_t)dir);
        memcpy(buf, plain, n);
        got = vg_srtp_protect_rtcp(from[dir], buf, n, sizeof buf);
        VT_EQ_INT(got, n + vg_srtp_rtcp_overhead(p));
        VT_EQ_INT(vg_srtp_unprotect_rtcp(to[dir], buf, (size_t)got), n);
        VT_CHECK(memcmp(buf, plain, n) == 0);
    }
}

static void test_dtls_keys(void)
{
    static const struct {
        unsigned offer;
        enum vg_srtp_profile want;
    } v[] = {{0, VG_SRTP_AEAD_AES_128_GCM}, {VG_DTLS_SRTP_CM_SHA1_80, VG_SRTP_AES128_CM_SHA1_80}};
    for (size_t i = 0; i < 2; i++) {
        struct vg_srtp_keys kc, ks;
        handshake(v[i].offer, &kc, &ks);
        VT_EQ_INT(kc.profile, v[i].want);
        struct vg_srtp *c = session(&kc, 0), *s = session(&ks, 0);
        roundtrip(c, s, v[i].want);
        /* Keys that are not the peer's do not verify: a client talking to itself. */
        uint8_t buf[64];
        size_t n = make_rtp(buf, 7, 42, 20);
        int got = vg_srtp_protect_rtp(c, buf, n, sizeof buf);
        VT_EQ_INT(vg_srtp_unprotect_rtp(c, buf, (size_t)got), VG_SRTP_EAUTH);
        vg_srtp_free(c);
        vg_srtp_free(s);
    }
}

/* A flipped bit anywhere (header, payload, tag, SRTCP index) fails authentication. */
static void test_tamper(void)
{
    enum vg_srtp_profile ps[2] = {VG_SRTP_AES128_CM_SHA1_80, VG_SRTP_AEAD_AES_128_GCM};
    for (int i = 0; i < 2; i++) {
        struct vg_srtp_keys k = fixed_keys(ps[i]);
        struct vg_srtp *s = session(&k, 0);
        uint8_t pkt[128], buf[128];
        int n = vg_srtp_protect_rtp(s, memcpy(pkt, rtp_plain, 28), 28, sizeof pkt);
        size_t at[] = {3, 12, 27, (size_t)n - 1};
        for (size_t j = 0; j < 4; j++) {
            memcpy(buf, pkt, (size_t)n);
            buf[at[j]] ^= 0x01;
            VT_EQ_INT(vg_srtp_unprotect_rtp(s, buf, (size_t)n), VG_SRTP_EAUTH);
        }
        int m = vg_srtp_protect_rtcp(s, memcpy(pkt, rtcp_plain, 24), 24, sizeof pkt);
        memcpy(buf, pkt, (size_t)m);
        buf[24 + (ps[i] == VG_SRTP_AEAD_AES_128_GCM ? 16 : 0) + 3] ^= 0x01; /* index */
        VT_EQ_INT(vg_srtp_unprotect_rtcp(s, buf, (size_t)m), VG_SRTP_EAUTH);
        VT_EQ_INT(vg_srtp_stats(s)->auth_failures, 5);
        VT_EQ_INT(vg_srtp_stats(s)->replays, 0);
        VT_EQ_INT(vg_srtp_stats(s)->rtp_unprotected, 0);
        /* The untouched packet still verifies: failures did not advance the window. */
        memcpy(buf, pkt, (size_t)m);
        VT_EQ_INT(vg_srtp_unprotect_rtcp(s, buf, (size_t)m), 24);
        vg_srtp_free(s);
    }
}

/* A packet seen twice is a replay; so is one older than the 1024-packet window. */
static void test_replay(void)
{
    struct vg_srtp_keys k = fixed_keys(VG_SRTP_AEAD_AES_128_GCM);
    struct vg_srtp *s = session(&k, 0);
    uint8_t first[128], buf[128];
    size_t n = make_rtp(first, 100, 7, 40);
    int len = vg_srtp_protect_rtp(s, first, n, sizeof first);
    memcpy(buf, first, (size_t)len);
    VT_EQ_INT(vg_srtp_unprotect_rtp(s, buf, (size_t)len), n);
    memcpy(buf, first, (size_t)len);
    VT_EQ_INT(vg_srtp_unprotect_rtp(s, buf, (size_t)len), VG_SRTP_EREPLAY);
    /* Move the window forward past 100, then 100 is too old as well as seen. */
    uint8_t old[128];
    size_t on = make_rtp(old, 101, 7, 40);
    int olen = vg_srtp_protect_rtp(s, old, on, sizeof old); /* not delivered yet */
    for (uint16_t seq = 102; seq <= 1202; seq += 100) {
        n = make_rtp(buf, seq, 7, 40);
        len = vg_srtp_protect_rtp(s, buf, n, sizeof buf);
        VT_EQ_INT(vg_srtp_unprotect_rtp(s, buf, (size_t)len), n);
    }
    VT_EQ_INT(vg_srtp_unprotect_rtp(s, old, (size_t)olen), VG_SRTP_EREPLAY);
    VT_EQ_INT(vg_srtp_stats(s)->replays, 2);
    VT_EQ_INT(vg_srtp_stats(s)->auth_failures, 0);
    /* SRTCP has its own index and window. */
    uint8_t rtcp[64];
    len = vg_srtp_protect_rtcp(s, memcpy(rtcp, rtcp_plain, 24), 24, sizeof rtcp);
    memcpy(buf, rtcp, (size_t)len);
    VT_EQ_INT(vg_srtp_unprotect_rtcp(s, buf, (size_t)len), 24);
    memcpy(buf, rtcp, (size_t)len);
    VT_EQ_INT(vg_srtp_unprotect_rtcp(s, buf, (size_t)len), VG_SRTP_EREPLAY);
    VT_EQ_INT(vg_srtp_stats(s)->replays, 3);
    /* Protecting a sequence number twice is refused (GCM nonce reuse). */
    n = make_rtp(buf, 1202, 7, 40);
    VT_EQ_INT(vg_srtp_protect_rtp(s, buf, n, sizeof buf), VG_SRTP_EREPLAY);
    vg_srtp_free(s);
}

/* Protect needs room for exactly the overhead, not a byte more; the buffers are
 * heap blocks of the exact size so AddressSanitizer sees any write past them. */
static void test_capacity(void)
{
    enum vg_srtp_profile ps[2] = {VG_SRTP_AES128_CM_SHA1_80, VG_SRTP_AEAD_AES_128_GCM};
    for (int i = 0; i < 2; i++) {
        struct vg_srtp_keys k = fixed_keys(ps[i]);
        struct vg_srtp *s = session(&k, 0);
        size_t rtp_cap = 28 + vg_srtp_rtp_overhead(ps[i]);
        uint8_t *b = malloc(rtp_cap);
        memcpy(b, rtp_plain, 28);
        VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, rtp_cap - 1), VG_ENOSPC);
        VT_CHECK(memcmp(b, rtp_plain, 28) == 0); /* untouched */
        VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, rtp_cap), rtp_cap);
        free(b);
        size_t rtcp_cap = 24 + vg_srtp_rtcp_overhead(ps[i]);
        b = malloc(rtcp_cap);
        memcpy(b, rtcp_plain, 24);
        VT_EQ_INT(vg_srtp_protect_rtcp(s, b, 24, rtcp_cap - 1), VG_ENOSPC);
        VT_EQ_INT(vg_srtp_protect_rtcp(s, b, 24, rtcp_cap), rtcp_cap);
        free(b);
        VT_EQ_INT(vg_srtp_protect_rtp(s, (uint8_t[12]){0x80}, 12, 12), VG_ENOSPC);
        vg_srtp_free(s);
    }
}

/* Packets that are not RTP/RTCP are refused before libsrtp sees them. */
static void test_malformed(void)
{
    struct vg_srtp_keys k = fixed_keys(VG_SRTP_AES128_CM_SHA1_80);
    struct vg_srtp *s = session(&k, 0);
    uint8_t b[64];
    memcpy(b, rtp_plain, 28);
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, 11, sizeof b), VG_EINVAL); /* short */
    b[0] = 0x40;                                                   /* version 1 */
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, sizeof b), VG_EINVAL);
    b[0] = 0x85; /* 5 CSRCs: 32 bytes of header in a 28-byte packet */
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, sizeof b), VG_EINVAL);
    b[0] = 0x90; /* extension whose length runs past the end */
    b[12] = 0xbe, b[13] = 0xde, b[14] = 0x00, b[15] = 0x04;
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, sizeof b), VG_EINVAL);
    b[15] = 0x03; /* now it ends exactly at byte 28 */
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, 28, sizeof b), 38);
    VT_EQ_INT(vg_srtp_unprotect_rtp(s, b, 11), VG_EINVAL);
    VT_EQ_INT(vg_srtp_unprotect_rtcp(s, b, 7), VG_EINVAL);
    VT_EQ_INT(vg_srtp_protect_rtp(s, b, VG_SRTP_MAX_PACKET + 1, VG_SRTP_MAX_PACKET + 100),
              VG_EINVAL);
    /* An RTCP packet too short to carry the SRTCP index and tag. */
    memcpy(b, rtcp_plain, 24);
    VT_EQ_INT(vg_srtp_unprotect_rtcp(s, b, 20), VG_EINVAL);
    VT_EQ_INT(vg_srtp_stats(s)->malformed, 8);
    VT_EQ_INT(vg_srtp_stats(s)->auth_failures, 0);
    vg_srtp_free(s);
}

/* Each direction carries at most max_ssrcs SSRCs; a forged packet does not take a
 * place in the table. */
static void test_ssrc_limit(void)
{
    struct vg_srtp_keys k = fixed_keys(VG_SRTP_AEAD_AES_128_GCM);
    struct vg_srtp *tx = session(&k, 0), *rx = session(&k, 2);
    uint8_t b[128];
    uint8_t forged[64];
    size_t fn = make_rtp(forged, 1, 99, 30);
    memset(forged + fn, 0, 16);
    VT_EQ_INT(vg_srtp_unprotect_rtp(rx, forged, fn + 16), VG_SRTP_EAUTH);
    for (uint32_t ssrc = 1; ssrc <= 3; ssrc++) {
        size_t n = make_rtp(b, 5, ssrc, 30);
        int len = vg_srtp_protect_rtp(tx, b, n, sizeof b);
        VT_EQ_INT(vg_srtp_unprotect_rtp(rx, b, (size_t)len), ssrc <= 2 ? (int)n : VG_ENOSPC);
    }
    /* Known SSRCs keep working, RTCP from them included. */
    size_t n = make_rtp(b, 6, 2, 30);
    int len = vg_srtp_protect_rtp(tx, b, n, sizeof b);
    VT_EQ_INT(vg_srtp_unprotect_rtp(rx, b, (size_t)len), n);
    n = make_rtcp_rr(b, 1);
    len = vg_srtp_protect_rtcp(tx, b, n, sizeof b);
    VT_EQ_INT(vg_srtp_unprotect_rtcp(rx, b, (size_t)len), n);
    VT_EQ_INT(vg_srtp_stats(rx)->ssrc_refused, 1);
    /* The outbound side has the same bound. */
    n = make_rtp(b, 1, 3, 30);
    VT_EQ_INT(vg_srtp_protect_rtp(rx, b, n, sizeof b), n + 16);
    n = make_rtp(b, 1, 4, 30);
    VT_EQ_INT(vg_srtp_protect_rtp(rx, b, n, sizeof b), n + 16);
    n = make_rtp(b, 1, 5, 30);
    VT_EQ_INT(vg_srtp_protect_rtp(rx, b, n, sizeof b), VG_ENOSPC);
    VT_EQ_INT(vg_srtp_stats(rx)->ssrc_refused, 2);
    vg_srtp_free(tx);
    vg_srtp_free(rx);
}

int main(void)
{
    test_sizes();
    test_bad_keys();
    test_reference_vectors();
    test_dtls_keys();
    test_tamper();
    test_replay();
    test_capacity();
    test_malformed();
    test_ssrc_limit();
    return vt_done("srtp");
}
