/* Evidence in the hub: a recording per case from alarm_start to its end, the
 * case's events into it, a tap on each of its media legs, and the protocol for
 * supervisors and evidence accounts to list and download recordings, every access
 * (and every refusal) in the audit log. The formats and the writer are in
 * src/evidence; this file only connects them to cases. */
#include "hub_internal.h"

#include "audit.h"
#include "evfmt.h"
#include "log.h"
#include "sniff.h"
#include "upload_store.h"
#include "vg_err.h"
#include "vtime.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define CHUNK_MAX 49152 /* bytes per evidence_data message: 64 KB of base64 */

static void on_alert(const char *case_id, const char *kind, const char *detail, void *ud)
{
    cases_alert(ud, case_id, kind, detail);
}

/* The audit log's last line and hash, into vigild's own log (the journal, often sent
 * on to another host) each hour and at the stop: a place the evidence folder's holder
 * does not write, from which vigil-verify --anchor shows the log was not cut back. */
static void log_anchor(const char *log)
{
    char hex[65];
    int64_t seq = 0;
    if (vg_audit_head(log, &seq, hex) == VG_OK)
        vg_info(NULL, NULL,
                "evidence: audit log anchor: line %lld sha256 %s (vigil-verify --anchor %lld:%s)",
                (long long)seq, hex, (long long)seq, hex);
}

/* The retention sweep deletes by the wall clock: a clock stepped forward by the
 * retention period (a bad time source) would delete every recording. Since start,
 * the wall clock may not run more than this ahead of the boot clock (which counts
 * a suspend too) for the sweep to delete anything. */
#define CLOCK_AHEAD_MAX_US (3600LL * 1000000)

static gboolean sweep_cb(gpointer ud)
{
    struct vg_hub *h = ud;
    int64_t ahead = (vg_wall_us() - h->sweep_wall0) - (vg_boot_us() - h->sweep_boot0);
    if (ahead > CLOCK_AHEAD_MAX_US) {
        vg_error(NULL, NULL,
                 "evidence: the wall clock ran %lld s ahead of the boot clock since start: no "
                 "recording deleted (retention) until vigild is restarted with the clock right",
                 (long long)(ahead / 1000000));
        cases_alert(h, NULL, "recording_error",
                    "{\"error\":\"the clock jumped forward: the retention sweep is held\"}");
        return G_SOURCE_CONTINUE;
    }
    /* A clock already wrong at start (far ahead) is not seen above: the sweep also
     * never reaches past the latest case event the store holds, as that event was
     * recorded, so it cannot delete every recording at once; a centre with no alarm
     * for the whole retention period keeps its recordings until the next one. */
    int64_t now = vg_wall_us(), latest = vg_store_latest_event_us(h->store);
    if (latest && now > latest + CLOCK_AHEAD_MAX_US) {
        if (!h->sweep_held)
            vg_warn(NULL, NULL,
                    "evidence: the clock reads %lld s past the latest case event: the retention "
                    "sweep counts from that event, not from now",
                    (long long)((now - latest) / 1000000));
        h->sweep_held = true;
        now = latest + CLOCK_AHEAD_MAX_US;
    } else {
        h->sweep_held = false;
    }
    /* on the sealer's thread: deleting recordings is slow IO, and it must not race a
     * reseal of the same case */
    vg_evidence_sweep_later(h->evidence, now, (unsigned)h->cfg->evidence_retention_days);
    char *log = g_build_filename(vg_evidence_dir(h->evidence), "audit.log", NULL);
    log_anchor(log);
    g_free(log);
    return G_SOURCE_CONTINUE;
}

/* A case the store holds as live is restored at start (cases_load): its recording,
 * left open by the stop or crash, is resumed rather than sealed. */
static bool case_live(const char *case_id, void *ud)
{
    struct vg_hub *h = ud;
    struct vg_case_row row;
    int rc = vg_store_case_get(h->store, case_id, &row);
    if (rc != VG_OK) /* unreadable: left open; sealed after the load if not restored */
        return rc != VG_ENOENT;
    return strcmp(row.state, "queued") == 0 || strcmp(row.state, "offered") == 0 ||
           strcmp(row.state, "answered") == 0;
}

