/* The HTTPS and WSS front door: the one file that includes libwebsockets.
 *
 * One listening port serves, over TLS:
 *   - static files from the web root (the citizen and console pages);
 *   - GET /healthz and GET /metrics, whose bodies the owner supplies;
 *   - WebSocket connections with subprotocol "vigil.v1" at any path (by
 *     convention /ws), handed to the owner as whole text messages.
 * It runs on the owner's GLib main loop (lws's glib event library), so every
 * callback below fires on that loop's thread.
 *
 * Bounds: an incoming message over ws_max_message is discarded whole and reported
 * with on_oversize (the connection stays up); each connection's send queue holds at
 * most VG_WS_TXQ_MAX messages and VG_WS_TXQ_BYTES bytes: a client that does not read
 * is cut rather than allowed to grow the gateway's memory. */
#ifndef VG_HTTP_SERVER_H
#define VG_HTTP_SERVER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_WS_TXQ_MAX 256
#define VG_WS_TXQ_BYTES (1024 * 1024)

struct vg_http_server;
struct vg_ws_conn; /* valid from on_open until on_close returns */

struct vg_http_handlers {
    /* Bodies for /healthz (JSON) and /metrics (Prometheus text): malloc'd strings
     * the server frees, or NULL for a 500. */
    char *(*healthz)(void *ud);
    char *(*metrics)(void *ud);
    void (*ws_open)(struct vg_ws_conn *c, void *ud);
    void (*ws_message)(struct vg_ws_conn *c, const char *text, size_t len, void *ud);
    void (*ws_oversize)(struct vg_ws_conn *c, size_t len, void *ud);
    void (*ws_close)(struct vg_ws_conn *c, void *ud);
    void *ud;
};

struct vg_http_config {
    const char *listen_addr; /* an IPv4 or IPv6 address */
    int port;
    const char *cert_path;
    const char *key_path;
    const char *web_root;
    size_t ws_max_message;
};

/* Checks that addr:port can be bound now, so start-up can refuse a busy port
 * before it touches anything else. On failure writes the OS's reason into err. */
int vg_http_server_probe(const char *addr, int port, char *err, size_t errlen);

/* Binds, loads the certificate and starts serving on loop. On failure returns a
 * negative code, serves nothing, and writes a one-line reason into err. */
int vg_http_server_start(const struct vg_http_config *cfg, const struct vg_http_handlers *h,
                         GMainLoop *loop, struct vg_http_server **out, char *err, size_t errlen);

/* Stops listening and closes every connection (ws_close fires for each). NULL ok. */
void vg_http_server_stop(struct vg_http_server *srv);

/* Queues one text message. VG_ENOSPC when the connection's queue is full: the
 * connection is then closed, as its client is not reading. */
int vg_ws_send(struct vg_ws_conn *c, const char *text, size_t len);

/* Stops (paused = true) or resumes reading from the connection: slows a client
 * that floods, through its own TCP window. */
void vg_ws_pause(struct vg_ws_conn *c, bool paused);

/* Closes the connection after what is queued has been sent. */
void vg_ws_close(struct vg_ws_conn *c);

/* A number that identifies the connection in logs; unique per server run. */
uint64_t vg_ws_conn_id(const struct vg_ws_conn *c);

/* The owner's per-connection pointer (NULL until set). */
void *vg_ws_get_data(const struct vg_ws_conn *c);
void vg_ws_set_data(struct vg_ws_conn *c, void *data);

/* Changes the incoming message limit for messages that start from now on. */
void vg_http_server_set_ws_max(struct vg_http_server *srv, size_t max);

struct vg_http_stats {
    uint64_t http_requests;
    uint64_t ws_open;
    uint64_t ws_messages_in;
    uint64_t ws_messages_out;
    uint64_t ws_oversize;
    uint64_t ws_cut_slow;
};

void vg_http_server_stats(const struct vg_http_server *srv, struct vg_http_stats *out);

#endif
