/* The HTTPS and WSS front door: the one file that includes libwebsockets.
 *
 * One listening port serves, over TLS:
 *   - static files from the web root (the citizen and console pages), GET only,
 *     typed by extension from a fixed table, never outside the root (no `..`,
 *     no dot files, symlinks resolved and checked), pages with a strict
 *     Content-Security-Policy;
 *   - GET /healthz and GET /metrics, whose bodies the owner supplies;
 *   - requests under /api/, handed to the owner as exchanges (below): the owner
 *     answers at once from the headers, or asks for the body (bounded by a
 *     maximum it sets) and answers when the body is in;
 *   - WebSocket connections with subprotocol "vigil.v1" at any path (by
 *     convention /ws), handed to the owner as whole text messages.
 * It runs on the owner's GLib main loop (lws's glib event library), so every
 * callback below fires on that loop's thread.
 *
 * Bounds: an /api/ body is gathered only up to the maximum the owner set for it
 * (more is answered 413 and the connection closed); a body that stops arriving for
 * api_body_timeout_s closes the connection (the owner sees api_done with
 * responded = false); a body the owner does not want is read and discarded up to
 * VG_HTTP_DRAIN_MAX so the client can read the answer, and past that the answer
 * is sent and the connection closed. An incoming message over ws_max_message is discarded whole and
 * reported with on_oversize (the connection stays up); each connection's send queue holds at most
 * VG_WS_TXQ_MAX messages and VG_WS_TXQ_BYTES bytes: a client that does not read is cut rather than
 * allowed to grow the gateway's memory.
 *
 * Liveness: a WebSocket connection can die without closing (a phone in a tunnel, a
 * console whose machine lost power, a NAT that forgot the flow), and TCP may take many
 * minutes to notice, while the gateway keeps a call-taker on a case nobody watches.
 * A connection with nothing received for ws_ping_after_s gets a PING (browsers answer
 * on their own); with nothing (message or PONG) for ws_dead_after_s it is closed, and
 * the owner sees ws_close as for any other close. */
#ifndef VG_HTTP_SERVER_H
#define VG_HTTP_SERVER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_WS_TXQ_MAX 256
#define VG_WS_TXQ_BYTES (1024 * 1024)

#define VG_HTTP_DRAIN_MAX (1024 * 1024)

struct vg_http_server;
struct vg_ws_conn;       /* valid from on_open until on_close returns */
struct vg_http_exchange; /* one /api/ request: valid from api_begin until api_done returns */

/* An /api/ request's head. Views valid during api_begin only. */
struct vg_http_request {
    const char *method;     /* "GET", "POST", … */
    const char *path;       /* e.g. "/api/uploads/u-1f2e", without the query */
    const char *query;      /* after '?', "" if none */
    const char *bearer;     /* from "Authorization: Bearer …", "" if none */
    const char *peer;       /* the client's address, for logs */
    int64_t content_length; /* -1 when the request has no Content-Length */
};

struct vg_http_handlers {
    /* Bodies for /healthz (JSON) and /metrics (Prometheus text): malloc'd strings
     * the server frees, or NULL for a 500. */
    char *(*healthz)(void *ud, int *status); /* *status: 200 (set before), or 503 */
    char *(*metrics)(void *ud);
    void (*ws_open)(struct vg_ws_conn *c, void *ud);
    void (*ws_message)(struct vg_ws_conn *c, const char *text, size_t len, void *ud);
    void (*ws_oversize)(struct vg_ws_conn *c, size_t len, void *ud);
    void (*ws_close)(struct vg_ws_conn *c, void *ud);
    /* An /api/ request's head is in. Before returning, the owner either answers
     * (vg_http_respond, vg_http_respond_file) or asks for the body
     * (vg_http_want_body); doing neither is answered 500. */
    void (*api_begin)(struct vg_http_exchange *x, const struct vg_http_request *r, void *ud);
    /* The whole body asked for is in (body valid during the call): the owner
     * answers with vg_http_respond before returning, or calls vg_http_defer and
     * answers later from its own callback (until api_done). */
    void (*api_body)(struct vg_http_exchange *x, const uint8_t *body, size_t len, void *ud);
    /* The exchange is over: answered (responded = true), or the connection went
     * first (a client that dropped, stalled past the timeout, or was superseded
     * with vg_http_abort). The owner forgets x here. */
    void (*api_done)(struct vg_http_exchange *x, bool responded, void *ud);
    void *ud;
};

struct vg_http_config {
    const char *listen_addr; /* an IPv4 or IPv6 address */
    int port;
    const char *cert_path;
    const char *key_path;
    const char *web_root;
    size_t ws_max_message;
    int api_body_timeout_s; /* 0: 30 */
    int ws_ping_after_s;    /* 0: 15 */
    int ws_dead_after_s;    /* 0: 30; more than ws_ping_after_s */
    /* Extra img-src source for pages' Content-Security-Policy (a map tile
     * server's origin), "" or NULL for none. */
    const char *csp_img_extra;
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

/* /api/ exchanges ------------------------------------------------------------ */

/* Answers with a JSON body (copied; NULL for none). Once per exchange. */
void vg_http_respond(struct vg_http_exchange *x, int status, const char *json);

/* Answers with the file at path (streamed from disk, never whole in memory), as
 * content_type, not cached, and sandboxed should a browser open it directly.
 * Only from api_begin. On VG_OK the exchange is over (api_done has run, x is
 * gone); VG_ENOENT (nothing sent, x still usable) when it cannot be opened. */
int vg_http_respond_file(struct vg_http_exchange *x, const char *path, const char *content_type);

/* Asks for the request's body, which must announce a Content-Length of at most
 * max: it arrives whole in api_body. Only from api_begin. */
void vg_http_want_body(struct vg_http_exchange *x, size_t max);

/* From api_body only: the answer is given later, with vg_http_respond from the
 * owner's own callback on the server's loop (work done off the loop). A client
 * left waiting longer than the body timeout is closed on. */
void vg_http_defer(struct vg_http_exchange *x);

/* Ends the exchange without an answer and closes its connection (the client
 * was superseded by a newer request). api_done follows, later, on the loop. */
void vg_http_abort(struct vg_http_exchange *x);

uint64_t vg_http_exchange_id(const struct vg_http_exchange *x);
void *vg_http_exchange_data(const struct vg_http_exchange *x);
void vg_http_exchange_set_data(struct vg_http_exchange *x, void *data);

/* Changes the incoming message limit for messages that start from now on. */
void vg_http_server_set_ws_max(struct vg_http_server *srv, size_t max);

struct vg_http_stats {
    uint64_t http_requests;
    uint64_t api_requests;
    uint64_t static_files, static_refused;
    uint64_t ws_open;
    uint64_t ws_messages_in;
    uint64_t ws_messages_out;
    uint64_t ws_oversize;
    uint64_t ws_cut_slow;
    uint64_t ws_silent; /* closed after ws_dead_after_s with nothing received */
};

void vg_http_server_stats(const struct vg_http_server *srv, struct vg_http_stats *out);

#endif