int evidence_start(struct vg_hub *h, char *err, size_t n)
{
    const struct vg_config *c = h->cfg;
    if (!c->evidence_enabled)
        return VG_OK;
    char *dir = c->evidence_dir[0] ? g_strdup(c->evidence_dir)
                                   : g_build_filename(c->data_dir, "evidence", NULL);
    char *key = g_build_filename(c->data_dir, "evidence-key.pem", NULL);
    /* One ring per media worker (the engine's count: 0 is one per core). */
    unsigned workers = c->media_workers ? (unsigned)c->media_workers : g_get_num_processors();
    struct vg_evidence_config ec = {dir,
                                    key,
                                    (unsigned)c->evidence_queue_mb * 1024,
                                    (unsigned)c->evidence_segment_seconds,
                                    (unsigned)c->evidence_segment_mb,
                                    on_alert,
                                    h,
                                    NULL,
                                    workers,
                                    case_live};
    int rc = vg_evidence_open(&ec, &h->evidence, err, n);
    g_free(dir);
    g_free(key);
    if (rc)
        return rc;
    if (vg_evidence_recovered(h->evidence))
        vg_warn(NULL, NULL,
                "evidence: %u recordings left open by a crash or stop (their cases no longer "
                "live) closed at start",
                vg_evidence_recovered(h->evidence));
    h->sweep_wall0 = vg_wall_us();
    h->sweep_boot0 = vg_boot_us();
    sweep_cb(h);
    h->sweep_timer = g_timeout_add_seconds(3600, sweep_cb, h);
    evidence_reconcile(h);
    return VG_OK;
}

void evidence_stop(struct vg_hub *h)
{
    if (h->sweep_timer)
        g_source_remove(h->sweep_timer);
    h->sweep_timer = 0;
    char *log =
        h->evidence ? g_build_filename(vg_evidence_dir(h->evidence), "audit.log", NULL) : NULL;
    vg_evidence_close(h->evidence);
    h->evidence = NULL;
    if (log) /* after the close: its last entries (pauses, seals) are in */
        log_anchor(log);
    g_free(log);
}

void evidence_case_start(struct vg_hub *h, struct live_case *lc)
{
    if (h->evidence && !lc->rec)
        lc->rec = vg_recording_start(h->evidence, lc->row.id);
}

void evidence_case_restore(struct vg_hub *h, struct live_case *lc)
{
    if (h->evidence && !lc->rec)
        lc->rec = vg_recording_restore(h->evidence, lc->row.id);
}

void evidence_note(struct live_case *lc, const char *type, json_t *e)
{
    if (!e)
        e = json_object();
    if (lc && lc->rec) {
        json_t *o = json_pack("{s:s}", "type", type);
        json_object_update(o, e);
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            vg_recording_event(lc->rec, vg_wall_us(), text);
        free(text);
        json_decref(o);
    }
    json_decref(e);
}

/* An upload's file in its case's directory: "uploads/<id>.<ext>", and its SHA-256. */
static bool upload_file(const char *id, const char *type, const char *sha_hex, char *name, size_t n,
                        uint8_t sha[32])
{
    if (!id || !type || !sha_hex || vg_ev_unhex(sha_hex, sha, 32) != VG_OK)
        return false;
    snprintf(name, n, "uploads/%s.%s", id, vg_sniff_ext(vg_sniff_from_mime(type)));
    return true;
}

void evidence_expect_upload(struct vg_hub *h, const char *case_id, const char *id, const char *type,
                            const char *sha_hex)
{
    char name[64];
    uint8_t sha[32];
    if (h->evidence && upload_file(id, type, sha_hex, name, sizeof name, sha))
        vg_evidence_expect(h->evidence, case_id, name, sha);
}

