#include "sdp.h"
#include "bytes.h"
#include "vg_err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- views ------------------------------------------------------------------ */

/* An absent string is {NULL, 0}: never hand its pointer to the C library. */
static bool sv_eq(struct vg_sdp_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static bool sv_ieq(struct vg_sdp_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || strncasecmp(s.p, lit, n) == 0);
}

/* Advances s past prefix if s starts with it. */
static bool sv_eat(struct vg_sdp_str *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (s->len < n || memcmp(s->p, prefix, n) != 0)
        return false;
    s->p += n;
    s->len -= n;
    return true;
}

static struct vg_sdp_str sv_trim(struct vg_sdp_str s)
{
    while (s.len && s.p[0] == ' ') {
        s.p++;
        s.len--;
    }
    while (s.len && s.p[s.len - 1] == ' ')
        s.len--;
    return s;
}

/* Returns the part of *s before the first sep (all of it if none) and leaves in *s
 * what follows the separator. */
static struct vg_sdp_str sv_split(struct vg_sdp_str *s, char sep)
{
    struct vg_sdp_str head = *s;
    const char *at = s->len ? memchr(s->p, sep, s->len) : NULL;
    if (!at) {
        s->p += s->len;
        s->len = 0;
        return head;
    }
    head.len = (size_t)(at - s->p);
    s->len -= head.len + 1;
    s->p = at + 1;
    return head;
}

/* The next space-separated word of *s (SDP uses single spaces; runs are tolerated). */
static struct vg_sdp_str sv_word(struct vg_sdp_str *s)
{
    *s = sv_trim(*s);
    return sv_split(s, ' ');
}

/* Decimal digits only, no sign, no overflow. Returns 0, or -1. */
static int sv_u32(struct vg_sdp_str s, uint32_t max, uint32_t *out)
{
    if (s.len == 0 || s.len > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const char *p, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

/* RFC 8866 token-char: printable ASCII except space, '"', '(', ')', ',', '/', ':',
 * ';', '<', '=', '>', '?', '@', '[', '\\', ']'. */
static bool token_chars(struct vg_sdp_str s, size_t max)
{
    if (s.len == 0 || s.len > max)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]", c))
            return false;
    }
    return true;
}

/* sha-256 as RFC 8122 writes it: 32 upper- or lower-case hex pairs joined by ':'. */
static bool fp_sha256_ok(const char *p, size_t len)
{
    if (len != VG_SDP_FP_SHA256_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (i % 3 == 2 ? p[i] != ':' : vg_hex_value(p[i]) < 0)
            return false;
    }
    return true;
}

static void copy_sv(char *dst, size_t cap, struct vg_sdp_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static int fail(struct vg_sdp_error *err, unsigned line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct vg_sdp_error *err, unsigned line, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->line = line;
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
        /* Reasons quote the peer's bytes and go into logs and JSON replies: keep
         * them printable ASCII, so they are valid UTF-8 whatever the peer sent. */
        for (char *c = err->reason; *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                *c = '?';
        }
    }
    return code;
}

static void clear_err(struct vg_sdp_error *err)
{
    if (err) {
        err->line = 0;
        err->reason[0] = '\0';
    }
}

/* ---- small enums --------------------------------------------------------------- */

static int parse_dir(struct vg_sdp_str s, enum vg_sdp_dir *d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (int i = 0; i < 4; i++) {
        if (sv_eq(s, names[i])) {
            *d = (enum vg_sdp_dir)i;
            return 0;
        }
    }
    return -1;
}

const char *vg_sdp_dir_name(enum vg_sdp_dir d)
{
    switch (d) {
    case VG_SDP_SENDRECV: return "sendrecv";
    case VG_SDP_SENDONLY: return "sendonly";
    case VG_SDP_RECVONLY: return "recvonly";
    case VG_SDP_INACTIVE: return "inactive";
    }
    return "?";
}

const char *vg_sdp_codec_name(enum vg_sdp_codec c)
{
    switch (c) {
    case VG_SDP_CODEC_OPUS: return "opus";
    case VG_SDP_CODEC_VP8: return "VP8";
    case VG_SDP_CODEC_H264: return "H264";
    case VG_SDP_CODEC_NONE: break;
    }
    return "none";
}

static const char *setup_name(enum vg_sdp_setup s)
{
    switch (s) {
    case VG_SDP_SETUP_ACTPASS: return "actpass";
    case VG_SDP_SETUP_ACTIVE: return "active";
    case VG_SDP_SETUP_PASSIVE: return "passive";
    case VG_SDP_SETUP_HOLDCONN: return "holdconn";
    case VG_SDP_SETUP_NONE: break;
    }
    return "(none)";
}

/* Directions as bits, so "mirror the offer, then narrow to what we want" is two
 * operations. SEND is the sender's view of the section it writes. */
#define DIR_SEND 1u
#define DIR_RECV 2u

static unsigned dir_bits(enum vg_sdp_dir d)
{
    static const unsigned bits[] = {DIR_SEND | DIR_RECV, DIR_SEND, DIR_RECV, 0};
    return (unsigned)d <= VG_SDP_INACTIVE ? bits[d] : 0;
}

static enum vg_sdp_dir dir_of_bits(unsigned b)
{
    if (b == (DIR_SEND | DIR_RECV))
        return VG_SDP_SENDRECV;
    return b == DIR_SEND ? VG_SDP_SENDONLY : b == DIR_RECV ? VG_SDP_RECVONLY : VG_SDP_INACTIVE;
}

static enum vg_sdp_dir dir_mirror(enum vg_sdp_dir d)
{
    unsigned b = dir_bits(d);
    return dir_of_bits(((b & DIR_SEND) ? DIR_RECV : 0) | ((b & DIR_RECV) ? DIR_SEND : 0));
}

/* ---- the line parser --------------------------------------------------------- */

struct parser {
    struct vg_sdp *sdp;
    struct vg_sdp_media *m; /* the current section; NULL at session level */
    struct vg_sdp_error *err;
    unsigned line;
    bool seen_v, seen_o, seen_s, seen_t, seen_bundle;
    enum vg_sdp_dir session_dir;
};

#define PFAIL(ps, ...) fail((ps)->err, (ps)->line, VG_EINVAL, __VA_ARGS__)

static struct vg_sdp_transport *cur_transport(struct parser *ps)
{
    return ps->m ? &ps->m->transport : &ps->sdp->transport;
}

static struct vg_sdp_pt *find_pt(struct vg_sdp_media *m, uint32_t pt)
{
    for (size_t i = 0; i < m->n_pt; i++) {
        if (m->pt[i].pt == pt)
            return &m->pt[i];
    }
    return NULL;
}

static int parse_fmt_list(struct parser *ps, struct vg_sdp_media *m)
{
    struct vg_sdp_str rest = m->fmt, w;
    while ((w = sv_word(&rest)).len) {
        uint32_t pt;
        if (sv_u32(w, 127, &pt))
            return PFAIL(ps, "payload type \"%.*s\" is not 0..127", (int)w.len, w.p);
        if (find_pt(m, pt))
            continue;
        if (m->n_pt == VG_SDP_MAX_PT) {
            m->pt_dropped++;
            continue;
        }
        struct vg_sdp_pt *p = &m->pt[m->n_pt++];
        p->pt = (uint8_t)pt;
        p->apt = -1;
        p->packetization_mode = -1;
    }
    return 0;
}

static enum vg_sdp_kind kind_of(struct vg_sdp_str s)
{
    if (sv_eq(s, "audio"))
        return VG_SDP_KIND_AUDIO;
    if (sv_eq(s, "video"))
        return VG_SDP_KIND_VIDEO;
    if (sv_eq(s, "application"))
        return VG_SDP_KIND_APPLICATION;
    return VG_SDP_KIND_OTHER;
}

static bool proto_is_rtp(struct vg_sdp_str proto)
{
    for (size_t i = 0; i + 4 <= proto.len; i++) {
        if (memcmp(proto.p + i, "RTP/", 4) == 0)
            return true;
    }
    return false;
}

/* proto is token *("/" token) (RFC 8866 section 9); a rejected section echoes it,
 * and the fmt list, into our answer, so both are checked here. */
static bool proto_chars(struct vg_sdp_str s)
{
    struct vg_sdp_str rest = s;
    if (s.len == 0 || s.len > 64)
        return false;
    while (rest.len) {
        if (!token_chars(sv_split(&rest, '/'), 64))
            return false;
    }
    return s.p[s.len - 1] != '/';
}

static bool fmt_tokens(struct vg_sdp_str fmt)
{
    struct vg_sdp_str w;
    while ((w = sv_word(&fmt)).len) {
        if (!token_chars(w, 64))
            return false;
    }
    return true;
}

static int line_m(struct parser *ps, struct vg_sdp_str v)
{
    if (ps->sdp->n_media == VG_SDP_MAX_MEDIA)
        return fail(ps->err, ps->line, VG_ENOSPC, "too many media sections (the limit is %d)",
                    VG_SDP_MAX_MEDIA);
    struct vg_sdp_media *m = &ps->sdp->media[ps->sdp->n_media];
    m->line = ps->line;
    m->media = sv_word(&v);
    struct vg_sdp_str port = sv_word(&v);
    m->proto = sv_word(&v);
    m->fmt = sv_trim(v);
    if (!m->media.len || !m->proto.len || !m->fmt.len)
        return PFAIL(ps, "m= line needs media, port, proto and at least one format");
    if (!token_chars(m->media, 32) || !proto_chars(m->proto) || !fmt_tokens(m->fmt))
        return PFAIL(ps, "m= line media, proto and formats must be tokens");
    port = sv_split(&port, '/'); /* "port/count": the count is not used in WebRTC */
    uint32_t p;
    if (sv_u32(port, 65535, &p))
        return PFAIL(ps, "bad port in m= line");
    m->port = (uint16_t)p;
    m->kind = kind_of(m->media);
    m->rtp = proto_is_rtp(m->proto);
    m->dir = ps->session_dir;
    ps->sdp->n_media++;
    ps->m = m;
    return m->rtp ? parse_fmt_list(ps, m) : 0;
}

