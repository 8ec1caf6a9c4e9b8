/* Evidence formats, sans-IO: the segment file, its records, and the audit log line.
 *
 * A recording is a set of segment files. Every segment starts with a fixed
 * 128-byte header (magic, version, the stream it belongs to, its number in that
 * stream, when it was opened, the case id, and the SHA-256 of the stream's previous
 * segment: the hash chain) followed by records. A record is a 16-byte header
 * (payload length, type, kind, arrival time in wall-clock microseconds) and the
 * payload: one decrypted RTP packet, or one case event as JSON. Stream 0 of a case
 * is its events log; every other stream is one media leg (its id).
 *
 * The record length comes first so a reader can tell "incomplete" (the file ends
 * inside a record: what a crash leaves, truncated at restart) from "malformed"
 * (a header no writer produces: tampering). All integers are big-endian.
 *
 * The audit log is text, one entry per line: a JSON object naming the previous
 * line's SHA-256 ("prev"), a tab, and the base64 Ed25519 signature of the JSON. A
 * changed byte breaks the signature of its own line or the chain of the next. */
#ifndef VG_EVFMT_H
#define VG_EVFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_EV_MAGIC "VIGILSEG"
#define VG_EV_VERSION 1
#define VG_EV_HDR_LEN 128
#define VG_EV_REC_HDR 16
#define VG_EV_REC_MAX 65536 /* a payload is at most this long */
#define VG_EV_CASE_MAX 40

enum vg_ev_rec_type {
    VG_EV_REC_RTP = 1,   /* kind: 0 audio, 1 video; payload: the decrypted RTP packet */
    VG_EV_REC_EVENT = 2, /* kind 0; payload: one JSON object (a case event) */
};

struct vg_ev_seg_header {
    uint64_t stream; /* 0: the case's events log; else the media leg's id */
    uint32_t seq;    /* 1, 2, ... within the stream */
    int64_t opened_us;
    char case_id[VG_EV_CASE_MAX + 1];
    uint8_t prev[32]; /* SHA-256 of segment seq-1 of this stream; zeros for seq 1 */
};

struct vg_ev_record {
    uint8_t type, kind;
    int64_t at_us;       /* arrival, wall clock */
    const uint8_t *data; /* a view into the caller's buffer */
    uint32_t len;
};

/* Writes the header into out (VG_EV_HDR_LEN bytes). VG_EINVAL for a case id too
 * long or with a NUL. */
int vg_ev_header_write(const struct vg_ev_seg_header *h, uint8_t out[VG_EV_HDR_LEN]);

/* Parses a header: VG_OK, VG_EAGAIN when len < VG_EV_HDR_LEN, VG_EINVAL when it is
 * not one (magic, version, reserved bytes, case id). */
int vg_ev_header_parse(const uint8_t *buf, size_t len, struct vg_ev_seg_header *h);

/* Writes a record (header and payload) into out; returns its size, or VG_ENOSPC /
 * VG_EINVAL. */
int vg_ev_record_write(const struct vg_ev_record *r, uint8_t *out, size_t cap);

/* Parses one record at buf: returns the bytes it takes (> 0), VG_EAGAIN when buf
 * ends inside it, VG_EINVAL when the header is not one a writer produces. */
int vg_ev_record_parse(const uint8_t *buf, size_t len, struct vg_ev_record *r);

/* What a whole segment holds, from a scan of its bytes. */
struct vg_ev_scan {
    struct vg_ev_seg_header hdr;
    uint64_t records, rtp, events;
    int64_t first_us, last_us; /* 0 when there is no record */
    size_t complete_len;       /* header plus every complete record */
    bool torn;                 /* the bytes end inside a record */
    size_t bad_offset;         /* where a malformed record starts (if rc is VG_EINVAL) */
};

/* Scans a segment's bytes. VG_OK (possibly torn), VG_EINVAL for a bad header or a
 * malformed record (bad_offset says where). */
int vg_ev_scan(const uint8_t *buf, size_t len, struct vg_ev_scan *out);

/* Audit log lines -------------------------------------------------------------- */

#define VG_EV_SIG_B64 88 /* base64 of a 64-byte Ed25519 signature, with padding */

/* Splits a line (without its newline) into the JSON and the signature text.
 * VG_OK, or VG_EINVAL when there is no tab or the signature is not base64 of 64
 * bytes. json/sig point into line; sig_raw receives the decoded signature. */
int vg_ev_audit_split(const char *line, size_t len, const char **json, size_t *json_len,
                      uint8_t sig_raw[64]);

/* Lower-case hex of n bytes into out (2n+1). */
void vg_ev_hex(const uint8_t *b, size_t n, char *out);
/* A wall-clock time in microseconds as UTC to the millisecond
 * ("2026-12-07T16:49:47.129Z"), for what a person reads; "?" for none (<= 0).
 * Returns out. */
const char *vg_ev_utc(int64_t us, char *out, size_t n);
/* Parses 2n hex characters into b. VG_OK or VG_EINVAL. */
int vg_ev_unhex(const char *hex, uint8_t *b, size_t n);

#endif
