/* Two DTLS endpoints, client and server, handshaking in one process over in-memory
 * datagram queues. Handshakes without loss run on a virtual clock; the loss cases
 * let real time pass, because OpenSSL's retransmission timer reads its own clock
 * (see dtls.h). */
#include "dtls.h"
#include "vt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

static struct vg_dtls_cert *g_cert_client, *g_cert_server, *g_cert_other;

static int64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until(int64_t deadline_us)
{
    int64_t left = deadline_us - real_now_us();
    if (left > 0) {
        struct timespec ts = {left / 1000000, (long)(left % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Waits for the endpoint's retransmission deadline and handles it, until the timer
 * has really fired: our deadline is read a little before OpenSSL reads its own
 * clock, so a first call can be a few microseconds early and do nothing (by design:
 * it re-arms). Returns the result of the call that fired. */
static int fire_timer(struct vg_dtls *ep)
{
    uint64_t before = vg_dtls_stats(ep)->retransmits;
    int rc = 0;
    for (int i = 0; i < 5 && vg_dtls_stats(ep)->retransmits == before; i++) {
        sleep_until(vg_dtls_next_timeout_us(ep));
        rc = vg_dtls_handle_timeout(ep, real_now_us());
    }
    return rc;
}

/* Splits a cert's "sha-256 AB:CD:..." into the two SDP fields. */
struct fp {
    char alg[16];
    char hex[VG_DTLS_CERT_FINGERPRINT_LEN];
};

static struct fp fp_of(const struct vg_dtls_cert *c)
{
    struct fp f;
    const char *s = vg_dtls_cert_fingerprint(c);
    const char *sp = strchr(s, ' ');
    snprintf(f.alg, sizeof f.alg, "%.*s", (int)(sp - s), s);
    snprintf(f.hex, sizeof f.hex, "%s", sp + 1);
    return f;
}

static struct vg_dtls *endpoint(enum vg_dtls_role role, const struct vg_dtls_cert *own,
                                const struct vg_dtls_cert *expected_peer, unsigned profiles,
                                size_t max_queue)
{
    struct fp f = fp_of(expected_peer);
    struct vg_dtls_config cfg = {.role = role,
                                 .cert = own,
                                 .remote_fp_alg = f.alg,
                                 .remote_fp_hex = f.hex,
                                 .srtp_profiles = profiles,
                                 .max_queue = max_queue};
    struct vg_dtls *ep = NULL;
    int rc = vg_dtls_new(&cfg, &ep);
    VT_EQ_INT(rc, 0);
    if (!ep)
        exit(1);
    return ep;
}

/* Moves every queued datagram from one endpoint to the other, dropping the first
 * `drop` of them. Returns how many were delivered. */
static int pump(struct vg_dtls *from, struct vg_dtls *to, int64_t now, int drop)
{
    uint8_t buf[VG_DTLS_MTU];
    int n, moved = 0;
    while ((n = vg_dtls_pop_datagram(from, buf, sizeof buf)) > 0) {
        if (drop > 0) {
            drop--;
            continue;
        }
        vg_dtls_handle_datagram(to, buf, (size_t)n, now);
        moved++;
    }
    VT_EQ_INT(n, 0);
    return moved;
}

/* Runs both directions until nothing moves. Returns the number of rounds. */
static int settle(struct vg_dtls *c, struct vg_dtls *s, int64_t now)
{
    int rounds = 0;
    while (rounds < 20) {
        int moved = pump(c, s, now, 0) + pump(s, c, now, 0);
        if (!moved)
            break;
        rounds++;
    }
    return rounds;
}

static void check_mirrored(struct vg_dtls *c, struct vg_dtls *s, enum vg_srtp_profile want,
                           size_t salt_len)
{
    struct vg_srtp_keys kc, ks;
    VT_EQ_INT(vg_dtls_srtp_keys(c, &kc), 0);
    VT_EQ_INT(vg_dtls_srtp_keys(s, &ks), 0);
    VT_EQ_INT(kc.profile, want);
    VT_EQ_INT(ks.profile, want);
    VT_EQ_INT(kc.key_len, 16);
    VT_EQ_INT(kc.salt_len, salt_len);
    VT_EQ_INT(ks.salt_len, salt_len);
    size_t m = 16 + salt_len;
    VT_CHECK(memcmp(kc.local, ks.remote, m) == 0);
    VT_CHECK(memcmp(kc.remote, ks.local, m) == 0);
    VT_CHECK(memcmp(kc.local, kc.remote, m) != 0);

    /* RFC 5764 section 4.2 layout, checked against the raw exporter output:
     * client key | server key | client salt | server salt. */
    uint8_t raw[2 * VG_SRTP_MAX_MASTER_LEN], raw_s[sizeof raw];
    VT_EQ_INT(vg_dtls_export(c, "EXTRACTOR-dtls_srtp", raw, 2 * m), 0);
    VT_EQ_INT(vg_dtls_export(s, "EXTRACTOR-dtls_srtp", raw_s, 2 * m), 0);
    VT_CHECK(memcmp(raw, raw_s, 2 * m) == 0);
    VT_CHECK(memcmp(kc.local, raw, 16) == 0);
    VT_CHECK(memcmp(kc.local + 16, raw + 32, salt_len) == 0);
    VT_CHECK(memcmp(ks.local, raw + 16, 16) == 0);
    VT_CHECK(memcmp(ks.local + 16, raw + 32 + salt_len, salt_len) == 0);
}

static void test_gcm_preferred(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_NEW);
    VT_EQ_INT(vg_dtls_next_timeout_us(c), -1);
    VT_EQ_INT(vg_dtls_start(s, 1000), 0); /* a server has nothing to say */
    VT_EQ_INT(vg_dtls_pending(s), 0);
    VT_EQ_INT(vg_dtls_start(c, 1000), 0);
    VT_EQ_INT(vg_dtls_pending(c), 1); /* the ClientHello */
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_HANDSHAKING);
    /* Two round trips (ClientHello, server flight; client flight, Finished), each
     * flight packed into one datagram. */
    VT_EQ_INT(settle(c, s, 2000), 2);
    VT_EQ_STR(vg_dtls_state_name(vg_dtls_state(c)), "connected");
    VT_EQ_STR(vg_dtls_state_name(vg_dtls_state(s)), "connected");
    VT_CHECK(vg_dtls_failure(c) == NULL);
    check_mirrored(c, s, VG_SRTP_AEAD_AES_128_GCM, 12);
    /* Every datagram one side queued, the other received; nothing was lost. */
    const struct vg_dtls_stats *sc = vg_dtls_stats(c), *ss = vg_dtls_stats(s);
    VT_EQ_INT(sc->datagrams_out, 2);
    VT_EQ_INT(ss->datagrams_out, 2);
    VT_EQ_INT(sc->datagrams_in, 2);
    VT_EQ_INT(ss->datagrams_in, 2);
    VT_EQ_INT(sc->retransmits + ss->retransmits, 0);
    VT_EQ_INT(sc->out_dropped + ss->out_dropped + sc->in_refused + ss->in_refused, 0);
    VT_EQ_INT(vg_dtls_next_timeout_us(c), -1);
    VT_EQ_INT(vg_dtls_start(c, 3000), 0); /* again: nothing */
    VT_EQ_INT(vg_dtls_pending(c), 0);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* A peer that offers only AES-CM gets AES-CM, whichever side it is. */
static void test_cm_fallback(void)
{
    static const struct {
        unsigned client, server;
    } v[] = {{VG_DTLS_SRTP_CM_SHA1_80, 0}, {0, VG_DTLS_SRTP_CM_SHA1_80}};
    for (size_t i = 0; i < 2; i++) {
        struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, v[i].client, 0);
        struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, v[i].server, 0);
        vg_dtls_start(c, 0);
        settle(c, s, 0);
        VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
        VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
        check_mirrored(c, s, VG_SRTP_AES128_CM_SHA1_80, 14);
        vg_dtls_free(c);
        vg_dtls_free(s);
    }
}

static void test_no_common_profile(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, VG_DTLS_SRTP_GCM, 0);
    struct vg_dtls *s =
        endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, VG_DTLS_SRTP_CM_SHA1_80, 0);
    vg_dtls_start(c, 0);
    settle(c, s, 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_FAILED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_FAILED);
    VT_EQ_STR(vg_dtls_failure(c), "no SRTP profile negotiated");
    VT_EQ_STR(vg_dtls_failure(s), "no SRTP profile negotiated");
    struct vg_srtp_keys k;
    VT_EQ_INT(vg_dtls_srtp_keys(c, &k), VG_ESTATE);
    VT_EQ_INT(vg_dtls_srtp_keys(s, &k), VG_ESTATE);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

