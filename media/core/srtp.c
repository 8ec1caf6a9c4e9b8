#include "srtp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include <srtp2/srtp.h>

#include "srtp_evp.h"

#define DEFAULT_MAX_SSRCS 32
/* RFC 3711 allows 64 and up; libwebrtc uses 1024 so that NACK retransmissions of
 * video, arriving late, are not mistaken for replays. */
#define REPLAY_WINDOW 1024

#define RTP_HEADER_LEN 12
#define RTCP_HEADER_LEN 8

/* The SSRCs one direction has carried. libsrtp2 adds a stream for every new SSRC
 * it sees (inbound: once the packet authenticates), so this table is the bound. */
struct ssrc_set {
    uint32_t *v;
    size_t n, max;
};

struct vg_srtp {
    enum vg_srtp_profile profile;
    srtp_t out; /* ssrc_any_outbound, our master key */
    srtp_t in;  /* ssrc_any_inbound, the peer's master key */
    struct ssrc_set out_ssrcs, in_ssrcs;
    struct vg_srtp_stats stats;
};

static once_flag g_init_once = ONCE_FLAG_INIT;
static int g_init_rc = VG_EIO;
static bool g_gcm_evp, g_icm_evp;

/* OpenSSL's AES-GCM and AES-ICM replace NSS's inside libsrtp2 (srtp_evp.h says
 * why); one that fails libsrtp2's self-tests is not taken, libsrtp2 keeps its own
 * and SRTP still works. */
static void global_init_once(void)
{
    g_init_rc = srtp_init() == srtp_err_status_ok ? 0 : VG_EIO;
    if (!g_init_rc) {
        g_gcm_evp = vg_srtp_evp_install() == 0;
        g_icm_evp = vg_srtp_evp_install_icm() == 0;
    }
}

const char *vg_srtp_gcm_impl(void)
{
    call_once(&g_init_once, global_init_once);
    return g_gcm_evp ? "openssl" : "libsrtp2";
}

const char *vg_srtp_icm_impl(void)
{
    call_once(&g_init_once, global_init_once);
    return g_icm_evp ? "openssl" : "libsrtp2";
}

int vg_srtp_global_init(void)
{
    call_once(&g_init_once, global_init_once);
    return g_init_rc;
}

const char *vg_srtp_profile_name(enum vg_srtp_profile p)
{
    switch (p) {
    case VG_SRTP_AES128_CM_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
    case VG_SRTP_AEAD_AES_128_GCM: return "AEAD_AES_128_GCM";
    default: return "none";
    }
}

size_t vg_srtp_key_len(enum vg_srtp_profile p)
{
    switch (p) {
    case VG_SRTP_AES128_CM_SHA1_80: return 16;
    case VG_SRTP_AEAD_AES_128_GCM: return 16;
    default: return 0;
    }
}

size_t vg_srtp_salt_len(enum vg_srtp_profile p)
{
    switch (p) {
    case VG_SRTP_AES128_CM_SHA1_80: return 14;
    case VG_SRTP_AEAD_AES_128_GCM: return 12; /* RFC 7714 section 12 */
    default: return 0;
    }
}

/* What libsrtp2 2.5 writes after the packet, with no MKI: the tag (HMAC-SHA1
 * truncated to 10 bytes, or the 16-byte GCM tag). Its own SRTP_MAX_TRAILER_LEN (144)
 * also covers an MKI we never use; asking callers for that much room would waste
 * 128 bytes of every buffer. */
size_t vg_srtp_rtp_overhead(enum vg_srtp_profile p)
{
    switch (p) {
    case VG_SRTP_AES128_CM_SHA1_80: return 10;
    case VG_SRTP_AEAD_AES_128_GCM: return 16;
    default: return 0;
    }
}

size_t vg_srtp_rtcp_overhead(enum vg_srtp_profile p)
{
    size_t tag = vg_srtp_rtp_overhead(p);
    return tag ? tag + 4 : 0; /* the E flag and 31-bit SRTCP index, then the tag */
}

static int ssrc_set_init(struct ssrc_set *set, size_t max)
{
    set->v = calloc(max, sizeof *set->v);
    set->n = 0;
    set->max = max;
    return set->v ? 0 : VG_ENOMEM;
}

