/* SRTP: the media keys of one leg, applied to RTP and RTCP in the caller's buffer.
 *
 * DTLS-SRTP (RFC 5764) gives each direction its own master key and salt: we protect
 * what we send with ours ("local") and unprotect what we receive with the peer's
 * ("remote"). A vg_srtp is that pair of libsrtp2 sessions, one outbound and one
 * inbound, each accepting any SSRC, because a WebRTC peer may add SSRCs (RTX,
 * simulcast, a new track) without telling us first.
 *
 * Work happens in place: protect appends the authentication tag (and for RTCP the
 * SRTCP index) after the packet, so the caller says how big its buffer is. libsrtp2
 * itself writes past the packet without a bound; the capacity check here is what
 * keeps that write inside the buffer.
 *
 * The inbound side keeps a replay window of 1024 packets (RFC 3711 section 3.3.2),
 * wide enough for video reordered by NACK retransmission. Replays and forgeries are
 * told apart in the result and counted, because they mean different things on a
 * dashboard: a replay is usually a duplicating network path, a forgery is an attack
 * or a key mismatch.
 *
 * Not thread-safe per session: one owner thread per case uses it. vg_srtp_global_init()
 * may be called from any thread. */
#ifndef VG_SRTP_H
#define VG_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include "vg_err.h"

/* The DTLS-SRTP protection profiles we negotiate; values are the IANA ids carried in
 * the use_srtp extension (RFC 5764 section 4.1.2, RFC 7714 section 14.2). */
enum vg_srtp_profile {
    VG_SRTP_NONE = 0,
    VG_SRTP_AES128_CM_SHA1_80 = 0x0001,
    VG_SRTP_AEAD_AES_128_GCM = 0x0007,
};

#define VG_SRTP_MAX_KEY_LEN 16
#define VG_SRTP_MAX_SALT_LEN 14
#define VG_SRTP_MAX_MASTER_LEN (VG_SRTP_MAX_KEY_LEN + VG_SRTP_MAX_SALT_LEN)

/* Largest packet accepted, with its trailer: what fits in one UDP datagram. */
#define VG_SRTP_MAX_PACKET 65535

/* Result codes that are specific to unprotect, as aliases of the shared codes so a
 * caller can pass them up unchanged:
 *   VG_SRTP_EREPLAY: the packet's index was already seen or is older than the
 *     window ("already exists");
 *   VG_SRTP_EAUTH: the authentication tag did not verify (forged, corrupted, or the
 *     peer uses other keys). */
#define VG_SRTP_EREPLAY VG_EEXIST
#define VG_SRTP_EAUTH VG_EPROTO

/* One leg's keys, as DTLS exports them. Each master is key followed by salt, the
 * layout libsrtp2 takes. */
struct vg_srtp_keys {
    enum vg_srtp_profile profile;
    size_t key_len;                         /* 16 for both profiles */
    size_t salt_len;                        /* 14 for AES-CM, 12 for AES-GCM */
    uint8_t local[VG_SRTP_MAX_MASTER_LEN];  /* ours: protects what we send */
    uint8_t remote[VG_SRTP_MAX_MASTER_LEN]; /* the peer's: unprotects what we receive */
};

struct vg_srtp_stats {
    uint64_t rtp_protected, rtcp_protected;
    uint64_t rtp_unprotected, rtcp_unprotected;
    uint64_t auth_failures; /* VG_SRTP_EAUTH results */
    uint64_t replays;       /* VG_SRTP_EREPLAY results on the inbound side */
    uint64_t malformed;     /* VG_EINVAL: not an RTP/RTCP packet at all */
    uint64_t ssrc_refused;  /* VG_ENOSPC: a new SSRC beyond max_ssrcs */
};

struct vg_srtp;

/* Initialises libsrtp2 once per process; later calls return the first result. Safe
 * from any thread. vg_srtp_new() calls it too. Returns 0 or VG_EIO. */
int vg_srtp_global_init(void);

/* Who does AES-GCM: "openssl" (Vigil's cipher, srtp_evp.h) or "libsrtp2" (its own, if
 * ours failed libsrtp2's self-tests). Initialises like vg_srtp_global_init(). */
const char *vg_srtp_gcm_impl(void);
/* The same for AES-ICM-128 and HMAC-SHA1 (every session's key derivation, and
 * AES_CM_128_HMAC_SHA1_80's packets): "openssl" only if both are ours. */
const char *vg_srtp_icm_impl(void);

/* "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80" (the SDES/DTLS names), or "none". */
const char *vg_srtp_profile_name(enum vg_srtp_profile p);

/* Key and salt lengths of a profile; 0 for VG_SRTP_NONE and unknown values. */
size_t vg_srtp_key_len(enum vg_srtp_profile p);
size_t vg_srtp_salt_len(enum vg_srtp_profile p);

/* Bytes protect adds: the tag for RTP; the 4-byte SRTCP index plus the tag for RTCP.
 * 0 for an unknown profile. */
size_t vg_srtp_rtp_overhead(enum vg_srtp_profile p);
size_t vg_srtp_rtcp_overhead(enum vg_srtp_profile p);

/* Creates the session pair from keys (copied; the caller may wipe its copy).
 * max_ssrcs bounds how many distinct SSRCs each direction may carry: libsrtp2 keeps
 * one stream of state per SSRC, so a peer must not be able to grow it without limit.
 * 0 means 32. Returns 0 and *out (free with vg_srtp_free), or VG_EINVAL (unknown
 * profile, key lengths that do not match it), VG_ENOMEM, VG_EIO. */
int vg_srtp_new(const struct vg_srtp_keys *keys, size_t max_ssrcs, struct vg_srtp **out);

/* Frees the session; libsrtp2 zeroes the keys it derived. NULL is ignored. */
void vg_srtp_free(struct vg_srtp *s);

/* Protects the len-byte RTP (or RTCP) packet at buf in place; buf holds cap bytes.
 * Returns the protected length (len + overhead), or:
 *   VG_ENOSPC   cap - len is less than the profile's overhead (buf untouched), or
 *               the packet's SSRC is new and max_ssrcs are in use;
 *   VG_EINVAL   not an RTP (RTCP) packet: too short, not version 2, header longer
 *               than the packet, or len over VG_SRTP_MAX_PACKET;
 *   VG_SRTP_EREPLAY  this sequence number (SRTCP: index) was already protected:
 *               re-protecting it is refused, because under AES-GCM the same nonce
 *               on different bytes gives away the authentication key. Resend the
 *               protected bytes you already have instead;
 *   VG_EIO      libsrtp2 failed otherwise. */
int vg_srtp_protect_rtp(struct vg_srtp *s, uint8_t *buf, size_t len, size_t cap);
int vg_srtp_protect_rtcp(struct vg_srtp *s, uint8_t *buf, size_t len, size_t cap);

/* Verifies and decrypts the len-byte SRTP (SRTCP) packet at buf in place. Returns the
 * plaintext length, or VG_SRTP_EAUTH, VG_SRTP_EREPLAY, VG_EINVAL (malformed),
 * VG_ENOSPC (a new SSRC beyond max_ssrcs; the packet is not looked at further) or
 * VG_EIO. On any error buf's contents are unspecified and must be dropped. */
int vg_srtp_unprotect_rtp(struct vg_srtp *s, uint8_t *buf, size_t len);
int vg_srtp_unprotect_rtcp(struct vg_srtp *s, uint8_t *buf, size_t len);

enum vg_srtp_profile vg_srtp_profile(const struct vg_srtp *s);
const struct vg_srtp_stats *vg_srtp_stats(const struct vg_srtp *s);

#endif
