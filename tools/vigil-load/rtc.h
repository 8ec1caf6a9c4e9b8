/* One WebRTC endpoint of the load generator, made of Vigil's own media code.
 *
 * A browser or console is what the gateway expects on each leg; this is the least
 * of one that still speaks every layer for real: full ICE through media/ice
 * (libnice), DTLS-SRTP through media/core's sans-IO endpoint, SDP written and
 * checked by media/core's negotiator. It sends RTP it is given and hands up the RTP
 * and RTCP it receives, decrypted. It never decodes media: the figures it serves
 * (first frame, loss, latency) come from RTP headers and a tail the sender appends
 * to each payload (see clip.h).
 *
 * Threads: everything runs on the GMainContext given at creation; callbacks fire
 * there, never from inside a vg_rtc_* call except vg_rtc_free(), which fires none. */
#ifndef VG_LOAD_RTC_H
#define VG_LOAD_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtls.h"
#include "sdp.h"

typedef struct _GMainContext GMainContext;

struct vg_rtc;

struct vg_rtc_callbacks {
    /* A local candidate line ("candidate:..."), or "" at end of candidates. */
    void (*on_candidate)(const char *line, void *ud);
    /* DTLS connected and SRTP keyed; profile is the SRTP profile's name. */
    void (*on_connected)(const char *profile, void *ud);
    /* ICE or DTLS failed; why is for a log line. */
    void (*on_failed)(const char *why, void *ud);
    /* One decrypted RTP or RTCP packet, valid during the call. */
    void (*on_rtp)(const uint8_t *pkt, size_t len, void *ud);
    void (*on_rtcp)(const uint8_t *pkt, size_t len, void *ud);
};

struct vg_rtc_config {
    GMainContext *ctx;
    struct vg_ice_loop *loop;        /* ctx's, or NULL (media/ice/ice.h) */
    const struct vg_dtls_cert *cert; /* shared; must outlive the endpoint */
    bool offerer;                    /* citizen / publisher: we write the offer */
    unsigned srtp_profiles;          /* VG_DTLS_SRTP_* bits, 0 for both (GCM first) */
    const char *local_addr;          /* host candidate address, e.g. "127.0.0.1" */
};

/* Creates an endpoint; gathering starts with the local description. *out is owned by
 * the caller (vg_rtc_free). VG_EIO if ICE cannot be set up. */
int vg_rtc_new(const struct vg_rtc_config *cfg, const struct vg_rtc_callbacks *cb, void *ud,
               struct vg_rtc **out);
void vg_rtc_free(struct vg_rtc *r);

/* Writes an offer of one audio (Opus) and one video (VP8) section, both sendonly,
 * with our SSRCs, into out. Returns its length or a VG_E* code. */
int vg_rtc_offer(struct vg_rtc *r, uint32_t audio_ssrc, uint32_t video_ssrc, char *out, size_t cap);

/* Applies the peer's answer to our offer. 0 or VG_EPROTO (err says why). */
int vg_rtc_apply_answer(struct vg_rtc *r, const char *sdp, size_t len, char *err, size_t errlen);

/* Answers the peer's offer, receiving only. Returns the answer's length or a VG_E*
 * code (err says why). */
int vg_rtc_answer(struct vg_rtc *r, const char *sdp, size_t len, char *out, size_t cap, char *err,
                  size_t errlen);

/* A remote candidate as signalling brings it; "" marks end of candidates. */
int vg_rtc_add_candidate(struct vg_rtc *r, const char *line);

/* The negotiated section of a kind, or NULL before negotiation or if rejected. */
const struct vg_sdp_nego_media *vg_rtc_section(const struct vg_rtc *r, enum vg_sdp_kind kind);

/* Protects and sends one RTP (RTCP) packet of len bytes in buf (cap bytes, room for
 * the SRTP trailer). VG_ESTATE before SRTP is keyed; otherwise what vg_ice_send or
 * vg_srtp_protect_* returns. */
int vg_rtc_send_rtp(struct vg_rtc *r, uint8_t *buf, size_t len, size_t cap);
int vg_rtc_send_rtcp(struct vg_rtc *r, uint8_t *buf, size_t len, size_t cap);

bool vg_rtc_connected(const struct vg_rtc *r);

#endif
