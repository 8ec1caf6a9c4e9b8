#include "app.h"

#include "accounts.h"
#include "config.h"
#include "datadir.h"
#include "hub.h"
#include "policy.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "service.h"
#include "store.h"
#include "tlscert.h"
#include "vg_err.h"
#include "vtime.h"

#include <getopt.h>
#include <glib-unix.h>
#include <glib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct flags;

struct app {
    struct vg_config cfg;
    const char *config_path;
    struct vg_store *store;
    struct vg_policy *policy;
    struct vg_hub *hub;
    struct vg_http_server *http;
    GMainLoop *loop;
    int64_t started_us;
    int64_t ws_open;
    int lock_fd;               /* the data dir's vigild.lock, held while we run */
    const struct flags *flags; /* the command line's, applied again over a reload */
};

struct flags {
    const char *config, *data_dir, *listen, *log_level, *web_root;
    int check_only;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vigild [--config FILE] [--data-dir DIR] [--listen ADDR:PORT]\n"
               "              [--log-level debug|info|warn|error] [--web-root DIR]\n"
               "              [--check-config] [--version]\n"
               "Flags override the config file; every setting has a default "
               "(see conf/vigil.conf).\n");
}

/* Returns -1 to go on, or an exit status. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"data-dir", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"web-root", required_argument, 0, 'w'},
                                         {"check-config", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "c:d:l:L:w:khV", opts, NULL)) != -1) {
        switch (o) {
        case 'c': f->config = optarg; break;
        case 'd': f->data_dir = optarg; break;
        case 'l': f->listen = optarg; break;
        case 'L': f->log_level = optarg; break;
        case 'w': f->web_root = optarg; break;
        case 'k': f->check_only = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("vigild %s\n", VG_VERSION); return 0;
        default:
            fprintf(stderr, "vigild: %s option %s (see --help)\n",
                    optopt && strchr("cdlLw", optopt) ? "missing value for" : "unknown",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigild: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* Builds the configuration: defaults, then the file, then the flags. */
static int load_config(struct vg_config *c, const struct flags *f, char *err, size_t n)
{
    vg_config_defaults(c);
    if (f->config && vg_config_load(c, f->config, err, n))
        return VG_EINVAL;
    if (f->listen &&
        vg_config_parse_listen(f->listen, c->listen_addr, sizeof c->listen_addr, &c->listen_port)) {
        snprintf(err, n, "--listen %s: must be ADDRESS:PORT with an IP address and a port",
                 f->listen);
        return VG_EINVAL;
    }
    if (f->log_level && vg_log_parse_level(f->log_level, &c->log_level)) {
        snprintf(err, n, "--log-level %s: must be debug, info, warn or error", f->log_level);
        return VG_EINVAL;
    }
    if (f->data_dir)
        snprintf(c->data_dir, sizeof c->data_dir, "%s", f->data_dir);
    if (f->web_root)
        snprintf(c->web_root, sizeof c->web_root, "%s", f->web_root);
    return vg_config_check(c, err, n);
}

/* HTTP and WebSocket handlers ------------------------------------------------ */

/* 503 while the store cannot write (a full disk: every alarm would be refused) or
 * cannot be read: a monitoring system must not see "ok" then. */
static char *healthz(void *ud, int *status)
{
    struct app *a = ud;
    int64_t active = -1;
    bool read_ok = vg_store_cases_active(a->store, &active) == VG_OK;
    bool write_failing = vg_store_writes_failing(a->store, NULL);
    const char *problem = !read_ok ? "the store cannot be read"
                          : write_failing
                              ? "the store cannot write (disk full?): alarms are refused"
                              : NULL;
    if (problem)
        *status = 503;
    return g_strdup_printf("{\"status\":\"%s\",%s%s%s\"version\":\"%s\",\"uptime_s\":%lld,"
                           "\"cases_active\":%lld,\"schema_version\":%d,\"ws_connections\":%lld}",
                           problem ? "failing" : "ok", problem ? "\"problem\":\"" : "",
                           problem ? problem : "", problem ? "\"," : "", VG_VERSION,
                           (long long)((vg_now_us() - a->started_us) / 1000000), (long long)active,
                           vg_store_schema_version(a->store), (long long)a->ws_open);
}

