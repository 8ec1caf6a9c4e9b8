/* SDP: parsing real offers, answering them, offering, applying answers, refusing. */
#include "sdp.h"
#include "vg_err.h"
#include "vt.h"

#include <stdlib.h>

#define CR "\r\n"
/* Our DTLS certificate's fingerprint, and the peers'. */
#define FP_GW                                                                                      \
    "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:"      \
    "CE:E6:0F"
#define FP_A                                                                                       \
    "7B:8C:1D:2E:3F:40:51:62:73:84:95:A6:B7:C8:D9:EA:FB:0C:1D:2E:3F:40:51:62:73:84:95:A6:B7:"      \
    "C8:D9:EA"
#define FP_W                                                                                       \
    "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:"      \
    "7E:8F:90"

#define URI_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_AST "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"

/* ---- vectors ------------------------------------------------------------------ */

/* clang-format off */
#define CHROME_TRANSPORT                                                                   \
    "a=ice-ufrag:Hk9b" CR "a=ice-pwd:4Xc2fq+gG/yL1bHn9aTRWsZu" CR "a=ice-options:trickle" CR \
    "a=fingerprint:sha-256 " FP_A CR "a=setup:actpass" CR
#define FB5(pt)                                                                            \
    "a=rtcp-fb:" #pt " goog-remb" CR "a=rtcp-fb:" #pt " transport-cc" CR "a=rtcp-fb:" #pt     \
    " ccm fir" CR "a=rtcp-fb:" #pt " nack" CR "a=rtcp-fb:" #pt " nack pli" CR
#define RTX(pt, apt) "a=rtpmap:" #pt " rtx/90000" CR "a=fmtp:" #pt " apt=" #apt CR
#define H264(pt, pm, plid)                                                                 \
    "a=rtpmap:" #pt " H264/90000" CR FB5(pt) "a=fmtp:" #pt                                  \
    " level-asymmetry-allowed=1;packetization-mode=" #pm ";profile-level-id=" #plid CR

/* Chromium (unified plan) after ICE gathering: audio, a camera with RTX, a second
 * video track sent as three simulcast layers, and a data channel. */
static const char CHROME_OFFER[] =
    "v=0" CR "o=- 4611731400430051336 2 IN IP4 127.0.0.1" CR "s=-" CR "t=0 0" CR
    "a=group:BUNDLE 0 1 2 3" CR "a=extmap-allow-mixed" CR "a=msid-semantic: WMS 9c5f5d2e" CR
    /* audio */
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126" CR "c=IN IP4 0.0.0.0" CR
    "a=rtcp:9 IN IP4 0.0.0.0" CR
    "a=candidate:1467250027 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 "
    "network-id 1 network-cost 10" CR
    "a=candidate:435653019 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active "
    "generation 0 network-id 1 network-cost 10" CR
    "a=candidate:842163049 1 udp 1686052607 203.0.113.7 61234 typ srflx raddr 192.168.1.20 "
    "rport 54321 generation 0 network-id 1 network-cost 10" CR
    CHROME_TRANSPORT "a=mid:0" CR "a=extmap:1 " URI_LEVEL CR "a=extmap:2 " URI_AST CR
    "a=extmap:3 " URI_TWCC CR "a=extmap:4 " URI_MID CR "a=sendrecv" CR
    "a=msid:9c5f5d2e 1b7a3c4d" CR "a=rtcp-mux" CR "a=rtcp-rsize" CR
    "a=rtpmap:111 opus/48000/2" CR "a=rtcp-fb:111 transport-cc" CR
    "a=fmtp:111 minptime=10;useinbandfec=1" CR "a=rtpmap:63 red/48000/2" CR
    "a=fmtp:63 111/111" CR "a=rtpmap:9 G722/8000" CR "a=rtpmap:0 PCMU/8000" CR
    "a=rtpmap:8 PCMA/8000" CR "a=rtpmap:13 CN/8000" CR "a=rtpmap:110 telephone-event/48000" CR
    "a=rtpmap:126 telephone-event/8000" CR "a=ssrc:3735928559 cname:Qx4mZ8pL2vN7kR1s" CR
    "a=ssrc:3735928559 msid:9c5f5d2e 1b7a3c4d" CR
    /* camera */
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107 108 109 127 125 "
    "39 40 45 46 112 113 116 117 118" CR
    "c=IN IP4 0.0.0.0" CR "a=rtcp:9 IN IP4 0.0.0.0" CR
    "a=candidate:1467250027 1 udp 2122260223 192.168.1.20 54322 typ host generation 0 "
    "network-id 1 network-cost 10" CR CHROME_TRANSPORT "a=mid:1" CR
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset" CR "a=extmap:2 " URI_AST CR
    "a=extmap:13 urn:3gpp:video-orientation" CR "a=extmap:3 " URI_TWCC CR
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay" CR
    "a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type" CR
    "a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing" CR
    "a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space" CR
    "a=extmap:4 " URI_MID CR "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" CR
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id" CR "a=sendrecv" CR
    "a=msid:9c5f5d2e 5e6f7a8b" CR "a=rtcp-mux" CR "a=rtcp-rsize" CR
    "a=rtpmap:96 VP8/90000" CR FB5(96) RTX(97, 96)
    "a=rtpmap:98 VP9/90000" CR FB5(98) "a=fmtp:98 profile-id=0" CR RTX(99, 98)
    "a=rtpmap:100 VP9/90000" CR FB5(100) "a=fmtp:100 profile-id=2" CR RTX(101, 100)
    H264(102, 1, 42001f) RTX(103, 102) H264(104, 0, 42001f) RTX(105, 104)
    H264(106, 1, 42e01f) RTX(107, 106) H264(108, 0, 42e01f) RTX(109, 108)
    H264(127, 1, 4d001f) RTX(125, 127) H264(39, 0, 4d001f) RTX(40, 39)
    "a=rtpmap:45 AV1/90000" CR FB5(45) "a=fmtp:45 level-idx=5;profile=0;tier=0" CR RTX(46, 45)
    H264(112, 1, 64001f) RTX(113, 112) "a=rtpmap:116 red/90000" CR RTX(117, 116)
    "a=rtpmap:118 ulpfec/90000" CR "a=ssrc-group:FID 2882400001 2882400002" CR
    "a=ssrc:2882400001 cname:Qx4mZ8pL2vN7kR1s" CR "a=ssrc:2882400001 msid:9c5f5d2e 5e6f7a8b" CR
    "a=ssrc:2882400002 cname:Qx4mZ8pL2vN7kR1s" CR "a=ssrc:2882400002 msid:9c5f5d2e 5e6f7a8b" CR
    /* simulcast: no a=ssrc, layers named by rid */
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 106 107" CR "c=IN IP4 0.0.0.0" CR CHROME_TRANSPORT
    "a=mid:2" CR "a=extmap:2 " URI_AST CR "a=extmap:3 " URI_TWCC CR "a=extmap:4 " URI_MID CR
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" CR
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id" CR "a=sendonly" CR
    "a=msid:- 0c1d2e3f" CR "a=rtcp-mux" CR "a=rtcp-rsize" CR "a=rtpmap:96 VP8/90000" CR
    FB5(96) RTX(97, 96) H264(106, 1, 42e01f) RTX(107, 106) "a=rid:q send" CR "a=rid:h send" CR
    "a=rid:f send" CR "a=simulcast:send q;h;f" CR
    /* data channel */
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel" CR "c=IN IP4 0.0.0.0" CR
    CHROME_TRANSPORT "a=mid:3" CR "a=sctp-port:5000" CR "a=max-message-size:262144" CR;

/* GStreamer webrtcbin 1.22 (VP8 payloader pt 96, Opus pt 97, SSRCs set in caps):
 * session-level trickle, 32-character credentials, mid and fingerprint last. */
#define WEBRTCBIN_TRANSPORT                                                                \
    "a=setup:actpass" CR "a=ice-ufrag:Ba8mNqvGVeLydWoV1zTu7aGp5XkR1Dw5" CR                   \
    "a=ice-pwd:8OHX3pr4V8V0TuhBZeAqwPXFm0dYoYhX" CR "a=rtcp-mux" CR "a=rtcp-rsize" CR        \
    "a=sendrecv" CR
static const char WEBRTCBIN_OFFER[] =
    "v=0" CR "o=- 1903392935366178148 0 IN IP4 0.0.0.0" CR "s=-" CR "t=0 0" CR
    "a=ice-options:trickle" CR "a=group:BUNDLE video0 audio1" CR
    "m=video 9 UDP/TLS/RTP/SAVPF 96" CR "c=IN IP4 0.0.0.0" CR WEBRTCBIN_TRANSPORT
    "a=rtpmap:96 VP8/90000" CR "a=rtcp-fb:96 nack" CR "a=rtcp-fb:96 nack pli" CR
    "a=framerate:30" CR
    "a=ssrc:1870939342 msid:user2803512563@host-b9b8a6f9 webrtctransceiver0" CR
    "a=ssrc:1870939342 cname:user2803512563@host-b9b8a6f9" CR "a=mid:video0" CR
    "a=fingerprint:sha-256 " FP_W CR
    "m=audio 9 UDP/TLS/RTP/SAVPF 97" CR "c=IN IP4 0.0.0.0" CR WEBRTCBIN_TRANSPORT
    "a=rtpmap:97 OPUS/48000/2" CR "a=fmtp:97 sprop-maxcapturerate=48000;sprop-stereo=0" CR
    "a=ssrc:3484078950 msid:user2803512563@host-b9b8a6f9 webrtctransceiver1" CR
    "a=ssrc:3484078950 cname:user2803512563@host-b9b8a6f9" CR "a=mid:audio1" CR
    "a=fingerprint:sha-256 " FP_W CR;

