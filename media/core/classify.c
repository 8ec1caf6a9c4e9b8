#include "classify.h"

enum vg_pkt_class vg_classify(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return VG_PKT_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3)
        return VG_PKT_STUN;
    if (b >= 16 && b <= 19)
        return VG_PKT_ZRTP;
    if (b >= 20 && b <= 63)
        return VG_PKT_DTLS;
    if (b >= 64 && b <= 79)
        return VG_PKT_TURN_CHANNEL;
    if (b >= 128 && b <= 191) {
        if (len < 2)
            return VG_PKT_UNKNOWN;
        /* RFC 5761 section 4: RTCP packet types 192..223 collide with no RTP payload
         * type once the marker bit is included; 200..204 are the ones seen in practice. */
        uint8_t pt = buf[1];
        if (pt >= 192 && pt <= 223)
            return VG_PKT_RTCP;
        return VG_PKT_RTP;
    }
    return VG_PKT_UNKNOWN;
}

const char *vg_pkt_class_name(enum vg_pkt_class c)
{
    switch (c) {
    case VG_PKT_STUN: return "stun";
    case VG_PKT_ZRTP: return "zrtp";
    case VG_PKT_DTLS: return "dtls";
    case VG_PKT_TURN_CHANNEL: return "turn-channel";
    case VG_PKT_RTP: return "rtp";
    case VG_PKT_RTCP: return "rtcp";
    default: return "unknown";
    }
}
