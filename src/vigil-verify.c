/* vigil-verify: checks a case's recording offline, with only the centre's public
 * key: the manifest's signature, every file's size and SHA-256, every segment's
 * structure and hash chain, that nothing was added; and the audit log's signatures
 * and chain. Given the log alone, also the folder beside it against the log: every
 * recording the log says was sealed is there as signed last, or its deletion under
 * retention is in the log (and no legal hold stood on it then). Prints OK, or one
 * line per missing or altered file; exits 1 then. */
#include "audit.h"
#include "evfmt.h"
#include "evkey.h"
#include "inventory.h"
#include "manifest.h"
#include "vg_err.h"

#include <getopt.h>
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil-verify CASE_DIR [--case CASE_ID] [--key PUB] [--expect-key ID]\n"
            "                    [--audit LOG | --no-audit]\n"
            "       vigil-verify --audit LOG [--key PUB] [--expect-key ID] [--all | --log-only]\n"
            "                    [--anchor LINE:SHA256]...\n"
            "ID: the SHA-256 fingerprint of the centre's key, known from elsewhere (a key\n"
            "beside the evidence could have been replaced along with it).\n"
            "CASE_ID: the case the recording must be of (a folder can be renamed).\n"
            "PUB defaults to CASE_DIR/../../evidence-key.pub; LOG to CASE_DIR/../audit.log\n"
            "(checked when present).\n"
            "With LOG alone: the log, and the evidence folder it is in against it (every\n"
            "recording the log says was sealed is there as signed last, or its deletion is\n"
            "in the log); --all verifies each recording there whole too; --log-only checks\n"
            "the log alone (a copy of it away from the folder).\n"
            "LINE:SHA256: a line of the log and its hash, written down elsewhere (vigild\n"
            "logs one each hour; vigilctl evidence-anchor): the log must still have it.\n"
            "Exit 0: verified; 1: a problem named on stdout; 2: usage.\n");
}

static void report(const char *file, const char *what, void *ud)
{
    const char *prefix = ud;
    printf("FAIL %s%s: %s\n", prefix, file, what);
}

static int verify_audit(const char *log, EVP_PKEY *pub)
{
    unsigned entries = 0;
    int bad = vg_audit_verify(log, pub, report, "", &entries);
    if (!bad)
        printf("OK audit log %s: %u entries, signatures and chain verified\n", log, entries);
    return bad;
}

/* A line of the log known from elsewhere ("LINE:SHA256"): the log must still hold it
 * as it was, so a log cut back before it, or changed up to it, fails (its chain
 * alone cannot tell a log cut back at its end). */
static int check_anchor_line(const char *log, const char *anchor)
{
    char want[65] = "", have[65];
    long long line = 0;
    int used = 0;
    if (sscanf(anchor, "%lld:%64[0-9a-fA-F]%n", &line, want, &used) != 2 || line < 1 ||
        strlen(want) != 64 || anchor[used]) {
        printf("FAIL anchor %s: not LINE:SHA256 (64 hex digits)\n", anchor);
        return 1;
    }
    int64_t lines = 0;
    int rc = vg_audit_hash_at(log, line, &lines, have);
    if (rc == VG_ENOENT) {
        printf("FAIL anchor %lld: the log has only %lld lines: cut back after that line was "
               "written down\n",
               line, (long long)lines);
        return 1;
    }
    if (rc != VG_OK || g_ascii_strcasecmp(have, want) != 0) {
        printf("FAIL anchor %lld: line %lld is not the one written down (%.16s..., the log's is "
               "%.16s...): the log was changed up to it\n",
               line, line, want, rc == VG_OK ? have : "unreadable");
        return 1;
    }
    printf("OK anchor: line %lld of %lld is the one written down: the log up to it is as it "
           "was\n",
           line, (long long)lines);
    return 0;
}

static void say(const char *level, const char *case_id, const char *what, void *ud)
{
    (void)ud;
    printf("%s %s: %s\n", level, case_id, what);
}

/* The folder the log is in, against the log: what a reviewer shows to prove that
 * no recording was removed, or put back in an older version, behind the log's back. */
