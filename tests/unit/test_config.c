/* Config files: every error names the file, the line and the key. */
#include "config.h"
#include "vg_err.h"
#include "vt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/vigil-test-config-XXXXXX";

static int load(const char *text, struct vg_config *c, char *err, size_t n)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    vg_config_defaults(c);
    err[0] = '\0';
    return vg_config_load(c, path, err, n);
}

static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *want; /* after "PATH" */
    } v[] = {
        {"[server]\nlisten = 127.0.0.1\n", ":2: [server] listen: \"127.0.0.1\" must be"},
        {"[server]\nlisten = 127.0.0.1:99999\n", ":2: [server] listen:"},
        {"[server]\nlisten = example.org:80\n", ":2: [server] listen:"},
        {"# c\n[log]\n\nlevel = loud\n", ":4: [log] level: \"loud\" must be debug, info"},
        {"[signaling]\nmax_message_bytes = 12\n", ":2: [signaling] max_message_bytes: \"12\" must "
                                                  "be a whole number in range (1024-1048576)"},
        {"[signaling]\nmax_message_bytes = 4k\n", ":2: [signaling] max_message_bytes:"},
        {"[server]\nlisen = 127.0.0.1:1\n", ":2: [server] lisen: unknown key"},
        {"[log]\nlevel=info\n[srever]\nlisten=1\n", ":3: unknown group [srever]"},
        {"[server]\njust words\n", ":2: expected \"key = value\", got \"just words\""},
        {"level = info\n", ":1: key outside any [group]"},
        {"[server\nlisten=1\n", ":1: malformed group header \"[server\""},
        {"[accounts]\nfirst_call_taker =\n",
         ":2: [accounts] first_call_taker: \"\" has the wrong length"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct vg_config c;
        char err[512], want[600];
        int rc = load(v[i].text, &c, err, sizeof err);
        snprintf(want, sizeof want, "%s%s", path, v[i].want);
        VT_EQ_INT(rc, VG_EINVAL);
        if (strncmp(err, want, strlen(want)) != 0)
            fprintf(stderr, "vector %zu: got  %s\n           want %s...\n", i, err, want);
        VT_CHECK(strncmp(err, want, strlen(want)) == 0);
    }
}

