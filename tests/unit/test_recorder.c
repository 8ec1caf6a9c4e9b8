/* The recorder with real files in a temp dir: a recording closed and verified, a
 * byte changed and named, a full queue (behind a stalled writer) recorded as a gap
 * with an alert and every packet accounted for, packets of every size through
 * many wraps of a small queue written whole and in order, a leg gone quiet written
 * out within two wake-ups of the writer, a write that fails inside a record an
 * earlier write began, a crashed recording
 * (torn last record) closed as incomplete at the next open, a disk that fills up
 * mid-recording (the recording closed as incomplete, every packet accounted
 * for), the audit log's chain, retention, the folder held against the log. */
#include "audit.h"
#include "evfmt.h"
#include "evidence.h"
#include "evkey.h"
#include "inventory.h"
#include "manifest.h"
#include "vg_err.h"
#include "vt.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <openssl/evp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <glib/gstdio.h>
#include <jansson.h>
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

/* The owner's store, for the resume tests: cases named c-unit-live-* are live. */
static bool is_live(const char *case_id, void *ud)
{
    (void)ud;
    return g_str_has_prefix(case_id, "c-unit-live-");
}

static struct vg_evidence *open_ev_with(unsigned queue_kb, bool (*live)(const char *, void *))
{
    char dir[300], key[300], err[300] = "";
    snprintf(dir, sizeof dir, "%s/evidence", root);
    snprintf(key, sizeof key, "%s/evidence-key.pem", root);
    struct vg_evidence_config c = {dir, key, queue_kb, 60, 64, on_alert, NULL, NULL, 1, live};
    struct vg_evidence *ev = NULL;
    int rc = vg_evidence_open(&c, &ev, err, sizeof err);
    if (rc)
        printf("open: %s\n", err);
    VT_EQ_INT(rc, VG_OK);
    return ev;
}

static struct vg_evidence *open_ev(unsigned queue_kb)
{
    return open_ev_with(queue_kb, NULL);
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

static void rtp_burst(struct vg_recording_tap *t, int n, int64_t at)
{
    uint8_t pkt[200] = {0x80, 96};
    for (int i = 0; i < n; i++) {
        pkt[3] = (uint8_t)i;
        vg_recording_tap_rtp(t, 1, at + i * 1000, pkt, sizeof pkt);
    }
}

/* The RTP records of a leg's first segment, checked by the scanner. */
static uint64_t rtp_records(const char *case_id, uint64_t leg, gchar **bytes, gsize *len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/%s/leg-%llu-000001.vgs", root, case_id,
             (unsigned long long)leg);
    struct vg_ev_scan sc;
    VT_CHECK(g_file_get_contents(path, bytes, len, NULL));
    VT_EQ_INT(vg_ev_scan((const uint8_t *)*bytes, *len, &sc), VG_OK);
    VT_EQ_INT(sc.torn, 0);
    return sc.rtp;
}

/* Bytes in a leg's first segment now, 0 if it does not exist yet. */
static gsize segment_size(const char *case_id, uint64_t leg)
{
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/%s/leg-%llu-000001.vgs", root, case_id,
             (unsigned long long)leg);
    GStatBuf sb;
    return g_stat(path, &sb) == 0 ? (gsize)sb.st_size : 0;
}

/* The writer is a thread: on a busy machine it can be later than a fixed sleep.
 * Polls its counters every 10 ms for up to ms; returns them as last read. */
static struct vg_evidence_stats writer_stats_until(struct vg_evidence *ev, uint64_t packets,
                                                   uint64_t write_errors, unsigned ms)
{
    struct vg_evidence_stats st;
    for (unsigned waited = 0;; waited += 10) {
        vg_evidence_get_stats(ev, &st);
        if ((st.packets + st.dropped >= packets && st.write_errors >= write_errors) || waited >= ms)
            return st;
        g_usleep(10000);
    }
}

/* The packets the manifest's gap events say were lost. */
static int64_t gap_packets(const char *case_id)
{
    char path[300];
    snprintf(path, sizeof path, "%s/evidence/%s/manifest.json", root, case_id);
    json_t *m = json_load_file(path, 0, NULL);
    json_t *gaps = json_object_get(m, "gaps"), *g;
    size_t i;
    int64_t n = 0;
    json_array_foreach(gaps, i, g)
    {
        VT_EQ_STR(json_string_value(json_object_get(g, "reason")), "queue_full");
        n += json_integer_value(json_object_get(g, "packets"));
    }
    json_decref(m);
    return n;
}

static void test_record_and_verify(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit1");
    VT_CHECK(r != NULL);
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"512\",\"party\":\"citizen\"}");
    vg_recording_event(r, 1001, "not json"); /* refused, logged, nothing else */
    struct vg_recording_tap *t = vg_recording_tap_new(r, 512);
    rtp_burst(t, 50, 2000);
    vg_recording_tap_free(t);
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

/* The writer stalls (a slow disk) while a leg sends 5000 packets into a 16 KiB
 * queue: most are dropped, and the gap event written before the leg's next packet
 * names exactly the ones that were. */
static void test_gap(void)
{
    struct vg_evidence *ev = open_ev(16);
    struct vg_recording *r = vg_recording_start(ev, "c-unit2");
    struct vg_recording_tap *t = vg_recording_tap_new(r, 512);
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"512\",\"party\":\"citizen\"}");
    int before = alerts;
    vg_evidence_stall(ev, 300);
    rtp_burst(t, 5000, 2000);
    g_usleep(400000);
    writer_stats_until(ev, 5000, 0, 5000); /* and the writer has emptied the queue */
    rtp_burst(t, 1, 9000000);              /* taken again: the gap is queued before it */
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    struct vg_evidence_stats st;
    vg_evidence_get_stats(ev, &st);
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(verify("c-unit2"), 0);
    gchar *seg = NULL;
    gsize len = 0;
    uint64_t kept = rtp_records("c-unit2", 512, &seg, &len);
    int64_t lost = gap_packets("c-unit2");
    printf("stalled writer, 16 KiB queue: 5001 sent, %llu recorded, %lld in gap events, "
           "%llu counted dropped, %d alerts\n",
           (unsigned long long)kept, (long long)lost, (unsigned long long)st.dropped,
           alerts - before);
    VT_CHECK(lost > 4000);
    VT_EQ_INT((int64_t)kept + lost, 5001);
    VT_EQ_INT((int64_t)st.dropped, lost);
    VT_EQ_INT(alerts - before, 1);
    /* the packet after the gap is the last record, whole */
    VT_EQ_INT((uint8_t)seg[len - 200 + 3], 0);
    g_free(seg);
}

/* Packets of every size from 12 to 1,400 bytes through a queue of queue_kb KiB,
 * the writer draining it as it goes, `every` packets then a pause of pause_us:
 * every one is recorded whole and in order, or accounted for in a gap. */
static void wraps(const char *case_id, unsigned queue_kb, uint32_t N, uint32_t every,
                  unsigned pause_us)
{
    struct vg_evidence *ev = open_ev(queue_kb);
    struct vg_recording *r = vg_recording_start(ev, case_id);
    struct vg_recording_tap *t = vg_recording_tap_new(r, 640);
    uint8_t pkt[1400];
    for (uint32_t i = 0; i < N; i++) {
        size_t n = 12 + (i * 131u) % (sizeof pkt - 12);
        memset(pkt, (int)(i & 0xff), n);
        memcpy(pkt + 4, &i, 4);
        vg_recording_tap_rtp(t, i % 2, 1000 + i, pkt, n);
        if (i % every == 0)
            g_usleep(pause_us);
    }
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(verify(case_id), 0);
    gchar *seg = NULL;
    gsize len = 0;
    uint64_t kept = rtp_records(case_id, 640, &seg, &len);
    int64_t lost = gap_packets(case_id);
    uint32_t prev = 0, bad = 0, seen = 0;
    struct vg_ev_record rec;
    for (size_t off = VG_EV_HDR_LEN; off < len;) {
        int n = vg_ev_record_parse((const uint8_t *)seg + off, len - off, &rec);
        VT_CHECK(n > 0);
        uint32_t i;
        memcpy(&i, rec.data + 4, 4);
        bad += (seen && i <= prev) || rec.len != 12 + (i * 131u) % 1388 || rec.at_us != 1000 + i ||
               rec.kind != i % 2 || rec.data[0] != (uint8_t)i ||
               rec.data[rec.len - 1] != (uint8_t)i;
        prev = i;
        seen++;
        off += (size_t)n;
    }
    printf("%u KiB queue: %u sent (%zu bytes of segment), %llu recorded, %lld in gaps, %u out "
           "of order or altered\n",
           queue_kb, N, (size_t)len, (unsigned long long)kept, (long long)lost, bad);
    VT_EQ_INT(bad, 0);
    VT_EQ_INT((int64_t)kept + lost, N);
    VT_CHECK(kept > N / 2);
    g_free(seg);
}

/* About 200 wraps of a 64 KiB queue, ~14 KB between pauses: the writer keeps up,
 * and each of its writes reaches a 16 KiB boundary of the file. */
static void test_wraps(void)
{
    wraps("c-unit4", 64, 20000, 20, 1000);
}

/* A 16 KiB queue calls the writer every 8 KiB or so, ~3 KB between pauses: most
 * of its passes reach no 16 KiB boundary, and what they took waits in the
 * stream's tail, joined by the next pass's, until a write reaches one (or the
 * tail is old enough to be written as it is). */