void evidence_upload(struct vg_hub *h, struct live_case *lc, const char *case_id, json_t *upload)
{
    if (lc && lc->rec) { /* in the recording's event log; the manifest at the end lists it */
        evidence_note(lc, "upload", json_deep_copy(upload));
        return;
    }
    if (!h->evidence)
        return;
    /* The case ended (or its recording could not be resumed after a restart): its
     * recording was closed then, so the file joins that closed recording. */
    const char *id = json_string_value(json_object_get(upload, "upload_id"));
    const char *type = json_string_value(json_object_get(upload, "type"));
    const char *hex = json_string_value(json_object_get(upload, "sha256"));
    char why[120], name[64];
    uint8_t sha[32];
    snprintf(why, sizeof why, "upload %s after the recording closed", id ? id : "?");
    if (upload_file(id, type, hex, name, sizeof name, sha)) /* audited by the sealer */
        vg_evidence_reseal(h->evidence, case_id, name, sha, why);
}

void evidence_after_end(struct vg_hub *h, const char *case_id, const char *type, json_t *e,
                        const char *why, int64_t at_us)
{
    if (!h->evidence) {
        json_decref(e);
        return;
    }
    json_t *o = json_pack("{s:s}", "type", type);
    json_object_update(o, e);
    json_decref(e);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text) /* audited by the sealer, as it ends */
        vg_evidence_append(h->evidence, case_id, at_us, text, why);
    free(text);
}

void evidence_case_end(struct live_case *lc, const char *reason)
{
    vg_recording_finish(lc->rec, reason);
    lc->rec = NULL;
}

void evidence_case_drop(struct live_case *lc)
{
    vg_recording_unref(lc->rec); /* vigild stops: paused by the writer, resumed at start */
    lc->rec = NULL;
}

/* Media legs --------------------------------------------------------------------------- */

static void tap_rtp(void *ud, uint64_t leg, unsigned kind, int64_t at_us, const uint8_t *pkt,
                    size_t len)
{
    (void)leg; /* the tap knows its leg */
    vg_recording_tap_rtp(ud, kind, at_us, pkt, len);
}

static void tap_release(void *ud)
{
    vg_recording_tap_free(ud);
}

void evidence_tap_leg(struct vg_hub *h, struct live_case *lc, uint64_t leg)
{
    if (!lc->rec)
        return;
    struct vg_media_tap t = {tap_rtp, tap_release, vg_recording_tap_new(lc->rec, leg)};
    vg_media_leg_tap(h->media, leg, &t);
}

/* The leg's codecs, from the engine's SDP: a=rtpmap:PT NAME/CLOCK[/CH]. The player
 * of a recording needs them; payload types differ from call to call. */
void evidence_leg_sdp(struct live_case *lc, uint64_t leg, const char *party, const char *sdp)
{
    if (!lc || !lc->rec)
        return;
    json_t *map = json_object();
    char **lines = g_strsplit(sdp, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (!g_str_has_prefix(l, "a=rtpmap:"))
            continue;
        char *sp = strchr(l, ' ');
        if (sp) {
            *sp = '\0';
            json_object_set_new(map, l + 9, json_string(sp + 1));
        }
    }
    g_strfreev(lines);
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)leg);
    evidence_note(lc, "leg",
                  json_pack("{s:s, s:s, s:o}", "leg", id, "party", party, "rtpmap", map));
}

/* Access -------------------------------------------------------------------------------- */

static bool may_access_detail(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                              const char *action, const char *case_id, const char *detail)
{
    bool ok = s->role == R_SUPERVISOR || s->role == R_EVIDENCE;
    if (h->evidence)
        vg_evidence_audit(h->evidence, s->account, hub_role_name(s->role), action,
                          case_id ? case_id : "", ok ? "allowed" : "refused", detail);
    if (!ok) {
        h->stats.forbidden++;
        vg_warn(case_id, NULL, "conn=%llu %s %s tried %s: refused and audited",
                (unsigned long long)s->conn_id, hub_role_name(s->role), s->account, action);
        hub_error(s, m->id, VG_PROTO_E_FORBIDDEN,
                  "recordings are for supervisors and evidence accounts only");
    } else if (!h->evidence) {
        hub_error(s, m->id, "state", "recording is off ([evidence] enabled = false)");
        ok = false;
    }
    return ok;
}

