/* SRTP's AES-GCM, AES-ICM and HMAC-SHA1 through OpenSSL, inside libsrtp2.
 *
 * libsrtp2 does SRTP for us: packet layout, the rollover counter, the replay window,
 * key derivation. The block cipher underneath is a plug-in (its "crypto kernel"), and
 * Debian builds libsrtp2 with NSS as that plug-in. NSS's AES-GCM is used one-shot
 * (PK11_Encrypt/PK11_Decrypt), which sets up a fresh context for every packet: about
 * 9,800 instructions to protect a 1,100-byte video packet, twice what OpenSSL's EVP
 * needs for the same bytes (tools/bench/srtp_gcm.c). SRTP is most of what a gateway
 * does per forwarded packet, so Vigil registers its own AES-128-GCM cipher type with
 * libsrtp2 (srtp_replace_cipher_type, part of libsrtp2's public API), built on
 * OpenSSL 3, which the project already uses for DTLS. It calls the AES-GCM
 * functions of the provider that EVP_CIPHER_fetch() finds, not the EVP wrappers
 * around them (srtp_evp.c says why). AES-ICM (every session's key derivation, and
 * AES_CM_128_HMAC_SHA1_80's packets) and HMAC-SHA1 are replaced the same way: on NSS
 * each cost a module load per session (~1 ms) and ~4 us per AES_CM packet.
 *
 * libsrtp2 checks a replacement before it takes it: the new type must pass its own
 * known-answer test (here the GCM specification's test case 4) and the tests of the
 * type it replaces. vg_srtp_evp_install() returns an error if either fails, and
 * the caller keeps libsrtp2's own cipher. */
#ifndef VG_SRTP_EVP_H
#define VG_SRTP_EVP_H

/* Registers the OpenSSL AES-128-GCM cipher with libsrtp2. Call once, after
 * srtp_init() and before any session is created. 0, or VG_EIO. */
int vg_srtp_evp_install(void);

/* Registers OpenSSL's AES-128 counter mode as libsrtp2's AES-ICM-128, which derives
 * every session's keys and encrypts AES_CM_128_HMAC_SHA1_80, and OpenSSL's HMAC as
 * its HMAC-SHA1, which authenticates AES_CM_128_HMAC_SHA1_80 (srtp_evp.c says why).
 * The same conditions and results as above. */
int vg_srtp_evp_install_icm(void);

#endif