static int line_v(struct parser *ps, struct vg_sdp_str v)
{
    if (ps->seen_v)
        return PFAIL(ps, "second v= line");
    if (!sv_eq(v, "0"))
        return PFAIL(ps, "v= must be 0");
    ps->seen_v = true;
    return 0;
}

static int line_o(struct parser *ps, struct vg_sdp_str v)
{
    if (ps->m || ps->seen_o)
        return PFAIL(ps, "o= must appear once, at session level");
    struct vg_sdp *s = ps->sdp;
    s->o_user = sv_word(&v);
    s->o_sess_id = sv_word(&v);
    s->o_sess_version = sv_word(&v);
    struct vg_sdp_str net = sv_word(&v), af = sv_word(&v), addr = sv_word(&v);
    if (!s->o_sess_version.len || !net.len || !af.len || !addr.len)
        return PFAIL(ps, "o= needs username, session id, version, nettype, addrtype, address");
    ps->seen_o = true;
    return 0;
}

static int line_s(struct parser *ps, struct vg_sdp_str v)
{
    if (ps->m || ps->seen_s)
        return PFAIL(ps, "s= must appear once, at session level");
    ps->sdp->session_name = v;
    ps->seen_s = true;
    return 0;
}

static int line_c(struct parser *ps, struct vg_sdp_str v)
{
    if (!sv_eat(&v, "IN "))
        return PFAIL(ps, "c= must start with IN");
    v = sv_trim(v);
    if (ps->m)
        ps->m->c = v;
    else
        ps->sdp->c = v;
    return 0;
}

/* ---- attributes -------------------------------------------------------------- */

static int a_group(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_str sem = sv_word(&v), mid;
    /* Only the first BUNDLE group: one leg is one transport. Sections in another
     * group end up outside ours and are rejected. */
    if (!sv_eq(sem, "BUNDLE") || ps->seen_bundle)
        return 0;
    ps->seen_bundle = true;
    while ((mid = sv_word(&v)).len) {
        if (!token_chars(mid, VG_SDP_MID_MAX))
            return PFAIL(ps, "bad mid in a=group:BUNDLE");
        if (ps->sdp->n_bundle == VG_SDP_MAX_MEDIA)
            return PFAIL(ps, "a=group:BUNDLE names more than %d mids", VG_SDP_MAX_MEDIA);
        ps->sdp->bundle[ps->sdp->n_bundle++] = mid;
    }
    return 0;
}

static int a_msid_semantic(struct parser *ps, struct vg_sdp_str v)
{
    /* Chromium writes "a=msid-semantic: WMS stream", with a space after the colon. */
    ps->sdp->msid_semantic = sv_trim(v);
    return 0;
}

static int a_ice_lite(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->sdp->ice_lite = true;
    return 0;
}

static int a_extmap_allow_mixed(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->sdp->extmap_allow_mixed = true;
    return 0;
}

static int a_ice_ufrag(struct parser *ps, struct vg_sdp_str v)
{
    if (!ice_chars(v.p, v.len, 1, VG_SDP_ICE_MAX))
        return PFAIL(ps, "a=ice-ufrag must be 1..%d ice-chars", VG_SDP_ICE_MAX);
    cur_transport(ps)->ice_ufrag = v;
    return 0;
}

static int a_ice_pwd(struct parser *ps, struct vg_sdp_str v)
{
    if (!ice_chars(v.p, v.len, 1, VG_SDP_ICE_MAX))
        return PFAIL(ps, "a=ice-pwd must be 1..%d ice-chars", VG_SDP_ICE_MAX);
    cur_transport(ps)->ice_pwd = v;
    return 0;
}

static int a_ice_options(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_transport *t = cur_transport(ps);
    struct vg_sdp_str rest = v, w;
    t->ice_options = sv_trim(v);
    while ((w = sv_word(&rest)).len) {
        if (sv_eq(w, "trickle"))
            t->trickle = true;
    }
    return 0;
}

static int a_fingerprint(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_transport *t = cur_transport(ps);
    struct vg_sdp_str hash = sv_word(&v), value = sv_trim(v);
    if (!token_chars(hash, 16) || !value.len)
        return PFAIL(ps, "a=fingerprint needs a hash name and a value");
    if (sv_ieq(hash, "sha-256") && !fp_sha256_ok(value.p, value.len))
        return PFAIL(ps, "a=fingerprint sha-256 value must be 32 hex pairs joined by ':'");
    if (t->n_fp < VG_SDP_MAX_FP)
        t->fp[t->n_fp++] = (struct vg_sdp_fingerprint){hash, value};
    return 0;
}

static int a_setup(struct parser *ps, struct vg_sdp_str v)
{
    static const char *const names[] = {"actpass", "active", "passive", "holdconn"};
    for (int i = 0; i < 4; i++) {
        if (sv_eq(v, names[i])) {
            cur_transport(ps)->setup = (enum vg_sdp_setup)(VG_SDP_SETUP_ACTPASS + i);
            return 0;
        }
    }
    return PFAIL(ps, "a=setup must be actpass, active, passive or holdconn");
}

static int a_mid(struct parser *ps, struct vg_sdp_str v)
{
    if (!token_chars(v, VG_SDP_MID_MAX))
        return PFAIL(ps, "a=mid must be 1..%d token characters", VG_SDP_MID_MAX);
    if (ps->m->mid.len)
        return PFAIL(ps, "second a=mid in one section");
    ps->m->mid = v;
    return 0;
}

static int set_dir(struct parser *ps, enum vg_sdp_dir d)
{
    if (ps->m) {
        ps->m->dir = d;
        ps->m->dir_set = true;
    } else {
        ps->session_dir = d;
    }
    return 0;
}

static int a_sendrecv(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    return set_dir(ps, VG_SDP_SENDRECV);
}

static int a_sendonly(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    return set_dir(ps, VG_SDP_SENDONLY);
}

static int a_recvonly(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    return set_dir(ps, VG_SDP_RECVONLY);
}

static int a_inactive(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    return set_dir(ps, VG_SDP_INACTIVE);
}

static int a_rtcp_mux(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->m->rtcp_mux = true;
    return 0;
}

static int a_rtcp_rsize(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->m->rtcp_rsize = true;
    return 0;
}

static int a_bundle_only(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->m->bundle_only = true;
    return 0;
}

static int a_end_of_candidates(struct parser *ps, struct vg_sdp_str v)
{
    (void)v;
    ps->m->end_of_candidates = true;
    return 0;
}

static int a_rtpmap(struct parser *ps, struct vg_sdp_str v)
{
    uint32_t pt, clock, ch = 0;
    if (sv_u32(sv_word(&v), 127, &pt))
        return PFAIL(ps, "bad payload type in a=rtpmap");
    struct vg_sdp_str enc = sv_trim(v);
    struct vg_sdp_str name = sv_split(&enc, '/');
    struct vg_sdp_str rate = sv_split(&enc, '/');
    if (!token_chars(name, 32) || sv_u32(rate, UINT32_MAX, &clock) || clock == 0 ||
        (enc.len && (sv_u32(enc, 255, &ch) || ch == 0)))
        return PFAIL(ps, "a=rtpmap must be <pt> <name>/<clock>[/<channels>]");
    struct vg_sdp_pt *p = find_pt(ps->m, pt);
    if (!p)
        return 0; /* not on the m= line (or past our maximum): nothing to describe */
    p->has_rtpmap = true;
    p->name = name;
    p->clock = clock;
    p->channels = (uint8_t)ch;
    return 0;
}

/* Interprets the three fmtp parameters negotiation depends on; the others stay in
 * the raw string. */
static int fmtp_param(struct parser *ps, struct vg_sdp_pt *p, struct vg_sdp_str key,
                      struct vg_sdp_str val)
{
    uint32_t n;
    if (sv_ieq(key, "apt")) {
        if (sv_u32(val, 127, &n))
            return PFAIL(ps, "a=fmtp apt= must be a payload type");
        p->apt = (int16_t)n;
    } else if (sv_ieq(key, "packetization-mode")) {
        if (sv_u32(val, 2, &n))
            return PFAIL(ps, "a=fmtp packetization-mode= must be 0, 1 or 2");
        p->packetization_mode = (int8_t)n;
    } else if (sv_ieq(key, "profile-level-id")) {
        uint32_t id = 0;
        bool ok = val.len == 6;
        for (size_t i = 0; ok && i < 6; i++) {
            int h = vg_hex_value(val.p[i]);
            ok = h >= 0;
            id = id << 4 | (uint32_t)(h & 0xf);
        }
        if (!ok)
            return PFAIL(ps, "a=fmtp profile-level-id= must be 6 hex digits");
        p->has_profile_level_id = true;
        p->profile_level_id = id;
    }
    return 0;
}

static int a_fmtp(struct parser *ps, struct vg_sdp_str v)
{
    uint32_t pt;
    if (sv_u32(sv_word(&v), 127, &pt))
        return PFAIL(ps, "bad payload type in a=fmtp");
    struct vg_sdp_pt *p = find_pt(ps->m, pt);
    if (!p)
        return 0;
    p->has_fmtp = true;
    p->fmtp = sv_trim(v);
    struct vg_sdp_str rest = p->fmtp;
    while (rest.len) {
        struct vg_sdp_str item = sv_split(&rest, ';');
        struct vg_sdp_str key = sv_split(&item, '=');
        int rc = fmtp_param(ps, p, sv_trim(key), sv_trim(item));
        if (rc)
            return rc;
    }
    return 0;
}

