#include "server.h"

#include "log.h"
#include "vg_err.h"

#include <libwebsockets.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WS_PROTOCOL "vigil.v1"
#define HTTP_BODY_MAX (1024 * 1024)

struct txmsg {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the text */
    size_t len;
};

struct vg_ws_conn {
    struct lws *wsi;
    struct vg_http_server *srv;
    uint64_t id;
    void *data;
    bool open, closing, in_msg, rx_discard;
    char *rx; /* grows up to the server's ws_max, never beyond */
    size_t rx_len, rx_cap, rx_seen;
    struct txmsg q[VG_WS_TXQ_MAX];
    unsigned q_head, q_count;
    size_t q_bytes;
};

struct http_pss {
    unsigned char *body; /* LWS_PRE headroom, then len bytes */
    size_t len;
};

struct vg_http_server {
    struct lws_context *ctx;
    struct vg_http_handlers h;
    size_t ws_max;
    uint64_t next_id;
    struct vg_http_stats stats;
    struct lws_http_mount mounts[3];
    struct lws_protocols protocols[3];
    void *loops[1];
    char *web_root;
};

static struct vg_http_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* HTTP: /healthz and /metrics ----------------------------------------------- */

static int http_respond(struct lws *wsi, struct http_pss *pss, unsigned status, const char *ctype,
                        char *body)
{
    size_t len = body ? strlen(body) : 0;
    if (len > HTTP_BODY_MAX) {
        free(body);
        return http_respond(wsi, pss, HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain",
                            strdup("response too large\n"));
    }
    pss->body = malloc(LWS_PRE + len + 1);
    if (!pss->body) {
        free(body);
        return -1;
    }
    memcpy(pss->body + LWS_PRE, body ? body : "", len);
    pss->len = len;
    free(body);
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_request(struct vg_http_server *srv, struct lws *wsi, struct http_pss *pss)
{
    char uri[128];
    srv->stats.http_requests++;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return http_respond(wsi, pss, 405, "text/plain", strdup("only GET is served here\n"));
    if (strcmp(uri, "/healthz") == 0)
        return http_respond(wsi, pss, srv->h.healthz ? 200 : 404, "application/json",
                            srv->h.healthz ? srv->h.healthz(srv->h.ud) : NULL);
    if (strcmp(uri, "/metrics") == 0)
        return http_respond(wsi, pss, srv->h.metrics ? 200 : 404, "text/plain; version=0.0.4",
                            srv->h.metrics ? srv->h.metrics(srv->h.ud) : NULL);
    return http_respond(wsi, pss, 404, "text/plain", strdup("not found\n"));
}

static int http_write_body(struct lws *wsi, struct http_pss *pss)
{
    if (!pss->body)
        return 0;
    int n = lws_write(wsi, pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL);
    bool whole = n >= 0 && (size_t)n == pss->len;
    free(pss->body);
    pss->body = NULL;
    if (!whole)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* A WebSocket without the "vigil.v1" subprotocol lands here: refuse it
         * rather than run it under the HTTP handler. */
        return 1;
    case LWS_CALLBACK_HTTP: return http_request(server_of(wsi), wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE: return http_write_body(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->body);
            pss->body = NULL;
        }
        break;
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* WebSocket ----------------------------------------------------------------- */

static void ws_opened(struct vg_http_server *srv, struct lws *wsi, struct vg_ws_conn *c)
{
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    c->srv = srv;
    c->id = ++srv->next_id;
    c->open = true;
    srv->stats.ws_open++;
    if (srv->h.ws_open)
        srv->h.ws_open(c, srv->h.ud);
}

static int rx_append(struct vg_ws_conn *c, const void *in, size_t len)
{
    size_t need = c->rx_len + len;
    if (need > c->srv->ws_max)
        return VG_ENOSPC;
    if (need > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 1024;
        while (cap < need)
            cap *= 2;
        if (cap > c->srv->ws_max)
            cap = c->srv->ws_max;
        char *rx = realloc(c->rx, cap);
        if (!rx)
            return VG_ENOMEM;
        c->rx = rx;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    return VG_OK;
}

/* lws may hand one message over in several pieces (frames, and chunks of a frame):
 * gather them, and deliver the message when the last piece of the final frame is in. */
static void ws_receive(struct vg_ws_conn *c, const void *in, size_t len)
{
    struct vg_http_server *srv = c->srv;
    if (!c->in_msg) {
        c->in_msg = true;
        c->rx_len = c->rx_seen = 0;
        c->rx_discard = false;
    }
    c->rx_seen += len;
    if (!c->rx_discard && rx_append(c, in, len))
        c->rx_discard = true;
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return;
    c->in_msg = false;
    if (c->rx_discard) {
        srv->stats.ws_oversize++;
        vg_warn(NULL, NULL, "ws conn=%llu: message of %zu bytes over the limit of %zu, refused",
                (unsigned long long)c->id, c->rx_seen, srv->ws_max);
        if (srv->h.ws_oversize)
            srv->h.ws_oversize(c, c->rx_seen, srv->h.ud);
    } else {
        srv->stats.ws_messages_in++;
        if (srv->h.ws_message)
            srv->h.ws_message(c, c->rx ? c->rx : "", c->rx_len, srv->h.ud);
    }
    /* Shrink a buffer a large message grew, so an idle connection stays small. */
    if (c->rx_cap > 16384) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
}

static int ws_writable(struct vg_ws_conn *c)
{
    if (c->q_count == 0) {
        if (c->closing) {
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    }
    struct txmsg *m = &c->q[c->q_head];
    int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    bool whole = n >= 0 && (size_t)n == m->len;
    c->q_bytes -= m->len;
    free(m->buf);
    m->buf = NULL;
    c->q_head = (c->q_head + 1) % VG_WS_TXQ_MAX;
    c->q_count--;
    c->srv->stats.ws_messages_out++;
    if (!whole)
        return -1;
    if (c->q_count || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void ws_closed(struct vg_ws_conn *c)
{
    if (!c->open)
        return;
    struct vg_http_server *srv = c->srv;
    if (srv->h.ws_close)
        srv->h.ws_close(c, srv->h.ud);
    c->open = false;
    while (c->q_count) {
        free(c->q[c->q_head].buf);
        c->q_head = (c->q_head + 1) % VG_WS_TXQ_MAX;
        c->q_count--;
    }
    free(c->rx);
    c->rx = NULL;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct vg_ws_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: ws_opened(server_of(wsi), wsi, c); break;
    case LWS_CALLBACK_RECEIVE: ws_receive(c, in, len); break;
    case LWS_CALLBACK_SERVER_WRITEABLE: return ws_writable(c);
    case LWS_CALLBACK_CLOSED: ws_closed(c); break;
    default: break;
    }
    return 0;
}

int vg_ws_send(struct vg_ws_conn *c, const char *text, size_t len)
{
    if (!c->open || c->closing)
        return VG_ESTATE;
    if (c->q_count == VG_WS_TXQ_MAX || c->q_bytes + len > VG_WS_TXQ_BYTES) {
        c->srv->stats.ws_cut_slow++;
        vg_warn(NULL, NULL, "ws conn=%llu: send queue full (%u messages, %zu bytes): cut",
                (unsigned long long)c->id, c->q_count, c->q_bytes);
        c->closing = true;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return VG_ENOSPC;
    }
    unsigned char *buf = malloc(LWS_PRE + len);
    if (!buf)
        return VG_ENOMEM;
    memcpy(buf + LWS_PRE, text, len);
    unsigned tail = (c->q_head + c->q_count) % VG_WS_TXQ_MAX;
    c->q[tail] = (struct txmsg){buf, len};
    c->q_count++;
    c->q_bytes += len;
    lws_callback_on_writable(c->wsi);
    return VG_OK;
}

void vg_ws_pause(struct vg_ws_conn *c, bool paused)
{
    if (c->open)
        lws_rx_flow_control(c->wsi, paused ? 0 : 1);
}

void vg_ws_close(struct vg_ws_conn *c)
{
    if (!c->open || c->closing)
        return;
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

uint64_t vg_ws_conn_id(const struct vg_ws_conn *c)
{
    return c->id;
}

void *vg_ws_get_data(const struct vg_ws_conn *c)
{
    return c->data;
}

void vg_ws_set_data(struct vg_ws_conn *c, void *data)
{
    c->data = data;
}

void vg_http_server_set_ws_max(struct vg_http_server *srv, size_t max)
{
    srv->ws_max = max;
}

void vg_http_server_stats(const struct vg_http_server *srv, struct vg_http_stats *out)
{
    *out = srv->stats;
}

/* Start and stop ------------------------------------------------------------ */

static void lws_log_line(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    vg_log(level & LLL_ERR ? VG_LOG_ERROR : VG_LOG_WARN, NULL, NULL, "lws: %.*s", (int)n, line);
}

/* lws reports a busy port only as a NULL context; bind once ourselves first so the
 * operator gets the OS's reason. */
int vg_http_server_probe(const char *addr, int port, char *err, size_t errlen)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        snprintf(err, errlen, "listen address %s is not an IP address", addr);
        return VG_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 1)) {
        snprintf(err, errlen, "cannot listen on %s port %d: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return VG_EIO;
    }
    close(fd);
    return VG_OK;
}

static void fill_tables(struct vg_http_server *srv)
{
    srv->protocols[0] =
        (struct lws_protocols){"http", cb_http, sizeof(struct http_pss), 0, 0, NULL, 0};
    srv->protocols[1] =
        (struct lws_protocols){WS_PROTOCOL, cb_ws, sizeof(struct vg_ws_conn), 4096, 0, NULL, 0};
    srv->mounts[0] = (struct lws_http_mount){.mount_next = &srv->mounts[1],
                                             .mountpoint = "/healthz",
                                             .origin = "http",
                                             .origin_protocol = LWSMPRO_CALLBACK,
                                             .mountpoint_len = 8};
    srv->mounts[1] = (struct lws_http_mount){.mount_next = &srv->mounts[2],
                                             .mountpoint = "/metrics",
                                             .origin = "http",
                                             .origin_protocol = LWSMPRO_CALLBACK,
                                             .mountpoint_len = 8};
    srv->mounts[2] = (struct lws_http_mount){.mountpoint = "/",
                                             .origin = srv->web_root,
                                             .def = "index.html",
                                             .origin_protocol = LWSMPRO_FILE,
                                             .mountpoint_len = 1};
}

int vg_http_server_start(const struct vg_http_config *cfg, const struct vg_http_handlers *h,
                         GMainLoop *loop, struct vg_http_server **out, char *err, size_t errlen)
{
    struct stat st;
    if (stat(cfg->web_root, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "web root %s is not a directory", cfg->web_root);
        return VG_EINVAL;
    }
    int rc = vg_http_server_probe(cfg->listen_addr, cfg->port, err, errlen);
    if (rc)
        return rc;
    struct vg_http_server *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->web_root = strdup(cfg->web_root))) {
        free(srv);
        return VG_ENOMEM;
    }
    srv->h = *h;
    srv->ws_max = cfg->ws_max_message;
    srv->loops[0] = loop;
    fill_tables(srv);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = srv->loops;
    info.port = cfg->port;
    info.iface = cfg->listen_addr;
    info.protocols = srv->protocols;
    info.mounts = &srv->mounts[0];
    info.ssl_cert_filepath = cfg->cert_path;
    info.ssl_private_key_filepath = cfg->key_path;
    /* HTTP/1.1 only: WebSocket over HTTP/2 (RFC 8441) buys nothing here and is the
     * least exercised path in lws 4.1. */
    info.alpn = "http/1.1";
    info.vhost_name = "vigil";
    info.user = srv;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        snprintf(err, errlen, "cannot start HTTPS on %s port %d (certificate %s, key %s)",
                 cfg->listen_addr, cfg->port, cfg->cert_path, cfg->key_path);
        free(srv->web_root);
        free(srv);
        return VG_EIO;
    }
    *out = srv;
    return VG_OK;
}

void vg_http_server_stop(struct vg_http_server *srv)
{
    if (!srv)
        return;
    lws_context_destroy(srv->ctx);
    free(srv->web_root);
    free(srv);
}
