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
    /* The case skeleton: enough for /healthz to count live cases. The signaling
     * work extends it with further migrations. */
    {2, "cases",
     "CREATE TABLE cases ("
     "  id TEXT PRIMARY KEY,"
     "  mode TEXT NOT NULL CHECK (mode IN ('video','silent','voice','report')),"
     "  state TEXT NOT NULL CHECK (state IN"
     "    ('queued','offered','answered','ended','abandoned')),"
     "  phone TEXT,"
     "  created_at TEXT NOT NULL,"
     "  updated_at TEXT NOT NULL);"
     "CREATE INDEX cases_state ON cases(state);"
     "CREATE TABLE case_events ("
     "  case_id TEXT NOT NULL REFERENCES cases(id),"
     "  seq INTEGER NOT NULL,"
     "  at TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  actor TEXT,"
     "  data TEXT,"
     "  PRIMARY KEY (case_id, seq));"},
};

const struct vg_migration *vg_migrations(int *count)
{
    *count = (int)(sizeof migrations / sizeof migrations[0]);
    return migrations;
}