static void test_values(void)
{
    struct vg_config c;
    char err[512];
    VT_EQ_INT(load("# all keys\n[server]\nlisten = [::1]:9443\ndata_dir = /srv/vigil\n"
                   "web_root=/srv/web\n[tls]\ncertificate = /c.pem\nkey = /k.pem\n"
                   "[log]\nlevel = debug\n[signaling]\nmax_message_bytes = 2048\n"
                   "[accounts]\nfirst_call_taker = desk1\n",
                   &c, err, sizeof err),
              VG_OK);
    VT_EQ_STR(c.listen_addr, "::1");
    VT_EQ_INT(c.listen_port, 9443);
    VT_EQ_STR(c.data_dir, "/srv/vigil");
    VT_EQ_STR(c.web_root, "/srv/web");
    VT_EQ_STR(c.tls_cert, "/c.pem");
    VT_EQ_INT(c.log_level, VG_LOG_DEBUG);
    VT_EQ_INT(c.ws_max_message, 2048);
    VT_EQ_STR(c.first_call_taker, "desk1");
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_OK);

    /* An empty file keeps every default. */
    VT_EQ_INT(load("", &c, err, sizeof err), VG_OK);
    VT_EQ_STR(c.listen_addr, "127.0.0.1");
    VT_EQ_INT(c.listen_port, 8443);
    VT_EQ_INT(c.ws_max_message, 65536);

    /* certificate without key */
    VT_EQ_INT(load("[tls]\ncertificate = /c.pem\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[tls] certificate and key must be given together");
    /* A connection must be PINGed before it is given up on. */
    VT_EQ_INT(load("", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(c.ws_ping_after_s, 15);
    VT_EQ_INT(c.ws_dead_after_s, 30);
    VT_EQ_INT(c.holder_grace_s, 20);
    VT_EQ_INT(c.callback_window_h, 72);
    /* The console's one-click messages: the default set, a centre's own, bad lists. */
    char quick[VG_QUICK_MAX][VG_QUICK_LEN + 1];
    VT_EQ_INT(vg_config_quick_messages(c.quick_messages, quick), 6);
    VT_EQ_STR(quick[0], "Are you safe now?");
    VT_EQ_INT(vg_config_quick_messages(c.quick_messages_zh, quick), 6);
    VT_EQ_STR(quick[2], "您受伤了吗？");
    VT_EQ_INT(
        load("[console]\nquick_messages = Bist du sicher?|Ja oder Nein\n", &c, err, sizeof err),
        VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_quick_messages(c.quick_messages, quick), 2);
    VT_EQ_STR(quick[1], "Ja oder Nein");
    VT_EQ_INT(load("[console]\nquick_messages_zh = 安全吗？|是\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_quick_messages(c.quick_messages_zh, quick), 2);
    VT_EQ_STR(quick[1], "是");
    VT_EQ_INT(load("[console]\nquick_messages_zh = 安全吗？||是\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "quick_messages_zh");
    VT_EQ_INT(vg_config_quick_messages("", quick), 0);
    VT_EQ_INT(vg_config_quick_messages("a||b", quick), -1);
    VT_EQ_INT(vg_config_quick_messages("a|", quick), -1);
    VT_EQ_INT(vg_config_quick_messages("|a", quick), -1);
    VT_EQ_INT(vg_config_quick_messages("1|2|3|4|5|6|7|8|9|10|11|12", quick), 12);
    VT_EQ_INT(vg_config_quick_messages("1|2|3|4|5|6|7|8|9|10|11|12|13", quick), -1);
    char longer[VG_QUICK_LEN + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    VT_EQ_INT(vg_config_quick_messages(longer, NULL), -1);
    longer[VG_QUICK_LEN] = '\0';
    VT_EQ_INT(vg_config_quick_messages(longer, NULL), 1);
    VT_EQ_INT(load("[console]\nquick_messages = a||b\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[console] quick_messages");
    VT_EQ_INT(load("[queue]\ncallback_window_h = 0\n", &c, err, sizeof err), VG_EINVAL);
    VT_EQ_INT(load("[queue]\ncallback_window_h = 24\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(c.callback_window_h, 24);
    VT_EQ_INT(load("[signaling]\nping_after_s = 20\ndead_after_s = 20\n", &c, err, sizeof err),
              VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[signaling] dead_after_s (20) must be more than ping_after_s (20)");
    /* Media servers and addresses: checked at start, not at every call's media. */
    VT_EQ_INT(load("[media]\nstun_server = stun.example.org:3478\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[media] stun_server \"stun.example.org:3478\"");
    VT_EQ_INT(load("[media]\nstun_server = 192.0.2.7:3478\naddresses = 127.0.0.1, ::1\n", &c, err,
                   sizeof err),
              VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_OK);
    VT_EQ_INT(load("[media]\naddresses = 127.0.0.1, not-an-ip\n", &c, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[media] addresses: \"not-an-ip\"");
    VT_EQ_INT(load("[media]\nturn_server = turn.example.org\nturn_username = u\n"
                   "turn_password = p\n",
                   &c, err, sizeof err),
              VG_OK);
    VT_EQ_INT(vg_config_check(&c, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "[media] turn_server");
}

static void test_listen(void)
{
    char a[64];
    int p;
    VT_EQ_INT(vg_config_parse_listen("127.0.0.1:8443", a, sizeof a, &p), VG_OK);
    VT_EQ_STR(a, "127.0.0.1");
    VT_EQ_INT(p, 8443);
    VT_EQ_INT(vg_config_parse_listen("[::1]:1", a, sizeof a, &p), VG_OK);
    VT_EQ_STR(a, "::1");
    const char *bad[] = {
        "",       ":80",     "127.0.0.1:",   "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
        "::1:80", "[::1:80", "localhost:80", "1.2.3:4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        VT_EQ_INT(vg_config_parse_listen(bad[i], a, sizeof a, &p), VG_EINVAL);
}

static void test_example_file(void)
{
    /* conf/vigil.conf, the commented example, must load and change nothing. */
    struct vg_config c, d;
    char err[512], p[4096];
    snprintf(p, sizeof p, "%s/conf/vigil.conf", getenv("VIGIL_SOURCE_ROOT"));
    vg_config_defaults(&c);
    vg_config_defaults(&d);
    VT_EQ_INT(vg_config_load(&c, p, err, sizeof err), VG_OK);
    VT_CHECK(memcmp(&c, &d, sizeof c) == 0);

    /* ... and lists every key of the table, commented, under its group. */
    FILE *f = fopen(p, "r");
    static char text[65536];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    const char *group, *name;
    int listed = 0, keys = 0;
    for (size_t i = 0; (name = vg_config_key(i, &group)); i++) {
        char head[64], line[96];
        snprintf(head, sizeof head, "\n[%s]\n", group);
        snprintf(line, sizeof line, "\n#%s =", name);
        const char *g = strstr(text, head), *k = g ? strstr(g, line) : NULL;
        const char *next = g ? strstr(g + 1, "\n[") : NULL;
        bool ok = k && (!next || k < next);
        if (!ok)
            fprintf(stderr, "conf/vigil.conf does not list [%s] %s\n", group, name);
        listed += ok;
        keys++;
    }
    printf("conf/vigil.conf lists %d of %d keys\n", listed, keys);
    VT_EQ_INT(listed, keys);
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    test_errors();
    test_values();
    test_listen();
    if (getenv("VIGIL_SOURCE_ROOT"))
        test_example_file();
    else
        VT_CHECK(!"VIGIL_SOURCE_ROOT must be set (meson test sets it)");
    struct vg_config c;
    char err[512];
    unlink(path);
    VT_EQ_INT(vg_config_load(&c, path, err, sizeof err), VG_EINVAL);
    VT_CONTAINS(err, "cannot read");
    return vt_done("config");
}
