#include "server.h"

#include "log.h"
#include "vg_err.h"

#include <libwebsockets.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <strings.h>
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
    int64_t last_rx_us; /* monotonic: the last message or PONG */
    struct txmsg q[VG_WS_TXQ_MAX];
    unsigned q_head, q_count;
    size_t q_bytes;
};

/* One /api/ request and its answer. */
struct vg_http_exchange {
    struct lws *wsi;
    struct vg_http_server *srv;
    uint64_t id;
    void *data;
    int64_t content_length;
    size_t body_max; /* 0: the owner wants no body */
    uint8_t *body;
    size_t body_len;
    bool killed;   /* superseded: its bytes are ignored, its connection closing */
    bool answered; /* status and answer are set */
    bool draining; /* answered before the body: reading the body to discard it */
    bool in_body;  /* api_body is running */
    bool deferred; /* api_body took the answer up for later (vg_http_defer) */
    int status;
    char *answer; /* JSON */
};

/* Per connection: the answer being written, and the /api/ exchange if any. */
struct http_pss {
    unsigned char *hdr; /* LWS_PRE headroom, then hdr_len bytes of headers */
    size_t hdr_len;
    unsigned char *body; /* LWS_PRE headroom, then len bytes */
    size_t len;
    bool close_after; /* the rest of the request was not read: close after */
    struct vg_http_exchange *x;
};

struct vg_http_server {
    struct lws_context *ctx;
    struct vg_http_handlers h;
    size_t ws_max;
    uint64_t next_id;
    struct vg_http_stats stats;
    struct lws_protocols protocols[3];
    void *loops[1];
    char *web_root; /* realpath */
    char *csp_img_extra;
    int body_timeout_s;
    lws_retry_bo_t idle; /* the vhost's: PING after, close after (liveness, server.h) */
    uint64_t next_exchange;
};

static struct vg_http_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* HTTP answers ----------------------------------------------------------------- */

#define HDR_MAX 2048

static void pss_reset(struct http_pss *pss)
{
    free(pss->hdr);
    free(pss->body);
    pss->hdr = pss->body = NULL;
    pss->hdr_len = pss->len = 0;
    pss->close_after = false;
}

/* Headers every answer carries: the browser must not guess types, and nothing
 * of a case may leak through a Referer. */
static int common_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    static const char nosniff[] = "nosniff", noref[] = "no-referrer";
    return lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                       (const unsigned char *)nosniff, sizeof nosniff - 1, p,
                                       end) ||
           lws_add_http_header_by_name(wsi, (const unsigned char *)"referrer-policy:",
                                       (const unsigned char *)noref, sizeof noref - 1, p, end);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Prepares an answer (headers and body, written when the connection can take
 * them); takes body (malloc'd, may be NULL). */
static int queue_answer(struct lws *wsi, struct http_pss *pss, unsigned status, const char *ctype,
                        char *body, const char *extra_name, const char *extra_value)
{
    size_t len = body ? strlen(body) : 0;
    if (len > HTTP_BODY_MAX) {
        free(body);
        return queue_answer(wsi, pss, HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain",
                            strdup("response too large\n"), NULL, NULL);
    }
    pss->hdr = malloc(LWS_PRE + HDR_MAX);
    pss->body = malloc(LWS_PRE + len + 1);
    if (!pss->hdr || !pss->body) {
        free(body);
        pss_reset(pss);
        return -1;
    }
    memcpy(pss->body + LWS_PRE, body ? body : "", len);
    pss->len = len;
    free(body);
    unsigned char *start = pss->hdr + LWS_PRE, *p = start, *end = start + HDR_MAX - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) || common_headers(wsi, &p, end) ||
        (extra_name && add_header(wsi, extra_name, extra_value, &p, end)) ||
        (pss->close_after && add_header(wsi, "connection:", "close", &p, end)) ||
        lws_finalize_http_header(wsi, &p, end)) {
        pss_reset(pss);
        return -1;
    }
    pss->hdr_len = (size_t)(p - start);
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_respond(struct lws *wsi, struct http_pss *pss, unsigned status, const char *ctype,
                        char *body)
{
    return queue_answer(wsi, pss, status, ctype, body, NULL, NULL);
}

static void exchange_free(struct http_pss *pss, bool responded);

/* Writes the headers, then (on the next writable) the body; then the connection
 * serves its next request, or closes when its request was not read whole. */
