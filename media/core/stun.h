/* STUN messages (RFC 5389, RFC 8489) as ICE uses them (RFC 8445).
 *
 * Every leg's socket receives connectivity checks and consent checks from the
 * internet. Before a packet reaches libnice the gateway validates it here and routes
 * it by its USERNAME, whose first half is the ufrag we gave that leg: a packet that
 * is not well-formed STUN, or names no leg, is dropped without touching ICE state.
 *
 * vg_stun_parse() checks the header (top two bits zero, magic cookie, length a
 * multiple of 4 and equal to the rest of the datagram) and walks the attribute TLVs
 * once (each value padded to 4 bytes must fit; FINGERPRINT, when present, must be
 * last). The resulting vg_stun_msg borrows the caller's buffer. Lookups then give
 * views into it; following RFC 5389 15.4, attributes after MESSAGE-INTEGRITY other
 * than FINGERPRINT are ignored by them. vg_stun_check_fingerprint() and
 * vg_stun_check_integrity() verify the two checksums (CRC-32 and HMAC-SHA1 with the
 * ICE password as the short-term key).
 *
 * Results: 0 success; VG_EINVAL malformed (or an attribute of the wrong size);
 * VG_ENOENT the attribute is absent; VG_EPROTO fingerprint mismatch (not STUN, or
 * corrupted); VG_EPERM integrity mismatch (wrong or forged credentials).
 * Nothing here allocates; the integrity check calls OpenSSL. */
#ifndef VG_STUN_H
#define VG_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_STUN_HEADER_LEN 20
#define VG_STUN_MAGIC_COOKIE 0x2112A442u
#define VG_STUN_TXID_LEN 12
#define VG_STUN_HMAC_SHA1_LEN 20
#define VG_STUN_MAX_UFRAG 256 /* RFC 8839 5.4: ice-ufrag is 4 to 256 characters */

enum vg_stun_class {
    VG_STUN_REQUEST = 0,
    VG_STUN_INDICATION = 1,
    VG_STUN_SUCCESS = 2,
    VG_STUN_ERROR = 3,
};

enum { VG_STUN_BINDING = 0x001 };

enum {
    VG_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    VG_STUN_ATTR_USERNAME = 0x0006,
    VG_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    VG_STUN_ATTR_ERROR_CODE = 0x0009,
    VG_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    VG_STUN_ATTR_REALM = 0x0014,
    VG_STUN_ATTR_NONCE = 0x0015,
    VG_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    VG_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    VG_STUN_ATTR_PRIORITY = 0x0024,
    VG_STUN_ATTR_USE_CANDIDATE = 0x0025,
    VG_STUN_ATTR_SOFTWARE = 0x8022,
    VG_STUN_ATTR_FINGERPRINT = 0x8028,
    VG_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    VG_STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* A parsed message; borrows data, which must outlive it. */
struct vg_stun_msg {
    const uint8_t *data;
    size_t len;      /* header + attributes: the whole datagram */
    uint16_t type;   /* the raw 14-bit message type */
    uint16_t method; /* 12 bits, e.g. VG_STUN_BINDING */
    enum vg_stun_class cls;
    const uint8_t *txid;    /* VG_STUN_TXID_LEN bytes */
    unsigned n_attrs;       /* all attributes, those after MESSAGE-INTEGRITY too */
    size_t integrity_off;   /* offset of the first MESSAGE-INTEGRITY's header, 0 if none */
    size_t fingerprint_off; /* offset of the FINGERPRINT header, 0 if none */
};

/* One attribute: a view into the message. */
struct vg_stun_attr {
    uint16_t type;
    uint16_t len; /* value length without padding */
    const uint8_t *value;
    size_t off; /* offset of the attribute's header in the message */
};

struct vg_stun_addr {
    uint8_t family;   /* 4 or 6 */
    uint16_t port;    /* host order, un-XORed */
    uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* The two halves of an ICE USERNAME "RFRAG:LFRAG" (RFC 8445 7.2.2): the recipient's
 * ufrag first, then the sender's. Views into the message, not NUL-terminated. */
struct vg_stun_ufrags {
    const char *recipient;
    size_t recipient_len;
    const char *sender;
    size_t sender_len;
};

/* Parses the datagram buf[0..len). Returns 0 and fills *m, or VG_EINVAL. */
int vg_stun_parse(const uint8_t *buf, size_t len, struct vg_stun_msg *m);

/* Walks all attributes in order; *pos starts at 0. Returns 1 and fills *out, or 0 at
 * the end. Never fails on a message vg_stun_parse() accepted. */
int vg_stun_attr_next(const struct vg_stun_msg *m, size_t *pos, struct vg_stun_attr *out);

/* The first attribute of this type, skipping those after MESSAGE-INTEGRITY other
 * than FINGERPRINT. Returns 0 or VG_ENOENT. */
int vg_stun_find(const struct vg_stun_msg *m, uint16_t type, struct vg_stun_attr *out);

/* USERNAME as a view (not NUL-terminated). 0, VG_ENOENT. */
int vg_stun_username(const struct vg_stun_msg *m, const char **name, size_t *len);

/* Splits USERNAME at its first ':' for routing. VG_ENOENT without a USERNAME,
 * VG_EINVAL without a ':' or with a half empty or longer than VG_STUN_MAX_UFRAG. */
int vg_stun_ice_ufrags(const struct vg_stun_msg *m, struct vg_stun_ufrags *out);

/* Typed ICE attributes. 0, VG_ENOENT, or VG_EINVAL when the length is not the
 * fixed one (4 for PRIORITY, 0 for USE-CANDIDATE, 8 for the tie-breakers). */
int vg_stun_priority(const struct vg_stun_msg *m, uint32_t *priority);
int vg_stun_use_candidate(const struct vg_stun_msg *m);
int vg_stun_ice_controlling(const struct vg_stun_msg *m, uint64_t *tiebreaker);
int vg_stun_ice_controlled(const struct vg_stun_msg *m, uint64_t *tiebreaker);

/* XOR-MAPPED-ADDRESS, decoded. 0, VG_ENOENT, or VG_EINVAL for an unknown family or
 * a length that does not match it (8 for IPv4, 20 for IPv6). */
int vg_stun_xor_mapped_address(const struct vg_stun_msg *m, struct vg_stun_addr *out);

/* Verifies FINGERPRINT (RFC 5389 15.5). 0 when it matches, VG_ENOENT when absent,
 * VG_EINVAL when its length is not 4, VG_EPROTO on mismatch. */
int vg_stun_check_fingerprint(const struct vg_stun_msg *m);

/* Verifies MESSAGE-INTEGRITY (RFC 5389 15.4) with key[0..key_len), which for ICE is
 * the password of the agent that receives the request (or sent the request, when
 * checking a response). 0 when it matches, VG_ENOENT when absent, VG_EINVAL when its
 * length is not 20 or the key is empty, VG_EPERM on mismatch, VG_EIO if OpenSSL
 * fails. The comparison takes constant time. */
int vg_stun_check_integrity(const struct vg_stun_msg *m, const uint8_t *key, size_t key_len);

/* CRC-32 (ISO-HDLC: reflected 0x04C11DB7, init and final XOR 0xFFFFFFFF), the one
 * FINGERPRINT uses before its XOR with 0x5354554e. Exposed for building messages. */
uint32_t vg_stun_crc32(const uint8_t *buf, size_t len);

#endif
