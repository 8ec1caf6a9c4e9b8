/* Pre-encoded media for the load generator, and the tail that carries its figures.
 *
 * Encoding VP8 for hundreds of senders would measure the encoder, not the gateway,
 * so the media is encoded once at start by GStreamer (gst-launch-1.0: VP8 at about
 * 1.5 Mbit/s, 30 fps, 640x480, one keyframe at the start, and Opus 20 ms), payloaded
 * to RTP and stored as RFC 4571 frames in a temp file. Here it is read back as
 * frames of payloads, and every sender replays it on its own sequence numbers,
 * SSRC and timestamps, each frame at its time. A sender asked for a keyframe (PLI,
 * FIR) jumps back to the clip's first frame, which is one, as an encoder would
 * answer with a new keyframe.
 *
 * The tail: each payload gets VG_CLIP_TAIL_LEN bytes appended, "VgLd", the sender's
 * packet number (32 bits) and its send time (64 bits, CLOCK_MONOTONIC microseconds:
 * sender and receiver are the same process). Gateways forward payloads untouched
 * (header extensions are not, and are negotiated per leg), so the receiver reads
 * loss and the one-way time through the gateway from it. Nothing decodes the media,
 * so the extra bytes at the end of a VP8 or Opus payload harm no one. */
#ifndef VG_LOAD_CLIP_H
#define VG_LOAD_CLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_CLIP_TAIL_LEN 16
#define VG_CLIP_MAX_PAYLOAD 1400

struct vg_clip_pkt {
    const uint8_t *payload;
    uint16_t len;
    bool marker;
};

struct vg_clip_frame {
    size_t first, n; /* packets [first, first + n) */
    bool key;        /* VP8 keyframe (audio frames: false) */
};

struct vg_clip {
    uint32_t clock;   /* RTP clock rate */
    int64_t frame_us; /* duration of one frame */
    size_t n_frames, n_pkts;
    struct vg_clip_frame *frames;
    struct vg_clip_pkt *pkts;
    uint8_t *data;  /* the payload bytes */
    uint64_t bytes; /* payload bytes in the whole clip */
};

/* Encodes secs seconds of VP8 (at bitrate bit/s) and Opus into files in dir with
 * gst-launch-1.0. 0, or VG_EIO with err filled. */
int vg_clip_encode(const char *dir, int secs, int bitrate, char *err, size_t errlen);

/* Parses n bytes of RFC 4571 framed RTP (a 16-bit length before each packet) into *c,
 * taking data (g_malloc'd) whatever the result: vg_clip_free() it. Parsing stops at the
 * first frame that is cut short or not RTP, or a payload over VG_CLIP_MAX_PAYLOAD.
 * is_vp8 marks keyframes, and then the clip must start with one. 0 or VG_EINVAL (fewer
 * than two frames, no keyframe first, clock 0). */
int vg_clip_parse(uint8_t *data, size_t n, uint32_t clock, bool is_vp8, struct vg_clip *c);

/* Reads path and parses it as above. 0, VG_EIO or VG_EINVAL with err filled. */
int vg_clip_load(const char *path, uint32_t clock, bool is_vp8, struct vg_clip *c, char *err,
                 size_t errlen);
void vg_clip_free(struct vg_clip *c);

/* True when the VP8 payload (RFC 7741 descriptor) starts a keyframe. */
bool vg_clip_vp8_is_key(const uint8_t *p, size_t len);

/* Writes the tail at p (VG_CLIP_TAIL_LEN bytes). */
void vg_clip_put_tail(uint8_t *p, uint32_t pktno, int64_t send_us);

/* Reads the tail of a payload; false if it carries none. */
bool vg_clip_get_tail(const uint8_t *payload, size_t len, uint32_t *pktno, int64_t *send_us);

#endif
