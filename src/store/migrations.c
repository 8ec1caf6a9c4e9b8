#include "migrations.h"

static const struct vg_migration migrations[] = {
    {1, "accounts",
     "CREATE TABLE accounts ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),"
     "  role TEXT NOT NULL CHECK (role IN ('call_taker','specialist','supervisor','evidence')),"
     "  pw_hash TEXT NOT NULL,"
     "  disabled INTEGER NOT NULL DEFAULT 0,"
     "  created_at TEXT NOT NULL,"
     "  updated_at TEXT NOT NULL);"},
    /* Cases and everything that belongs to one: the event log, the location
     * track and the chat. Times are microseconds since the epoch (UTC). */
    {2, "cases",
     "CREATE TABLE cases ("
     "  id TEXT PRIMARY KEY,"
     "  mode TEXT NOT NULL CHECK (mode IN ('video','silent','voice','report')),"
     "  state TEXT NOT NULL CHECK (state IN"
     "    ('queued','offered','answered','ended','abandoned')),"
     "  phone TEXT NOT NULL,"
     "  queue TEXT NOT NULL DEFAULT 'normal' CHECK (queue IN ('normal','supervised')),"
     "  callback_allowed INTEGER NOT NULL DEFAULT 1,"
     "  caller TEXT NOT NULL DEFAULT '{}',"
     "  flags TEXT NOT NULL DEFAULT '',"
     "  escalated INTEGER NOT NULL DEFAULT 0,"
     "  held_by TEXT,"
     "  citizen_token TEXT NOT NULL,"
     "  created_us INTEGER NOT NULL,"
     "  updated_us INTEGER NOT NULL,"
     "  answered_us INTEGER,"
     "  ended_us INTEGER,"
     "  ended_by TEXT,"
     "  end_reason TEXT,"
     "  disposition TEXT,"
     "  callback_needed INTEGER NOT NULL DEFAULT 0,"
     "  rating INTEGER,"
     "  rating_comment TEXT);"
     "CREATE INDEX cases_state ON cases(state);"
     "CREATE INDEX cases_phone ON cases(phone, created_us);"
     "CREATE TABLE case_events ("
     "  case_id TEXT NOT NULL REFERENCES cases(id),"
     "  seq INTEGER NOT NULL,"
     "  at_us INTEGER NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  actor TEXT,"
     "  data TEXT NOT NULL DEFAULT '{}',"
     "  PRIMARY KEY (case_id, seq));"
     "CREATE TABLE locations ("
     "  case_id TEXT NOT NULL REFERENCES cases(id),"
     "  seq INTEGER NOT NULL,"
     "  at_us INTEGER NOT NULL,"
     "  lat REAL NOT NULL, lon REAL NOT NULL, accuracy REAL NOT NULL,"
     "  heading REAL, speed REAL, altitude REAL,"
     "  source TEXT, device_ms INTEGER,"
     "  PRIMARY KEY (case_id, seq));"
     "CREATE TABLE chat ("
     "  case_id TEXT NOT NULL REFERENCES cases(id),"
     "  seq INTEGER NOT NULL,"
     "  at_us INTEGER NOT NULL,"
     "  sender_role TEXT NOT NULL,"
     "  sender TEXT NOT NULL,"
     "  text TEXT NOT NULL,"
     "  delivered_us INTEGER,"
     "  read_us INTEGER,"
     "  PRIMARY KEY (case_id, seq));"},
    /* Blocks, staff sessions and alerts. */
    {3, "policy",
     "CREATE TABLE blocks ("
     "  id INTEGER PRIMARY KEY,"
     "  phone TEXT NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  created_by TEXT NOT NULL,"
     "  created_us INTEGER NOT NULL,"
     "  expires_us INTEGER NOT NULL,"
     "  lifted_us INTEGER,"
     "  lifted_by TEXT,"
     "  lift_reason TEXT);"
     "CREATE INDEX blocks_phone ON blocks(phone);"
     "CREATE TABLE staff_sessions ("
     "  token_hash TEXT PRIMARY KEY,"
     "  account TEXT NOT NULL,"
     "  role TEXT NOT NULL,"
     "  created_us INTEGER NOT NULL,"
     "  expires_us INTEGER NOT NULL);"
     "CREATE TABLE alerts ("
     "  id INTEGER PRIMARY KEY,"
     "  case_id TEXT REFERENCES cases(id),"
     "  kind TEXT NOT NULL,"
     "  at_us INTEGER NOT NULL,"
     "  detail TEXT NOT NULL DEFAULT '{}',"
     "  hook_status TEXT NOT NULL DEFAULT 'none');"},
    /* Citizens' uploads (photos, videos). `received` is how many bytes are on disk
     * and committed; `type` is what the bytes are (never the name), NULL until
     * the first bytes show it; `path` is relative to the data dir once complete. */
    {4, "uploads",
     "CREATE TABLE uploads ("
     "  id TEXT PRIMARY KEY,"
     "  case_id TEXT NOT NULL REFERENCES cases(id),"
     "  name TEXT NOT NULL,"
     "  size INTEGER NOT NULL CHECK (size > 0),"
     "  received INTEGER NOT NULL DEFAULT 0 CHECK (received BETWEEN 0 AND size),"
     "  type TEXT,"
     "  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','complete','dropped')),"
     "  sha256 TEXT,"
     "  path TEXT,"
     "  drop_reason TEXT,"
     "  created_us INTEGER NOT NULL,"
     "  updated_us INTEGER NOT NULL,"
     "  completed_us INTEGER);"
     "CREATE INDEX uploads_case ON uploads(case_id, created_us);"
     "CREATE INDEX uploads_state ON uploads(state, updated_us);"},
    /* Specialist groups (household, traffic, criminal, ...) a call-taker can
     * invite into a case, and their members. An account may be in several. */
    {5, "staff_groups",
     "CREATE TABLE staff_groups ("
     "  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
     "  created_us INTEGER NOT NULL);"
     "CREATE TABLE group_members ("
     "  group_name TEXT NOT NULL REFERENCES staff_groups(name) ON DELETE CASCADE,"
     "  account TEXT NOT NULL,"
     "  PRIMARY KEY (group_name, account));"},
    /* The call-back list (abandoned cases the citizen allowed a call back for) is read
     * on every change: an index of just those rows. */
    {6, "callbacks",
     "CREATE INDEX cases_callback ON cases(ended_us) WHERE callback_needed = 1"
     " AND state = 'abandoned';"},
    /* An alert stays open until a supervisor acknowledges it: open ones are shown
     * again to a supervisor who signs in later (a refused alarm has no case to
     * look its caller up in: the alert keeps the number and mode itself). */
    {7, "alert_ack",
     "ALTER TABLE alerts ADD COLUMN phone TEXT;"
     "ALTER TABLE alerts ADD COLUMN mode TEXT;"
     "ALTER TABLE alerts ADD COLUMN acked_by TEXT;"
     "ALTER TABLE alerts ADD COLUMN acked_us INTEGER;"
     "CREATE INDEX alerts_open ON alerts(at_us) WHERE acked_us IS NULL;"},
    /* Supervisors look cases up by time (case_search) as well as by number. */
    {8, "cases_created", "CREATE INDEX cases_created ON cases(created_us);"},
};

const struct vg_migration *vg_migrations(int *count)
{
    *count = (int)(sizeof migrations / sizeof migrations[0]);
    return migrations;
}