static void check_nothing_exported(struct vg_dtls *ep)
{
    struct vg_srtp_keys k, untouched;
    memset(&k, 0xa5, sizeof k);
    memset(&untouched, 0xa5, sizeof untouched);
    uint8_t raw[8] = {0};
    VT_EQ_INT(vg_dtls_srtp_keys(ep, &k), VG_ESTATE);
    VT_CHECK(memcmp(&k, &untouched, sizeof k) == 0);
    VT_EQ_INT(vg_dtls_export(ep, "EXTRACTOR-dtls_srtp", raw, sizeof raw), VG_ESTATE);
}

/* The side that expects another certificate fails with "fingerprint mismatch" and
 * exports nothing; its alert fails the other side too. Tried both ways round. */
static void test_fingerprint_mismatch(void)
{
    for (int client_checks = 0; client_checks < 2; client_checks++) {
        struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client,
                                     client_checks ? g_cert_other : g_cert_server, 0, 0);
        struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server,
                                     client_checks ? g_cert_client : g_cert_other, 0, 0);
        vg_dtls_start(c, 0);
        settle(c, s, 0);
        struct vg_dtls *checker = client_checks ? c : s, *other = client_checks ? s : c;
        VT_EQ_INT(vg_dtls_state(checker), VG_DTLS_FAILED);
        VT_EQ_STR(vg_dtls_failure(checker), "fingerprint mismatch");
        VT_EQ_INT(vg_dtls_state(other), VG_DTLS_FAILED);
        VT_EQ_STR(vg_dtls_failure(other), "handshake error: sslv3 alert bad certificate");
        check_nothing_exported(c);
        check_nothing_exported(s);
        /* A failed endpoint refuses further input. */
        uint8_t b[1] = {22};
        VT_EQ_INT(vg_dtls_handle_datagram(c, b, 1, 0), VG_ESTATE);
        vg_dtls_free(c);
        vg_dtls_free(s);
    }
}

