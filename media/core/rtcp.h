/* RTCP (RFC 3550, section 6) and the feedback messages WebRTC peers exchange:
 * generic NACK and PLI (RFC 4585), FIR (RFC 5104), REMB
 * (draft-alvestrand-rmcat-remb) and transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions).
 *
 * A datagram is a compound of RTCP packets laid back to back. vg_rtcp_next() walks
 * it and checks each packet's version and length field against what is left of the
 * datagram before handing out a vg_rtcp_pkt, a view borrowed from the caller's
 * buffer. The vg_rtcp_parse_*() functions then decode one packet of a known type
 * into a plain struct, checking every count against the packet's length before
 * reading. A packet that lies about its size is VG_EINVAL; RFC 3550 A.2 says to drop
 * the whole compound then, because nothing after a bad length can be trusted.
 * Lists that may be long (NACK, FIR) go into arrays the caller sizes; lists bounded
 * by a header field (report blocks, SDES chunks, BYE and REMB SSRCs) are held inline.
 * Nothing here allocates.
 *
 * The builders each write one packet into a caller buffer of given capacity and
 * return the bytes written (a multiple of 4), or VG_ENOSPC when it does not fit, in
 * which case the buffer's contents are unspecified. A compound is built by calling
 * them one after another on the rest of the buffer. */
#ifndef VG_RTCP_H
#define VG_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packet types (RFC 3550 12.1, RFC 4585 6.1). */
enum {
    VG_RTCP_SR = 200,
    VG_RTCP_RR = 201,
    VG_RTCP_SDES = 202,
    VG_RTCP_BYE = 203,
    VG_RTCP_APP = 204,
    VG_RTCP_RTPFB = 205, /* transport-layer feedback */
    VG_RTCP_PSFB = 206,  /* payload-specific feedback */
};

/* Feedback message types, the FMT in the header's count field. */
enum {
    VG_RTCP_FMT_NACK = 1, /* RTPFB */
    VG_RTCP_FMT_TCC = 15, /* RTPFB */
    VG_RTCP_FMT_PLI = 1,  /* PSFB */
    VG_RTCP_FMT_FIR = 4,  /* PSFB */
    VG_RTCP_FMT_AFB = 15, /* PSFB application layer feedback: REMB */
};

#define VG_RTCP_MAX_REPORTS 31     /* RC is 5 bits */
#define VG_RTCP_MAX_CHUNKS 31      /* SC is 5 bits */
#define VG_RTCP_MAX_REMB_SSRCS 255 /* Num SSRC is 8 bits */

/* One packet of a compound. Borrows the caller's buffer. */
struct vg_rtcp_pkt {
    const uint8_t *data; /* the packet's first header byte */
    size_t len;          /* whole packet: header, body and padding; a multiple of 4 */
    bool padding;        /* P bit */
    uint8_t count;       /* RC, SC or FMT: the low 5 bits of the first byte */
    uint8_t pt;
    const uint8_t *body; /* data + 4 */
    size_t body_len;     /* len - 4 - padding */
};

/* Cursor over a compound packet; plain data the caller owns, borrowing buf. */
struct vg_rtcp_iter {
    const uint8_t *buf;
    size_t len;
    size_t off;
    bool failed;
};

void vg_rtcp_iter_init(struct vg_rtcp_iter *it, const uint8_t *buf, size_t len);

/* Returns 1 and fills *pkt with the next packet, 0 at the end of the compound, or
 * VG_EINVAL if the next packet is malformed: fewer than 4 bytes left, version not 2,
 * length field running past the datagram, or a padding count of 0 or larger than the
 * body. VG_EINVAL is sticky: later calls return it again. Packet types are not
 * checked; callers skip the ones they do not know (APP, XR, ...). */
int vg_rtcp_next(struct vg_rtcp_iter *it, struct vg_rtcp_pkt *pkt);

struct vg_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;    /* fixed point, /256 */
    int32_t cumulative_lost;  /* 24-bit signed on the wire; builders clamp to it */
    uint32_t ext_highest_seq; /* extended highest sequence number received */
    uint32_t jitter;
    uint32_t lsr;  /* middle 32 bits of the last SR's NTP time */
    uint32_t dlsr; /* delay since last SR, 1/65536 s */
};

struct vg_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp; /* NTP timestamp, 32.32 fixed point */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    uint8_t n_reports;
    struct vg_rtcp_report_block reports[VG_RTCP_MAX_REPORTS];
};

struct vg_rtcp_rr {
    uint32_t ssrc;
    uint8_t n_reports;
    struct vg_rtcp_report_block reports[VG_RTCP_MAX_REPORTS];
};

/* Each SDES chunk's SSRC and CNAME (the only item WebRTC needs). */
struct vg_rtcp_sdes_chunk {
    uint32_t ssrc;
    const uint8_t *cname; /* borrowed, not NUL-terminated; NULL when the chunk has none */
    uint8_t cname_len;
};

