#include "stun.h"
#include "vg_err.h"
#include "vt.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 5769 2.1: Binding request with short-term credentials, SOFTWARE, PRIORITY,
 * ICE-CONTROLLED, USERNAME (padded with spaces, as the RFC does on purpose),
 * MESSAGE-INTEGRITY and FINGERPRINT. */
static const uint8_t rfc5769_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t rfc5769_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: success response, XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_response_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const char password[] = "VOkJxbRl1RmTxUk/WvJxBt";

static int integrity(const struct vg_stun_msg *m, const char *key)
{
    return vg_stun_check_integrity(m, (const uint8_t *)key, strlen(key));
}

static void test_rfc5769_request(void)
{
    struct vg_stun_msg m;
    VT_EQ_INT(vg_stun_parse(rfc5769_request, sizeof rfc5769_request, &m), 0);
    VT_EQ_INT(m.type, 0x0001);
    VT_EQ_INT(m.method, VG_STUN_BINDING);
    VT_EQ_INT(m.cls, VG_STUN_REQUEST);
    VT_EQ_INT(m.len, 108);
    VT_EQ_INT(m.n_attrs, 6);
    VT_CHECK(m.txid == rfc5769_request + 8);
    VT_EQ_INT(m.integrity_off, 76);
    VT_EQ_INT(m.fingerprint_off, 100);

    const char *name;
    size_t len;
    VT_EQ_INT(vg_stun_username(&m, &name, &len), 0);
    VT_EQ_INT(len, 9);
    VT_CHECK(len == 9 && memcmp(name, "evtj:h6vY", 9) == 0);
    struct vg_stun_ufrags u;
    VT_EQ_INT(vg_stun_ice_ufrags(&m, &u), 0);
    VT_EQ_INT(u.recipient_len, 4);
    VT_CHECK(memcmp(u.recipient, "evtj", 4) == 0);
    VT_EQ_INT(u.sender_len, 4);
    VT_CHECK(memcmp(u.sender, "h6vY", 4) == 0);

    uint32_t prio = 0;
    uint64_t tb = 0;
    VT_EQ_INT(vg_stun_priority(&m, &prio), 0);
    VT_EQ_INT(prio, 0x6e0001ff);
    VT_EQ_INT(vg_stun_ice_controlled(&m, &tb), 0);
    VT_CHECK(tb == 0x932ff9b151263b36ull);
    VT_EQ_INT(vg_stun_ice_controlling(&m, &tb), VG_ENOENT);
    VT_EQ_INT(vg_stun_use_candidate(&m), VG_ENOENT);
    struct vg_stun_addr a;
    VT_EQ_INT(vg_stun_xor_mapped_address(&m, &a), VG_ENOENT);

    struct vg_stun_attr at;
    VT_EQ_INT(vg_stun_find(&m, VG_STUN_ATTR_SOFTWARE, &at), 0);
    VT_EQ_INT(at.len, 16);
    VT_EQ_INT(at.off, 20);
    VT_CHECK(memcmp(at.value, "STUN test client", 16) == 0);
    VT_EQ_INT(vg_stun_find(&m, VG_STUN_ATTR_FINGERPRINT, &at), 0);
    VT_EQ_INT(at.off, 100);

    VT_EQ_INT(vg_stun_check_fingerprint(&m), 0);
    VT_EQ_INT(integrity(&m, password), 0);
    VT_EQ_INT(integrity(&m, "VOkJxbRl1RmTxUk/WvJxBT"), VG_EPERM);
    VT_EQ_INT(integrity(&m, "VOkJxbRl1RmTxUk/WvJxB"), VG_EPERM);
    VT_EQ_INT(vg_stun_check_integrity(&m, (const uint8_t *)"", 0), VG_EINVAL);
}

