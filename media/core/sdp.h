/* SDP for WebRTC offer/answer (RFC 8866 syntax, JSEP RFC 8829 rules), sans-IO.
 *
 * A leg's media is agreed in one offer and one answer. The gateway answers offers
 * from the citizen's side (Chromium, GStreamer webrtcbin) and makes offers to
 * consoles. The parser turns SDP text into a bounded struct: every list has a fixed
 * maximum and every string is a view into the caller's text. The negotiator picks
 * one codec per section, keeps only the header extensions and RTCP feedback the
 * media engine serves, decides the DTLS role, writes the answer (or offer) into a
 * caller buffer, and reports the outcome as plain data (struct vg_sdp_nego) from
 * which the media engine sets up forwarding. Nothing here opens a socket, reads a
 * clock or draws a random number: session ids, ICE credentials and SSRCs come from
 * the caller, so two runs with the same input write the same bytes.
 *
 * What we accept is narrow on purpose, because every leg of a case must forward to
 * every other without transcoding: BUNDLE and rtcp-mux (one 5-tuple per leg, see
 * classify.h), DTLS-SRTP with a sha-256 fingerprint, Opus 48000/2, VP8, and H.264
 * packetization-mode 1 in (constrained) baseline, which every console decodes.
 * Anything else in an offer is left out of the answer (codecs, RED/ulpfec,
 * extensions, feedback), rejected per section with port 0 (data channels: the chat
 * runs over WebSocket), or refused as a whole with a reason a person can read. */
#ifndef VG_SDP_H
#define VG_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed maxima. Sections over the maximum refuse the SDP (an answer must answer
 * every m= line, so we cannot drop one). Other lists keep the first N entries and
 * count the rest in *_dropped: a Chromium video section offers about 27 payload
 * types in preference order, so dropping the tail loses only the least wanted. */
#define VG_SDP_MAX_MEDIA 16
#define VG_SDP_MAX_PT 32        /* payload types per section */
#define VG_SDP_MAX_EXTMAP 16    /* a=extmap per section */
#define VG_SDP_MAX_CAND 32      /* a=candidate per section */
#define VG_SDP_MAX_SSRC 32      /* a=ssrc lines per section */
#define VG_SDP_MAX_FID 8        /* a=ssrc-group:FID per section */
#define VG_SDP_MAX_RID 8        /* a=rid per section */
#define VG_SDP_MAX_FP 4         /* a=fingerprint per level */
#define VG_SDP_MID_MAX 32       /* characters in a mid */
#define VG_SDP_ICE_MAX 256      /* characters in ice-ufrag / ice-pwd (RFC 8839) */
#define VG_SDP_TEXT_MAX 65536   /* bytes of SDP text accepted */
#define VG_SDP_FP_SHA256_LEN 95 /* "AB:CD:..." for 32 bytes */
#define VG_SDP_MAX_CODECS 4     /* local codec preferences */
#define VG_SDP_NEGO_SSRC 8      /* remote SSRCs reported per section */
#define VG_SDP_NAME_MAX 64      /* local cname / stream id */

/* A string inside the parsed text: not NUL-terminated, valid while that text is. */
struct vg_sdp_str {
    const char *p;
    size_t len;
};

enum vg_sdp_kind {
    VG_SDP_KIND_OTHER = 0, /* text, message, anything unknown */
    VG_SDP_KIND_AUDIO,
    VG_SDP_KIND_VIDEO,
    VG_SDP_KIND_APPLICATION, /* data channel */
};

/* Zero is sendrecv, the SDP default when a section states no direction. */
enum vg_sdp_dir {
    VG_SDP_SENDRECV = 0,
    VG_SDP_SENDONLY,
    VG_SDP_RECVONLY,
    VG_SDP_INACTIVE,
};

/* a=setup (RFC 4145, 5763). In struct vg_sdp_local, NONE and ACTPASS both mean
 * "either role; passive when the offer leaves it to us". */
enum vg_sdp_setup {
    VG_SDP_SETUP_NONE = 0, /* attribute absent */
    VG_SDP_SETUP_ACTPASS,
    VG_SDP_SETUP_ACTIVE,
    VG_SDP_SETUP_PASSIVE,
    VG_SDP_SETUP_HOLDCONN,
};

enum vg_sdp_codec {
    VG_SDP_CODEC_NONE = 0,
    VG_SDP_CODEC_OPUS,
    VG_SDP_CODEC_VP8,
    VG_SDP_CODEC_H264,
};

/* a=rtcp-fb values, as bits. SERVED is what the media engine implements; any other
 * feedback type sets OTHER in a parsed section and is never answered. */
