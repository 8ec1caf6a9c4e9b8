/* Case persistence against a real SQLite file: transitions are conditional on the
 * state they leave (so the first claim wins), each writes its event, and the
 * track, chat, blocks and sessions read back as written. */
#include "case_store.h"
#include "vg_err.h"
#include "vt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vg_store *st;

static void new_case(const char *id, const char *phone, int64_t at)
{
    struct vg_case_row c = {0};
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.mode, sizeof c.mode, "silent");
    snprintf(c.state, sizeof c.state, "queued");
    snprintf(c.phone, sizeof c.phone, "%s", phone);
    snprintf(c.queue, sizeof c.queue, "normal");
    snprintf(c.caller, sizeof c.caller, "{\"name\":\"A\"}");
    snprintf(c.citizen_token, sizeof c.citizen_token, "tok-%s", id);
    c.callback_allowed = true;
    c.created_us = at;
    VT_EQ_INT(vg_store_case_insert(st, &c, "citizen", "{\"mode\":\"silent\"}"), VG_OK);
}

static void test_claim_race(void)
{
    new_case("c-1", "+8613800000001", 1000);
    VT_EQ_INT(vg_store_case_offered(st, "c-1", 1100), VG_OK);
    VT_EQ_INT(vg_store_case_offered(st, "c-1", 1150), VG_ESTATE); /* already offered */
    VT_EQ_INT(vg_store_case_claim(st, "c-1", "ann", 1200), VG_OK);
    VT_EQ_INT(vg_store_case_claim(st, "c-1", "bob", 1201), VG_ESTATE); /* second loses */
    VT_EQ_INT(vg_store_case_claim(st, "c-404", "bob", 1201), VG_ENOENT);
    struct vg_case_row c;
    VT_EQ_INT(vg_store_case_get(st, "c-1", &c), VG_OK);
    VT_EQ_STR(c.state, "answered");
    VT_EQ_STR(c.held_by, "ann");
    VT_EQ_INT(c.answered_us, 1200);
    VT_EQ_INT(vg_store_case_abandon(st, "c-1", 1300), VG_ESTATE); /* answered: not abandonable */
    VT_EQ_INT(vg_store_case_escalate(st, "c-1", 1300), VG_ESTATE);
    /* ann's console went: back to the queue, escalated, and bob takes it. */
    VT_EQ_INT(vg_store_case_requeue(st, "c-1", "bob", 1310, NULL), VG_ESTATE); /* not his */
    VT_EQ_INT(vg_store_case_requeue(st, "c-1", "ann", 1320, "{\"gone_s\":20}"), VG_OK);
    VT_EQ_INT(vg_store_case_requeue(st, "c-1", "ann", 1330, NULL), VG_ESTATE); /* once */
    VT_EQ_INT(vg_store_case_get(st, "c-1", &c), VG_OK);
    VT_EQ_STR(c.state, "queued");
    VT_EQ_STR(c.held_by, "");
    VT_CHECK(c.escalated);
    VT_EQ_INT(vg_store_case_claim(st, "c-1", "bob", 1340), VG_OK);
    VT_EQ_INT(vg_store_case_claim(st, "c-1", "ann", 1341), VG_ESTATE);
    VT_EQ_INT(vg_store_case_get(st, "c-1", &c), VG_OK);
    VT_EQ_STR(c.held_by, "bob");
    VT_EQ_INT(c.answered_us, 1200); /* the first answer's time */
    VT_EQ_INT(vg_store_case_end(st, "c-1", "bob", "ended_by_staff", "resolved", 1400, NULL), VG_OK);
    VT_EQ_INT(vg_store_case_end(st, "c-1", "bob", "ended_by_staff", "resolved", 1500, NULL),
              VG_ESTATE);
    VT_EQ_INT(vg_store_case_get(st, "c-1", &c), VG_OK);
    VT_EQ_STR(c.state, "ended");
    VT_EQ_STR(c.disposition, "resolved");
    VT_EQ_INT(c.ended_us, 1400);
    VT_EQ_INT(vg_store_case_rate(st, "c-1", 5, "thanks", 1600), VG_OK);
    VT_EQ_INT(vg_store_case_rate(st, "c-1", 1, "again", 1700), VG_ESTATE); /* once */
    VT_EQ_INT(vg_store_case_by_token(st, "tok-c-1", &c), VG_OK);
    VT_EQ_STR(c.id, "c-1");
    VT_EQ_INT(c.rating, 5);
}