static bool ssrc_set_has(const struct ssrc_set *set, uint32_t ssrc)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i] == ssrc)
            return true;
    return false;
}

/* Called after libsrtp2 accepted a packet: a known SSRC changes nothing. */
static void ssrc_set_note(struct ssrc_set *set, uint32_t ssrc)
{
    if (!ssrc_set_has(set, ssrc) && set->n < set->max)
        set->v[set->n++] = ssrc;
}

/* A new SSRC is admitted only while there is room for it. */
static bool ssrc_set_admits(const struct ssrc_set *set, uint32_t ssrc)
{
    return set->n < set->max || ssrc_set_has(set, ssrc);
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 3550 section 5.1: version 2, CSRC list and header extension inside len.
 * libsrtp2 2.5 checks this on unprotect but not on protect, where it would read
 * the extension length past a short packet; checking here covers both. */
static bool rtp_header_ok(const uint8_t *buf, size_t len)
{
    if (len < RTP_HEADER_LEN || (buf[0] >> 6) != 2)
        return false;
    size_t hdr = RTP_HEADER_LEN + 4u * (buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (hdr + 4 > len)
            return false;
        hdr += 4 + 4u * ((size_t)buf[hdr + 2] << 8 | buf[hdr + 3]);
    }
    return hdr <= len;
}

static bool rtcp_header_ok(const uint8_t *buf, size_t len)
{
    return len >= RTCP_HEADER_LEN && (buf[0] >> 6) == 2;
}

static void set_crypto_policy(srtp_crypto_policy_t *p, enum vg_srtp_profile profile)
{
    if (profile == VG_SRTP_AEAD_AES_128_GCM)
        srtp_crypto_policy_set_aes_gcm_128_16_auth(p);
    else
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
}

static int create_side(srtp_t *side, enum vg_srtp_profile profile, const uint8_t *master,
                       srtp_ssrc_type_t type)
{
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    set_crypto_policy(&policy.rtp, profile);
    set_crypto_policy(&policy.rtcp, profile);
    policy.ssrc.type = type;
    policy.key = (unsigned char *)master; /* libsrtp2 only reads it */
    policy.window_size = REPLAY_WINDOW;
    policy.allow_repeat_tx = 0;
    srtp_err_status_t st = srtp_create(side, &policy);
    if (st == srtp_err_status_alloc_fail)
        return VG_ENOMEM;
    return st == srtp_err_status_ok ? 0 : VG_EIO;
}

static bool keys_valid(const struct vg_srtp_keys *keys)
{
    size_t k = vg_srtp_key_len(keys->profile);
    return k && keys->key_len == k && keys->salt_len == vg_srtp_salt_len(keys->profile);
}

int vg_srtp_new(const struct vg_srtp_keys *keys, size_t max_ssrcs, struct vg_srtp **out)
{
    *out = NULL;
    if (!keys_valid(keys))
        return VG_EINVAL;
    int rc = vg_srtp_global_init();
    if (rc)
        return rc;
    struct vg_srtp *s = calloc(1, sizeof *s);
    if (!s)
        return VG_ENOMEM;
    s->profile = keys->profile;
    if (!max_ssrcs)
        max_ssrcs = DEFAULT_MAX_SSRCS;
    if ((rc = ssrc_set_init(&s->out_ssrcs, max_ssrcs)) ||
        (rc = ssrc_set_init(&s->in_ssrcs, max_ssrcs)))
        goto fail;
    if ((rc = create_side(&s->out, s->profile, keys->local, ssrc_any_outbound)) ||
        (rc = create_side(&s->in, s->profile, keys->remote, ssrc_any_inbound)))
        goto fail;
    *out = s;
    return 0;
fail:
    vg_srtp_free(s);
    return rc;
}

void vg_srtp_free(struct vg_srtp *s)
{
    if (!s)
        return;
    /* libsrtp2 holds the only copy of the keys (it derived its own at srtp_create)
     * and zeroes its cipher contexts as it frees them. */
    if (s->out)
        srtp_dealloc(s->out);
    if (s->in)
        srtp_dealloc(s->in);
    free(s->out_ssrcs.v);
    free(s->in_ssrcs.v);
    free(s);
}

/* libsrtp2's status for one packet, as our result. */
static int map_status(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok: return 0;
    case srtp_err_status_auth_fail: return VG_SRTP_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old: return VG_SRTP_EREPLAY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err: return VG_EINVAL;
    default: return VG_EIO;
    }
}