/* The answer the gateway must write to WEBRTCBIN_OFFER, byte for byte. */
#define GW_TRANSPORT(setup)                                                                \
    "a=ice-ufrag:vGw1" CR "a=ice-pwd:Zq3xV9kL2mN8pR4sT6uW0yB1" CR "a=ice-options:trickle" CR \
    "a=fingerprint:sha-256 " FP_GW CR "a=setup:" setup CR
static const char WEBRTCBIN_ANSWER[] =
    "v=0" CR "o=- 1000 1 IN IP4 127.0.0.1" CR "s=-" CR "t=0 0" CR
    "a=group:BUNDLE video0 audio1" CR "a=msid-semantic: WMS vigil" CR
    "m=video 9 UDP/TLS/RTP/SAVPF 96" CR "c=IN IP4 0.0.0.0" CR GW_TRANSPORT("passive")
    "a=mid:video0" CR "a=sendrecv" CR "a=msid:vigil vigil-video0" CR "a=rtcp-mux" CR
    "a=rtcp-rsize" CR "a=rtpmap:96 VP8/90000" CR "a=rtcp-fb:96 nack" CR
    "a=rtcp-fb:96 nack pli" CR "a=ssrc:11111111 cname:vigil-gw" CR
    "a=ssrc:11111111 msid:vigil vigil-video0" CR
    "m=audio 9 UDP/TLS/RTP/SAVPF 97" CR "c=IN IP4 0.0.0.0" CR GW_TRANSPORT("passive")
    "a=mid:audio1" CR "a=sendrecv" CR "a=msid:vigil vigil-audio1" CR "a=rtcp-mux" CR
    "a=rtcp-rsize" CR "a=rtpmap:97 opus/48000/2" CR "a=fmtp:97 minptime=10;useinbandfec=1" CR
    "a=ssrc:22222222 cname:vigil-gw" CR "a=ssrc:22222222 msid:vigil vigil-audio1" CR;

/* A minimal two-section offer; the refusal vectors edit one thing in it. Line
 * numbers are in the comments because the expected errors cite them. */
static const char BASIC[] = "v=0" CR                               /* 1 */
                            "o=- 1 2 IN IP4 127.0.0.1" CR          /* 2 */
                            "s=-" CR                               /* 3 */
                            "t=0 0" CR                             /* 4 */
                            "a=group:BUNDLE a v" CR                /* 5 */
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0" CR /* 6 */
                            "c=IN IP4 0.0.0.0" CR                  /* 7 */
                            "a=ice-ufrag:abcd" CR                  /* 8 */
                            "a=ice-pwd:abcdefghijklmnopqrstuv" CR  /* 9 */
                            "a=fingerprint:sha-256 " FP_A CR       /* 10 */
                            "a=setup:actpass" CR                   /* 11 */
                            "a=mid:a" CR                           /* 12 */
                            "a=rtcp-mux" CR                        /* 13 */
                            "a=rtpmap:111 opus/48000/2" CR         /* 14 */
                            "a=rtpmap:0 PCMU/8000" CR              /* 15 */
                            "m=video 9 UDP/TLS/RTP/SAVPF 96 97" CR /* 16 */
                            "c=IN IP4 0.0.0.0" CR                  /* 17 */
                            "a=ice-ufrag:abcd" CR                  /* 18 */
                            "a=ice-pwd:abcdefghijklmnopqrstuv" CR  /* 19 */
                            "a=fingerprint:sha-256 " FP_A CR       /* 20 */
                            "a=setup:actpass" CR                   /* 21 */
                            "a=mid:v" CR                           /* 22 */
                            "a=rtcp-mux" CR                        /* 23 */
                            "a=rtpmap:96 VP8/90000" CR             /* 24 */
                            "a=rtpmap:97 rtx/90000" CR             /* 25 */
                            "a=fmtp:97 apt=96" CR;                 /* 26 */

/* What a console (Chromium) answers to the gateway's offer of audio sendrecv and
 * video sendonly with H.264 preferred. */
#define CONSOLE_HEAD "v=0" CR "o=- 55 2 IN IP4 127.0.0.1" CR "s=-" CR "t=0 0" CR
#define CONSOLE_BUNDLE "a=group:BUNDLE 0 1" CR
#define CONSOLE_TRANSPORT                                                                  \
    "a=ice-ufrag:cOn5" CR "a=ice-pwd:consolepasswordconsole1" CR "a=ice-options:trickle" CR  \
    "a=fingerprint:sha-256 " FP_A CR "a=setup:active" CR
#define CONSOLE_AUDIO                                                                      \
    "m=audio 9 UDP/TLS/RTP/SAVPF 111" CR "c=IN IP4 0.0.0.0" CR CONSOLE_TRANSPORT "a=mid:0" CR \
    "a=extmap:1 " URI_LEVEL CR "a=extmap:4 " URI_MID CR                                      \
    "a=sendrecv" CR "a=msid:- c0ns0le" CR "a=rtcp-mux" CR "a=rtpmap:111 opus/48000/2" CR     \
    "a=fmtp:111 minptime=10;useinbandfec=1" CR                                               \
    "a=ssrc:3000 cname:console" CR "a=ssrc:3000 msid:- c0ns0le" CR
#define CONSOLE_VIDEO                                                                      \
    "m=video 9 UDP/TLS/RTP/SAVPF 102 103" CR "c=IN IP4 0.0.0.0" CR CONSOLE_TRANSPORT         \
    "a=mid:1" CR "a=extmap:2 " URI_AST CR "a=extmap:4 " URI_MID CR                           \
    "a=recvonly" CR "a=rtcp-mux" CR "a=rtcp-rsize" CR H264(102, 1, 42e01f) RTX(103, 102)
static const char CONSOLE_ANSWER[] = CONSOLE_HEAD CONSOLE_BUNDLE CONSOLE_AUDIO CONSOLE_VIDEO;
/* clang-format on */

/* ---- helpers --------------------------------------------------------------------- */

static struct vg_sdp offer, answer, again; /* ~110 KB each: not on the stack */
static char text[32768];

static struct vg_sdp_local gw_local(void)
{
    struct vg_sdp_local l = {.session_id = 1000,
                             .session_version = 1,
                             .ice_ufrag = "vGw1",
                             .ice_pwd = "Zq3xV9kL2mN8pR4sT6uW0yB1",
                             .fingerprint = FP_GW,
                             .cname = "vigil-gw",
                             .stream_id = "vigil"};
    return l;
}

/* Replaces the first `from` in base; four rotating buffers so edits can chain. */
static const char *edit(const char *base, const char *from, const char *to)
{
    static char bufs[4][16384];
    static int next;
    char *out = bufs[next++ % 4];
    const char *at = strstr(base, from);
    if (!at) {
        fprintf(stderr, "edit: \"%s\" not in the vector\n", from);
        vt_failed++;
        return base;
    }
    snprintf(out, sizeof bufs[0], "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    return out;
}

/* True if text holds exactly this line. */
static bool has_line(const char *t, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = t; (p = strstr(p, line)); p++) {
        if ((p == t || p[-1] == '\n') && strncmp(p + n, "\r\n", 2) == 0)
            return true;
    }
    return false;
}

#define VT_LINE(t, line)                                                                           \
    do {                                                                                           \
        vt_checks++;                                                                               \
        if (!has_line((t), (line))) {                                                              \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: no line \"%s\"\n", __FILE__, __LINE__, (line));                \
        }                                                                                          \
    } while (0)
#define VT_NO_LINE(t, line)                                                                        \
    do {                                                                                           \
        vt_checks++;                                                                               \
        if (has_line((t), (line))) {                                                               \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: unexpected line \"%s\"\n", __FILE__, __LINE__, (line));        \
        }                                                                                          \
    } while (0)

static bool sv_is(struct vg_sdp_str s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

#define VT_SV(s, lit)                                                                              \
    do {                                                                                           \
        vt_checks++;                                                                               \
        if (!sv_is((s), (lit))) {                                                                  \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s: got \"%.*s\", want \"%s\"\n", __FILE__, __LINE__, #s,      \
                    (int)(s).len, (s).p ? (s).p : "", (lit));                                      \
        }                                                                                          \
    } while (0)

static int parse(struct vg_sdp *s, const char *t, struct vg_sdp_error *err)
{
    return vg_sdp_parse(t, strlen(t), s, err);
}

static int answer_text(const char *t, const struct vg_sdp_local *l, struct vg_sdp_nego *n,
                       struct vg_sdp_error *err)
{
    int rc = parse(&offer, t, err);
    if (rc)
        return rc;
    size_t len;
    return vg_sdp_answer(&offer, l, text, sizeof text, &len, n, err);
}

/* ---- parsing ------------------------------------------------------------------------ */

