#include "stun.h"
#include "bytes.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "vg_err.h"

#define ATTR_HDR_LEN 4
#define FINGERPRINT_XOR 0x5354554eu

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* ---- header and attribute walk ---- */

static int walk_attrs(struct vg_stun_msg *m)
{
    size_t off = VG_STUN_HEADER_LEN;
    while (off < m->len) {
        if (m->fingerprint_off)
            return VG_EINVAL; /* RFC 5389 15.5: FINGERPRINT is the last attribute */
        if (m->len - off < ATTR_HDR_LEN)
            return VG_EINVAL;
        uint16_t type = vg_rd16(m->data + off), alen = vg_rd16(m->data + off + 2);
        if (m->len - off - ATTR_HDR_LEN < alen)
            return VG_EINVAL;
        if (type == VG_STUN_ATTR_MESSAGE_INTEGRITY && !m->integrity_off)
            m->integrity_off = off;
        if (type == VG_STUN_ATTR_FINGERPRINT)
            m->fingerprint_off = off;
        m->n_attrs++;
        /* The padding fits too: off and m->len are both multiples of 4. */
        off += ATTR_HDR_LEN + pad4(alen);
    }
    return 0;
}

int vg_stun_parse(const uint8_t *buf, size_t len, struct vg_stun_msg *m)
{
    if (!buf || !m || len < VG_STUN_HEADER_LEN || (buf[0] & 0xc0))
        return VG_EINVAL;
    size_t body = vg_rd16(buf + 2);
    if (body % 4 || body != len - VG_STUN_HEADER_LEN || vg_rd32(buf + 4) != VG_STUN_MAGIC_COOKIE)
        return VG_EINVAL;
    memset(m, 0, sizeof *m);
    m->data = buf;
    m->len = len;
    m->type = vg_rd16(buf);
    /* RFC 5389 6: the class bits C1 and C0 sit at bits 8 and 4, between the
     * method's bits. */
    m->method = (uint16_t)((m->type & 0x000f) | (m->type & 0x00e0) >> 1 | (m->type & 0x3e00) >> 2);
    m->cls = (enum vg_stun_class)((m->type >> 7 & 2) | (m->type >> 4 & 1));
    m->txid = buf + 8;
    return walk_attrs(m);
}

int vg_stun_attr_next(const struct vg_stun_msg *m, size_t *pos, struct vg_stun_attr *out)
{
    if (*pos < VG_STUN_HEADER_LEN)
        *pos = VG_STUN_HEADER_LEN;
    if (*pos >= m->len || m->len - *pos < ATTR_HDR_LEN)
        return 0;
    out->off = *pos;
    out->type = vg_rd16(m->data + *pos);
    out->len = vg_rd16(m->data + *pos + 2);
    out->value = m->data + *pos + ATTR_HDR_LEN;
    *pos += ATTR_HDR_LEN + pad4(out->len);
    return 1;
}

int vg_stun_find(const struct vg_stun_msg *m, uint16_t type, struct vg_stun_attr *out)
{
    size_t pos = 0;
    struct vg_stun_attr a;
    while (vg_stun_attr_next(m, &pos, &a) > 0) {
        /* RFC 5389 15.4: what follows MESSAGE-INTEGRITY is not covered by it and
         * must be ignored, except FINGERPRINT. */
        if (m->integrity_off && a.off > m->integrity_off && a.type != VG_STUN_ATTR_FINGERPRINT)
            continue;
        if (a.type == type) {
            *out = a;
            return 0;
        }
    }
    return VG_ENOENT;
}

/* ---- typed attributes ---- */

/* Finds an attribute whose value must have exactly want bytes. */
static int find_sized(const struct vg_stun_msg *m, uint16_t type, uint16_t want,
                      struct vg_stun_attr *a)
{
    int rc = vg_stun_find(m, type, a);
    if (rc < 0)
        return rc;
    return a->len == want ? 0 : VG_EINVAL;
}

int vg_stun_username(const struct vg_stun_msg *m, const char **name, size_t *len)
{
    struct vg_stun_attr a;
    int rc = vg_stun_find(m, VG_STUN_ATTR_USERNAME, &a);
    if (rc < 0)
        return rc;
    *name = (const char *)a.value;
    *len = a.len;
    return 0;
}

int vg_stun_ice_ufrags(const struct vg_stun_msg *m, struct vg_stun_ufrags *out)
{
    const char *name;
    size_t len;
    int rc = vg_stun_username(m, &name, &len);
    if (rc < 0)
        return rc;
    const char *colon = memchr(name, ':', len);
    if (!colon)
        return VG_EINVAL;
    size_t rlen = (size_t)(colon - name), slen = len - rlen - 1;
    if (rlen == 0 || slen == 0 || rlen > VG_STUN_MAX_UFRAG || slen > VG_STUN_MAX_UFRAG)
        return VG_EINVAL;
    out->recipient = name;
    out->recipient_len = rlen;
    out->sender = colon + 1;
    out->sender_len = slen;
    return 0;
}

int vg_stun_priority(const struct vg_stun_msg *m, uint32_t *priority)
{
    struct vg_stun_attr a;
    int rc = find_sized(m, VG_STUN_ATTR_PRIORITY, 4, &a);
    if (rc == 0)
        *priority = vg_rd32(a.value);
    return rc;
}

int vg_stun_use_candidate(const struct vg_stun_msg *m)
{
    struct vg_stun_attr a;
    return find_sized(m, VG_STUN_ATTR_USE_CANDIDATE, 0, &a);
}