static void test_rfc5769_responses(void)
{
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                   0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    static const struct {
        const uint8_t *b;
        size_t len;
        uint8_t family;
        uint8_t addr[16];
    } v[] = {
        {rfc5769_response_v4, sizeof rfc5769_response_v4, 4, {192, 0, 2, 1}},
        {rfc5769_response_v6, sizeof rfc5769_response_v6, 6, {0}},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct vg_stun_msg m;
        struct vg_stun_addr a;
        VT_EQ_INT(vg_stun_parse(v[i].b, v[i].len, &m), 0);
        VT_EQ_INT(m.cls, VG_STUN_SUCCESS);
        VT_EQ_INT(m.method, VG_STUN_BINDING);
        VT_EQ_INT(m.n_attrs, 4);
        VT_EQ_INT(vg_stun_xor_mapped_address(&m, &a), 0);
        VT_EQ_INT(a.family, v[i].family);
        VT_EQ_INT(a.port, 32853);
        VT_EQ_INT(memcmp(a.addr, v[i].family == 4 ? v[i].addr : v6, 16), 0);
        VT_EQ_INT(vg_stun_check_fingerprint(&m), 0);
        VT_EQ_INT(integrity(&m, password), 0);
        VT_EQ_INT(integrity(&m, "wrong"), VG_EPERM);
        struct vg_stun_attr sw;
        VT_EQ_INT(vg_stun_find(&m, VG_STUN_ATTR_SOFTWARE, &sw), 0);
        VT_EQ_INT(sw.len, 11); /* "test vector", padded with one space */
        struct vg_stun_ufrags u;
        VT_EQ_INT(vg_stun_ice_ufrags(&m, &u), VG_ENOENT);
    }
}

/* Damage in one place shows up in the check that covers it, and only there. */
static void test_corruption(void)
{
    static const struct {
        const char *name;
        size_t at;
        int fingerprint, integrity;
    } v[] = {
        {"software text", 30, VG_EPROTO, VG_EPERM},
        {"transaction id", 10, VG_EPROTO, VG_EPERM},
        {"integrity value", 80, VG_EPROTO, VG_EPERM},
        {"fingerprint value", 105, VG_EPROTO, 0}, /* not covered by the HMAC */
        {"username padding", 73, VG_EPROTO, VG_EPERM},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        uint8_t b[sizeof rfc5769_request];
        struct vg_stun_msg m;
        memcpy(b, rfc5769_request, sizeof b);
        b[v[i].at] ^= 0x01;
        VT_EQ_INT(vg_stun_parse(b, sizeof b, &m), 0);
        int fp = vg_stun_check_fingerprint(&m), mi = integrity(&m, password);
        if (fp != v[i].fingerprint || mi != v[i].integrity)
            fprintf(stderr, "corrupt %s: fingerprint %d integrity %d\n", v[i].name, fp, mi);
        VT_EQ_INT(fp, v[i].fingerprint);
        VT_EQ_INT(mi, v[i].integrity);
    }
}

/* MESSAGE-INTEGRITY with no FINGERPRINT after it: the IPv4 response cut before its
 * FINGERPRINT, the length field lowered by 8. The HMAC stays valid, which shows the
 * length adjustment matches what the sender hashed. */
static void test_integrity_without_fingerprint(void)
{
    uint8_t b[sizeof rfc5769_response_v4 - 8];
    memcpy(b, rfc5769_response_v4, sizeof b);
    b[3] = 0x3c - 8;
    struct vg_stun_msg m;
    VT_EQ_INT(vg_stun_parse(b, sizeof b, &m), 0);
    VT_EQ_INT(m.fingerprint_off, 0);
    VT_EQ_INT(vg_stun_check_fingerprint(&m), VG_ENOENT);
    VT_EQ_INT(integrity(&m, password), 0);
    /* And with both removed, neither check has anything to check. */
    uint8_t c[sizeof rfc5769_response_v4 - 32];
    memcpy(c, rfc5769_response_v4, sizeof c);
    c[3] = 0x3c - 32;
    VT_EQ_INT(vg_stun_parse(c, sizeof c, &m), 0);
    VT_EQ_INT(integrity(&m, password), VG_ENOENT);
    VT_EQ_INT(vg_stun_check_fingerprint(&m), VG_ENOENT);
}

/* Every proper prefix of a valid message fails: the length field no longer matches. */
static void test_truncation(void)
{
    for (size_t n = 0; n < sizeof rfc5769_request; n++) {
        struct vg_stun_msg m;
        int rc = vg_stun_parse(rfc5769_request, n, &m);
        if (rc != VG_EINVAL)
            fprintf(stderr, "request cut to %zu: rc %d\n", n, rc);
        VT_EQ_INT(rc, VG_EINVAL);
    }
}