static void test_small_passes(void)
{
    wraps("c-unit6", 16, 4000, 4, 2000);
}

/* The writer ends its writes on 16 KiB boundaries of the file and keeps the rest
 * for the next; a leg that goes quiet has that rest written at the writer's next
 * wake-up, not at the sync a second later. Two legs send and go quiet at once, one
 * less than 16 KiB in all, one 43 KiB (a write cut inside a record): 300 ms later,
 * before the writer's first sync, both files hold every record, whole. */
static void test_quiet_leg(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit5");
    struct vg_recording_tap *a = vg_recording_tap_new(r, 512), *b = vg_recording_tap_new(r, 640);
    rtp_burst(a, 20, 1000);
    rtp_burst(b, 200, 1000);
    g_usleep(300000);
    /* A busy machine may run the writer late: give it up to 800 ms in all, still
     * before its first sync (1 s after open_ev), which would write the tails anyway. */
    for (int i = 0;
         i < 50 && (segment_size("c-unit5", 512) < VG_EV_HDR_LEN + 20 * (VG_EV_REC_HDR + 200) ||
                    segment_size("c-unit5", 640) < VG_EV_HDR_LEN + 200 * (VG_EV_REC_HDR + 200));
         i++)
        g_usleep(10000);
    gchar *seg = NULL;
    gsize len = 0;
    VT_EQ_INT(rtp_records("c-unit5", 512, &seg, &len), 20);
    g_free(seg);
    VT_EQ_INT(rtp_records("c-unit5", 640, &seg, &len), 200);
    VT_EQ_INT(len, VG_EV_HDR_LEN + 200 * (VG_EV_REC_HDR + 200));
    g_free(seg);
    vg_recording_tap_free(a);
    vg_recording_tap_free(b);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit5"), 0);
}

/* A write fails inside the rest of a record that the file's last aligned write
 * began: 100 records of 216 bytes make a first write of 16 KiB (75 records whole,
 * 56 bytes of the 76th) and a tail of 5,344 bytes; the writer is stalled, the
 * file size limited to 100 bytes past 16 KiB, and the tail's write stops there.
 * The file is cut back to the 75 whole records (the 76th's head goes too), the
 * other 25 are counted as not written, and what is left verifies. */
static void test_cut_inside_a_record(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit7");
    struct vg_recording_tap *t = vg_recording_tap_new(r, 512);
    rtp_burst(t, 100, 1000);
    vg_evidence_stall(ev, 200); /* returns once the burst is written and the tail kept */
    struct rlimit was, lim;
    VT_EQ_INT(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = 16384 + 100;
    signal(SIGXFSZ, SIG_IGN); /* the write past the limit fails with EFBIG instead */
    VT_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    g_usleep(400000); /* the stall ends, the tail is old enough: its write fails */
    struct vg_evidence_stats st = writer_stats_until(ev, 0, 1, 5000);
    VT_EQ_INT(setrlimit(RLIMIT_FSIZE, &was), 0);
    VT_CHECK(st.write_errors >= 1);
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(verify("c-unit7"), 0);
    gchar *seg = NULL;
    gsize len = 0;
    VT_EQ_INT(rtp_records("c-unit7", 512, &seg, &len), 75);
    VT_EQ_INT(len, VG_EV_HDR_LEN + 75 * (VG_EV_REC_HDR + 200));
    g_free(seg);
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/c-unit7/manifest.json", root);
    json_t *m = json_load_file(path, 0, NULL);
    const char *reason = json_string_value(json_object_get(m, "reason"));
    printf("cut inside a record: manifest: %s\n", reason ? reason : "(none)");
    VT_CONTAINS(reason ? reason : "", "; 25 records not written");
    VT_CHECK(json_is_false(json_object_get(m, "complete")));
    /* cut back by the writer itself, not by the manifest's pass over torn files */
    VT_CHECK(json_is_array(json_object_get(m, "truncated")));
    VT_EQ_INT(json_array_size(json_object_get(m, "truncated")), 0);
    json_decref(m);
}

/* A recording as a kill -9 leaves it: no manifest, the last record half written. */
/* A crashed recording's first segment, as the writer left it: a header and three
 * RTP records of 100 bytes (20 ms apart from 7 s) in buf; returns their length. The
 * case's directory is made, and its path put in dir. */
static size_t crashed_segment(const char *case_id, uint64_t stream, uint8_t *buf, size_t cap,
                              char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "%s/evidence/%s", root, case_id);
    g_mkdir_with_parents(dir, 0700);
    struct vg_ev_seg_header h = {.stream = stream, .seq = 1, .opened_us = 5};
    snprintf(h.case_id, sizeof h.case_id, "%s", case_id);
    vg_ev_header_write(&h, buf);
    uint8_t pkt[100] = {0x80};
    size_t off = VG_EV_HDR_LEN;
    for (int i = 0; i < 3; i++) {
        struct vg_ev_record rec = {VG_EV_REC_RTP, 0, 7000000 + i * 20000, pkt, 100};
        off += (size_t)vg_ev_record_write(&rec, buf + off, cap - off);
    }
    return off;
}

static void test_recovery(void)
{
    char dir[300], path[400];
    uint8_t buf[VG_EV_HDR_LEN + 3 * 116];
    size_t off = crashed_segment("c-unit3", 768, buf, sizeof buf, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/leg-768-000001.vgs", dir);
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
    VT_EQ_INT(vg_evidence_sweep(ev, g_get_real_time() + 2LL * 86400 * 1000000, 1), 7);
    vg_evidence_close(ev);
    char log[300], pub[300];
    snprintf(log, sizeof log, "%s/evidence/audit.log", root);
    snprintf(pub, sizeof pub, "%s/evidence-key.pub", root);
    EVP_PKEY *k = NULL;
    vg_evkey_load_public(pub, &k);
    unsigned entries = 0;
    problems[0] = '\0';
    VT_EQ_INT(vg_audit_verify(log, k, report, NULL, &entries), 0);
    gchar *all = NULL;
    g_file_get_contents(log, &all, NULL, NULL);
    unsigned seals = 0, deletions = 0;
    for (const char *p = all; (p = strstr(p, "\"manifest_sha256\"")); p++)
        seals++;
    for (const char *p = all; (p = strstr(p, "\"delete_expired\"")); p++)
        deletions++;
    unsigned named = 0; /* each deletion names the manifest it destroyed */
    for (const char *p = all; (p = strstr(p, "\"deleted_manifest_sha256\":\"")); p++)
        named += strspn(p + 27, "0123456789abcdef") == 64;
    VT_EQ_INT(named, deletions);
    g_free(all);
    printf("audit log: %u entries, %u naming a signed manifest, %u deletions\n", entries, seals,
           deletions);
    VT_EQ_INT(deletions, 7);
    VT_CHECK(seals >= 7); /* every recording swept had been sealed, and said so */
    VT_EQ_INT(entries, 2 + seals + deletions); /* and two accesses */
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

/* In place: /proc's map files take one write(), not a file renamed over them. */
static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok;
}

/* A tmpfs of `size` at dir, in a mount namespace of this process's own, so the
 * host sees nothing of it. Root unshares it directly; anyone else through a user
 * namespace (which needs a single-threaded process: call it first). */
static bool private_tmpfs(const char *dir, const char *size)
{
    if (unshare(CLONE_NEWNS) != 0) {
        char map[64];
        snprintf(map, sizeof map, "0 %u 1", (unsigned)getuid());
        char gmap[64];
        snprintf(gmap, sizeof gmap, "0 %u 1", (unsigned)getgid());
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 ||
            !write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", map) ||
            !write_file("/proc/self/gid_map", gmap))
            return false;
    }
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
           mount("vigil-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, size) == 0;
}

static char full_dir[300]; /* a 512 KiB tmpfs, or "" if none could be had */

/* The disk fills up while a leg records 2,000 packets: a write that fails is cut
 * back to the last whole record it wrote (what fit is kept: about 48 KiB, 200 or
 * so records), one alert says so, and once there is room again the
 * recording goes on and is closed as incomplete, its manifest naming the error and
 * how many records were lost; what the files hold still verifies, and every packet
 * is either in them or in that count. */
static void test_disk_full(void)
{
    VT_CHECK(full_dir[0] != '\0');
    if (!full_dir[0])
        return;
    char saved[sizeof root];
    snprintf(saved, sizeof saved, "%s", root);
    g_strlcpy(root, full_dir, sizeof root);
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-full");
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"512\",\"party\":\"citizen\"}");
    struct vg_recording_tap *t = vg_recording_tap_new(r, 512);
    rtp_burst(t, 10, 1500);
    g_usleep(300000); /* written: the segment exists */
    for (int i = 0;
         i < 500 && segment_size("c-full", 512) < VG_EV_HDR_LEN + 10 * (VG_EV_REC_HDR + 200); i++)
        g_usleep(10000); /* (a busy machine's writer may be later) */
    /* Leave 48 KiB: about 220 of the 2,000 records below fit. */
    char filler[400];
    snprintf(filler, sizeof filler, "%s/filler", full_dir);
    struct statvfs fs;
    VT_EQ_INT(statvfs(full_dir, &fs), 0);
    size_t room = (size_t)fs.f_bavail * fs.f_frsize;
    VT_CHECK(room > 48 * 1024);
    gchar *zeros = g_malloc0(room - 48 * 1024);
    VT_CHECK(g_file_set_contents(filler, zeros, (gssize)(room - 48 * 1024), NULL));
    g_free(zeros);
    int before = alerts;
    rtp_burst(t, 2000, 20000);
    g_usleep(300000);
    struct vg_evidence_stats st = writer_stats_until(ev, 0, 1, 5000);
    VT_CHECK(st.write_errors >= 1);
    VT_EQ_INT(g_unlink(filler), 0);
    g_usleep(1200000); /* a sync pass with no failure ends the run of failures */
    rtp_burst(t, 10, 5000000);
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(alerts - before, 1);
    VT_EQ_INT(verify("c-full"), 0);
    gchar *seg = NULL;
    gsize len = 0;
    uint64_t kept = rtp_records("c-full", 512, &seg, &len);
    g_free(seg);
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/c-full/manifest.json", root);
    json_t *m = json_load_file(path, 0, NULL);
    VT_CHECK(m != NULL);
    VT_CHECK(json_is_false(json_object_get(m, "complete")));
    const char *reason = json_string_value(json_object_get(m, "reason"));
    printf("disk full: %llu of 2020 recorded; manifest: %s\n", (unsigned long long)kept,
           reason ? reason : "(none)");
    unsigned long long lost = 0;
    const char *at = reason ? strstr(reason, "; ") : NULL;
    VT_CHECK(at && sscanf(at, "; %llu records not written", &lost) == 1);
    VT_CONTAINS(reason ? reason : "", "No space left on device");
    VT_CHECK(lost > 0);
    VT_CHECK(kept > 20 + 100); /* the 20 before and after, and what fit of the 2,000 */
    VT_EQ_INT(kept + lost, 2020);
    json_decref(m);
    snprintf(root, sizeof root, "%s", saved);
}