static void metric(GString *s, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                           v);
}

static void hub_metrics(GString *s, struct vg_hub *hub)
{
    struct vg_hub_stats st;
    vg_hub_get_stats(hub, &st);
    metric(s, "vigil_requests_total", "counter", "Client requests received.", st.requests);
    metric(s, "vigil_requests_refused_total", "counter", "Requests answered with an error.",
           st.refused);
    metric(s, "vigil_requests_forbidden_total", "counter",
           "Requests refused because the sender's role or case did not allow them.", st.forbidden);
    metric(s, "vigil_messages_throttled_total", "counter",
           "Client messages over the rate limit (the client was slowed).", st.throttled);
    metric(s, "vigil_clients_flood_cut_total", "counter", "Clients disconnected for flooding.",
           st.cut);
    metric(s, "vigil_alarms_total", "counter", "Alarms started.", st.alarms);
    metric(s, "vigil_claims_total", "counter", "Alarms answered.", st.claims);
    metric(s, "vigil_escalations_total", "counter", "Alarms escalated as unanswered.",
           st.escalations);
    metric(s, "vigil_holders_lost_total", "counter",
           "Answered cases whose holder's console was gone past [queue] holder_grace_s "
           "(taken over by a specialist on the call, or requeued).",
           st.holders_lost);
    metric(s, "vigil_alerts_total", "counter", "Supervisor alerts raised.", st.alerts);
    metric(s, "vigil_alert_hooks_failed_total", "counter",
           "Alerts whose hooks failed after every retry.", st.hooks_failed);
    metric(s, "vigil_uploads_completed_total", "counter", "Citizen uploads completed.",
           st.uploads_completed);
    metric(s, "vigil_uploads_dropped_total", "counter",
           "Uploads dropped (type refused, over a limit, stale, I/O).", st.uploads_dropped);
    metric(s, "vigil_upload_requests_refused_total", "counter",
           "Upload and download requests answered with an error.", st.uploads_refused);
    metric(s, "vigil_upload_bytes_total", "counter", "Upload bytes committed to disk.",
           st.upload_bytes);
    metric(s, "vigil_staff_online", "gauge", "Staff sessions logged in.",
           (unsigned long long)st.staff_online);
    metric(s, "vigil_cases_live", "gauge", "Cases queued, offered or answered.",
           (unsigned long long)vg_hub_cases_live(hub));
}