static int count_live(const struct vg_case_row *c, void *ud)
{
    (void)c;
    (*(int *)ud)++;
    return 0;
}

struct late_seen {
    int n;
    char kind[24], actor[65], data[100];
    size_t len;
    int64_t at;
};

static int late_fact(const char *case_id, const char *kind, const char *actor, int64_t at_us,
                     const char *data, void *ud)
{
    struct late_seen *l = ud;
    (void)case_id;
    l->n++;
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    snprintf(l->actor, sizeof l->actor, "%s", actor);
    snprintf(l->data, sizeof l->data, "%s", data);
    l->len = strlen(data);
    l->at = at_us;
    return 0;
}

static void test_abandon_and_history(void)
{
    new_case("c-2", "+8613800000002", 2000);
    VT_EQ_INT(vg_store_case_escalate(st, "c-2", 2100), VG_OK);
    VT_EQ_INT(vg_store_case_escalate(st, "c-2", 2200), VG_ESTATE); /* once */
    VT_EQ_INT(vg_store_case_abandon(st, "c-2", 2300), VG_OK);
    struct vg_case_row c;
    VT_EQ_INT(vg_store_case_get(st, "c-2", &c), VG_OK);
    VT_EQ_STR(c.state, "abandoned");
    VT_CHECK(c.escalated);
    VT_CHECK(c.callback_needed); /* callback was allowed */
    int owed = 0;
    VT_EQ_INT(vg_store_callbacks_list(st, 0, true, 10, count_live, &owed), VG_OK);
    VT_EQ_INT(owed, 1);
    owed = 0; /* left before the window */
    VT_EQ_INT(vg_store_callbacks_list(st, 2400, true, 10, count_live, &owed), VG_OK);
    VT_EQ_INT(owed, 0);
    /* with a note of 3 KiB: a late fact is given whole (it was cut at 1 KiB) */
    char done[3200];
    snprintf(done, sizeof done, "{\"outcome\":\"reached\",\"note\":\"%03000d\"}", 7);
    VT_EQ_INT(vg_store_callback_done(st, "c-2", "ann", 2400, done), VG_OK);
    VT_EQ_INT(vg_store_callback_done(st, "c-2", "bob", 2500, NULL), VG_ESTATE); /* once */
    VT_EQ_INT(vg_store_callback_done(st, "c-404", "bob", 2500, NULL), VG_ENOENT);
    /* the call back came after the case ended: a late fact, with who and its data */
    struct late_seen late = {0};
    VT_EQ_INT(vg_store_late_facts(st, 0, late_fact, &late), VG_OK);
    VT_EQ_INT(late.n, 1);
    VT_EQ_STR(late.kind, "callback");
    VT_EQ_STR(late.actor, "ann");
    VT_EQ_INT(late.at, 2400);
    VT_CONTAINS(late.data, "\"outcome\":\"reached\"");
    VT_EQ_INT(late.len, strlen(done));
    late.n = 0;
    VT_EQ_INT(vg_store_late_facts(st, 2401, late_fact, &late), VG_OK);
    VT_EQ_INT(late.n, 0);
    owed = 0;
    VT_EQ_INT(vg_store_callbacks_list(st, 0, true, 10, count_live, &owed), VG_OK);
    VT_EQ_INT(owed, 0);
    new_case("c-3", "+8613800000002", 3000);
    new_case("c-4", "+8613800000002", 4000);
    struct vg_phone_history h;
    VT_EQ_INT(vg_store_phone_history(st, "+8613800000002", 4000, 2500, &h), VG_OK);
    VT_EQ_INT(h.total, 2);     /* c-2, c-3: before 4000 */
    VT_EQ_INT(h.abandoned, 1); /* c-2 */
    VT_EQ_INT(h.live, 1);      /* c-3 */
    VT_EQ_INT(h.since_window, 1);
    int live = 0;
    VT_EQ_INT(vg_store_case_list_live(st, count_live, &live), VG_OK);
    VT_EQ_INT(live, 2); /* c-3, c-4 */
    /* A caller who gave up and then got through is owed no call back. */
    new_case("c-6", "+8613800000006", 5000);
    VT_EQ_INT(vg_store_case_abandon(st, "c-6", 5100), VG_OK);
    int owed6 = 0;
    VT_EQ_INT(vg_store_callbacks_list(st, 0, true, 10, count_live, &owed6), VG_OK);
    VT_EQ_INT(owed6, 1);
    new_case("c-7", "+8613800000006", 6000);
    VT_EQ_INT(vg_store_case_claim(st, "c-7", "ann", 6100), VG_OK);
    owed6 = 0;
    VT_EQ_INT(vg_store_callbacks_list(st, 0, true, 10, count_live, &owed6), VG_OK);
    VT_EQ_INT(owed6, 0);
    VT_CHECK(vg_store_case_event_by(st, "c-7", "answered", "ann"));
    VT_CHECK(!vg_store_case_event_by(st, "c-7", "answered", "bob"));
}