#define VG_SDP_FB_NACK 0x01u
#define VG_SDP_FB_NACK_PLI 0x02u
#define VG_SDP_FB_CCM_FIR 0x04u
#define VG_SDP_FB_GOOG_REMB 0x08u
#define VG_SDP_FB_TRANSPORT_CC 0x10u
#define VG_SDP_FB_OTHER 0x80u
/* Not transport-cc: the gateway terminates RTCP per leg and sends no transport-wide
 * feedback, and a sender told it would get some starves its bandwidth estimate
 * (Chromium fell to 30 kbit/s within 8 s). Senders estimate from our REMB and
 * receiver reports instead. */
#define VG_SDP_FB_SERVED 0x0fu

/* The header extensions the media engine reads or writes. */
#define VG_SDP_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define VG_SDP_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define VG_SDP_URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define VG_SDP_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

/* One payload type of an m= line, with what a=rtpmap, a=fmtp and a=rtcp-fb said. */
struct vg_sdp_pt {
    uint8_t pt;
    bool has_rtpmap;
    struct vg_sdp_str name; /* encoding name as written ("opus", "OPUS", "VP8") */
    uint32_t clock;
    uint8_t channels; /* 0 when the rtpmap gave none */
    bool has_fmtp;
    struct vg_sdp_str fmtp;    /* the raw parameter string */
    int16_t apt;               /* fmtp apt= (RTX), -1 if absent */
    int8_t packetization_mode; /* fmtp packetization-mode=, -1 if absent */
    bool has_profile_level_id;
    uint32_t profile_level_id; /* fmtp profile-level-id=, 24 bits */
    uint8_t fb;                /* VG_SDP_FB_* bits, including a=rtcp-fb:* lines */
};

struct vg_sdp_extmap {
    uint16_t id; /* 1..255 (RFC 8285: 1..14 fit the one-byte header) */
    enum vg_sdp_dir dir;
    struct vg_sdp_str uri;
};

enum vg_sdp_cand_type {
    VG_SDP_CAND_HOST = 0,
    VG_SDP_CAND_SRFLX,
    VG_SDP_CAND_PRFLX,
    VG_SDP_CAND_RELAY,
};

enum vg_sdp_tcptype {
    VG_SDP_TCPTYPE_NONE = 0,
    VG_SDP_TCPTYPE_ACTIVE,
    VG_SDP_TCPTYPE_PASSIVE,
    VG_SDP_TCPTYPE_SO,
};

/* An ICE candidate (RFC 8839 section 5.1). address may be an IP literal or an
 * mDNS name ("<uuid>.local"); resolving it is the ICE adapter's business. */
struct vg_sdp_candidate {
    struct vg_sdp_str foundation;
    uint16_t component; /* 1 = RTP; with rtcp-mux nothing else is used */
    bool tcp;           /* transport TCP (RFC 6544), else UDP */
    uint32_t priority;
    struct vg_sdp_str address;
    uint16_t port;
    enum vg_sdp_cand_type type;
    struct vg_sdp_str raddr; /* len 0 if absent */
    uint16_t rport;
    enum vg_sdp_tcptype tcptype;
    struct vg_sdp_str ufrag; /* Chromium's "ufrag" extension, len 0 if absent */
};

struct vg_sdp_ssrc {
    uint32_t ssrc;
    struct vg_sdp_str attr;  /* "cname", "msid", ... */
    struct vg_sdp_str value; /* after the ':', len 0 if none */
};

/* a=ssrc-group:FID <media> <rtx> */
struct vg_sdp_fid {
    uint32_t media, rtx;
};

struct vg_sdp_rid {
    struct vg_sdp_str id;
    bool send; /* "send" (the offerer sends this layer), else "recv" */
};

struct vg_sdp_fingerprint {
    struct vg_sdp_str hash;  /* "sha-256" */
    struct vg_sdp_str value; /* "AB:CD:..." */
};

/* The transport attributes, which may sit at session level or in a section; a
 * section's own value wins (JSEP puts them in every section, Firefox puts the
 * fingerprint at session level). */
struct vg_sdp_transport {
    struct vg_sdp_str ice_ufrag, ice_pwd; /* len 0 if absent */
    struct vg_sdp_str ice_options;        /* raw, len 0 if absent */
    bool trickle;                         /* ice-options lists "trickle" */
    size_t n_fp;
    struct vg_sdp_fingerprint fp[VG_SDP_MAX_FP];
    enum vg_sdp_setup setup;
};

