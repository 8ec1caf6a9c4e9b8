/* Vigil's OpenSSL AES-GCM, AES-ICM and HMAC-SHA1 inside libsrtp2 (media/core/srtp_evp.c) against
 * libsrtp2's own (NSS on Debian), packet by packet, for both profiles Vigil offers:
 * sessions made before the replacement keep libsrtp2's ciphers, sessions made after
 * it get ours (AES-ICM derives every session's keys, so a GCM session runs on both of
 * ours). With the same keys both must write the same bytes for every RTP and RTCP
 * packet, each must open what the other wrote, and ours must refuse any packet with
 * one byte changed. Payload sizes, CSRC lists and header extensions vary, so partial
 * blocks and long AAD are covered. */
#include "srtp_evp.h"
#include "vt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#define PACKETS 3000

static const uint8_t master[28] = {0x3c, 0x91, 0x07, 0x5e, 0xa2, 0x18, 0xd4, 0x66, 0x0b, 0xf3,
                                   0x29, 0x84, 0xc7, 0x5a, 0x10, 0xee, 0x71, 0x02, 0x9d, 0x43,
                                   0xb8, 0x6f, 0x25, 0xda, 0x36, 0xc1, 0x8e, 0x54};

static srtp_t session(srtp_ssrc_type_t type, bool gcm)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    p.ssrc.type = type;
    p.key = (unsigned char *)master;
    p.window_size = 1024;
    srtp_t s = NULL;
    VT_EQ_INT(srtp_create(&s, &p), srtp_err_status_ok);
    return s;
}

/* An RTP packet: sometimes CSRCs, sometimes a one-byte-header extension. */
static int make_rtp(uint8_t *b, unsigned i)
{
    unsigned cc = rand() % 4 == 0 ? (unsigned)rand() % 3 : 0;
    bool ext = rand() % 3 == 0;
    b[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | cc);
    b[1] = 96;
    b[2] = (uint8_t)(i >> 8), b[3] = (uint8_t)i;
    memset(b + 4, 0x11, 4);
    b[8] = 0xde, b[9] = 0xad, b[10] = 0xbe, b[11] = 0xef;
    size_t n = 12 + 4 * cc;
    memset(b + 12, 0x22, 4 * cc);
    if (ext) {
        unsigned words = 1 + (unsigned)rand() % 3;
        b[n] = 0xbe, b[n + 1] = 0xde, b[n + 2] = 0, b[n + 3] = (uint8_t)words;
        for (unsigned k = 0; k < 4 * words; k++)
            b[n + 4 + k] = (uint8_t)rand();
        n += 4 + 4 * words;
    }
    size_t payload = (size_t)rand() % 1200;
    for (size_t k = 0; k < payload; k++)
        b[n + k] = (uint8_t)rand();
    return (int)(n + payload);
}

static int make_rtcp(uint8_t *b)
{
    unsigned words = 1 + (unsigned)rand() % 30;
    b[0] = 0x81, b[1] = 201, b[2] = 0, b[3] = (uint8_t)words;
    b[4] = 0xde, b[5] = 0xad, b[6] = 0xbe, b[7] = 0xef;
    for (unsigned k = 8; k < 4 * (words + 1); k++)
        b[k] = (uint8_t)rand();
    return (int)(4 * (words + 1));
}

static srtp_err_status_t open_tampered(srtp_t in, const uint8_t *pkt, int len, int at, bool rtcp)
{
    uint8_t t[1600];
    memcpy(t, pkt, (size_t)len);
    t[at] ^= (uint8_t)(1 + rand() % 255);
    return rtcp ? srtp_unprotect_rtcp(in, t, &len) : srtp_unprotect(in, t, &len);
}

struct pair {
    srtp_t out, in;
    bool gcm;
};

static struct pair pair(bool gcm)
{
    return (struct pair){session(ssrc_any_outbound, gcm), session(ssrc_any_inbound, gcm), gcm};
}

