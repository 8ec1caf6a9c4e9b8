#include "sniff.h"

#include <string.h>

/* A decision on a prefix: the bytes either match the pattern so far (need more
 * when the pattern is longer than what we have) or do not. */
static enum vg_sniff_type prefix(const uint8_t *b, size_t n, const void *magic, size_t len,
                                 enum vg_sniff_type yes)
{
    size_t m = n < len ? n : len;
    if (memcmp(b, magic, m) != 0)
        return VG_SNIFF_UNKNOWN;
    return n < len ? VG_SNIFF_NEED_MORE : yes;
}

/* JPEG: SOI (FF D8) then the first marker (FF xx, with xx a marker code, not a
 * fill byte or a reserved code). */
static enum vg_sniff_type jpeg(const uint8_t *b, size_t n)
{
    enum vg_sniff_type t = prefix(b, n, "\xff\xd8\xff", 3, VG_SNIFF_JPEG);
    if (t != VG_SNIFF_JPEG)
        return t;
    if (n < 4)
        return VG_SNIFF_NEED_MORE;
    return b[3] >= 0xc0 && b[3] != 0xff ? VG_SNIFF_JPEG : VG_SNIFF_UNKNOWN;
}

/* PNG: the 8-byte signature, then the IHDR chunk (length 13) that must come first. */
static enum vg_sniff_type png(const uint8_t *b, size_t n)
{
    return prefix(b, n, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16, VG_SNIFF_PNG);
}

/* WebP: a RIFF container of form WEBP whose first chunk is VP8, VP8L or VP8X. */
static enum vg_sniff_type webp(const uint8_t *b, size_t n)
{
    enum vg_sniff_type t = prefix(b, n, "RIFF", 4, VG_SNIFF_WEBP);
    if (t != VG_SNIFF_WEBP)
        return t;
    if (n < 16)
        return n <= 8 || memcmp(b + 8, "WEBP", n - 8 < 4 ? n - 8 : 4) == 0 ? VG_SNIFF_NEED_MORE
                                                                           : VG_SNIFF_UNKNOWN;
    if (memcmp(b + 8, "WEBP", 4) != 0)
        return VG_SNIFF_UNKNOWN;
    const uint8_t *c = b + 12;
    bool vp8 = memcmp(c, "VP8 ", 4) == 0 || memcmp(c, "VP8L", 4) == 0 || memcmp(c, "VP8X", 4) == 0;
    return vp8 ? VG_SNIFF_WEBP : VG_SNIFF_UNKNOWN;
}

/* ISO base media (MP4, QuickTime, but also HEIF/AVIF stills and 3GPP): an ftyp
 * box first, whose major and compatible brands say what the file is. */
enum brand_kind { B_OTHER, B_MP4, B_QT, B_STILL };

static enum brand_kind brand(const uint8_t *p)
{
    static const char *const mp4[] = {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7",
                                      "iso8", "iso9", "mp41", "mp42", "mp71", "avc1", "dash",
                                      "M4V ", "M4VH", "M4VP", "f4v ", "MSNV", "XAVC", "mmp4"};
    static const char *const still[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
                                        "mif1", "msf1", "avif", "avis", "jpeg", "avci"};
    if (memcmp(p, "qt  ", 4) == 0)
        return B_QT;
    for (size_t i = 0; i < sizeof mp4 / sizeof mp4[0]; i++)
        if (memcmp(p, mp4[i], 4) == 0)
            return B_MP4;
    for (size_t i = 0; i < sizeof still / sizeof still[0]; i++)
        if (memcmp(p, still[i], 4) == 0)
            return B_STILL;
    return B_OTHER;
}

static enum vg_sniff_type iso_bmff(const uint8_t *b, size_t n, bool all)
{
    if (n >= 8 && memcmp(b + 4, "ftyp", 4) != 0)
        return VG_SNIFF_UNKNOWN;
    if (n < 8)
        return n > 4 && memcmp(b + 4, "ftyp", n - 4) != 0 ? VG_SNIFF_UNKNOWN : VG_SNIFF_NEED_MORE;
    uint32_t size = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (size < 16 || size % 4 != 0)
        return VG_SNIFF_UNKNOWN;      /* major brand, minor version, whole brands */
    size_t end = size < n ? size : n; /* read what we have of the box */
    if (end > VG_SNIFF_HEAD)
        end = VG_SNIFF_HEAD;
    if (end < size && end < VG_SNIFF_HEAD && !all)
        return VG_SNIFF_NEED_MORE; /* the brands are not all in yet */
    if (end < 16)
        return VG_SNIFF_UNKNOWN;
    enum brand_kind major = brand(b + 8);
    if (major == B_QT)
        return VG_SNIFF_QUICKTIME;
    if (major == B_MP4)
        return VG_SNIFF_MP4;
    if (major == B_STILL)
        return VG_SNIFF_UNKNOWN;
    /* An unfamiliar major brand: decide by the compatible ones, still refusing
     * anything that says it is a HEIF/AVIF still. */
    enum vg_sniff_type t = VG_SNIFF_UNKNOWN;
    for (size_t off = 16; off + 4 <= end; off += 4) {
        enum brand_kind k = brand(b + off);
        if (k == B_STILL)
            return VG_SNIFF_UNKNOWN;
        if (k == B_QT)
            t = VG_SNIFF_QUICKTIME;
        else if (k == B_MP4 && t == VG_SNIFF_UNKNOWN)
            t = VG_SNIFF_MP4;
    }
    return t;
}

