/* Encoding the clip with GStreamer's command line tool, reading it back, and the
 * figure-carrying tail. */
#include "clip.h"

#include "rtp.h"
#include "vg_err.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static int run(char **argv, char *err, size_t errlen)
{
    gchar *out = NULL, *serr = NULL;
    gint status = 0;
    GError *ge = NULL;
    gboolean ok =
        g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &serr, &status, &ge);
    if (!ok || !g_spawn_check_wait_status(status, NULL)) {
        snprintf(err, errlen, "%s failed: %s", argv[0], ge ? ge->message : serr ? serr : "?");
        g_clear_error(&ge);
        g_free(out);
        g_free(serr);
        return VG_EIO;
    }
    g_free(out);
    g_free(serr);
    return VG_OK;
}

int vg_clip_encode(const char *dir, int secs, int bitrate, char *err, size_t errlen)
{
    char vn[64], an[64], vbr[64], vloc[4200], aloc[4200];
    snprintf(vn, sizeof vn, "num-buffers=%d", secs * 30);
    snprintf(an, sizeof an, "num-buffers=%d", secs * 50);
    snprintf(vbr, sizeof vbr, "target-bitrate=%d", bitrate);
    snprintf(vloc, sizeof vloc, "location=%s/video.rtp", dir);
    snprintf(aloc, sizeof aloc, "location=%s/audio.rtp", dir);
    /* One keyframe at the start (keyframe-max-dist beyond the clip): a sender asked
     * for a keyframe jumps back to it. A moving test pattern keeps the encoder busy
     * enough to reach the bit rate. */
    char *video[] = {"gst-launch-1.0",
                     "-q",
                     "videotestsrc",
                     vn,
                     "pattern=smpte",
                     "horizontal-speed=3",
                     "!",
                     "video/x-raw,width=640,height=480,framerate=30/1",
                     "!",
                     "vp8enc",
                     vbr,
                     "end-usage=cbr",
                     "deadline=1",
                     "cpu-used=8",
                     "keyframe-max-dist=100000",
                     "!",
                     "rtpvp8pay",
                     "mtu=1180",
                     "pt=96",
                     "picture-id-mode=15-bit",
                     "!",
                     "rtpstreampay",
                     "!",
                     "filesink",
                     vloc,
                     NULL};
    char *audio[] = {"gst-launch-1.0",
                     "-q",
                     "audiotestsrc",
                     an,
                     "samplesperbuffer=960",
                     "wave=ticks",
                     "!",
                     "audio/x-raw,rate=48000,channels=2",
                     "!",
                     "opusenc",
                     "bitrate=32000",
                     "frame-size=20",
                     "!",
                     "rtpopuspay",
                     "pt=111",
                     "!",
                     "rtpstreampay",
                     "!",
                     "filesink",
                     aloc,
                     NULL};
    int rc = run(video, err, errlen);
    return rc ? rc : run(audio, err, errlen);
}

bool vg_clip_vp8_is_key(const uint8_t *p, size_t len)
{
    if (len < 1)
        return false;
    size_t off = 1;
    bool start = p[0] & 0x10, x = p[0] & 0x80;
    unsigned pid = p[0] & 0x07;
    if (x) {
        if (len < 2)
            return false;
        uint8_t e = p[1];
        off = 2;
        if (e & 0x80) /* I: picture id, 7 or 15 bits */
            off += (len > off && (p[off] & 0x80)) ? 2 : 1;
        if (e & 0x40) /* L: TL0PICIDX */
            off++;
        if (e & 0x30) /* T or K: TID/Y/KEYIDX */
            off++;
    }
    return start && pid == 0 && off < len && !(p[off] & 0x01);
}

static int parse(const uint8_t *d, size_t n, bool is_vp8, struct vg_clip *c)
{
    GArray *pk = g_array_new(FALSE, FALSE, sizeof(struct vg_clip_pkt));
    GArray *fr = g_array_new(FALSE, FALSE, sizeof(struct vg_clip_frame));
    uint32_t first_ts = 0, last_ts = 0;
    size_t i = 0;
    while (i + 2 <= n) {
        size_t l = (size_t)d[i] << 8 | d[i + 1];
        struct vg_rtp_view v;
        if (i + 2 + l > n || vg_rtp_parse(d + i + 2, l, &v) || v.payload_len > VG_CLIP_MAX_PAYLOAD)
            break;
        struct vg_clip_pkt p = {vg_rtp_payload(&v), (uint16_t)v.payload_len, v.marker};
        if (pk->len == 0)
            first_ts = v.ts;
        if (fr->len == 0 || v.ts != last_ts) {
            struct vg_clip_frame f = {pk->len, 0, is_vp8 && vg_clip_vp8_is_key(p.payload, p.len)};
            g_array_append_val(fr, f);
        }
        last_ts = v.ts;
        g_array_index(fr, struct vg_clip_frame, fr->len - 1).n++;
        g_array_append_val(pk, p);
        c->bytes += p.len;
        i += 2 + l;
    }
    c->n_pkts = pk->len;
    c->n_frames = fr->len;
    c->pkts = (struct vg_clip_pkt *)g_array_free(pk, FALSE);
    c->frames = (struct vg_clip_frame *)g_array_free(fr, FALSE);
    if (c->n_frames < 2)
        return VG_EINVAL;
    /* Frames are evenly spaced in what GStreamer wrote; the average spacing is it. */
    c->frame_us = (int64_t)(last_ts - first_ts) * 1000000 / c->clock / (int64_t)(c->n_frames - 1);
    return c->frame_us > 0 ? VG_OK : VG_EINVAL;
}

int vg_clip_parse(uint8_t *data, size_t n, uint32_t clock, bool is_vp8, struct vg_clip *c)
{
    memset(c, 0, sizeof *c);
    c->clock = clock;
    c->data = data;
    int rc = clock ? parse(c->data, n, is_vp8, c) : VG_EINVAL;
    if (!rc && is_vp8 && !c->frames[0].key)
        rc = VG_EINVAL;
    return rc;
}

int vg_clip_load(const char *path, uint32_t clock, bool is_vp8, struct vg_clip *c, char *err,
                 size_t errlen)
{
    gchar *d = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &d, &n, NULL)) {
        memset(c, 0, sizeof *c);
        snprintf(err, errlen, "cannot read %s", path);
        return VG_EIO;
    }
    int rc = vg_clip_parse((uint8_t *)d, n, clock, is_vp8, c);
    if (rc)
        snprintf(err, errlen, "%s: not a clip of RFC 4571 RTP frames starting with a keyframe",
                 path);
    return rc;
}

void vg_clip_free(struct vg_clip *c)
{
    g_free(c->frames);
    g_free(c->pkts);
    g_free(c->data);
    memset(c, 0, sizeof *c);
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

void vg_clip_put_tail(uint8_t *p, uint32_t pktno, int64_t send_us)
{
    memcpy(p, "VgLd", 4);
    put_be(p + 4, pktno, 4);
    put_be(p + 8, (uint64_t)send_us, 8);
}

bool vg_clip_get_tail(const uint8_t *payload, size_t len, uint32_t *pktno, int64_t *send_us)
{
    if (len < VG_CLIP_TAIL_LEN)
        return false;
    const uint8_t *t = payload + len - VG_CLIP_TAIL_LEN;
    if (memcmp(t, "VgLd", 4))
        return false;
    *pktno = (uint32_t)get_be(t + 4, 4);
    *send_us = (int64_t)get_be(t + 8, 8);
    return true;
}