static bool may_access(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m,
                       const char *action, const char *case_id)
{
    return may_access_detail(h, s, m, action, case_id, NULL);
}

static json_t *load_manifest(struct vg_hub *h, const char *case_id)
{
    char *p = g_build_filename(vg_evidence_dir(h->evidence), case_id, "manifest.json", NULL);
    json_t *m = json_load_file(p, 0, NULL);
    g_free(p);
    return m;
}

void evidence_list(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    if (!may_access(h, s, m, "list", NULL))
        return;
    json_t *out = json_array();
    GDir *d = g_dir_open(vg_evidence_dir(h->evidence), 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        json_t *man = strcmp(n, "audit.log") ? load_manifest(h, n) : NULL;
        json_t *r = NULL;
        if (man)
            r = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "case_id", n, "complete",
                          json_object_get(man, "complete"), "started_us",
                          json_object_get(man, "started_us"), "stopped_us",
                          json_object_get(man, "stopped_us"), "files",
                          json_object_get(man, "files"), "gaps", json_object_get(man, "gaps"));
        else if (strcmp(n, "audit.log") && n[0] != '.')
            r = json_pack("{s:s, s:b}", "case_id", n, "recording", 1);
        int64_t hold = 0;
        if (r && vg_evidence_held(h->evidence, n, &hold))
            json_object_set_new(r, "held", json_integer(hold));
        if (r)
            json_array_append_new(out, r);
        json_decref(man);
    }
    if (d)
        g_dir_close(d);
    hub_reply(s, m, json_pack("{s:s, s:o}", "type", "evidence_list", "recordings", out));
}

/* {"case_id", "hold": true|false, "reason"}: places or lifts a legal hold on a case's
 * recording (audit.h): the retention sweep keeps a held recording however old, until
 * the hold is lifted. The audit entry that places or lifts it is the hold itself, so
 * it is written only for a request that is carried out; a refused one is audited as
 * refused. A hold may be placed again (a second reason: the line that placed it last
 * is the one given). */
void evidence_hold(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    const char *id = json_string_value(json_object_get(m->body, "case_id"));
    json_t *hold = json_object_get(m->body, "hold");
    const char *reason = json_string_value(json_object_get(m->body, "reason"));
    size_t rl = reason ? strlen(reason) : 0;
    bool place = json_is_true(hold);
    if (s->role != R_SUPERVISOR && s->role != R_EVIDENCE) /* refused and audited, even malformed */
        return (void)may_access(h, s, m, place ? "legal_hold" : "legal_hold_lift",
                                id && strlen(id) <= VG_CASE_ID_MAX ? id : NULL);
    if (!id || strlen(id) > VG_CASE_ID_MAX || !vg_audit_hold_name_ok(id) ||
        !json_is_boolean(hold) || rl < 1 || rl > 500)
        return hub_error(s, m->id, VG_PROTO_E_INVALID,
                         "\"case_id\", \"hold\" (true or false) and \"reason\" (1-500 bytes, "
                         "the order or case it is held for) are required");
    if (!h->evidence)
        return hub_error(s, m->id, "state", "recording is off ([evidence] enabled = false)");
    char *dir = g_build_filename(vg_evidence_dir(h->evidence), id, NULL);
    bool exists = g_file_test(dir, G_FILE_TEST_IS_DIR);
    g_free(dir);
    if (!exists)
        return hub_error(s, m->id, "not_found", "no recording of %s", id);
    int64_t line = 0;
    if (!place && !vg_evidence_held(h->evidence, id, &line))
        return hub_error(s, m->id, "state", "no legal hold stands on %s", id);
    int rc = vg_evidence_hold(h->evidence, s->account, hub_role_name(s->role), id, place, reason);
    bool now = vg_evidence_held(h->evidence, id, &line);
    if (rc) /* a failed sync may still have left the entry in the log: say what stands */
        return hub_error(s, m->id, "internal",
                         "the audit log could not be written in full: a hold %s on %s",
                         now ? "stands" : "does not stand", id);
    vg_info(id, NULL, "evidence: legal hold %s by %s %s (audit log line %lld): %s",
            place ? "placed" : "lifted", hub_role_name(s->role), s->account, (long long)line,
            reason);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:b, s:I}", "type", "evidence_hold", "case_id", id, "held", now,
                        "line", (json_int_t)line));
}

