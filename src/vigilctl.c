/* vigilctl: manage staff accounts in a data dir's store.
 *
 * Works on the store file directly (SQLite in WAL mode takes a writer beside a
 * running vigild), so it needs no running daemon and no network. Generated
 * passwords are printed once and stored only as scrypt hashes. */
#include "accounts.h"
#include "audit.h"
#include "case_store.h"
#include "evfmt.h"
#include "evkey.h"
#include "log.h"
#include "msg.h"
#include "store.h"
#include "team_store.h"
#include "vg_err.h"
#include "vtime.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: vigilctl --data-dir DIR account add NAME [--role ROLE]\n"
               "       vigilctl --data-dir DIR account list\n"
               "       vigilctl --data-dir DIR account disable|enable NAME\n"
               "       vigilctl --data-dir DIR account reset-password NAME\n"
               "       vigilctl --data-dir DIR group add|remove GROUP ACCOUNT\n"
               "       vigilctl --data-dir DIR group list [GROUP]\n"
               "       vigilctl --data-dir DIR block list\n"
               "       vigilctl --data-dir DIR block lift PHONE --reason TEXT --actor NAME\n"
               "       vigilctl --data-dir DIR evidence-key   (prints the public key, PEM)\n"
               "       vigilctl --data-dir DIR evidence-anchor [--evidence-dir EVDIR]\n"
               "                (the audit log's last line and hash: write it down elsewhere)\n"
               "       vigilctl --data-dir DIR evidence-hold place|lift CASE_ID --reason TEXT\n"
               "                --actor NAME [--evidence-dir EVDIR]   (a legal hold: the\n"
               "                recording is kept past its retention until it is lifted)\n"
               "       vigilctl --data-dir DIR evidence-holds [--evidence-dir EVDIR]\n"
               "       vigilctl --data-dir DIR evidence-audit ACTION CASE_ID --actor NAME\n"
               "                [--evidence-dir EVDIR]   (the recordings' dir when [evidence] dir\n"
               "                is set; DIR/evidence by default)\n"
               "ROLE is call_taker (default), specialist, supervisor or evidence.\n");
}

static int print_account(const struct vg_account *a, void *ud)
{
    (void)ud;
    printf("%-24s %-12s %-9s %s\n", a->name, a->role, a->disabled ? "disabled" : "active",
           a->created_at);
    return 0;
}

static int fail(const char *what, const char *name, int rc)
{
    fprintf(stderr, "vigilctl: %s %s: %s\n", what, name ? name : "", vg_strerror(rc));
    return 1;
}

static int cmd_add(struct vg_store *st, const char *name, const char *role)
{
    if (!vg_store_role_valid(role)) {
        fprintf(stderr, "vigilctl: unknown role \"%s\"\n", role);
        return 2;
    }
    char pw[VG_GENERATED_PASSWORD_LEN + 1];
    int rc = vg_accounts_create(st, name, role, pw, sizeof pw);
    if (rc == VG_EINVAL) {
        fprintf(stderr, "vigilctl: account name \"%s\": use 1-64 letters, digits, . _ -\n", name);
        return 1;
    }
    if (rc)
        return fail("cannot add account", name, rc);
    printf("account %s (%s) created; password: %s\n", name, role, pw);
    OPENSSL_cleanse(pw, sizeof pw);
    return 0;
}

static int cmd_reset(struct vg_store *st, const char *name)
{
    char pw[VG_GENERATED_PASSWORD_LEN + 1];
    int rc = vg_accounts_reset(st, name, pw, sizeof pw);
    if (rc)
        return fail("cannot reset password of", name, rc);
    printf("account %s: new password: %s\n", name, pw);
    OPENSSL_cleanse(pw, sizeof pw);
    return 0;
}