static uint8_t fb_bit(struct vg_sdp_str v)
{
    struct vg_sdp_str type = sv_word(&v), param = sv_trim(v);
    if (sv_eq(type, "nack"))
        return param.len == 0        ? VG_SDP_FB_NACK
               : sv_eq(param, "pli") ? VG_SDP_FB_NACK_PLI
                                     : VG_SDP_FB_OTHER;
    if (sv_eq(type, "ccm") && sv_eq(param, "fir"))
        return VG_SDP_FB_CCM_FIR;
    if (sv_eq(type, "goog-remb") && param.len == 0)
        return VG_SDP_FB_GOOG_REMB;
    if (sv_eq(type, "transport-cc") && param.len == 0)
        return VG_SDP_FB_TRANSPORT_CC;
    return VG_SDP_FB_OTHER;
}

static int a_rtcp_fb(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_str which = sv_word(&v);
    uint8_t bit = fb_bit(v);
    uint32_t pt;
    if (sv_eq(which, "*")) {
        for (size_t i = 0; i < ps->m->n_pt; i++)
            ps->m->pt[i].fb |= bit;
        return 0;
    }
    if (sv_u32(which, 127, &pt))
        return PFAIL(ps, "bad payload type in a=rtcp-fb");
    struct vg_sdp_pt *p = find_pt(ps->m, pt);
    if (p)
        p->fb |= bit;
    return 0;
}

static int a_extmap(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_media *m = ps->m;
    struct vg_sdp_str dir = sv_word(&v), uri = sv_word(&v);
    struct vg_sdp_str idw = sv_split(&dir, '/');
    uint32_t id;
    enum vg_sdp_dir d = VG_SDP_SENDRECV;
    if (sv_u32(idw, 255, &id) || id == 0 || !uri.len || (dir.len && parse_dir(dir, &d)))
        return PFAIL(ps, "a=extmap must be <1..255>[/<direction>] <uri>");
    for (size_t i = 0; i < m->n_ext; i++) {
        if (m->ext[i].id == id)
            return PFAIL(ps, "a=extmap id %" PRIu32 " used twice in one section", id);
    }
    if (m->n_ext == VG_SDP_MAX_EXTMAP) {
        m->ext_dropped++;
        return 0;
    }
    m->ext[m->n_ext++] = (struct vg_sdp_extmap){(uint16_t)id, d, uri};
    return 0;
}

static int a_ssrc(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_media *m = ps->m;
    uint32_t ssrc;
    if (sv_u32(sv_word(&v), UINT32_MAX, &ssrc))
        return PFAIL(ps, "bad SSRC in a=ssrc");
    struct vg_sdp_str value = sv_trim(v);
    struct vg_sdp_str attr = sv_split(&value, ':');
    if (!token_chars(attr, 64))
        return PFAIL(ps, "a=ssrc needs an attribute");
    if (m->n_ssrc == VG_SDP_MAX_SSRC) {
        m->ssrc_dropped++;
        return 0;
    }
    m->ssrc[m->n_ssrc++] = (struct vg_sdp_ssrc){ssrc, attr, value};
    return 0;
}

static int a_ssrc_group(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_media *m = ps->m;
    uint32_t a, b;
    if (!sv_eq(sv_word(&v), "FID"))
        return 0; /* SIM (legacy simulcast) and FEC-FR are not used */
    if (sv_u32(sv_word(&v), UINT32_MAX, &a) || sv_u32(sv_word(&v), UINT32_MAX, &b) ||
        sv_trim(v).len)
        return PFAIL(ps, "a=ssrc-group:FID needs exactly two SSRCs");
    if (m->n_fid < VG_SDP_MAX_FID)
        m->fid[m->n_fid++] = (struct vg_sdp_fid){a, b};
    return 0;
}

static int a_msid(struct parser *ps, struct vg_sdp_str v)
{
    ps->m->msid_stream = sv_word(&v);
    ps->m->msid_track = sv_word(&v);
    if (!ps->m->msid_stream.len)
        return PFAIL(ps, "a=msid needs a stream id");
    return 0;
}

static const char *cand_parse(struct vg_sdp_str v, struct vg_sdp_candidate *c);

static int a_candidate(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_media *m = ps->m;
    struct vg_sdp_candidate c;
    const char *why = cand_parse(v, &c);
    if (why)
        return PFAIL(ps, "a=candidate: %s", why);
    if (m->n_cand == VG_SDP_MAX_CAND) {
        m->cand_dropped++; /* ICE works with fewer; the first are the best (host) ones */
        return 0;
    }
    m->cand[m->n_cand++] = c;
    return 0;
}

static int a_rid(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_str id = sv_word(&v), dir = sv_word(&v);
    if (!token_chars(id, 32) || (!sv_eq(dir, "send") && !sv_eq(dir, "recv")))
        return PFAIL(ps, "a=rid must be <id> send|recv [params]");
    if (ps->m->n_rid < VG_SDP_MAX_RID)
        ps->m->rid[ps->m->n_rid++] = (struct vg_sdp_rid){id, sv_eq(dir, "send")};
    return 0;
}

static int a_simulcast(struct parser *ps, struct vg_sdp_str v)
{
    ps->m->simulcast = sv_trim(v);
    return 0;
}

/* Which attributes we read, and at which level. An attribute at a level it does
 * not belong to is ignored like an unknown one, as RFC 8866 section 5 asks. */
static const struct attr_rule {
    const char *name;
    bool session, media;
    int (*fn)(struct parser *ps, struct vg_sdp_str value);
} attr_rules[] = {
    {"group", true, false, a_group},
    {"msid-semantic", true, false, a_msid_semantic},
    {"ice-lite", true, false, a_ice_lite},
    {"extmap-allow-mixed", true, true, a_extmap_allow_mixed},
    {"ice-ufrag", true, true, a_ice_ufrag},
    {"ice-pwd", true, true, a_ice_pwd},
    {"ice-options", true, true, a_ice_options},
    {"fingerprint", true, true, a_fingerprint},
    {"setup", true, true, a_setup},
    {"sendrecv", true, true, a_sendrecv},
    {"sendonly", true, true, a_sendonly},
    {"recvonly", true, true, a_recvonly},
    {"inactive", true, true, a_inactive},
    {"mid", false, true, a_mid},
    {"rtcp-mux", false, true, a_rtcp_mux},
    {"rtcp-rsize", false, true, a_rtcp_rsize},
    {"bundle-only", false, true, a_bundle_only},
    {"end-of-candidates", false, true, a_end_of_candidates},
    {"rtpmap", false, true, a_rtpmap},
    {"fmtp", false, true, a_fmtp},
    {"rtcp-fb", false, true, a_rtcp_fb},
    {"extmap", false, true, a_extmap},
    {"ssrc", false, true, a_ssrc},
    {"ssrc-group", false, true, a_ssrc_group},
    {"msid", false, true, a_msid},
    {"candidate", false, true, a_candidate},
    {"rid", false, true, a_rid},
    {"simulcast", false, true, a_simulcast},
};

static int line_a(struct parser *ps, struct vg_sdp_str v)
{
    struct vg_sdp_str name = sv_split(&v, ':');
    for (size_t i = 0; i < sizeof attr_rules / sizeof attr_rules[0]; i++) {
        const struct attr_rule *r = &attr_rules[i];
        if (sv_eq(name, r->name))
            return (ps->m ? r->media : r->session) ? r->fn(ps, v) : 0;
    }
    return 0;
}