#define HDR(t0, t1, l0, l1)                                                                        \
    t0, t1, l0, l1, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static const struct {
    const char *name;
    const uint8_t *b;
    size_t len;
    int rc;
    unsigned n_attrs;
} parse_vecs[] = {
    {"header only", BYTES(HDR(0x00, 0x01, 0x00, 0x00)), 0, 0},
    {"19 bytes",
     BYTES(0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
     VG_EINVAL, 0},
    {"top bit", BYTES(HDR(0x80, 0x01, 0x00, 0x00)), VG_EINVAL, 0},
    {"second bit", BYTES(HDR(0x40, 0x01, 0x00, 0x00)), VG_EINVAL, 0},
    {"bad cookie",
     BYTES(0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x43, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
     VG_EINVAL, 0},
    {"length not /4", BYTES(HDR(0x00, 0x01, 0x00, 0x05), 0x00, 0x25, 0x00, 0x00, 0), VG_EINVAL, 0},
    {"length 6, attrs fit", BYTES(HDR(0x00, 0x01, 0x00, 0x06), 0x00, 0x06, 0x00, 0x02, 'a', 'b'),
     VG_EINVAL, 0},
    {"length short of datagram", BYTES(HDR(0x00, 0x01, 0x00, 0x00), 0x00, 0x25, 0x00, 0x00),
     VG_EINVAL, 0},
    {"length past datagram", BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x25, 0x00, 0x00), VG_EINVAL,
     0},
    {"attr overruns",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x05, 'a', ':', 'b', 'c'), VG_EINVAL, 0},
    {"attr overruns by pad only",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x04, 'a', ':', 'b', 'c'), 0, 1},
    {"two attrs",
     BYTES(HDR(0x00, 0x01, 0x00, 0x0c), 0x00, 0x25, 0x00, 0x00, 0x00, 0x06, 0x00, 0x03, 'a', ':',
           'b', 0),
     0, 2},
    {"fingerprint not last",
     BYTES(HDR(0x00, 0x01, 0x00, 0x0c), 0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x00, 0x25, 0x00, 0x00),
     VG_EINVAL, 0},
    {"two fingerprints",
     BYTES(HDR(0x00, 0x01, 0x00, 0x10), 0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x80, 0x28, 0x00, 0x04,
           0, 0, 0, 0),
     VG_EINVAL, 0},
    {"indication", BYTES(HDR(0x00, 0x11, 0x00, 0x00)), 0, 0},
};

static void test_parse_table(void)
{
    for (size_t i = 0; i < ARRAY_LEN(parse_vecs); i++) {
        struct vg_stun_msg m;
        int rc = vg_stun_parse(parse_vecs[i].b, parse_vecs[i].len, &m);
        if (rc != parse_vecs[i].rc)
            fprintf(stderr, "stun vector %zu (%s): rc %d\n", i, parse_vecs[i].name, rc);
        VT_EQ_INT(rc, parse_vecs[i].rc);
        if (rc == 0)
            VT_EQ_INT(m.n_attrs, parse_vecs[i].n_attrs);
    }
}

static void test_type_bits(void)
{
    static const struct {
        uint16_t type, method;
        enum vg_stun_class cls;
    } v[] = {
        {0x0001, 0x001, VG_STUN_REQUEST}, {0x0011, 0x001, VG_STUN_INDICATION},
        {0x0101, 0x001, VG_STUN_SUCCESS}, {0x0111, 0x001, VG_STUN_ERROR},
        {0x3eef, 0xfff, VG_STUN_REQUEST}, {0x3fff, 0xfff, VG_STUN_ERROR},
        {0x0110, 0x000, VG_STUN_ERROR},   {0x0200, 0x080, VG_STUN_REQUEST},
        {0x0020, 0x010, VG_STUN_REQUEST}, {0x0003, 0x003, VG_STUN_REQUEST}, /* Allocate */
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        uint8_t b[] = {HDR((uint8_t)(v[i].type >> 8), (uint8_t)v[i].type, 0, 0)};
        struct vg_stun_msg m;
        VT_EQ_INT(vg_stun_parse(b, sizeof b, &m), 0);
        VT_EQ_INT(m.type, v[i].type);
        VT_EQ_INT(m.method, v[i].method);
        VT_EQ_INT(m.cls, v[i].cls);
    }
}

/* Typed lookups on small hand-made messages: (attributes, getter, expected rc). */
enum getter { PRIORITY, USE_CAND, CONTROLLING, XOR_ADDR, UFRAGS };

