/* RTP packets (RFC 3550, section 5) as they cross the gateway.
 *
 * A received datagram is parsed once into a vg_rtp_view: the fixed header fields are
 * decoded, and everything of variable size (CSRC list, header extension block,
 * payload, padding) is described by offsets into the caller's buffer, which the view
 * borrows and never copies. The forwarding path then rewrites a few fixed header
 * fields in place (SSRC, sequence number, timestamp, payload type, marker) and sends
 * the same buffer on to the other legs of the case.
 *
 * Header extension elements (RFC 8285: the one-byte form, profile 0xBEDE, and the
 * two-byte form, profiles 0x1000..0x100F) are read lazily, element by element, when
 * a caller asks for one id. vg_rtp_parse() checks only that the extension block fits
 * in the packet: a packet whose elements are garbled still carries good media, and a
 * gateway for emergency calls forwards it rather than drop it; only the element
 * lookup reports the damage.
 *
 * Sequence numbers are 16 bits and wrap (every 20 minutes for audio, far sooner for
 * video): compare them with vg_rtp_seq_cmp() and extend them with a
 * vg_rtp_seq_unwrapper, never with < on the raw values.
 *
 * Nothing here allocates, reads a clock or keeps state besides the unwrapper the
 * caller owns. */
#ifndef VG_RTP_H
#define VG_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_RTP_HEADER_LEN 12 /* the fixed header, without CSRCs or extension */
#define VG_RTP_MAX_CSRC 15   /* the CC field is 4 bits */

/* RFC 8285 profile values ("defined by profile" field of the extension block). */
#define VG_RTP_EXT_ONE_BYTE 0xBEDEu
#define VG_RTP_EXT_TWO_BYTE 0x1000u /* low 4 bits are "appbits", ignored here */

/* A parsed packet. Borrows pkt: the buffer must outlive the view and must not be
 * shortened while the view is in use (the rewrite helpers below keep it valid). */
struct vg_rtp_view {
    const uint8_t *pkt; /* the caller's datagram */
    size_t len;         /* its length in bytes */
    bool marker;
    uint8_t pt; /* payload type, 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_count;   /* CSRC i is the big-endian word at pkt + 12 + 4 * i */
    bool has_ext;         /* X bit: an extension block is present */
    uint16_t ext_profile; /* its profile field, valid when has_ext */
    size_t ext_off;       /* first byte after the 4-byte block header */
    size_t ext_len;       /* block body length in bytes (a multiple of 4, may be 0) */
    size_t payload_off;   /* == the full header length */
    size_t payload_len;   /* without padding; 0 for a padding-only probe packet */
    uint8_t pad_len;      /* 0 when P is clear, else 1..255 including the count byte */
};

/* One header extension element: a view into the packet. */
struct vg_rtp_ext {
    uint8_t id;          /* 1..14 (one-byte form) or 1..255 (two-byte form) */
    size_t len;          /* 1..16 (one-byte form) or 0..255 (two-byte form) */
    const uint8_t *data; /* borrowed from the packet */
};

/* Parses the datagram pkt[0..len). Returns 0 and fills *v, or VG_EINVAL when the
 * datagram is not a well-formed RTP packet: shorter than 12 bytes, version not 2,
 * CSRC list or extension block running past the end, or a padding count of 0 or
 * larger than what follows the header. *v is unspecified on error. */
int vg_rtp_parse(const uint8_t *pkt, size_t len, struct vg_rtp_view *v);

/* CSRC number i (0 <= i < v->csrc_count); 0 for i out of range. */
uint32_t vg_rtp_csrc(const struct vg_rtp_view *v, unsigned i);

static inline const uint8_t *vg_rtp_payload(const struct vg_rtp_view *v)
{
    return v->pkt + v->payload_off;
}

/* Walks the RFC 8285 elements of the extension block. *pos is the caller's cursor,
 * set to 0 before the first call. Returns 1 and fills *out for the next element,
 * 0 at the end (also at once for a block of another profile, and at an id 15 in
 * the one-byte form, which RFC 8285 section 4.2 says ends processing), or
 * VG_EINVAL when an element runs past the block or a non-padding byte has id 0. */
int vg_rtp_ext_next(const struct vg_rtp_view *v, size_t *pos, struct vg_rtp_ext *out);

/* Finds the first element with this id. Returns 0 and fills *out, VG_ENOENT when the
 * packet has no RFC 8285 block or no such element, or VG_EINVAL when the block is
 * garbled before the element was found. */
int vg_rtp_ext_find(const struct vg_rtp_view *v, uint8_t id, struct vg_rtp_ext *out);

/* In-place rewrites for forwarding. pkt/len is a packet vg_rtp_parse() accepted;
 * each returns 0, or VG_EINVAL if len < 12 or the version is not 2 (and then writes
 * nothing). set_pt refuses pt > 127, which would spill into the marker bit; it keeps
 * the marker, and set_marker keeps the payload type. Fields in the CSRC list,
 * extension and payload are untouched, so an existing view stays valid apart from
 * the rewritten field. */
int vg_rtp_set_ssrc(uint8_t *pkt, size_t len, uint32_t ssrc);
int vg_rtp_set_seq(uint8_t *pkt, size_t len, uint16_t seq);
int vg_rtp_set_ts(uint8_t *pkt, size_t len, uint32_t ts);
int vg_rtp_set_pt(uint8_t *pkt, size_t len, uint8_t pt);
int vg_rtp_set_marker(uint8_t *pkt, size_t len, bool marker);

/* Wrap-aware order of two sequence numbers: 1 if a is newer than b (a lies less than
 * half the number space ahead of b), -1 if older, 0 if equal. Exactly half-way apart
 * (a - b == 0x8000) is ambiguous; the larger raw value counts as newer, so that
 * cmp(a, b) == -cmp(b, a) always holds. */
int vg_rtp_seq_cmp(uint16_t a, uint16_t b);

/* Extends 16-bit sequence numbers to a monotonic 64-bit count across wraps. Each
 * value is placed within half the number space of the previous one (same tie-break
 * as vg_rtp_seq_cmp), so reordered and late packets get their true position. The
 * first value maps to itself; a late packet from before the first can map below 0.
 * Caller-owned plain data; initialise with vg_rtp_seq_unwrapper_init(). */
struct vg_rtp_seq_unwrapper {
    int64_t last;
    bool started;
};

void vg_rtp_seq_unwrapper_init(struct vg_rtp_seq_unwrapper *u);
int64_t vg_rtp_seq_unwrap(struct vg_rtp_seq_unwrapper *u, uint16_t seq);

#endif