/* A segment of n_mb MiB of 1,000-byte video records of stream `leg` in a case's
 * directory, as an hour-long call leaves (written here: the ring would take long). */
static void big_segment(const char *case_id, uint64_t leg, unsigned n_mb)
{
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/%s/leg-%llu-000001.vgs", root, case_id,
             (unsigned long long)leg);
    FILE *f = fopen(path, "wb");
    VT_CHECK(f != NULL);
    struct vg_ev_seg_header h = {.stream = leg, .seq = 1, .opened_us = 1000};
    snprintf(h.case_id, sizeof h.case_id, "%s", case_id);
    uint8_t hdr[VG_EV_HDR_LEN], pkt[1000] = {0x80, 96}, rec[VG_EV_REC_HDR + 1000];
    VT_EQ_INT(vg_ev_header_write(&h, hdr), VG_OK);
    fwrite(hdr, 1, sizeof hdr, f);
    for (unsigned i = 0; i < n_mb * 1024 * 1024 / sizeof rec; i++) {
        struct vg_ev_record r = {VG_EV_REC_RTP, 1, 2000 + i, pkt, sizeof pkt};
        VT_EQ_INT(vg_ev_record_write(&r, rec, sizeof rec), (int)sizeof rec);
        fwrite(rec, 1, sizeof rec, f);
    }
    VT_EQ_INT(fclose(f), 0);
}

/* A long case ends while another is busy: its manifest hashes every byte it recorded
 * (two legs of 64 MiB here, a bit over an hour of video), which must not hold the
 * writer. The busy case sends 2 MB/s through a 256 KiB queue (128 ms of it)
 * meanwhile and loses nothing; both recordings verify. */
static void test_seal_aside(void)
{
    struct vg_evidence *ev = open_ev(256);
    struct vg_recording *big = vg_recording_start(ev, "c-unit-big");
    vg_recording_event(big, 1000, "{\"type\":\"leg\",\"leg\":\"7\",\"party\":\"citizen\"}");
    vg_recording_event(big, 1000, "{\"type\":\"leg\",\"leg\":\"8\",\"party\":\"ann\"}");
    big_segment("c-unit-big", 7, 64);
    big_segment("c-unit-big", 8, 64);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-busy");
    struct vg_recording_tap *t = vg_recording_tap_new(r, 9);
    rtp_burst(t, 10, 1000);
    writer_stats_until(ev, 10, 0, 5000);
    char sig[300];
    snprintf(sig, sizeof sig, "%s/evidence/c-unit-big/manifest.sig", root);
    int64_t t0 = g_get_monotonic_time(), sealed_ms = -1;
    vg_recording_finish(big, "case ended");
    for (int i = 0; i < 500; i++) { /* 1 s: 20 packets of 200 bytes every 2 ms */
        rtp_burst(t, 20, 10000 + i * 2000);
        g_usleep(2000);
        if (sealed_ms < 0 && g_file_test(sig, G_FILE_TEST_EXISTS))
            sealed_ms = (g_get_monotonic_time() - t0) / 1000;
    }
    struct vg_evidence_stats st = writer_stats_until(ev, 10010, 0, 5000);
    printf("a 128 MiB case sealed in %lld ms (-1: later) while another sent 10,000 "
           "packets: %llu dropped\n",
           (long long)sealed_ms, (unsigned long long)st.dropped);
    VT_EQ_INT(st.dropped, 0);
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-big"), 0);
    VT_EQ_INT(verify("c-unit-busy"), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/c-unit-big", root);
    char cmd[450];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/leg-*.vgs", path); /* 128 MiB less on the disk */
    VT_EQ_INT(system(cmd), 0);
}

/* The outcome given after a case ended joins its sealed recording: a second segment
 * of the events log, chained to the first, the manifest signed again saying why;
 * a changed byte of it is found. A case with no recording gets nothing. */
static json_t *manifest_of(const char *case_id);

/* How many files of this type (events, upload, ...) the case's manifest lists. */
static size_t listed(const char *case_id, const char *type)
{
    json_t *m = manifest_of(case_id), *f;
    size_t i, n = 0;
    json_array_foreach(json_object_get(m, "files"), i, f) n +=
        strcmp(json_string_value(json_object_get(f, "type")), type) == 0;
    json_decref(m);
    return n;
}

static void test_append(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-after");
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"help\"}");
    vg_recording_finish(r, "citizen hung up");
    vg_evidence_append(ev, "c-unit-after", 5000000,
                       "{\"type\":\"disposition\",\"disposition\":\"dispatched\",\"by\":\"ann\"}",
                       "outcome given after the case ended");
    vg_evidence_append(ev, "c-unit-none", 5000000, "{\"type\":\"disposition\"}", "outcome");
    vg_evidence_append(ev, "c-unit-after", 5000000, "[1]", "not an object");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-after"), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/c-unit-after/manifest.json", root);
    json_t *m = json_load_file(path, 0, NULL);
    VT_CONTAINS(json_string_value(json_object_get(m, "reason")),
                "citizen hung up; resealed: outcome given after the case ended");
    VT_CHECK(json_is_true(json_object_get(m, "complete")));
    json_decref(m);
    VT_EQ_INT(listed("c-unit-after", "events"), 2);
    snprintf(path, sizeof path, "%s/evidence/c-unit-after/events-000002.vgs", root);
    gchar *buf = NULL;
    gsize len = 0;
    VT_CHECK(g_file_get_contents(path, &buf, &len, NULL));
    struct vg_ev_scan sc;
    VT_EQ_INT(vg_ev_scan((const uint8_t *)buf, len, &sc), VG_OK);
    VT_EQ_INT(sc.hdr.seq, 2);
    VT_EQ_INT(sc.events, 1);
    VT_EQ_INT(sc.first_us, 5000000);
    const char *want = "{\"type\":\"disposition\",\"disposition\":\"dispatched\","
                       "\"by\":\"ann\",\"at_us\":5000000,\"after_end\":true}";
    VT_CHECK(memmem(buf, len, want, strlen(want)) != NULL);
    char *d = memmem(buf, len, "dispatched", 10);
    d[0] = 'D'; /* a changed outcome */
    g_file_set_contents(path, buf, (gssize)len, NULL);
    g_free(buf);
    VT_EQ_INT(verify("c-unit-after") > 0, 1);
    VT_CONTAINS(problems, "events-000002.vgs: altered");
    snprintf(path, sizeof path, "%s/evidence/c-unit-none", root);
    VT_CHECK(!g_file_test(path, G_FILE_TEST_EXISTS));
}

/* Two notes given in the same microsecond are two facts and both join the recording;
 * the same fact offered again (the daemon's reconcile after a crash) is not doubled. */
static void test_append_same_time(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-twice");
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"help\"}");
    vg_recording_finish(r, "case closed");
    const char *a = "{\"type\":\"note\",\"text\":\"door open\",\"by\":\"ann\"}";
    const char *b = "{\"type\":\"note\",\"text\":\"nobody inside\",\"by\":\"ann\"}";
    vg_evidence_append(ev, "c-unit-twice", 6000000, a, "note added after the case ended");
    vg_evidence_append(ev, "c-unit-twice", 6000000, b, "note added after the case ended");
    vg_evidence_append(ev, "c-unit-twice", 6000000, a, "note added after the case ended");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-twice"), 0);
    VT_EQ_INT(listed("c-unit-twice", "events"), 3); /* the case's own, then one per note */
}

static json_t *manifest_of(const char *case_id)
{
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/%s/manifest.json", root, case_id);
    return json_load_file(path, 0, NULL);
}