static int run(struct vg_store *st, int argc, char **argv, const char *role)
{
    const char *verb = argv[0], *name = argc > 1 ? argv[1] : NULL;
    if (strcmp(verb, "list") == 0 && argc == 1)
        return vg_store_account_list(st, print_account, NULL) ? fail("cannot list", NULL, VG_EIO)
                                                              : 0;
    if (!name || argc != 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(verb, "add") == 0)
        return cmd_add(st, name, role);
    if (strcmp(verb, "reset-password") == 0)
        return cmd_reset(st, name);
    if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
        int rc = vg_store_account_set_disabled(st, name, verb[0] == 'd');
        if (rc)
            return fail("cannot change account", name, rc);
        printf("account %s %sd\n", name, verb);
        return 0;
    }
    usage(stderr);
    return 2;
}

static int print_member(const char *group, const char *account, void *ud)
{
    (void)ud;
    printf("%s\t%s\n", group, account);
    return 0;
}

/* Specialist groups a call-taker can invite into a case (household, traffic, ...). */
static int run_group(struct vg_store *st, int argc, char **argv)
{
    const char *verb = argv[0];
    if (strcmp(verb, "list") == 0 && argc <= 2) {
        int rc = vg_store_group_members(st, argc == 2 ? argv[1] : NULL, print_member, NULL);
        return rc ? fail("cannot list group", argc == 2 ? argv[1] : NULL, rc) : 0;
    }
    if (argc != 3 || (strcmp(verb, "add") && strcmp(verb, "remove"))) {
        usage(stderr);
        return 2;
    }
    const char *group = argv[1], *account = argv[2];
    struct vg_account a;
    if (strlen(group) > 64 || !*group)
        return fail("group names are 1-64 bytes:", group, VG_EINVAL);
    if (verb[0] == 'a' && vg_store_account_get(st, account, &a, NULL, 0))
        return fail("no such account", account, VG_ENOENT);
    int rc = verb[0] == 'a' ? vg_store_group_add_member(st, group, account, vg_wall_us())
                            : vg_store_group_remove_member(st, group, account);
    if (rc)
        return fail("cannot change group", group, rc);
    printf("group %s: %s %s\n", group, account, verb[0] == 'a' ? "added" : "removed");
    return 0;
}

/* Blocked callers: the blocks in force, and lifting one (as a supervisor's console
 * does; who and why go in the block's row and the log). PHONE as the list prints it. */
static int print_block(const struct vg_block_row *b, void *ud)
{
    (void)ud;
    char at[32], until[32];
    vg_rfc3339(b->created_us, at, sizeof at);
    vg_rfc3339(b->expires_us, until, sizeof until);
    printf("%-18s %-24s until %-24s by %-16s %s\n", b->phone, at, until, b->created_by, b->reason);
    return 0;
}

static int run_block(struct vg_store *st, int argc, char **argv, const char *reason,
                     const char *actor)
{
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        int rc = vg_store_block_list(st, vg_wall_us(), 100000, print_block, NULL);
        return rc ? fail("cannot list blocks", NULL, rc) : 0;
    }
    if (argc != 2 || strcmp(argv[0], "lift") != 0) {
        usage(stderr);
        return 2;
    }
    char phone[VG_PHONE_MAX + 1];
    if (!reason || !*reason || strlen(reason) > 200 || !actor || !*actor || strlen(actor) > 64) {
        fprintf(stderr, "vigilctl: block lift needs --reason TEXT and --actor NAME\n");
        return 2;
    }
    if (vg_phone_normalize(argv[1], phone, sizeof phone))
        return fail("not a phone number:", argv[1], VG_EINVAL);
    int rc = vg_store_block_lift(st, phone, actor, reason, vg_wall_us());
    if (rc == VG_ENOENT) {
        fprintf(stderr, "vigilctl: %s is not blocked (write it as block list prints it)\n", phone);
        return 1;
    }
    if (rc)
        return fail("cannot lift the block of", phone, rc);
    printf("block of %s lifted by %s: %s\n", phone, actor, reason);
    return 0;
}

/* The public half of the centre's evidence key, for whoever verifies recordings
 * (vigil-verify --key). vigild writes it at its first start. */
static int print_evidence_key(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/evidence-key.pub", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vigilctl: %s: not found (vigild creates it at its first start)\n", path);
        return 1;
    }
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