static char *metrics(void *ud)
{
    struct app *a = ud;
    struct vg_http_stats hs;
    vg_http_server_stats(a->http, &hs);
    int64_t active = 0;
    vg_store_cases_active(a->store, &active);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "# HELP vigil_build_info Version of the running vigild.\n"
                           "# TYPE vigil_build_info gauge\n"
                           "vigil_build_info{version=\"%s\"} 1\n",
                           VG_VERSION);
    metric(s, "vigil_uptime_seconds", "gauge", "Seconds since vigild started.",
           (unsigned long long)((vg_now_us() - a->started_us) / 1000000));
    metric(s, "vigil_cases_active", "gauge", "Cases neither ended nor abandoned.",
           (unsigned long long)active);
    metric(s, "vigil_http_api_requests_total", "counter", "HTTP requests (pages, API, health).",
           hs.http_requests);
    metric(s, "vigil_http_upload_api_requests_total", "counter", "Requests under /api/.",
           hs.api_requests);
    metric(s, "vigil_http_static_files_total", "counter", "Static files served.", hs.static_files);
    metric(s, "vigil_http_static_refused_total", "counter",
           "Static file requests refused (missing, outside the web root, bad path).",
           hs.static_refused);
    metric(s, "vigil_ws_connections", "gauge", "Open WebSocket connections.",
           (unsigned long long)a->ws_open);
    metric(s, "vigil_ws_connections_total", "counter", "WebSocket connections accepted.",
           hs.ws_open);
    metric(s, "vigil_ws_messages_received_total", "counter", "Whole messages received.",
           hs.ws_messages_in);
    metric(s, "vigil_ws_messages_sent_total", "counter", "Messages sent.", hs.ws_messages_out);
    metric(s, "vigil_ws_messages_oversize_total", "counter",
           "Messages refused for exceeding the size limit.", hs.ws_oversize);
    metric(s, "vigil_ws_clients_cut_total", "counter",
           "Connections cut because their client did not read.", hs.ws_cut_slow);
    metric(s, "vigil_ws_silent_closed_total", "counter",
           "Connections closed because nothing came from the client, not even a PONG, for "
           "[signaling] dead_after_s.",
           hs.ws_silent);
    hub_metrics(s, a->hub);
    uint64_t store_errors = 0;
    vg_store_writes_failing(a->store, &store_errors);
    metric(s, "vigil_store_write_errors_total", "counter",
           "Store writes that failed (a full or failing disk); /healthz is 503 while the last "
           "one failed.",
           store_errors);
    vg_hub_media_metrics(a->hub, s);
    return g_string_free(s, FALSE);
}

/* WebSocket events go to the hub; the app only counts connections. */

static void ws_open(struct vg_ws_conn *c, void *ud)
{
    struct app *a = ud;
    a->ws_open++;
    vg_debug(NULL, NULL, "ws conn=%llu: open", (unsigned long long)vg_ws_conn_id(c));
    vg_hub_ws_open(a->hub, c);
}

static void ws_close(struct vg_ws_conn *c, void *ud)
{
    struct app *a = ud;
    a->ws_open--;
    vg_debug(NULL, NULL, "ws conn=%llu: closed", (unsigned long long)vg_ws_conn_id(c));
    vg_hub_ws_close(a->hub, c);
}

static void ws_message(struct vg_ws_conn *c, const char *text, size_t len, void *ud)
{
    vg_hub_ws_message(((struct app *)ud)->hub, c, text, len);
}

static void ws_oversize(struct vg_ws_conn *c, size_t len, void *ud)
{
    vg_hub_ws_oversize(((struct app *)ud)->hub, c, len);
}

static void api_begin(struct vg_http_exchange *x, const struct vg_http_request *r, void *ud)
{
    vg_hub_api_begin(((struct app *)ud)->hub, x, r);
}

static void api_body(struct vg_http_exchange *x, const uint8_t *body, size_t len, void *ud)
{
    vg_hub_api_body(((struct app *)ud)->hub, x, body, len);
}

static void api_done(struct vg_http_exchange *x, bool responded, void *ud)
{
    vg_hub_api_done(((struct app *)ud)->hub, x, responded);
}

/* The tile server's origin for the pages' img-src ("" when tiles come from this
 * host or there are none); a "{s}" subdomain placeholder becomes a wildcard. */
static void tile_origin(const char *url, char *out, size_t n)
{
    out[0] = '\0';
    const char *host = strstr(url, "://");
    if (!host)
        return;
    size_t len = strcspn(host + 3, "/") + (size_t)(host + 3 - url);
    char origin[512];
    snprintf(origin, sizeof origin, "%.*s", (int)len, url);
    char *ph = strstr(origin, "{s}");
    if (ph) {
        *ph = '*';
        memmove(ph + 1, ph + 3, strlen(ph + 3) + 1);
    }
    if (!strpbrk(origin, "{}"))
        snprintf(out, n, "%s", origin);
}

/* Signals --------------------------------------------------------------------- */

