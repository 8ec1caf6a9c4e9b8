#include "hooks.h"

#include "log.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ATTEMPTS 3
#define HTTP_TIMEOUT_S 5
#define COMMAND_TIMEOUT_MS 10000

struct batch {
    int pending;
    bool ok;
    void (*done)(bool ok, void *ud);
    void *ud;
};

struct job {
    struct batch *batch;
    const char *label; /* static */
    bool quiet;
    char *url, *command, *body;
    int attempt, attempts; /* tries so far, and at most */
    /* HTTP */
    GSocketClient *client;
    GSocketConnection *conn;
    char *request;
    char reply[64];
    /* command */
    GPid pid;
    guint kill_timer;
};

static void job_try(struct job *j);

static void batch_one_done(struct batch *b, bool ok)
{
    b->ok = b->ok && ok;
    if (--b->pending == 0) {
        b->done(b->ok, b->ud);
        g_free(b);
    }
}

static gboolean retry_cb(gpointer ud)
{
    job_try(ud);
    return G_SOURCE_REMOVE;
}

static void job_free(struct job *j)
{
    g_clear_object(&j->conn);
    g_clear_object(&j->client);
    g_free(j->request);
    g_free(j->url);
    g_free(j->command);
    g_free(j->body);
    g_free(j);
}

void vg_hooks_name(const char *url, const char *command, char *out, size_t n)
{
    GUri *uri = url && *url ? g_uri_parse(url, G_URI_FLAGS_NONE, NULL) : NULL;
    if (uri) {
        int port = g_uri_get_port(uri);
        snprintf(out, n, "http://%s%s%.0d%s", g_uri_get_host(uri), port > 0 ? ":" : "",
                 port > 0 ? port : 0, g_uri_get_path(uri));
        g_uri_unref(uri);
    } else if (url && *url) {
        snprintf(out, n, "(an unparsable URL)");
    } else {
        snprintf(out, n, "%.*s", (int)strcspn(command ? command : "", " \t"),
                 command ? command : "");
    }
}

static void hook_name(const struct job *j, char *out, size_t n)
{
    vg_hooks_name(j->url, j->command, out, n);
}

/* One attempt finished: succeed, retry later, or give up. */
static void job_result(struct job *j, bool ok, const char *why)
{
    char what[300];
    hook_name(j, what, sizeof what);
    g_clear_object(&j->conn);
    g_clear_object(&j->client);
    if (ok && j->quiet) {
        vg_debug(NULL, NULL, "%s %s delivered (attempt %d)", j->label, what, j->attempt);
    } else if (ok) {
        vg_info(NULL, NULL, "%s %s delivered (attempt %d)", j->label, what, j->attempt);
    } else if (j->attempts == 1) {
        vg_info(NULL, NULL, "check %s said no: %s", what, why); /* an answer, not a fault */
    } else if (j->attempt < j->attempts) {
        vg_warn(NULL, NULL, "%s %s failed (attempt %d of %d): %s; retrying", j->label, what,
                j->attempt, j->attempts, why);
        g_timeout_add(j->attempt == 1 ? 1000 : 4000, retry_cb, j);
        return;
    } else {
        vg_error(NULL, NULL, "%s %s failed %d times, giving up: %s", j->label, what, j->attempts,
                 why);
    }
    struct batch *b = j->batch;
    job_free(j);
    batch_one_done(b, ok);
}

/* HTTP --------------------------------------------------------------------------- */

static void http_read_cb(GObject *src, GAsyncResult *res, gpointer ud)
{
    struct job *j = ud;
    GError *e = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &e);
    if (n <= 0) {
        job_result(j, false, e ? e->message : "no reply");
        g_clear_error(&e);
        return;
    }
    j->reply[n < (gssize)sizeof j->reply ? n : (gssize)sizeof j->reply - 1] = '\0';
    bool ok = strncmp(j->reply, "HTTP/1.", 7) == 0 && strlen(j->reply) > 9 && j->reply[9] == '2';
    char why[80];
    snprintf(why, sizeof why, "answered \"%.20s\"", j->reply);
    job_result(j, ok, why);
}

static void http_written_cb(GObject *src, GAsyncResult *res, gpointer ud)
{
    struct job *j = ud;
    GError *e = NULL;
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &e)) {
        job_result(j, false, e->message);
        g_error_free(e);
        return;
    }
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(j->conn));
    g_input_stream_read_async(in, j->reply, sizeof j->reply - 1, G_PRIORITY_DEFAULT, NULL,
                              http_read_cb, j);
}

static void http_connected_cb(GObject *src, GAsyncResult *res, gpointer ud)
{
    struct job *j = ud;
    GError *e = NULL;
    j->conn = g_socket_client_connect_to_uri_finish(G_SOCKET_CLIENT(src), res, &e);
    if (!j->conn) {
        job_result(j, false, e->message);
        g_error_free(e);
        return;
    }
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(j->conn));
    g_output_stream_write_all_async(out, j->request, strlen(j->request), G_PRIORITY_DEFAULT, NULL,
                                    http_written_cb, j);
}

