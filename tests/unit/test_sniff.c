/* Types from the bytes: a table of real file heads (and near misses), each fed
 * whole and then one byte at a time, as a slow first chunk would bring it. */
#include "sniff.h"
#include "vt.h"

#include <stdio.h>
#include <string.h>

struct vec {
    const char *what;
    const char *bytes;
    size_t len;
    enum vg_sniff_type want;
};

#define V(what, s, want)                                                                           \
    {                                                                                              \
        what, s, sizeof s - 1, want                                                                \
    }

static const struct vec vecs[] = {
    V("jpeg jfif", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
      VG_SNIFF_JPEG),
    V("jpeg exif",
      "\xff\xd8\xff\xe1\x1f\xfe"
      "Exif\x00\x00MM\x00*",
      VG_SNIFF_JPEG),
    V("jpeg fill byte is not a marker", "\xff\xd8\xff\xff\xff\xff", VG_SNIFF_UNKNOWN),
    V("png", "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02",
      VG_SNIFF_PNG),
    V("png without IHDR first", "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dtEXt\x00\x00", VG_SNIFF_UNKNOWN),
    V("webp lossy", "RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", VG_SNIFF_WEBP),
    V("webp lossless", "RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00", VG_SNIFF_WEBP),
    V("webp extended", "RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00", VG_SNIFF_WEBP),
    V("riff wave is not webp", "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", VG_SNIFF_UNKNOWN),
    V("mp4 isom",
      "\x00\x00\x00\x20"
      "ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free",
      VG_SNIFF_MP4),
    V("mp4 mp42",
      "\x00\x00\x00\x18"
      "ftypmp42\x00\x00\x00\x00mp42isom",
      VG_SNIFF_MP4),
    V("quicktime",
      "\x00\x00\x00\x14"
      "ftypqt  \x20\x05\x03\x00qt  ",
      VG_SNIFF_QUICKTIME),
    V("unknown major, qt compatible",
      "\x00\x00\x00\x18"
      "ftypXYZW\x00\x00\x00\x00XYZWqt  ",
      VG_SNIFF_QUICKTIME),
    V("unknown major, mp4 compatible",
      "\x00\x00\x00\x14"
      "ftypXYZW\x00\x00\x00\x00mp42",
      VG_SNIFF_MP4),
    V("heic still refused",
      "\x00\x00\x00\x18"
      "ftypheic\x00\x00\x00\x00mif1heic",
      VG_SNIFF_UNKNOWN),
    V("mif1 with mp4 brand still refused",
      "\x00\x00\x00\x18"
      "ftypXYZW\x00\x00\x00\x00mp42heic",
      VG_SNIFF_UNKNOWN),
    V("avif refused",
      "\x00\x00\x00\x1c"
      "ftypavif\x00\x00\x00\x00avifmif1miaf",
      VG_SNIFF_UNKNOWN),
    V("3gp refused",
      "\x00\x00\x00\x14"
      "ftyp3gp4\x00\x00\x00\x00"
      "3gp4",
      VG_SNIFF_UNKNOWN),
    V("m4a audio refused",
      "\x00\x00\x00\x14"
      "ftypM4A \x00\x00\x00\x00M4A ",
      VG_SNIFF_UNKNOWN),
    V("ftyp box too small",
      "\x00\x00\x00\x0c"
      "ftypisom\x00\x00\x00\x00",
      VG_SNIFF_UNKNOWN),
    V("webm",
      "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
      "\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02",
      VG_SNIFF_WEBM),
    V("webm, 8-byte sizes, NUL-padded doctype (GStreamer)",
      "\x1a\x45\xdf\xa3\x01\x00\x00\x00\x00\x00\x00\x10\x42\x82\x85webm\x00\x42\x87\x81\x02"
      "\x42\x85\x81\x02",
      VG_SNIFF_WEBM),
    V("webm doctype with junk after", "\x1a\x45\xdf\xa3\x88\x42\x82\x85webmx\x42\x87",
      VG_SNIFF_UNKNOWN),
    V("matroska refused",
      "\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska\x42\x87\x81\x04", VG_SNIFF_UNKNOWN),
    V("ebml without doctype", "\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01", VG_SNIFF_UNKNOWN),
    V("text", "Hello, this is not a picture at all.\n", VG_SNIFF_UNKNOWN),
    V("windows exe", "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
      VG_SNIFF_UNKNOWN),
    V("elf",
      "\x7f"
      "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00",
      VG_SNIFF_UNKNOWN),
    V("gif refused", "GIF89a\x01\x00\x01\x00\x80\x00\x00", VG_SNIFF_UNKNOWN),
    V("pdf refused", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", VG_SNIFF_UNKNOWN),
    V("svg refused", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", VG_SNIFF_UNKNOWN),
};

/* Whole, and byte by byte: every prefix is "need more" or the final answer, and
 * once decided the answer does not change. */
static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const struct vec *v = &vecs[i];
        const uint8_t *b = (const uint8_t *)v->bytes;
        enum vg_sniff_type whole = vg_sniff(b, v->len, true);
        if (whole != v->want)
            printf("  %s: got %d, want %d\n", v->what, whole, v->want);
        VT_EQ_INT(whole, v->want);
        enum vg_sniff_type decided = VG_SNIFF_NEED_MORE;
        size_t at = 0;
        for (size_t n = 0; n <= v->len && decided == VG_SNIFF_NEED_MORE; n++) {
            decided = vg_sniff(b, n, n == v->len);
            at = n;
        }
        if (decided != v->want)
            printf("  %s: byte by byte got %d at %zu, want %d\n", v->what, decided, at, v->want);
        VT_EQ_INT(decided, v->want);
        printf("%-52s -> %-16s decided after %2zu of %2zu bytes\n", v->what,
               vg_sniff_mime(whole) ? vg_sniff_mime(whole) : "refused", at, v->len);
    }
}

