/* DTLS-SRTP: the handshake that authenticates a leg's peer and yields its SRTP keys.
 *
 * Each WebRTC leg runs one DTLS 1.2 handshake (RFC 5764, RFC 8842) over its ICE pair.
 * Certificates are self-signed: the trust comes from the signaling channel, which
 * carried the peer's certificate fingerprint in its SDP (a=fingerprint, RFC 8122).
 * A peer whose certificate does not match that fingerprint fails the leg before any
 * key is exported. Once connected, the endpoint exports the SRTP master keys
 * (RFC 5764 section 4.2, label "EXTRACTOR-dtls_srtp") for srtp.h.
 *
 * The endpoint is sans-IO. Datagrams the owner received go in through
 * vg_dtls_handle_datagram(); datagrams DTLS wants sent wait in a bounded queue until
 * the owner takes them with vg_dtls_pop_datagram(). Nothing is sent behind the
 * owner's back, which is what lets a server endpoint accept a ClientHello that
 * arrives before our own ICE checks have finished (the browser's checks may succeed
 * first): the ClientHello is answered at once, the answer waits in the queue, and the
 * owner drains it as soon as the pair is usable. Incoming datagrams are accepted in
 * any state; the ones that cannot be used are counted and refused with a code.
 *
 * Retransmission and the clock. OpenSSL 3.0 keeps the DTLS retransmission deadline
 * on its own (wall) clock and has no way to be handed ours. The endpoint therefore
 * chooses the durations (DTLS_set_timer_cb: 100 ms, doubling, at most 3 s by default;
 * OpenSSL gives up at the 13th expiry, about 27 s after the flight was first sent)
 * and, after every call, converts the time OpenSSL says remains into the owner's
 * clock: vg_dtls_next_timeout_us() is now_us + remaining. vg_dtls_handle_timeout()
 * lets OpenSSL look only once that deadline has passed, and OpenSSL then
 * retransmits only if its own clock agrees. When the two clocks disagree (a virtual
 * clock in a test, a step of the wall clock) a due call may do nothing; the
 * deadline is then recomputed from OpenSSL's remaining time, so the owner re-arms
 * and never spins. Tests of loss must let real time pass.
 *
 * Threads: a certificate may be shared by endpoints on any thread (OpenSSL's SSL_CTX
 * is thread-safe for that); an endpoint belongs to its case's owner thread. */
#ifndef VG_DTLS_H
#define VG_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srtp.h"

/* "sha-256 " followed by 32 colon-separated hex bytes, with its NUL. */
#define VG_DTLS_CERT_FINGERPRINT_LEN 104

/* The largest datagram DTLS will put in the queue. The handshake is cut into
 * records that fit 1200 bytes, which passes any path ICE chose (TURN included). */
#define VG_DTLS_MTU 1200

/* The shortest retransmission timer: OpenSSL counts a timer with under 15 ms left as
 * expired, so shorter durations would all expire at once. */
#define VG_DTLS_RTX_MIN_US 20000

/* Largest incoming datagram accepted: anything UDP can carry. */
#define VG_DTLS_MAX_DATAGRAM_IN 65535

enum vg_dtls_role {
    VG_DTLS_CLIENT, /* a=setup:active: sends the ClientHello */
    VG_DTLS_SERVER, /* a=setup:passive: answers it */
};

enum vg_dtls_state {
    VG_DTLS_NEW,         /* created; a server already accepts a ClientHello here */
    VG_DTLS_HANDSHAKING, /* started, or a server that received its first datagram */
    VG_DTLS_CONNECTED,   /* peer verified against its fingerprint, keys exported */
    VG_DTLS_FAILED,      /* see vg_dtls_failure(); an alert for the peer may be queued */
    VG_DTLS_CLOSED,      /* closed by us with vg_dtls_close() */
};

/* The SRTP protection profiles an endpoint offers (client) or accepts (server),
 * as bits for vg_dtls_config.srtp_profiles. When both are offered GCM is preferred:
 * it has the stronger tag and, with Debian's libsrtp2 (built on NSS), costs about a
 * fifth as much per packet (0.9 us against 4.7 us for 1200 bytes, measured here). */
enum {
    VG_DTLS_SRTP_GCM = 1u << 0,        /* SRTP_AEAD_AES_128_GCM */
    VG_DTLS_SRTP_CM_SHA1_80 = 1u << 1, /* SRTP_AES128_CM_SHA1_80 */
};

