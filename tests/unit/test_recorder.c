/* The recorder with real files in a temp dir: a recording closed and verified, a
 * byte changed and named, a full queue recorded as a gap with an alert, a crashed
 * recording (torn last record) closed as incomplete at the next open, the audit
 * log's chain, retention. */
#include "audit.h"
#include "evfmt.h"
#include "evidence.h"
#include "evkey.h"
#include "manifest.h"
#include "vg_err.h"
#include "vt.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

static char root[256];
static int alerts;
static char problems[2048];

static void on_alert(const char *case_id, const char *kind, const char *detail, void *ud)
{
    (void)ud;
    printf("alert %s %s %s\n", case_id, kind, detail);
    alerts++;
}

static void report(const char *file, const char *what, void *ud)
{
    (void)ud;
    size_t n = strlen(problems);
    snprintf(problems + n, sizeof problems - n, "%s: %s\n", file, what);
}

static struct vg_evidence *open_ev(unsigned queue)
{
    char dir[300], key[300], err[300] = "";
    snprintf(dir, sizeof dir, "%s/evidence", root);
    snprintf(key, sizeof key, "%s/evidence-key.pem", root);
    struct vg_evidence_config c = {dir, key, queue, 60, 64, on_alert, NULL, NULL};
    struct vg_evidence *ev = NULL;
    int rc = vg_evidence_open(&c, &ev, err, sizeof err);
    if (rc)
        printf("open: %s\n", err);
    VT_EQ_INT(rc, VG_OK);
    return ev;
}

static int verify(const char *case_id)
{
    char dir[300], pub[300];
    snprintf(dir, sizeof dir, "%s/evidence/%s", root, case_id);
    snprintf(pub, sizeof pub, "%s/evidence-key.pub", root);
    EVP_PKEY *k = NULL;
    VT_EQ_INT(vg_evkey_load_public(pub, &k), VG_OK);
    struct vg_manifest_summary s;
    problems[0] = '\0';
    int n = vg_manifest_verify(dir, k, report, NULL, &s);
    vg_evkey_free(k);
    return n;
}

static void rtp_burst(struct vg_recording *r, int n, int64_t at)
{
    uint8_t pkt[200] = {0x80, 96};
    for (int i = 0; i < n; i++) {
        pkt[3] = (uint8_t)i;
        vg_recording_rtp(r, 512, 1, at + i * 1000, pkt, sizeof pkt);
    }
}

static void test_record_and_verify(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit1");
    VT_CHECK(r != NULL);
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"512\",\"party\":\"citizen\"}");
    vg_recording_event(r, 1001, "not json"); /* refused, logged, nothing else */
    rtp_burst(r, 50, 2000);
    vg_recording_event(r, 60000, "{\"type\":\"chat\",\"text\":\"hello\"}");
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit1"), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/evidence/c-unit1/leg-512-000001.vgs", root);
    gchar *buf;
    gsize len;
    VT_CHECK(g_file_get_contents(path, &buf, &len, NULL));
    VT_EQ_INT(len, VG_EV_HDR_LEN + 50 * (VG_EV_REC_HDR + 200));
    buf[len / 2] ^= 1;
    g_file_set_contents(path, buf, (gssize)len, NULL);
    g_free(buf);
    VT_EQ_INT(verify("c-unit1") > 0, 1);
    VT_CONTAINS(problems, "leg-512-000001.vgs: altered");
    printf("tampered: %s", problems);
}

static void test_gap(void)
{
    struct vg_evidence *ev = open_ev(16);
    struct vg_recording *r = vg_recording_start(ev, "c-unit2");
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"512\",\"party\":\"citizen\"}");
    rtp_burst(r, 5000, 2000); /* far faster than a 16-packet queue drains */
    g_usleep(100000);
    rtp_burst(r, 1, 9000000); /* taken again: the gap is written before it */
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(verify("c-unit2"), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/evidence/c-unit2/manifest.json", root);
    gchar *m = NULL;
    g_file_get_contents(path, &m, NULL, NULL);
    VT_CONTAINS(m, "\"reason\": \"queue_full\"");
    VT_EQ_INT(alerts >= 1, 1);
    g_free(m);
}