static bool case_file(const char *case_id, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/%s/%s", root, case_id, name);
    return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* vigild dies after the writer closed a recording and before the sealer signed it:
 * its events log ends with recording_closed, every file whole, so the next start
 * seals it as the writer meant (complete, its reason kept). One whose media file is
 * torn after all is closed as incomplete, cut, as any crashed recording. */
/* A power cut can leave zeros after the last record (blocks the file had, their data
 * lost): cut at the next start and listed, as a torn record is; before, the zeros
 * were signed with the rest and vigil-verify called the segment altered. */
static void test_zeros_after_crash(void)
{
    char dir[300], path[400];
    uint8_t buf[VG_EV_HDR_LEN + 3 * 116 + 4096] = {0};
    size_t off = crashed_segment("c-unit-zeros", 5, buf, sizeof buf, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/leg-5-000001.vgs", dir);
    VT_CHECK(g_file_set_contents(path, (const char *)buf, (gssize)(off + 4096), NULL));
    struct vg_evidence *ev = open_ev(0);
    VT_EQ_INT(vg_evidence_recovered(ev), 1);
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-zeros"), 0);
    json_t *m = manifest_of("c-unit-zeros");
    json_t *t = json_array_get(json_object_get(m, "truncated"), 0);
    VT_EQ_INT(json_integer_value(json_object_get(t, "to_size")), (long long)off);
    VT_EQ_INT(json_integer_value(json_object_get(t, "from_size")), (long long)(off + 4096));
    json_decref(m);
    /* Its manifest removed, its signature left: not "never closed" */
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    VT_EQ_INT(g_unlink(path), 0);
    problems[0] = '\0';
    VT_EQ_INT(verify("c-unit-zeros"), 1);
    VT_CONTAINS(problems, "removed after the recording was sealed");
}

static void test_sealed_at_restart(void)
{
    const char *ids[] = {"c-unit-unsealed", "c-unit-torn"};
    struct vg_evidence *ev = open_ev(0);
    vg_evidence_skip_seals(ev, true); /* vigild dies after the close, before the seal */
    for (int i = 0; i < 2; i++) {
        struct vg_recording *r = vg_recording_start(ev, ids[i]);
        vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"5\",\"party\":\"citizen\"}");
        struct vg_recording_tap *t = vg_recording_tap_new(r, 5);
        rtp_burst(t, 30, 2000);
        vg_recording_tap_free(t);
        vg_recording_finish(r, "citizen hung up");
    }
    vg_evidence_close(ev);
    char path[400];
    VT_CHECK(!case_file(ids[0], "manifest.json"));
    snprintf(path, sizeof path, "%s/evidence/c-unit-torn/leg-5-000001.vgs", root);
    VT_EQ_INT(truncate(path, VG_EV_HDR_LEN + 10 * (VG_EV_REC_HDR + 200) + 50), 0);
    ev = open_ev(0);
    VT_EQ_INT(vg_evidence_recovered(ev), 2);
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-unsealed"), 0);
    VT_EQ_INT(verify("c-unit-torn"), 0);
    snprintf(path, sizeof path, "%s/evidence/c-unit-unsealed/manifest.json", root);
    json_t *m = json_load_file(path, 0, NULL);
    VT_CHECK(json_is_true(json_object_get(m, "complete")));
    VT_EQ_STR(json_string_value(json_object_get(m, "reason")),
              "citizen hung up; sealed at restart (vigild stopped before its seal)");
    json_decref(m);
    snprintf(path, sizeof path, "%s/evidence/c-unit-torn/manifest.json", root);
    m = json_load_file(path, 0, NULL);
    VT_CHECK(json_is_false(json_object_get(m, "complete")));
    VT_EQ_INT(json_array_size(json_object_get(m, "truncated")), 1);
    json_decref(m);
    /* Once sealed (and audited), a recording whose signature goes is not signed again
     * at the next start: the audit log says it was sealed; a person is alerted. */
    snprintf(path, sizeof path, "%s/evidence/c-unit-unsealed/manifest.sig", root);
    VT_EQ_INT(g_unlink(path), 0);
    int before = alerts;
    ev = open_ev(0);
    VT_EQ_INT(vg_evidence_recovered(ev), 0);
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(alerts - before, 1);
    VT_CHECK(!case_file("c-unit-unsealed", "manifest.sig"));
    char *cmd = g_strdup_printf("rm -rf '%s/evidence/c-unit-unsealed'", root); /* the person */
    VT_EQ_INT(system(cmd), 0);
    g_free(cmd);
}

/* A reseal never signs what was altered since the seal: a byte of the events log
 * changed, then an outcome given; the append is refused and alerted, nothing is
 * written, and vigil-verify's check still names the altered file. An append to a
 * recording a crash had cut keeps what its first seal said. */
static void test_append_guarded(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-tampered");
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"help\"}");
    vg_recording_finish(r, "citizen hung up");
    vg_evidence_close(ev);
    char path[400];
    snprintf(path, sizeof path, "%s/evidence/c-unit-tampered/events-000001.vgs", root);
    gchar *buf = NULL;
    gsize len = 0;
    VT_CHECK(g_file_get_contents(path, &buf, &len, NULL));
    char *h = memmem(buf, len, "help", 4);
    h[0] = 'k'; /* "kelp" */
    g_file_set_contents(path, buf, (gssize)len, NULL);
    g_free(buf);
    int before = alerts;
    ev = open_ev(0);
    vg_evidence_append(ev, "c-unit-tampered", 7000000, "{\"type\":\"disposition\"}", "outcome");
    /* and one to the recording test_sealed_at_restart left cut and incomplete */
    json_t *was = manifest_of("c-unit-torn");
    vg_evidence_append(ev, "c-unit-torn", 8000000, "{\"type\":\"callback\"}", "call back");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(alerts - before, 1);
    VT_CHECK(!case_file("c-unit-tampered", "events-000002.vgs"));
    VT_CHECK(!case_file("c-unit-tampered", VG_MANIFEST_PENDING));
    json_t *m = manifest_of("c-unit-tampered");
    VT_EQ_STR(json_string_value(json_object_get(m, "reason")), "citizen hung up");
    json_decref(m);
    VT_EQ_INT(verify("c-unit-tampered") > 0, 1);
    VT_CONTAINS(problems, "events-000001.vgs: altered");
    VT_EQ_INT(verify("c-unit-torn"), 0);
    m = manifest_of("c-unit-torn");
    static const char *const kept[] = {"complete",  "started_us", "stopped_us",
                                       "closed_us", "truncated",  "gaps"};
    for (unsigned i = 0; i < G_N_ELEMENTS(kept); i++)
        VT_CHECK(json_equal(json_object_get(m, kept[i]), json_object_get(was, kept[i])));
    VT_EQ_INT(json_array_size(json_object_get(m, "truncated")), 1);
    VT_CHECK(json_integer_value(json_object_get(m, "resealed_us")) > 0);
    VT_CONTAINS(json_string_value(json_object_get(m, "reason")), "; resealed: call back");
    json_decref(m);
    json_decref(was);
}

static void sha_of(const char *path, char hex[65], uint8_t raw[32])
{
    gchar *buf = NULL;
    gsize len = 0;
    unsigned n = 0;
    uint8_t md[32];
    VT_CHECK(g_file_get_contents(path, &buf, &len, NULL));
    EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
    vg_ev_hex(md, 32, hex);
    if (raw)
        memcpy(raw, md, 32);
    g_free(buf);
}

/* reseal.pending as the sealer writes it (one line: JSON, a tab, its signature),
 * signed with the centre's key, or (sign false) with a signature of another text. */
static void write_note(const char *dir, const char *case_id, const char *file, const char *hex,
                       const char *text, const char *sig, bool sign)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:s}", "kind",
                          "vigil-reseal-note/1", "case_id", case_id, "why", "outcome", "allow",
                          "name", file, "sha256", hex, "manifest", text, "sig", sig);
    char *body = json_dumps(p, JSON_COMPACT), key[300], err[300], b64[89];
    json_decref(p);
    snprintf(key, sizeof key, "%s/evidence-key.pem", root);
    EVP_PKEY *k = NULL;
    VT_EQ_INT(vg_evkey_load_or_create(key, &k, err, sizeof err), VG_OK);
    uint8_t raw[64];
    const char *what = sign ? body : "another text"; /* a signature, but not of this note */
    VT_EQ_INT(vg_evkey_sign(k, (const uint8_t *)what, strlen(what), raw), VG_OK);
    vg_evkey_sig_b64(raw, b64);
    vg_evkey_free(k);
    char *line = g_strdup_printf("%s\t%s\n", body, b64), path[450];
    snprintf(path, sizeof path, "%s/%s", dir, VG_MANIFEST_PENDING);
    VT_CHECK(g_file_set_contents(path, line, -1, NULL));
    g_free(line);
    free(body);
}

/* The segment an append of that outcome would write after events-000001.vgs. */
static void make_segment(const char *dir, const char *case_id, const char *name, char hex[65])
{
    char path[450];
    uint8_t prev[32];
    snprintf(path, sizeof path, "%s/events-000001.vgs", dir);
    sha_of(path, hex, prev);
    struct vg_ev_seg_header h = {.stream = 0, .seq = 2, .opened_us = 9000000};
    snprintf(h.case_id, sizeof h.case_id, "%s", case_id);
    memcpy(h.prev, prev, 32);
    const char *ev = "{\"type\":\"disposition\",\"at_us\":9000000,\"after_end\":true}";
    uint8_t buf[VG_EV_HDR_LEN + VG_EV_REC_HDR + 100];
    struct vg_ev_record rec = {VG_EV_REC_EVENT, 0, 9000000, (const uint8_t *)ev,
                               (uint32_t)strlen(ev)};
    VT_EQ_INT(vg_ev_header_write(&h, buf), VG_OK);
    int n = vg_ev_record_write(&rec, buf + VG_EV_HDR_LEN, sizeof buf - VG_EV_HDR_LEN);
    VT_CHECK(n > 0);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    VT_CHECK(g_file_set_contents(path, (const char *)buf, VG_EV_HDR_LEN + n, NULL));
    sha_of(path, hex, NULL);
}