/* The audit log's last line and its hash, to be written down where the log's holder
 * cannot reach it (a paper record, a supervisor's mail): vigil-verify --anchor then
 * fails the log if it was cut back before that line or changed up to it. */
static int evidence_anchor(const char *dir, const char *evdir)
{
    char log_path[PATH_MAX + 32], hex[65];
    if (evdir)
        snprintf(log_path, sizeof log_path, "%s/audit.log", evdir);
    else
        snprintf(log_path, sizeof log_path, "%s/evidence/audit.log", dir);
    int64_t seq = 0;
    if (vg_audit_head(log_path, &seq, hex) != VG_OK) {
        fprintf(stderr, "vigilctl: %s: no audit log, or no whole entry in it\n", log_path);
        return 1;
    }
    char when[40];
    printf("%s at %s: line %lld, sha256 %s\n"
           "check later with: vigil-verify --audit %s --anchor %lld:%s\n",
           log_path, vg_ev_utc(vg_wall_us(), when, sizeof when), (long long)seq, hex, log_path,
           (long long)seq, hex);
    return 0;
}

static void audit_log_path(const char *dir, const char *evdir, char *out, size_t n)
{
    if (evdir)
        snprintf(out, n, "%s/audit.log", evdir);
    else
        snprintf(out, n, "%s/evidence/audit.log", dir);
}

/* Appends one entry to the evidence audit log, signed with the centre's key. The
 * log must already be there: vigild creates it with the recordings' dir, so a
 * missing one means a wrong --evidence-dir, and a new chain there would be an
 * audit log no one reads. 0, or 1 with the reason said. */
static int append_entry(const char *dir, const char *log_path, const char *actor,
                        const char *action, const char *case_id, const char *result,
                        const char *detail)
{
    char key_path[PATH_MAX + 32], err[300];
    snprintf(key_path, sizeof key_path, "%s/evidence-key.pem", dir);
    if (access(log_path, W_OK) != 0) {
        fprintf(stderr, "vigilctl: %s: no audit log there (is the recordings' dir right?)\n",
                log_path);
        return 1;
    }
    EVP_PKEY *key = NULL;
    struct vg_audit *log = NULL;
    if (access(key_path, R_OK) != 0 || vg_evkey_load_or_create(key_path, &key, err, sizeof err)) {
        fprintf(stderr, "vigilctl: %s: cannot read the evidence key\n", key_path);
        return 1;
    }
    int rc = vg_audit_open(log_path, key, &log, err, sizeof err);
    if (!rc)
        rc = vg_audit_append(log, vg_wall_us(), actor, "operator", action, case_id, result, detail);
    vg_audit_free(log);
    vg_evkey_free(key);
    if (rc) {
        fprintf(stderr, "vigilctl: %s: the audit entry could not be written\n", log_path);
        return 1;
    }
    return 0;
}

/* For what happens outside vigild: vigil-export runs this before it exports a case
 * from the data dir, and refuses to export if it fails. */
static int evidence_audit(const char *dir, const char *evdir, const char *action,
                          const char *case_id, const char *actor)
{
    char log_path[PATH_MAX + 32];
    audit_log_path(dir, evdir, log_path, sizeof log_path);
    if (strcmp(action, "legal_hold") == 0) { /* its entries are holds (audit.h) */
        fprintf(stderr, "vigilctl: a legal hold is placed with evidence-hold place\n");
        return 2;
    }
    if (append_entry(dir, log_path, actor, action, case_id, "allowed", NULL))
        return 1;
    printf("audited: %s %s %s\n", actor, action, case_id);
    return 0;
}

/* The public key vigild wrote beside the private one: only entries it verifies count. */
static EVP_PKEY *evidence_pub(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/evidence-key.pub", dir);
    EVP_PKEY *pub = NULL;
    if (vg_evkey_load_public(path, &pub) != VG_OK) {
        fprintf(stderr, "vigilctl: %s: cannot read the evidence key\n", path);
        return NULL;
    }
    return pub;
}

/* Places or lifts a legal hold on a case's recording (audit.h): from the host, beside
 * a running vigild, whose next retention sweep reads it from the log. */