/* A recording as a kill -9 leaves it: no manifest, the last record half written. */
static void test_recovery(void)
{
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/evidence/c-unit3", root);
    g_mkdir_with_parents(dir, 0700);
    snprintf(path, sizeof path, "%s/leg-768-000001.vgs", dir);
    uint8_t buf[VG_EV_HDR_LEN + 3 * 116];
    struct vg_ev_seg_header h = {.stream = 768, .seq = 1, .opened_us = 5};
    snprintf(h.case_id, sizeof h.case_id, "c-unit3");
    vg_ev_header_write(&h, buf);
    uint8_t pkt[100] = {0x80};
    size_t off = VG_EV_HDR_LEN;
    for (int i = 0; i < 3; i++) {
        struct vg_ev_record rec = {VG_EV_REC_RTP, 0, 7000000 + i * 20000, pkt, 100};
        off += (size_t)vg_ev_record_write(&rec, buf + off, sizeof buf - off);
    }
    g_file_set_contents(path, (const char *)buf, (gssize)(off - 30), NULL);
    struct vg_evidence *ev = open_ev(0);
    VT_EQ_INT(vg_evidence_recovered(ev), 1);
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit3"), 0);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    gchar *m = NULL;
    g_file_get_contents(path, &m, NULL, NULL);
    VT_CONTAINS(m, "\"complete\": false");
    VT_CONTAINS(m, "\"stopped_us\": 7020000");
    VT_CONTAINS(m, "\"to_size\": 360");
    g_free(m);
}

static void test_audit_and_retention(void)
{
    struct vg_evidence *ev = open_ev(0);
    VT_EQ_INT(vg_evidence_audit(ev, "sue", "supervisor", "download", "c-unit1", "allowed", NULL),
              VG_OK);
    VT_EQ_INT(vg_evidence_audit(ev, "ann", "call_taker", "download", "c-unit1", "refused",
                                "{\"why\":\"role\"}"),
              VG_OK);
    /* closed now: not expired at 1 day; expired 2 days later */
    VT_EQ_INT(vg_evidence_sweep(ev, g_get_real_time(), 1), 0);
    VT_EQ_INT(vg_evidence_sweep(ev, g_get_real_time() + 2LL * 86400 * 1000000, 1), 3);
    vg_evidence_close(ev);
    char log[300], pub[300];
    snprintf(log, sizeof log, "%s/evidence/audit.log", root);
    snprintf(pub, sizeof pub, "%s/evidence-key.pub", root);
    EVP_PKEY *k = NULL;
    vg_evkey_load_public(pub, &k);
    unsigned entries = 0;
    problems[0] = '\0';
    VT_EQ_INT(vg_audit_verify(log, k, report, NULL, &entries), 0);
    VT_EQ_INT(entries, 6); /* recovered, two accesses, three deletions */
    gchar *text = NULL;
    gsize len = 0;
    g_file_get_contents(log, &text, &len, NULL);
    text[len / 3] ^= 4;
    g_file_set_contents(log, text, (gssize)len, NULL);
    VT_EQ_INT(vg_audit_verify(log, k, report, NULL, &entries) > 0, 1);
    VT_CONTAINS(problems, "audit.log line");
    printf("audit tampered: %s", problems);
    g_free(text);
    vg_evkey_free(k);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/vigil-recorder-XXXXXX", g_get_tmp_dir());
    VT_CHECK(g_mkdtemp(root) != NULL);
    test_record_and_verify();
    test_gap();
    test_recovery();
    test_audit_and_retention();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("could not remove %s\n", root);
    return vt_done("recorder");
}
