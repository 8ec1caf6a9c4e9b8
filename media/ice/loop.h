/* Private to media/ice: how ice.c puts a transport's sockets on a vg_ice_loop
 * (loop.c says why they are apart from the loop's main context). */
#ifndef VG_ICE_LOOP_PRIV_H
#define VG_ICE_LOOP_PRIV_H

#include "ice.h"

#include <stdbool.h>
#include <stdint.h>

struct ice_io;

/* A context for one transport's sockets, flagged so that attaching a source to it
 * wakes the loop. The caller owns the reference. */
GMainContext *ice_loop_new_io_context(void);

/* From then on L polls io's fds and runs io alone when one is ready. On L's thread;
 * io is referenced until ice_loop_detach(). */
struct ice_io *ice_loop_attach(struct vg_ice_loop *L, GMainContext *io);

/* io's fds leave L's set; call it before the sockets close (NULL is allowed). */
void ice_loop_detach(struct ice_io *io);

/* Queues one datagram for fd to the address, sent with the others queued in this
 * round with one sendmmsg() per run of one fd (loop.c, flush_sends()); what happened
 * to it is told to ice_note_sent() then. A datagram too big for a slot is sent at
 * once (after the queue, to keep the order). */
void ice_loop_send(struct vg_ice_loop *L, struct vg_ice *t, int fd, const void *to, unsigned tolen,
                   const uint8_t *buf, size_t len);

/* ice.c: the outcome of a datagram given to ice_loop_send(): 0, or the errno. */
void ice_note_sent(struct vg_ice *t, size_t len, int err);

/* ice.c: whether t's datagrams may go out as UDP GSO groups (loop.c, send_run()),
 * and that one was refused with err: t sends one by one from then on. */
bool ice_gso_allowed(const struct vg_ice *t);
void ice_note_gso_refused(struct vg_ice *t, int err);

/* A transport's own receive socket beside libnice's (ice.c, rx_open()): polled by L
 * apart from any context and read with recvmmsg(), each datagram handed to
 * ice_rx_datagram(). 0, or VG_EIO if epoll refuses it. */
int ice_loop_add_rx(struct vg_ice_loop *L, int fd, struct vg_ice *t);
/* Call before closing fd. */
void ice_loop_del_rx(struct vg_ice_loop *L, int fd);

/* ice.c: one datagram read from t's receive socket fd (truncated: longer than the
 * loop's buffer). Returns false when t takes nothing more from fd: freed, or its
 * receive socket closed or moved, from inside the callback. */
bool ice_rx_datagram(struct vg_ice *t, int fd, const uint8_t *buf, size_t len, const void *from,
                     unsigned fromlen, bool truncated);

/* Bumped by vg_ice_sockets_changed(): sockets may have been opened or
 * closed, so an fd number may stand for a new file. */
uint64_t vg_ice_sockets_gen(void);

#endif