static int evidence_hold(const char *dir, const char *evdir, const char *what, const char *case_id,
                         const char *actor, const char *reason)
{
    bool place = strcmp(what, "place") == 0;
    if ((!place && strcmp(what, "lift") != 0) || !actor || !*actor || strlen(actor) > 64 ||
        !reason || !*reason || strlen(reason) > 500) {
        fprintf(stderr, "vigilctl: evidence-hold place|lift CASE_ID needs --reason TEXT (the "
                        "order or case it is held for) and --actor NAME\n");
        return 2;
    }
    if (!vg_audit_hold_name_ok(case_id)) {
        fprintf(stderr, "vigilctl: \"%s\" is not a case id (c- and hex, as vigild names them)\n",
                case_id);
        return 2;
    }
    char log_path[PATH_MAX + 32], rec[PATH_MAX + 80];
    audit_log_path(dir, evdir, log_path, sizeof log_path);
    snprintf(rec, sizeof rec, "%.*s/%s", (int)(strrchr(log_path, '/') - log_path), log_path,
             case_id);
    struct stat st;
    if (place && (stat(rec, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "vigilctl: %s: no recording of that case there\n", rec);
        return 1;
    }
    EVP_PKEY *pub = evidence_pub(dir);
    if (!pub)
        return 1;
    int64_t line = 0;
    int rc = 0;
    if (!place && vg_audit_held(log_path, pub, case_id, &line) != VG_OK) {
        fprintf(stderr, "vigilctl: no legal hold stands on %s\n", case_id);
        rc = 1;
    } else {
        json_t *d = json_pack("{s:s}", "reason", reason);
        char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
        rc = append_entry(dir, log_path, actor, "legal_hold", case_id, place ? "placed" : "lifted",
                          detail);
        free(detail);
        json_decref(d);
    }
    bool held = vg_audit_held(log_path, pub, case_id, &line) == VG_OK;
    if (!rc && place && held)
        printf("legal hold on %s placed by %s (audit log line %lld): kept until lifted\n", case_id,
               actor, (long long)line);
    else if (!rc && !place && !held)
        printf("legal hold on %s lifted by %s: its retention applies again\n", case_id, actor);
    else if (!rc) { /* written, yet the log does not say so: another key signed it? */
        fprintf(stderr, "vigilctl: the entry was written but the log does not read as it "
                        "should: check evidence-key.pub against evidence-key.pem\n");
        rc = 1;
    }
    vg_evkey_free(pub);
    return rc;
}

struct holds_walk {
    const char *log;
    EVP_PKEY *pub;
    unsigned n;
};

/* The entry on line `line` of the log (its JSON, without the signature, which the
 * walk that named the line has checked), or NULL. */
static json_t *entry_at(const char *log, int64_t line)
{
    FILE *f = fopen(log, "r");
    char *buf = NULL;
    size_t cap = 0;
    json_t *e = NULL;
    for (int64_t n = 1; f && getline(&buf, &cap, f) > 0; n++) {
        if (n == line) {
            char *tab = strchr(buf, '\t');
            e = json_loadb(buf, tab ? (size_t)(tab - buf) : strlen(buf), 0, NULL);
            break;
        }
    }
    free(buf);
    if (f)
        fclose(f);
    return e;
}

/* Prints text with control characters as '?': a reason cannot fake a row. */
static void print_plain(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

static void print_hold(const struct vg_audit_case *k, void *ud)
{
    struct holds_walk *w = ud;
    if (!k->hold_line)
        return;
    json_t *e = entry_at(w->log, k->hold_line); /* the entry that placed it */
    char when[40] = "?";
    if (e)
        vg_ev_utc(json_integer_value(json_object_get(e, "at_us")), when, sizeof when);
    const char *by = json_string_value(json_object_get(e, "actor"));
    const char *why = json_string_value(json_object_get(json_object_get(e, "detail"), "reason"));
    printf("%-24s line %-8lld %s by ", k->case_id, (long long)k->hold_line, when);
    print_plain(by ? by : "?");
    putchar(' ');
    print_plain(why ? why : "");
    putchar('\n');
    json_decref(e);
    w->n++;
}

/* The holds standing, as the log says. */
static int evidence_holds(const char *dir, const char *evdir)
{
    char log_path[PATH_MAX + 32];
    audit_log_path(dir, evdir, log_path, sizeof log_path);
    EVP_PKEY *pub = evidence_pub(dir);
    if (!pub)
        return 1;
    struct holds_walk w = {log_path, pub, 0};
    int rc = vg_audit_cases(log_path, pub, print_hold, &w);
    vg_evkey_free(pub);
    if (rc) {
        fprintf(stderr, "vigilctl: %s: %s\n", log_path,
                rc == VG_ENOENT ? "no audit log" : "cannot be read");
        return 1;
    }
    if (!w.n)
        printf("no legal hold stands\n");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, 0, 'd'},
                                         {"role", required_argument, 0, 'r'},
                                         {"actor", required_argument, 0, 'a'},
                                         {"evidence-dir", required_argument, 0, 'e'},
                                         {"reason", required_argument, 0, 'R'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *role = "call_taker", *actor = NULL, *evdir = NULL, *reason = NULL;
    int o;
    /* GNU getopt permutes, so options may also follow the subcommand
     * ("account add bob --role supervisor"). */
    while ((o = getopt_long(argc, argv, "d:r:a:e:R:h", opts, NULL)) != -1) {
        if (o == 'd')
            dir = optarg;
        else if (o == 'R')
            reason = optarg;
        else if (o == 'a')
            actor = optarg;
        else if (o == 'e')
            evdir = optarg;
        else if (o == 'r')
            role = optarg;
        else {
            usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? 0 : 2;
        }
    }
    if (dir && optind + 1 == argc && strcmp(argv[optind], "evidence-key") == 0)
        return print_evidence_key(dir);
    if (dir && optind + 1 == argc && strcmp(argv[optind], "evidence-anchor") == 0)
        return evidence_anchor(dir, evdir);
    if (dir && optind + 1 == argc && strcmp(argv[optind], "evidence-holds") == 0)
        return evidence_holds(dir, evdir);
    if (dir && optind + 3 == argc && strcmp(argv[optind], "evidence-hold") == 0)
        return evidence_hold(dir, evdir, argv[optind + 1], argv[optind + 2], actor, reason);
    if (dir && optind + 3 == argc && strcmp(argv[optind], "evidence-audit") == 0) {
        if (!actor || !*actor || strlen(actor) > 64) {
            fprintf(stderr, "vigilctl: evidence-audit needs --actor NAME (who does it)\n");
            return 2;
        }
        return evidence_audit(dir, evdir, argv[optind + 1], argv[optind + 2], actor);
    }
    bool group = optind < argc && strcmp(argv[optind], "group") == 0;
    bool block = optind < argc && strcmp(argv[optind], "block") == 0;
    if (!dir || optind + 2 > argc || (strcmp(argv[optind], "account") != 0 && !group && !block)) {
        usage(stderr);
        return 2;
    }
    vg_log_set_level(VG_LOG_WARN);
    char path[PATH_MAX + 16], err[512];
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    bool fresh = access(path, F_OK) != 0;
    struct vg_store *st;
    if (vg_store_open(path, &st, err, sizeof err)) {
        fprintf(stderr, "vigilctl: %s\n", err);
        return 1;
    }
    /* Accounts may be made before vigild's first start; but a mistyped --data-dir
     * would make a store nobody reads, and a login that mysteriously fails. */
    if (fresh)
        fprintf(stderr,
                "vigilctl: there was no store in %s: a new one was made (vigild must "
                "use this --data-dir)\n",
                dir);
    int rc = group   ? run_group(st, argc - optind - 1, argv + optind + 1)
             : block ? run_block(st, argc - optind - 1, argv + optind + 1, reason, actor)
                     : run(st, argc - optind - 1, argv + optind + 1, role);
    vg_store_close(st);
    return rc;
}