static void test_parse_chrome(void)
{
    struct vg_sdp_error err;
    VT_EQ_INT(parse(&offer, CHROME_OFFER, &err), 0);
    VT_EQ_STR(err.reason, "");
    VT_EQ_INT(offer.n_media, 4);
    VT_SV(offer.o_sess_id, "4611731400430051336");
    VT_EQ_INT(offer.n_bundle, 4);
    VT_SV(offer.bundle[3], "3");
    VT_SV(offer.msid_semantic, "WMS 9c5f5d2e");
    VT_CHECK(offer.extmap_allow_mixed);

    const struct vg_sdp_media *a = &offer.media[0];
    VT_EQ_INT(a->kind, VG_SDP_KIND_AUDIO);
    VT_EQ_INT(a->port, 9);
    VT_SV(a->proto, "UDP/TLS/RTP/SAVPF");
    VT_EQ_INT(a->n_pt, 8);
    VT_EQ_INT(a->pt[0].pt, 111);
    VT_SV(a->pt[0].name, "opus");
    VT_EQ_INT(a->pt[0].clock, 48000);
    VT_EQ_INT(a->pt[0].channels, 2);
    VT_SV(a->pt[0].fmtp, "minptime=10;useinbandfec=1");
    VT_EQ_INT(a->pt[0].fb, VG_SDP_FB_TRANSPORT_CC);
    VT_EQ_INT(a->pt[7].pt, 126);
    VT_SV(a->pt[7].name, "telephone-event");
    VT_EQ_INT(a->pt[7].clock, 8000);
    VT_EQ_INT(a->n_ext, 4);
    VT_EQ_INT(a->ext[3].id, 4);
    VT_SV(a->ext[3].uri, URI_MID);
    VT_SV(a->transport.ice_ufrag, "Hk9b");
    VT_SV(a->transport.ice_pwd, "4Xc2fq+gG/yL1bHn9aTRWsZu");
    VT_CHECK(a->transport.trickle);
    VT_EQ_INT(a->transport.setup, VG_SDP_SETUP_ACTPASS);
    VT_EQ_INT(a->transport.n_fp, 1);
    VT_SV(a->transport.fp[0].value, FP_A);
    VT_CHECK(a->rtcp_mux && a->rtcp_rsize);
    VT_SV(a->msid_stream, "9c5f5d2e");
    VT_SV(a->msid_track, "1b7a3c4d");
    VT_EQ_INT(a->n_ssrc, 2);
    VT_EQ_INT(a->ssrc[0].ssrc, 3735928559u);
    VT_SV(a->ssrc[0].attr, "cname");
    VT_SV(a->ssrc[0].value, "Qx4mZ8pL2vN7kR1s");
    VT_SV(a->ssrc[1].value, "9c5f5d2e 1b7a3c4d");

    VT_EQ_INT(a->n_cand, 3);
    VT_SV(a->cand[1].foundation, "435653019");
    VT_CHECK(a->cand[1].tcp);
    VT_EQ_INT(a->cand[1].tcptype, VG_SDP_TCPTYPE_ACTIVE);
    VT_EQ_INT(a->cand[1].port, 9);
    VT_EQ_INT(a->cand[2].type, VG_SDP_CAND_SRFLX);
    VT_EQ_INT(a->cand[2].priority, 1686052607u);
    VT_SV(a->cand[2].address, "203.0.113.7");
    VT_SV(a->cand[2].raddr, "192.168.1.20");
    VT_EQ_INT(a->cand[2].rport, 54321);

    const struct vg_sdp_media *v = &offer.media[1];
    VT_EQ_INT(v->n_pt, 25);
    VT_EQ_INT(v->pt_dropped, 0);
    VT_EQ_INT(v->pt[0].fb, VG_SDP_FB_SERVED | VG_SDP_FB_TRANSPORT_CC); /* parsed, not served */
    VT_EQ_INT(v->pt[1].apt, 96);
    VT_EQ_INT(v->pt[10].pt, 106);
    VT_EQ_INT(v->pt[10].packetization_mode, 1);
    VT_CHECK(v->pt[10].has_profile_level_id);
    VT_EQ_INT(v->pt[10].profile_level_id, 0x42e01f);
    VT_EQ_INT(v->pt[8].packetization_mode, 0);
    VT_EQ_INT(v->pt[18].pt, 45);
    VT_SV(v->pt[18].name, "AV1");
    VT_EQ_INT(v->n_ext, 11);
    VT_EQ_INT(v->n_fid, 1);
    VT_EQ_INT(v->fid[0].media, 2882400001u);
    VT_EQ_INT(v->fid[0].rtx, 2882400002u);
    VT_EQ_INT(v->n_cand, 1);

    const struct vg_sdp_media *sim = &offer.media[2];
    VT_EQ_INT(sim->dir, VG_SDP_SENDONLY);
    VT_EQ_INT(sim->n_rid, 3);
    VT_SV(sim->rid[2].id, "f");
    VT_CHECK(sim->rid[2].send);
    VT_SV(sim->simulcast, "send q;h;f");
    VT_SV(sim->msid_stream, "-");

    const struct vg_sdp_media *dc = &offer.media[3];
    VT_EQ_INT(dc->kind, VG_SDP_KIND_APPLICATION);
    VT_CHECK(!dc->rtp);
    VT_EQ_INT(dc->n_pt, 0);
    VT_SV(dc->fmt, "webrtc-datachannel");
    VT_SV(dc->mid, "3");
}

static void test_parse_webrtcbin_lf(void)
{
    /* The same offer with bare "\n" line ends parses to the same values. */
    static char lf[sizeof WEBRTCBIN_OFFER];
    size_t n = 0;
    for (const char *p = WEBRTCBIN_OFFER; *p; p++) {
        if (*p != '\r')
            lf[n++] = *p;
    }
    struct vg_sdp_error err;
    VT_EQ_INT(vg_sdp_parse(lf, n, &offer, &err), 0);
    VT_EQ_INT(offer.n_media, 2);
    VT_CHECK(offer.transport.trickle); /* session level */
    VT_SV(offer.media[0].mid, "video0");
    VT_SV(offer.media[1].pt[0].name, "OPUS");
    VT_SV(offer.media[1].pt[0].fmtp, "sprop-maxcapturerate=48000;sprop-stereo=0");
    VT_SV(offer.media[1].transport.ice_ufrag, "Ba8mNqvGVeLydWoV1zTu7aGp5XkR1Dw5");
    VT_SV(offer.media[0].ssrc[0].value, "user2803512563@host-b9b8a6f9 webrtctransceiver0");
    VT_EQ_INT(offer.media[0].pt[0].fb, VG_SDP_FB_NACK | VG_SDP_FB_NACK_PLI);
    /* Without the final line end it parses the same. */
    VT_EQ_INT(vg_sdp_parse(lf, n - 1, &offer, &err), 0);
    VT_SV(offer.media[1].transport.fp[0].value, FP_W);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *from, *to;
        int rc;
        unsigned line;
        const char *reason;
    } v[] = {
        {"v=0", "v=1", VG_EINVAL, 1, "v= must be 0"},
        {"v=0" CR, "", VG_EINVAL, 1, "the first line must be v=0"},
        {"s=-" CR, "", VG_EINVAL, 0, "missing s= line"},
        {"a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8", VG_EINVAL, 24,
         "a=rtpmap must be <pt> <name>/<clock>[/<channels>]"},
        {"m=video 9 ", "m=video x ", VG_EINVAL, 16, "bad port in m= line"},
        {"96 97" CR, "96 200" CR, VG_EINVAL, 16, "payload type \"200\" is not 0..127"},
        {"apt=96", "apt=300", VG_EINVAL, 26, "a=fmtp apt= must be a payload type"},
        {"a=mid:v" CR, "a=mid:v" CR "a=mid:w" CR, VG_EINVAL, 23, "second a=mid in one section"},
        {"a=mid:v", "a=mid:a", VG_EINVAL, 16, "mid a used twice"},
        {"a=mid:a", "a=mid:a\x01", VG_EINVAL, 12, "control character in line"},
        {"a=mid:a", "a=mid:a\rb", VG_EINVAL, 12, "control character in line"},
        {"a=setup:actpass", "a=setup:maybe", VG_EINVAL, 11,
         "a=setup must be actpass, active, passive or holdconn"},
        {"a=fingerprint:sha-256 7B:8C", "a=fingerprint:sha-256 7B:8G", VG_EINVAL, 10,
         "a=fingerprint sha-256 value must be 32 hex pairs joined by ':'"},
        {"a=ice-ufrag:abcd", "a=ice-ufrag:ab_cd", VG_EINVAL, 8,
         "a=ice-ufrag must be 1..256 ice-chars"},
        {"a=rtcp-mux" CR "a=rtpmap:96", "a=extmap:3 x" CR "a=extmap:3 y" CR "a=rtpmap:96",
         VG_EINVAL, 24, "a=extmap id 3 used twice in one section"},
        {"a=mid:a",
         "a=mid:"
         "abcdefghijabcdefghijabcdefghijabc",
         VG_EINVAL, 12, "a=mid must be 1..32 token characters"},
        {"t=0 0", "x", VG_EINVAL, 4, "expected <letter>=<value>"},
        {"a=mid:v" CR, "a=mid:v" CR "a=candidate:1 1 udp 5 1.2.3.4 9 typ nope" CR, VG_EINVAL, 23,
         "a=candidate: typ must be host, srflx, prflx or relay"},
        {"a=mid:v" CR, "a=mid:v" CR "a=ssrc-group:FID 1" CR, VG_EINVAL, 23,
         "a=ssrc-group:FID needs exactly two SSRCs"},
        {"apt=96", "profile-level-id=42e0zz", VG_EINVAL, 26,
         "a=fmtp profile-level-id= must be 6 hex digits"},
        {"apt=96", "packetization-mode=3", VG_EINVAL, 26,
         "a=fmtp packetization-mode= must be 0, 1 or 2"},
        {"a=mid:v" CR, "a=mid:v" CR "a=extmap:0 " URI_MID CR, VG_EINVAL, 23,
         "a=extmap must be <1..255>[/<direction>] <uri>"},
        {"a=mid:v" CR, "a=mid:v" CR "a=ssrc:42" CR, VG_EINVAL, 23, "a=ssrc needs an attribute"},
        {"a=mid:v" CR, "a=mid:v" CR "a=rid:q sideways" CR, VG_EINVAL, 23,
         "a=rid must be <id> send|recv [params]"},
        {"a=mid:v" CR, "a=mid:v" CR "a=msid:" CR, VG_EINVAL, 23, "a=msid needs a stream id"},
        {"c=IN IP4 0.0.0.0", "c=OUT IP4 0.0.0.0", VG_EINVAL, 7, "c= must start with IN"},
        {"s=-" CR, "s=-" CR "s=again" CR, VG_EINVAL, 4, "s= must appear once, at session level"},
        {"m=audio 9 UDP/TLS/RTP/SAVPF", "m=audio 9 UDP/TLS//SAVPF", VG_EINVAL, 6,
         "m= line media, proto and formats must be tokens"},
        {"m=audio", "m=au\xc3\xa9io", VG_EINVAL, 6,
         "m= line media, proto and formats must be tokens"},
        {"a=mid:a" CR, "a=mid:a" CR "a=rtpmap:111 \xff/1" CR, VG_EINVAL, 13,
         "a=rtpmap must be <pt> <name>/<clock>[/<channels>]"},
        {"a=mid:a" CR, "a=mid:a" CR "a=ice-pwd:p\xe4ss" CR, VG_EINVAL, 13,
         "a=ice-pwd must be 1..256 ice-chars"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_sdp_error err;
        int rc = parse(&offer, edit(BASIC, v[i].from, v[i].to), &err);
        if (rc != v[i].rc || err.line != v[i].line)
            fprintf(stderr, "parse vector %zu: rc %d line %u \"%s\"\n", i, rc, err.line,
                    err.reason);
        VT_EQ_INT(rc, v[i].rc);
        VT_EQ_INT(err.line, v[i].line);
        VT_EQ_STR(err.reason, v[i].reason);
    }
    struct vg_sdp_error err;
    VT_EQ_INT(vg_sdp_parse("", 0, &offer, &err), VG_EINVAL);
    VT_EQ_STR(err.reason, "empty SDP: no v= line");
    VT_EQ_INT(vg_sdp_parse(BASIC, VG_SDP_TEXT_MAX + 1, &offer, &err), VG_ENOSPC);
}

