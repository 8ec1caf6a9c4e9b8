/* The gateway's TLS identity for HTTPS and WSS.
 *
 * A configured certificate and key are checked (readable, PEM, matching) before
 * the server starts. With none configured, an ECDSA P-256 key and a self-signed
 * certificate (CN "vigil", SAN localhost, 127.0.0.1, ::1 and the listen address)
 * are generated into DATA/tls at first start and reused afterwards; the key file
 * is created 0600 and never overwritten. Browsers will warn about a self-signed
 * certificate: a centre configures its own. */
#ifndef VG_TLSCERT_H
#define VG_TLSCERT_H

#include "config.h"

#include <stddef.h>

/* Fills cert/key with the paths to serve. fingerprint receives the certificate's
 * SHA-256 as "AB:CD:..." (96 bytes). On error writes a reason naming the key or
 * file. */
int vg_tls_ensure(const struct vg_config *c, char *cert, char *key, size_t pathlen,
                  char *fingerprint, size_t fplen, char *err, size_t errlen);

#endif