struct vg_rtcp_sdes {
    uint8_t n_chunks;
    struct vg_rtcp_sdes_chunk chunks[VG_RTCP_MAX_CHUNKS];
};

struct vg_rtcp_bye {
    uint8_t n_ssrcs;
    uint32_t ssrcs[VG_RTCP_MAX_CHUNKS];
    const uint8_t *reason; /* borrowed, not NUL-terminated; NULL when absent */
    uint8_t reason_len;
};

/* The two SSRCs every feedback message starts with (RFC 4585 6.1). */
struct vg_rtcp_fb {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
};

struct vg_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq; /* command sequence number: a repeat with the same seq is a retransmission */
};

struct vg_rtcp_remb {
    uint32_t sender_ssrc;
    uint64_t bitrate; /* bits per second: mantissa << exponent */
    uint8_t n_ssrcs;
    uint32_t ssrcs[VG_RTCP_MAX_REMB_SSRCS];
};

/* Transport-wide congestion control feedback: the fixed part only. The packet
 * status chunks and receive deltas that follow are left to the bandwidth estimator. */
struct vg_rtcp_tcc {
    struct vg_rtcp_fb fb;
    uint16_t base_seq;
    uint16_t status_count;
    int32_t ref_time; /* 24-bit signed, in multiples of 64 ms */
    uint8_t fb_count; /* feedback packet count, for loss of feedback itself */
};

/* Decoders. Each takes a packet from vg_rtcp_next() and returns 0, or VG_EINVAL when
 * the packet is not of that type or its counts do not fit its length. Extra bytes
 * after what the counts describe are allowed where RFC 3550 allows profile-specific
 * extensions (SR, RR) and ignored elsewhere. */
int vg_rtcp_parse_sr(const struct vg_rtcp_pkt *p, struct vg_rtcp_sr *out);
int vg_rtcp_parse_rr(const struct vg_rtcp_pkt *p, struct vg_rtcp_rr *out);
/* Walks every item of every chunk (items other than CNAME are skipped). */
int vg_rtcp_parse_sdes(const struct vg_rtcp_pkt *p, struct vg_rtcp_sdes *out);
int vg_rtcp_parse_bye(const struct vg_rtcp_pkt *p, struct vg_rtcp_bye *out);
int vg_rtcp_parse_pli(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *out);
int vg_rtcp_parse_tcc(const struct vg_rtcp_pkt *p, struct vg_rtcp_tcc *out);
/* Returns VG_ENOENT for a PSFB FMT=15 packet of another application than "REMB", and
 * VG_EINVAL when mantissa << exponent does not fit 64 bits. */
int vg_rtcp_parse_remb(const struct vg_rtcp_pkt *p, struct vg_rtcp_remb *out);

/* Generic NACK: expands every PID/BLP pair into the sequence numbers it reports
 * lost, in wire order (each PID, then its BLP bits from the lowest), into
 * lost[0..cap). Sets *n_lost to the number written. Returns 0, VG_EINVAL, or
 * VG_ENOSPC when more were reported than cap: the first cap are then in lost[]. */
int vg_rtcp_parse_nack(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *fb, uint16_t *lost,
                       size_t cap, size_t *n_lost);

/* FIR: the (SSRC, seq) entries into entries[0..cap), same contract as NACK. */
int vg_rtcp_parse_fir(const struct vg_rtcp_pkt *p, struct vg_rtcp_fb *fb,
                      struct vg_rtcp_fir_entry *entries, size_t cap, size_t *n);

/* Builders (see the top of this file). VG_EINVAL for a report count above 31 or an
 * empty NACK or FIR list; VG_ENOSPC also when a list is too long for one packet
 * (the 16-bit length field), so that the caller splits it either way. */
int vg_rtcp_build_sr(uint8_t *buf, size_t cap, const struct vg_rtcp_sr *sr);
int vg_rtcp_build_rr(uint8_t *buf, size_t cap, const struct vg_rtcp_rr *rr);
/* Packs lost[0..n) into PID/BLP pairs in the given order: an entry joins the
 * current pair while it lies 1..16 after the PID and after the pair's previous
 * entry, else it starts a new pair. A list sorted in wrap-aware order packs into the
 * fewest pairs, and vg_rtcp_parse_nack() gives back exactly the list passed. */
int vg_rtcp_build_nack(uint8_t *buf, size_t cap, const struct vg_rtcp_fb *fb, const uint16_t *lost,
                       size_t n);
int vg_rtcp_build_pli(uint8_t *buf, size_t cap, const struct vg_rtcp_fb *fb);
/* The media SSRC field is 0, as RFC 5104 4.3.1.2 requires; the targets are in the
 * entries. */
int vg_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                      const struct vg_rtcp_fir_entry *entries, size_t n);
/* The bitrate is sent as an 18-bit mantissa and 6-bit exponent, rounded down to
 * the nearest value that form can carry (exact below 2^18 bit/s). */
int vg_rtcp_build_remb(uint8_t *buf, size_t cap, const struct vg_rtcp_remb *remb);

#endif