struct vg_dtls_stats {
    uint64_t datagrams_in;     /* handed to OpenSSL */
    uint64_t datagrams_out;    /* put in the queue for the owner */
    uint64_t retransmits;      /* timer expiries: each resends the last flight, except
                                * the one at which OpenSSL gives up */
    uint64_t in_refused;       /* not handed to OpenSSL: wrong state, empty, too big */
    uint64_t out_dropped;      /* lost because the queue was full (see handle_datagram) */
    uint64_t app_data_ignored; /* application data after the handshake: no data channel */
};

/* --- The certificate ------------------------------------------------------------- */

/* The gateway's DTLS identity: an ECDSA P-256 key and a self-signed X.509
 * certificate, made once per process and shown to every peer. */
struct vg_dtls_cert;

/* Generates the key and certificate. wall_us is the wall-clock time (vg_wall_us()),
 * used for the validity period: from a day before to a year after, since peers pin
 * the fingerprint and do not judge the dates. Returns 0 and *out, or VG_ENOMEM or
 * VG_EIO. The caller owns the certificate and frees it with vg_dtls_cert_free(); it
 * may do so while endpoints made from it still run, as OpenSSL keeps its own
 * references to what they use. */
int vg_dtls_cert_new(int64_t wall_us, struct vg_dtls_cert **out);

/* NULL is ignored. */
void vg_dtls_cert_free(struct vg_dtls_cert *cert);

/* The fingerprint for SDP, e.g. "sha-256 4A:AD:...:1F" (uppercase hex); owned by the
 * certificate. */
const char *vg_dtls_cert_fingerprint(const struct vg_dtls_cert *cert);

/* --- The endpoint ---------------------------------------------------------------- */

struct vg_dtls;

struct vg_dtls_config {
    enum vg_dtls_role role;
    const struct vg_dtls_cert *cert; /* not kept: see vg_dtls_cert_new() */
    /* The peer's a=fingerprint, split at its space: "sha-256" and "AB:CD:...".
     * Both compared case-insensitively; copied. */
    const char *remote_fp_alg;
    const char *remote_fp_hex;
    unsigned srtp_profiles; /* VG_DTLS_SRTP_* bits; 0 for both */
    /* Datagrams waiting for the owner; 0 for 16. OpenSSL packs a first flight into
     * one datagram but retransmits one datagram per handshake message (five or six
     * for a flight here), so hold at least two flights. */
    size_t max_queue;
    /* Retransmission timer: first duration and cap, doubling between; 0 for 100 ms
     * and 3 s. Durations under VG_DTLS_RTX_MIN_US, and a cap below the first
     * duration, are refused. */
    uint32_t rtx_initial_us, rtx_max_us;
};

/* Why a fingerprint from SDP cannot be used, or NULL if it can. Accepted algorithms
 * are sha-256, sha-384 and sha-512: WebRTC peers send sha-256 (RFC 8827), and older
 * hashes are refused rather than trusted. The text is static, for a log line or an
 * SDP rejection. */
const char *vg_dtls_fingerprint_problem(const char *alg, const char *hex);

/* Creates an endpoint in state NEW. Returns 0 and *out (free with vg_dtls_free()),
 * or VG_EINVAL (no certificate, bad role, profile bits or timer durations, or a
 * fingerprint that vg_dtls_fingerprint_problem() refuses), VG_ENOMEM, VG_EIO. */
int vg_dtls_new(const struct vg_dtls_config *cfg, struct vg_dtls **out);

/* Frees the endpoint, its queue and its keys, sending nothing (vg_dtls_close()
 * first for a close_notify). NULL is ignored. */
void vg_dtls_free(struct vg_dtls *ep);

/* The ICE pair is usable. A client sends its ClientHello (into the queue); a server
 * has nothing to send and only moves to HANDSHAKING if it was NEW. Calling it again
 * does nothing. Returns 0, VG_ESTATE (failed or closed), VG_EPROTO (failed now),
 * or VG_ENOSPC (as for vg_dtls_handle_datagram()). */
int vg_dtls_start(struct vg_dtls *ep, int64_t now_us);