static int find_u64(const struct vg_stun_msg *m, uint16_t type, uint64_t *v)
{
    struct vg_stun_attr a;
    int rc = find_sized(m, type, 8, &a);
    if (rc == 0)
        *v = (uint64_t)vg_rd32(a.value) << 32 | vg_rd32(a.value + 4);
    return rc;
}

int vg_stun_ice_controlling(const struct vg_stun_msg *m, uint64_t *tiebreaker)
{
    return find_u64(m, VG_STUN_ATTR_ICE_CONTROLLING, tiebreaker);
}

int vg_stun_ice_controlled(const struct vg_stun_msg *m, uint64_t *tiebreaker)
{
    return find_u64(m, VG_STUN_ATTR_ICE_CONTROLLED, tiebreaker);
}

int vg_stun_xor_mapped_address(const struct vg_stun_msg *m, struct vg_stun_addr *out)
{
    struct vg_stun_attr a;
    int rc = vg_stun_find(m, VG_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
    if (rc < 0)
        return rc;
    /* RFC 5389 15.2: the port is XORed with the cookie's top half, an IPv4 address
     * with the cookie, an IPv6 address with the cookie and transaction id (header
     * bytes 4..19). The first value byte is reserved. */
    size_t n;
    if (a.len == 8 && a.value[1] == 0x01)
        n = 4;
    else if (a.len == 20 && a.value[1] == 0x02)
        n = 16;
    else
        return VG_EINVAL;
    memset(out, 0, sizeof *out);
    out->family = n == 4 ? 4 : 6;
    out->port = (uint16_t)(vg_rd16(a.value + 2) ^ (VG_STUN_MAGIC_COOKIE >> 16));
    for (size_t i = 0; i < n; i++)
        out->addr[i] = a.value[4 + i] ^ m->data[4 + i];
    return 0;
}

/* ---- FINGERPRINT ---- */

/* The reflected CRC-32 table for polynomial 0xEDB88320: entry n is the CRC of the
 * byte n. A constant table rather than one filled at first use: no init race
 * between the threads that own cases. The unit test recomputes it bit by bit. */
static const uint32_t crc_table[256] = {
    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
    0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
    0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
    0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
    0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
    0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
    0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
    0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
    0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
    0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
    0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e, 0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
    0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
    0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
    0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
    0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
    0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
    0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
    0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
    0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
    0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
    0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
    0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
    0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
    0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
    0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
    0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
    0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
    0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
    0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
    0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
    0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94, 0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

uint32_t vg_stun_crc32(const uint8_t *buf, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ buf[i]) & 0xff] ^ c >> 8;
    return c ^ 0xffffffffu;
}

int vg_stun_check_fingerprint(const struct vg_stun_msg *m)
{
    if (!m->fingerprint_off)
        return VG_ENOENT;
    const uint8_t *attr = m->data + m->fingerprint_off;
    if (vg_rd16(attr + 2) != 4)
        return VG_EINVAL;
    /* FINGERPRINT is last, so the header's length already covers it, as it did when
     * the sender computed the CRC. */
    uint32_t want = vg_stun_crc32(m->data, m->fingerprint_off) ^ FINGERPRINT_XOR;
    return vg_rd32(attr + ATTR_HDR_LEN) == want ? 0 : VG_EPROTO;
}

/* ---- MESSAGE-INTEGRITY ---- */

/* HMAC-SHA1 over a then b. The MAC is fetched per call: checks arrive a few times a
 * second per leg, and a cached EVP_MAC would need its own lifetime and locking. */
static int hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                     const uint8_t *b, size_t b_len, uint8_t out[VG_STUN_HMAC_SHA1_LEN])
{
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    size_t out_len = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, a, a_len) &&
             EVP_MAC_update(ctx, b, b_len) &&
             EVP_MAC_final(ctx, out, &out_len, VG_STUN_HMAC_SHA1_LEN) &&
             out_len == VG_STUN_HMAC_SHA1_LEN;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : VG_EIO;
}

int vg_stun_check_integrity(const struct vg_stun_msg *m, const uint8_t *key, size_t key_len)
{
    if (!m->integrity_off)
        return VG_ENOENT;
    const uint8_t *attr = m->data + m->integrity_off;
    if (vg_rd16(attr + 2) != VG_STUN_HMAC_SHA1_LEN || !key || key_len == 0)
        return VG_EINVAL;
    /* RFC 5389 15.4: the HMAC covers the message up to MESSAGE-INTEGRITY, with the
     * header's length set as if MESSAGE-INTEGRITY were the last attribute (the
     * sender added FINGERPRINT afterwards). The caller's buffer is const, so the
     * adjusted header is a copy. */
    uint8_t hdr[VG_STUN_HEADER_LEN];
    memcpy(hdr, m->data, sizeof hdr);
    vg_wr16(hdr + 2, (uint16_t)(m->integrity_off + ATTR_HDR_LEN + VG_STUN_HMAC_SHA1_LEN -
                                VG_STUN_HEADER_LEN));
    uint8_t mac[VG_STUN_HMAC_SHA1_LEN];
    int rc = hmac_sha1(key, key_len, hdr, sizeof hdr, m->data + VG_STUN_HEADER_LEN,
                       m->integrity_off - VG_STUN_HEADER_LEN, mac);
    if (rc < 0)
        return rc;
    return CRYPTO_memcmp(mac, attr + ATTR_HDR_LEN, sizeof mac) == 0 ? 0 : VG_EPERM;
}