static gboolean on_stop(gpointer ud)
{
    struct app *a = ud;
    vg_service_notify("STOPPING=1");
    vg_info(NULL, NULL, "stopping on signal");
    g_main_loop_quit(a->loop);
    return G_SOURCE_CONTINUE;
}

static void note_restart_needed(const struct vg_config *old, const struct vg_config *new)
{
    struct vg_config applied = *old;
    applied.log_level = new->log_level;
    applied.ws_max_message = new->ws_max_message;
    applied.rate_per_s = new->rate_per_s;
    applied.rate_burst = new->rate_burst;
    if (memcmp(&applied, new, sizeof applied) != 0)
        vg_warn(NULL, NULL,
                "reload: only [log] level and [signaling] max_message_bytes, rate_per_s "
                "and rate_burst apply at once; the other changes take effect after a restart");
}

static void reload(struct app *a)
{
    if (!a->config_path) {
        vg_info(NULL, NULL, "reload: no config file given, nothing to reload");
        return;
    }
    struct vg_config next;
    char err[512];
    /* The file again, and the command line over it as at start (a --log-level given
     * there is not lost to the file's). */
    if (load_config(&next, a->flags, err, sizeof err)) {
        vg_error(NULL, NULL, "reload refused, keeping the running config: %s", err);
        return;
    }
    note_restart_needed(&a->cfg, &next);
    a->cfg.log_level = next.log_level;
    a->cfg.ws_max_message = next.ws_max_message;
    a->cfg.rate_per_s = next.rate_per_s; /* new connections */
    a->cfg.rate_burst = next.rate_burst;
    vg_http_server_set_ws_max(a->http, (size_t)next.ws_max_message);
    vg_log_set_level(next.log_level);
    vg_info(NULL, NULL, "reload: config %s applied", a->config_path);
}

/* The service manager hears of a reload and of its end, applied or refused. */
static gboolean on_reload(gpointer ud)
{
    /* MONOTONIC_USEC: when, as systemd 253's notify-reload wants it (older ones ignore it) */
    char state[64];
    snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long)g_get_monotonic_time());
    vg_service_notify(state);
    reload(ud);
    vg_service_notify("READY=1");
    return G_SOURCE_CONTINUE;
}

/* Start-up -------------------------------------------------------------------- */

static int open_store(struct app *a, char *err, size_t n)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/vigil.db", a->cfg.data_dir);
    if (vg_store_open(path, &a->store, err, n))
        return VG_EIO;
    char password[VG_GENERATED_PASSWORD_LEN + 1];
    int rc = vg_accounts_bootstrap(a->store, a->cfg.first_call_taker, password, sizeof password);
    if (rc < 0) {
        snprintf(err, n, "cannot create the first call-taker account: %s", vg_strerror(rc));
        return rc;
    }
    if (rc == 1) {
        printf("vigild: first start: created call-taker account \"%s\" with password %s\n"
               "vigild: this password is shown only once; to set a new one run: "
               "vigilctl --data-dir %s account reset-password %s\n",
               a->cfg.first_call_taker, password, a->cfg.data_dir, a->cfg.first_call_taker);
        OPENSSL_cleanse(password, sizeof password);
        vg_info(NULL, NULL, "first start: call-taker account %s created", a->cfg.first_call_taker);
    }
    return VG_OK;
}

/* Each call holds about four fds: per leg a UDP socket and the eventfd of the
 * leg's own context (media/ice/loop.c), plus the WebSockets and the recording's
 * files. A service started with the common soft limit of 1,024 would refuse new
 * legs past ~200 calls, so the soft limit is raised to the hard one, as far as the
 * system allows; a low result is said once serving (start-up errors stay one line),
 * not found in an emergency. *was gets the limit before. */
static unsigned long long raise_fd_limit(unsigned long long *was)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return *was = 0;
    rlim_t before = r.rlim_cur;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            r.rlim_cur = before;
    }
    *was = before == RLIM_INFINITY ? ~0ULL : (unsigned long long)before;
    return r.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)r.rlim_cur;
}

