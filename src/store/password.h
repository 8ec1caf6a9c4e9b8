/* Staff passwords: generated, hashed, verified.
 *
 * Only a salted slow hash is stored: scrypt (OpenSSL's EVP_PBE_scrypt) with its
 * parameters in the string, so they can be raised later without breaking old
 * hashes:  $scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>
 * N = 2^15, r = 8 costs about 32 MiB and ~100 ms: slow for a guesser, unnoticed at
 * a login. */
#ifndef VG_PASSWORD_H
#define VG_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define VG_PASSWORD_HASH_MAX 160

/* Hashes `password` into out (VG_PASSWORD_HASH_MAX bytes). Returns 0 or VG_EIO. */
int vg_password_hash(const char *password, char *out, size_t n);

/* True when `password` matches `stored`. Constant-time in the comparison; false
 * for any malformed stored string. */
bool vg_password_verify(const char *password, const char *stored);

/* Writes a random password of `len` characters (letters and digits without the
 * look-alikes 0/O, 1/l/I) into out (len + 1 bytes). Returns 0 or VG_EIO. */
int vg_password_generate(char *out, size_t len);

#endif
