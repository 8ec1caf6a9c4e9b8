/* The centre's Ed25519 signing key (OpenSSL), and verification with its public
 * half: the only thing a verifier needs. */
#ifndef VG_EVKEY_H
#define VG_EVKEY_H

#include <stddef.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY;

/* Loads the private key at path, or generates one there (0600, PKCS#8 PEM) when
 * the file does not exist; writes the public key to path with ".pem" replaced by
 * ".pub" (or ".pub" appended). On failure writes the reason into err. */
int vg_evkey_load_or_create(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* Loads a public key (PEM "PUBLIC KEY", or a private key's public half). */
int vg_evkey_load_public(const char *path, EVP_PKEY **out);

void vg_evkey_free(EVP_PKEY *k); /* NULL allowed */

/* Signs msg: sig receives 64 bytes. */
int vg_evkey_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64]);
/* VG_OK when sig is k's signature of msg. */
int vg_evkey_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t sig[64]);

/* SHA-256 of the raw public key, hex (65 bytes): names the key in manifests. */
int vg_evkey_id(EVP_PKEY *k, char out[65]);

/* Base64 (88 chars + NUL) of a signature. */
void vg_evkey_sig_b64(const uint8_t sig[64], char out[89]);

#endif