static void log_fd_limit(unsigned long long lim, unsigned long long was)
{
    if (lim && lim < 4096)
        vg_warn(NULL, NULL,
                "open files: up to %llu (was %llu): about %llu concurrent calls at most", lim, was,
                lim / 4);
    else if (lim)
        vg_info(NULL, NULL, "open files: up to %llu (was %llu)", lim, was);
}

/* The store holds callers' numbers and locations and the staff's password hashes:
 * the data dir is the service's alone (a dir made beforehand, as `mkdir -p` does, is
 * 0755), and everything created in it is too (umask, set in vg_app_main()). */
static int private_data_dir(const char *dir, char *err, size_t n)
{
    struct stat st;
    if (stat(dir, &st) != 0 || (st.st_mode & 077) == 0)
        return VG_OK;
    if (chmod(dir, st.st_mode & 0700) != 0) {
        snprintf(err, n, "data dir %.900s: others may read it (mode %o), not made 0700: %s", dir,
                 (unsigned)(st.st_mode & 0777), strerror(errno));
        return VG_EPERM;
    }
    vg_warn(NULL, NULL, "data dir %s: others could read it (mode %o): made 0700", dir,
            (unsigned)(st.st_mode & 0777));
    return VG_OK;
}

static int start(struct app *a, char *err, size_t n)
{
    char cert[PATH_MAX], key[PATH_MAX], fp[100];
    unsigned long long fd_was, fd_lim = raise_fd_limit(&fd_was);
    /* The port first: a busy port must not leave a half-made data dir behind. */
    int rc = vg_http_server_probe(a->cfg.listen_addr, a->cfg.listen_port, err, n);
    if (rc || (rc = vg_datadir_prepare(a->cfg.data_dir, err, n)) ||
        (rc = vg_datadir_lock(a->cfg.data_dir, &a->lock_fd, err, n)) ||
        (rc = private_data_dir(a->cfg.data_dir, err, n)) ||
        (rc = vg_tls_ensure(&a->cfg, cert, key, sizeof cert, fp, sizeof fp, err, n)) ||
        (rc = open_store(a, err, n)))
        return rc;
    char tiles[512];
    tile_origin(a->cfg.tile_url, tiles, sizeof tiles);
    struct vg_http_config hc = {.listen_addr = a->cfg.listen_addr,
                                .port = a->cfg.listen_port,
                                .cert_path = cert,
                                .key_path = key,
                                .web_root = a->cfg.web_root,
                                .ws_max_message = (size_t)a->cfg.ws_max_message,
                                .api_body_timeout_s = a->cfg.upload_chunk_timeout_s,
                                .ws_ping_after_s = a->cfg.ws_ping_after_s,
                                .ws_dead_after_s = a->cfg.ws_dead_after_s,
                                .csp_img_extra = tiles};
    struct vg_http_handlers h = {.healthz = healthz,
                                 .metrics = metrics,
                                 .ws_open = ws_open,
                                 .ws_message = ws_message,
                                 .ws_oversize = ws_oversize,
                                 .ws_close = ws_close,
                                 .api_begin = api_begin,
                                 .api_body = api_body,
                                 .api_done = api_done,
                                 .ud = a};
    if ((rc = vg_hub_new(a->store, a->policy, &a->cfg, &a->hub, err, n)) ||
        (rc = vg_http_server_start(&hc, &h, a->loop, &a->http, err, n)))
        return rc;
    const char *l = a->cfg.listen_addr;
    const char *lb = strchr(l, ':') ? "[" : "", *rb = strchr(l, ':') ? "]" : "";
    printf("vigild %s listening on https://%s%s%s:%d/\n"
           "  citizen page: https://%s%s%s:%d/citizen/\n"
           "  console:      https://%s%s%s:%d/console/\n"
           "  TLS certificate SHA-256 %s\n",
           VG_VERSION, lb, l, rb, a->cfg.listen_port, lb, l, rb, a->cfg.listen_port, lb, l, rb,
           a->cfg.listen_port, fp);
    fflush(stdout);
    vg_info(NULL, NULL, "vigild %s serving on %s port %d, data dir %s", VG_VERSION, l,
            a->cfg.listen_port, a->cfg.data_dir);
    log_fd_limit(fd_lim, fd_was);
    return VG_OK;
}