/* What a crash (or someone with the disk) leaves of an append, and what the next
 * start makes of it. The segment written but the manifest still the old one:
 * finished. The segment cut short: undone (the segment removed, the old manifest
 * kept). The new manifest.json beside the old signature: done again from the note.
 * The append done (and audited), its note put back: only the note goes. The append
 * done, then the old manifest put back, the segment removed and the note put back
 * (a rollback dressed as a crash): not signed, left for a person, and the manifest
 * is not the one the audit log names last. A note not signed by the centre, or
 * naming an odd file: left for a person. */
enum crash_kind {
    SEGMENT_WHOLE,
    SEGMENT_CUT,
    SIG_OLD,
    NOTE_REPLAYED,
    ROLLBACK,
    NOTE_UNSIGNED,
    NOTE_ODD_NAME
};

static void crash_in_append(const char *case_id, enum crash_kind kind)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, case_id);
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"help\"}");
    vg_recording_finish(r, "citizen hung up");
    vg_evidence_close(ev);
    char dir[400], path[450], hex[65];
    snprintf(dir, sizeof dir, "%s/evidence/%s", root, case_id);
    gchar *text = NULL, *sig = NULL;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    VT_CHECK(g_file_get_contents(path, &text, NULL, NULL));
    snprintf(path, sizeof path, "%s/manifest.sig", dir);
    VT_CHECK(g_file_get_contents(path, &sig, NULL, NULL));
    const char *name = kind == NOTE_ODD_NAME ? "events-000002.vgs.vgs" : "events-000002.vgs";
    if (kind == NOTE_REPLAYED || kind == ROLLBACK) { /* the append, done whole */
        ev = open_ev(0);
        vg_evidence_append(ev, case_id, 9000000, "{\"type\":\"disposition\"}", "outcome");
        vg_evidence_close(ev);
        VT_CHECK(case_file(case_id, name));
        snprintf(path, sizeof path, "%s/%s", dir, name);
        sha_of(path, hex, NULL);
    } else {
        make_segment(dir, case_id, name, hex);
    }
    write_note(dir, case_id, name, hex, text, sig, kind != NOTE_UNSIGNED);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (kind == SIG_OLD) { /* the new manifest renamed in, its signature not yet */
        char *other = g_strconcat(text, " ", NULL);
        g_file_set_contents(path, other, -1, NULL);
        g_free(other);
    } else if (kind == ROLLBACK) {
        g_file_set_contents(path, text, -1, NULL);
        snprintf(path, sizeof path, "%s/manifest.sig", dir);
        g_file_set_contents(path, sig, -1, NULL);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        VT_EQ_INT(g_unlink(path), 0);
    }
    snprintf(path, sizeof path, "%s/events-000002.vgs", dir);
    if (kind == SEGMENT_CUT)
        VT_EQ_INT(truncate(path, VG_EV_HDR_LEN + 20), 0);
    VT_EQ_INT(verify(case_id) > 0, 1); /* as it was left: not a recording that verifies */
    int before = alerts;
    ev = open_ev(0);
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    json_t *m = manifest_of(case_id);
    const char *reason = json_string_value(json_object_get(m, "reason"));
    if (kind == SEGMENT_WHOLE || kind == SEGMENT_CUT || kind == SIG_OLD || kind == NOTE_REPLAYED) {
        VT_EQ_INT(verify(case_id), 0);
        VT_CHECK(!case_file(case_id, VG_MANIFEST_PENDING));
        VT_EQ_INT(case_file(case_id, "events-000002.vgs"), kind != SEGMENT_CUT);
        VT_EQ_STR(reason,
                  kind != SEGMENT_CUT ? "citizen hung up; resealed: outcome" : "citizen hung up");
        VT_EQ_INT(alerts - before, 0);
    } else { /* nothing signed, the note kept, a person alerted */
        VT_CHECK(case_file(case_id, VG_MANIFEST_PENDING));
        VT_EQ_STR(reason, "citizen hung up");
        VT_EQ_INT(alerts - before, 1);
        if (kind == ROLLBACK) { /* and the log's last seal is not this manifest */
            char log[400], last[450], have[65];
            int64_t line = 0;
            EVP_PKEY *k = NULL;
            snprintf(log, sizeof log, "%s/evidence-key.pub", root);
            VT_EQ_INT(vg_evkey_load_public(log, &k), VG_OK);
            snprintf(log, sizeof log, "%s/evidence/audit.log", root);
            VT_EQ_INT(vg_audit_last_seal(log, k, case_id, last, &line), VG_OK);
            VT_EQ_INT(vg_manifest_sha256(dir, have), VG_OK);
            VT_CHECK(strcmp(last, have) != 0);
            vg_evkey_free(k);
        }
        char *cmd = g_strdup_printf("rm -rf '%s'", dir); /* the person takes it from here */
        VT_EQ_INT(system(cmd), 0);
        g_free(cmd);
    }
    json_decref(m);
    g_free(text);
    g_free(sig);
}

static void test_crash_in_append(void)
{
    crash_in_append("c-unit-crash1", SEGMENT_WHOLE);
    crash_in_append("c-unit-crash2", SEGMENT_CUT);
    crash_in_append("c-unit-crash3", NOTE_UNSIGNED);
    crash_in_append("c-unit-crash4", NOTE_ODD_NAME);
    crash_in_append("c-unit-crash5", SIG_OLD);
    crash_in_append("c-unit-crash6", NOTE_REPLAYED);
    crash_in_append("c-unit-crash7", ROLLBACK);
}

/* Uploads after the end: only the file the reseal names, with its SHA-256, joins
 * (one planted beside it makes the reseal refuse); an upload announced before it
 * lands is taken in by an append that runs first, and its own reseal then finds it
 * listed. */
static void test_upload_reseal(void)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-up");
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"photos coming\"}");
    vg_recording_finish(r, "citizen hung up");
    vg_evidence_close(ev); /* sealed before any upload lands */
    ev = open_ev(0);
    char dir[400], path[450], hex[65];
    uint8_t sha1[32], sha2[32];
    snprintf(dir, sizeof dir, "%s/evidence/c-unit-up/uploads", root);
    VT_EQ_INT(g_mkdir_with_parents(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/u-1.jpg", dir);
    VT_CHECK(g_file_set_contents(path, "photo one", -1, NULL));
    sha_of(path, hex, sha1);
    snprintf(path, sizeof path, "%s/planted.jpg", dir);
    VT_CHECK(g_file_set_contents(path, "not from the citizen", -1, NULL));
    int before = alerts;
    vg_evidence_reseal(ev, "c-unit-up", "uploads/u-1.jpg", sha1, "upload u-1 after the end");
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(alerts - before, 1);
    VT_EQ_INT(verify("c-unit-up") > 0, 1);
    VT_CONTAINS(problems, "uploads/planted.jpg: not in the manifest");
    VT_CHECK(!case_file("c-unit-up", VG_MANIFEST_PENDING));
    VT_EQ_INT(g_unlink(path), 0);
    ev = open_ev(0);
    vg_evidence_reseal(ev, "c-unit-up", "uploads/u-1.jpg", sha1, "upload u-1 after the end");
    /* the second upload: announced, landed, then an outcome before its own reseal */
    snprintf(path, sizeof path, "%s/u-2.jpg", dir);
    uint8_t md[32];
    unsigned n = 0;
    EVP_Digest("photo two", 9, md, &n, EVP_sha256(), NULL);
    memcpy(sha2, md, 32);
    vg_evidence_expect(ev, "c-unit-up", "uploads/u-2.jpg", sha2);
    /* Moved in whole, as vigild does (from uploads-partial): g_file_set_contents here
     * writes a temp file beside it first, which the reseal of u-1, running meanwhile
     * on the sealer thread, could find and refuse (seen once in CI). */
    char tmp[450];
    snprintf(tmp, sizeof tmp, "%s/u-2.partial", root);
    VT_CHECK(g_file_set_contents(tmp, "photo two", -1, NULL));
    VT_EQ_INT(g_rename(tmp, path), 0);
    vg_evidence_append(ev, "c-unit-up", 9000000, "{\"type\":\"disposition\"}", "outcome");
    vg_evidence_reseal(ev, "c-unit-up", "uploads/u-2.jpg", sha2, "upload u-2 after the end");
    vg_evidence_close(ev);
    VT_EQ_INT(verify("c-unit-up"), 0);
    VT_EQ_INT(listed("c-unit-up", "upload"), 2);
    json_t *m = manifest_of("c-unit-up");
    VT_CONTAINS(json_string_value(json_object_get(m, "reason")),
                "resealed: upload u-1 after the end; resealed: outcome");
    json_decref(m);
}

/* The sweep renames a recording out of the way before removing it: a crash in the
 * middle leaves a tombstone, which the next start removes and audits. */
static void test_tombstone(void)
{
    char dir[400], path[450];
    snprintf(dir, sizeof dir, "%s/evidence/.deleting-c-unit-old", root);
    VT_EQ_INT(g_mkdir_with_parents(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/leg-5-000001.vgs", dir);
    VT_CHECK(g_file_set_contents(path, "half removed", -1, NULL));
    struct vg_evidence *ev = open_ev(0);
    vg_evidence_close(ev);
    VT_CHECK(!g_file_test(dir, G_FILE_TEST_EXISTS));
    snprintf(path, sizeof path, "%s/evidence/audit.log", root);
    gchar *log = NULL;
    VT_CHECK(g_file_get_contents(path, &log, NULL, NULL));
    VT_CHECK(strstr(log, "\"action\":\"delete_expired\",\"case_id\":\"c-unit-old\"") != NULL);
    g_free(log);
}

/* The manifest's gap for the time vigild was down, or NULL. */
static json_t *restart_gap(json_t *m)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m, "gaps"), i, g)
    {
        const char *why = json_string_value(json_object_get(g, "reason"));
        if (why && strcmp(why, "vigild_restarted") == 0)
            return g;
    }
    return NULL;
}