static int collect_fix(const struct vg_fix_row *f, void *ud)
{
    double *sum = ud;
    *sum += f->lat;
    return 0;
}

static int collect_chat(const struct vg_chat_row *m, void *ud)
{
    char *out = ud;
    char line[128];
    snprintf(line, sizeof line, "%lld:%s:%.32s:%d%d;", (long long)m->seq, m->sender_role, m->text,
             m->delivered_us != 0, m->read_us != 0);
    strcat(out, line);
    return 0;
}

static void test_track_and_chat(void)
{
    struct vg_fix_row f = {.at_us = 10, .lat = 30.5, .lon = 114.3, .accuracy = 12};
    int64_t seq;
    VT_EQ_INT(vg_store_location_add(st, "c-3", &f, &seq), VG_OK);
    VT_EQ_INT(seq, 1);
    f.lat = 30.6;
    f.has_heading = true;
    f.heading = 90;
    snprintf(f.source, sizeof f.source, "gps");
    VT_EQ_INT(vg_store_location_add(st, "c-3", &f, &seq), VG_OK);
    VT_EQ_INT(seq, 2);
    struct vg_fix_row last;
    VT_EQ_INT(vg_store_location_last(st, "c-3", &last), VG_OK);
    VT_CHECK(last.lat == 30.6 && last.has_heading && last.heading == 90 && !last.has_speed);
    VT_EQ_STR(last.source, "gps");
    VT_EQ_INT(vg_store_location_last(st, "c-4", &last), VG_ENOENT);
    double sum = 0;
    VT_EQ_INT(vg_store_location_track(st, "c-3", 1, collect_fix, &sum), VG_OK);
    VT_CHECK(sum == 30.6); /* the newest one only */

    VT_EQ_INT(vg_store_chat_add(st, "c-3", 20, "citizen", "citizen", "help", &seq), VG_OK);
    VT_EQ_INT(seq, 1);
    VT_EQ_INT(vg_store_chat_add(st, "c-3", 21, "call_taker", "ann", "where?", &seq), VG_OK);
    VT_EQ_INT(seq, 2);
    VT_EQ_INT(vg_store_chat_mark(st, "c-3", 1, "delivered", 22), VG_OK);
    VT_EQ_INT(vg_store_chat_mark(st, "c-3", 2, "read", 23), VG_OK);
    VT_EQ_INT(vg_store_chat_mark(st, "c-3", 9, "read", 23), VG_ENOENT);
    char out[512] = "";
    VT_EQ_INT(vg_store_chat_list(st, "c-3", collect_chat, out), VG_OK);
    VT_EQ_STR(out, "1:citizen:help:10;2:call_taker:where?:11;");
}

