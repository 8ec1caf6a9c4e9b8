/* Datagrams from a hostile peer into a DTLS endpoint, whose output is drained after
 * each one. It must never crash, leak or connect to a peer it cannot verify.
 *
 * Input: one byte choosing the endpoint (bit 0 clear: a server, as when a browser's
 * ClientHello arrives; set: a started client), then datagrams, each as a 2-byte
 * big-endian length and that many bytes (a short last one takes what is left).
 *
 * The expected fingerprints are those of the certificates in the handshake the
 * corpus was captured from, so a captured flight gets past the fingerprint check
 * and on into key exchange, where the fresh randoms of this run make it fail. */
#include "dtls.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus' client certificate (what our server expects) and server certificate
 * (what our client expects). */
#define SEED_CLIENT_FP                                                                             \
    "EF:1D:FC:2C:F3:44:94:25:A9:37:3E:9A:7B:2F:72:C7:"                                             \
    "46:2B:5A:89:4E:4C:48:F5:09:A2:16:8B:85:DB:C5:62"
#define SEED_SERVER_FP                                                                             \
    "7C:40:66:64:E1:A3:CC:44:96:3F:95:73:D5:67:8A:9D:"                                             \
    "79:8E:CC:53:A7:F0:DA:7A:9B:A2:5D:08:4F:8E:B6:7C"

static struct vg_dtls_cert *g_cert; /* one per process, as in the gateway */

static struct vg_dtls *make_endpoint(bool client)
{
    if (!g_cert && vg_dtls_cert_new(1700000000LL * 1000000, &g_cert))
        abort();
    struct vg_dtls_config cfg = {
        .role = client ? VG_DTLS_CLIENT : VG_DTLS_SERVER,
        .cert = g_cert,
        .remote_fp_alg = "sha-256",
        .remote_fp_hex = client ? SEED_SERVER_FP : SEED_CLIENT_FP,
        .max_queue = 8,
    };
    struct vg_dtls *ep = NULL;
    if (vg_dtls_new(&cfg, &ep))
        abort();
    return ep;
}

static void drain(struct vg_dtls *ep)
{
    uint8_t out[VG_DTLS_MTU];
    int n;
    while ((n = vg_dtls_pop_datagram(ep, out, sizeof out)) > 0)
        ;
    if (n != 0 || vg_dtls_pending(ep) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool client = data[0] & 1;
    struct vg_dtls *ep = make_endpoint(client);
    int64_t now = 1000;
    if (client)
        vg_dtls_start(ep, now);
    drain(ep);
    size_t at = 1;
    while (at < size) {
        size_t len = size - at >= 2 ? (size_t)data[at] << 8 | data[at + 1] : 0;
        at += 2;
        if (at > size || len > size - at)
            len = at > size ? 0 : size - at;
        /* An exact-size heap copy, so AddressSanitizer sees reads past the datagram. */
        uint8_t *dgram = malloc(len ? len : 1);
        memcpy(dgram, data + at, len);
        vg_dtls_handle_datagram(ep, dgram, len, now);
        free(dgram);
        at += len;
        now += 1000;
        drain(ep);
    }
    /* A peer we cannot verify never yields keys. */
    struct vg_srtp_keys keys;
    if (vg_dtls_state(ep) == VG_DTLS_CONNECTED || vg_dtls_srtp_keys(ep, &keys) != VG_ESTATE)
        abort();
    vg_dtls_handle_timeout(ep, now + 10000000);
    vg_dtls_close(ep);
    drain(ep);
    vg_dtls_free(ep);
    return 0;
}