/* A case live across a restart goes on being recorded in the same recording. A stop
 * pauses it (every file synced, recording_paused last, no manifest); a crash leaves
 * a torn segment. At the next start both are resumed: the torn segment cut and
 * listed, the events log continued (its chain unbroken), the new legs' files beside
 * the old ones; the one manifest, at the case's end, lists every file, says
 * incomplete, and gives the time vigild was down as a gap. A recording left open
 * whose case is not live is sealed at start as before; one of a live case that the
 * owner did not restart is sealed by vg_evidence_seal_unresumed. */
static void test_resume(void)
{
    struct vg_evidence *ev = open_ev_with(0, is_live);
    struct vg_recording *r = vg_recording_start(ev, "c-unit-live-stop");
    vg_recording_event(r, 1000, "{\"type\":\"leg\",\"leg\":\"5\",\"party\":\"citizen\"}");
    struct vg_recording_tap *t = vg_recording_tap_new(r, 5);
    rtp_burst(t, 30, 2000);
    vg_recording_tap_free(t);
    struct vg_recording *gone = vg_recording_start(ev, "c-unit-live-gone");
    vg_recording_event(gone, 1500, "{\"type\":\"state\",\"state\":\"queued\"}");
    vg_recording_unref(gone);
    vg_recording_unref(r); /* vigild stops with the cases live */
    r = vg_recording_start(ev, "c-unit-live-tamper");
    vg_recording_event(r, 1000, "{\"type\":\"chat\",\"text\":\"he has a knife\"}");
    t = vg_recording_tap_new(r, 6);
    rtp_burst(t, 30, 2000);
    vg_recording_tap_free(t);
    vg_recording_unref(r);
    vg_evidence_close(ev);
    /* while vigild is down, someone edits the paused recording: the chat goes, and a
     * media file */
    char tpath[400];
    snprintf(tpath, sizeof tpath, "%s/evidence/c-unit-live-tamper/events-000001.vgs", root);
    gchar *tb = NULL;
    gsize tlen = 0;
    VT_CHECK(g_file_get_contents(tpath, &tb, &tlen, NULL));
    char *knife = memmem(tb, tlen, "knife", 5);
    VT_CHECK(knife != NULL);
    if (knife)
        memcpy(knife, "spoon", 5);
    VT_CHECK(g_file_set_contents(tpath, tb, (gssize)tlen, NULL));
    g_free(tb);
    snprintf(tpath, sizeof tpath, "%s/evidence/c-unit-live-tamper/leg-6-000001.vgs", root);
    VT_EQ_INT(g_unlink(tpath), 0);
    VT_CHECK(!case_file("c-unit-live-stop", "manifest.json"));
    VT_CHECK(case_file("c-unit-live-stop", "events-000001.vgs"));
    char dir[300], path[400];
    uint8_t buf[VG_EV_HDR_LEN + 3 * 116];
    size_t off = crashed_segment("c-unit-live-crash", 768, buf, sizeof buf, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/leg-768-000001.vgs", dir);
    g_file_set_contents(path, (const char *)buf, (gssize)(off - 30), NULL);
    crashed_segment("c-unit-dead-crash", 768, buf, sizeof buf, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/leg-768-000001.vgs", dir);
    g_file_set_contents(path, (const char *)buf, (gssize)(off - 30), NULL);

    ev = open_ev_with(0, is_live);
    VT_EQ_INT(vg_evidence_recovered(ev), 1); /* the dead case's only */
    VT_CHECK(case_file("c-unit-dead-crash", "manifest.sig"));
    VT_CHECK(!case_file("c-unit-live-crash", "manifest.json"));
    const char *ids[] = {"c-unit-live-stop", "c-unit-live-crash", "c-unit-live-tamper",
                         "c-unit-live-new"};
    int alerts0 = alerts;
    for (int i = 0; i < 4; i++) {
        r = vg_recording_restore(ev, ids[i]);
        VT_CHECK(r != NULL);
        vg_recording_event(r, g_get_real_time(),
                           "{\"type\":\"leg\",\"leg\":\"9\",\"party\":\"citizen\"}");
        t = vg_recording_tap_new(r, 9);
        rtp_burst(t, 20, g_get_real_time());
        vg_recording_tap_free(t);
        vg_recording_finish(r, "citizen hung up");
    }
    vg_evidence_seal_unresumed(ev); /* c-unit-live-gone was not started again */
    vg_evidence_close(ev);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    VT_EQ_INT(alerts - alerts0, 1); /* the tampered one */
    json_t *mt = manifest_of("c-unit-live-tamper");
    const char *tw = json_string_value(json_object_get(mt, "reason"));
    printf("c-unit-live-tamper: %s\n", tw);
    VT_CONTAINS(tw, "2 files CHANGED OR REMOVED while vigild was down");
    VT_CHECK(json_is_false(json_object_get(mt, "complete")));
    json_decref(mt);
    mt = manifest_of("c-unit-live-new"); /* restored with nothing left of it: begun anew */
    VT_CHECK(json_is_false(json_object_get(mt, "complete")));
    VT_CONTAINS(json_string_value(json_object_get(mt, "reason")),
                "recorded only from a restart on");
    json_decref(mt);

    for (int i = 0; i < 2; i++) {
        VT_EQ_INT(verify(ids[i]), 0);
        if (problems[0])
            printf("%s", problems);
        json_t *m = manifest_of(ids[i]);
        VT_CHECK(json_is_false(json_object_get(m, "complete")));
        const char *why = json_string_value(json_object_get(m, "reason"));
        printf("%s: %s\n", ids[i], why);
        VT_CONTAINS(why, "citizen hung up; resumed after a restart (");
        VT_CONTAINS(why, i == 0 ? "(vigild stopped while the case was open)"
                                : "(vigild stopped unexpectedly)");
        json_t *g = restart_gap(m);
        VT_CHECK(g != NULL);
        VT_CHECK(json_integer_value(json_object_get(g, "to_us")) >
                 json_integer_value(json_object_get(g, "from_us")));
        json_int_t from = json_integer_value(json_object_get(g, "from_us"));
        if (i == 0) /* the pause, last in the log */
            VT_CHECK(from > 2029000 && from <= json_integer_value(json_object_get(g, "to_us")));
        else /* the last whole record */
            VT_EQ_INT(from, 7020000);
        VT_CHECK(case_file(ids[i], "leg-9-000001.vgs"));
        VT_CHECK(case_file(ids[i], i == 0 ? "leg-5-000001.vgs" : "leg-768-000001.vgs"));
        VT_CHECK(case_file(ids[i], i == 0 ? "events-000002.vgs" : "events-000001.vgs"));
        json_t *cut = json_object_get(m, "truncated");
        VT_EQ_INT(json_array_size(cut), i == 0 ? 0 : 1);
        if (i == 1)
            VT_EQ_INT(json_integer_value(json_object_get(json_array_get(cut, 0), "to_size")),
                      (long long)(off - 116));
        json_decref(m);
    }
    VT_EQ_INT(verify("c-unit-live-gone"), 0);
    json_t *m = manifest_of("c-unit-live-gone");
    VT_CHECK(json_is_false(json_object_get(m, "complete")));
    VT_EQ_STR(json_string_value(json_object_get(m, "reason")),
              "vigild stopped while the case was open; its case was not restored at the next "
              "start");
    json_decref(m);
    m = manifest_of("c-unit-dead-crash");
    VT_EQ_STR(json_string_value(json_object_get(m, "reason")),
              "vigild stopped unexpectedly; closed as incomplete at restart");
    json_decref(m);
}

static char said[4096];

static void say_line(const char *level, const char *case_id, const char *what, void *ud)
{
    (void)ud;
    size_t n = strlen(said);
    snprintf(said + n, sizeof said - n, "%s %s: %s\n", level, case_id, what);
}

static void short_recording(const char *case_id)
{
    struct vg_evidence *ev = open_ev(0);
    struct vg_recording *r = vg_recording_start(ev, case_id);
    VT_CHECK(r != NULL);
    struct vg_recording_tap *t = vg_recording_tap_new(r, 512);
    rtp_burst(t, 20, 2000);
    vg_recording_tap_free(t);
    vg_recording_finish(r, "case ended");
    vg_evidence_close(ev);
}

static unsigned inventory(bool whole, struct vg_inventory *inv)
{
    char dir[300], log[300], pub[300];
    snprintf(dir, sizeof dir, "%s/evidence", root);
    snprintf(log, sizeof log, "%s/evidence/audit.log", root);
    snprintf(pub, sizeof pub, "%s/evidence-key.pub", root);
    EVP_PKEY *k = NULL;
    VT_EQ_INT(vg_evkey_load_public(pub, &k), VG_OK);
    said[0] = '\0';
    unsigned bad = vg_inventory_check(dir, log, k, whole, say_line, NULL, inv);
    printf("inventory: named %u present %u deleted %u problems %u unnamed %u\n%s", inv->named,
           inv->present, inv->deleted, inv->problems, inv->unnamed, said);
    vg_evkey_free(k);
    return bad;
}

/* The folder against its log (vigil-verify --audit): a recording deleted under
 * retention is accounted for by its deletion entry, one moved away is named MISSING,
 * one whose manifest changed is named as not the one signed last, and a changed
 * segment only when each recording is verified whole. In a root of its own. */
static void test_inventory(void)
{
    char saved[sizeof root], a[400], b[400];
    memcpy(saved, root, sizeof root);
    g_snprintf(root, sizeof root, "%s/inv", saved);
    VT_EQ_INT(g_mkdir(root, 0700), 0);
    short_recording("c-inv-old");
    struct vg_evidence *ev = open_ev(0);
    VT_EQ_INT(vg_evidence_sweep(ev, g_get_real_time() + 2LL * 86400 * 1000000, 1), 1);
    vg_evidence_close(ev);
    short_recording("c-inv-a");
    short_recording("c-inv-b");
    struct vg_inventory inv;
    VT_EQ_INT(inventory(true, &inv), 0);
    VT_EQ_INT(inv.named, 3);
    VT_EQ_INT(inv.present, 2);
    VT_EQ_INT(inv.deleted, 1);
    VT_EQ_INT(inv.unnamed, 0);
    VT_CONTAINS(said, "OK c-inv-old: deleted under retention (kept 1 days)");

    /* moved out of its name: missing, and the folder it is in now is not named */
    snprintf(a, sizeof a, "%s/evidence/c-inv-a", root);
    snprintf(b, sizeof b, "%s/evidence/c-inv-a-copy", root);
    VT_EQ_INT(rename(a, b), 0);
    VT_EQ_INT(inventory(false, &inv), 1);
    VT_CONTAINS(said, "FAIL c-inv-a: MISSING: its recording was sealed at");
    VT_EQ_INT(inv.unnamed, 1);
    VT_CONTAINS(said, "NOTE c-inv-a-copy:");
    VT_EQ_INT(rename(b, a), 0);

    /* its manifest changed (a space added): not the one signed last */
    snprintf(a, sizeof a, "%s/evidence/c-inv-b/manifest.json", root);
    gchar *text = NULL;
    gsize len = 0;
    VT_CHECK(g_file_get_contents(a, &text, &len, NULL));
    gchar *more = g_strconcat(text, " ", NULL);
    VT_CHECK(g_file_set_contents(a, more, -1, NULL));
    VT_EQ_INT(inventory(false, &inv), 1);
    VT_CONTAINS(said, "FAIL c-inv-b: not the manifest the centre last signed");
    VT_CHECK(g_file_set_contents(a, text, (gssize)len, NULL));
    g_free(more);
    g_free(text);

    /* a segment's byte changed: only the whole check sees it */
    snprintf(a, sizeof a, "%s/evidence/c-inv-a/leg-512-000001.vgs", root);
    VT_CHECK(g_file_get_contents(a, &text, &len, NULL));
    text[len / 2] ^= 1;
    VT_CHECK(g_file_set_contents(a, text, (gssize)len, NULL));
    g_free(text);
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_EQ_INT(inventory(true, &inv) > 0, 1);
    VT_CONTAINS(said, "FAIL c-inv-a: leg-512-000001.vgs: altered");

    /* a crash right after the sweep renamed a recording out of the way: the folder
     * says it is being deleted (no FAIL); the next start finishes the deletion and
     * writes the entry, naming the manifest deleted */
    short_recording("c-inv-t");
    snprintf(a, sizeof a, "%s/evidence/c-inv-t", root);
    snprintf(b, sizeof b, "%s/evidence/.deleting-c-inv-t", root);
    VT_EQ_INT(rename(a, b), 0);
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_CONTAINS(said, "NOTE c-inv-t: being deleted under retention");
    ev = open_ev(0);
    vg_evidence_close(ev);
    VT_CHECK(!g_file_test(b, G_FILE_TEST_EXISTS));
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_CONTAINS(said, "OK c-inv-t: deleted under retention");
    VT_EQ_INT(inv.deleted, 2);

    /* the anchor: the last line's number and hash, read from the end alone, are line
     * N's as a whole read gives them; cut the last line off and it is gone */
    char log[400], head[65], at[65];
    snprintf(log, sizeof log, "%s/evidence/audit.log", root);
    int64_t seq = 0, lines = 0;
    VT_EQ_INT(vg_audit_head(log, &seq, head), VG_OK);
    VT_EQ_INT(vg_audit_hash_at(log, seq, &lines, at), VG_OK);
    VT_EQ_INT(lines, seq);
    VT_EQ_STR(at, head);
    VT_EQ_INT(vg_audit_hash_at(log, 1, &lines, at), VG_OK);
    VT_CHECK(strcmp(at, head) != 0);
    VT_CHECK(g_file_get_contents(log, &text, &len, NULL));
    text[len - 1] = '\0';                                         /* the last line's newline */
    gsize keep = (gsize)(strrchr(text, '\n') - text) + 1;         /* through the line before's */
    VT_CHECK(g_file_set_contents(log, text, (gssize)keep, NULL)); /* cut back by one line */
    g_free(text);
    VT_EQ_INT(vg_audit_hash_at(log, seq, &lines, at), VG_ENOENT);
    VT_EQ_INT(lines, seq - 1);
    int64_t seq2 = 0;
    VT_EQ_INT(vg_audit_head(log, &seq2, at), VG_OK);
    VT_EQ_INT(seq2, seq - 1);
    memcpy(root, saved, sizeof root);
}

/* The line of the log that holds `needle`, whole (with its newline), or NULL. */
static gchar *log_line_with(const char *log, const char *needle)
{
    gchar *all = NULL, *line = NULL;
    if (!g_file_get_contents(log, &all, NULL, NULL))
        return NULL;
    const char *p = strstr(all, needle);
    if (p) {
        const char *b = p, *e = strchr(p, '\n');
        while (b > all && b[-1] != '\n')
            b--;
        line = g_strndup(b, (gsize)(e - b) + 1);
    }
    g_free(all);
    return line;
}

/* Appends text to the file (a line written into the log by hand). */
static void append_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    VT_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Legal holds: a held recording outlives its retention and is deleted once the hold
 * is lifted; only signed entries place or lift one (asked of the whole log and of
 * the index, which a line written by hand sends back to the earlier ones); the
 * folder's check names a held recording, and a deletion while a hold stood is a
 * FAIL. In a root of its own. */
static void test_legal_hold(void)
{
    char saved[sizeof root], log[400], pub[400], copy[400], dir[400];
    memcpy(saved, root, sizeof root);
    g_snprintf(root, sizeof root, "%s/hold", saved);
    VT_EQ_INT(g_mkdir(root, 0700), 0);
    snprintf(log, sizeof log, "%s/evidence/audit.log", root);
    snprintf(pub, sizeof pub, "%s/evidence-key.pub", root);
    short_recording("c-hold-a");
    short_recording("c-hold-b");
    struct vg_evidence *ev = open_ev(0);
    int64_t line = 0;
    VT_CHECK(!vg_evidence_held(ev, "c-hold-a", &line));
    VT_EQ_INT(vg_evidence_hold(ev, "sue", "supervisor", "c-hold-a", true, "court order 7/2026"),
              VG_OK);
    VT_CHECK(vg_evidence_held(ev, "c-hold-a", &line));
    VT_CHECK(line > 0);
    int64_t placed = line;
    VT_CHECK(!vg_evidence_held(ev, "c-hold-b", &line));
    VT_EQ_INT(line, 0);

    /* two days on, with one day's retention: b goes, a stays */
    int64_t later = g_get_real_time() + 2LL * 86400 * 1000000;
    VT_EQ_INT(vg_evidence_sweep(ev, later, 1), 1);
    snprintf(dir, sizeof dir, "%s/evidence/c-hold-a", root);
    VT_CHECK(g_file_test(dir, G_FILE_TEST_IS_DIR));
    snprintf(dir, sizeof dir, "%s/evidence/c-hold-b", root);
    VT_CHECK(!g_file_test(dir, G_FILE_TEST_EXISTS));
    struct vg_inventory inv;
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_CONTAINS(said, "NOTE c-hold-a: under a legal hold (audit log line");
    VT_CONTAINS(said, "OK c-hold-b: deleted under retention");

    /* lines written by hand, in a copy of the log: a lift with the placing line's
     * signature, and a hold of b with a's signature; neither counts */
    EVP_PKEY *k = NULL;
    VT_EQ_INT(vg_evkey_load_public(pub, &k), VG_OK);
    snprintf(copy, sizeof copy, "%s/forged.log", root);
    gchar *text = NULL;
    gsize len = 0;
    VT_CHECK(g_file_get_contents(log, &text, &len, NULL));
    VT_CHECK(g_file_set_contents(copy, text, (gssize)len, NULL));
    g_free(text);
    struct vg_audit_index *x = vg_audit_index_new(copy, k);
    VT_EQ_INT(vg_audit_index_held(x, "c-hold-a", &line), VG_OK); /* indexed before the forgery */
    gchar *hold = log_line_with(copy, "\"result\":\"placed\"");
    VT_CHECK(hold != NULL);
    gchar *lift = g_strdup(hold);
    memcpy(strstr(lift, "\"placed\""), "\"lifted\"", 8);
    append_text(copy, lift);
    gchar *other = g_strdup(hold);
    memcpy(strstr(other, "c-hold-a"), "c-hold-b", 8);
    append_text(copy, other);
    VT_EQ_INT(vg_audit_held(copy, k, "c-hold-a", &line), VG_OK);
    VT_EQ_INT(line, placed);
    VT_EQ_INT(vg_audit_index_held(x, "c-hold-a", &line), VG_OK); /* back to the signed one */
    VT_EQ_INT(line, placed);
    VT_EQ_INT(vg_audit_held(copy, k, "c-hold-b", &line), VG_ENOENT);
    VT_EQ_INT(vg_audit_index_held(x, "c-hold-b", &line), VG_ENOENT);
    vg_audit_index_free(x);
    g_free(hold);
    g_free(lift);
    g_free(other);

    /* lifted: retention applies again, and the index sees the lift appended */
    x = vg_audit_index_new(log, k);
    VT_EQ_INT(vg_audit_index_held(x, "c-hold-a", &line), VG_OK);
    VT_EQ_INT(vg_evidence_hold(ev, "eve", "evidence", "c-hold-a", false, "case closed"), VG_OK);
    VT_CHECK(!vg_evidence_held(ev, "c-hold-a", &line));
    VT_EQ_INT(vg_audit_index_held(x, "c-hold-a", &line), VG_ENOENT);
    vg_audit_index_free(x);
    VT_EQ_INT(vg_evidence_sweep(ev, later, 1), 1);
    snprintf(dir, sizeof dir, "%s/evidence/c-hold-a", root);
    VT_CHECK(!g_file_test(dir, G_FILE_TEST_EXISTS));
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_CONTAINS(said, "OK c-hold-a: deleted under retention");
    vg_evidence_close(ev);

    /* the sweep on the sealer's thread asks its index (what vigild does) */
    short_recording("c-hold-e");
    ev = open_ev(0);
    VT_EQ_INT(vg_evidence_hold(ev, "sue", "supervisor", "c-hold-e", true, "inquiry"), VG_OK);
    vg_evidence_sweep_later(ev, later, 1);
    vg_evidence_close(ev); /* after every job queued */
    snprintf(dir, sizeof dir, "%s/evidence/c-hold-e", root);
    VT_CHECK(g_file_test(dir, G_FILE_TEST_IS_DIR));

    /* the deletion's entry is refused once a hold stands, whoever placed it */
    struct vg_audit *a = NULL;
    EVP_PKEY *priv = NULL;
    char kp[400], err[200];
    snprintf(kp, sizeof kp, "%s/evidence-key.pem", root);
    VT_EQ_INT(vg_evkey_load_or_create(kp, &priv, err, sizeof err), VG_OK);
    VT_EQ_INT(vg_audit_open(log, priv, &a, err, sizeof err), VG_OK);
    gsize before = 0;
    VT_CHECK(g_file_get_contents(log, &text, &before, NULL));
    g_free(text);
    VT_EQ_INT(vg_audit_append_unless_held(a, NULL, 1, "vigild", "system", "delete_expired",
                                          "c-hold-e", "done", NULL, &line),
              VG_EPERM);
    VT_CHECK(line > 0);
    VT_CHECK(g_file_get_contents(log, &text, &len, NULL));
    g_free(text);
    VT_EQ_INT(len, before); /* nothing written */
    vg_audit_free(a);
    vg_evkey_free(priv);

    /* a crash between the sweep's rename and its entry, the recording held: the next
     * start puts it back instead of finishing the deletion */
    char tomb[400];
    snprintf(tomb, sizeof tomb, "%s/evidence/.deleting-c-hold-e", root);
    VT_EQ_INT(rename(dir, tomb), 0);
    ev = open_ev(0);
    vg_evidence_close(ev);
    VT_CHECK(g_file_test(dir, G_FILE_TEST_IS_DIR));
    VT_CHECK(!g_file_test(tomb, G_FILE_TEST_EXISTS));
    VT_EQ_INT(inventory(false, &inv), 0);
    VT_CONTAINS(said, "NOTE c-hold-e: under a legal hold");

    /* deleted while held, by something that did not ask the log (an older vigild, a
     * tool): the folder's check fails it */
    short_recording("c-hold-c");
    ev = open_ev(0);
    VT_EQ_INT(vg_evidence_hold(ev, "sue", "supervisor", "c-hold-c", true, "appeal pending"), VG_OK);
    snprintf(dir, sizeof dir, "%s/evidence/c-hold-c", root);
    char sha[65], detail[200];
    VT_EQ_INT(vg_manifest_sha256(dir, sha), VG_OK);
    snprintf(detail, sizeof detail,
             "{\"retention_days\":1,\"closed_us\":1,\"deleted_manifest_sha256\":\"%s\"}", sha);
    VT_EQ_INT(
        vg_evidence_audit(ev, "vigild", "system", "delete_expired", "c-hold-c", "done", detail),
        VG_OK);
    vg_evidence_close(ev);
    char cmd[500];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", dir);
    VT_EQ_INT(system(cmd), 0);
    VT_EQ_INT(inventory(false, &inv), 1);
    VT_CONTAINS(said, "FAIL c-hold-c: deleted at");
    VT_CONTAINS(said, "while under the legal hold placed at line");
    unsigned entries = 0;
    problems[0] = '\0';
    VT_EQ_INT(vg_audit_verify(log, k, report, NULL, &entries), 0); /* the log itself is whole */
    vg_evkey_free(k);
    memcpy(root, saved, sizeof root);
}

/* One segment file: a header and records of the given type at the given times (0
 * records: a segment just opened). */
static void segment_file(const char *dir, const char *name, uint64_t stream, uint32_t seq,
                         uint8_t type, const int64_t *at, int n)
{
    static uint8_t buf[VG_EV_HDR_LEN + 8 * (VG_EV_REC_HDR + 64)];
    struct vg_ev_seg_header h = {.stream = stream, .seq = seq, .opened_us = at ? at[0] : 1};
    snprintf(h.case_id, sizeof h.case_id, "c-cutrot");
    VT_EQ_INT(vg_ev_header_write(&h, buf), VG_OK);
    size_t off = VG_EV_HDR_LEN;
    static const uint8_t rtp[12] = {0x80, 96};
    const char *ev = "{\"type\":\"state\"}";
    for (int i = 0; i < n && i < 8; i++) {
        struct vg_ev_record r = {type, 0, at[i], type == VG_EV_REC_RTP ? rtp : (const uint8_t *)ev,
                                 type == VG_EV_REC_RTP ? 12u : (uint32_t)strlen(ev)};
        int k = vg_ev_record_write(&r, buf + off, sizeof buf - off);
        VT_CHECK(k > 0);
        off += (size_t)k;
    }
    char path[450];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    VT_CHECK(g_file_set_contents(path, (const char *)buf, (gssize)off, NULL));
}

/* A crash right after a leg's segment rotated (its new segment has no record yet):
 * the recording stopped at that leg's last record, in the segment before, not at the
 * events log's last, seconds earlier (the gap once claimed those seconds). */
static void test_cut_after_rotation(void)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/c-cutrot", root);
    VT_EQ_INT(g_mkdir(dir, 0700), 0);
    const int64_t ev[] = {1000000}, media[] = {2000000, 3000000, 4000000, 5000000};
    segment_file(dir, "events-000001.vgs", 0, 1, VG_EV_REC_EVENT, ev, 1);
    segment_file(dir, "leg-512-000001.vgs", 512, 1, VG_EV_REC_RTP, media, 4);
    segment_file(dir, "leg-512-000002.vgs", 512, 2, VG_EV_REC_RTP, NULL, 0);
    json_t *cut = json_array();
    int64_t stopped = 0;
    uint32_t seq = 0;
    uint8_t sha[32];
    char err[300] = "";
    VT_EQ_INT(vg_manifest_cut_open(dir, cut, &stopped, &seq, sha, err, sizeof err), VG_OK);
    printf("stopped at %lld us (the leg's last record: 5000000)\n", (long long)stopped);
    VT_EQ_INT(stopped, 5000000);
    json_decref(cut);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/vigil-recorder-XXXXXX", g_get_tmp_dir());
    VT_CHECK(g_mkdtemp(root) != NULL);
    g_snprintf(full_dir, sizeof full_dir, "%s/full", root);
    if (g_mkdir(full_dir, 0700) != 0 || !private_tmpfs(full_dir, "size=512k")) {
        printf("no private tmpfs at %s: %s\n", full_dir, g_strerror(errno));
        full_dir[0] = '\0';
    }
    test_record_and_verify();
    test_gap();
    test_wraps();
    test_small_passes();
    test_quiet_leg();
    test_cut_inside_a_record();
    test_recovery();
    test_disk_full();
    test_audit_and_retention();
    test_zeros_after_crash(); /* after the sweep's count of 7 */
    test_seal_aside();
    test_append();
    test_append_same_time();
    test_sealed_at_restart();
    test_append_guarded();
    test_crash_in_append();
    test_upload_reseal();
    test_tombstone();
    test_resume();
    test_inventory();
    test_legal_hold();
    test_cut_after_rotation();
    if (full_dir[0])
        umount2(full_dir, MNT_DETACH);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("could not remove %s\n", root);
    return vt_done("recorder");
}