static void test_blocks_and_sessions(void)
{
    struct vg_block_row b;
    VT_EQ_INT(vg_store_block_active(st, "+861", 100, &b), VG_ENOENT);
    VT_EQ_INT(vg_store_block_add(st, "+861", "pranks", "ann", 100, 1000), VG_OK);
    VT_EQ_INT(vg_store_block_active(st, "+861", 500, &b), VG_OK);
    VT_EQ_STR(b.reason, "pranks");
    VT_EQ_STR(b.created_by, "ann");
    VT_EQ_INT(vg_store_block_active(st, "+861", 1000, &b), VG_ENOENT); /* expired */
    VT_EQ_INT(vg_store_block_lift(st, "+861", "sue", "mistake", 600), VG_OK);
    VT_EQ_INT(vg_store_block_active(st, "+861", 700, &b), VG_ENOENT);
    VT_EQ_INT(vg_store_block_lift(st, "+861", "sue", "again", 700), VG_ENOENT);

    VT_EQ_INT(vg_store_account_add(st, "ann", "call_taker", "h"), VG_OK);
    char acct[65], role[16];
    VT_EQ_INT(vg_store_session_add(st, "hash1", "ann", "call_taker", 100, 200), VG_OK);
    VT_EQ_INT(vg_store_session_get(st, "hash1", 150, acct, sizeof acct, role, sizeof role), VG_OK);
    VT_EQ_STR(acct, "ann");
    VT_EQ_INT(vg_store_session_get(st, "hash1", 250, acct, sizeof acct, role, sizeof role),
              VG_ENOENT); /* expired */
    VT_EQ_INT(vg_store_account_set_disabled(st, "ann", true), VG_OK);
    VT_EQ_INT(vg_store_session_get(st, "hash1", 150, acct, sizeof acct, role, sizeof role),
              VG_ENOENT); /* disabled account */
    int64_t id;
    VT_EQ_INT(vg_store_alert_add(st, "c-3", "repeat_caller", 5, "{\"n\":3}", NULL, NULL, &id),
              VG_OK);
    VT_CHECK(id > 0);
    VT_EQ_INT(vg_store_alert_hook_status(st, id, "delivered"), VG_OK);
}

static int collect_alert(const struct vg_alert_row *a, void *ud)
{
    char *out = ud;
    size_t at = strlen(out);
    snprintf(out + at, 512 - at, "%s/%s/%s/%s;", a->kind, a->case_id, a->phone, a->detail);
    return 0;
}

/* Open alerts: the newest few since a time, oldest first; acknowledged ones go. */
static void test_open_alerts(void)
{
    int64_t a1, a2, a3;
    VT_EQ_INT(vg_store_alert_add(st, NULL, "alarm_refused", 1000, "{\"reason\":\"blocked\"}",
                                 "+8613800000001", "video", &a1),
              VG_OK);
    VT_EQ_INT(vg_store_alert_add(st, NULL, "recording_error", 2000, NULL, NULL, NULL, &a2), VG_OK);
    VT_EQ_INT(
        vg_store_alert_add(st, NULL, "key_person", 3000, "{}", "+8613800000002", "voice", &a3),
        VG_OK);
    char got[512] = "";
    VT_EQ_INT(vg_store_alert_open(st, 1000, 2, collect_alert, got), VG_OK);
    VT_EQ_STR(got, "recording_error///{};key_person//+8613800000002/{};");
    VT_EQ_INT(vg_store_alert_ack(st, a2, "sue", 4000), VG_OK);
    VT_EQ_INT(vg_store_alert_ack(st, a2, "sam", 4001), VG_ENOENT); /* once */
    VT_EQ_INT(vg_store_alert_ack(st, 999999, "sam", 4001), VG_ENOENT);
    got[0] = '\0';
    VT_EQ_INT(vg_store_alert_open(st, 1000, 10, collect_alert, got), VG_OK);
    VT_EQ_STR(got, "alarm_refused//+8613800000001/{\"reason\":\"blocked\"};"
                   "key_person//+8613800000002/{};");
    got[0] = '\0';
    VT_EQ_INT(vg_store_alert_open(st, 2500, 10, collect_alert, got), VG_OK);
    VT_EQ_STR(got, "key_person//+8613800000002/{};");
}