/* An EBML variable-length integer at b[0..n): its length in bytes (1-8), or 0
 * when the first byte is 0 (invalid) or more bytes are needed (*more set). */
static size_t vint_len(const uint8_t *b, size_t n, bool *more)
{
    *more = false;
    if (n == 0) {
        *more = true;
        return 0;
    }
    for (size_t len = 1; len <= 8; len++)
        if (b[0] & (0x80 >> (len - 1))) {
            if (len > n) {
                *more = true;
                return 0;
            }
            return len;
        }
    return 0;
}

/* The vint's value with its length marker removed (ids keep theirs). */
static uint64_t vint_value(const uint8_t *b, size_t len, bool keep_marker)
{
    uint64_t v = keep_marker ? b[0] : b[0] & (0xff >> len);
    for (size_t i = 1; i < len; i++)
        v = v << 8 | b[i];
    return v;
}

/* EBML strings may be padded with NULs (GStreamer's webmmux writes "webm\0"). */
static bool doctype_webm(const uint8_t *p, size_t len)
{
    if (len < 4 || len > 16 || memcmp(p, "webm", 4) != 0)
        return false;
    for (size_t i = 4; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* WebM: the EBML header element (1A 45 DF A3) whose DocType (42 82) is "webm".
 * Walks the header's children within the bytes at hand; Matroska ("matroska")
 * and anything else are refused. */
static enum vg_sniff_type webm(const uint8_t *b, size_t n, bool all)
{
    enum vg_sniff_type t = prefix(b, n, "\x1a\x45\xdf\xa3", 4, VG_SNIFF_WEBM);
    if (t != VG_SNIFF_WEBM)
        return t;
    bool more;
    size_t lim = n < VG_SNIFF_HEAD ? n : VG_SNIFF_HEAD;
    size_t sl = vint_len(b + 4, lim - 4, &more);
    if (!sl)
        return more && !all && n < VG_SNIFF_HEAD ? VG_SNIFF_NEED_MORE : VG_SNIFF_UNKNOWN;
    uint64_t hsize = vint_value(b + 4, sl, false);
    size_t pos = 4 + sl;
    size_t end = hsize < lim - pos ? pos + (size_t)hsize : lim;
    while (pos < end) {
        size_t il = vint_len(b + pos, end - pos, &more);
        if (!il || il > 4)
            break;
        uint64_t id = vint_value(b + pos, il, true);
        size_t dl = vint_len(b + pos + il, end - pos - il, &more);
        if (!dl)
            break;
        uint64_t dsize = vint_value(b + pos + il, dl, false);
        size_t data = pos + il + dl;
        if (id == 0x4282) {
            if (dsize > end - data)
                break;
            return doctype_webm(b + data, (size_t)dsize) ? VG_SNIFF_WEBM : VG_SNIFF_UNKNOWN;
        }
        if (dsize > end - data)
            break;
        pos = data + (size_t)dsize;
    }
    /* DocType not seen in what we have: more bytes may bring it, up to the head. */
    return !all && n < VG_SNIFF_HEAD ? VG_SNIFF_NEED_MORE : VG_SNIFF_UNKNOWN;
}

enum vg_sniff_type vg_sniff(const uint8_t *b, size_t n, bool all)
{
    if (n == 0)
        return all ? VG_SNIFF_UNKNOWN : VG_SNIFF_NEED_MORE;
    enum vg_sniff_type (*const simple[])(const uint8_t *, size_t) = {jpeg, png, webp};
    enum vg_sniff_type (*const framed[])(const uint8_t *, size_t, bool) = {iso_bmff, webm};
    bool pending = false;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        enum vg_sniff_type t = simple[i](b, n);
        if (t > VG_SNIFF_UNKNOWN)
            return t;
        pending |= t == VG_SNIFF_NEED_MORE;
    }
    for (size_t i = 0; i < sizeof framed / sizeof framed[0]; i++) {
        enum vg_sniff_type t = framed[i](b, n, all);
        if (t > VG_SNIFF_UNKNOWN)
            return t;
        pending |= t == VG_SNIFF_NEED_MORE;
    }
    return pending && !all ? VG_SNIFF_NEED_MORE : VG_SNIFF_UNKNOWN;
}

static const struct {
    enum vg_sniff_type t;
    const char *mime, *ext;
    bool photo;
} types[] = {
    {VG_SNIFF_JPEG, "image/jpeg", "jpg", true},
    {VG_SNIFF_PNG, "image/png", "png", true},
    {VG_SNIFF_WEBP, "image/webp", "webp", true},
    {VG_SNIFF_MP4, "video/mp4", "mp4", false},
    {VG_SNIFF_QUICKTIME, "video/quicktime", "mov", false},
    {VG_SNIFF_WEBM, "video/webm", "webm", false},
};

const char *vg_sniff_mime(enum vg_sniff_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t)
            return types[i].mime;
    return NULL;
}

const char *vg_sniff_ext(enum vg_sniff_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t)
            return types[i].ext;
    return NULL;
}

bool vg_sniff_is_photo(enum vg_sniff_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t)
            return types[i].photo;
    return false;
}

enum vg_sniff_type vg_sniff_from_mime(const char *mime)
{
    for (size_t i = 0; mime && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].mime, mime) == 0)
            return types[i].t;
    return VG_SNIFF_UNKNOWN;
}