static void test_too_many_sections(void)
{
    size_t n = (size_t)snprintf(text, sizeof text,
                                "v=0" CR "o=- 1 1 IN IP4 0.0.0.0" CR "s=-" CR "t=0 0" CR);
    for (int i = 0; i < VG_SDP_MAX_MEDIA + 1; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "m=audio 9 UDP/TLS/RTP/SAVPF 111" CR "a=mid:%d" CR, i);
    struct vg_sdp_error err;
    VT_EQ_INT(vg_sdp_parse(text, n, &offer, &err), VG_ENOSPC);
    VT_EQ_INT(err.line, 4 + 2 * VG_SDP_MAX_MEDIA + 1); /* the 17th m= line */
    VT_EQ_STR(err.reason, "too many media sections (the limit is 16)");
}

static void test_bounded_lists(void)
{
    /* 40 payload types: the first 32 are kept, in order. */
    size_t n = (size_t)snprintf(text, sizeof text,
                                "v=0" CR "o=- 1 1 IN IP4 0.0.0.0" CR "s=-" CR "t=0 0" CR
                                "m=video 9 UDP/TLS/RTP/SAVPF");
    for (int pt = 60; pt < 100; pt++)
        n += (size_t)snprintf(text + n, sizeof text - n, " %d", pt);
    n += (size_t)snprintf(text + n, sizeof text - n, CR "a=rtpmap:99 VP8/90000" CR);
    for (int i = 0; i < VG_SDP_MAX_CAND + 3; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "a=candidate:%d 1 udp %d 10.0.0.1 %d typ host" CR, i, 100 + i,
                              5000 + i);
    struct vg_sdp_error err;
    VT_EQ_INT(vg_sdp_parse(text, n, &offer, &err), 0);
    VT_EQ_INT(offer.media[0].n_pt, VG_SDP_MAX_PT);
    VT_EQ_INT(offer.media[0].pt_dropped, 8);
    VT_EQ_INT(offer.media[0].pt[31].pt, 91);
    VT_CHECK(!offer.media[0].pt[31].has_rtpmap);
    VT_EQ_INT(offer.media[0].n_cand, VG_SDP_MAX_CAND);
    VT_EQ_INT(offer.media[0].cand_dropped, 3);
    VT_EQ_INT(offer.media[0].cand[31].port, 5031);
}

/* ---- candidates --------------------------------------------------------------------- */

static void test_candidates(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *foundation, *address, *raddr, *ufrag;
        unsigned component, port, rport;
        uint32_t priority;
        bool tcp;
        enum vg_sdp_cand_type type;
        enum vg_sdp_tcptype tcptype;
    } v[] = {
        /* Chromium, trickled as RTCIceCandidate.candidate */
        {"candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 "
         "rport 54321 generation 0 ufrag Hk9b network-cost 999",
         0, "842163049", "203.0.113.7", "192.168.1.20", "Hk9b", 1, 61234, 54321, 1677729535u, false,
         VG_SDP_CAND_SRFLX, VG_SDP_TCPTYPE_NONE},
        /* libnice via webrtcbin: upper-case transport, a full SDP line with CRLF */
        {"a=candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host\r\n", 0, "1", "127.0.0.1", "", "",
         1, 40000, 0, 2015363327u, false, VG_SDP_CAND_HOST, VG_SDP_TCPTYPE_NONE},
        /* bare value, ICE-TCP */
        {"4 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active", 0, "4", "127.0.0.1", "", "", 1,
         9, 0, 1015021823u, true, VG_SDP_CAND_HOST, VG_SDP_TCPTYPE_ACTIVE},
        /* mDNS host name */
        {"candidate:3021568045 1 udp 2113937151 5b3a9c1e-7f44-4e3b-9d2a-1c2b3d4e5f60.local 56789 "
         "typ host generation 0 network-cost 999",
         0, "3021568045", "5b3a9c1e-7f44-4e3b-9d2a-1c2b3d4e5f60.local", "", "", 1, 56789, 0,
         2113937151u, false, VG_SDP_CAND_HOST, VG_SDP_TCPTYPE_NONE},
        {"candidate:2 1 udp 2122262783 2001:db8::1 50000 typ host generation 0", 0, "2",
         "2001:db8::1", "", "", 1, 50000, 0, 2122262783u, false, VG_SDP_CAND_HOST,
         VG_SDP_TCPTYPE_NONE},
        {"candidate:3 2 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 61234", 0,
         "3", "198.51.100.9", "203.0.113.7", "", 2, 3478, 61234, 41885439u, false,
         VG_SDP_CAND_RELAY, VG_SDP_TCPTYPE_NONE},
        {"candidate:5 1 tcp 1 10.0.0.2 7000 typ prflx tcptype so", 0, "5", "10.0.0.2", "", "", 1,
         7000, 0, 1u, true, VG_SDP_CAND_PRFLX, VG_SDP_TCPTYPE_SO},
        /* end of candidates, as browsers and SDP write it */
        {"", VG_ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, false, 0, 0},
        {"a=end-of-candidates\r\n", VG_ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, false, 0, 0},
        {"end-of-candidates", VG_ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, false, 0, 0},
        /* malformed */
        {"candidate:1 1 udp 2015363327 127.0.0.1 40000 host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0,
         false, 0, 0},
        {"candidate:1 0 udp 2015363327 127.0.0.1 40000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0,
         false, 0, 0},
        {"candidate:1 1 sctp 2015363327 127.0.0.1 40000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0,
         0, false, 0, 0},
        {"candidate:1 1 udp 2015363327 127.0.0.1 70000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0,
         false, 0, 0},
        {"candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host generation", VG_EINVAL, 0, 0, 0, 0,
         0, 0, 0, 0, false, 0, 0},
        {"candidate:1 1 udp 4294967296 127.0.0.1 40000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0,
         false, 0, 0},
        {"candidate:1 1 udp 5 127.0.0.1 40000 typ host tcptype sideways", VG_EINVAL, 0, 0, 0, 0, 0,
         0, 0, 0, false, 0, 0},
        {"candidate:1 1 udp 5 127.0.0.1\n 40000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0, false,
         0, 0},
        {"candidate:1 1 udp 5 127.0.0.1;rm 40000 typ host", VG_EINVAL, 0, 0, 0, 0, 0, 0, 0, 0,
         false, 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_sdp_candidate c;
        struct vg_sdp_error err;
        int rc = vg_sdp_parse_candidate(v[i].in, strlen(v[i].in), &c, &err);
        if (rc != v[i].rc)
            fprintf(stderr, "candidate vector %zu: rc %d \"%s\"\n", i, rc, err.reason);
        VT_EQ_INT(rc, v[i].rc);
        if (rc == VG_EINVAL)
            VT_CHECK(strncmp(err.reason, "candidate: ", 11) == 0 ||
                     strcmp(err.reason, "control character in candidate") == 0);
        if (rc != 0 || v[i].rc != 0)
            continue;
        VT_SV(c.foundation, v[i].foundation);
        VT_SV(c.address, v[i].address);
        VT_SV(c.raddr, v[i].raddr);
        VT_SV(c.ufrag, v[i].ufrag);
        VT_EQ_INT(c.component, v[i].component);
        VT_EQ_INT(c.port, v[i].port);
        VT_EQ_INT(c.rport, v[i].rport);
        VT_EQ_INT(c.priority, v[i].priority);
        VT_EQ_INT(c.tcp, v[i].tcp);
        VT_EQ_INT(c.type, v[i].type);
        VT_EQ_INT(c.tcptype, v[i].tcptype);
    }
    struct vg_sdp_candidate c;
    struct vg_sdp_error err;
    const char *bad = "candidate:1 1 udp 5 127.0.0.1 40000 typ host generation";
    VT_EQ_INT(vg_sdp_parse_candidate(bad, strlen(bad), &c, &err), VG_EINVAL);
    VT_EQ_STR(err.reason, "candidate: candidate extension without a value");
}

/* ---- answering ------------------------------------------------------------------------- */