/* Notes are the case's "note" events; the next alarm's card gets the latest earlier
 * cases with their last note cut to VG_RECENT_NOTE_MAX characters, not bytes. */
struct notes_seen {
    int n;
    char by[65], text[64];
};

static int note_seen(int64_t at_us, const char *by, const char *text, void *ud)
{
    struct notes_seen *x = ud;
    (void)at_us;
    x->n++;
    snprintf(x->by, sizeof x->by, "%s", by);
    snprintf(x->text, sizeof x->text, "%s", text);
    return 0;
}

struct recent_seen {
    int n;
    struct vg_recent_case first;
};

static int recent_seen(const struct vg_recent_case *c, void *ud)
{
    struct recent_seen *x = ud;
    if (x->n++ == 0)
        x->first = *c;
    return 0;
}

static void test_notes_and_recent(void)
{
    new_case("c-n0", "+8613800000009", 6500);
    new_case("c-n1", "+8613800000009", 7000);
    VT_EQ_INT(vg_store_note_add(st, "c-n1", "ann", 7100, "{\"text\":\"first\"}", 2), VG_OK);
    VT_EQ_INT(vg_store_case_claim(st, "c-n1", "ann", 7150), VG_OK);
    VT_EQ_INT(vg_store_case_end(st, "c-n1", "ann", "ended_by_staff", "dispatched", 7200, NULL),
              VG_OK);
    /* 250 three-byte characters: the card shows the first 200, whole */
    char text[800], data[900];
    size_t o = 0;
    for (int i = 0; i < 250; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "\xe8\xad\xa6"); /* 警 */
    snprintf(data, sizeof data, "{\"text\":\"%s\"}", text);
    VT_EQ_INT(vg_store_note_add(st, "c-n1", "ann", 7300, data, 2), VG_OK);
    VT_EQ_INT(vg_store_note_add(st, "c-n1", "ann", 7400, "{\"text\":\"third\"}", 2), VG_ENOSPC);
    struct notes_seen ns = {0};
    VT_EQ_INT(vg_store_notes(st, "c-n1", note_seen, &ns), VG_OK);
    VT_EQ_INT(ns.n, 2);
    VT_EQ_STR(ns.by, "ann");
    struct late_seen late = {0};
    VT_EQ_INT(vg_store_late_facts(st, 7000, late_fact, &late), VG_OK);
    VT_EQ_INT(late.n, 1); /* the note after the end, not the one before (7100) */
    VT_EQ_INT(late.at, 7300);
    VT_EQ_STR(late.kind, "note");
    new_case("c-n2", "+8613800000009", 8000);
    struct recent_seen rs = {0};
    VT_EQ_INT(vg_store_phone_recent(st, "+8613800000009", 8000, 5, recent_seen, &rs), VG_OK);
    VT_EQ_INT(rs.n, 2);             /* c-n1, c-n0; not c-n2 itself */
    VT_EQ_STR(rs.first.id, "c-n1"); /* the latest first */
    VT_EQ_STR(rs.first.state, "ended");
    VT_EQ_STR(rs.first.disposition, "dispatched");
    VT_EQ_STR(rs.first.held_by, "ann");
    VT_EQ_INT(rs.first.notes, 2);
    VT_EQ_INT(strlen(rs.first.note), 3 * VG_RECENT_NOTE_MAX);
    VT_CHECK(strncmp(rs.first.note, text, 3 * VG_RECENT_NOTE_MAX) == 0);
    struct recent_seen one = {0};
    VT_EQ_INT(vg_store_phone_recent(st, "+8613800000009", 8000, 1, recent_seen, &one), VG_OK);
    VT_EQ_INT(one.n, 1); /* at most max */
    VT_EQ_STR(one.first.id, "c-n1");
}

int main(void)
{
    char dir[] = "/tmp/vigil-test-cases-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);
    test_claim_race();
    test_abandon_and_history();
    test_track_and_chat();
    test_blocks_and_sessions();
    test_open_alerts();
    test_notes_and_recent();
    vg_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vt_done("case_store");
}
