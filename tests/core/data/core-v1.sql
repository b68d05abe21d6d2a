-- A coworkd database as written by core schema version 1 (events only, no audit table).
PRAGMA journal_mode = WAL;
CREATE TABLE schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL);
INSERT INTO schema_versions VALUES ('core', 1);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  timestamp INTEGER NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT,
  correlation_id TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX events_by_time ON events (timestamp);
CREATE TABLE event_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO events VALUES (41, 1764000000000, 'session:updated', NULL, '__global__:session:updated:41', '{"sessionId":"sess_AAAAAAAAAAAAAAAA"}');
INSERT INTO events VALUES (42, 1764000000500, 'stream:chunk', 'sess_AAAAAAAAAAAAAAAA', 'sess_AAAAAAAAAAAAAAAA:run_1', '{"runId":"run_1","content":"hello"}');
INSERT INTO event_meta VALUES ('last_seq', 42);
INSERT INTO event_meta VALUES ('pruned_through', 40);