static const struct {
    const char *name;
    const uint8_t *b;
    size_t len;
    enum getter g;
    int rc;
} typed_vecs[] = {
    {"priority len 3", BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x24, 0x00, 0x03, 1, 2, 3, 0),
     PRIORITY, VG_EINVAL},
    {"priority after MI",
     BYTES(HDR(0x00, 0x01, 0x00, 0x20), 0x00, 0x08, 0x00, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4),
     PRIORITY, VG_ENOENT},
    {"use-candidate", BYTES(HDR(0x00, 0x01, 0x00, 0x04), 0x00, 0x25, 0x00, 0x00), USE_CAND, 0},
    {"use-candidate len 4", BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0),
     USE_CAND, VG_EINVAL},
    {"controlling",
     BYTES(HDR(0x00, 0x01, 0x00, 0x0c), 0x80, 0x2a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8),
     CONTROLLING, 0},
    {"controlling len 4", BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x80, 0x2a, 0x00, 0x04, 1, 2, 3, 4),
     CONTROLLING, VG_EINVAL},
    {"xor family 3",
     BYTES(HDR(0x01, 0x01, 0x00, 0x0c), 0x00, 0x20, 0x00, 0x08, 0x00, 0x03, 0, 0, 0, 0, 0, 0),
     XOR_ADDR, VG_EINVAL},
    {"xor v4 len 20",
     BYTES(HDR(0x01, 0x01, 0x00, 0x18), 0x00, 0x20, 0x00, 0x14, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
     XOR_ADDR, VG_EINVAL},
    {"xor v6 len 8",
     BYTES(HDR(0x01, 0x01, 0x00, 0x0c), 0x00, 0x20, 0x00, 0x08, 0x00, 0x02, 0, 0, 0, 0, 0, 0),
     XOR_ADDR, VG_EINVAL},
    {"ufrag no colon",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x04, 'a', 'b', 'c', 'd'), UFRAGS,
     VG_EINVAL},
    {"ufrag empty recipient",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x02, ':', 'b', 0, 0), UFRAGS, VG_EINVAL},
    {"ufrag empty sender",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x02, 'a', ':', 0, 0), UFRAGS, VG_EINVAL},
    {"ufrag one each", BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x03, 'a', ':', 'b', 0),
     UFRAGS, 0},
    {"ufrag second colon",
     BYTES(HDR(0x00, 0x01, 0x00, 0x08), 0x00, 0x06, 0x00, 0x04, 'a', ':', ':', 'b'), UFRAGS, 0},
    {"username empty", BYTES(HDR(0x00, 0x01, 0x00, 0x04), 0x00, 0x06, 0x00, 0x00), UFRAGS,
     VG_EINVAL},
};

static int call_getter(const struct vg_stun_msg *m, enum getter g)
{
    uint32_t p;
    uint64_t t;
    struct vg_stun_addr a;
    struct vg_stun_ufrags u;
    switch (g) {
    case PRIORITY: return vg_stun_priority(m, &p);
    case USE_CAND: return vg_stun_use_candidate(m);
    case CONTROLLING: return vg_stun_ice_controlling(m, &t);
    case XOR_ADDR: return vg_stun_xor_mapped_address(m, &a);
    case UFRAGS: return vg_stun_ice_ufrags(m, &u);
    }
    return 1;
}

static void test_typed(void)
{
    for (size_t i = 0; i < ARRAY_LEN(typed_vecs); i++) {
        struct vg_stun_msg m;
        int rc = vg_stun_parse(typed_vecs[i].b, typed_vecs[i].len, &m);
        VT_EQ_INT(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "typed %zu (%s) does not parse\n", i, typed_vecs[i].name);
            continue;
        }
        rc = call_getter(&m, typed_vecs[i].g);
        if (rc != typed_vecs[i].rc)
            fprintf(stderr, "typed %zu (%s): rc %d\n", i, typed_vecs[i].name, rc);
        VT_EQ_INT(rc, typed_vecs[i].rc);
    }
}