static void test_answer_webrtcbin(void)
{
    struct vg_sdp_local l = gw_local();
    l.n_send = 2;
    l.send[0] = (struct vg_sdp_send){.ssrc = 11111111, .rtx_ssrc = 11111112};
    l.send[1] = (struct vg_sdp_send){.ssrc = 22222222};
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    VT_EQ_INT(answer_text(WEBRTCBIN_OFFER, &l, &n, &err), 0);
    VT_EQ_STR(text, WEBRTCBIN_ANSWER);

    VT_EQ_INT(n.n_media, 2);
    VT_CHECK(n.bundle);
    VT_EQ_INT(n.transport_index, 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_PASSIVE);
    VT_EQ_STR(n.remote_ufrag, "Ba8mNqvGVeLydWoV1zTu7aGp5XkR1Dw5");
    VT_EQ_STR(n.remote_pwd, "8OHX3pr4V8V0TuhBZeAqwPXFm0dYoYhX");
    VT_EQ_STR(n.remote_fingerprint, FP_W);
    VT_CHECK(n.remote_trickle);
    const struct vg_sdp_nego_media *v = &n.media[0], *a = &n.media[1];
    VT_EQ_STR(v->mid, "video0");
    VT_EQ_INT(v->codec, VG_SDP_CODEC_VP8);
    VT_EQ_INT(v->pt, 96);
    VT_EQ_INT(v->rtx_pt, -1);
    VT_EQ_INT(v->local_ssrc, 11111111);
    VT_EQ_INT(v->local_rtx_ssrc, 0); /* no RTX negotiated */
    VT_EQ_INT(v->n_remote_ssrc, 1);
    VT_EQ_INT(v->remote_ssrc[0].ssrc, 1870939342u);
    VT_EQ_INT(v->remote_ssrc[0].rtx, 0);
    VT_EQ_INT(a->codec, VG_SDP_CODEC_OPUS);
    VT_EQ_INT(a->pt, 97);
    VT_EQ_INT(a->clock, 48000);
    VT_EQ_INT(a->channels, 2);
    VT_EQ_INT(a->dir, VG_SDP_SENDRECV);
    VT_EQ_INT(a->remote_ssrc[0].ssrc, 3484078950u);
}