static void http_try(struct job *j)
{
    GUri *uri = g_uri_parse(j->url, G_URI_FLAGS_HAS_PASSWORD, NULL);
    if (!uri) {
        job_result(j, false, "bad URL");
        return;
    }
    /* The whole target, query included (a gateway's key or recipient often rides
     * there), and a user:password in the URL as Basic authorization. */
    const char *path = g_uri_get_path(uri), *query = g_uri_get_query(uri);
    const char *user = g_uri_get_user(uri), *pass = g_uri_get_password(uri);
    int port = g_uri_get_port(uri);
    char *auth = NULL;
    if (user && *user) {
        char *pair = g_strdup_printf("%s:%s", user, pass ? pass : "");
        char *b64 = g_base64_encode((const guchar *)pair, strlen(pair));
        auth = g_strdup_printf("Authorization: Basic %s\r\n", b64);
        g_free(b64);
        g_free(pair);
    }
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s%s%.0d", g_uri_get_host(uri),
             port > 0 && port != 80 ? ":" : "", port > 0 && port != 80 ? port : 0);
    g_free(j->request);
    j->request = g_strdup_printf("POST %s%s%s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: "
                                 "application/json\r\nContent-Length: %zu\r\nConnection: "
                                 "close\r\n\r\n%s",
                                 path && *path ? path : "/", query ? "?" : "", query ? query : "",
                                 hostport, auth ? auth : "", strlen(j->body), j->body);
    g_free(auth);
    g_uri_unref(uri);
    j->client = g_socket_client_new();
    g_socket_client_set_timeout(j->client, HTTP_TIMEOUT_S);
    g_socket_client_connect_to_uri_async(j->client, j->url, 80, NULL, http_connected_cb, j);
}

/* Command -------------------------------------------------------------------------- */

static gboolean command_kill_cb(gpointer ud)
{
    struct job *j = ud;
    j->kill_timer = 0;
    kill(j->pid, SIGKILL);
    return G_SOURCE_REMOVE;
}

static void command_exit_cb(GPid pid, gint status, gpointer ud)
{
    struct job *j = ud;
    g_spawn_close_pid(pid);
    bool killed = j->kill_timer == 0;
    if (j->kill_timer)
        g_source_remove(j->kill_timer);
    j->kill_timer = 0;
    GError *e = NULL;
    bool ok = g_spawn_check_wait_status(status, &e);
    job_result(j, ok && !killed, killed ? "timed out" : e ? e->message : "");
    g_clear_error(&e);
}

static void command_try(struct job *j)
{
    gchar **argv = NULL;
    GError *e = NULL;
    gint in_fd = -1;
    if (!g_shell_parse_argv(j->command, NULL, &argv, &e) ||
        !g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                                  NULL, NULL, &j->pid, &in_fd, NULL, NULL, &e)) {
        g_strfreev(argv);
        job_result(j, false, e->message);
        g_error_free(e);
        return;
    }
    g_strfreev(argv);
    /* The body is a few hundred bytes, well under a pipe's buffer: this write does
     * not block even if the command never reads. */
    ssize_t w = write(in_fd, j->body, strlen(j->body));
    (void)w;
    close(in_fd);
    j->kill_timer = g_timeout_add(COMMAND_TIMEOUT_MS, command_kill_cb, j);
    g_child_watch_add(j->pid, command_exit_cb, j);
}

static void job_try(struct job *j)
{
    j->attempt++;
    if (j->url)
        http_try(j);
    else
        command_try(j);
}

bool vg_hooks_run(const char *label, bool quiet, const char *url, const char *command,
                  const char *body, void (*done)(bool ok, void *ud), void *ud)
{
    const char *what[2] = {url && *url ? url : NULL, command && *command ? command : NULL};
    if (!what[0] && !what[1])
        return false;
    struct batch *b = g_new0(struct batch, 1);
    b->ok = true;
    b->done = done;
    b->ud = ud;
    b->pending = (what[0] != NULL) + (what[1] != NULL);
    for (int i = 0; i < 2; i++) {
        if (!what[i])
            continue;
        struct job *j = g_new0(struct job, 1);
        j->batch = b;
        j->label = label;
        j->quiet = quiet;
        j->body = g_strdup(body);
        j->attempts = ATTEMPTS;
        if (i == 0)
            j->url = g_strdup(what[i]);
        else
            j->command = g_strdup(what[i]);
        job_try(j);
    }
    return true;
}

bool vg_hooks_check(const char *command, const char *body, void (*done)(bool ok, void *ud),
                    void *ud)
{
    if (!command || !*command)
        return false;
    struct batch *b = g_new0(struct batch, 1);
    b->ok = true;
    b->done = done;
    b->ud = ud;
    b->pending = 1;
    struct job *j = g_new0(struct job, 1);
    j->batch = b;
    j->label = "check";
    j->body = g_strdup(body);
    j->command = g_strdup(command);
    j->attempts = 1;
    job_try(j);
    return true;
}