static void test_short_and_empty(void)
{
    VT_EQ_INT(vg_sniff(NULL, 0, false), VG_SNIFF_NEED_MORE);
    VT_EQ_INT(vg_sniff(NULL, 0, true), VG_SNIFF_UNKNOWN);
    VT_EQ_INT(vg_sniff((const uint8_t *)"\xff\xd8", 2, false), VG_SNIFF_NEED_MORE);
    VT_EQ_INT(vg_sniff((const uint8_t *)"\xff\xd8", 2, true), VG_SNIFF_UNKNOWN);
    VT_EQ_INT(vg_sniff((const uint8_t *)"Hi", 2, false), VG_SNIFF_NEED_MORE); /* an ISO size? */
    VT_EQ_INT(vg_sniff((const uint8_t *)"Hello", 5, false), VG_SNIFF_UNKNOWN);
    /* 64 bytes always decide. */
    uint8_t junk[VG_SNIFF_HEAD];
    memset(junk, 0, sizeof junk);
    memcpy(junk, "\x1a\x45\xdf\xa3\x01\xff\xff\xff\xff\xff\xff\xff", 12);
    VT_EQ_INT(vg_sniff(junk, sizeof junk, false), VG_SNIFF_UNKNOWN);
    memcpy(junk,
           "\x00\x00\x10\x00"
           "ftypXYZW",
           12);
    VT_EQ_INT(vg_sniff(junk, sizeof junk, false), VG_SNIFF_UNKNOWN);
}

static void test_names(void)
{
    VT_EQ_STR(vg_sniff_mime(VG_SNIFF_PNG), "image/png");
    VT_EQ_STR(vg_sniff_ext(VG_SNIFF_QUICKTIME), "mov");
    VT_CHECK(vg_sniff_mime(VG_SNIFF_UNKNOWN) == NULL);
    VT_CHECK(vg_sniff_is_photo(VG_SNIFF_WEBP));
    VT_CHECK(!vg_sniff_is_photo(VG_SNIFF_WEBM));
    VT_EQ_INT(vg_sniff_from_mime("video/webm"), VG_SNIFF_WEBM);
    VT_EQ_INT(vg_sniff_from_mime("text/html"), VG_SNIFF_UNKNOWN);
}

int main(void)
{
    test_vectors();
    test_short_and_empty();
    test_names();
    return vt_done("sniff");
}