/* SDP fingerprints are compared case-insensitively, algorithm name included. */
static void test_fingerprint_case(void)
{
    struct fp f = fp_of(g_cert_server);
    for (char *p = f.hex; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    struct vg_dtls_config cc = {.role = VG_DTLS_CLIENT,
                                .cert = g_cert_client,
                                .remote_fp_alg = "SHA-256",
                                .remote_fp_hex = f.hex};
    struct vg_dtls *c = NULL;
    VT_EQ_INT(vg_dtls_new(&cc, &c), 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    vg_dtls_start(c, 0);
    settle(c, s, 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* The browser's ICE checks succeed first and its ClientHello reaches the server
 * endpoint before our own checks are done: it is answered at once, the answer waits
 * in the queue, and the handshake completes once the owner drains it. */
static void test_early_client_hello(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    uint8_t hello[VG_DTLS_MTU];
    vg_dtls_start(c, 0);
    int n = vg_dtls_pop_datagram(c, hello, sizeof hello);
    VT_CHECK(n > 100);
    VT_EQ_INT(hello[0], 22); /* a handshake record */
    /* The server was never started; its owner is still checking ICE. */
    VT_EQ_INT(vg_dtls_handle_datagram(s, hello, (size_t)n, 10), 0);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_HANDSHAKING);
    size_t answer = vg_dtls_pending(s);
    VT_CHECK(answer >= 1);
    VT_CHECK(vg_dtls_next_timeout_us(s) > 10);
    /* ICE completes; the owner starts the server (nothing more to send) and drains. */
    VT_EQ_INT(vg_dtls_start(s, 20), 0);
    VT_EQ_INT(vg_dtls_pending(s), answer);
    settle(c, s, 30);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    check_mirrored(c, s, VG_SRTP_AEAD_AES_128_GCM, 12);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* A client that has not started has nothing to receive: a server never speaks first. */
static void test_client_before_start(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    uint8_t b[20] = {22, 0xfe, 0xfd};
    VT_EQ_INT(vg_dtls_handle_datagram(c, b, sizeof b, 0), VG_ESTATE);
    VT_EQ_INT(vg_dtls_handle_datagram(c, b, 0, 0), VG_EINVAL);
    VT_EQ_INT(vg_dtls_stats(c)->in_refused, 2);
    VT_EQ_INT(vg_dtls_stats(c)->datagrams_in, 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_NEW);
    vg_dtls_free(c);
}

/* The ClientHello is lost. Nothing happens before the deadline; after it the
 * ClientHello is resent, the next deadline is twice as far, and the handshake
 * completes. */
static void test_first_flight_lost(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    int64_t t0 = real_now_us();
    vg_dtls_start(c, t0);
    int64_t due = vg_dtls_next_timeout_us(c);
    VT_CHECK(due > t0 + 50000 && due <= t0 + 100000); /* 100 ms, as OpenSSL counts it */
    VT_EQ_INT(pump(c, s, t0, 1), 0);
    VT_EQ_INT(vg_dtls_handle_timeout(c, due - 1), 0); /* not yet */
    VT_EQ_INT(vg_dtls_pending(c), 0);
    VT_EQ_INT(vg_dtls_next_timeout_us(c), due);
    VT_EQ_INT(fire_timer(c), 0);
    int64_t t1 = real_now_us();
    VT_EQ_INT(vg_dtls_stats(c)->retransmits, 1);
    VT_EQ_INT(vg_dtls_pending(c), 1);
    int64_t next = vg_dtls_next_timeout_us(c);
    VT_CHECK(next > t1 + 150000 && next <= t1 + 200000); /* doubled */
    settle(c, s, t1);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_stats(s)->datagrams_in, vg_dtls_stats(c)->datagrams_out - 1);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* A peer that never answers: OpenSSL gives up at the 13th expiry of the timer and
 * the endpoint fails. The shortest durations allowed (20 ms, not doubling) keep it
 * quick. */
static void test_peer_silent(void)
{
    struct fp f = fp_of(g_cert_server);
    struct vg_dtls_config cfg = {.role = VG_DTLS_CLIENT,
                                 .cert = g_cert_client,
                                 .remote_fp_alg = f.alg,
                                 .remote_fp_hex = f.hex,
                                 .rtx_initial_us = VG_DTLS_RTX_MIN_US,
                                 .rtx_max_us = VG_DTLS_RTX_MIN_US};
    struct vg_dtls *c = NULL;
    VT_EQ_INT(vg_dtls_new(&cfg, &c), 0);
    vg_dtls_start(c, real_now_us());
    uint8_t b[VG_DTLS_MTU];
    int rc = 0;
    for (int i = 0; i < 40 && vg_dtls_state(c) == VG_DTLS_HANDSHAKING; i++) {
        while (vg_dtls_pop_datagram(c, b, sizeof b) > 0)
            ; /* lost */
        rc = fire_timer(c);
    }
    VT_EQ_INT(rc, VG_EPROTO);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_FAILED);
    VT_EQ_STR(vg_dtls_failure(c), "handshake timed out: read timeout expired");
    VT_EQ_INT(vg_dtls_stats(c)->retransmits, 13);
    VT_EQ_INT(vg_dtls_stats(c)->datagrams_out, 13); /* the ClientHello and 12 resends */
    VT_EQ_INT(vg_dtls_next_timeout_us(c), -1);
    VT_EQ_INT(vg_dtls_handle_timeout(c, real_now_us() + 10000000), 0);
    vg_dtls_free(c);
    /* A cap below the first duration is refused, and so is a duration that OpenSSL
     * would count as expired at once. */
    cfg.rtx_initial_us = 40000;
    VT_EQ_INT(vg_dtls_new(&cfg, &c), VG_EINVAL);
    cfg.rtx_initial_us = cfg.rtx_max_us = VG_DTLS_RTX_MIN_US - 1;
    VT_EQ_INT(vg_dtls_new(&cfg, &c), VG_EINVAL);
    VT_CHECK(c == NULL);
}

/* The server's last flight (ChangeCipherSpec, Finished) is lost: the server is
 * connected, the client is not. The client's retransmission reaches the connected
 * server, which answers with its last flight again. */
static void test_last_flight_lost(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    int64_t t0 = real_now_us();
    vg_dtls_start(c, t0);
    pump(c, s, t0, 0); /* ClientHello */
    pump(s, c, t0, 0); /* server flight */
    pump(c, s, t0, 0); /* client flight: the server connects */
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    VT_CHECK(vg_dtls_pending(s) >= 1);
    pump(s, c, t0, 100); /* lost */
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_HANDSHAKING);
    VT_EQ_INT(fire_timer(c), 0);
    int64_t t1 = real_now_us();
    VT_EQ_INT(vg_dtls_stats(c)->retransmits, 1);
    settle(c, s, t1);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    check_mirrored(c, s, VG_SRTP_AEAD_AES_128_GCM, 12);
    VT_EQ_INT(vg_dtls_next_timeout_us(c), -1);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* The early-ClientHello server whose owner fires its timer but cannot send yet.
 * OpenSSL packs a first flight into one datagram but retransmits it as one datagram
 * per handshake message (five for the server's flight), so a queue of five
 * overflows on the first retransmission: reported, counted, and harmless, because
 * the complete first copy is still queued. */
static void test_queue_full(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 5);
    int64_t t0 = real_now_us();
    vg_dtls_start(c, t0);
    uint8_t hello[VG_DTLS_MTU], small[8];
    VT_EQ_INT(vg_dtls_pop_datagram(c, small, sizeof small), VG_ENOSPC); /* stays queued */
    int n = vg_dtls_pop_datagram(c, hello, sizeof hello);
    VT_EQ_INT(vg_dtls_handle_datagram(s, hello, (size_t)n, t0), 0);
    VT_EQ_INT(vg_dtls_pending(s), 1);
    VT_EQ_INT(fire_timer(s), VG_ENOSPC);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_HANDSHAKING);
    VT_EQ_INT(vg_dtls_pending(s), 5);
    const struct vg_dtls_stats *st = vg_dtls_stats(s);
    VT_EQ_INT(st->retransmits, 1);
    VT_EQ_INT(st->datagrams_out, 5);
    VT_EQ_INT(st->out_dropped, 1);
    /* The pair is usable: the owner drains, the handshake completes. */
    settle(c, s, real_now_us());
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* What arrives instead of a ClientHello, each on a fresh server. Bytes that do not
 * parse as a DTLS record, and records cut short, are dropped without a word, and the
 * real ClientHello after them is answered. A well-formed record with bad content
 * fails the endpoint, as OpenSSL implements DTLS (epoch 0 is unauthenticated: ICE's
 * 5-tuple is the only guard). A record that reuses the ClientHello's record number
 * makes the real one look like a replay until the client retransmits it. */
static void test_garbage(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    uint8_t hello[VG_DTLS_MTU];
    vg_dtls_start(c, 0);
    int n = vg_dtls_pop_datagram(c, hello, sizeof hello);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    /* DTLS 1.2 record headers, epoch 0, record number 0. */
    uint8_t bad_hs[40] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 27};
    memset(bad_hs + 13, 0xee, sizeof bad_hs - 13);
    const uint8_t ccs[14] = {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    const uint8_t alert[15] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40};
    const uint8_t app[20] = {23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    const struct {
        const uint8_t *b;
        size_t len;
        int rc;
        const char *failure; /* NULL: still handshaking */
        size_t pending;      /* queued after the vector */
        size_t answered;     /* queued after the real ClientHello follows */
    } v[] = {
        {junk, sizeof junk, 0, NULL, 0, 1},
        {junk, 1, 0, NULL, 0, 1},
        {hello, 13, 0, NULL, 0, 1}, /* header only */
        {hello, 25, 0, NULL, 0, 1},
        {hello, (size_t)n / 2, 0, NULL, 0, 1},
        {hello, (size_t)n - 1, 0, NULL, 0, 1},
        {ccs, sizeof ccs, 0, NULL, 0, 0},
        {bad_hs, sizeof bad_hs, VG_EPROTO, "handshake error: bad length", 1, 1},
        {alert, sizeof alert, VG_EPROTO, "handshake error: sslv3 alert handshake failure", 0, 0},
        {app, sizeof app, VG_EPROTO, "handshake error: unexpected record", 1, 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
        int rc = vg_dtls_handle_datagram(s, v[i].b, v[i].len, 0);
        if (rc != v[i].rc)
            fprintf(stderr, "garbage vector %zu: %s\n", i, vg_strerror(rc));
        VT_EQ_INT(rc, v[i].rc);
        VT_EQ_INT(vg_dtls_state(s), v[i].failure ? VG_DTLS_FAILED : VG_DTLS_HANDSHAKING);
        if (v[i].failure)
            VT_EQ_STR(vg_dtls_failure(s), v[i].failure);
        VT_EQ_INT(vg_dtls_pending(s), v[i].pending);
        VT_EQ_INT(vg_dtls_stats(s)->datagrams_in, 1);
        rc = vg_dtls_handle_datagram(s, hello, (size_t)n, 0);
        VT_EQ_INT(rc, v[i].failure ? VG_ESTATE : 0);
        VT_EQ_INT(vg_dtls_pending(s), v[i].answered);
        vg_dtls_free(s);
    }
    vg_dtls_free(c);
}

/* Closing queues a close_notify; the peer reads it as "closed by peer". */
static void test_close(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    vg_dtls_start(c, 0);
    settle(c, s, 0);
    VT_EQ_INT(vg_dtls_close(c), 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CLOSED);
    VT_EQ_INT(vg_dtls_pending(c), 1);
    struct vg_srtp_keys k;
    VT_EQ_INT(vg_dtls_srtp_keys(c, &k), VG_ESTATE);
    uint8_t b[VG_DTLS_MTU];
    int n = vg_dtls_pop_datagram(c, b, sizeof b);
    VT_EQ_INT(b[0], 21); /* an alert record */
    VT_EQ_INT(vg_dtls_handle_datagram(s, b, (size_t)n, 0), VG_EPROTO);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_FAILED);
    VT_EQ_STR(vg_dtls_failure(s), "closed by peer");
    VT_EQ_INT(vg_dtls_close(s), VG_ESTATE);
    VT_EQ_INT(vg_dtls_close(c), 0);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

/* Released after the handshake: the keys stay, OpenSSL's state goes, and what the
 * peer sends on DTLS is refused instead of handled. */
static void test_release(void)
{
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, g_cert_client, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, g_cert_client, 0, 0);
    VT_EQ_INT(vg_dtls_release(c), VG_ESTATE); /* not connected yet */
    vg_dtls_start(c, 0);
    settle(c, s, 0);
    struct vg_srtp_keys before, after;
    VT_EQ_INT(vg_dtls_srtp_keys(c, &before), 0);
    VT_CHECK(!vg_dtls_released(c));
    VT_EQ_INT(vg_dtls_release(c), 0);
    VT_CHECK(vg_dtls_released(c));
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_srtp_keys(c, &after), 0);
    VT_CHECK(memcmp(&before, &after, sizeof before) == 0);
    VT_EQ_INT(vg_dtls_next_timeout_us(c), -1);
    uint8_t raw[60];
    VT_EQ_INT(vg_dtls_export(c, "EXTRACTOR-dtls_srtp", raw, sizeof raw), VG_ESTATE);
    /* The peer's close_notify is refused, not processed. */
    VT_EQ_INT(vg_dtls_close(s), 0);
    uint8_t b[VG_DTLS_MTU];
    int n = vg_dtls_pop_datagram(s, b, sizeof b);
    VT_CHECK(n > 0);
    uint64_t refused = vg_dtls_stats(c)->in_refused;
    VT_EQ_INT(vg_dtls_handle_datagram(c, b, (size_t)n, 0), VG_ESTATE);
    VT_EQ_INT(vg_dtls_stats(c)->in_refused, refused + 1);
    VT_EQ_INT(vg_dtls_handle_timeout(c, 1000000000), 0);
    VT_EQ_INT(vg_dtls_release(c), 0); /* again: nothing left to free */
    VT_EQ_INT(vg_dtls_close(c), 0);   /* sends nothing */
    VT_EQ_INT(vg_dtls_pending(c), 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CLOSED);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

static void test_fingerprint_refused(void)
{
    struct fp f = fp_of(g_cert_server);
    static const char *unsupported =
        "unsupported fingerprint algorithm (sha-256, sha-384 or sha-512 required)";
    static const char *malformed =
        "malformed fingerprint (colon-separated hex bytes of the digest's length)";
    char cut[VG_DTLS_CERT_FINGERPRINT_LEN], extra[VG_DTLS_CERT_FINGERPRINT_LEN + 4],
        nocolon[VG_DTLS_CERT_FINGERPRINT_LEN], badhex[VG_DTLS_CERT_FINGERPRINT_LEN];
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(f.hex) - 3, f.hex);
    snprintf(extra, sizeof extra, "%s:00", f.hex);
    snprintf(nocolon, sizeof nocolon, "%s", f.hex);
    nocolon[2] = '-';
    snprintf(badhex, sizeof badhex, "%s", f.hex);
    badhex[1] = 'G';
    const struct {
        const char *alg, *hex, *want;
    } v[] = {
        {"md5", "AB:CD", unsupported},
        {"sha-1", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", unsupported},
        {"sha256", f.hex, unsupported},
        {"", f.hex, unsupported},
        {NULL, f.hex, "no fingerprint"},
        {"sha-256", NULL, "no fingerprint"},
        {"sha-256", "", malformed},
        {"sha-256", cut, malformed},
        {"sha-256", extra, malformed},
        {"sha-256", nocolon, malformed},
        {"sha-256", badhex, malformed},
        {"sha-384", f.hex, malformed}, /* a sha-256 length under another name */
        {"sha-256", f.hex, NULL},
        {"Sha-256", f.hex, NULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *got = vg_dtls_fingerprint_problem(v[i].alg, v[i].hex);
        if (v[i].want)
            VT_EQ_STR(got, v[i].want);
        else
            VT_CHECK(got == NULL);
        struct vg_dtls_config cfg = {.role = VG_DTLS_SERVER,
                                     .cert = g_cert_server,
                                     .remote_fp_alg = v[i].alg,
                                     .remote_fp_hex = v[i].hex};
        struct vg_dtls *ep = (struct vg_dtls *)&cfg; /* must be reset to NULL */
        int rc = vg_dtls_new(&cfg, &ep);
        VT_EQ_INT(rc, v[i].want ? VG_EINVAL : 0);
        VT_CHECK(v[i].want ? ep == NULL : ep != NULL);
        vg_dtls_free(ep);
    }
    /* Other configuration errors. */
    struct vg_dtls_config bad = {
        .role = VG_DTLS_SERVER, .cert = NULL, .remote_fp_alg = f.alg, .remote_fp_hex = f.hex};
    struct vg_dtls *ep = NULL;
    VT_EQ_INT(vg_dtls_new(&bad, &ep), VG_EINVAL);
    bad.cert = g_cert_server;
    bad.srtp_profiles = 4;
    VT_EQ_INT(vg_dtls_new(&bad, &ep), VG_EINVAL);
    VT_CHECK(ep == NULL);
}

static void test_cert(void)
{
    const char *fp = vg_dtls_cert_fingerprint(g_cert_client);
    VT_EQ_INT(strlen(fp), VG_DTLS_CERT_FINGERPRINT_LEN - 1);
    VT_CHECK(strncmp(fp, "sha-256 ", 8) == 0);
    for (size_t i = 8; fp[i]; i++) {
        bool colon_at = (i - 8) % 3 == 2;
        VT_CHECK(colon_at ? fp[i] == ':'
                          : (isdigit((unsigned char)fp[i]) || (fp[i] >= 'A' && fp[i] <= 'F')));
    }
    /* Each certificate is its own key. */
    VT_CHECK(strcmp(fp, vg_dtls_cert_fingerprint(g_cert_server)) != 0);
}

/* A certificate freed while its endpoints run: OpenSSL holds its own references. */
static void test_cert_freed_early(void)
{
    struct vg_dtls_cert *temp = NULL;
    VT_EQ_INT(vg_dtls_cert_new((int64_t)time(NULL) * 1000000, &temp), 0);
    struct vg_dtls *c = endpoint(VG_DTLS_CLIENT, temp, g_cert_server, 0, 0);
    struct vg_dtls *s = endpoint(VG_DTLS_SERVER, g_cert_server, temp, 0, 0);
    vg_dtls_cert_free(temp);
    vg_dtls_start(c, 0);
    settle(c, s, 0);
    VT_EQ_INT(vg_dtls_state(c), VG_DTLS_CONNECTED);
    VT_EQ_INT(vg_dtls_state(s), VG_DTLS_CONNECTED);
    vg_dtls_free(c);
    vg_dtls_free(s);
}

int main(void)
{
    int64_t wall = (int64_t)time(NULL) * 1000000;
    if (vg_dtls_cert_new(wall, &g_cert_client) || vg_dtls_cert_new(wall, &g_cert_server) ||
        vg_dtls_cert_new(wall, &g_cert_other)) {
        fprintf(stderr, "cannot make certificates\n");
        return 1;
    }
    test_cert();
    test_gcm_preferred();
    test_cm_fallback();
    test_no_common_profile();
    test_fingerprint_mismatch();
    test_fingerprint_case();
    test_early_client_hello();
    test_client_before_start();
    test_garbage();
    test_close();
    test_release();
    test_fingerprint_refused();
    test_cert_freed_early();
    test_first_flight_lost();
    test_last_flight_lost();
    test_peer_silent();
    test_queue_full();
    vg_dtls_cert_free(g_cert_client);
    vg_dtls_cert_free(g_cert_server);
    vg_dtls_cert_free(g_cert_other);
    return vt_done("dtls");
}
