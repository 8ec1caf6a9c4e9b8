/* Any byte string is refused or parses into a message whose attributes tile it, whose
 * lookups agree with the walk, and whose getters keep to their documented results.
 * Then the message is re-signed with an independent HMAC (OpenSSL's one-shot HMAC())
 * and a bit-at-a-time CRC-32: after that both checks must pass, which pins the
 * MESSAGE-INTEGRITY length adjustment and the FINGERPRINT range. */
#include "stun.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static const uint8_t key[] = "fuzz-password-0123456789";

static void check_walk(const struct vg_stun_msg *m, const uint8_t *data, size_t size)
{
    size_t pos = 0, end = VG_STUN_HEADER_LEN;
    unsigned n = 0;
    struct vg_stun_attr a, f;
    CHECK(m->data == data && m->len == size && m->txid == data + 8);
    while (vg_stun_attr_next(m, &pos, &a) == 1) {
        CHECK(a.off == end && a.value == data + a.off + 4);
        CHECK(a.value + a.len <= data + size);
        end = a.off + 4 + ((a.len + 3u) & ~3u);
        if (a.off == m->integrity_off)
            CHECK(a.type == VG_STUN_ATTR_MESSAGE_INTEGRITY);
        if (a.type == VG_STUN_ATTR_FINGERPRINT)
            CHECK(a.off == m->fingerprint_off && end == size);
        bool hidden =
            m->integrity_off && a.off > m->integrity_off && a.type != VG_STUN_ATTR_FINGERPRINT;
        if (!hidden)
            CHECK(vg_stun_find(m, a.type, &f) == 0 && f.off <= a.off && f.type == a.type);
        n++;
    }
    CHECK(n == m->n_attrs && end == size);
    CHECK(m->integrity_off < size && m->fingerprint_off < size);
    if (m->integrity_off)
        CHECK(vg_stun_find(m, VG_STUN_ATTR_MESSAGE_INTEGRITY, &f) == 0 &&
              f.off == m->integrity_off);
}

static void check_getters(const struct vg_stun_msg *m)
{
    const char *name;
    size_t len;
    struct vg_stun_ufrags u;
    struct vg_stun_addr a;
    uint32_t prio;
    uint64_t tb;
    int rc = vg_stun_ice_ufrags(m, &u);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    if (rc == 0) {
        CHECK(vg_stun_username(m, &name, &len) == 0);
        CHECK(u.recipient == name && u.recipient_len + 1 + u.sender_len == len);
        CHECK(u.sender == name + u.recipient_len + 1 && name[u.recipient_len] == ':');
        CHECK(u.recipient_len >= 1 && u.recipient_len <= VG_STUN_MAX_UFRAG);
        CHECK(u.sender_len >= 1 && u.sender_len <= VG_STUN_MAX_UFRAG);
    }
    rc = vg_stun_xor_mapped_address(m, &a);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    CHECK(rc != 0 || a.family == 4 || a.family == 6);
    rc = vg_stun_priority(m, &prio);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    rc = vg_stun_use_candidate(m);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    rc = vg_stun_ice_controlling(m, &tb);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    rc = vg_stun_ice_controlled(m, &tb);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL);
    rc = vg_stun_check_fingerprint(m);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL || rc == VG_EPROTO);
    rc = vg_stun_check_integrity(m, key, sizeof key - 1);
    CHECK(rc == 0 || rc == VG_ENOENT || rc == VG_EINVAL || rc == VG_EPERM);
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Signs b (a copy of m's bytes) as a sender would: HMAC over the message up to
 * MESSAGE-INTEGRITY with the length field ending there, then the CRC. */
static void resign(const struct vg_stun_msg *m, uint8_t *b)
{
    size_t mi = m->integrity_off, fp = m->fingerprint_off;
    bool has_mi = mi && b[mi + 2] == 0 && b[mi + 3] == 20;
    bool has_fp = fp && b[fp + 2] == 0 && b[fp + 3] == 4;
    if (has_mi) {
        uint8_t len_field[2] = {b[2], b[3]};
        size_t adj = mi + 24 - VG_STUN_HEADER_LEN;
        unsigned md_len = 0;
        b[2] = (uint8_t)(adj >> 8);
        b[3] = (uint8_t)adj;
        CHECK(HMAC(EVP_sha1(), key, (int)(sizeof key - 1), b, mi, b + mi + 4, &md_len));
        CHECK(md_len == 20);
        b[2] = len_field[0];
        b[3] = len_field[1];
    }
    if (has_fp)
        put32(b + fp + 4, crc32_bitwise(b, fp) ^ 0x5354554eu);
    struct vg_stun_msg r;
    CHECK(vg_stun_parse(b, m->len, &r) == 0);
    CHECK(r.n_attrs == m->n_attrs && r.integrity_off == mi && r.fingerprint_off == fp);
    CHECK(!has_mi || vg_stun_check_integrity(&r, key, sizeof key - 1) == 0);
    CHECK(!has_fp || vg_stun_check_fingerprint(&r) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_stun_msg m;
    int rc = vg_stun_parse(data, size, &m);
    if (rc != 0) {
        CHECK(rc == VG_EINVAL);
        return 0;
    }
    CHECK(size >= VG_STUN_HEADER_LEN && size % 4 == 0 && (data[0] & 0xc0) == 0);
    check_walk(&m, data, size);
    check_getters(&m);
    if (m.integrity_off || m.fingerprint_off) {
        uint8_t *b = malloc(size);
        CHECK(b);
        memcpy(b, data, size);
        resign(&m, b);
        free(b);
    }
    return 0;
}