static int inventory(const char *log, EVP_PKEY *pub, bool all)
{
    char *dir = g_path_get_dirname(log);
    struct vg_inventory inv;
    unsigned bad = vg_inventory_check(dir, log, pub, all, say, NULL, &inv);
    printf("%s inventory of %s: %u recordings named in the audit log: %u there as signed last, "
           "%u deleted under retention, %u problems; %u recordings there the log does not "
           "name\n",
           bad ? "FAIL" : "OK", dir, inv.named, inv.present, inv.deleted, inv.problems,
           inv.unnamed);
    g_free(dir);
    return bad ? 1 : 0;
}

/* The manifest must be the one the audit log last says the centre signed for the
 * case: a manifest replaced by an older signed one (what was added since removed),
 * or signed again behind the centre's back, is not. */
static int check_anchor(const char *dir, const char *case_id, const char *log, EVP_PKEY *pub)
{
    char *base = g_strdup(case_id[0] ? case_id : "?"), have[65], want[65];
    int64_t line = 0;
    int bad = 0;
    if (vg_manifest_sha256(dir, have) != VG_OK) {
        bad = 0; /* missing: reported above */
    } else if (vg_audit_last_seal(log, pub, base, want, &line) != VG_OK) {
        printf("NOTE %s: the audit log names no seal of this case (sealed before seals were "
               "audited, or a crash came between the seal and its entry)\n",
               base);
    } else if (strcmp(have, want) != 0) {
        printf("FAIL %s/manifest.json: not the manifest the centre last signed for this case "
               "(audit log line %lld names %.16s..., this one is %.16s...): replaced or rolled "
               "back\n",
               dir, (long long)line, want, have);
        bad = 1;
    } else {
        printf("OK manifest of %s: the one the audit log (line %lld) says was signed last\n", base,
               (long long)line);
    }
    g_free(base);
    return bad;
}

/* One gap in words: which leg, from when to when (UTC), how long, why. */
static void print_gap(json_t *g)
{
    json_int_t from = json_integer_value(json_object_get(g, "from_us"));
    json_int_t to = json_integer_value(json_object_get(g, "to_us"));
    const char *leg = json_string_value(json_object_get(g, "leg"));
    const char *why = json_string_value(json_object_get(g, "reason"));
    char a[40], b[40], *t = json_dumps(g, JSON_COMPACT);
    printf("  gap: %s from %s to %s (%.1f s): %s%s%s\n",
           leg && strcmp(leg, "all") ? leg : "every leg", vg_ev_utc(from, a, sizeof a),
           vg_ev_utc(to, b, sizeof b), from > 0 && to >= from ? (double)(to - from) / 1e6 : 0.0,
           why && strcmp(why, "vigild_restarted") == 0 ? "vigild was not running (restarted)"
           : why && strcmp(why, "queue_full") == 0     ? "the recorder's queue was full"
                                                       : (why ? why : "?"),
           t ? "; " : "", t ? t : "");
    free(t);
}

/* What a reviewer must be able to tell a court beyond OK: why the recording ended
 * (or stopped early), what was cut at a crash, where packets were lost, what joined
 * it after it closed. From the manifest just verified. */