/* A path inside a case directory as the recorder names files: "name" or
 * "uploads/name" of [A-Za-z0-9._-], never "..". The manifest is read before its
 * signature is checked (vigil-verify's work), so a manifest someone wrote must not
 * make vigild serve a file outside the case (the centre's key, say). */
static bool safe_path(const char *p)
{
    const char *name = g_str_has_prefix(p, "uploads/") ? p + 8 : p;
    if (!name[0] || name[0] == '.' || strlen(p) > 200)
        return false;
    for (const char *c = name; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '.' && *c != '_' && *c != '-')
            return false;
    return true;
}

/* Is path one of the recording's files (or its manifest)? *sha: the SHA-256 the
 * manifest gives it (NULL for the manifest itself). */
static bool listed(json_t *man, const char *path, const char **sha)
{
    *sha = NULL;
    if (!safe_path(path))
        return false;
    if (!strcmp(path, "manifest.json") || !strcmp(path, "manifest.sig"))
        return true;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(man, "files"), i, f)
    {
        if (!g_strcmp0(json_string_value(json_object_get(f, "path")), path)) {
            *sha = json_string_value(json_object_get(f, "sha256"));
            return true;
        }
    }
    return false;
}

static int64_t send_chunk(struct session *s, const struct vg_proto_msg *m, const char *dir,
                          const char *case_id, const char *path, json_int_t off)
{
    char *full = g_build_filename(dir, case_id, path, NULL);
    FILE *f = fopen(full, "rb");
    g_free(full);
    if (!f) {
        hub_error(s, m->id, "not_found", "%s is missing", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (off > size) {
        fclose(f);
        hub_error(s, m->id, VG_PROTO_E_INVALID, "offset beyond the file's %ld bytes", size);
        return -1;
    }
    fseek(f, (long)off, SEEK_SET);
    unsigned char *buf = g_malloc(CHUNK_MAX);
    size_t n = fread(buf, 1, CHUNK_MAX, f);
    fclose(f);
    char *b64 = g_base64_encode(buf, n);
    g_free(buf);
    hub_reply(s, m,
              json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "type", "evidence_data", "case_id",
                        case_id, "path", path, "offset", off, "size", (json_int_t)size, "data", b64,
                        "eof", off + (json_int_t)n >= size));
    g_free(b64);
    return off + (int64_t)n;
}

/* {"case_id", "path", "offset"}: one chunk of one file of a closed recording. A
 * chunk that does not continue the connection's last one of the same file (its first
 * chunk, or one from elsewhere in it) is audited as a download, naming the file, the
 * offset and the SHA-256 the manifest gives it: the audit log says which version of
 * which file who took, whole or from where. */
void evidence_get(struct vg_hub *h, struct session *s, const struct vg_proto_msg *m)
{
    const char *id = json_string_value(json_object_get(m->body, "case_id"));
    const char *path = json_string_value(json_object_get(m->body, "path"));
    json_t *o = json_object_get(m->body, "offset");
    json_int_t off = o ? json_integer_value(o) : 0;
    if (!id || !path || strlen(id) > VG_CASE_ID_MAX || strchr(id, '/') || id[0] == '.' ||
        (o && !json_is_integer(o)) || off < 0)
        return hub_error(s, m->id, VG_PROTO_E_INVALID,
                         "\"case_id\" and \"path\" are required, \"offset\" >= 0");
    if (s->role != R_SUPERVISOR && s->role != R_EVIDENCE)
        return (void)may_access(h, s, m, "download", id);
    json_t *man = h->evidence ? load_manifest(h, id) : NULL;
    const char *sha = NULL;
    if (h->evidence && (!man || !listed(man, path, &sha))) {
        json_decref(man);
        return hub_error(s, m->id, "not_found", "no closed recording of %s with a file %s", id,
                         path);
    }
    char file[sizeof s->ev_file];
    snprintf(file, sizeof file, "%s/%s", id, path);
    if (!h->evidence || strcmp(file, s->ev_file) != 0 || off != s->ev_next) {
        json_t *d = json_pack("{s:s, s:I, s:s?}", "path", path, "offset", off, "sha256", sha);
        char *detail = json_dumps(d, JSON_COMPACT);
        bool ok = may_access_detail(h, s, m, "download", id, detail);
        free(detail);
        json_decref(d);
        if (!ok) {
            json_decref(man);
            return;
        }
    }
    json_decref(man);
    int64_t next = send_chunk(s, m, vg_evidence_dir(h->evidence), id, path, off);
    snprintf(s->ev_file, sizeof s->ev_file, "%s", next >= 0 ? file : "");
    s->ev_next = next;
}

void evidence_metrics(struct vg_hub *h, GString *out)
{
    if (!h->evidence)
        return;
    struct vg_evidence_stats st;
    vg_evidence_get_stats(h->evidence, &st);
    g_string_append_printf(out,
                           "# HELP vigil_evidence_packets_total Media packets recorded.\n"
                           "# TYPE vigil_evidence_packets_total counter\n"
                           "vigil_evidence_packets_total %llu\n"
                           "# HELP vigil_evidence_dropped_total Media packets not recorded (a "
                           "full queue: a gap in a recording, alerted).\n"
                           "# TYPE vigil_evidence_dropped_total counter\n"
                           "vigil_evidence_dropped_total %llu\n"
                           "# HELP vigil_evidence_events_total Case events recorded.\n"
                           "# TYPE vigil_evidence_events_total counter\n"
                           "vigil_evidence_events_total %llu\n"
                           "# HELP vigil_evidence_write_errors_total Recording writes that "
                           "failed (a full or failing disk, alerted).\n"
                           "# TYPE vigil_evidence_write_errors_total counter\n"
                           "vigil_evidence_write_errors_total %llu\n",
                           (unsigned long long)st.packets, (unsigned long long)st.dropped,
                           (unsigned long long)st.events, (unsigned long long)st.write_errors);
}

/* At start: what came after a case ended in the last hour before vigild stopped,
 * again. A fact or an upload whose reseal was still queued when vigild stopped (a
 * crash) is in the store and not in the recording; the sealer skips what the
 * recording already has (an event of that type and time, a listed upload), so this
 * costs a manifest read per fact of that hour. The hour is counted back from the
 * store's latest event, however long vigild was down. */
#define RECONCILE_US (3600LL * 1000000)

static const char *fact_why(const char *kind)
{
    return strcmp(kind, "disposition") == 0 ? "outcome given after the case ended"
           : strcmp(kind, "note") == 0      ? "note added after the case ended"
                                            : "call back after the case ended";
}

static int late_fact(const char *case_id, const char *kind, const char *actor, int64_t at_us,
                     const char *data, void *ud)
{
    json_t *e = json_loads(data, 0, NULL);
    if (json_is_object(e)) {
        json_object_del(e, "at"); /* the store's own copy of the time */
        json_object_set_new(e, "by", json_string(actor));
        evidence_after_end(ud, case_id, kind, e, fact_why(kind), at_us);
    } else {
        json_decref(e);
    }
    return 0;
}

static int late_upload(const struct vg_upload_row *u, void *ud)
{
    struct vg_hub *h = ud;
    char why[120], name[64];
    uint8_t sha[32];
    snprintf(why, sizeof why, "upload %s after the recording closed", u->id);
    if (upload_file(u->id, u->type, u->sha256, name, sizeof name, sha))
        vg_evidence_reseal(h->evidence, u->case_id, name, sha, why);
    return 0;
}

void evidence_reconcile(struct vg_hub *h)
{
    if (!h->evidence)
        return;
    int64_t last = vg_store_last_event_us(h->store);
    int64_t since = (last ? last : vg_wall_us()) - RECONCILE_US;
    vg_store_upload_list_late(h->store, since, late_upload, h);
    vg_store_late_facts(h->store, since, late_fact, h);
}