static int http_write_answer(struct lws *wsi, struct http_pss *pss)
{
    if (pss->hdr) {
        int n = lws_write(wsi, pss->hdr + LWS_PRE, pss->hdr_len, LWS_WRITE_HTTP_HEADERS);
        bool whole = n >= 0 && (size_t)n == pss->hdr_len;
        free(pss->hdr);
        pss->hdr = NULL;
        if (!whole)
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!pss->body)
        return 0;
    int n = lws_write(wsi, pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL);
    bool whole = n >= 0 && (size_t)n == pss->len, close_after = pss->close_after;
    pss_reset(pss);
    if (pss->x)
        exchange_free(pss, true);
    if (!whole || close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* /api/ exchanges ------------------------------------------------------------- */

static void exchange_free(struct http_pss *pss, bool responded)
{
    struct vg_http_exchange *x = pss->x;
    pss->x = NULL;
    if (!x)
        return;
    if (x->srv->h.api_done)
        x->srv->h.api_done(x, responded, x->srv->h.ud);
    free(x->body);
    free(x->answer);
    free(x);
}

static void bearer_of(struct lws *wsi, char *out, size_t n)
{
    char auth[300];
    out[0] = '\0';
    if (lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
        return;
    if (strncasecmp(auth, "Bearer ", 7) == 0)
        snprintf(out, n, "%s", auth + 7 + strspn(auth + 7, " "));
}

/* lws keeps the query as separate (decoded) "name=value" fragments: joined
 * again with '&'. */
static void query_of(struct lws *wsi, char *out, size_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < 16 && at + 2 < n; i++) {
        char frag[256];
        if (lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        int w = snprintf(out + at, n - at, "%s%s", at ? "&" : "", frag);
        if (w < 0 || (size_t)w >= n - at)
            break;
        at += (size_t)w;
    }
}

static int64_t content_length_of(struct lws *wsi)
{
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    char *end;
    long long v = strtoll(cl, &end, 10);
    return (*end || end == cl || v < 0) ? -1 : (int64_t)v;
}

/* Queues the exchange's answer (taking it). */
static int api_answer(struct lws *wsi, struct http_pss *pss)
{
    struct vg_http_exchange *x = pss->x;
    char *a = x->answer;
    x->answer = NULL;
    return queue_answer(wsi, pss, (unsigned)x->status, "application/json", a, NULL, NULL);
}

/* After api_begin: an answer given before the body was read waits for the body
 * to be read and discarded (up to VG_HTTP_DRAIN_MAX) so the client, still
 * sending, is sure to read it; past that the answer goes now and the
 * connection closes. */
static int api_after_begin(struct lws *wsi, struct http_pss *pss)
{
    struct vg_http_exchange *x = pss->x;
    if (!x)
        return 0; /* answered with a file: lws has it */
    if (!x->answered && !x->body_max) {
        vg_error(NULL, NULL, "http %llu: the API neither answered nor read the body",
                 (unsigned long long)x->id);
        vg_http_respond(x, 500, "{\"error\":\"internal\",\"message\":\"no answer\"}");
    }
    if (!x->answered && x->content_length <= 0)
        vg_http_respond(x, 411,
                        "{\"error\":\"bad_request\",\"message\":\"a body with a "
                        "Content-Length is required\"}");
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, x->srv->body_timeout_s);
    if (!x->answered)
        return 0; /* the body comes next */
    if (x->content_length > 0 && x->content_length <= VG_HTTP_DRAIN_MAX) {
        x->draining = true;
        return 0;
    }
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    pss->close_after = x->content_length > 0;
    return api_answer(wsi, pss);
}

static int api_begin(struct vg_http_server *srv, struct lws *wsi, struct http_pss *pss,
                     const char *method, char *uri)
{
    struct vg_http_exchange *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->wsi = wsi;
    x->srv = srv;
    x->id = ++srv->next_exchange;
    x->content_length = content_length_of(wsi);
    pss->x = x;
    srv->stats.api_requests++;
    char bearer[260], peer[64] = "";
    bearer_of(wsi, bearer, sizeof bearer);
    lws_get_peer_simple(wsi, peer, sizeof peer);
    char query[512];
    query_of(wsi, query, sizeof query);
    struct vg_http_request r = {method, uri, query, bearer, peer, x->content_length};
    if (!srv->h.api_begin)
        vg_http_respond(x, 404, "{\"error\":\"not_found\",\"message\":\"no API here\"}");
    else
        srv->h.api_begin(x, &r, srv->h.ud);
    return api_after_begin(wsi, pss);
}

void vg_http_respond(struct vg_http_exchange *x, int status, const char *json)
{
    if (x->answered || x->killed)
        return;
    x->answer = strdup(json ? json : "");
    x->status = status;
    x->answered = true;
    x->body_max = 0;
    if (x->deferred && !x->in_body) {
        /* Later, from the owner's own callback: nothing of lws's will queue it. */
        x->deferred = false;
        struct lws *wsi = x->wsi;
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        if (api_answer(wsi, lws_wsi_user(wsi)) < 0)
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

void vg_http_defer(struct vg_http_exchange *x)
{
    if (x->in_body && !x->answered)
        x->deferred = true;
}

static const char download_headers[] = "cache-control: no-store\r\n"
                                       "x-content-type-options: nosniff\r\n"
                                       "referrer-policy: no-referrer\r\n"
                                       "content-security-policy: default-src 'none'; sandbox\r\n"
                                       "content-disposition: inline\r\n";

int vg_http_respond_file(struct vg_http_exchange *x, const char *path, const char *content_type)
{
    if (x->answered || x->killed || access(path, R_OK))
        return VG_ENOENT;
    struct lws *wsi = x->wsi;
    struct http_pss *pss = lws_wsi_user(wsi);
    x->answered = true;
    x->body_max = 0;
    x->content_length = 0;
    /* lws streams the file from here on; the exchange ends now for the owner. */
    int n = lws_serve_http_file(wsi, path, content_type, download_headers,
                                (int)sizeof download_headers - 1);
    exchange_free(pss, n >= 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    return VG_OK;
}

void vg_http_want_body(struct vg_http_exchange *x, size_t max)
{
    if (!x->answered)
        x->body_max = max ? max : 1;
}

void vg_http_abort(struct vg_http_exchange *x)
{
    if (x->killed)
        return;
    x->killed = true;
    lws_set_timeout(x->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

uint64_t vg_http_exchange_id(const struct vg_http_exchange *x)
{
    return x->id;
}

void *vg_http_exchange_data(const struct vg_http_exchange *x)
{
    return x->data;
}

void vg_http_exchange_set_data(struct vg_http_exchange *x, void *data)
{
    x->data = data;
}

static int api_body_piece(struct lws *wsi, struct http_pss *pss, const void *in, size_t len)
{
    struct vg_http_exchange *x = pss->x;
    if (!x || x->killed || x->draining)
        return 0;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, x->srv->body_timeout_s);
    if (x->body_len + len > x->body_max) {
        /* More than announced and allowed (lws frames by Content-Length, so this
         * is a chunked body): refuse, and close rather than read on. */
        vg_warn(NULL, NULL, "http %llu: body over %zu bytes: refused", (unsigned long long)x->id,
                x->body_max);
        vg_http_respond(x, 413, "{\"error\":\"too_large\",\"message\":\"body too large\"}");
        x->draining = true;
        pss->close_after = true;
        return api_answer(wsi, pss);
    }
    if (!x->body && !(x->body = malloc(x->body_max)))
        return -1;
    memcpy(x->body + x->body_len, in, len);
    x->body_len += len;
    return 0;
}

static int api_body_done(struct lws *wsi, struct http_pss *pss)
{
    struct vg_http_exchange *x = pss->x;
    if (!x || x->killed || (x->draining && !x->answer))
        return 0;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    if (!x->answered) {
        uint8_t *body = x->body;
        size_t len = x->body_len;
        x->body = NULL;
        x->body_len = 0;
        if (len != (size_t)x->content_length)
            vg_http_respond(x, 400, "{\"error\":\"bad_request\",\"message\":\"short body\"}");
        else {
            x->in_body = true;
            x->srv->h.api_body(x, body ? body : (const uint8_t *)"", len, x->srv->h.ud);
            x->in_body = false;
        }
        free(body);
        if (x->deferred && !x->answered) {
            /* The answer comes later; a connection left waiting past the body
             * timeout closes (the owner hears of it in api_done). */
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, x->srv->body_timeout_s);
            return 0;
        }
        if (!x->answered)
            vg_http_respond(x, 500, "{\"error\":\"internal\",\"message\":\"no answer\"}");
    }
    return api_answer(wsi, pss);
}

/* Static files ----------------------------------------------------------------- */

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
};

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return NULL;
}

/* A URL path we are willing to look up: absolute, no "..", no dot files or
 * directories, no backslash, no percent (lws has decoded escapes already, so a
 * '%' left is a double encoding), no control bytes. */
static bool path_plausible(const char *u)
{
    if (u[0] != '/' || strlen(u) > 512)
        return false;
    for (const char *c = u; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\' || *c == '%')
            return false;
        if (c[0] == '/' && c[1] == '.')
            return false; /* "/..", "/.git", "/.": nothing of that kind is served */
    }
    return true;
}

/* The page policy: everything from this origin only; pictures may also be blob:
 * and data: (uploaded photos, canvas snapshots) and the tile server; media may be
 * local streams; the one connection allowed is back to this host's WSS. */
static void page_csp(struct vg_http_server *srv, struct lws *wsi, char *out, size_t n)
{
    char host[256] = "", wss[300] = "";
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(host))
        snprintf(wss, sizeof wss, " wss://%s", host);
    snprintf(out, n,
             "default-src 'self'; img-src 'self' blob: data:%s%s; "
             "media-src 'self' blob: mediastream:; connect-src 'self'%s; object-src 'none'; "
             "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
             srv->csp_img_extra[0] ? " " : "", srv->csp_img_extra, wss);
}

static int static_refuse(struct vg_http_server *srv, struct lws *wsi, struct http_pss *pss,
                         const char *uri, unsigned status, const char *why)
{
    srv->stats.static_refused++;
    vg_info(NULL, NULL, "http: GET %.200s refused (%u): %s", uri, status, why);
    return http_respond(wsi, pss, status, "text/plain; charset=utf-8",
                        strdup(status == 404 ? "not found\n" : "refused\n"));
}

static int static_file(struct vg_http_server *srv, struct lws *wsi, struct http_pss *pss,
                       const char *uri)
{
    if (!path_plausible(uri))
        return static_refuse(srv, wsi, pss, uri, 400, "not a plain path under the web root");
    char want[PATH_MAX], real[PATH_MAX];
    size_t ul = strlen(uri);
    snprintf(want, sizeof want, "%s%s%s", srv->web_root, uri,
             uri[ul - 1] == '/' ? "index.html" : "");
    struct stat st;
    if (!realpath(want, real) || stat(real, &st))
        return static_refuse(srv, wsi, pss, uri, 404, "no such file");
    size_t rl = strlen(srv->web_root);
    if (strncmp(real, srv->web_root, rl) != 0 || real[rl] != '/')
        return static_refuse(srv, wsi, pss, uri, 404, "resolves outside the web root");
    if (S_ISDIR(st.st_mode)) {
        /* "/citizen" -> "/citizen/", so the page's relative URLs resolve. */
        char loc[600];
        snprintf(loc, sizeof loc, "%s/", uri);
        unsigned char hdr[LWS_PRE + 1024], *p = hdr + LWS_PRE, *end = hdr + sizeof hdr - 1;
        if (lws_http_redirect(wsi, HTTP_STATUS_MOVED_PERMANENTLY, (unsigned char *)loc,
                              (int)strlen(loc), &p, end) < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    const char *type = mime_of(real);
    if (!S_ISREG(st.st_mode) || !type)
        return static_refuse(srv, wsi, pss, uri, 404, "not a file type served");
    /* no-cache: the browser may keep a copy but asks each time, so a page never
     * runs against a stale script after an upgrade. */
    char headers[1400], csp[1000];
    int n = snprintf(headers, sizeof headers,
                     "cache-control: no-cache\r\nx-content-type-options: nosniff\r\n"
                     "referrer-policy: no-referrer\r\n");
    if (strncmp(type, "text/html", 9) == 0) {
        page_csp(srv, wsi, csp, sizeof csp);
        n += snprintf(headers + n, sizeof headers - (size_t)n, "content-security-policy: %s\r\n",
                      csp);
    }
    srv->stats.static_files++;
    int rc = lws_serve_http_file(wsi, real, type, headers, n);
    if (rc < 0 || (rc > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* Routing ------------------------------------------------------------------------ */

static const char *const method_names[] = {"GET",   "POST",   "OPTIONS", "PUT",
                                           "PATCH", "DELETE", "CONNECT", "HEAD"};

static int http_request(struct vg_http_server *srv, struct lws *wsi, struct http_pss *pss)
{
    char *uri_ptr = NULL;
    int uri_len = 0;
    int m = lws_http_get_uri_and_method(wsi, &uri_ptr, &uri_len);
    srv->stats.http_requests++;
    pss_reset(pss);
    if (m < 0 || m >= (int)(sizeof method_names / sizeof method_names[0]) || uri_len <= 0 ||
        uri_len > 1000)
        return http_respond(wsi, pss, 400, "text/plain", strdup("bad request\n"));
    char uri[1024];
    memcpy(uri, uri_ptr, (size_t)uri_len);
    uri[uri_len] = '\0';
    if (strncmp(uri, "/api/", 5) == 0)
        return api_begin(srv, wsi, pss, method_names[m], uri);
    if (m != LWSHUMETH_GET) {
        pss->close_after = content_length_of(wsi) > 0;
        return http_respond(wsi, pss, 405, "text/plain", strdup("only GET is served here\n"));
    }
    if (strcmp(uri, "/healthz") == 0) {
        int status = 200;
        char *body = srv->h.healthz ? srv->h.healthz(srv->h.ud, &status) : NULL;
        return http_respond(wsi, pss, srv->h.healthz ? (unsigned)status : 404, "application/json",
                            body);
    }
    if (strcmp(uri, "/metrics") == 0)
        return http_respond(wsi, pss, srv->h.metrics ? 200 : 404, "text/plain; version=0.0.4",
                            srv->h.metrics ? srv->h.metrics(srv->h.ud) : NULL);
    char *q = strchr(uri, '?');
    if (q)
        *q = '\0';
    return static_file(srv, wsi, pss, uri);
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
    case LWS_CALLBACK_HTTP_BODY: return api_body_piece(wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: return api_body_done(wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE: return http_write_answer(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            exchange_free(pss, false);
            pss_reset(pss);
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
    c->last_rx_us = g_get_monotonic_time();
    lws_validity_confirmed(wsi); /* starts the liveness timer now, not at the first message */
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
    /* Anything from the client proves it is there: no PING needed (lws counts only
     * its PONGs). */
    c->last_rx_us = g_get_monotonic_time();
    lws_validity_confirmed(c->wsi);
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
    /* lws says nothing of why; a connection that goes after the whole dead time in
     * silence went for that (a client closing by itself sends a frame first). */
    int64_t silent_ms = (g_get_monotonic_time() - c->last_rx_us) / 1000;
    if (!c->closing && silent_ms >= (int64_t)srv->idle.secs_since_valid_hangup * 1000 - 100) {
        srv->stats.ws_silent++;
        vg_warn(NULL, NULL, "ws conn=%llu: nothing received for %lld ms, no answer to PING: closed",
                (unsigned long long)c->id, (long long)silent_ms);
    }
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
    case LWS_CALLBACK_RECEIVE_PONG: c->last_rx_us = g_get_monotonic_time(); break;
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

/* No mounts: every HTTP request comes to cb_http, which routes it (so static
 * files get our types, headers and path checks rather than lws's). */
static void fill_tables(struct vg_http_server *srv)
{
    srv->protocols[0] =
        (struct lws_protocols){"http", cb_http, sizeof(struct http_pss), 0, 0, NULL, 0};
    srv->protocols[1] =
        (struct lws_protocols){WS_PROTOCOL, cb_ws, sizeof(struct vg_ws_conn), 4096, 0, NULL, 0};
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
    if (!srv || !(srv->web_root = realpath(cfg->web_root, NULL)) ||
        !(srv->csp_img_extra = strdup(cfg->csp_img_extra ? cfg->csp_img_extra : ""))) {
        if (srv)
            free(srv->web_root);
        free(srv);
        return VG_ENOMEM;
    }
    srv->body_timeout_s = cfg->api_body_timeout_s > 0 ? cfg->api_body_timeout_s : 30;
    srv->h = *h;
    srv->ws_max = cfg->ws_max_message;
    srv->idle.secs_since_valid_ping =
        (uint16_t)(cfg->ws_ping_after_s > 0 ? cfg->ws_ping_after_s : 15);
    srv->idle.secs_since_valid_hangup =
        (uint16_t)(cfg->ws_dead_after_s > 0 ? cfg->ws_dead_after_s : 30);
    if (srv->idle.secs_since_valid_hangup <= srv->idle.secs_since_valid_ping)
        srv->idle.secs_since_valid_hangup = (uint16_t)(srv->idle.secs_since_valid_ping + 1);
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
    info.ssl_cert_filepath = cfg->cert_path;
    info.ssl_private_key_filepath = cfg->key_path;
    /* HTTP/1.1 only: WebSocket over HTTP/2 (RFC 8441) buys nothing here and is the
     * least exercised path in lws 4.1. */
    info.alpn = "http/1.1";
    info.vhost_name = "vigil";
    /* lws re-arms its own body timeout after every piece it reads, from this:
     * it is what bounds a body that stops arriving (and the other network
     * waits: TLS handshake, request headers). */
    info.timeout_secs = (unsigned)srv->body_timeout_s;
    /* Applies to WebSocket connections only: lws 4.1 keeps no validity timer for
     * HTTP/1 (its role has no keepalive to issue). */
    info.retry_and_idle_policy = &srv->idle;
    info.user = srv;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        snprintf(err, errlen, "cannot start HTTPS on %s port %d (certificate %s, key %s)",
                 cfg->listen_addr, cfg->port, cfg->cert_path, cfg->key_path);
        free(srv->web_root);
        free(srv->csp_img_extra);
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
    free(srv->csp_img_extra);
    free(srv);
}