static void details(const char *dir)
{
    char *p = g_build_filename(dir, "manifest.json", NULL);
    json_t *m = json_load_file(p, 0, NULL);
    g_free(p);
    if (!m)
        return;
    const char *reason = json_string_value(json_object_get(m, "reason"));
    if (reason)
        printf("  reason: %s\n", reason);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(m, "truncated"), i, x)
    {
        char *t = json_dumps(x, JSON_COMPACT);
        printf("  cut at a crash: %s\n", t ? t : "?");
        free(t);
    }
    json_array_foreach(json_object_get(m, "gaps"), i, x) print_gap(x);
    const char *kid = json_string_value(json_object_get(m, "key_id"));
    if (kid)
        printf("  signed by key %s\n", kid);
    json_decref(m);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'},  {"audit", required_argument, 0, 'a'},
        {"no-audit", no_argument, 0, 'n'},   {"expect-key", required_argument, 0, 'e'},
        {"case", required_argument, 0, 'c'}, {"all", no_argument, 0, 'A'},
        {"log-only", no_argument, 0, 'L'},   {"anchor", required_argument, 0, 'N'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *key = NULL, *audit = NULL, *expect = NULL, *want_case = NULL;
    bool no_audit = false, all = false, log_only = false;
    const char *anchors[16];
    int n_anchors = 0;
    int o;
    while ((o = getopt_long(argc, argv, "k:a:ne:c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'A': all = true; break;
        case 'L': log_only = true; break;
        case 'N':
            if (n_anchors == 16) {
                usage(stderr);
                return 2;
            }
            anchors[n_anchors++] = optarg;
            break;
        case 'c': want_case = optarg; break;
        case 'k': key = optarg; break;
        case 'a': audit = optarg; break;
        case 'n': no_audit = true; break;
        case 'e': expect = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *dir = optind < argc ? argv[optind] : NULL;
    if ((!dir && !audit) || optind + (dir ? 1 : 0) != argc || (dir && (all || log_only)) ||
        (all && log_only) || (n_anchors && no_audit)) {
        usage(stderr);
        return 2;
    }
    char *def_key = g_build_filename(dir ? dir : audit, "..", "..", "evidence-key.pub", NULL);
    if (!dir) { /* the log is a file: its directory's parent holds the key */
        char *d = g_path_get_dirname(audit);
        g_free(def_key);
        def_key = g_build_filename(d, "..", "evidence-key.pub", NULL);
        g_free(d);
    }
    EVP_PKEY *pub = NULL;
    int rc = vg_evkey_load_public(key ? key : def_key, &pub);
    if (rc) {
        fprintf(stderr, "vigil-verify: public key %s: %s\n", key ? key : def_key,
                rc == VG_ENOENT ? "not found (give --key)" : "not an Ed25519 public key");
        g_free(def_key);
        return 2;
    }
    g_free(def_key);
    char kid[65] = "";
    vg_evkey_id(pub, kid);
    /* Which key this is: a reviewer compares it with the centre's, known from
     * elsewhere (a key beside the evidence could have been replaced with it). */
    printf("key %s (%s)\n", kid, key ? key : "the one beside the data dir");
    int bad = 0;
    if (expect && g_ascii_strcasecmp(expect, kid) != 0) {
        printf("FAIL key: not the one expected (%s): whatever it verifies was not signed by "
               "that key\n",
               expect);
        bad++;
    }
    struct vg_manifest_summary s = {0};
    if (dir) {
        char *prefix = g_strconcat(dir, "/", NULL);
        bad += vg_manifest_verify(dir, pub, report, prefix, &s);
        g_free(prefix);
        char *folder = g_path_get_basename(dir);
        if (!bad && want_case && strcmp(want_case, s.case_id) != 0) {
            printf("FAIL %s: a recording of case %s, not of %s\n", dir, s.case_id, want_case);
            bad++;
        } else if (!bad && strcmp(folder, s.case_id) != 0) {
            printf("NOTE the folder is named %s; the recording is of case %s\n", folder, s.case_id);
        }
        g_free(folder);
        if (!bad) {
            char a[40], b[40];
            printf("OK case %s: %s, %u files, %u gaps, media from %s to %s (UTC; %lld to %lld us)"
                   "%s\n",
                   s.case_id, s.complete ? "complete" : "INCOMPLETE", s.files, s.gaps,
                   vg_ev_utc(s.started_us, a, sizeof a), vg_ev_utc(s.stopped_us, b, sizeof b),
                   (long long)s.started_us, (long long)s.stopped_us,
                   s.complete ? "" : ": not everything was recorded (the reason below)");
            details(dir);
        }
    }
    char *def_audit = dir ? g_build_filename(dir, "..", "audit.log", NULL) : NULL;
    const char *log = audit ? audit : def_audit;
    if (!no_audit && log && (audit || g_file_test(log, G_FILE_TEST_EXISTS))) {
        bad += verify_audit(log, pub);
        if (dir && s.case_id[0]) /* the manifest's id, not the folder's */
            bad += check_anchor(dir, s.case_id, log, pub);
        for (int i = 0; i < n_anchors; i++)
            bad += check_anchor_line(log, anchors[i]);
        if (!dir && !log_only)
            bad += inventory(log, pub, all);
    } else if (n_anchors) { /* asked for, and no log to hold them against: not an OK */
        printf("FAIL anchor: no audit log at %s to check it against (give --audit)\n", log);
        bad++;
    } else if (dir && !no_audit) {
        /* a copy of a case alone has none; said, so an OK is not read as more */
        printf("NOTE no audit log at %s: not checked that this manifest is the one the centre "
               "signed last (a rolled-back recording passes without it; give --audit)\n",
               log);
    }
    g_free(def_audit);
    vg_evkey_free(pub);
    return bad ? 1 : 0;
}
