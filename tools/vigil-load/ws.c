/* WebSocket client over libwebsockets 4.1 with its GLib event loop plugin: the only
 * file of the load generator that includes libwebsockets. */
#include "ws.h"

#include "ice.h"
#include "vg_err.h"

#include <glib.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

struct vg_ws {
    struct lws *wsi;
    struct vg_ws_callbacks cb;
    void *ud;
    bool open, closed;
    GQueue out; /* GByteArray*, LWS_PRE headroom then text */
    GByteArray *in;
};

static struct lws_context *g_ctx;
static void *g_loops[1];

static void closed(struct vg_ws *w, const char *why)
{
    w->wsi = NULL;
    if (w->closed)
        return;
    w->closed = true;
    if (w->cb.on_close)
        w->cb.on_close(why, w->ud);
}

static int write_one(struct vg_ws *w)
{
    GByteArray *m = g_queue_pop_head(&w->out);
    if (!m)
        return 0;
    size_t len = m->len - LWS_PRE;
    int n = lws_write(w->wsi, m->data + LWS_PRE, len, LWS_WRITE_TEXT);
    g_byte_array_free(m, TRUE);
    if (n < (int)len)
        return -1;
    if (!g_queue_is_empty(&w->out))
        lws_callback_on_writable(w->wsi);
    return 0;
}

static void receive(struct vg_ws *w, const void *in, size_t len)
{
    if (w->in->len + len > VG_WS_MAX_MESSAGE) {
        g_byte_array_set_size(w->in, 0);
        return;
    }
    g_byte_array_append(w->in, in, (guint)len);
    if (!lws_is_final_fragment(w->wsi) || lws_remaining_packet_payload(w->wsi))
        return;
    g_byte_array_append(w->in, (const guint8 *)"", 1);
    if (w->cb.on_message)
        w->cb.on_message((const char *)w->in->data, w->in->len - 1, w->ud);
    g_byte_array_set_size(w->in, 0);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    /* The loop polls with epoll (vg_ice_loop): a socket closed here whose fd
     * number a new connection takes must not look like the old one. */
    if (reason == LWS_CALLBACK_WSI_DESTROY)
        vg_ice_sockets_changed();
    struct vg_ws *w = lws_get_opaque_user_data(wsi);
    if (!w)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->open = true;
        if (w->cb.on_open)
            w->cb.on_open(w->ud);
        if (w->wsi && !g_queue_is_empty(&w->out))
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: receive(w, in, len); break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: return write_one(w);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lws_set_opaque_user_data(wsi, NULL);
        closed(w, in ? (const char *)in : "connection error");
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        closed(w, "closed");
        break;
    default: break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"vigil-load", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int vg_ws_global_init(GMainLoop *loop)
{
    lws_set_log_level(LLL_ERR, NULL);
    g_loops[0] = loop;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = g_loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* One fd per signalling connection: two per call, and Janus's and Vigil's tests
     * go to a few hundred calls. */
    info.fd_limit_per_thread = 4096;
    g_ctx = lws_create_context(&info);
    return g_ctx ? VG_OK : VG_EIO;
}

void vg_ws_global_done(void)
{
    if (g_ctx)
        lws_context_destroy(g_ctx);
    g_ctx = NULL;
}

int vg_ws_connect(const char *host, int port, const char *path, bool tls, const char *subprotocol,
                  const struct vg_ws_callbacks *cb, void *ud, struct vg_ws **out)
{
    struct vg_ws *w = g_new0(struct vg_ws, 1);
    w->cb = *cb;
    w->ud = ud;
    w->in = g_byte_array_new();
    g_queue_init(&w->out);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g_ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = subprotocol;
    ci.local_protocol_name = "vigil-load";
    ci.ssl_connection = tls ? LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
                                  LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE |
                                  LCCSCF_ALLOW_EXPIRED
                            : 0;
    ci.opaque_user_data = w;
    ci.pwsi = &w->wsi;
    *out = w;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    vg_ice_sockets_changed(); /* its socket, if it has one yet; see callback() */
    if (!wsi && !w->closed) {
        w->closed = true;
        return VG_EIO;
    }
    return VG_OK;
}

int vg_ws_send(struct vg_ws *w, const char *text, size_t len)
{
    if (w->closed)
        return VG_ESTATE;
    if (g_queue_get_length(&w->out) >= VG_WS_MAX_QUEUE)
        return VG_ENOSPC;
    GByteArray *m = g_byte_array_sized_new((guint)(LWS_PRE + len));
    g_byte_array_set_size(m, LWS_PRE);
    g_byte_array_append(m, (const guint8 *)text, (guint)len);
    g_queue_push_tail(&w->out, m);
    if (w->open && w->wsi)
        lws_callback_on_writable(w->wsi);
    return VG_OK;
}

void vg_ws_free(struct vg_ws *w)
{
    if (!w)
        return;
    if (w->wsi) {
        lws_set_opaque_user_data(w->wsi, NULL);
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    GByteArray *m;
    while ((m = g_queue_pop_head(&w->out)))
        g_byte_array_free(m, TRUE);
    g_byte_array_free(w->in, TRUE);
    g_free(w);
}