static void count_failure(struct vg_srtp *s, int rc)
{
    if (rc == VG_SRTP_EAUTH)
        s->stats.auth_failures++;
    else if (rc == VG_SRTP_EREPLAY)
        s->stats.replays++;
    else if (rc == VG_EINVAL)
        s->stats.malformed++;
}

/* The checks every call makes before libsrtp2 sees the bytes: length limits, header
 * shape, room for what protect appends (overhead; 0 for unprotect), and room for a
 * new SSRC in `set`. The SSRC sits at byte 8 in RTP and byte 4 in RTCP. */
static int precheck(struct vg_srtp *s, const uint8_t *buf, size_t len, size_t cap, size_t overhead,
                    bool rtcp, const struct ssrc_set *set)
{
    if (len > VG_SRTP_MAX_PACKET || !(rtcp ? rtcp_header_ok(buf, len) : rtp_header_ok(buf, len))) {
        s->stats.malformed++;
        return VG_EINVAL;
    }
    if (cap < len || cap - len < overhead)
        return VG_ENOSPC;
    if (!ssrc_set_admits(set, read_u32(buf + (rtcp ? 4 : 8)))) {
        s->stats.ssrc_refused++;
        return VG_ENOSPC;
    }
    return 0;
}

static int protect(struct vg_srtp *s, uint8_t *buf, size_t len, size_t cap, bool rtcp)
{
    size_t overhead = rtcp ? vg_srtp_rtcp_overhead(s->profile) : vg_srtp_rtp_overhead(s->profile);
    int rc = precheck(s, buf, len, cap, overhead, rtcp, &s->out_ssrcs);
    if (rc)
        return rc;
    int n = (int)len;
    srtp_err_status_t st =
        rtcp ? srtp_protect_rtcp(s->out, buf, &n) : srtp_protect(s->out, buf, &n);
    if ((rc = map_status(st))) {
        if (rc == VG_EINVAL)
            s->stats.malformed++;
        return rc;
    }
    ssrc_set_note(&s->out_ssrcs, read_u32(buf + (rtcp ? 4 : 8)));
    if (rtcp)
        s->stats.rtcp_protected++;
    else
        s->stats.rtp_protected++;
    return n;
}

static int unprotect(struct vg_srtp *s, uint8_t *buf, size_t len, bool rtcp)
{
    int rc = precheck(s, buf, len, len, 0, rtcp, &s->in_ssrcs);
    if (rc)
        return rc;
    uint32_t ssrc = read_u32(buf + (rtcp ? 4 : 8)); /* clear text in SRTP and SRTCP */
    int n = (int)len;
    srtp_err_status_t st =
        rtcp ? srtp_unprotect_rtcp(s->in, buf, &n) : srtp_unprotect(s->in, buf, &n);
    if ((rc = map_status(st))) {
        count_failure(s, rc);
        return rc;
    }
    ssrc_set_note(&s->in_ssrcs, ssrc);
    if (rtcp)
        s->stats.rtcp_unprotected++;
    else
        s->stats.rtp_unprotected++;
    return n;
}

int vg_srtp_protect_rtp(struct vg_srtp *s, uint8_t *buf, size_t len, size_t cap)
{
    return protect(s, buf, len, cap, false);
}

int vg_srtp_protect_rtcp(struct vg_srtp *s, uint8_t *buf, size_t len, size_t cap)
{
    return protect(s, buf, len, cap, true);
}

int vg_srtp_unprotect_rtp(struct vg_srtp *s, uint8_t *buf, size_t len)
{
    return unprotect(s, buf, len, false);
}

int vg_srtp_unprotect_rtcp(struct vg_srtp *s, uint8_t *buf, size_t len)
{
    return unprotect(s, buf, len, true);
}

enum vg_srtp_profile vg_srtp_profile(const struct vg_srtp *s)
{
    return s->profile;
}

const struct vg_srtp_stats *vg_srtp_stats(const struct vg_srtp *s)
{
    return &s->stats;
}
