/* Demultiplexing of one UDP 5-tuple that carries STUN, DTLS, RTP and RTCP at once.
 *
 * With BUNDLE and rtcp-mux every packet of a leg arrives on one socket. RFC 7983
 * (section 7) tells them apart by the first byte; RTP and RTCP (both 128..191) are
 * then told apart by the second byte, the RTCP packet types 192..223 (RFC 5761,
 * section 4). Each datagram is classified once, here, and handed to one short
 * handler; nothing else looks at the first byte. */
#ifndef VG_CLASSIFY_H
#define VG_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

enum vg_pkt_class {
    VG_PKT_UNKNOWN = 0,  /* drop it (and count it) */
    VG_PKT_STUN,         /* first byte 0..3 */
    VG_PKT_ZRTP,         /* 16..19: not used by WebRTC, dropped */
    VG_PKT_DTLS,         /* 20..63 */
    VG_PKT_TURN_CHANNEL, /* 64..79 */
    VG_PKT_RTP,          /* 128..191, second byte not an RTCP type */
    VG_PKT_RTCP,         /* 128..191, second byte 192..223 */
};

/* Classifies a datagram of len bytes. Never reads past len; a datagram too short
 * for its class (RTP/RTCP under 2 bytes, anything empty) is VG_PKT_UNKNOWN. */
enum vg_pkt_class vg_classify(const uint8_t *buf, size_t len);

const char *vg_pkt_class_name(enum vg_pkt_class c);

#endif
