/* Private to media/ice: how ice.c puts a transport's sockets on a vg_ice_loop
 * (loop.c says why they are apart from the loop's main context). */
#ifndef VG_ICE_LOOP_PRIV_H
#define VG_ICE_LOOP_PRIV_H

#include "ice.h"

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

/* Bumped by vg_ice_sockets_changed() (epoll.c): sockets may have been opened or
 * closed, so an fd number may stand for a new file. */
uint64_t vg_ice_sockets_gen(void);

#endif