static void check_chrome_answer_text(const char *t)
{
    VT_LINE(t, "a=group:BUNDLE 0 1 2");
    VT_LINE(t, "m=audio 9 UDP/TLS/RTP/SAVPF 111");
    VT_LINE(t, "m=video 9 UDP/TLS/RTP/SAVPF 96 97");
    VT_LINE(t, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel");
    VT_LINE(t, "a=mid:3");
    VT_LINE(t, "a=setup:passive");
    VT_NO_LINE(t, "a=setup:actpass");
    VT_LINE(t, "a=rtpmap:111 opus/48000/2");
    VT_NO_LINE(t, "a=rtcp-fb:111 transport-cc"); /* no transport-wide feedback is sent */
    VT_LINE(t, "a=rtpmap:96 VP8/90000");
    VT_LINE(t, "a=rtcp-fb:96 goog-remb");
    VT_NO_LINE(t, "a=rtcp-fb:96 transport-cc");
    VT_LINE(t, "a=rtcp-fb:96 ccm fir");
    VT_LINE(t, "a=rtcp-fb:96 nack");
    VT_LINE(t, "a=rtcp-fb:96 nack pli");
    VT_LINE(t, "a=rtpmap:97 rtx/90000");
    VT_LINE(t, "a=fmtp:97 apt=96");
    VT_LINE(t, "a=extmap:1 " URI_LEVEL);
    VT_LINE(t, "a=extmap:2 " URI_AST);
    VT_NO_LINE(t, "a=extmap:3 " URI_TWCC);
    VT_LINE(t, "a=extmap:4 " URI_MID);
    VT_LINE(t, "a=recvonly"); /* their simulcast section is sendonly */
    VT_LINE(t, "a=ssrc-group:FID 5001 5002");
    VT_LINE(t, "a=ssrc:5002 cname:vigil-gw");
    VT_NO_LINE(t, "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset");
    VT_NO_LINE(t, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    VT_NO_LINE(t, "a=rtpmap:63 red/48000/2");
    VT_NO_LINE(t, "a=rtpmap:118 ulpfec/90000");
    VT_NO_LINE(t, "a=simulcast:recv q;h;f");
    VT_CHECK(!strstr(t, "a=candidate"));
    VT_CHECK(!strstr(t, "VP9") && !strstr(t, "AV1") && !strstr(t, "telephone-event"));
}

/* The answer, parsed back, says what the negotiation result says. */
static void check_chrome_answer_roundtrip(const char *t, const struct vg_sdp_nego *n)
{
    struct vg_sdp_error err;
    VT_EQ_INT(parse(&answer, t, &err), 0);
    VT_EQ_INT(answer.n_media, 4);
    VT_EQ_INT(answer.n_bundle, 3);
    for (size_t i = 0; i < 4; i++) {
        const struct vg_sdp_media *m = &answer.media[i];
        VT_SV(m->mid, n->media[i].mid);
        VT_EQ_INT(m->port, n->media[i].accepted ? 9 : 0);
        if (!n->media[i].accepted)
            continue;
        VT_EQ_INT(m->pt[0].pt, n->media[i].pt);
        VT_EQ_INT(m->pt[0].fb, n->media[i].fb);
        VT_EQ_INT(m->dir, n->media[i].dir);
        VT_EQ_INT(m->transport.setup, VG_SDP_SETUP_PASSIVE);
        VT_SV(m->transport.ice_ufrag, "vGw1");
        VT_SV(m->transport.fp[0].value, FP_GW);
        VT_CHECK(m->rtcp_mux);
    }
    VT_EQ_INT(answer.media[1].n_pt, 2);
    VT_EQ_INT(answer.media[1].pt[1].apt, 96);
    VT_EQ_INT(answer.media[1].n_ext, 2);
    VT_EQ_INT(answer.media[1].ext[0].id, 2);
    VT_EQ_INT(answer.media[1].ext[1].id, 4);
    VT_EQ_INT(answer.media[1].fid[0].rtx, 5002);
    VT_EQ_INT(answer.media[2].n_ssrc, 0); /* we only receive there */
}

static void test_answer_chrome(void)
{
    struct vg_sdp_local l = gw_local();
    l.n_send = 3;
    l.send[0] = (struct vg_sdp_send){.ssrc = 4001};
    l.send[1] = (struct vg_sdp_send){.ssrc = 5001, .rtx_ssrc = 5002};
    l.send[2] = (struct vg_sdp_send){.ssrc = 6001, .rtx_ssrc = 6002};
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    VT_EQ_INT(answer_text(CHROME_OFFER, &l, &n, &err), 0);
    VT_EQ_STR(err.reason, "");
    VT_EQ_INT(n.n_media, 4);
    VT_EQ_INT(n.media[0].pt, 111);
    VT_EQ_INT(n.media[0].fb, 0);
    VT_EQ_INT(n.media[0].ext_audio_level, 1);
    VT_EQ_INT(n.media[0].ext_mid, 4);
    VT_EQ_INT(n.media[0].remote_ssrc[0].ssrc, 3735928559u);
    VT_EQ_INT(n.media[1].codec, VG_SDP_CODEC_VP8);
    VT_EQ_INT(n.media[1].pt, 96);
    VT_EQ_INT(n.media[1].rtx_pt, 97);
    VT_EQ_INT(n.media[1].ext_abs_send_time, 2);
    VT_EQ_INT(n.media[1].ext_twcc, 0);
    VT_EQ_INT(n.media[1].ext_mid, 4);
    VT_EQ_INT(n.media[1].ext_audio_level, 0);
    VT_EQ_INT(n.media[1].n_remote_ssrc, 1);
    VT_EQ_INT(n.media[1].remote_ssrc[0].ssrc, 2882400001u);
    VT_EQ_INT(n.media[1].remote_ssrc[0].rtx, 2882400002u);
    VT_EQ_INT(n.media[1].local_rtx_ssrc, 5002);
    VT_EQ_INT(n.media[2].dir, VG_SDP_RECVONLY);
    VT_EQ_INT(n.media[2].n_remote_rid, 3);
    VT_EQ_INT(n.media[2].local_ssrc, 0);
    VT_CHECK(!n.media[3].accepted);
    VT_EQ_STR(n.media[3].reason, "data channel: the gateway's chat uses WebSocket");
    check_chrome_answer_text(text);
    check_chrome_answer_roundtrip(text, &n);
    VT_EQ_INT(answer.media[0].n_ext, 3);

    /* H.264 preferred: the constrained-baseline packetization-mode 1 entry (106), not
     * the first H.264 (102, baseline), 104 (mode 0) or 127/112 (main/high). */
    l.n_codecs = 3;
    l.codecs[0] = VG_SDP_CODEC_OPUS;
    l.codecs[1] = VG_SDP_CODEC_H264;
    l.codecs[2] = VG_SDP_CODEC_VP8;
    VT_EQ_INT(answer_text(CHROME_OFFER, &l, &n, &err), 0);
    VT_EQ_INT(n.media[1].codec, VG_SDP_CODEC_H264);
    VT_EQ_INT(n.media[1].pt, 106);
    VT_EQ_INT(n.media[1].rtx_pt, 107);
    VT_EQ_INT(n.media[1].h264_profile_level_id, 0x42e01f);
    VT_LINE(text, "m=video 9 UDP/TLS/RTP/SAVPF 106 107");
    VT_LINE(text,
            "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    VT_LINE(text, "a=fmtp:107 apt=106");
}

static void test_h264_choice(void)
{
    static const struct {
        const char *fmts, *lines;
        int pt;              /* -1: refused, no common codec */
        const char *profile; /* the profile-level-id we answer */
    } v[] = {
        {"102 106", H264(102, 1, 42001f) H264(106, 1, 42e01f), 106, "42e01f"},
        {"102 104", H264(102, 1, 42001f) H264(104, 0, 42e01f), 102, "42001f"},
        /* constrained baseline at another level beats plain baseline listed first */
        {"102 108", H264(102, 1, 42001f) H264(108, 1, 42e034), 108, "42e034"},
        {"102 100", H264(102, 1, 42001f) H264(100, 1, 42c01e), 100, "42c01e"},
        {"110 106 108", H264(110, 1, 42e00a) H264(106, 1, 42e01f) H264(108, 1, 42e034), 106,
         "42e01f"},
        {"127 112", H264(127, 1, 4d001f) H264(112, 1, 64001f), -1, NULL},
        /* no profile-level-id: RFC 6184's default, baseline level 1.0 */
        {"110", "a=rtpmap:110 H264/90000" CR "a=fmtp:110 packetization-mode=1" CR, 110, "42000a"},
        /* no packetization-mode: mode 0 */
        {"120", "a=rtpmap:120 H264/90000" CR "a=fmtp:120 profile-level-id=42e01f" CR, -1, NULL},
        /* upper-case hex and name, a space after ';' */
        {"121",
         "a=rtpmap:121 h264/90000" CR "a=fmtp:121 profile-level-id=42E01F; packetization-mode=1" CR,
         121, "42e01f"},
    };
    struct vg_sdp_local l = gw_local();
    l.n_codecs = 1;
    l.codecs[0] = VG_SDP_CODEC_H264;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        static char o[4096];
        snprintf(o, sizeof o,
                 "v=0" CR "o=- 1 1 IN IP4 0.0.0.0" CR "s=-" CR "t=0 0" CR
                 "m=video 9 UDP/TLS/RTP/SAVPF %s" CR "a=ice-ufrag:abcd" CR
                 "a=ice-pwd:abcdefghijklmnopqrstuv" CR "a=fingerprint:sha-256 " FP_A CR
                 "a=setup:actpass" CR "a=mid:0" CR "a=rtcp-mux" CR "%s",
                 v[i].fmts, v[i].lines);
        struct vg_sdp_nego n;
        struct vg_sdp_error err;
        int rc = answer_text(o, &l, &n, &err);
        if (rc != (v[i].pt < 0 ? VG_EPROTO : 0) || (rc == 0 && n.media[0].pt != v[i].pt))
            fprintf(stderr, "h264 vector %zu: rc %d pt %d \"%s\"\n", i, rc, n.media[0].pt,
                    err.reason);
        VT_EQ_INT(rc, v[i].pt < 0 ? VG_EPROTO : 0);
        if (v[i].pt < 0) {
            VT_EQ_STR(err.reason, "no common codec in any audio or video section");
            continue;
        }
        VT_EQ_INT(n.media[0].pt, v[i].pt);
        VT_CHECK(!n.bundle); /* one section, no group offered: none answered */
        VT_CHECK(!strstr(text, "a=group:BUNDLE"));
        char want[128];
        snprintf(want, sizeof want,
                 "a=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%s",
                 v[i].pt, v[i].profile);
        VT_LINE(text, want);
    }
}

static void test_answer_refusals(void)
{
    static const struct {
        const char *from, *to;
        enum vg_sdp_setup want;
        unsigned line;
        const char *reason;
    } v[] = {
        {"a=mid:v" CR "a=rtcp-mux" CR, "a=mid:v" CR, 0, 16,
         "mid v: no a=rtcp-mux (the gateway needs RTP and RTCP on one port)"},
        {"a=ice-ufrag:abcd" CR, "", 0, 6,
         "mid a: no ICE credentials (a=ice-ufrag and a=ice-pwd are required)"},
        {"a=ice-pwd:abcdefghijklmnopqrstuv" CR, "", 0, 6,
         "mid a: no ICE credentials (a=ice-ufrag and a=ice-pwd are required)"},
        {"a=fingerprint:sha-256 " FP_A,
         "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB", 0, 6,
         "mid a: no sha-256 a=fingerprint (DTLS-SRTP needs one)"},
        {"a=setup:actpass", "a=setup:holdconn", 0, 6,
         "setup role impossible: the offer says a=setup:holdconn"},
        {"a=setup:actpass", "a=setup:passive", VG_SDP_SETUP_PASSIVE, 6,
         "setup role impossible: the offer says a=setup:passive, the gateway must be passive"},
        {"a=setup:actpass", "a=setup:active", VG_SDP_SETUP_ACTIVE, 6,
         "setup role impossible: the offer says a=setup:active, the gateway must be active"},
        {"a=group:BUNDLE a v" CR, "", 0, 0,
         "no a=group:BUNDLE: the gateway needs all media on one transport"},
        {"m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "m=audio 9 RTP/AVP 111 0", 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_sdp_local l = gw_local();
        l.setup = v[i].want;
        struct vg_sdp_nego n;
        struct vg_sdp_error err;
        int rc = answer_text(edit(BASIC, v[i].from, v[i].to), &l, &n, &err);
        if (!v[i].reason) {
            /* Plain RTP/AVP audio: only that section is rejected. */
            VT_EQ_INT(rc, 0);
            VT_EQ_STR(n.media[0].reason, "proto is not UDP/TLS/RTP/SAVPF");
            VT_LINE(text, "m=audio 0 RTP/AVP 111 0");
            VT_LINE(text, "a=group:BUNDLE v");
            VT_EQ_STR(n.remote_fingerprint, FP_A); /* from section v now */
            continue;
        }
        if (rc != VG_EPROTO || err.line != v[i].line)
            fprintf(stderr, "refusal vector %zu: rc %d line %u\n", i, rc, err.line);
        VT_EQ_INT(rc, VG_EPROTO);
        VT_EQ_INT(err.line, v[i].line);
        VT_EQ_STR(err.reason, v[i].reason);
        VT_EQ_STR(text, ""); /* nothing half-written */
    }
    struct vg_sdp_local l = gw_local();
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    const char *t = edit(edit(BASIC, "opus/48000/2", "ISAC/16000"), "VP8/90000", "VP9/90000");
    VT_EQ_INT(answer_text(t, &l, &n, &err), VG_EPROTO);
    VT_EQ_STR(err.reason, "no common codec in any audio or video section");
    VT_EQ_STR(n.media[0].reason, "no common codec");
    t = "v=0" CR "o=- 1 1 IN IP4 0.0.0.0" CR "s=-" CR "t=0 0" CR
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel" CR "a=mid:0" CR;
    VT_EQ_INT(answer_text(t, &l, &n, &err), VG_EPROTO);
    VT_EQ_STR(err.reason, "no audio or video section the gateway can use");
}

static void test_answer_variants(void)
{
    struct vg_sdp_local l = gw_local();
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    /* Their passive makes us active; their active (or no a=setup) makes us passive. */
    VT_EQ_INT(answer_text(edit(BASIC, "a=setup:actpass", "a=setup:passive"), &l, &n, &err), 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_ACTIVE);
    VT_LINE(text, "a=setup:active");
    VT_EQ_INT(answer_text(edit(BASIC, "a=setup:actpass", "a=setup:active"), &l, &n, &err), 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_PASSIVE);
    VT_EQ_INT(answer_text(edit(BASIC, "a=setup:actpass" CR, ""), &l, &n, &err), 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_PASSIVE);
    l.setup = VG_SDP_SETUP_ACTIVE;
    VT_EQ_INT(answer_text(BASIC, &l, &n, &err), 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_ACTIVE);
    l.setup = VG_SDP_SETUP_NONE;

    /* Firefox style: the fingerprint only at session level. */
    const char *t = edit(edit(edit(BASIC, "a=fingerprint:sha-256 " FP_A CR, ""),
                              "a=fingerprint:sha-256 " FP_A CR, ""),
                         "t=0 0" CR, "t=0 0" CR "a=fingerprint:sha-256 " FP_W CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_EQ_STR(n.remote_fingerprint, FP_W);

    /* A BUNDLE group without the video: video is rejected, audio alone goes on. */
    VT_EQ_INT(answer_text(edit(BASIC, "BUNDLE a v", "BUNDLE a"), &l, &n, &err), 0);
    VT_EQ_STR(n.media[1].reason, "not in the BUNDLE group");
    VT_LINE(text, "m=video 0 UDP/TLS/RTP/SAVPF 96 97");
    VT_LINE(text, "a=group:BUNDLE a");

    /* The offerer's tag (a) is rejected: v carries the transport and leads the group. */
    t = edit(BASIC, "opus/48000/2", "opus/48000/1");
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_EQ_INT(n.transport_index, 1);
    VT_LINE(text, "a=group:BUNDLE v");

    /* We only receive on video: their sendrecv becomes our recvonly, no msid lines. */
    l.n_send = 2;
    l.send[0] = (struct vg_sdp_send){.ssrc = 1};
    l.send[1] = (struct vg_sdp_send){.dir = VG_SDP_RECVONLY, .ssrc = 2, .rtx_ssrc = 3};
    VT_EQ_INT(answer_text(BASIC, &l, &n, &err), 0);
    VT_EQ_INT(n.media[1].dir, VG_SDP_RECVONLY);
    VT_EQ_INT(n.media[1].local_ssrc, 0);
    VT_LINE(text, "a=msid:vigil vigil-a");
    VT_NO_LINE(text, "a=msid:vigil vigil-v");
    VT_NO_LINE(text, "a=ssrc:2 cname:vigil-gw");
    /* Their recvonly meeting our recvonly is inactive. */
    VT_EQ_INT(answer_text(edit(BASIC, "a=mid:v" CR, "a=mid:v" CR "a=recvonly" CR), &l, &n, &err),
              0);
    VT_EQ_INT(n.media[1].dir, VG_SDP_INACTIVE);
    VT_LINE(text, "a=inactive");

    /* A bundle-only section (port 0, RFC 8843) is accepted; a plain port 0 is not. */
    t = edit(edit(BASIC, "m=video 9", "m=video 0"), "a=mid:v" CR, "a=mid:v" CR "a=bundle-only" CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_CHECK(n.media[1].accepted);
    VT_LINE(text, "m=video 9 UDP/TLS/RTP/SAVPF 96 97");
    VT_EQ_INT(answer_text(edit(BASIC, "m=video 9", "m=video 0"), &l, &n, &err), 0);
    VT_EQ_STR(n.media[1].reason, "rejected in the offer (port 0)");

    /* Session-level direction, ice-lite and end-of-candidates. */
    t = edit(edit(BASIC, "t=0 0" CR, "t=0 0" CR "a=ice-lite" CR "a=sendonly" CR), "a=mid:a" CR,
             "a=mid:a" CR "a=end-of-candidates" CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_CHECK(n.remote_ice_lite);
    VT_CHECK(offer.media[0].end_of_candidates && !offer.media[1].end_of_candidates);
    VT_EQ_INT(offer.media[0].dir, VG_SDP_SENDONLY);
    VT_EQ_INT(n.media[0].dir, VG_SDP_RECVONLY);
    VT_EQ_INT(n.media[1].dir, VG_SDP_RECVONLY); /* they only send, we only receive */

    /* Feedback we do not serve is dropped, a=rtcp-fb:* included. */
    t = edit(BASIC, "a=rtpmap:96 VP8/90000" CR,
             "a=rtpmap:96 VP8/90000" CR "a=rtcp-fb:96 nack" CR "a=rtcp-fb:96 ccm tmmbr" CR
             "a=rtcp-fb:* nack sli" CR "a=rtcp-fb:96 goog-lntf" CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_EQ_INT(offer.media[1].pt[0].fb, VG_SDP_FB_NACK | VG_SDP_FB_OTHER);
    VT_EQ_INT(offer.media[1].pt[1].fb, VG_SDP_FB_OTHER); /* the wildcard reaches rtx too */
    VT_EQ_INT(n.media[1].fb, VG_SDP_FB_NACK);
    VT_LINE(text, "a=rtcp-fb:96 nack");
    VT_CHECK(!strstr(text, "tmmbr") && !strstr(text, "sli") && !strstr(text, "lntf"));

    /* A directed extension is mirrored, with the offer's id. */
    t = edit(BASIC, "a=mid:v" CR, "a=mid:v" CR "a=extmap:9/sendonly " URI_AST CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_EQ_INT(n.media[1].ext_abs_send_time, 9);
    VT_LINE(text, "a=extmap:9/recvonly " URI_AST);
    /* Transport-wide cc is never answered: the gateway sends no such feedback. */
    t = edit(BASIC, "a=mid:v" CR, "a=mid:v" CR "a=extmap:8 " URI_TWCC CR);
    VT_EQ_INT(answer_text(t, &l, &n, &err), 0);
    VT_EQ_INT(n.media[1].ext_twcc, 0);
    VT_CHECK(!strstr(text, URI_TWCC));
}

static void test_answer_nospace(void)
{
    struct vg_sdp_local l = gw_local();
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    static char big[8192], small[64];
    size_t need = 0, len = 0;
    VT_EQ_INT(parse(&offer, BASIC, &err), 0);
    VT_EQ_INT(vg_sdp_answer(&offer, &l, big, sizeof big, &need, &n, &err), 0);
    VT_EQ_INT(strlen(big), need);
    VT_EQ_INT(vg_sdp_answer(&offer, &l, small, sizeof small, &len, &n, &err), VG_ENOSPC);
    VT_EQ_INT(len, need);
    VT_EQ_STR(small, "");
    VT_CHECK(n.media[0].accepted); /* the result is still reported */
    char *exact = malloc(need + 1);
    VT_EQ_INT(vg_sdp_answer(&offer, &l, exact, need, &len, &n, &err), VG_ENOSPC);
    VT_EQ_INT(vg_sdp_answer(&offer, &l, exact, need + 1, &len, &n, &err), 0);
    VT_EQ_STR(exact, big);
    free(exact);
    VT_EQ_INT(vg_sdp_answer(&offer, &l, NULL, 0, &len, &n, &err), VG_ENOSPC);
    VT_EQ_INT(len, need);
}

static void test_local_checks(void)
{
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    VT_EQ_INT(parse(&offer, BASIC, &err), 0);
    struct vg_sdp_local l = gw_local();
    l.ice_pwd = "short";
    VT_EQ_INT(vg_sdp_answer(&offer, &l, text, sizeof text, NULL, &n, &err), VG_EINVAL);
    VT_EQ_STR(err.reason, "local ice-pwd must be 22..256 ice-chars");
    l = gw_local();
    l.cname = "bad\r\na=inject";
    VT_EQ_INT(vg_sdp_answer(&offer, &l, text, sizeof text, NULL, &n, &err), VG_EINVAL);
    l = gw_local();
    l.fingerprint = "sha-256 " FP_GW;
    VT_EQ_INT(vg_sdp_answer(&offer, &l, text, sizeof text, NULL, &n, &err), VG_EINVAL);
    l = gw_local();
    l.setup = VG_SDP_SETUP_HOLDCONN;
    VT_EQ_INT(vg_sdp_answer(&offer, &l, text, sizeof text, NULL, &n, &err), VG_EINVAL);
    l = gw_local();
    l.n_send = 1;
    l.send[0].kind = VG_SDP_KIND_VIDEO;
    l.n_codecs = 1;
    l.codecs[0] = VG_SDP_CODEC_OPUS;
    VT_EQ_INT(vg_sdp_offer(&l, text, sizeof text, NULL), VG_EINVAL);
    l.send[0].kind = VG_SDP_KIND_APPLICATION;
    VT_EQ_INT(vg_sdp_offer(&l, text, sizeof text, NULL), VG_EINVAL);
    l.n_send = 0;
    VT_EQ_INT(vg_sdp_offer(&l, text, sizeof text, NULL), VG_EINVAL);
}

/* ---- offering and applying answers ----------------------------------------------------- */

static struct vg_sdp_local console_leg(void)
{
    struct vg_sdp_local l = gw_local();
    l.n_codecs = 3;
    l.codecs[0] = VG_SDP_CODEC_OPUS;
    l.codecs[1] = VG_SDP_CODEC_H264;
    l.codecs[2] = VG_SDP_CODEC_VP8;
    l.n_send = 2;
    l.send[0] = (struct vg_sdp_send){.kind = VG_SDP_KIND_AUDIO, .ssrc = 1001};
    l.send[1] = (struct vg_sdp_send){
        .kind = VG_SDP_KIND_VIDEO, .dir = VG_SDP_SENDONLY, .ssrc = 2001, .rtx_ssrc = 2002};
    return l;
}

static void test_offer(void)
{
    struct vg_sdp_local l = console_leg();
    size_t len;
    VT_EQ_INT(vg_sdp_offer(&l, text, sizeof text, &len), 0);
    VT_EQ_INT(strlen(text), len);
    VT_LINE(text, "a=group:BUNDLE 0 1");
    VT_LINE(text, "m=audio 9 UDP/TLS/RTP/SAVPF 111");
    VT_LINE(text, "m=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97");
    VT_LINE(text, "a=setup:actpass");
    VT_LINE(text, "a=ice-options:trickle");
    VT_LINE(text, "a=fingerprint:sha-256 " FP_GW);
    VT_LINE(text, "a=extmap:1 " URI_LEVEL);
    VT_NO_LINE(text, "a=rtcp-fb:111 transport-cc");
    VT_CHECK(!strstr(text, URI_TWCC));
    VT_LINE(text,
            "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    VT_LINE(text, "a=rtcp-fb:102 nack pli");
    VT_LINE(text, "a=fmtp:103 apt=102");
    VT_LINE(text, "a=fmtp:97 apt=96");
    VT_LINE(text, "a=sendonly");
    VT_LINE(text, "a=ssrc-group:FID 2001 2002");
    VT_LINE(text, "a=ssrc:2002 msid:vigil vigil-1");
    VT_LINE(text, "a=ssrc:1001 cname:vigil-gw");

    struct vg_sdp_error err;
    VT_EQ_INT(parse(&offer, text, &err), 0);
    VT_EQ_INT(offer.n_media, 2);
    VT_EQ_INT(offer.media[0].n_ext, 3);
    VT_EQ_INT(offer.media[1].n_ext, 2); /* no audio level on video */
    VT_EQ_INT(offer.media[1].ext[0].id, 2);
    VT_EQ_INT(offer.media[1].n_pt, 4);
    VT_EQ_INT(offer.media[1].pt[0].profile_level_id, 0x42e01f);
    VT_EQ_INT(offer.media[1].pt[0].fb, VG_SDP_FB_SERVED);
    VT_EQ_INT(offer.media[1].pt[1].apt, 102);
    VT_EQ_INT(offer.media[1].dir, VG_SDP_SENDONLY);
    VT_EQ_INT(offer.media[0].transport.setup, VG_SDP_SETUP_ACTPASS);

    /* Too small a buffer: ENOSPC and the size needed. */
    char tiny[16];
    size_t need;
    VT_EQ_INT(vg_sdp_offer(&l, tiny, sizeof tiny, &need), VG_ENOSPC);
    VT_EQ_INT(need, len);
    VT_EQ_STR(tiny, "");
}

static void test_apply_console_answer(void)
{
    struct vg_sdp_local l = console_leg();
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    VT_EQ_INT(parse(&answer, CONSOLE_ANSWER, &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), 0);
    VT_EQ_STR(err.reason, "");
    VT_EQ_INT(n.n_media, 2);
    VT_CHECK(n.bundle);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_PASSIVE);
    VT_EQ_STR(n.remote_ufrag, "cOn5");
    VT_EQ_STR(n.remote_fingerprint, FP_A);
    const struct vg_sdp_nego_media *a = &n.media[0], *v = &n.media[1];
    VT_EQ_STR(a->mid, "0");
    VT_EQ_INT(a->codec, VG_SDP_CODEC_OPUS);
    VT_EQ_INT(a->pt, 111);
    VT_EQ_INT(a->fb, 0);
    VT_EQ_INT(a->ext_audio_level, 1);
    VT_EQ_INT(a->ext_twcc, 0);
    VT_EQ_INT(a->ext_mid, 4);
    VT_EQ_INT(a->ext_abs_send_time, 0);
    VT_EQ_INT(a->dir, VG_SDP_SENDRECV);
    VT_EQ_INT(a->local_ssrc, 1001);
    VT_EQ_INT(a->remote_ssrc[0].ssrc, 3000);
    VT_EQ_INT(v->codec, VG_SDP_CODEC_H264);
    VT_EQ_INT(v->pt, 102);
    VT_EQ_INT(v->rtx_pt, 103);
    VT_EQ_INT(v->fb, VG_SDP_FB_SERVED);
    VT_EQ_INT(v->dir, VG_SDP_SENDONLY);
    VT_EQ_INT(v->local_ssrc, 2001);
    VT_EQ_INT(v->local_rtx_ssrc, 2002);
    VT_EQ_INT(v->n_remote_ssrc, 0);

    /* Video rejected by the console: audio goes on alone. */
    VT_EQ_INT(parse(&answer, edit(CONSOLE_ANSWER, "m=video 9", "m=video 0"), &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), 0);
    VT_CHECK(n.media[0].accepted && !n.media[1].accepted);
    VT_EQ_STR(n.media[1].reason, "rejected by the answer (port 0)");
    /* Their passive makes us the DTLS client. */
    VT_EQ_INT(parse(&answer, edit(CONSOLE_ANSWER, "a=setup:active", "a=setup:passive"), &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), 0);
    VT_EQ_INT(n.local_setup, VG_SDP_SETUP_ACTIVE);
}

static void test_apply_refusals(void)
{
    static const struct {
        const char *from, *to;
        const char *reason;
    } v[] = {
        {"a=setup:active", "a=setup:actpass",
         "setup role impossible: the answer says a=setup:actpass (must be active or passive)"},
        {"UDP/TLS/RTP/SAVPF 102 103", "UDP/TLS/RTP/SAVPF 98 102 103",
         "mid 1: payload type 98 was not offered"},
        {"a=extmap:4 ", "a=extmap:5 ", "mid 0: a=extmap id 5 for " URI_MID ", the offer had 4"},
        {"a=extmap:4 " URI_MID, "a=extmap:4 urn:ietf:params:rtp-hdrext:toffset",
         "mid 0: a=extmap urn:ietf:params:rtp-hdrext:toffset was not offered"},
        {"a=recvonly", "a=sendrecv",
         "mid 1: the answer's sendrecv does not fit the offer's sendonly"},
        {CONSOLE_BUNDLE, "",
         "no a=group:BUNDLE in the answer: the gateway needs all media on one transport"},
        {CONSOLE_BUNDLE, "a=group:BUNDLE 0" CR,
         "mid 1 is accepted but not in the answer's BUNDLE group"},
        {CONSOLE_BUNDLE, "a=group:BUNDLE 0 1 7" CR,
         "the answer's BUNDLE names mid 7, which was not offered"},
        {"a=rtcp-mux" CR "a=rtpmap:111", "a=rtpmap:111",
         "mid 0: no a=rtcp-mux (the gateway needs RTP and RTCP on one port)"},
        {"packetization-mode=1", "packetization-mode=0",
         "mid 1: payload type 102 does not match the offered H264"},
        {"a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/48000/1",
         "mid 0: payload type 111 does not match the offered opus"},
        {"a=mid:0", "a=mid:x", "answer section 0 is audio mid x, the offer's is mid 0"},
        /* peer bytes quoted in a reason become printable ASCII */
        {"sdes:mid" CR, "sdes:m\xe2\x82\xac" CR,
         "mid 0: a=extmap urn:ietf:params:rtp-hdrext:sdes:m??? was not offered"},
        {"a=fingerprint:sha-256 " FP_A, "a=fingerprint:sha-512 AB",
         "mid 0: no sha-256 a=fingerprint (DTLS-SRTP needs one)"},
        {"a=ice-pwd:consolepasswordconsole1" CR, "",
         "mid 0: no ICE credentials (a=ice-ufrag and a=ice-pwd are required)"},
    };
    struct vg_sdp_local l = console_leg();
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_sdp_nego n;
        struct vg_sdp_error err;
        VT_EQ_INT(parse(&answer, edit(CONSOLE_ANSWER, v[i].from, v[i].to), &err), 0);
        int rc = vg_sdp_apply_answer(&l, &answer, &n, &err);
        if (rc != VG_EPROTO)
            fprintf(stderr, "apply vector %zu: rc %d\n", i, rc);
        VT_EQ_INT(rc, VG_EPROTO);
        VT_EQ_STR(err.reason, v[i].reason);
    }
    struct vg_sdp_nego n;
    struct vg_sdp_error err;
    VT_EQ_INT(parse(&answer, CONSOLE_HEAD CONSOLE_AUDIO, &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), VG_EPROTO);
    VT_EQ_STR(err.reason, "the answer has 1 m= sections, the offer had 2");
    VT_EQ_INT(parse(&answer, CONSOLE_HEAD CONSOLE_BUNDLE CONSOLE_VIDEO CONSOLE_AUDIO, &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), VG_EPROTO);
    VT_EQ_STR(err.reason, "answer section 0 is video mid 1, the offer's is mid 0");
    const char *t = edit(edit(CONSOLE_ANSWER, "m=audio 9", "m=audio 0"), "m=video 9", "m=video 0");
    VT_EQ_INT(parse(&answer, t, &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&l, &answer, &n, &err), VG_EPROTO);
    VT_EQ_STR(err.reason, "the answer rejects every section: no common codec");
}

/* The gateway's offer, answered by the gateway's own answerer (as another gateway or a
 * console built on this module would), applied back: both sides agree. */
static void test_offer_answer_roundtrip(void)
{
    struct vg_sdp_local ours = console_leg(), theirs = gw_local();
    theirs.ice_ufrag = "cOn5";
    theirs.ice_pwd = "consolepasswordconsole1";
    theirs.fingerprint = FP_A;
    theirs.cname = "console";
    theirs.n_send = 2;
    theirs.send[0] = (struct vg_sdp_send){.ssrc = 7001};
    theirs.send[1] = (struct vg_sdp_send){.ssrc = 8001, .rtx_ssrc = 8002};
    static char offer_text[8192], answer_text_buf[8192];
    struct vg_sdp_nego n_theirs, n_ours;
    struct vg_sdp_error err;
    size_t len;
    VT_EQ_INT(vg_sdp_offer(&ours, offer_text, sizeof offer_text, &len), 0);
    VT_EQ_INT(parse(&offer, offer_text, &err), 0);
    VT_EQ_INT(vg_sdp_answer(&offer, &theirs, answer_text_buf, sizeof answer_text_buf, &len,
                            &n_theirs, &err),
              0);
    VT_EQ_INT(parse(&again, answer_text_buf, &err), 0);
    VT_EQ_INT(vg_sdp_apply_answer(&ours, &again, &n_ours, &err), 0);
    VT_EQ_STR(err.reason, "");
    VT_EQ_INT(n_theirs.local_setup, VG_SDP_SETUP_PASSIVE);
    VT_EQ_INT(n_ours.local_setup, VG_SDP_SETUP_ACTIVE);
    VT_EQ_STR(n_ours.remote_ufrag, "cOn5");
    VT_EQ_STR(n_theirs.remote_ufrag, "vGw1");
    VT_EQ_STR(n_theirs.remote_fingerprint, FP_GW);
    for (size_t i = 0; i < 2; i++) {
        const struct vg_sdp_nego_media *a = &n_ours.media[i], *b = &n_theirs.media[i];
        VT_EQ_STR(a->mid, b->mid);
        VT_EQ_INT(a->codec, b->codec);
        VT_EQ_INT(a->pt, b->pt);
        VT_EQ_INT(a->rtx_pt, b->rtx_pt);
        VT_EQ_INT(a->fb, b->fb);
        VT_EQ_INT(a->ext_mid, b->ext_mid);
        VT_EQ_INT(a->ext_twcc, b->ext_twcc);
        VT_EQ_INT(a->ext_abs_send_time, b->ext_abs_send_time);
        VT_EQ_INT(a->ext_audio_level, b->ext_audio_level);
    }
    VT_EQ_INT(n_ours.media[1].codec, VG_SDP_CODEC_VP8); /* their preference: VP8 first */
    VT_EQ_INT(n_ours.media[1].pt, 96);
    VT_EQ_INT(n_ours.media[1].rtx_pt, 97);
    VT_EQ_INT(n_ours.media[1].dir, VG_SDP_SENDONLY);
    VT_EQ_INT(n_theirs.media[1].dir, VG_SDP_RECVONLY);
    VT_EQ_INT(n_theirs.media[1].remote_ssrc[0].ssrc, 2001);
    VT_EQ_INT(n_theirs.media[1].remote_ssrc[0].rtx, 2002);
    VT_EQ_INT(n_ours.media[0].remote_ssrc[0].ssrc, 7001);
    VT_EQ_INT(n_ours.media[1].n_remote_ssrc, 0); /* they only receive video */
    VT_EQ_INT(n_ours.media[0].ext_audio_level, 1);
}

int main(void)
{
    test_parse_chrome();
    test_parse_webrtcbin_lf();
    test_parse_errors();
    test_too_many_sections();
    test_bounded_lists();
    test_candidates();
    test_answer_webrtcbin();
    test_answer_chrome();
    test_h264_choice();
    test_answer_refusals();
    test_answer_variants();
    test_answer_nospace();
    test_local_checks();
    test_offer();
    test_apply_console_answer();
    test_apply_refusals();
    test_offer_answer_roundtrip();
    VT_EQ_STR(vg_sdp_codec_name(VG_SDP_CODEC_H264), "H264");
    VT_EQ_STR(vg_sdp_dir_name(VG_SDP_RECVONLY), "recvonly");
    return vt_done("sdp");
}
