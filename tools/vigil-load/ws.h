/* A WebSocket client connection for the load generator (libwebsockets on GLib).
 *
 * Both targets speak JSON over one WebSocket per client: Vigil over TLS with the
 * subprotocol vigil.v1, Janus in clear with janus-protocol. Text messages are queued
 * (bounded) and written when the socket is writable; each received message is handed
 * up whole. The gateway's certificate is self-signed and not checked: the load runs
 * on loopback against a gateway it started itself.
 *
 * Threads: the GMainLoop given to vg_ws_global_init() runs everything. */
#ifndef VG_LOAD_WS_H
#define VG_LOAD_WS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _GMainLoop GMainLoop;

struct vg_ws;

struct vg_ws_callbacks {
    void (*on_open)(void *ud);
    /* One whole text message, NUL-terminated, valid during the call. */
    void (*on_message)(const char *text, size_t len, void *ud);
    /* Connect failed or the connection closed; the vg_ws stays until vg_ws_free(). */
    void (*on_close)(const char *why, void *ud);
};

#define VG_WS_MAX_QUEUE 256 /* messages waiting to be written */
#define VG_WS_MAX_MESSAGE (256 * 1024)

/* Once per process. 0 or VG_EIO. */
int vg_ws_global_init(GMainLoop *loop);
void vg_ws_global_done(void);

/* Connects to ws(s)://host:port/path with the subprotocol. *out is the caller's
 * (vg_ws_free). */
int vg_ws_connect(const char *host, int port, const char *path, bool tls, const char *subprotocol,
                  const struct vg_ws_callbacks *cb, void *ud, struct vg_ws **out);

/* Queues one text message (copied). VG_ENOSPC if the queue is full, VG_ESTATE if
 * closed. */
int vg_ws_send(struct vg_ws *w, const char *text, size_t len);

void vg_ws_free(struct vg_ws *w);

#endif