/* The service manager's watchdog (service.h): fed from the main loop every quarter of
 * the interval, so a loop stuck in a call or a lock stops it; and only while no media
 * worker has left a ping unrun for half the interval. One feed withheld is not yet a
 * restart (the next, a quarter later, may go); a worker stuck for about half the
 * interval and more is: vigild is killed and started again (conf/vigild.service:
 * Restart=always), and its live cases come back from the store. Every call on the
 * stuck worker has lost its media already; the others lose theirs for the restart. */
static gboolean feed_watchdog(gpointer ud)
{
    struct app *a = ud;
    int64_t stall = vg_hub_media_stall_us(a->hub), wd = vg_service_watchdog_us();
    if (stall >= wd / 2) {
        vg_error(NULL, NULL, "watchdog not fed: a media worker has not run for %lld ms",
                 (long long)(stall / 1000));
        return G_SOURCE_CONTINUE;
    }
    vg_service_notify("WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static void serve_notified(struct app *a)
{
    char status[200];
    snprintf(status, sizeof status, "READY=1\nSTATUS=serving on %s port %d", a->cfg.listen_addr,
             a->cfg.listen_port);
    int rc = vg_service_notify(status);
    if (rc < 0)
        vg_warn(NULL, NULL, "could not tell the service manager we are ready (NOTIFY_SOCKET): %s",
                rc == VG_EINVAL ? "not a socket path or @name of a usable length"
                                : g_strerror(errno));
    int64_t wd = vg_service_watchdog_us();
    if (wd <= 0)
        return;
    guint every_ms = (guint)(wd / 4000) ? (guint)(wd / 4000) : 1;
    g_timeout_add(every_ms, feed_watchdog, a);
    vg_info(NULL, NULL, "service manager watchdog: fed every %u ms", every_ms);
}

int vg_app_main(int argc, char **argv)
{
    struct flags f = {0};
    int status = parse_flags(argc, argv, &f);
    if (status >= 0)
        return status;
    struct app a = {.config_path = f.config, .started_us = vg_now_us(), .lock_fd = -1, .flags = &f};
    umask(077); /* what vigild creates (store, keys, recordings) is the service's alone */
    char err[1024];
    if (load_config(&a.cfg, &f, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        return 1;
    }
    if (vg_policy_load(&a.cfg, &a.policy, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        return 1;
    }
    if (f.check_only) {
        vg_policy_free(a.policy);
        printf("vigild: configuration OK\n");
        return 0;
    }
    vg_log_set_level(a.cfg.log_level);
    a.loop = g_main_loop_new(NULL, FALSE);
    if (start(&a, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        status = 1;
    } else {
        g_unix_signal_add(SIGTERM, on_stop, &a);
        g_unix_signal_add(SIGINT, on_stop, &a);
        g_unix_signal_add(SIGHUP, on_reload, &a);
        serve_notified(&a);
        g_main_loop_run(a.loop);
        status = 0;
    }
    vg_http_server_stop(a.http); /* closes every connection: the hub sees them go */
    vg_hub_free(a.hub);
    vg_policy_free(a.policy);
    vg_store_close(a.store);
    if (a.lock_fd >= 0)
        close(a.lock_fd); /* after the store: the next vigild may start now */
    g_main_loop_unref(a.loop);
    if (status == 0)
        vg_info(NULL, NULL, "stopped cleanly");
    return status;
}
