#include "classify.h"
#include "vt.h"

int main(void)
{
    static const struct {
        uint8_t b[2];
        size_t len;
        enum vg_pkt_class want;
    } v[] = {
        {{0x00, 0x01}, 2, VG_PKT_STUN}, /* Binding request */
        {{0x01, 0x01}, 2, VG_PKT_STUN}, /* Binding success */
        {{0x03, 0x00}, 2, VG_PKT_STUN},     {{0x04, 0x00}, 2, VG_PKT_UNKNOWN},
        {{16, 0}, 2, VG_PKT_ZRTP},          {{20, 0xfe}, 2, VG_PKT_DTLS}, /* ChangeCipherSpec */
        {{22, 0xfe}, 2, VG_PKT_DTLS},                                     /* Handshake */
        {{23, 0xfe}, 2, VG_PKT_DTLS},                                     /* Application data */
        {{63, 0}, 2, VG_PKT_DTLS},          {{64, 0}, 2, VG_PKT_TURN_CHANNEL},
        {{79, 0}, 2, VG_PKT_TURN_CHANNEL},  {{80, 0}, 2, VG_PKT_UNKNOWN},
        {{127, 0}, 2, VG_PKT_UNKNOWN},      {{0x80, 96}, 2, VG_PKT_RTP}, /* VP8, no marker */
        {{0x80, 96 | 0x80}, 2, VG_PKT_RTP}, /* VP8 with marker = 224: still RTP */
        {{0x80, 111}, 2, VG_PKT_RTP},       /* Opus */
        {{0x80, 200}, 2, VG_PKT_RTCP},      /* SR */
        {{0x81, 201}, 2, VG_PKT_RTCP},      /* RR */
        {{0x81, 205}, 2, VG_PKT_RTCP},      /* RTPFB (NACK) */
        {{0x81, 206}, 2, VG_PKT_RTCP},      /* PSFB (PLI) */
        {{0x80, 192}, 2, VG_PKT_RTCP},      {{0x80, 223}, 2, VG_PKT_RTCP},
        {{0xbf, 0}, 2, VG_PKT_RTP},         {{0xc0, 0}, 2, VG_PKT_UNKNOWN}, /* version 3 */
        {{0xff, 0}, 2, VG_PKT_UNKNOWN},     {{0x80, 0}, 1, VG_PKT_UNKNOWN}, /* too short to tell */
        {{0x00, 0}, 0, VG_PKT_UNKNOWN},                                     /* empty */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        enum vg_pkt_class got = vg_classify(v[i].b, v[i].len);
        if (got != v[i].want)
            fprintf(stderr, "vector %zu: byte %u/%u len %zu -> %s, want %s\n", i, v[i].b[0],
                    v[i].b[1], v[i].len, vg_pkt_class_name(got), vg_pkt_class_name(v[i].want));
        VT_EQ_INT(got, v[i].want);
    }
    VT_EQ_STR(vg_pkt_class_name(VG_PKT_RTCP), "rtcp");
    return vt_done("classify");
}
