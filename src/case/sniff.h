/* What a file is, from its first bytes: the citizen's uploads are typed by their
 * content (magic numbers), never by the name or the browser's claim.
 *
 * Sans-IO: give the first bytes of the file (the more the better, up to
 * VG_SNIFF_HEAD) and whether that is all of it. The answer is a type, "unknown"
 * (a type we do not take: refuse the file), or "need more" while the bytes so far
 * are a valid beginning of an allowed type but too few to decide. Only the types
 * a phone's camera makes and a console can show are allowed: JPEG, PNG, WebP,
 * MP4 and QuickTime (ISO base media files told apart by their ftyp brands; HEIF
 * and AVIF stills share that container and are refused), and WebM (an EBML header
 * whose DocType is "webm"). */
#ifndef VG_SNIFF_H
#define VG_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes that always suffice to decide. */
#define VG_SNIFF_HEAD 64

enum vg_sniff_type {
    VG_SNIFF_NEED_MORE = -1, /* too few bytes yet; give more */
    VG_SNIFF_UNKNOWN = 0,    /* not an allowed type */
    VG_SNIFF_JPEG,
    VG_SNIFF_PNG,
    VG_SNIFF_WEBP,
    VG_SNIFF_MP4,
    VG_SNIFF_QUICKTIME,
    VG_SNIFF_WEBM,
};

/* Types the head of a file: b holds its first n bytes; all = true when that is
 * the whole file (then the answer is never VG_SNIFF_NEED_MORE). Reads at most
 * min(n, VG_SNIFF_HEAD) bytes. */
enum vg_sniff_type vg_sniff(const uint8_t *b, size_t n, bool all);

/* "image/jpeg", …; NULL for VG_SNIFF_NEED_MORE and VG_SNIFF_UNKNOWN. */
const char *vg_sniff_mime(enum vg_sniff_type t);
/* File extension without the dot ("jpg", "png", "webp", "mp4", "mov", "webm"). */
const char *vg_sniff_ext(enum vg_sniff_type t);
/* True for a photo, false for a video (and for the non-types). */
bool vg_sniff_is_photo(enum vg_sniff_type t);
/* The type for a MIME name vg_sniff_mime() gives, or VG_SNIFF_UNKNOWN. */
enum vg_sniff_type vg_sniff_from_mime(const char *mime);

#endif