static void test_typed_details(void)
{
    /* The attribute after MESSAGE-INTEGRITY is still walked, only not looked up. */
    struct vg_stun_msg m;
    struct vg_stun_attr a;
    size_t pos = 0;
    VT_EQ_INT(vg_stun_parse(typed_vecs[1].b, typed_vecs[1].len, &m), 0);
    VT_EQ_INT(m.n_attrs, 2);
    VT_EQ_INT(m.integrity_off, 20);
    VT_EQ_INT(vg_stun_attr_next(&m, &pos, &a), 1);
    VT_EQ_INT(a.type, VG_STUN_ATTR_MESSAGE_INTEGRITY);
    VT_EQ_INT(vg_stun_attr_next(&m, &pos, &a), 1);
    VT_EQ_INT(a.type, VG_STUN_ATTR_PRIORITY);
    VT_EQ_INT(a.off, 44);
    VT_EQ_INT(vg_stun_attr_next(&m, &pos, &a), 0);
    /* Integrity attribute of the wrong size. */
    uint8_t bad_mi[] = {HDR(0x00, 0x01, 0x00, 0x14),
                        0x00,
                        0x08,
                        0x00,
                        0x10,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0};
    VT_EQ_INT(vg_stun_parse(bad_mi, sizeof bad_mi, &m), 0);
    VT_EQ_INT(integrity(&m, password), VG_EINVAL);
    uint8_t bad_fp[] = {HDR(0x00, 0x01, 0x00, 0x08), 0x80, 0x28, 0x00, 0x03, 0, 0, 0, 0};
    VT_EQ_INT(vg_stun_parse(bad_fp, sizeof bad_fp, &m), 0);
    VT_EQ_INT(vg_stun_check_fingerprint(&m), VG_EINVAL);
    /* Controlling tie-breaker value. */
    uint64_t tb = 0;
    VT_EQ_INT(vg_stun_parse(typed_vecs[4].b, typed_vecs[4].len, &m), 0);
    VT_EQ_INT(vg_stun_ice_controlling(&m, &tb), 0);
    VT_CHECK(tb == 0x0102030405060708ull);
    VT_EQ_INT(vg_stun_ice_controlled(&m, &tb), VG_ENOENT);
}

/* Longest ufrag halves RFC 8839 allows, and one byte more. */
static void test_ufrag_limits(void)
{
    static const struct {
        size_t rlen, slen;
        int rc;
    } v[] = {{256, 4, 0}, {4, 256, 0}, {257, 4, VG_EINVAL}, {4, 257, VG_EINVAL}};
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        uint8_t b[20 + 4 + 520] = {HDR(0x00, 0x01, 0, 0)};
        size_t ulen = v[i].rlen + 1 + v[i].slen, body = 4 + ((ulen + 3) & ~(size_t)3);
        b[2] = (uint8_t)(body >> 8);
        b[3] = (uint8_t)body;
        b[20] = 0x00;
        b[21] = 0x06;
        b[22] = (uint8_t)(ulen >> 8);
        b[23] = (uint8_t)ulen;
        memset(b + 24, 'x', ulen);
        b[24 + v[i].rlen] = ':';
        struct vg_stun_msg m;
        struct vg_stun_ufrags u;
        VT_EQ_INT(vg_stun_parse(b, 20 + body, &m), 0);
        VT_EQ_INT(vg_stun_ice_ufrags(&m, &u), v[i].rc);
        if (v[i].rc == 0) {
            VT_EQ_INT(u.recipient_len, v[i].rlen);
            VT_EQ_INT(u.sender_len, v[i].slen);
        }
    }
}

/* Bit-at-a-time CRC-32, to check the table in stun.c entry by entry. */
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

static void test_crc32(void)
{
    VT_EQ_INT(vg_stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u); /* check value */
    VT_EQ_INT(vg_stun_crc32((const uint8_t *)"", 0), 0);
    VT_EQ_INT(vg_stun_crc32((const uint8_t *)"a", 1), 0xe8b7be43u);
    /* Each single byte hits one table entry after the initial XOR. */
    for (unsigned b = 0; b < 256; b++) {
        uint8_t x = (uint8_t)b;
        uint32_t want = crc32_bitwise(&x, 1), got = vg_stun_crc32(&x, 1);
        if (want != got)
            fprintf(stderr, "crc32 of byte %u: %08x, want %08x\n", b, got, want);
        VT_EQ_INT(got, want);
    }
    uint8_t buf[1000];
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        s = s * 1103515245u + 12345u;
        buf[i] = (uint8_t)(s >> 16);
    }
    VT_EQ_INT(vg_stun_crc32(buf, sizeof buf), crc32_bitwise(buf, sizeof buf));
}

int main(void)
{
    test_rfc5769_request();
    test_rfc5769_responses();
    test_corruption();
    test_integrity_without_fingerprint();
    test_truncation();
    test_parse_table();
    test_type_bits();
    test_typed();
    test_typed_details();
    test_ufrag_limits();
    test_crc32();
    return vt_done("stun");
}