/* One m= section. */
struct vg_sdp_media {
    unsigned line; /* line number of the m= line, for messages */
    enum vg_sdp_kind kind;
    struct vg_sdp_str media; /* the media token as written */
    uint16_t port;
    struct vg_sdp_str proto; /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    struct vg_sdp_str fmt;   /* the whole fmt list as written */
    bool rtp;                /* proto carries RTP, so fmt is payload types */
    struct vg_sdp_str c;     /* c= value, len 0 if absent */
    struct vg_sdp_str mid;   /* len 0 if absent */
    bool dir_set;
    enum vg_sdp_dir dir; /* effective: the section's, else the session's */
    bool rtcp_mux, rtcp_rsize, bundle_only, end_of_candidates;
    struct vg_sdp_transport transport;
    size_t n_pt, pt_dropped;
    struct vg_sdp_pt pt[VG_SDP_MAX_PT]; /* in m= line (preference) order */
    size_t n_ext, ext_dropped;
    struct vg_sdp_extmap ext[VG_SDP_MAX_EXTMAP];
    size_t n_ssrc, ssrc_dropped;
    struct vg_sdp_ssrc ssrc[VG_SDP_MAX_SSRC];
    size_t n_fid;
    struct vg_sdp_fid fid[VG_SDP_MAX_FID];
    struct vg_sdp_str msid_stream, msid_track; /* a=msid, len 0 if absent */
    size_t n_cand, cand_dropped;
    struct vg_sdp_candidate cand[VG_SDP_MAX_CAND];
    size_t n_rid;
    struct vg_sdp_rid rid[VG_SDP_MAX_RID];
    struct vg_sdp_str simulcast; /* a=simulcast value, len 0 if absent */
};

/* A parsed session description. About 110 KB: keep it static or on the heap, not
 * on a small thread stack. Views point into the text given to vg_sdp_parse(), which
 * must outlive this struct; the struct owns nothing and needs no freeing. */
struct vg_sdp {
    struct vg_sdp_str o_user, o_sess_id, o_sess_version; /* from o= */
    struct vg_sdp_str session_name;                      /* s= */
    struct vg_sdp_str c;                                 /* session c=, may be empty */
    size_t n_bundle;                                     /* first a=group:BUNDLE */
    struct vg_sdp_str bundle[VG_SDP_MAX_MEDIA];
    struct vg_sdp_transport transport; /* session level */
    struct vg_sdp_str msid_semantic;
    bool ice_lite, extmap_allow_mixed;
    size_t n_media;
    struct vg_sdp_media media[VG_SDP_MAX_MEDIA];
};

/* Why a parse or a negotiation failed. line is 1-based, 0 when no line applies. */
struct vg_sdp_error {
    unsigned line;
    char reason[160];
};

/* Parses len bytes of SDP (lines end in "\r\n" or "\n"; the last may have no end).
 * Returns 0, VG_EINVAL for malformed text, or VG_ENOSPC when the text is longer
 * than VG_SDP_TEXT_MAX or has more than VG_SDP_MAX_MEDIA sections; err (may be
 * NULL) then gives the line and reason. Unknown lines and attributes are ignored,
 * as RFC 8866 asks; control characters anywhere are malformed, so no view can
 * carry a line break into text we write. */
int vg_sdp_parse(const char *text, size_t len, struct vg_sdp *sdp, struct vg_sdp_error *err);

/* Parses one trickled candidate as signalling delivers it: "a=candidate:...",
 * "candidate:..." or the bare attribute value, with or without a line end.
 * Returns 0 and fills c (views into s), VG_ENOENT for an end-of-candidates marker
 * (an empty string, as browsers send it, or "[a=]end-of-candidates"), or VG_EINVAL
 * with a reason in err (may be NULL). */
int vg_sdp_parse_candidate(const char *s, size_t len, struct vg_sdp_candidate *c,
                           struct vg_sdp_error *err);

/* What the gateway sends in one section. For vg_sdp_answer() the index is the
 * offer's section index and kind is ignored (sections past n_send act as zeroed
 * entries); for vg_sdp_offer() each entry is a section to offer. dir is what we are
 * willing to do (zero: sendrecv); an answer uses the offer's direction mirrored and
 * narrowed by it. ssrc 0 means "no a=ssrc lines"; rtx_ssrc is used only when RTX is
 * negotiated. */
struct vg_sdp_send {
    enum vg_sdp_kind kind;
    enum vg_sdp_dir dir;
    uint32_t ssrc, rtx_ssrc;
};

/* Local parameters. Strings are NUL-terminated, borrowed for the call only. */
struct vg_sdp_local {
    uint64_t session_id, session_version; /* o= line; the caller picks them */
    const char *ice_ufrag;                /* 4..256 ice-chars */
    const char *ice_pwd;                  /* 22..256 ice-chars */
    const char *fingerprint; /* sha-256 of our DTLS certificate: "AB:CD:..." (95 chars) */
    enum vg_sdp_setup setup; /* answers only: role we insist on, or NONE/ACTPASS */
    size_t n_codecs;         /* 0: Opus, VP8, H.264 */
    enum vg_sdp_codec codecs[VG_SDP_MAX_CODECS]; /* most preferred first */
    const char *cname;     /* RTCP CNAME for a=ssrc; token, at most 64 chars */
    const char *stream_id; /* a=msid stream; token, at most 64 chars */
    size_t n_send;
    struct vg_sdp_send send[VG_SDP_MAX_MEDIA];
};