/* Where the tag begins. GCM: at the end of an RTP packet, before SRTCP's E flag and
 * index; HMAC-SHA1-80: 10 bytes at the end of both. */
static int tag_at(const struct pair *p, int len, bool rtcp)
{
    if (!p->gcm)
        return len - 10;
    return rtcp ? len - 4 - 16 : len - 16;
}

/* Protects the same plain packet with both outbound sessions, then opens each result
 * with the other implementation's inbound session. Counts the packets that differ. */
static int cross(struct pair *nss, struct pair *evp, const uint8_t *plain, int len, bool rtcp)
{
    uint8_t a[1600], b[1600];
    int la = len, lb = len, bad = 0;
    memcpy(a, plain, (size_t)len);
    memcpy(b, plain, (size_t)len);
    srtp_err_status_t sa =
        rtcp ? srtp_protect_rtcp(nss->out, a, &la) : srtp_protect(nss->out, a, &la);
    srtp_err_status_t sb =
        rtcp ? srtp_protect_rtcp(evp->out, b, &lb) : srtp_protect(evp->out, b, &lb);
    if (sa || sb || la != lb || memcmp(a, b, (size_t)la))
        return 1;
    /* One byte changed anywhere: refused. One byte of the tag changed: auth_fail (a
     * change in the header may be refused earlier, as a replay or a parse error). */
    bad += open_tampered(evp->in, a, la, rand() % la, rtcp) == srtp_err_status_ok;
    int tag = tag_at(evp, la, rtcp), tag_len = evp->gcm ? 16 : 10;
    bad += open_tampered(evp->in, a, la, tag + rand() % tag_len, rtcp) != srtp_err_status_auth_fail;
    srtp_err_status_t st;
    st = rtcp ? srtp_unprotect_rtcp(evp->in, a, &la) : srtp_unprotect(evp->in, a, &la);
    bad += st != srtp_err_status_ok || la != len || memcmp(a, plain, (size_t)len);
    st = rtcp ? srtp_unprotect_rtcp(nss->in, b, &lb) : srtp_unprotect(nss->in, b, &lb);
    bad += st != srtp_err_status_ok || lb != len || memcmp(b, plain, (size_t)len);
    return bad;
}

/* PACKETS RTP packets and a tenth as many RTCP through both pairs; 0 if none differ. */
static int run(struct pair *nss, struct pair *evp, const char *name)
{
    int rtp_bad = 0, rtcp_bad = 0;
    uint8_t plain[1600];
    for (unsigned i = 0; i < PACKETS; i++) {
        int len = make_rtp(plain, i);
        rtp_bad += cross(nss, evp, plain, len, false);
        if (i % 10 == 0) {
            len = make_rtcp(plain);
            rtcp_bad += cross(nss, evp, plain, len, true);
        }
    }
    printf("%s: %d RTP and %d RTCP packets, libsrtp2's ciphers against OpenSSL's: %d and %d "
           "differ\n",
           name, PACKETS, PACKETS / 10, rtp_bad, rtcp_bad);
    srtp_dealloc(nss->out), srtp_dealloc(nss->in), srtp_dealloc(evp->out), srtp_dealloc(evp->in);
    return rtp_bad + rtcp_bad;
}

int main(void)
{
    srand(7);
    VT_EQ_INT(srtp_init(), srtp_err_status_ok);
    struct pair gcm_nss = pair(true), cm_nss = pair(false);
    /* libsrtp2 runs its own self-tests of each type on ours before it takes it */
    VT_EQ_INT(vg_srtp_evp_install(), 0);
    VT_EQ_INT(vg_srtp_evp_install_icm(), 0);
    struct pair gcm_evp = pair(true), cm_evp = pair(false);
    VT_EQ_INT(run(&gcm_nss, &gcm_evp, "AEAD_AES_128_GCM"), 0);
    VT_EQ_INT(run(&cm_nss, &cm_evp, "AES_CM_128_HMAC_SHA1_80"), 0);
    return vt_done("srtp_evp");
}