static bool has_control(struct vg_sdp_str l)
{
    for (size_t i = 0; i < l.len; i++) {
        unsigned char c = (unsigned char)l.p[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static int parse_line(struct parser *ps, struct vg_sdp_str l)
{
    if (l.len == 0)
        return 0; /* blank lines (a trailing one, mostly) are tolerated */
    if (has_control(l))
        return PFAIL(ps, "control character in line");
    if (l.len < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
        return PFAIL(ps, "expected <letter>=<value>");
    if (!ps->seen_v && l.p[0] != 'v')
        return PFAIL(ps, "the first line must be v=0");
    struct vg_sdp_str v = {l.p + 2, l.len - 2};
    switch (l.p[0]) {
    case 'v': return line_v(ps, v);
    case 'o': return line_o(ps, v);
    case 's': return line_s(ps, v);
    case 't': ps->seen_t = true; return 0;
    case 'c': return line_c(ps, v);
    case 'm': return line_m(ps, v);
    case 'a': return line_a(ps, v);
    default: return 0; /* b=, i=, u=, e=, p=, r=, z=, k=: nothing we use */
    }
}

static int parse_finish(struct parser *ps)
{
    const struct vg_sdp *s = ps->sdp;
    if (!ps->seen_v)
        return fail(ps->err, 0, VG_EINVAL, "empty SDP: no v= line");
    if (!ps->seen_o || !ps->seen_s || !ps->seen_t)
        return fail(ps->err, 0, VG_EINVAL, "missing %s line",
                    !ps->seen_o   ? "o="
                    : !ps->seen_s ? "s="
                                  : "t=");
    for (size_t i = 0; i < s->n_media; i++) {
        for (size_t j = 0; j < i && s->media[i].mid.len; j++) {
            if (s->media[j].mid.len == s->media[i].mid.len &&
                memcmp(s->media[j].mid.p, s->media[i].mid.p, s->media[i].mid.len) == 0)
                return fail(ps->err, s->media[i].line, VG_EINVAL, "mid %.*s used twice",
                            (int)s->media[i].mid.len, s->media[i].mid.p);
        }
    }
    return 0;
}

int vg_sdp_parse(const char *text, size_t len, struct vg_sdp *sdp, struct vg_sdp_error *err)
{
    clear_err(err);
    memset(sdp, 0, sizeof *sdp);
    if (len > VG_SDP_TEXT_MAX)
        return fail(err, 0, VG_ENOSPC, "SDP of %zu bytes is over the limit of %d", len,
                    VG_SDP_TEXT_MAX);
    if (!text)
        len = 0;
    struct parser ps = {.sdp = sdp, .err = err};
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        struct vg_sdp_str line = {text + pos, end - pos};
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        ps.line++;
        pos = nl ? end + 1 : len;
        int rc = parse_line(&ps, line);
        if (rc)
            return rc;
    }
    return parse_finish(&ps);
}

/* ---- candidates --------------------------------------------------------------- */

/* IP literals, FQDNs and mDNS names; '%' for an IPv6 zone. */
static bool addr_chars(struct vg_sdp_str s)
{
    if (s.len == 0 || s.len > 255)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == ':' || c == '-' || c == '_' || c == '%';
        if (!ok)
            return false;
    }
    return true;
}

static const char *cand_type(struct vg_sdp_str s, enum vg_sdp_cand_type *t)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    for (int i = 0; i < 4; i++) {
        if (sv_eq(s, names[i])) {
            *t = (enum vg_sdp_cand_type)i;
            return NULL;
        }
    }
    return "typ must be host, srflx, prflx or relay";
}

static const char *cand_tcptype(struct vg_sdp_str s, enum vg_sdp_tcptype *t)
{
    static const char *const names[] = {"active", "passive", "so"};
    for (int i = 0; i < 3; i++) {
        if (sv_eq(s, names[i])) {
            *t = (enum vg_sdp_tcptype)(VG_SDP_TCPTYPE_ACTIVE + i);
            return NULL;
        }
    }
    return "tcptype must be active, passive or so";
}

/* The name/value pairs after "typ <type>". Chromium adds generation, ufrag,
 * network-id and network-cost; unknown pairs are skipped (RFC 8839 section 5.1). */
static const char *cand_extensions(struct vg_sdp_str v, struct vg_sdp_candidate *c)
{
    struct vg_sdp_str name, val;
    uint32_t n;
    while ((name = sv_word(&v)).len) {
        val = sv_word(&v);
        if (!val.len)
            return "candidate extension without a value";
        if (sv_eq(name, "raddr")) {
            if (!addr_chars(val))
                return "bad raddr";
            c->raddr = val;
        } else if (sv_eq(name, "rport")) {
            if (sv_u32(val, 65535, &n))
                return "bad rport";
            c->rport = (uint16_t)n;
        } else if (sv_eq(name, "tcptype")) {
            const char *why = cand_tcptype(val, &c->tcptype);
            if (why)
                return why;
        } else if (sv_eq(name, "ufrag")) {
            c->ufrag = val;
        }
    }
    return NULL;
}

static const char *cand_parse(struct vg_sdp_str v, struct vg_sdp_candidate *c)
{
    memset(c, 0, sizeof *c);
    struct vg_sdp_str f[8];
    uint32_t comp, prio, port;
    for (int i = 0; i < 8; i++)
        f[i] = sv_word(&v);
    if (!f[7].len)
        return "needs foundation, component, transport, priority, address, port, typ, type";
    if (!ice_chars(f[0].p, f[0].len, 1, 32))
        return "foundation must be 1..32 ice-chars";
    if (sv_u32(f[1], 256, &comp) || comp == 0)
        return "component must be 1..256";
    if (!sv_ieq(f[2], "udp") && !sv_ieq(f[2], "tcp"))
        return "transport must be UDP or TCP";
    if (sv_u32(f[3], UINT32_MAX, &prio) || prio == 0)
        return "priority must be 1..2^32-1";
    if (!addr_chars(f[4]))
        return "bad connection address";
    if (sv_u32(f[5], 65535, &port))
        return "port must be 0..65535";
    if (!sv_eq(f[6], "typ"))
        return "expected \"typ\" after the port";
    *c = (struct vg_sdp_candidate){.foundation = f[0],
                                   .component = (uint16_t)comp,
                                   .tcp = sv_ieq(f[2], "tcp"),
                                   .priority = prio,
                                   .address = f[4],
                                   .port = (uint16_t)port};
    const char *why = cand_type(f[7], &c->type);
    return why ? why : cand_extensions(v, c);
}

int vg_sdp_parse_candidate(const char *s, size_t len, struct vg_sdp_candidate *c,
                           struct vg_sdp_error *err)
{
    clear_err(err);
    struct vg_sdp_str v = {s, s ? len : 0};
    while (v.len && (v.p[v.len - 1] == '\n' || v.p[v.len - 1] == '\r'))
        v.len--;
    v = sv_trim(v);
    sv_eat(&v, "a=");
    if (v.len == 0 || sv_eq(v, "end-of-candidates"))
        return VG_ENOENT;
    sv_eat(&v, "candidate:");
    if (has_control(v))
        return fail(err, 1, VG_EINVAL, "control character in candidate");
    const char *why = cand_parse(v, c);
    if (why)
        return fail(err, 1, VG_EINVAL, "candidate: %s", why);
    return 0;
}

/* ---- local parameters ----------------------------------------------------------- */

static const enum vg_sdp_codec default_codecs[] = {VG_SDP_CODEC_OPUS, VG_SDP_CODEC_VP8,
                                                   VG_SDP_CODEC_H264};

static size_t local_codecs(const struct vg_sdp_local *l, const enum vg_sdp_codec **list)
{
    if (l->n_codecs == 0) {
        *list = default_codecs;
        return sizeof default_codecs / sizeof default_codecs[0];
    }
    *list = l->codecs;
    return l->n_codecs;
}

static enum vg_sdp_kind codec_kind(enum vg_sdp_codec c)
{
    if (c == VG_SDP_CODEC_OPUS)
        return VG_SDP_KIND_AUDIO;
    if (c == VG_SDP_CODEC_VP8 || c == VG_SDP_CODEC_H264)
        return VG_SDP_KIND_VIDEO;
    return VG_SDP_KIND_OTHER;
}

/* cname and stream id go into a=ssrc and a=msid lines verbatim. */
static bool name_ok(const char *s)
{
    size_t n = s ? strnlen(s, VG_SDP_NAME_MAX + 1) : 0;
    if (n == 0 || n > VG_SDP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '+' || c == '{' || c == '}';
        if (!ok)
            return false;
    }
    return true;
}

static bool local_has_kind(const struct vg_sdp_local *l, enum vg_sdp_kind k)
{
    const enum vg_sdp_codec *list;
    size_t n = local_codecs(l, &list);
    for (size_t i = 0; i < n; i++) {
        if (codec_kind(list[i]) == k)
            return true;
    }
    return false;
}

static int check_local_sections(const struct vg_sdp_local *l, bool offering,
                                struct vg_sdp_error *err)
{
    if (l->n_send > VG_SDP_MAX_MEDIA || (offering && l->n_send == 0))
        return fail(err, 0, VG_EINVAL, "local sections must number 1..%d", VG_SDP_MAX_MEDIA);
    for (size_t i = 0; i < l->n_send; i++) {
        const struct vg_sdp_send *s = &l->send[i];
        if ((unsigned)s->dir > VG_SDP_INACTIVE)
            return fail(err, 0, VG_EINVAL, "local section %zu: bad direction", i);
        if (!offering)
            continue;
        if (s->kind != VG_SDP_KIND_AUDIO && s->kind != VG_SDP_KIND_VIDEO)
            return fail(err, 0, VG_EINVAL, "local section %zu: only audio and video", i);
        if (!local_has_kind(l, s->kind))
            return fail(err, 0, VG_EINVAL, "local section %zu: no local codec of its kind", i);
    }
    return 0;
}

static int check_local(const struct vg_sdp_local *l, bool offering, struct vg_sdp_error *err)
{
    if (!l || !l->ice_ufrag || !l->ice_pwd || !l->fingerprint)
        return fail(err, 0, VG_EINVAL, "local ICE credentials and fingerprint are required");
    if (!ice_chars(l->ice_ufrag, strnlen(l->ice_ufrag, VG_SDP_ICE_MAX + 1), 4, VG_SDP_ICE_MAX))
        return fail(err, 0, VG_EINVAL, "local ice-ufrag must be 4..256 ice-chars");
    if (!ice_chars(l->ice_pwd, strnlen(l->ice_pwd, VG_SDP_ICE_MAX + 1), 22, VG_SDP_ICE_MAX))
        return fail(err, 0, VG_EINVAL, "local ice-pwd must be 22..256 ice-chars");
    if (!fp_sha256_ok(l->fingerprint, strnlen(l->fingerprint, VG_SDP_FP_SHA256_LEN + 1)))
        return fail(err, 0, VG_EINVAL, "local fingerprint must be sha-256 hex pairs");
    if (!name_ok(l->cname) || !name_ok(l->stream_id))
        return fail(err, 0, VG_EINVAL, "local cname and stream id must be 1..64 token chars");
    if (l->n_codecs > VG_SDP_MAX_CODECS)
        return fail(err, 0, VG_EINVAL, "more than %d local codecs", VG_SDP_MAX_CODECS);
    for (size_t i = 0; i < l->n_codecs; i++) {
        if (codec_kind(l->codecs[i]) == VG_SDP_KIND_OTHER)
            return fail(err, 0, VG_EINVAL, "unknown local codec %d", (int)l->codecs[i]);
    }
    if ((unsigned)l->setup > VG_SDP_SETUP_PASSIVE)
        return fail(err, 0, VG_EINVAL, "local setup must be actpass, active or passive");
    return check_local_sections(l, offering, err);
}

/* ---- what an offer section can give us ------------------------------------------ */

static int pt_index(const struct vg_sdp_media *m, uint32_t pt)
{
    for (size_t i = 0; i < m->n_pt; i++) {
        if (m->pt[i].pt == pt)
            return (int)i;
    }
    return -1;
}

/* Lower is better, -1 unusable. Consoles decode baseline only, and packetization
 * mode 0 (one NAL unit per packet) cannot carry the frames browsers send. An absent
 * profile-level-id means 42000a (RFC 6184 section 8.1): baseline, level 1.0. */
static int h264_rank(const struct vg_sdp_pt *p)
{
    if (p->packetization_mode != 1)
        return -1;
    if (!p->has_profile_level_id)
        return 3;
    uint32_t id = p->profile_level_id;
    if (id == 0x42e01f)
        return 0;
    if ((id >> 16) != 0x42)
        return -1;
    return (id >> 8 & 0x40) ? 1 : 2; /* constraint_set1: constrained baseline */
}

static int codec_rank(const struct vg_sdp_pt *p, enum vg_sdp_codec c)
{
    if (!p->has_rtpmap)
        return -1;
    switch (c) {
    case VG_SDP_CODEC_OPUS:
        return sv_ieq(p->name, "opus") && p->clock == 48000 && p->channels == 2 ? 0 : -1;
    case VG_SDP_CODEC_VP8: return sv_ieq(p->name, "VP8") && p->clock == 90000 ? 0 : -1;
    case VG_SDP_CODEC_H264: return sv_ieq(p->name, "H264") && p->clock == 90000 ? h264_rank(p) : -1;
    case VG_SDP_CODEC_NONE: break;
    }
    return -1;
}

/* The best payload type for codec c; ties go to the offerer's order. */
static int pick_pt(const struct vg_sdp_media *m, enum vg_sdp_codec c)
{
    int best = -1, best_rank = 0;
    for (size_t i = 0; i < m->n_pt; i++) {
        int r = codec_rank(&m->pt[i], c);
        if (r >= 0 && (best < 0 || r < best_rank)) {
            best = (int)i;
            best_rank = r;
        }
    }
    return best;
}

static int16_t find_rtx(const struct vg_sdp_media *m, uint8_t apt, uint32_t clock)
{
    for (size_t i = 0; i < m->n_pt; i++) {
        const struct vg_sdp_pt *p = &m->pt[i];
        if (p->has_rtpmap && sv_ieq(p->name, "rtx") && p->apt == apt && p->clock == clock)
            return p->pt;
    }
    return -1;
}

static void take_codec(struct vg_sdp_nego_media *nm, enum vg_sdp_codec c, const struct vg_sdp_pt *p)
{
    nm->codec = c;
    nm->pt = p->pt;
    nm->clock = p->clock;
    nm->channels = p->channels;
    nm->fb = p->fb & VG_SDP_FB_SERVED;
    if (c == VG_SDP_CODEC_H264)
        nm->h264_profile_level_id = p->has_profile_level_id ? p->profile_level_id : 0x42000a;
}

/* Our preference decides the codec, the offer's order the payload type: a console
 * must be able to decode what the citizen sends without transcoding. */
static int choose_codec(const struct vg_sdp_media *m, const struct vg_sdp_local *l,
                        struct vg_sdp_nego_media *nm)
{
    const enum vg_sdp_codec *list;
    size_t n = local_codecs(l, &list);
    for (size_t i = 0; i < n; i++) {
        if (codec_kind(list[i]) != m->kind)
            continue;
        int k = pick_pt(m, list[i]);
        if (k < 0)
            continue;
        take_codec(nm, list[i], &m->pt[k]);
        if (m->kind == VG_SDP_KIND_VIDEO)
            nm->rtx_pt = find_rtx(m, m->pt[k].pt, m->pt[k].clock);
        return 0;
    }
    return -1;
}

/* The extensions we serve, in the order of their ids in our offers. */
enum { EXT_LEVEL, EXT_AST, EXT_TWCC, EXT_MID, EXT_N };
static const char *const ext_uris[EXT_N] = {VG_SDP_URI_AUDIO_LEVEL, VG_SDP_URI_ABS_SEND_TIME,
                                            VG_SDP_URI_TWCC, VG_SDP_URI_MID};

static int ext_which(struct vg_sdp_str uri)
{
    for (int i = 0; i < EXT_N; i++) {
        if (sv_eq(uri, ext_uris[i]))
            return i;
    }
    return -1;
}

static uint16_t *ext_slot(struct vg_sdp_nego_media *nm, int which)
{
    switch (which) {
    case EXT_LEVEL: return &nm->ext_audio_level;
    case EXT_AST: return &nm->ext_abs_send_time;
    case EXT_TWCC: return &nm->ext_twcc;
    default: return &nm->ext_mid;
    }
}

static uint16_t ext_get(const struct vg_sdp_nego_media *nm, int which)
{
    switch (which) {
    case EXT_LEVEL: return nm->ext_audio_level;
    case EXT_AST: return nm->ext_abs_send_time;
    case EXT_TWCC: return nm->ext_twcc;
    default: return nm->ext_mid;
    }
}

static void choose_exts(const struct vg_sdp_media *m, struct vg_sdp_nego_media *nm)
{
    for (size_t i = 0; i < m->n_ext; i++) {
        int which = ext_which(m->ext[i].uri);
        /* transport-wide sequence numbers only mean something with transport-cc
         * feedback, which the gateway does not send (sdp.h, VG_SDP_FB_SERVED) */
        if (which >= 0 && which != EXT_TWCC && *ext_slot(nm, which) == 0)
            *ext_slot(nm, which) = m->ext[i].id;
    }
}

static uint32_t fid_rtx_of(const struct vg_sdp_media *m, uint32_t ssrc, bool *is_rtx)
{
    uint32_t rtx = 0;
    *is_rtx = false;
    for (size_t i = 0; i < m->n_fid; i++) {
        if (m->fid[i].rtx == ssrc)
            *is_rtx = true;
        if (m->fid[i].media == ssrc)
            rtx = m->fid[i].rtx;
    }
    return rtx;
}

/* The remote's media SSRCs, each with its RTX SSRC when an FID group pairs them. */
static void collect_ssrcs(const struct vg_sdp_media *m, struct vg_sdp_nego_media *nm)
{
    for (size_t i = 0; i < m->n_ssrc; i++) {
        uint32_t s = m->ssrc[i].ssrc;
        bool is_rtx, seen = false;
        uint32_t rtx = fid_rtx_of(m, s, &is_rtx);
        for (size_t k = 0; k < nm->n_remote_ssrc; k++)
            seen |= nm->remote_ssrc[k].ssrc == s;
        if (is_rtx || seen)
            continue;
        if (nm->n_remote_ssrc == VG_SDP_NEGO_SSRC) {
            nm->remote_ssrc_truncated = true;
            continue;
        }
        nm->remote_ssrc[nm->n_remote_ssrc].ssrc = s;
        nm->remote_ssrc[nm->n_remote_ssrc++].rtx = rtx;
    }
    nm->remote_ssrc_truncated |= m->ssrc_dropped > 0;
}

static void reject(struct vg_sdp_nego_media *nm, const char *why)
{
    struct vg_sdp_nego_media keep = {.kind = nm->kind, .rtx_pt = -1};
    memcpy(keep.mid, nm->mid, sizeof keep.mid);
    *nm = keep;
    snprintf(nm->reason, sizeof nm->reason, "%s", why);
}

/* JSEP section 5.1.2: "RTP/SAVPF" is what older DTLS-SRTP offerers write. */
static bool proto_ok(struct vg_sdp_str proto)
{
    return sv_eq(proto, "UDP/TLS/RTP/SAVPF") || sv_eq(proto, "RTP/SAVPF");
}

static void set_local_ssrcs(struct vg_sdp_nego_media *nm, const struct vg_sdp_send *s)
{
    if (!s || !(dir_bits(nm->dir) & DIR_SEND))
        return;
    nm->local_ssrc = s->ssrc;
    nm->local_rtx_ssrc = nm->rtx_pt >= 0 && s->ssrc ? s->rtx_ssrc : 0;
}

/* ---- answering ------------------------------------------------------------------- */

#define NO_COMMON_CODEC "no common codec"

static const char *section_unusable(const struct vg_sdp_media *m)
{
    if (m->kind == VG_SDP_KIND_APPLICATION)
        return "data channel: the gateway's chat uses WebSocket";
    if (m->kind != VG_SDP_KIND_AUDIO && m->kind != VG_SDP_KIND_VIDEO)
        return "media type not supported";
    if (!proto_ok(m->proto))
        return "proto is not UDP/TLS/RTP/SAVPF";
    if (m->port == 0 && !m->bundle_only)
        return "rejected in the offer (port 0)";
    if (!m->mid.len)
        return "no a=mid";
    return NULL;
}

static int answer_section(const struct vg_sdp *o, size_t i, const struct vg_sdp_local *l,
                          struct vg_sdp_nego_media *nm, struct vg_sdp_error *err)
{
    const struct vg_sdp_media *m = &o->media[i];
    copy_sv(nm->mid, sizeof nm->mid, m->mid);
    nm->kind = m->kind;
    nm->rtx_pt = -1;
    const char *why = section_unusable(m);
    if (!why && choose_codec(m, l, nm))
        why = NO_COMMON_CODEC;
    if (why) {
        reject(nm, why);
        return 0;
    }
    if (!m->rtcp_mux)
        return fail(err, m->line, VG_EPROTO,
                    "mid %s: no a=rtcp-mux (the gateway needs RTP and RTCP on one port)", nm->mid);
    const struct vg_sdp_send *s = i < l->n_send ? &l->send[i] : NULL;
    unsigned want = s ? dir_bits(s->dir) : dir_bits(VG_SDP_SENDRECV);
    nm->dir = dir_of_bits(dir_bits(dir_mirror(m->dir)) & want);
    set_local_ssrcs(nm, s);
    choose_exts(m, nm);
    collect_ssrcs(m, nm);
    nm->rtcp_rsize = m->rtcp_rsize;
    nm->n_remote_rid = m->n_rid;
    nm->accepted = true;
    return 0;
}

static int answer_sections(const struct vg_sdp *o, const struct vg_sdp_local *l,
                           struct vg_sdp_nego *n, struct vg_sdp_error *err)
{
    size_t accepted = 0;
    bool codec_miss = false;
    n->n_media = o->n_media;
    for (size_t i = 0; i < o->n_media; i++) {
        int rc = answer_section(o, i, l, &n->media[i], err);
        if (rc)
            return rc;
        accepted += n->media[i].accepted;
        codec_miss |= strcmp(n->media[i].reason, NO_COMMON_CODEC) == 0;
    }
    if (accepted)
        return 0;
    if (codec_miss)
        return fail(err, 0, VG_EPROTO, NO_COMMON_CODEC " in any audio or video section");
    return fail(err, 0, VG_EPROTO, "no audio or video section the gateway can use");
}

static bool in_bundle(const struct vg_sdp *s, const char *mid)
{
    for (size_t b = 0; b < s->n_bundle; b++) {
        if (sv_eq(s->bundle[b], mid))
            return true;
    }
    return false;
}

/* With a BUNDLE group, accepted sections outside it would need a transport of their
 * own: reject them. Without one, only a single section can be served. */
static int answer_bundle(const struct vg_sdp *o, struct vg_sdp_nego *n, struct vg_sdp_error *err)
{
    size_t in = 0, out = 0;
    for (size_t i = 0; i < n->n_media; i++) {
        if (n->media[i].accepted)
            in_bundle(o, n->media[i].mid) ? in++ : out++;
    }
    if (in == 0 && out > 1)
        return fail(err, 0, VG_EPROTO,
                    "no a=group:BUNDLE: the gateway needs all media on one transport");
    for (size_t i = 0; in && i < n->n_media; i++) {
        if (n->media[i].accepted && !in_bundle(o, n->media[i].mid))
            reject(&n->media[i], "not in the BUNDLE group");
    }
    n->bundle = in > 0;
    return 0;
}

/* RFC 8843: the transport is the one of the first accepted mid in the group (the
 * offerer's BUNDLE tag when we accept it); without BUNDLE, the one section's own. */
static size_t transport_section(const struct vg_sdp *s, const struct vg_sdp_nego *n)
{
    for (size_t b = 0; b < s->n_bundle; b++) {
        for (size_t i = 0; i < n->n_media; i++) {
            if (n->media[i].accepted && sv_eq(s->bundle[b], n->media[i].mid))
                return i;
        }
    }
    for (size_t i = 0; i < n->n_media; i++) {
        if (n->media[i].accepted)
            return i;
    }
    return 0;
}

struct remote_transport {
    struct vg_sdp_str ufrag, pwd;
    const struct vg_sdp_str *sha256;
    bool trickle;
    enum vg_sdp_setup setup;
};

static void effective_transport(const struct vg_sdp *s, const struct vg_sdp_media *m,
                                struct remote_transport *t)
{
    const struct vg_sdp_transport *mt = &m->transport, *st = &s->transport;
    const struct vg_sdp_transport *fpt = mt->n_fp ? mt : st;
    t->ufrag = mt->ice_ufrag.len ? mt->ice_ufrag : st->ice_ufrag;
    t->pwd = mt->ice_pwd.len ? mt->ice_pwd : st->ice_pwd;
    t->trickle = mt->ice_options.len ? mt->trickle : st->trickle;
    t->setup = mt->setup != VG_SDP_SETUP_NONE ? mt->setup : st->setup;
    t->sha256 = NULL;
    for (size_t k = 0; k < fpt->n_fp && !t->sha256; k++) {
        if (sv_ieq(fpt->fp[k].hash, "sha-256"))
            t->sha256 = &fpt->fp[k].value;
    }
}

static int take_remote_transport(const struct vg_sdp *s, struct vg_sdp_nego *n,
                                 struct remote_transport *t, struct vg_sdp_error *err)
{
    n->transport_index = transport_section(s, n);
    const struct vg_sdp_media *m = &s->media[n->transport_index];
    const char *mid = n->media[n->transport_index].mid;
    effective_transport(s, m, t);
    if (!t->ufrag.len || !t->pwd.len)
        return fail(err, m->line, VG_EPROTO,
                    "mid %s: no ICE credentials (a=ice-ufrag and a=ice-pwd are required)", mid);
    if (!t->sha256)
        return fail(err, m->line, VG_EPROTO,
                    "mid %s: no sha-256 a=fingerprint (DTLS-SRTP needs one)", mid);
    copy_sv(n->remote_ufrag, sizeof n->remote_ufrag, t->ufrag);
    copy_sv(n->remote_pwd, sizeof n->remote_pwd, t->pwd);
    copy_sv(n->remote_fingerprint, sizeof n->remote_fingerprint, *t->sha256);
    n->remote_trickle = t->trickle;
    n->remote_ice_lite = s->ice_lite;
    return 0;
}

/* RFC 5763 section 5: answer actpass with passive (the offerer, usually a browser
 * that has just gathered, starts the handshake), active to passive and passive to
 * active. An absent a=setup means active (RFC 4145 section 4). */
static int answer_setup(enum vg_sdp_setup remote, enum vg_sdp_setup want, struct vg_sdp_nego *n,
                        struct vg_sdp_error *err, unsigned line)
{
    enum vg_sdp_setup r = remote == VG_SDP_SETUP_NONE ? VG_SDP_SETUP_ACTIVE : remote, ours;
    if (r == VG_SDP_SETUP_ACTPASS)
        ours = want == VG_SDP_SETUP_ACTIVE ? VG_SDP_SETUP_ACTIVE : VG_SDP_SETUP_PASSIVE;
    else if (r == VG_SDP_SETUP_ACTIVE)
        ours = VG_SDP_SETUP_PASSIVE;
    else if (r == VG_SDP_SETUP_PASSIVE)
        ours = VG_SDP_SETUP_ACTIVE;
    else
        return fail(err, line, VG_EPROTO, "setup role impossible: the offer says a=setup:%s",
                    setup_name(remote));
    if ((want == VG_SDP_SETUP_ACTIVE || want == VG_SDP_SETUP_PASSIVE) && ours != want)
        return fail(err, line, VG_EPROTO,
                    "setup role impossible: the offer says a=setup:%s, the gateway must be %s",
                    setup_name(remote), setup_name(want));
    n->local_setup = ours;
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

/* A bounded writer: len counts what the text needs even past cap, so ENOSPC can
 * tell the caller the size to retry with. */
struct wbuf {
    char *buf;
    size_t cap, len;
};

static void wf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wf(struct wbuf *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = w->len < w->cap ? w->cap - w->len : 0;
    int n = vsnprintf(room ? w->buf + w->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n;
}

static int w_finish(struct wbuf *w, size_t *out_len)
{
    *out_len = w->len;
    if (w->len < w->cap)
        return 0;
    if (w->cap)
        w->buf[0] = '\0';
    return VG_ENOSPC;
}

static void w_session(struct wbuf *w, const struct vg_sdp_local *l)
{
    wf(w, "v=0\r\no=- %" PRIu64 " %" PRIu64 " IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", l->session_id,
       l->session_version);
}

static void w_transport(struct wbuf *w, const struct vg_sdp_local *l, enum vg_sdp_setup setup)
{
    wf(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", l->ice_ufrag, l->ice_pwd);
    wf(w, "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n", l->fingerprint, setup_name(setup));
}

static void w_fb(struct wbuf *w, unsigned pt, unsigned fb)
{
    static const struct {
        unsigned bit;
        const char *text;
    } order[] = {{VG_SDP_FB_GOOG_REMB, "goog-remb"},
                 {VG_SDP_FB_TRANSPORT_CC, "transport-cc"},
                 {VG_SDP_FB_CCM_FIR, "ccm fir"},
                 {VG_SDP_FB_NACK, "nack"},
                 {VG_SDP_FB_NACK_PLI, "nack pli"}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (fb & order[i].bit)
            wf(w, "a=rtcp-fb:%u %s\r\n", pt, order[i].text);
    }
}

static void w_codec(struct wbuf *w, enum vg_sdp_codec c, unsigned pt, unsigned fb, uint32_t plid)
{
    if (c == VG_SDP_CODEC_OPUS)
        wf(w, "a=rtpmap:%u opus/48000/2\r\n", pt);
    else
        wf(w, "a=rtpmap:%u %s/90000\r\n", pt, vg_sdp_codec_name(c));
    w_fb(w, pt, fb);
    if (c == VG_SDP_CODEC_OPUS)
        wf(w, "a=fmtp:%u minptime=10;useinbandfec=1\r\n", pt);
    if (c == VG_SDP_CODEC_H264)
        wf(w,
           "a=fmtp:%u level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%06" PRIx32
           "\r\n",
           pt, plid);
}

static void w_rtx(struct wbuf *w, unsigned rtx, unsigned apt)
{
    wf(w, "a=rtpmap:%u rtx/90000\r\na=fmtp:%u apt=%u\r\n", rtx, rtx, apt);
}

static void w_msid(struct wbuf *w, const struct vg_sdp_local *l, const char *mid)
{
    wf(w, "a=msid:%s %s-%s\r\n", l->stream_id, l->stream_id, mid);
}

static void w_ssrcs(struct wbuf *w, const struct vg_sdp_local *l, const char *mid, uint32_t ssrc,
                    uint32_t rtx)
{
    if (!ssrc)
        return;
    if (rtx)
        wf(w, "a=ssrc-group:FID %" PRIu32 " %" PRIu32 "\r\n", ssrc, rtx);
    for (int k = 0; k < (rtx ? 2 : 1); k++) {
        uint32_t s = k ? rtx : ssrc;
        wf(w, "a=ssrc:%" PRIu32 " cname:%s\r\n", s, l->cname);
        wf(w, "a=ssrc:%" PRIu32 " msid:%s %s-%s\r\n", s, l->stream_id, l->stream_id, mid);
    }
}

static void w_bundle(struct wbuf *w, const struct vg_sdp_nego *n)
{
    if (!n->bundle)
        return;
    /* The first mid is the answerer's BUNDLE tag: the section whose transport we use. */
    wf(w, "a=group:BUNDLE %s", n->media[n->transport_index].mid);
    for (size_t i = 0; i < n->n_media; i++) {
        if (n->media[i].accepted && i != n->transport_index)
            wf(w, " %s", n->media[i].mid);
    }
    wf(w, "\r\n");
}

static void w_rejected(struct wbuf *w, const struct vg_sdp_media *m)
{
    wf(w, "m=%.*s 0 %.*s %.*s\r\nc=IN IP4 0.0.0.0\r\n", (int)m->media.len, m->media.p,
       (int)m->proto.len, m->proto.p, (int)m->fmt.len, m->fmt.p);
    if (m->mid.len)
        wf(w, "a=mid:%.*s\r\n", (int)m->mid.len, m->mid.p);
}

/* Our extmap lines use the offer's ids; a directed extension is mirrored. */
static void w_answer_extmaps(struct wbuf *w, const struct vg_sdp_media *m,
                             const struct vg_sdp_nego_media *nm)
{
    for (size_t i = 0; i < m->n_ext; i++) {
        const struct vg_sdp_extmap *e = &m->ext[i];
        int which = ext_which(e->uri);
        if (which < 0 || ext_get(nm, which) != e->id)
            continue;
        enum vg_sdp_dir d = dir_mirror(e->dir);
        if (d == VG_SDP_SENDRECV)
            wf(w, "a=extmap:%u %s\r\n", e->id, ext_uris[which]);
        else
            wf(w, "a=extmap:%u/%s %s\r\n", e->id, vg_sdp_dir_name(d), ext_uris[which]);
    }
}

static void w_answer_media(struct wbuf *w, const struct vg_sdp_media *m,
                           const struct vg_sdp_local *l, const struct vg_sdp_nego *n,
                           const struct vg_sdp_nego_media *nm)
{
    bool sending = dir_bits(nm->dir) & DIR_SEND;
    wf(w, "m=%.*s 9 %.*s %u", (int)m->media.len, m->media.p, (int)m->proto.len, m->proto.p, nm->pt);
    if (nm->rtx_pt >= 0)
        wf(w, " %d", nm->rtx_pt);
    wf(w, "\r\nc=IN IP4 0.0.0.0\r\n");
    w_transport(w, l, n->local_setup);
    wf(w, "a=mid:%s\r\n", nm->mid);
    w_answer_extmaps(w, m, nm);
    wf(w, "a=%s\r\n", vg_sdp_dir_name(nm->dir));
    if (sending)
        w_msid(w, l, nm->mid);
    wf(w, "a=rtcp-mux\r\n");
    if (nm->rtcp_rsize)
        wf(w, "a=rtcp-rsize\r\n");
    w_codec(w, nm->codec, nm->pt, nm->fb, nm->h264_profile_level_id);
    if (nm->rtx_pt >= 0)
        w_rtx(w, (unsigned)nm->rtx_pt, nm->pt);
    if (sending)
        w_ssrcs(w, l, nm->mid, nm->local_ssrc, nm->local_rtx_ssrc);
}

static int write_answer(const struct vg_sdp *o, const struct vg_sdp_local *l,
                        const struct vg_sdp_nego *n, char *out, size_t cap, size_t *out_len)
{
    struct wbuf w = {out, cap, 0};
    w_session(&w, l);
    w_bundle(&w, n);
    wf(&w, "a=msid-semantic: WMS %s\r\n", l->stream_id);
    for (size_t i = 0; i < n->n_media; i++) {
        if (n->media[i].accepted)
            w_answer_media(&w, &o->media[i], l, n, &n->media[i]);
        else
            w_rejected(&w, &o->media[i]);
    }
    return w_finish(&w, out_len);
}

int vg_sdp_answer(const struct vg_sdp *offer, const struct vg_sdp_local *local, char *out,
                  size_t cap, size_t *out_len, struct vg_sdp_nego *nego, struct vg_sdp_error *err)
{
    size_t unused;
    if (!out_len)
        out_len = &unused;
    *out_len = 0;
    if (cap)
        out[0] = '\0';
    clear_err(err);
    memset(nego, 0, sizeof *nego);
    struct remote_transport t;
    int rc = check_local(local, false, err);
    if (!rc)
        rc = answer_sections(offer, local, nego, err);
    if (!rc)
        rc = answer_bundle(offer, nego, err);
    if (!rc)
        rc = take_remote_transport(offer, nego, &t, err);
    if (!rc)
        rc = answer_setup(t.setup, local->setup, nego, err,
                          offer->media[nego->transport_index].line);
    if (rc)
        return rc;
    return write_answer(offer, local, nego, out, cap, out_len);
}

/* ---- offering --------------------------------------------------------------------- */

/* Fixed payload types, the ones Chromium uses for the same codecs, so a capture of a
 * console leg reads like a browser's. rtx 0: none. */
static const struct offered {
    enum vg_sdp_codec codec;
    uint8_t pt, rtx;
} offered_codecs[] = {
    {VG_SDP_CODEC_OPUS, 111, 0},
    {VG_SDP_CODEC_VP8, 96, 97},
    {VG_SDP_CODEC_H264, 102, 103},
};
#define OFFER_H264_PLID 0x42e01fu

/* Our offered codecs of one kind, in local preference order, without repeats. */
static size_t offer_codecs(const struct vg_sdp_local *l, enum vg_sdp_kind kind,
                           const struct offered *out[VG_SDP_MAX_CODECS])
{
    const enum vg_sdp_codec *list;
    size_t n = local_codecs(l, &list), k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof offered_codecs / sizeof offered_codecs[0]; j++) {
            const struct offered *o = &offered_codecs[j];
            bool dup = false;
            for (size_t d = 0; d < k; d++)
                dup |= out[d] == o;
            if (o->codec == list[i] && codec_kind(o->codec) == kind && !dup &&
                k < VG_SDP_MAX_CODECS)
                out[k++] = o;
        }
    }
    return k;
}

/* Extension ids are EXT_* + 1, the same in every section: RFC 8843 forbids one id
 * meaning two URIs within a BUNDLE group. Audio level is audio-only. */
static bool offer_ext_for(int which, enum vg_sdp_kind kind)
{
    return which != EXT_TWCC && (which != EXT_LEVEL || kind == VG_SDP_KIND_AUDIO);
}

static void w_offer_mline(struct wbuf *w, enum vg_sdp_kind kind, const struct offered *const *oc,
                          size_t n)
{
    wf(w, "m=%s 9 UDP/TLS/RTP/SAVPF", kind == VG_SDP_KIND_AUDIO ? "audio" : "video");
    for (size_t k = 0; k < n; k++) {
        wf(w, " %u", oc[k]->pt);
        if (oc[k]->rtx)
            wf(w, " %u", oc[k]->rtx);
    }
    wf(w, "\r\nc=IN IP4 0.0.0.0\r\n");
}

static void w_offer_media(struct wbuf *w, const struct vg_sdp_local *l, size_t i)
{
    const struct vg_sdp_send *s = &l->send[i];
    const struct offered *oc[VG_SDP_MAX_CODECS];
    size_t n = offer_codecs(l, s->kind, oc);
    bool sending = dir_bits(s->dir) & DIR_SEND;
    char mid[24]; /* a size_t in decimal */
    snprintf(mid, sizeof mid, "%zu", i);
    w_offer_mline(w, s->kind, oc, n);
    w_transport(w, l, VG_SDP_SETUP_ACTPASS);
    wf(w, "a=mid:%s\r\n", mid);
    for (int e = 0; e < EXT_N; e++) {
        if (offer_ext_for(e, s->kind))
            wf(w, "a=extmap:%d %s\r\n", e + 1, ext_uris[e]);
    }
    wf(w, "a=%s\r\n", vg_sdp_dir_name(s->dir));
    if (sending)
        w_msid(w, l, mid);
    wf(w, "a=rtcp-mux\r\na=rtcp-rsize\r\n");
    unsigned fb = s->kind == VG_SDP_KIND_AUDIO ? 0 : VG_SDP_FB_SERVED;
    for (size_t k = 0; k < n; k++) {
        w_codec(w, oc[k]->codec, oc[k]->pt, fb, OFFER_H264_PLID);
        if (oc[k]->rtx)
            w_rtx(w, oc[k]->rtx, oc[k]->pt);
    }
    if (sending)
        w_ssrcs(w, l, mid, s->ssrc, s->kind == VG_SDP_KIND_VIDEO ? s->rtx_ssrc : 0);
}

int vg_sdp_offer(const struct vg_sdp_local *local, char *out, size_t cap, size_t *out_len)
{
    size_t unused;
    if (!out_len)
        out_len = &unused;
    *out_len = 0;
    if (cap)
        out[0] = '\0';
    int rc = check_local(local, true, NULL);
    if (rc)
        return rc;
    struct wbuf w = {out, cap, 0};
    w_session(&w, local);
    wf(&w, "a=group:BUNDLE");
    for (size_t i = 0; i < local->n_send; i++)
        wf(&w, " %zu", i);
    wf(&w, "\r\na=msid-semantic: WMS %s\r\n", local->stream_id);
    for (size_t i = 0; i < local->n_send; i++)
        w_offer_media(&w, local, i);
    return w_finish(&w, out_len);
}

/* ---- applying an answer to our offer ------------------------------------------------ */

/* Which of our offered codecs an answer's payload type refers to. */
static const struct offered *answer_pt_owner(const struct vg_sdp_local *l, enum vg_sdp_kind kind,
                                             uint8_t pt, bool *is_rtx)
{
    const struct offered *oc[VG_SDP_MAX_CODECS];
    size_t n = offer_codecs(l, kind, oc);
    for (size_t k = 0; k < n; k++) {
        *is_rtx = oc[k]->rtx && oc[k]->rtx == pt;
        if (oc[k]->pt == pt || *is_rtx)
            return oc[k];
    }
    return NULL;
}

static int check_answer_pt(const struct vg_sdp_media *m, const struct vg_sdp_nego_media *nm,
                           const struct vg_sdp_pt *p, const struct offered *o, bool is_rtx,
                           struct vg_sdp_error *err)
{
    if (!o)
        return fail(err, m->line, VG_EPROTO, "mid %s: payload type %u was not offered", nm->mid,
                    p->pt);
    if (!p->has_rtpmap)
        return fail(err, m->line, VG_EPROTO, "mid %s: payload type %u has no a=rtpmap", nm->mid,
                    p->pt);
    bool ok = is_rtx
                  ? sv_ieq(p->name, "rtx") && p->clock == 90000 && (p->apt < 0 || p->apt == o->pt)
                  : codec_rank(p, o->codec) >= 0;
    if (!ok)
        return fail(err, m->line, VG_EPROTO,
                    "mid %s: payload type %u does not match the offered %s", nm->mid, p->pt,
                    is_rtx ? "rtx" : vg_sdp_codec_name(o->codec));
    return 0;
}

/* The answerer's first payload type is the codec (RFC 3264 section 7). */
static int apply_codec(const struct vg_sdp_local *l, enum vg_sdp_kind kind,
                       const struct vg_sdp_media *m, struct vg_sdp_nego_media *nm,
                       struct vg_sdp_error *err)
{
    const struct offered *chosen = NULL;
    for (size_t i = 0; i < m->n_pt; i++) {
        bool is_rtx = false;
        const struct offered *o = answer_pt_owner(l, kind, m->pt[i].pt, &is_rtx);
        int rc = check_answer_pt(m, nm, &m->pt[i], o, is_rtx, err);
        if (rc)
            return rc;
        if (!is_rtx && !chosen) {
            chosen = o;
            take_codec(nm, o->codec, &m->pt[i]);
        }
    }
    if (!chosen)
        return fail(err, m->line, VG_EPROTO, "mid %s: the answer names no codec", nm->mid);
    if (chosen->rtx && pt_index(m, chosen->rtx) >= 0)
        nm->rtx_pt = chosen->rtx;
    return 0;
}

/* JSEP section 5.3.1: an answer keeps the offer's extension ids. */
static int apply_exts(enum vg_sdp_kind kind, const struct vg_sdp_media *m,
                      struct vg_sdp_nego_media *nm, struct vg_sdp_error *err)
{
    for (size_t i = 0; i < m->n_ext; i++) {
        const struct vg_sdp_extmap *e = &m->ext[i];
        int which = ext_which(e->uri);
        if (which < 0 || !offer_ext_for(which, kind))
            return fail(err, m->line, VG_EPROTO, "mid %s: a=extmap %.*s was not offered", nm->mid,
                        (int)e->uri.len, e->uri.p);
        if (e->id != which + 1)
            return fail(err, m->line, VG_EPROTO, "mid %s: a=extmap id %u for %s, the offer had %d",
                        nm->mid, e->id, ext_uris[which], which + 1);
        *ext_slot(nm, which) = e->id;
    }
    return 0;
}

static int apply_dir(const struct vg_sdp_send *s, const struct vg_sdp_media *m,
                     struct vg_sdp_nego_media *nm, struct vg_sdp_error *err)
{
    unsigned allowed = dir_bits(dir_mirror(s->dir));
    if (dir_bits(m->dir) & ~allowed)
        return fail(err, m->line, VG_EPROTO, "mid %s: the answer's %s does not fit the offer's %s",
                    nm->mid, vg_sdp_dir_name(m->dir), vg_sdp_dir_name(s->dir));
    nm->dir = dir_mirror(m->dir);
    set_local_ssrcs(nm, s);
    return 0;
}

static int apply_section(const struct vg_sdp_local *l, size_t i, const struct vg_sdp *a,
                         struct vg_sdp_nego_media *nm, struct vg_sdp_error *err)
{
    const struct vg_sdp_media *m = &a->media[i];
    const struct vg_sdp_send *s = &l->send[i];
    snprintf(nm->mid, sizeof nm->mid, "%zu", i);
    nm->kind = s->kind;
    nm->rtx_pt = -1;
    if (m->kind != s->kind || (m->mid.len && !sv_eq(m->mid, nm->mid)))
        return fail(err, m->line, VG_EPROTO,
                    "answer section %zu is %.*s mid %.*s, the offer's is mid %s", i,
                    (int)m->media.len, m->media.p, (int)m->mid.len, m->mid.p, nm->mid);
    if (m->port == 0) {
        reject(nm, "rejected by the answer (port 0)");
        return 0;
    }
    if (!proto_ok(m->proto))
        return fail(err, m->line, VG_EPROTO, "mid %s: proto %.*s was not offered", nm->mid,
                    (int)m->proto.len, m->proto.p);
    if (!m->rtcp_mux)
        return fail(err, m->line, VG_EPROTO,
                    "mid %s: no a=rtcp-mux (the gateway needs RTP and RTCP on one port)", nm->mid);
    int rc = apply_codec(l, s->kind, m, nm, err);
    if (!rc)
        rc = apply_exts(s->kind, m, nm, err);
    if (!rc)
        rc = apply_dir(s, m, nm, err);
    if (rc)
        return rc;
    collect_ssrcs(m, nm);
    nm->rtcp_rsize = m->rtcp_rsize;
    nm->n_remote_rid = m->n_rid;
    nm->accepted = true;
    return 0;
}

static int apply_bundle(const struct vg_sdp *a, struct vg_sdp_nego *n, struct vg_sdp_error *err)
{
    size_t accepted = 0;
    for (size_t b = 0; b < a->n_bundle; b++) {
        bool known = false;
        for (size_t i = 0; i < n->n_media; i++)
            known |= sv_eq(a->bundle[b], n->media[i].mid);
        if (!known)
            return fail(err, 0, VG_EPROTO,
                        "the answer's BUNDLE names mid %.*s, which was not offered",
                        (int)a->bundle[b].len, a->bundle[b].p);
    }
    for (size_t i = 0; i < n->n_media; i++)
        accepted += n->media[i].accepted;
    n->bundle = a->n_bundle > 0;
    if (accepted > 1 && !a->n_bundle)
        return fail(
            err, 0, VG_EPROTO,
            "no a=group:BUNDLE in the answer: the gateway needs all media on one transport");
    for (size_t i = 0; accepted > 1 && i < n->n_media; i++) {
        if (n->media[i].accepted && !in_bundle(a, n->media[i].mid))
            return fail(err, a->media[i].line, VG_EPROTO,
                        "mid %s is accepted but not in the answer's BUNDLE group", n->media[i].mid);
    }
    return 0;
}

/* We offered actpass, so the answer picks: active makes us the DTLS server. */
static int apply_setup(enum vg_sdp_setup remote, struct vg_sdp_nego *n, struct vg_sdp_error *err,
                       unsigned line)
{
    enum vg_sdp_setup r = remote == VG_SDP_SETUP_NONE ? VG_SDP_SETUP_ACTIVE : remote;
    if (r == VG_SDP_SETUP_ACTIVE)
        n->local_setup = VG_SDP_SETUP_PASSIVE;
    else if (r == VG_SDP_SETUP_PASSIVE)
        n->local_setup = VG_SDP_SETUP_ACTIVE;
    else
        return fail(err, line, VG_EPROTO,
                    "setup role impossible: the answer says a=setup:%s (must be active or passive)",
                    setup_name(remote));
    return 0;
}

int vg_sdp_apply_answer(const struct vg_sdp_local *local, const struct vg_sdp *answer,
                        struct vg_sdp_nego *nego, struct vg_sdp_error *err)
{
    clear_err(err);
    memset(nego, 0, sizeof *nego);
    int rc = check_local(local, true, err);
    if (rc)
        return rc;
    if (answer->n_media != local->n_send)
        return fail(err, 0, VG_EPROTO, "the answer has %zu m= sections, the offer had %zu",
                    answer->n_media, local->n_send);
    size_t accepted = 0;
    nego->n_media = answer->n_media;
    for (size_t i = 0; i < answer->n_media; i++) {
        rc = apply_section(local, i, answer, &nego->media[i], err);
        if (rc)
            return rc;
        accepted += nego->media[i].accepted;
    }
    if (!accepted)
        return fail(err, 0, VG_EPROTO, "the answer rejects every section: " NO_COMMON_CODEC);
    struct remote_transport t;
    rc = apply_bundle(answer, nego, err);
    if (!rc)
        rc = take_remote_transport(answer, nego, &t, err);
    if (!rc)
        rc = apply_setup(t.setup, nego, err, answer->media[nego->transport_index].line);
    return rc;
}