/* The negotiated result for one section. Copies, not views: it outlives the text. */
struct vg_sdp_nego_media {
    char mid[VG_SDP_MID_MAX + 1];
    enum vg_sdp_kind kind;
    bool accepted;
    char reason[80]; /* why not accepted */
    enum vg_sdp_codec codec;
    uint8_t pt;
    uint32_t clock;
    uint8_t channels;
    int16_t rtx_pt;                 /* -1: no RTX */
    uint32_t h264_profile_level_id; /* 0 unless H.264 */
    uint8_t fb;                     /* VG_SDP_FB_* for pt, within SERVED */
    uint16_t ext_mid, ext_abs_send_time, ext_twcc, ext_audio_level; /* 0: not used */
    enum vg_sdp_dir dir; /* what the gateway does: SENDONLY = we send only */
    bool rtcp_rsize;
    uint32_t local_ssrc, local_rtx_ssrc; /* 0 when we signalled none */
    size_t n_remote_ssrc;
    bool remote_ssrc_truncated; /* more SSRCs than VG_SDP_NEGO_SSRC were signalled */
    struct {
        uint32_t ssrc, rtx; /* rtx 0 when no FID group names it */
    } remote_ssrc[VG_SDP_NEGO_SSRC];
    size_t n_remote_rid; /* simulcast layers offered; we answer one stream */
};

struct vg_sdp_nego {
    size_t n_media;
    struct vg_sdp_nego_media media[VG_SDP_MAX_MEDIA];
    bool bundle; /* accepted sections share one transport */
    /* The remote section whose transport ICE and DTLS use; its candidates are the
     * parsed SDP's media[transport_index].cand. */
    size_t transport_index;
    enum vg_sdp_setup local_setup; /* ACTIVE (DTLS client) or PASSIVE (server) */
    char remote_ufrag[VG_SDP_ICE_MAX + 1], remote_pwd[VG_SDP_ICE_MAX + 1];
    char remote_fingerprint[VG_SDP_FP_SHA256_LEN + 1]; /* sha-256 value */
    bool remote_trickle, remote_ice_lite;
};

/* Answers a parsed offer. Writes the answer, NUL-terminated, into out (cap bytes)
 * and its length into *out_len (may be NULL), and the outcome into nego. Returns 0;
 * VG_EPROTO when the offer cannot work (err says why: no rtcp-mux, no ICE
 * credentials, no sha-256 fingerprint, impossible DTLS role, no common codec, no
 * BUNDLE); VG_EINVAL for bad local parameters; VG_ENOSPC when cap is too small:
 * then out is "", *out_len is the length the text needs (cap must exceed it by one
 * for the NUL) and nego is filled as on success. Sections we cannot use are
 * rejected with port 0 and a reason in nego. The answer carries no candidates:
 * ours are trickled (a=ice-options:trickle). Nothing is allocated. */
int vg_sdp_answer(const struct vg_sdp *offer, const struct vg_sdp_local *local, char *out,
                  size_t cap, size_t *out_len, struct vg_sdp_nego *nego, struct vg_sdp_error *err);

/* Writes an offer for local->send[0..n_send) (kinds audio or video): mids "0",
 * "1", ..., Opus 111, VP8 96 (RTX 97), H.264 42e01f 102 (RTX 103) in local codec
 * order, BUNDLE, rtcp-mux, a=setup:actpass, trickle. Same returns as
 * vg_sdp_answer() without VG_EPROTO. Keep local: vg_sdp_apply_answer() needs it. */
int vg_sdp_offer(const struct vg_sdp_local *local, char *out, size_t cap, size_t *out_len);

/* Checks a parsed answer against the offer vg_sdp_offer() wrote from local and
 * fills nego. Returns 0, VG_EINVAL for bad local parameters, or VG_EPROTO (with
 * err) when the answer does not match the offer: other sections or mids, a payload
 * type or extension we did not offer, a direction we did not allow, a=setup not
 * active or passive, missing rtcp-mux, ICE credentials or sha-256 fingerprint,
 * bundled sections left out of BUNDLE, or every section rejected. */
int vg_sdp_apply_answer(const struct vg_sdp_local *local, const struct vg_sdp *answer,
                        struct vg_sdp_nego *nego, struct vg_sdp_error *err);

const char *vg_sdp_codec_name(enum vg_sdp_codec c);
const char *vg_sdp_dir_name(enum vg_sdp_dir d);

#endif