/* Feeds one received datagram (one or more DTLS records; the bytes are copied).
 * Returns:
 *   0           processed (check vg_dtls_state(): this may have connected);
 *   VG_EPROTO   the endpoint failed on it (vg_dtls_failure() says why; an alert for
 *               the peer may be in the queue);
 *   VG_ENOSPC   processed, but the queue was full and a datagram DTLS wanted sent
 *               was dropped, as a congested network would: the handshake recovers
 *               by retransmission once the owner drains the queue;
 *   VG_ESTATE   refused: failed or closed, or a client not started yet (a server
 *               never speaks first, so that datagram is not DTLS for us);
 *   VG_EINVAL   refused: empty or over VG_DTLS_MAX_DATAGRAM_IN.
 * Bytes that do not parse as a DTLS record, and records cut short, are dropped
 * silently. A well-formed record with bad content (a broken handshake message, an
 * alert, early application data) fails the endpoint, as OpenSSL implements DTLS;
 * before the handshake nothing is authenticated, so the ICE 5-tuple is the guard. */
int vg_dtls_handle_datagram(struct vg_dtls *ep, const uint8_t *buf, size_t len, int64_t now_us);

/* Takes the oldest queued datagram into buf. Returns its length, 0 if the queue is
 * empty, or VG_ENOSPC if cap is smaller than it (it stays queued; VG_DTLS_MTU always
 * suffices). */
int vg_dtls_pop_datagram(struct vg_dtls *ep, uint8_t *buf, size_t cap);

/* How many datagrams wait in the queue. */
size_t vg_dtls_pending(const struct vg_dtls *ep);

/* When vg_dtls_handle_timeout() should next be called, on the owner's clock, or -1
 * when no retransmission timer runs. Valid after every call that takes now_us. */
int64_t vg_dtls_next_timeout_us(const struct vg_dtls *ep);

/* Retransmits the last flight if its timer expired (see the clock note above).
 * Returns 0 (whether or not anything was due), VG_EPROTO (OpenSSL gave up after
 * too many timeouts: FAILED), or VG_ENOSPC (as for vg_dtls_handle_datagram()). */
int vg_dtls_handle_timeout(struct vg_dtls *ep, int64_t now_us);

/* Ends the endpoint: a connected one queues a close_notify for the owner to send.
 * State becomes CLOSED and the keys are wiped. Returns 0, or VG_ESTATE if it had
 * failed. */
int vg_dtls_close(struct vg_dtls *ep);

/* Frees OpenSSL's state of a connected endpoint (~70 KiB: the SSL object, its record
 * buffers and the handshake buffer DTLS keeps for retransmission), keeping the state
 * CONNECTED and the SRTP keys. Call it once the peer has sent authenticated SRTP or
 * SRTCP: that proves both sides finished the handshake, so no flight will need
 * resending. After it, datagrams are refused (VG_ESTATE; a peer's close_notify goes
 * unseen, ICE consent notices a peer that left), vg_dtls_close() sends nothing and
 * vg_dtls_export() fails. Returns 0, or VG_ESTATE unless CONNECTED. */
int vg_dtls_release(struct vg_dtls *ep);
bool vg_dtls_released(const struct vg_dtls *ep);

enum vg_dtls_state vg_dtls_state(const struct vg_dtls *ep);
const char *vg_dtls_state_name(enum vg_dtls_state state);

/* Why the endpoint failed, or NULL unless FAILED: "fingerprint mismatch",
 * "closed by peer", "no SRTP profile negotiated", "handshake error: <OpenSSL's
 * reason>", "handshake timed out: <reason>" or "DTLS error: <reason>" (after the
 * handshake). Owned by the endpoint. */
const char *vg_dtls_failure(const struct vg_dtls *ep);

/* The negotiated profile and this side's SRTP keys (RFC 5764 section 4.2: the
 * client's write key is the client's local key). Returns 0, or VG_ESTATE unless
 * CONNECTED: nothing is ever exported from an unverified peer. */
int vg_dtls_srtp_keys(const struct vg_dtls *ep, struct vg_srtp_keys *out);

/* RFC 5705 keying material exporter with an empty context, for other uses of the
 * same handshake and for checking the SRTP key layout. Returns 0, VG_ESTATE unless
 * CONNECTED, VG_EINVAL or VG_EIO. */
int vg_dtls_export(const struct vg_dtls *ep, const char *label, uint8_t *out, size_t len);

const struct vg_dtls_stats *vg_dtls_stats(const struct vg_dtls *ep);

#endif
